// Package fencing is the node side of failover fencing: the failover epoch
// rule, pure and without I/O. The server package keeps the node's epoch,
// persists it and checks commands against it in dispatch.
//
// # Protocol
//
// The operator numbers failovers with a failover epoch, a non-negative
// 64-bit integer (0 on a node that never saw one), and tells each node the
// epoch it acts in before acting:
//
//	REPLNODE EPOCH       → :<the node's epoch>
//	REPLNODE EPOCH <n>   → +OK, or
//	                       -STALEEPOCH failover epoch <n> is older than this node's <cur>
//
// REPLNODE EPOCH <n> with n below the node's epoch is refused. Otherwise
// the node's epoch becomes n, written durably and atomically to the file
// replnode-epoch in the data directory (dir) before the reply — a
// temporary file fsynced, renamed over it, the directory fsynced — and
// read back at startup, and n becomes the epoch of the connection that
// sent it (for the connection's life: RESET does not clear it). A node
// that cannot read its epoch file refuses to start, and REPLNODE EPOCH
// answers -ERR failover epoch unavailable until it stops; an error writing
// the file is an -ERR reply and leaves the epoch as it was. CONFIG SET dir
// writes the epoch into the new directory.
//
// On a connection that set an epoch, the fenced commands — REPLICAOF,
// SLAVEOF, CLIENT PAUSE, CLIENT UNPAUSE, CLIENT KILL, FAILOVER, CONFIG SET,
// SHUTDOWN and DEBUG — are refused with the same -STALEEPOCH error (naming
// the connection's epoch) once the node's epoch is above the connection's:
// an operator acting for an older failover cannot undo a newer one. The
// check is made in dispatch when the command runs (an EXEC holding a fenced
// command is refused as a whole; a command held by CLIENT PAUSE is checked
// when it is processed again). Connections that never set an epoch behave
// exactly as with redis-server.
//
// # Keeping newer data
//
// A replica run with replica-keep-newer-data yes (a replnode directive,
// off by default, so a node behaves as redis-server unless asked) refuses
// a full resync that would replace the data it holds with a master's whose
// history does not provably contain it (replication.Identity.ContainsDataOf,
// the rule the operator applies too): it asks the master REPLCONF history
// before PSYNC and judges the +FULLRESYNC by the answer; a master that
// cannot show its history (redis-server) is judged by offset alone. The
// old SYNC, which gives no offset, is refused whenever it holds data. It
// keeps its data, drops the link and tries again later (package
// replication's Link does this). This is the node's half of
// the operator's rule R1 (docs/failover.md): a replica the operator cannot
// reach still follows an old master's address, and when a member behind it
// answers there, Redis's replication alone would wipe it.
//
// The operator lifts the guard when it decided the loss itself (an old
// master it demotes, whose extra bytes no WAIT acknowledged, or the user's
// accept-data-loss annotation):
//
//	REPLNODE EPOCH <n> ACCEPT-DATA-LOSS → as REPLNODE EPOCH <n>, and the
//	                       node may accept one such full resync while its
//	                       epoch is n
//
// The grant lives in memory only (a restart re-arms the guard), ends when
// the node's epoch rises past n, and is used up by the first sync, full or
// partial, that links the node to a master (KeepNewerData).
//
// REPLNODE needs authentication like any command and is allowed while
// loading and on a stale replica. It is hidden from COMMAND, COMMAND COUNT,
// COMMAND INFO, COMMAND DOCS and COMMAND LIST, so the command table clients
// see stays redis-server 7.0's. REPLNODE HELP lists its subcommands.
package fencing
