package failover

import (
	"fmt"
	"strings"
)

// ------ REPLICATION HISTORIES ------
//
// A replication id names one linear history of writes; an offset is a
// position in it. Offsets are only comparable inside one history: two nodes
// at offset 1000 on different replids may share nothing. When a replica is
// promoted, Redis starts a new history (a fresh replid) and remembers the old
// one as replid2, together with second_repl_offset, the first offset that is
// not part of the old history. Everything here follows that rule, which is
// the one masterTryPartialResynchronization applies.

// hasReplID reports whether id names a history (not empty, not all zeros as
// INFO shows an unset replid2).
func hasReplID(id string) bool {
	return id != "" && strings.Trim(id, "0") != ""
}

// PositionIn returns how many bytes of the history named replid the node
// holds, and whether it holds any part of it at all. A node on that history
// holds Offset bytes; a node that moved on from it (replid2 == replid) holds
// the bytes before second_repl_offset.
func (r Replication) PositionIn(replid string) (int64, bool) {
	if !hasReplID(replid) {
		return 0, false
	}
	if r.ReplID == replid {
		return r.Offset, true
	}
	if r.ReplID2 == replid && r.SecondReplOffset > 0 {
		return r.SecondReplOffset - 1, true
	}
	return 0, false
}

// ResyncMode is how a replica will resynchronise with a master.
type ResyncMode string

const (
	// ResyncPartial means PSYNC will answer +CONTINUE: only the missing bytes move.
	ResyncPartial ResyncMode = "partial"
	// ResyncFull means PSYNC will answer +FULLRESYNC: the replica drops its
	// data and loads an RDB from the master.
	ResyncFull ResyncMode = "full"
)

// ResyncPrediction is the outcome of PredictResync.
type ResyncPrediction struct {
	// Mode is partial or full.
	Mode ResyncMode
	// Reason says why, in words fit for an event message.
	Reason string
	// DivergedBytes is how many bytes the replica holds that the master's
	// history does not contain: writes that are lost when it resyncs.
	DivergedBytes int64
	// DivergenceKnown is false when the two nodes share no known history, so
	// the divergence cannot be computed from offsets.
	DivergenceKnown bool
}

// PredictResync predicts what happens when a node in state replica sends
// PSYNC <replid> <offset+1> to master, applying the same tests as Redis 7.0's
// masterTryPartialResynchronization: the replid must be the master's replid,
// or its replid2 with an offset not past second_repl_offset, and the
// requested offset must still be in the master's backlog.
func PredictResync(replica, master Replication) ResyncPrediction {
	p := ResyncPrediction{Mode: ResyncFull}
	psyncOffset := replica.Offset + 1

	// Divergence: bytes the replica has beyond the point it shares with the master.
	switch {
	case hasReplID(replica.ReplID) && replica.ReplID == master.ReplID:
		p.DivergenceKnown = true
		p.DivergedBytes = max(0, replica.Offset-master.Offset)
	case hasReplID(replica.ReplID) && replica.ReplID == master.ReplID2 && master.SecondReplOffset > 0:
		p.DivergenceKnown = true
		p.DivergedBytes = max(0, replica.Offset-(master.SecondReplOffset-1))
	}

	sameHistory := hasReplID(replica.ReplID) && replica.ReplID == master.ReplID
	if !sameHistory {
		switch {
		case !hasReplID(replica.ReplID) || replica.ReplID != master.ReplID2:
			p.Reason = fmt.Sprintf("replid %s is not in the master's history (%s, %s)",
				shortID(replica.ReplID), shortID(master.ReplID), shortID(master.ReplID2))
			return p
		case psyncOffset > master.SecondReplOffset:
			p.Reason = fmt.Sprintf("replica has %d bytes written after the master's history switched at offset %d",
				p.DivergedBytes, master.SecondReplOffset-1)
			return p
		}
	}
	if sameHistory && p.DivergedBytes > 0 {
		p.Reason = fmt.Sprintf("replica is %d bytes ahead of the master on the same history", p.DivergedBytes)
		return p
	}
	if !master.BacklogActive {
		p.Reason = "master has no replication backlog"
		return p
	}
	first, last := master.BacklogFirstByte, master.BacklogFirstByte+master.BacklogHistLen
	if psyncOffset < first || psyncOffset > last {
		p.Reason = fmt.Sprintf("offset %d is outside the master's backlog [%d, %d]", psyncOffset, first, last)
		return p
	}
	p.Mode = ResyncPartial
	p.Reason = fmt.Sprintf("history matches and %d missing bytes are in the master's backlog", last-psyncOffset)
	return p
}

// shortID abbreviates a replid for messages.
func shortID(id string) string {
	if !hasReplID(id) {
		return "none"
	}
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
