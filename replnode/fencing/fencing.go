package fencing

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// FileName is the epoch file in the node's data directory.
const FileName = "replnode-epoch"

// StaleError refuses an epoch older than the node's. Its text is the
// protocol's error reply (without the leading '-').
type StaleError struct {
	Epoch, Node int64
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("STALEEPOCH failover epoch %d is older than this node's %d", e.Epoch, e.Node)
}

// Set decides REPLNODE EPOCH n on a node whose epoch is node: nil when n
// may become the node's (and the connection's) epoch.
func Set(node, n int64) error {
	if n < node {
		return &StaleError{Epoch: n, Node: node}
	}
	return nil
}

// Conn is a connection's fencing state. The zero value is a connection
// that never set an epoch.
type Conn struct {
	Epoch int64
	Set   bool
}

// Check decides whether the connection may run a fenced command on a node
// whose epoch is node: nil unless it set an epoch older than the node's.
func (c Conn) Check(node int64) error {
	if c.Set && c.Epoch < node {
		return &StaleError{Epoch: c.Epoch, Node: node}
	}
	return nil
}

// DataLossGrant is the operator's permission, given with REPLNODE EPOCH <n>
// ACCEPT-DATA-LOSS, for the node to accept a full resync that replaces
// data its master cannot contain (replica-keep-newer-data). It holds while
// the node's epoch is still n, and the server uses it up at the first sync
// that links the node to a master. The zero value grants nothing.
type DataLossGrant struct {
	Epoch int64
	Set   bool
}

// KeepNewerData decides whether a replica refuses a full resync from a
// master behind it, on a node whose epoch is node: when the guard is
// configured and no grant covers the node's epoch. A grant from an older
// epoch does not count: a newer failover has decided again, and whoever
// decided then did not grant it.
func KeepNewerData(configured bool, g DataLossGrant, node int64) bool {
	return configured && !(g.Set && g.Epoch == node)
}

// Encode is the epoch file's content.
func Encode(epoch int64) []byte {
	return []byte(strconv.FormatInt(epoch, 10) + "\n")
}

// ErrBadFile is wrapped by Parse's errors.
var ErrBadFile = errors.New("bad failover epoch file")

// Parse reads an epoch file's content: one non-negative decimal integer
// and a newline, nothing else.
func Parse(b []byte) (int64, error) {
	s, ok := strings.CutSuffix(string(b), "\n")
	n, err := strconv.ParseInt(s, 10, 64)
	if !ok || err != nil || n < 0 || strconv.FormatInt(n, 10) != s {
		return 0, fmt.Errorf("%w: %q", ErrBadFile, b)
	}
	return n, nil
}
