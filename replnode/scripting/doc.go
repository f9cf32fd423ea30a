// Package scripting is replnode's Lua scripting engine: Redis 7.0's
// EVAL/EVALSHA world (script cache, shebang flags, the sandboxed Lua 5.1
// interpreter with the redis.* API and the RESP <-> Lua conversions, with
// 7.0's exact error texts) and its FUNCTION world (libraries,
// redis.register_function, a second interpreter as in Redis), on
// github.com/yuin/gopher-lua, with Go ports of the C libraries Redis
// ships: cjson, cmsgpack, bit and struct.
//
// It owns the interpreters, the script cache, the function libraries and
// the conversions. It does no I/O and knows nothing of the keyspace,
// replication or the checks a command must pass: every redis.call goes
// through Host.Call, which the server implements with its own dispatch
// (script-specific refusals such as "Write commands are not allowed from
// read-only scripts", READONLY, OOM, min-replicas, the failover epoch, all
// decided there, once). It must not keep a second copy of those checks,
// and must not import package server. Engine.Kill and Functions.Kill are
// the only methods safe from another goroutine (SCRIPT KILL while a busy
// script has lent the executor, see server/scripting.go).
//
// Differences from Redis 7.0 that remain, by design of the engine:
// globals and library tables are made read-only with proxy tables (Redis
// patches Lua for real read-only tables; setmetatable and getmetatable
// are wrapped to answer as Redis does), so rawset on them is not refused
// and pairs over a library table sees nothing; gopher-lua's runtime
// errors do not name the variable involved ("attempt to call a nil value"
// where Lua 5.1 says "attempt to call local 'f' (a nil value)"); table
// iteration order (cmsgpack.pack and cjson.encode of tables with several
// keys) follows Go's table layout, not Lua's; the Lua VM's memory is not
// measured.
//
// gopher-lua comes from replnode/scripting/gopher-lua, a module of its
// own that a replace directive in go.mod points to: a copy of v1.1.2
// patched so that numbers become strings as in Lua 5.1 ("%.14g")
// wherever the VM converts them (.., table.concat, the string
// functions), which upstream offers no hook for; see its
// README.replnode.md. redis.call arguments use Redis's "%.17g".
package scripting
