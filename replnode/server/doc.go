// Package server owns everything in replnode that does I/O or keeps time:
// listeners, client connections, the single command executor, the command
// table and its handlers, blocking operations, pub/sub, client side caching
// (CLIENT TRACKING and its invalidation messages, tracking.go), persistence
// jobs and the replication links, and the startup sequence behind the
// replnode binary.
//
// Command handlers live in files by data type (t_string.go, t_list.go, ...),
// in the manner of Redis's src/. The checks every command shares (arity,
// authentication, ACL permissions, failover epoch, read-only replica,
// min-replicas, OOM, CLIENT PAUSE) live once in dispatch, never in handlers.
//
// # ACL users
//
// Package acl owns the users and decides; t_acl.go is the ACL command
// and the I/O around it (ACL LOG entries, the ACL file, disconnecting
// clients a change takes rights from), acl_keys.go hands package acl the
// command table and a command's keys (from command_meta.json's key specs)
// and channels. Dispatch asks once per command (aclDenied), and again for
// each queued command at EXEC and each command a script calls. A client
// of a user that may do everything (the default user, as shipped), the
// master link and internal clients (no user) cost a flag test.
//
// # Metrics
//
// With metrics-port set (a replnode extension directive, with metrics-bind;
// off by default) the node serves Prometheus /metrics over HTTP on its own
// listener (metrics_http.go). A scrape takes the executor once, to render
// the INFO sections package metrics maps to redis_exporter's names
// (MetricsSnapshot: no keyspace walk, so no avg_ttl), and parses and
// encodes after releasing it.
//
// # Failover safety
//
// CLIENT PAUSE holds a command after every other check, as Redis 7.0's
// BLOCKED_POSTPONE, and processes it again from the start when the pause
// ends or weakens: a write held on a master that became a replica gets
// -READONLY, one whose replicas left -NOREPLICAS. While clients are paused
// the dataset stands still (no expiry, no eviction). The min-replicas guard
// counts good replicas from their last ACK against the time of each write
// (Server.GoodReplicas), never from a count a cron keeps. The failover
// epoch (REPLNODE EPOCH, fencing.go; protocol in package fencing) refuses
// fenced commands from an operator connection acting for an older
// failover; with replica-keep-newer-data a replica refuses a full resync
// from a master whose history does not contain its data unless REPLNODE
// EPOCH <n> ACCEPT-DATA-LOSS granted the loss in the node's epoch (the
// grant is fenceState's, the refusal the Link's). A master answers the
// replica's REPLCONF history with its replid, replid2 and
// second_repl_offset (repl_master.go), which the Link needs for that. REPLNODE is a hidden command (Command.Hidden): COMMAND and its
// subcommands do not show it, so the table clients see is Redis's.
//
// # Execution model
//
// Plain TCP and unix socket clients start on the event loop (netloop.go):
// one goroutine waits on all their sockets (package netloop's epoll),
// reads every ready client without blocking, runs all their batches in
// one hold of the executor and writes the replies without blocking, as
// redis-server's thread does. A client the loop cannot serve without
// waiting (a blocked command, CLIENT PAUSE, a script, a replica link,
// MONITOR, a closing client, a reply the socket does not
// take whole) is handed over for good to a reader goroutine, with its
// input and output intact; TLS clients start there. Both paths run a batch
// with Client.runBatch.
//
// A reader goroutine reads from the socket, takes
// the executor lock (Server.mu) once per read, parses every complete
// request in what it read (package resp, without copying: arguments point
// into the read buffer until the batch ends), runs the commands
// one after another (Server.processCommand → Server.call → Handler), moves
// the encoded replies to the client's pending buffer, releases the lock and
// writes them with one syscall. Everything reachable from the Server — the
// keyspace, every Client's transaction/subscription state, statistics,
// configuration — is touched only while holding the executor lock, so
// handlers are plain sequential code, as in Redis. Out-of-band output
// (pub/sub messages, replies to unblocked clients) is written to the target
// client's Writer on the executor and sent by calling Client.Flush.
//
// A blocked client's reader keeps reading its socket (as Redis keeps
// reading a blocked client), and so does one whose command CLIENT PAUSE
// holds (heldRead): what arrives is run after the client is unblocked,
// and a connection that closes frees the client at once — so a vanished
// client leaves blocked_clients immediately and shutdown, which closes
// every connection, never waits for one. client-query-buffer-limit bounds
// the input read but not yet parsed, after every read as in Redis's
// readQueryFromClient: a client (other than our master) over it is logged
// and closed without a reply. The parser (package resp) applies the hard
// limits of networking.c to each request. Pushes (pub/sub, keyspace
// notifications, tracking invalidations) bypass CLIENT REPLY OFF|SKIP
// (push.go).
//
// # A panic in a command
//
// Dispatch (Server.runHandler) recovers a panic in a handler: it logs the
// command name and the stack at warning level, drops whatever part of the
// reply the handler had written, answers -ERR internal error in '<cmd>',
// counts it (INFO stats command_panics, and write_command_panics for
// commands flagged write; errorstats as any ERR) and does not propagate
// the command. The node keeps serving. Panics outside handlers are
// covered too, see "A panic outside a command".
//
// Why not die as Redis does on a crash: a panic is almost always one input
// hitting one bug, deterministically. If it killed the node, the operator
// would fail over to a replica, the client would retry the same command
// there and kill that one too: one bad request would take down every node
// in turn, and each restart loses the writes not yet replicated. Recovering
// costs one error reply.
//
// What a panic leaves behind: a read-only command changes nothing, so
// nothing is lost. A write command may have changed part of what it meant
// to before panicking (a key set, a few list elements pushed). That part
// stays in the keyspace and the replication stream carries nothing of it,
// so the master and its replicas may differ on the keys that command touched until they are next
// written. We accept that rather than guess: undoing is impossible without
// a journal, and propagating the half-done command would make replicas run
// it again from the start (and panic again). write_command_panics > 0 is
// the signal that the dataset may differ from the replicas'; a full resync
// (or a failover to a replica) restores agreement.
//
// # A panic outside a command
//
// The same argument holds for the goroutines around the handlers: what
// panics there is data or input too (a request, a value the RDB writer
// cannot encode, a master's stream), and a crash would repeat on every
// node it reaches. So no goroutine the server starts lets a panic end the
// process or keep a lock (panics.go). Each is logged with its stack and
// counted in INFO stats internal_panics, then:
//   - a client's reader or output goroutine: the batch is ended, the
//     executor released (the reader tracks holding it, Client.lockExec) and
//     that client alone is closed. A write that ran before the panic stays,
//     as for a handler panic;
//   - the server cron: the tick is abandoned and the next one runs; a
//     panic that repeats every tick is logged once a minute;
//   - a background save: the save fails (rdb_last_bgsave_status:err, and
//     MISCONF refuses writes as after any failed save);
//   - a full sync to replicas: the sync fails and its replicas are dropped
//     (they retry), their output released;
//   - the replication link of a replica: the link is dropped and the
//     cached master discarded, so the replica comes back by a full sync
//     (what it had half applied is replaced);
//   - accepting a connection: that connection is closed;
//   - loading the dataset at startup: a fatal load error, the process
//     exits non-zero with the report in its log, as Redis on a crash.
//
// Panics that hold the executor are released by Exec's deferred unlock or
// by the reader's tracking; a goroutine never recovers a panic while it
// holds a lock it does not release.
//
// # How to add a command
//
//  1. Pick the group file (t_string.go, t_keys.go, ...) or create one named
//     after the Redis source file (t_list.go for t_list.c).
//
//  2. Add the command to the file's single init() register(...) block:
//
//     &Command{Name: "strlen", Arity: 2, Flags: FlagReadOnly | FlagFast,
//     Group: "string", FirstKey: 1, LastKey: 1, Step: 1, Handler: strlenCommand},
//
//     Arity, flags and key positions are Redis's (COMMAND INFO strlen on a
//     real redis-server shows them). FlagWrite makes dispatch refuse the
//     command on a read-only replica, under min-replicas and MISCONF, and
//     propagate it; FlagDenyOOM refuses it over maxmemory when eviction
//     (evict.go, before every command) cannot free enough. A container
//     command (CONFIG, OBJECT) lists Subcommands, each with its own arity
//     counting the container name, and has no Handler.
//
//     COMMAND DOCS and the categories, tips and key specs of COMMAND INFO
//     come from command_meta.json (see command_meta.go): regenerate it from
//     the real redis-server with go test -run TestGenerateCommandMeta
//     -update-command-meta; TestDifferentialCommandInfoAndDocs checks the
//     result against Redis.
//
//  3. Write the handler, func(ctx *Ctx). It does only the command's own
//     work; dispatch has checked arity, auth, role, memory and MULTI.
//     - Read arguments from ctx.Args; parse numbers with ctx.Int / ctx.Float
//     (they reply Redis's error and return ok=false). ctx.Args alias the
//     read buffer: bytes.Clone anything stored in the keyspace.
//     - Read keys with ctx.Lookup / ctx.LookupKind (lazy expiry, hit/miss
//     stats, WRONGTYPE reply); modify with ctx.LookupWriteKind (it clones a
//     value shared with a snapshot) or ctx.SetKey / ctx.DeleteKey.
//     - After a change call ctx.Touched(key) (WATCH + dirty), or
//     ctx.S.signalModifiedKey + ctx.Modified(n); fire ctx.Notify(class,
//     event, key) for keyspace notifications.
//     - Reply through ctx.W (resp.Writer): ctx.W.Bulk, ctx.W.Int,
//     ctx.W.ArrayLen(n) then n elements, ctx.W.MapLen, ctx.W.Null...
//     Errors go through ctx.Error("ERR ...") so INFO errorstats count them.
//     - A write command that changed something (Modified > 0) is propagated
//     as received. Call ctx.Rewrite(args...) to propagate a deterministic
//     form instead (relative TTL → absolute, float result → SET), or
//     ctx.Propagate(args...) to emit an extra command first.
//
//  4. Test it with a transcript (see t_string_test.go: newCoreNode + run)
//     and, for anything subtle, in the differential suite against a real
//     redis-server (package redistest).
//
// # Seams for other parts
//
// Files of other areas hook in without editing the core: onNewServer(fn)
// from an init() runs fn for every new Server, where it can call
// OnAfterCommand (serve blocked clients), OnCron (timeouts, save points,
// replication timers), OnClientClose, OnClientKill, OnSwapDB, OnFlushAll,
// OnConfigSet, OnResetStat, OnStartupLoad (the dataset, loaded off the
// executor while clients get -LOADING) and OnStartup, and set Server.Propagator (the
// replication stream), GoodReplicas, NotCountedMemory (what maxmemory
// does not count), WriteError, ShutdownHook, Loading,
// MasterHost/MasterLinkUp. The append-only file (aof.go) gets the same
// propagated stream through Server.aofFeed and writes it before replies
// leave through aofBeforeReply (flushOutLocked), with the replication
// position after each change that replPositionAfter (repl_rdbinfo.go)
// gives it; it hands the position it loads to RestoreReplicationInfo, as
// the RDB loader does. Its background fsyncs and the sync of the old incr
// file at a switch go through bioWorker.sync, whose syncFile tests set to
// see the order of syncs and writes, or to make a sync fail
// (aof_switch_sync_test.go). INFO calls PersistenceInfo, ReplicationInfo and
// ReplicationSyncStats from those areas. Client.Block/Unblock park a client's reader
// while a blocking command waits. NewInternalClient plus Call replay
// commands without a socket (the link from our master).
//
// # TLS
//
// tls.go opens the tls-port listeners (crypto/tls over the same accept
// loop; a client's handshake runs on its reader goroutine at its first
// read) and wraps the link to our master when tls-replication is on. The
// rules — what the tls-* directives mean, which certificate a handshake
// gets — are package tlsconf's; the server gives it the files and keeps
// its Contexts. CONFIG SET of any tls-* directive reloads (even to the
// same value, so a rotated file is picked up), CONFIG SET tls-port moves
// the listener, and a reload or move that fails puts every value of that
// CONFIG SET back.
//
// # Scripting
//
// scripting.go is the seam to package scripting: EVAL and FCALL prepare a
// run and hand the engine a Host whose Call goes through callFromScript
// in dispatch.go, where the checks scripts get live next to the client
// ones (writeRefusal is shared by both). A script past
// busy-reply-threshold lends the executor: dispatch answers -BUSY to all
// but allow-busy commands, the master link waits, and Exec and the cron
// wait for the script to end.
package server
