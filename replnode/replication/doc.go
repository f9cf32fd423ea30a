// Package replication owns the replication state machine of a node: the
// backlog ring addressed by absolute offset, the replid/replid2 history, the
// PSYNC decision on the master side, and the replica-side handshake and link
// states.
//
// It is pure, in the manner of etcd raft: it takes events and the current time
// as arguments and returns actions for the caller to perform. It must not
// open sockets, start goroutines or read the clock.
package replication
