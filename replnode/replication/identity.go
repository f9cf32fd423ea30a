package replication

import (
	"encoding/hex"
	"fmt"
	"io"
)

// ------ REPLICATION IDENTITY ------

// ReplIDLen is the length of a replication ID: 40 hex characters.
const ReplIDLen = 40

// ZeroReplID is the all-zero ID Redis shows as master_replid2 when there is
// no secondary ID.
const ZeroReplID = "0000000000000000000000000000000000000000"

// Identity is a node's position in replication history: its current
// replication ID and offset (master_replid, master_repl_offset), and the
// previous ID with the offset up to which it is still valid (master_replid2,
// second_repl_offset), which lets replicas of the old master resync partially
// after a promotion.
type Identity struct {
	ReplID       string
	ReplID2      string
	SecondOffset int64 // -1 when ReplID2 is unset
	Offset       int64
}

// NewReplID returns a fresh random 40-hex-character replication ID read from
// rnd (crypto/rand in the server, a fixed reader in tests).
func NewReplID(rnd io.Reader) (string, error) {
	var raw [ReplIDLen / 2]byte
	if _, err := io.ReadFull(rnd, raw[:]); err != nil {
		return "", fmt.Errorf("replication: generating replid: %w", err)
	}
	return hex.EncodeToString(raw[:]), nil
}

// NewIdentity returns the identity of a node that has never replicated: a
// fresh replid, no replid2, offset 0.
func NewIdentity(replID string) Identity {
	return Identity{ReplID: replID, ReplID2: ZeroReplID, SecondOffset: -1}
}

// ShiftReplicationID does what Redis's shiftReplicationId does when a
// replica becomes a master: the current ID becomes the secondary one, valid up
// to Offset+1 (the next byte a replica of the old master would ask for), and
// newID becomes the current ID. It returns the log line Redis writes.
func (id *Identity) ShiftReplicationID(newID string) string {
	id.ReplID2 = id.ReplID
	id.SecondOffset = id.Offset + 1
	id.ReplID = newID
	return fmt.Sprintf("Setting secondary replication ID to %s, valid up to offset: %d. New replication ID is %s",
		id.ReplID2, id.SecondOffset, id.ReplID)
}

// ClearReplID2 forgets the secondary ID (after a full sync), as Redis's
// clearReplicationId2.
func (id *Identity) ClearReplID2() {
	id.ReplID2 = ZeroReplID
	id.SecondOffset = -1
}

// ValidReplID reports whether s is syntactically a replication ID.
func ValidReplID(s string) bool {
	if len(s) != ReplIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}
