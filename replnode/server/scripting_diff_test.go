package server_test

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/redistest"
	"github.com/replnode/replnode/replnode/resp"
	"github.com/replnode/replnode/replnode/scripting"
)

// scriptCorpus are EVAL steps whose replies must be byte-for-byte Redis
// 7.0's: conversions both ways, errors and their "@user_script" formats,
// pcall, the sandbox, shebang flags and the libraries.
var scriptCorpus = [][]string{
	// Lua -> RESP
	{"EVAL", "return 1", "0"},
	{"EVAL", "return 3.99", "0"},
	{"EVAL", "return -3.99", "0"},
	{"EVAL", "return 'str'", "0"},
	{"EVAL", "return true", "0"},
	{"EVAL", "return false", "0"},
	{"EVAL", "return nil", "0"},
	{"EVAL", "return {1,2,{3,'a'},nil,5}", "0"},
	{"EVAL", "return {1,false,3}", "0"},
	{"EVAL", "return {}", "0"},
	{"EVAL", "return {ok='fine'}", "0"},
	{"EVAL", "return {ok='a\\r\\nb'}", "0"},
	{"EVAL", "return {err='x'}", "0"},
	{"EVAL", "return {err='MYCODE something'}", "0"},
	{"EVAL", "return {err=1}", "0"},
	{"EVAL", "return redis.error_reply('oops')", "0"},
	{"EVAL", "return redis.error_reply('-MY bad')", "0"},
	{"EVAL", "return redis.error_reply('MY bad')", "0"},
	{"EVAL", "return redis.error_reply(1)", "0"},
	{"EVAL", "return redis.status_reply('PONG')", "0"},
	{"EVAL", "return redis.status_reply()", "0"},
	{"EVAL", "return {double=3.5}", "0"},
	{"EVAL", "return {big_number='123'}", "0"},
	{"EVAL", "return {1, {err='inner'}, 3}", "0"},
	{"EVAL", "return 1e20", "0"},
	{"EVAL", "return -0.5", "0"},
	// KEYS / ARGV
	{"EVAL", "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}", "2", "k1", "k2", "a1", "a2"},
	{"EVAL", "return ARGV", "0", "x", "y", "z"},
	{"EVAL", "return KEYS", "3", "a", "b"},
	{"EVAL", "return KEYS", "-1"},
	{"EVAL", "return KEYS", "abc"},
	{"EVAL", "return 1"},
	// RESP -> Lua
	{"EVAL", "return redis.call('set', KEYS[1], ARGV[1])", "1", "s", "v"},
	{"EVAL", "return redis.call('get', KEYS[1])", "1", "s"},
	{"EVAL", "return redis.call('get', 'nosuchkey')", "0"},
	{"EVAL", "return type(redis.call('get', 'nosuchkey'))", "0"},
	{"EVAL", "return redis.call('incr', 'n')", "0"},
	{"EVAL", "return type(redis.call('set', 'x', 1))", "0"},
	{"EVAL", "return redis.call('set', 'x', 1).ok", "0"},
	{"EVAL", "return redis.call('set', 'f', 3.5)", "0"},
	{"EVAL", "return redis.call('get', 'f')", "0"},
	{"EVAL", "return redis.call('set', 'g', 0.1)", "0"},
	{"EVAL", "return redis.call('get', 'g')", "0"},
	{"EVAL", "redis.call('rpush', 'l', 'a', 'b', 'c') return redis.call('lrange', 'l', 0, -1)", "0"},
	{"EVAL", "return redis.call('mget', 'l', 's', 'nosuch')", "0"},
	{"EVAL", "return redis.call('exists', 'l', 's')", "0"},
	{"EVAL", "redis.call('hset', 'h', 'f1', 'v1') redis.setresp(3) local r = redis.call('hgetall', 'h') return r.map.f1", "0"},
	{"EVAL", "redis.setresp(3) return redis.call('hgetall', 'h')", "0"},
	{"EVAL", "redis.setresp(3) return redis.call('get', 'nosuchkey')", "0"},
	{"EVAL", "redis.setresp(3) return type(redis.call('get', 'nosuchkey'))", "0"},
	{"EVAL", "redis.setresp(3) return true", "0"},
	{"EVAL", "redis.setresp(3) return false", "0"},
	{"EVAL", "redis.setresp(3) return redis.call('zscore', 'nosuch', 'm')", "0"},
	{"EVAL", "redis.call('zadd', 'z', 1.5, 'm') redis.setresp(3) return redis.call('zscore', 'z', 'm').double", "0"},
	{"EVAL", "redis.setresp(3) return redis.call('zscore', 'z', 'm')", "0"},
	{"EVAL", "redis.setresp(4)", "0"},
	{"EVAL", "redis.setresp()", "0"},
	// errors
	{"EVAL", "return x", "0"},
	{"EVAL", "x = 5", "0"},
	{"EVAL", "return _G.foo", "0"},
	{"EVAL", "return rawget(_G, 'foo')", "0"},
	{"EVAL", "string.foo = 1", "0"},
	{"EVAL", "redis.call = 1", "0"},
	{"EVAL", "print(1)", "0"},
	{"EVAL", "return loadstring('return 7')()", "0"},
	{"EVAL", "return type(dofile)", "0"},
	{"EVAL", "return type(os)", "0"},
	{"EVAL", "return type(io)", "0"},
	{"EVAL", "return type(require)", "0"},
	{"EVAL", "return type(debug)", "0"},
	{"EVAL", "return type(setfenv)", "0"},
	{"EVAL", "return type(coroutine)", "0"},
	{"EVAL", "return redis.call('nosuch')", "0"},
	{"EVAL", "return redis.call('get')", "0"},
	{"EVAL", "return redis.call('incr', 'k', 'x')", "0"},
	{"EVAL", "return redis.call('config', 'nosub')", "0"},
	{"EVAL", "return redis.call()", "0"},
	{"EVAL", "return redis.call({})", "0"},
	{"EVAL", "return redis.call('get', {})", "0"},
	{"EVAL", "return redis.call('incr', 's')", "0"},
	{"EVAL", "return redis.call('lpush', 's', 'x')", "0"},
	{"EVAL", "return redis.call('multi')", "0"},
	{"EVAL", "return redis.call('eval', 'return 1', '0')", "0"},
	{"EVAL", "return redis.call('subscribe', 'c')", "0"},
	{"EVAL", "return redis.pcall('get')", "0"},
	{"EVAL", "return redis.pcall('incr', 's')", "0"},
	{"EVAL", "return redis.pcall('nosuch')", "0"},
	{"EVAL", "local r = redis.pcall('incr', 's') return r.err", "0"},
	{"EVAL", "error('boom')", "0"},
	{"EVAL", "error({err='MY bad'})", "0"},
	{"EVAL", "error({err='MY bad'}, 0)", "0"},
	{"EVAL", "error()", "0"},
	{"EVAL", "error(42)", "0"},
	{"EVAL", "\n\nerror('line three')", "0"},
	{"EVAL", "local function f() error('deep') end\nf()", "0"},
	{"EVAL", "return pcall(function() redis.call('nosuch') end)", "0"},
	{"EVAL", "local ok, e = pcall(function() redis.call('nosuch') end) return e", "0"},
	{"EVAL", "local ok, e = pcall(function() redis.call('incr', 's') end) return {tostring(ok), e.err}", "0"},
	{"EVAL", "local ok, e = pcall(error, 'plain') return {tostring(ok), e}", "0"},
	{"EVAL", "local ok, e = pcall(error, {err='T'}) return {tostring(ok), e.err}", "0"},
	{"EVAL", "return {pcall(function() return 1, 2 end)}", "0"},
	{"EVAL", "return select('#', pcall(function() return 1, 2 end))", "0"},
	{"EVAL", "return redis.call('ping')", "0"},
	// misc API
	{"EVAL", "return redis.sha1hex('')", "0"},
	{"EVAL", "return redis.sha1hex('Pizza & Mandolino')", "0"},
	{"EVAL", "return redis.sha1hex()", "0"},
	{"EVAL", "return redis.REDIS_VERSION", "0"},
	{"EVAL", "return redis.REDIS_VERSION_NUM", "0"},
	{"EVAL", "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}", "0"},
	{"EVAL", "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}", "0"},
	{"EVAL", "redis.log(redis.LOG_DEBUG, 'hello', 'world') return 1", "0"},
	{"EVAL", "redis.log(redis.LOG_WARNING) return 1", "0"},
	{"EVAL", "redis.log('x', 'y') return 1", "0"},
	{"EVAL", "redis.log(9, 'y') return 1", "0"},
	{"EVAL", "return redis.replicate_commands()", "0"},
	{"EVAL", "redis.set_repl(redis.REPL_ALL) return 1", "0"},
	{"EVAL", "redis.set_repl(8) return 1", "0"},
	{"EVAL", "redis.set_repl() return 1", "0"},
	{"EVAL", "math.randomseed(42) return {math.random(100), math.random(1, 6), math.random(1000000)}", "0"},
	{"EVAL", "return bit.band(0xff, 0x0f)", "0"},
	{"EVAL", "return {bit.tobit(0xffffffff), bit.bnot(0), bit.bor(1, 2, 4), bit.bxor(5, 3), bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4)}", "0"},
	{"EVAL", "return {bit.rol(0x12345678, 12), bit.ror(0x12345678, 12), bit.bswap(0x12345678)}", "0"},
	{"EVAL", "return {bit.tohex(255), bit.tohex(-1, -4), bit.tohex(0x12345678, 3)}", "0"},
	{"EVAL", "return tostring(1/0)", "0"},
	{"EVAL", "return string.format('%d %s %5.2f', 7, 'x', 3.14159)", "0"},
	{"EVAL", "return string.rep('ab', 3)", "0"},
	{"EVAL", "return table.concat({'a','b','c'}, ',')", "0"},
	{"EVAL", "local t = {3,1,2} table.sort(t) return t", "0"},
	{"EVAL", "return math.floor(3.7)", "0"},
	{"EVAL", "return #ARGV[1]", "0", "hello"},
	{"EVAL", "return tonumber('0x10')", "0"},
	{"EVAL", "return {string.byte('A'), string.char(66)}", "0"},
	{"EVAL", "local s = 0 for i = 1, 100000 do s = s + i end return s", "0"},
	// cjson
	{"EVAL", "return cjson.encode({1,2,3,{a=1}})", "0"},
	{"EVAL", "return cjson.encode('a/b\"c\\\\')", "0"},
	{"EVAL", "return cjson.encode({[1]=1,[20]=2})", "0"},
	{"EVAL", "return cjson.encode({1,nil,3})", "0"},
	{"EVAL", "return cjson.encode(1/0)", "0"},
	{"EVAL", "return cjson.encode({})", "0"},
	{"EVAL", "return {cjson.encode(0.1), cjson.encode(1e15), cjson.encode(123456789012345678), cjson.encode(-0.5)}", "0"},
	{"EVAL", "return cjson.encode({a={b={c={1,'x',true,false}}}})", "0"},
	{"EVAL", "return cjson.encode(redis.call)", "0"},
	{"EVAL", "return cjson.encode({[true]=1})", "0"},
	{"EVAL", "return cjson.encode(string.char(1,8,9,10,12,13,127,200))", "0"},
	{"EVAL", "return cjson.decode('[1,2,{\"a\":[true,false,null]}]')[3].a[1]", "0"},
	{"EVAL", "return cjson.decode('null') == cjson.null", "0"},
	{"EVAL", "return type(cjson.decode('null'))", "0"},
	{"EVAL", "return cjson.encode(cjson.decode('[null, 1.5e3, -0x10, \"\\\\u00e9\\\\ud83d\\\\ude00\"]'))", "0"},
	{"EVAL", "return cjson.decode(' [ 1 , 2 ] ')", "0"},
	{"EVAL", "return cjson.decode('{\"a\":')", "0"},
	{"EVAL", "return cjson.decode('[1,2')", "0"},
	{"EVAL", "return cjson.decode('[1,]')", "0"},
	{"EVAL", "return cjson.decode('xyz')", "0"},
	{"EVAL", "return cjson.decode('{1:2}')", "0"},
	{"EVAL", "return cjson.decode('[1] x')", "0"},
	{"EVAL", "return cjson.decode('\"abc')", "0"},
	{"EVAL", "return cjson.decode('\"\\\\x\"')", "0"},
	{"EVAL", "return cjson.decode('-')", "0"},
	{"EVAL", "return cjson.decode('')", "0"},
	{"EVAL", "return cjson.decode(string.rep('[', 1001) .. string.rep(']', 1001))", "0"},
	{"EVAL", "local t = {} local c = t for i = 1, 1001 do c[1] = {} c = c[1] end return cjson.encode(t)", "0"},
	{"EVAL", "return {cjson.encode_keep_buffer(), cjson.encode_max_depth(), cjson.decode_max_depth(), cjson.encode_number_precision()}", "0"},
	{"EVAL", "return {cjson.encode_sparse_array()}", "0"},
	{"EVAL", "return {cjson._NAME, cjson._VERSION}", "0"},
	{"EVAL", "cjson.encode = nil", "0"},
	{"EVAL", "local v = cjson.decode('{\"job\":\"send\",\"tries\":3}') return {v.job, v.tries}", "0"},
	// cmsgpack
	{"EVAL", "return cmsgpack.pack(1, -1, 127, 128, 255, 256, 65535, 65536, 4294967296, -32, -33, -128, -129, -32768, -32769, -2147483649)", "0"},
	{"EVAL", "return cmsgpack.pack(1.5, 0.1, 1e300, 'abc', string.rep('x', 40), string.rep('y', 300), true, false)", "0"},
	{"EVAL", "return cmsgpack.pack({1,2,3}, {a=1}, {}, {[1]=1,[3]=3})", "0"},
	{"EVAL", "return {cmsgpack.unpack(cmsgpack.pack(1, 'two', {3, {4}}, 5.5))}", "0"},
	{"EVAL", "local t = cmsgpack.unpack(cmsgpack.pack({a='b'})) return t.a", "0"},
	{"EVAL", "return cmsgpack.unpack(string.char(0xc1))", "0"},
	{"EVAL", "return cmsgpack.unpack(string.char(0xcd, 1))", "0"},
	{"EVAL", "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}", "0"},
	{"EVAL", "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 2)}", "0"},
	{"EVAL", "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}", "0"},
	{"EVAL", "return cmsgpack.unpack_one('abc', 10)", "0"},
	{"EVAL", "local t = {} local c = t for i = 1, 20 do c[1] = {} c = c[1] end return cmsgpack.pack(t)", "0"},
	{"EVAL", "return {cmsgpack.unpack(string.char(0x93, 1, 2))}", "0"},
	{"EVAL", "return {cmsgpack._NAME, cmsgpack._VERSION}", "0"},
	{"EVAL", "return tostring(cmsgpack.unpack(cmsgpack.pack(0.1)))", "0"},
	{"EVAL", "local s = string.rep('z', 70000) return #cmsgpack.unpack(cmsgpack.pack(s))", "0"},
	// struct
	{"EVAL", "return struct.pack('>I2<i4bBhHlLTfd', 258, -2, -1, 255, -300, 65000, -5, 7, 9, 1.5, 0.1)", "0"},
	{"EVAL", "return {struct.unpack('>I2<i4bBhHlL', struct.pack('>I2<i4bBhHlL', 258, -2, -1, 255, -300, 65000, -5, 7))}", "0"},
	{"EVAL", "return struct.size('!4bi4d')", "0"},
	{"EVAL", "return struct.pack('!8 b d', 1, 2)", "0"},
	{"EVAL", "return {struct.unpack('s', 'abc\\0rest')}", "0"},
	{"EVAL", "return {struct.unpack('bc0', struct.pack('bc0', 3, 'xyz'))}", "0"},
	{"EVAL", "return {struct.unpack('i4', 'xxabcd', 3)}", "0"},
	{"EVAL", "return {struct.unpack('>f', struct.pack('>f', 0.1))}", "0"},
	{"EVAL", "return struct.pack('c3', 'ab')", "0"},
	{"EVAL", "return struct.pack('z', 1)", "0"},
	{"EVAL", "return struct.unpack('i4', 'ab')", "0"},
	{"EVAL", "return struct.unpack('i4', 'abcd', 0)", "0"},
	{"EVAL", "return struct.size('s')", "0"},
	{"EVAL", "return struct.pack('i40', 1)", "0"},
	{"EVAL", "return struct.pack('!3i', 1)", "0"},
	{"EVAL", "return struct.unpack('s', 'abc')", "0"},
	{"EVAL", "return cmsgpack.pack()", "0"},
	{"EVAL", "return cjson.encode()", "0"},
	// tonumber, math.huge
	{"EVAL", "return {tonumber('1e2'), tonumber('  12  '), tonumber('0x10'), tonumber('-0x10'), tonumber('1.5e3'), tonumber('.5'), tonumber('5.'), tonumber('+1')}", "0"},
	{"EVAL", "return {tonumber('ff', 16), tonumber('777', 8), tonumber('zz', 36)}", "0"},
	{"EVAL", "return {type(tonumber('abc')), type(tonumber('1e')), type(tonumber('')), type(tonumber(' 0x ')), type(tonumber('- 1'))}", "0"},
	{"EVAL", "return {tostring(math.huge), tostring(-math.huge), tostring(tonumber('1e400')), tostring(math.huge == 1/0)}", "0"},
	{"EVAL", "return {tostring(12345678901234), tostring(2^53), tostring(10/3), tostring(0.1)}", "0"},
	// Integer arguments of the libraries accept numeric strings, as
	// luaL_checkint does (scripts get their ARGV as strings).
	{"EVAL", "math.randomseed(ARGV[1]) return tostring(math.random())", "0", "10"},
	{"EVAL", "math.randomseed(ARGV[1]) return {math.random(ARGV[2]), math.random('3', ARGV[2])}", "0", "20", "100"},
	{"EVAL", "return {string.rep('ab', ARGV[1]), string.sub('hello', '2', ARGV[1]), string.byte('abc', '2'), string.char('65', 66)}", "0", "3"},
	{"EVAL", "return {string.format('%d|%5.1f|%x', '42', '3.14159', '255'), tostring(#string.rep('x', ' 2 '))}", "0"},
	{"EVAL", "return string.rep('x', 'two')", "0"},
	// Read-only tables: setmetatable and their metatable refuse writes
	// with Redis's message; a binary chunk does not load; calling nil.
	{"EVAL", "setmetatable(_G, {})", "0"},
	{"EVAL", "local g = getmetatable(_G) g.__index = {}", "0"},
	{"EVAL", "setmetatable(string, {})", "0"},
	{"EVAL", "return {type(getmetatable(cjson)), type(getmetatable(string)), type(getmetatable(redis))}", "0"},
	{"EVAL", "return type(getmetatable(_G).__index)", "0"},
	{"EVAL", "local t = setmetatable({}, {__metatable = 'locked'}) return setmetatable(t, {})", "0"},
	{"EVAL", "return {type(setmetatable({}, {}))}", "0"},
	{"EVAL", "return loadstring(string.dump(function() return 1 end))()", "0"},
	{"EVAL", "return pcall(nil)", "0"},
	// SORT BY a constant sorts a set (ALPHA) when a script asks, so its
	// effects cannot depend on the set's internal order.
	{"SADD", "sortset", "a", "b", "c", "z", "aa", "aaa", "azz", "10", "9"},
	{"EVAL", "return redis.call('sort', KEYS[1], 'by', '_')", "1", "sortset"},
	{"EVAL", "return redis.call('sort', KEYS[1], 'by', '_', 'get', '#', 'get', '_:*', 'limit', '1', '4')", "1", "sortset"},
	// Numbers turned into strings by .., table.concat, string.format's
	// %s and the string functions use Lua 5.1's "%.14g" as well.
	{"EVAL", "return {2^53 .. '', 123456789012345 .. '', 12345678901234 .. '', (10/3) .. '', 0.1 + 0.2 .. '', 1e100 .. '', 1/0 .. '', -1/0 .. ''}", "0"},
	{"EVAL", "return -0.0 .. ''", "0"},
	{"EVAL", "return {table.concat({2^53, 0.1 + 0.2, 1e15, 7}, ','), string.format('%s|%s', 2^60, 1/3), string.rep(2^53, 2), string.len(2^53), string.upper(1e15)}", "0"},
	{"EVAL", "local t = {} for i = 1, 3 do t[#t + 1] = i * 1e14 end return table.concat(t, ' ')", "0"},
	{"EVAL", "return redis.call('set', 'concat-key', 2^53 .. ':' .. 2^53) and redis.call('get', 'concat-key')", "0"},
	{"EVAL", "return redis.call('blpop', 'nolist', 0)", "0"},
	{"EVAL", "return redis.call('select', 100)", "0"},
	{"EVAL", "return redis.call('wait', 0, 0)", "0"},
	{"EVAL", "return redis.call('watch', 'x')", "0"},
	{"EVAL", "return redis.call('script', 'load', 'return 1')", "0"},
	{"EVAL", "return redis.pcall('zadd', 'z', 'x', 'm')", "0"},
	// big scripts and deep stacks (unpack of 7000 used to crash the node)
	{"EVAL", "return unpack((function() local t = {} for i = 1, 7000 do t[i] = i end return t end)())", "0"},
	{"EVAL", "return unpack((function() local t = {} for i = 1, 9000 do t[i] = i end return t end)())", "0"},
	{"EVAL", "local t = {} for i = 1, 7000 do t[i] = i end return #{unpack(t)}", "0"},
	{"EVAL", "return {select('#', unpack({1,2,3}, 2)), unpack({1,2,3}, 3, 1)}", "0"},
	{"EVAL", "local function f(n) if n == 0 then return 0 end return 1 + f(n-1) end return f(10000)", "0"},
	{"EVAL", "local t = {} for i = 1, 3000 do t[i] = 'v' .. i end return t", "0"},
	{"EVAL", "return string.rep('x', 100000)", "0"},
	{"EVAL", strings.Repeat("redis.call('incr', 'bigscript')\n", 2000) + "return redis.call('get', 'bigscript')", "0"},
	{"PING"},
	// SELECT in a script does not change the caller's database
	{"EVAL", "redis.call('select', 9) redis.call('set', 'in9', 'v') return redis.call('get', 'in9')", "0"},
	{"EXISTS", "in9"},
	{"SELECT", "9"},
	{"GET", "in9"},
	{"SELECT", "0"},
	// shebang flags
	{"EVAL", "#!lua\nreturn 1", "0"},
	{"EVAL", "#!lua flags=no-writes\nreturn redis.call('get', 's')", "0"},
	{"EVAL", "#!lua flags=no-writes\nreturn redis.call('set', 's', 'x')", "0"},
	{"EVAL", "#!lua flags=no-writes,allow-oom\nreturn 1", "0"},
	{"EVAL", "#!lua flags=bogus\nreturn 1", "0"},
	{"EVAL", "#!lua name=x\nreturn 1", "0"},
	{"EVAL", "#!python\nreturn 1", "0"},
	{"EVAL", "#!lua", "0"},
	{"EVAL", "#!lua flags=\nreturn 1", "0"},
	{"EVAL", "#!lua\nreturn x", "0"},
	{"EVAL_RO", "return redis.call('get', 's')", "0"},
	{"EVAL_RO", "return redis.call('set', 's', 'y')", "0"},
	{"EVAL_RO", "#!lua\nreturn 1", "0"},
	{"EVAL_RO", "#!lua flags=no-writes\nreturn 1", "0"},
	{"EVAL_RO", "return redis.call('publish', 'c', 'm')", "0"},
	// compile errors
	{"EVAL", "return 'unterminated", "0"},
	// script cache
	{"SCRIPT", "FLUSH"},
	{"EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"},
	{"EVALSHA", "short", "0"},
	{"SCRIPT", "LOAD", "return 'loaded'"},
	{"SCRIPT", "EXISTS", "2b8e1cd4a6bcb1ab3b9df1f2dcc0bbe0e19b2fed", "0000000000000000000000000000000000000000"},
	{"EVALSHA", "2b8e1cd4a6bcb1ab3b9df1f2dcc0bbe0e19b2fed", "0"},
	{"EVALSHA", "2B8E1CD4A6BCB1AB3B9DF1F2DCC0BBE0E19B2FED", "0"},
	{"EVALSHA_RO", "2b8e1cd4a6bcb1ab3b9df1f2dcc0bbe0e19b2fed", "0"},
	{"SCRIPT", "LOAD", "return ("},
	{"SCRIPT", "FLUSH", "ASYNC"},
	{"SCRIPT", "FLUSH", "SYNC"},
	{"SCRIPT", "FLUSH", "NOW"},
	{"SCRIPT", "EXISTS", "2b8e1cd4a6bcb1ab3b9df1f2dcc0bbe0e19b2fed"},
	{"SCRIPT", "KILL"},
	{"SCRIPT", "NOPE"},
	{"SCRIPT", "HELP"},
	// in a transaction
	{"MULTI"},
	{"EVAL", "return redis.call('incr', 'tx')", "0"},
	{"EVAL", "return redis.call('incr', 'tx')", "0"},
	{"EXEC"},
}

// TestDifferentialScripting runs the corpus against redis-server 7.0 and
// replnode.
func TestDifferentialScripting(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	d := redistest.NewDiff(t, real, ours)
	for _, step := range scriptCorpus {
		d.Do(step...)
	}
	if got := d.Do("EVAL", "return redis.sha1hex(ARGV[1])", "0", "abc").Str; got != scripting.SHA1Hex([]byte("abc")) {
		t.Fatalf("sha1hex(abc) = %q", got)
	}
}

// TestDifferentialScriptDeepReply: a table containing itself, or nested
// past Lua's stack, is replied as deep as Redis's Lua stack allows and
// then "reached lua stack limit", byte for byte as redis-server 7.0 (read
// raw: the replies are thousands of levels deep).
func TestDifferentialScriptDeepReply(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	for _, script := range []string{
		"local t = {} t[1] = t return t",
		"local t = {} t[1] = {1, t} return t",
		"local t = {} t[1] = t return {map={a=t}}",
		"local t = {} t.map = {a=t} return t",
		"local t = {} t.set = {} t.set[t] = true return t",
	} {
		a, b := rawEval(t, real.Addr, script), rawEval(t, ours.Addr, script)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: redis %d bytes ending %q, replnode %d bytes ending %q", script, len(a), tail(a), len(b), tail(b))
		}
	}
}

// rawEval sends EVAL script 0 and reads the reply bytes until the stack
// limit error that ends these replies.
func rawEval(t *testing.T, addr, script string) []byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(resp.AppendCommandStrings(nil, "EVAL", script, "0")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var out []byte
	buf := make([]byte, 64<<10)
	for !bytes.HasSuffix(out, []byte("limit\r\n")) {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			break
		}
		if bytes.Count(out, []byte("limit\r\n")) > 0 {
			// A map can end in two errors: wait briefly for the rest.
			_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		}
	}
	return out
}

func tail(b []byte) []byte {
	if len(b) > 60 {
		return b[len(b)-60:]
	}
	return b
}
