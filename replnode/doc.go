// Package replnode is the root of the replnode server: a Redis 7.0 compatible
// node with RESP2/RESP3, RDB persistence and master–replica replication.
//
// It owns nothing itself; the work is split into subpackages:
//
//   - resp:        the wire protocol. A parser with no I/O and a reply writer.
//   - config:      redis.conf directives: parsing, CONFIG GET/SET/REWRITE.
//   - store:       the keyspace and in-memory value types, with injected time.
//   - hll:         HyperLogLog string encodings (sparse/dense) as Redis's.
//   - geo:         geohash scores and geo search math as Redis's.
//   - rdb:         the RDB file format codec over io.Reader/io.Writer.
//   - aof:         the multi-part append-only file formats (manifest, feed,
//     reader and its load verdict), over io.Reader/io.Writer.
//   - replication: the pure replication state machine and backlog.
//   - fencing:     the failover epoch rule (REPLNODE EPOCH) and its protocol.
//   - acl:         ACL users, their rule language and the permission check.
//   - metrics:     INFO as Prometheus metrics with redis_exporter's names.
//   - tlsconf:     the tls-* directives as crypto/tls configurations.
//   - netloop:     an epoll readiness poller for the client event loop.
//   - server:      sockets, goroutines, timers, the command table and handlers.
//
// Only server (and netloop, the epoll system calls it makes for server)
// does I/O or starts goroutines. The others are pure and tested
// with tables, without a network.
package replnode
