// Package server owns everything in replnode that does I/O or keeps time:
// listeners, client connections, the single command executor, the command
// table and its handlers, blocking operations, pub/sub, persistence jobs and
// the replication links, and the startup sequence behind the replnode binary.
//
// Command handlers live in files by data type (t_string.go, t_list.go, ...),
// in the manner of Redis's src/. The checks every command shares (arity,
// authentication, read-only replica, min-replicas, OOM) live once in
// dispatch, never in handlers.
package server
