// Package scripting is replnode's Lua scripting engine: the Redis 7.0
// EVAL/EVALSHA world (script cache, shebang flags, the sandboxed Lua 5.1
// interpreter with the redis.* API and the RESP ↔ Lua conversions, with
// 7.0's exact error texts), on github.com/yuin/gopher-lua.
//
// It owns the interpreter, the script cache and the conversions. It does no
// I/O and knows nothing of the keyspace, replication or the checks a
// command must pass: every redis.call goes through Host.Call, which the
// server implements with its own dispatch (script-specific refusals such
// as "Write commands are not allowed from read-only scripts", READONLY,
// OOM, min-replicas, the failover epoch, all decided there, once). It must
// not keep a second copy of those checks, and must not import package
// server.
//
// Differences from Redis 7.0 that remain, by design of the engine:
// globals and library tables are made read-only with proxy tables (Redis
// patches Lua for real read-only tables), so rawset on them is not refused
// and pairs over a library table sees nothing; gopher-lua's runtime error
// messages for type errors can differ in wording from Lua 5.1's.
package scripting
