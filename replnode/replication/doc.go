// Package replication owns the replication state machine of a node: the
// backlog ring addressed by absolute offset, the replid/replid2 history, the
// PSYNC decision on the master side, and the replica-side handshake and link
// states.
//
// It is pure, in the manner of etcd raft: it takes events and the current time
// as arguments and returns actions for the caller to perform. It must not
// open sockets, start goroutines or read the clock.
//
// Files:
//
//   - backlog.go:  Backlog, Redis's repl_backlog (first byte offset, histlen).
//   - identity.go: Identity (replid, replid2, offsets), ShiftReplicationID.
//   - history.go:  Identity.Contains / ContainsDataOf, the one rule of
//     whether a history provably contains a position (replid and offset),
//     shared by the node's guard and the operator's failover policy.
//   - psync.go:    DecidePSync, masterTryPartialResynchronization's rules.
//   - link.go:     Link, the replica's repl_state machine: handshake, PSYNC
//     reply parsing, timeouts, reconnection, ACKs, and, with KeepNewerData
//     (replica-keep-newer-data), the refusal of a full resync from a master
//     whose history (asked with REPLCONF history) does not contain this
//     replica's data; it returns Output (actions and Redis's log lines).
//   - replicas.go: the master's table of replicas, INFO slaveN lines,
//     min-replicas counting and WAIT.
//   - master_policy.go: when a snapshot starts for waiting replicas, and
//     the replica client-output-buffer-limit decision.
//   - failover.go: DecideFailover, what a master running FAILOVER does while
//     it waits for a replica to catch up (updateFailoverStatus's rules).
//
// The server layer (replnode/server/repl_*.go) performs the actions: it
// dials, writes, reads the RDB payload and applies the stream.
package replication
