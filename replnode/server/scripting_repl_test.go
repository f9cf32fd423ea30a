package server

import (
	"strconv"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/scripting"
)

// scriptWorkload runs scripts whose effects must reach a replica exactly:
// several writes in one script (MULTI/EXEC), SELECT inside a script,
// commands propagated in a rewritten form (relative expiry, INCRBYFLOAT,
// SPOP), errors after writes, pcall, and EVALSHA.
func scriptWorkload(t *testing.T, c *testClient) {
	t.Helper()
	steps := [][]string{
		{"EVAL", "redis.call('set', KEYS[1], ARGV[1]) redis.call('incr', KEYS[2]) return redis.call('rpush', KEYS[3], 'a', 'b')", "3", "s1", "n1", "l1", "v1"},
		{"EVAL", "redis.call('select', 5) redis.call('set', 'in5', 'x') redis.call('select', 0) return redis.call('set', 'in0', 'y')", "0"},
		{"EVAL", "redis.call('set', 'ttl', 'v', 'EX', 100) return redis.call('incrbyfloat', 'f', '1.5')", "0"},
		{"EVAL", "redis.call('sadd', 'set', 1, 2, 3, 4, 5) return redis.call('spop', 'set')", "0"},
		{"EVAL", "redis.call('set', 'before-error', 1) return redis.call('incr', 's1')", "0"},
		{"EVAL", "redis.pcall('incr', 's1') return redis.call('hset', 'h', 'a', 1, 'b', 2)", "0"},
		{"SCRIPT", "LOAD", "return redis.call('incrby', KEYS[1], ARGV[1])"},
		{"EVALSHA", "b9dfbe6d5ab5b0fbd4ebcb7b4d6e7e3c6d6c9b5d", "1", "x", "1"},
		{"EVAL", "#!lua flags=no-writes\nreturn redis.call('get', 's1')", "0"},
		{"EVAL", "for i = 1, 50 do redis.call('zadd', 'z', i, 'm' .. i) end return redis.call('zcard', 'z')", "0"},
		{"EVAL", "redis.call('set', 'exp', 'v', 'PX', 1) return 1", "0"},
		{"FUNCTION", "LOAD", "#!lua name=jobs\nredis.register_function('push', function(keys, args) redis.call('rpush', keys[1], args[1]) return redis.call('incr', keys[2]) end)"},
		{"FCALL", "push", "2", "queue", "pushed", "job1"},
		{"FCALL", "push", "2", "queue", "pushed", "job2"},
	}
	for _, s := range steps {
		c.do(s...)
	}
	sha := c.do("SCRIPT", "LOAD", "return redis.call('incrby', KEYS[1], ARGV[1])").Str
	for i := 0; i < 5; i++ {
		c.do("EVALSHA", sha, "1", "ctr", strconv.Itoa(i))
	}
	// Nondeterministic and rewritten commands inside scripts: TIME and
	// SRANDMEMBER feed writes (effects replication sends the values),
	// BLPOP inside a script pops without blocking (propagated as LPOP),
	// ZADD INCR and HINCRBYFLOAT are sent as their results, a relative
	// EXPIRE as PEXPIREAT.
	more := [][]string{
		{"EVAL", "local t = redis.call('time') return redis.call('set', 'time-key', t[1] .. '.' .. t[2])", "0"},
		{"EVAL", "local m = redis.call('srandmember', 'set') if m then redis.call('set', 'picked', m) end return m", "0"},
		{"EVAL", "redis.call('rpush', 'bl', 'a', 'b') return redis.call('blpop', 'bl', 0)", "0"},
		{"EVAL", "redis.call('zadd', 'z', 'INCR', '0.5', 'm3') return redis.call('hincrbyfloat', 'h', 'f', '2.25')", "0"},
		{"EVAL", "redis.call('set', 'rel', 'v') return redis.call('expire', 'rel', 1000)", "0"},
		// A library replaced, then all of them dumped, flushed and
		// restored: each FUNCTION write reaches the replica.
		{"FUNCTION", "LOAD", "REPLACE", "#!lua name=jobs\nredis.register_function('push', function(keys, args) redis.call('lpush', keys[1], args[1]) return redis.call('incrby', keys[2], 2) end)"},
		{"FCALL", "push", "2", "queue", "pushed", "job3"},
	}
	for _, s := range more {
		c.do(s...)
	}
	dump := c.do("FUNCTION", "DUMP").Str
	c.do("FUNCTION", "FLUSH")
	c.do("FUNCTION", "LOAD", "#!lua name=gone\nredis.register_function('gone', function() return 1 end)")
	c.do("FUNCTION", "DELETE", "gone")
	if r := c.do("FUNCTION", "RESTORE", dump); r.Str != "OK" {
		c.t.Fatalf("FUNCTION RESTORE = %v", r)
	}
	c.do("FCALL", "push", "2", "queue", "pushed", "job4")
	// A key that expires before a script reads it is deleted by the
	// master, which sends the DEL.
	c.do("SET", "short", "v", "PX", "1")
	time.Sleep(5 * time.Millisecond)
	c.do("EVAL", "return redis.call('get', 'short')", "0")
}

// preLibrary is loaded before a replica attaches.
const preLibrary = "#!lua name=prelib\nredis.register_function{function_name='pre', callback=function() return 'pre' end, flags={'no-writes'}}"

// TestInteropScriptsOurMasterRealReplica: a real redis-server 7.0 replica
// of a replnode master running scripts ends with the master's digest.
func TestInteropScriptsOurMasterRealReplica(t *testing.T) {
	requireCommands(t, "eval", "debug")
	master := startNode(t)
	mc := dialNode(t, master.port)
	// A library loaded before the replica attaches travels in the RDB.
	mc.do("FUNCTION", "LOAD", preLibrary)
	rport := startRealRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(master.port))
	r := dialNode(t, rport)
	waitLinkUp(t, r)
	scriptWorkload(t, mc)
	waitFor(t, 30*time.Second, "offsets equal", func() bool {
		return master.info()["master_repl_offset"] == replInfo(r)["master_repl_offset"]
	})
	if dm, dr := mc.digest(), r.digest(); dm != dr {
		t.Fatalf("DEBUG DIGEST: ours %s, real replica %s", dm, dr)
	}
	if got := r.do("GET", "in0").Str; got != "y" {
		t.Fatalf("replica in0 = %q", got)
	}
	// Both libraries reached the replica, by RDB and by the stream.
	if got := r.do("FUNCTION", "LIST"); len(got.Elems) != 2 {
		t.Fatalf("replica FUNCTION LIST = %v", got)
	}
	if got := r.do("FCALL_RO", "pre", "0"); got.Str != "pre" {
		t.Fatalf("replica FCALL_RO pre = %v", got)
	}
}

// TestInteropScriptsRealMasterOurReplica: a replnode replica of a real
// master running scripts applies their effects (MULTI/EXEC blocks).
func TestInteropScriptsRealMasterOurReplica(t *testing.T) {
	requireCommands(t, "eval", "debug")
	mport := startRealRedis(t)
	m := dialNode(t, mport)
	m.do("FUNCTION", "LOAD", preLibrary)
	rep := startReplicaOf(t, mport)
	waitFor(t, 60*time.Second, "our replica up", func() bool { return rep.info()["master_link_status"] == "up" })
	scriptWorkload(t, m)
	waitFor(t, 30*time.Second, "offsets equal", func() bool {
		return replInfo(m)["master_repl_offset"] == rep.info()["master_repl_offset"]
	})
	rc := dialNode(t, rep.port)
	if dm, dr := m.digest(), rc.digest(); dm != dr {
		t.Fatalf("DEBUG DIGEST: real master %s, our replica %s", dm, dr)
	}
	if got := rc.do("FCALL_RO", "pre", "0"); got.Str != "pre" {
		t.Fatalf("our replica FCALL_RO pre (library from the RDB) = %v", got)
	}
	if got := rc.do("FUNCTION", "LIST"); len(got.Elems) != 2 {
		t.Fatalf("our replica FUNCTION LIST = %v", got)
	}
	// The function declares no flags, so it counts as a write: refused
	// by dispatch as on a redis-server replica (processCommand).
	if got := rc.do("FCALL_RO", "push", "2", "queue", "pushed", "x"); got.Str != ErrReadOnly {
		t.Fatalf("FCALL_RO of a writing function on our replica = %v", got)
	}
	// A script on our read-only replica may read, not write.
	if r := rc.do("EVAL", "return redis.call('get', 'in0')", "0"); r.Str != "y" {
		t.Fatalf("read script on replica = %v", r)
	}
	write := "return redis.call('set', 'x', 1)"
	if r := rc.do("EVAL", write, "0"); r.Str != "READONLY You can't write against a read only replica. script: "+scripting.SHA1Hex([]byte(write))+", on @user_script:1." {
		t.Fatalf("write script on replica = %v", r)
	}
	// A script declaring writes is refused by dispatch as any write
	// (checked against a redis-server 7.0 replica).
	if r := rc.do("EVAL", "#!lua\nreturn 1", "0"); r.Str != ErrReadOnly {
		t.Fatalf("shebang script on replica = %v", r)
	}
	noWrites := "#!lua flags=no-writes\nreturn redis.call('set','x',1)"
	if r := rc.do("EVAL", noWrites, "0"); r.Str != "ERR Write commands are not allowed from read-only scripts. script: "+scripting.SHA1Hex([]byte(noWrites))+", on @user_script:2." {
		t.Fatalf("no-writes script writing on replica = %v", r)
	}
}
