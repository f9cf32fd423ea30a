package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/redistest"
)

const testLibrary = "#!lua name=mylib\n" +
	"redis.register_function('myfunc', function(keys, args) return {keys[1], args[1]} end)\n" +
	"redis.register_function{function_name='ro', callback=function(keys, args) return redis.call('get', keys[1]) end, flags={'no-writes'}, description='reads'}"

// functionCorpus are FUNCTION and FCALL steps compared with redis-server
// 7.0 (libraries with one function where LIST's order matters: Redis
// lists a library's functions in hash order).
var functionCorpus = [][]string{
	{"FUNCTION", "FLUSH"},
	{"FUNCTION", "LOAD", testLibrary},
	{"FCALL", "myfunc", "1", "k", "a"},
	{"FCALL", "ro", "1", "k"},
	{"FCALL_RO", "myfunc", "1", "k", "a"},
	{"FCALL_RO", "ro", "1", "k"},
	{"FCALL", "nosuch", "0"},
	{"FCALL", "myfunc", "x"},
	{"FCALL", "myfunc", "5"},
	{"FCALL", "myfunc", "-1"},
	{"FUNCTION", "LIST", "LIBRARYNAME", "zz"},
	{"FUNCTION", "LOAD", "#!lua name=mylib\nredis.register_function('f2', function() return 1 end)"},
	{"FUNCTION", "LOAD", "return 1"},
	{"FUNCTION", "LOAD", "#!lua\nreturn 1"},
	{"FUNCTION", "LOAD", "#!lua name=bad-name\nreturn 1"},
	{"FUNCTION", "LOAD", "#!lua name=x foo=bar\nreturn 1"},
	{"FUNCTION", "LOAD", "#!lua name=x name=y\nreturn 1"},
	{"FUNCTION", "LOAD", "#!js name=x\nreturn 1"},
	{"FUNCTION", "LOAD", "#!lua name=x\nreturn 1"},
	{"FUNCTION", "LOAD", "#!lua name=x\nredis.call('get','x')"},
	{"FUNCTION", "LOAD", "#!lua name=x\nlocal s = string.format('a')"},
	{"FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('myfunc', function() return 1 end)"},
	{"FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('a', function() return 1 end) redis.register_function('a', function() return 1 end)"},
	{"FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('a b', function() return 1 end)"},
	{"FUNCTION", "LOAD", "#!lua name=x\nredis.register_function{function_name='a', callback=function() return 1 end, flags={'bogus'}}"},
	{"FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('a')"},
	{"FUNCTION", "LOAD", "#!lua name=x\nredis.register_function(1, 2)"},
	{"FUNCTION", "LOAD", "#!lua name=x\nreturn ("},
	{"FUNCTION", "LOAD", "BOGUS", "#!lua name=x\nreturn 1"},
	{"FUNCTION", "LOAD", "REPLACE", "#!lua name=mylib\n" +
		"redis.register_function('myfunc', function(keys, args) return redis.call('set', keys[1], args[1]) end)\n"},
	{"FUNCTION", "LIST"},
	{"FUNCTION", "LIST", "WITHCODE"},
	{"FUNCTION", "LIST", "LIBRARYNAME", "my*"},
	{"FUNCTION", "LIST", "LIBRARYNAME"},
	{"FUNCTION", "LIST", "BOGUS"},
	{"FCALL", "myfunc", "1", "k", "v"},
	{"FCALL_RO", "myfunc", "1", "k", "v"},
	{"FUNCTION", "LOAD", "#!lua name=lib2\nredis.register_function('boom', function(keys, args) return error('bad') end)"},
	{"FCALL", "boom", "0"},
	{"FUNCTION", "LOAD", "#!lua name=lib3\nredis.register_function('readkeys', function(keys, args) return KEYS end)"},
	{"FCALL", "readkeys", "0"},
	// Function names are case-insensitive (library names are not).
	{"FUNCTION", "LOAD", "#!lua name=caselib\nredis.register_function('CaseFn', function() return 'hello' end)"},
	{"FCALL", "casefn", "0"},
	{"FCALL_RO", "CASEFN", "0"},
	{"FUNCTION", "LOAD", "#!lua name=caselib2\nredis.register_function('casefn', function() return 1 end)"},
	{"FUNCTION", "LOAD", "#!lua name=CASELIB\nredis.register_function('other', function() return 1 end)"},
	{"FUNCTION", "DELETE", "CASELIB"},
	{"FUNCTION", "DELETE", "caselib"},
	{"FCALL", "CaseFn", "0"},
	{"FUNCTION", "RESTORE", "a", "b", "c"},
	{"FUNCTION", "RESTORE", "a", "bogus"},
	{"FUNCTION", "LOAD", "#!lua name=lib4\nredis.register_function{function_name='w', callback=function(keys) return redis.call('set', keys[1], 'x') end, flags={'no-writes'}}"},
	{"FCALL", "w", "1", "k"},
	{"FUNCTION", "STATS"},
	{"FUNCTION", "DELETE", "mylib"},
	{"FUNCTION", "DELETE", "mylib"},
	{"FCALL", "myfunc", "0"},
	{"FUNCTION", "KILL"},
	{"FUNCTION", "FLUSH", "BOGUS"},
	{"FUNCTION", "FLUSH", "SYNC", "extra"},
	// A library whose code never returns times out (500 ms) instead of
	// hanging the server.
	{"FUNCTION", "LOAD", "#!lua name=spinlib\nlocal a = 1\nwhile 1 do a = a + 1 end"},
	{"FUNCTION", "LIST", "LIBRARYNAME", "spinlib"},
	{"FUNCTION", "FLUSH", "ASYNC"},
	{"FUNCTION", "STATS"},
}

// TestDifferentialFunctions runs the corpus against redis-server 7.0 and
// replnode.
func TestDifferentialFunctions(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	d := redistest.NewDiff(t, real, ours)
	for _, step := range functionCorpus {
		d.Do(step...)
	}
}

// TestDifferentialFunctionsReload: libraries are saved in the RDB and
// loaded back from it (DEBUG RELOAD), as redis-server 7.0 does.
func TestDifferentialFunctionsReload(t *testing.T) {
	real := redistest.StartRedis(t, "enable-debug-command yes")
	ours := redistest.StartInProcess(t, "enable-debug-command yes")
	d := redistest.NewDiff(t, real, ours)
	d.Do("FUNCTION", "LOAD", "#!lua name=saved\nredis.register_function('saved', function(keys) return redis.call('incr', keys[1]) end)")
	d.Do("FCALL", "saved", "1", "n")
	d.Do("SAVE")
	d.Do("FUNCTION", "DELETE", "saved")
	d.Do("FCALL", "saved", "1", "n")
	d.Do("DEBUG", "RELOAD", "NOSAVE")
	d.Do("FUNCTION", "LIST")
	d.Do("FCALL", "saved", "1", "n")
	d.Do("DEBUG", "RELOAD")
	d.Do("FUNCTION", "LIST", "WITHCODE")
	d.Do("FCALL", "saved", "1", "n")
}

// TestDifferentialFunctionDumpRestore: FUNCTION DUMP payloads are
// byte-equal to redis-server 7.0's and each side restores the other's.
func TestDifferentialFunctionDumpRestore(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	d := redistest.NewDiff(t, real, ours)
	lib1 := "#!lua name=lib1\nredis.register_function('f1', function() return 1 end)"
	lib2 := "#!lua name=lib2\nredis.register_function('f2', function() return 2 end)"
	d.Do("FUNCTION", "DUMP")
	d.Do("FUNCTION", "LOAD", lib1)
	payload := d.Do("FUNCTION", "DUMP").Str
	d.Do("FUNCTION", "RESTORE", payload)
	d.Do("FUNCTION", "RESTORE", payload, "REPLACE")
	d.Do("FUNCTION", "RESTORE", payload, "BOGUS")
	d.Do("FUNCTION", "RESTORE", "garbage")
	d.Do("FUNCTION", "RESTORE", payload[:len(payload)-1]+"x")
	d.Do("FUNCTION", "FLUSH")
	d.Do("FUNCTION", "LOAD", lib2)
	d.Do("FUNCTION", "RESTORE", payload)
	d.DoSorted("FCALL", "f1", "0")
	d.Do("FUNCTION", "LOAD", "REPLACE", "#!lua name=lib3\nredis.register_function('f1x', function() return 3 end)")
	d.Do("FUNCTION", "RESTORE", payload, "FLUSH")
	d.Do("FUNCTION", "LIST")
	d.Do("FCALL", "f2", "0")
	d.Do("FCALL", "f1", "0")
	// The value DUMP of a key is not a functions payload.
	d.Do("SET", "k", "v")
	d.Do("FUNCTION", "RESTORE", d.Do("DUMP", "k").Str)
	// Each side restores the other's payload.
	theirs, mine := d.Real.MustDo(t, "FUNCTION", "DUMP"), d.Ours.MustDo(t, "FUNCTION", "DUMP")
	if r := d.Ours.MustDo(t, "FUNCTION", "RESTORE", theirs.Str, "REPLACE"); r.Str != "OK" {
		t.Fatalf("replnode restoring redis's payload: %v", r)
	}
	if r := d.Real.MustDo(t, "FUNCTION", "RESTORE", mine.Str, "REPLACE"); r.Str != "OK" {
		t.Fatalf("redis restoring replnode's payload: %v", r)
	}
}

// TestDifferentialScriptingInfo: INFO memory counts cached scripts,
// functions and libraries as redis-server 7.0 does.
func TestDifferentialScriptingInfo(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	d := redistest.NewDiff(t, real, ours)
	fields := []string{"number_of_cached_scripts", "number_of_functions", "number_of_libraries"}
	check := func(when string) {
		t.Helper()
		a, b := d.Real.MustDo(t, "INFO", "memory").Str, d.Ours.MustDo(t, "INFO", "memory").Str
		for _, f := range fields {
			if va, vb := infoText(a, f), infoText(b, f); va != vb || va == "" {
				t.Errorf("%s: %s redis %q, replnode %q", when, f, va, vb)
			}
		}
	}
	check("empty")
	d.Do("SCRIPT", "LOAD", "return 1")
	d.Do("EVAL", "return 2", "0")
	d.Do("EVAL", "return 2", "0")
	d.Do("FUNCTION", "LOAD", "#!lua name=a\nredis.register_function('a1', function() return 1 end) redis.register_function('a2', function() return 1 end)")
	d.Do("FUNCTION", "LOAD", "#!lua name=b\nredis.register_function('b1', function() return 1 end)")
	check("loaded")
	d.Do("SCRIPT", "FLUSH")
	d.Do("FUNCTION", "DELETE", "a")
	check("flushed")
}

func infoText(info, name string) string {
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return v
		}
	}
	return ""
}

// TestDifferentialScriptErrorStats: errors inside and out of scripts are
// counted once, as redis-server 7.0 counts them (INFO errorstats and the
// failed/rejected calls of INFO commandstats).
func TestDifferentialScriptErrorStats(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	d := redistest.NewDiff(t, real, ours)
	d.Do("CONFIG", "RESETSTAT")
	d.Do("SET", "s", "x")
	d.Do("EVAL", "return redis.call('incr', 's')", "0")
	d.Do("EVAL", "return redis.pcall('incr', 's')", "0")
	d.Do("EVAL", "redis.pcall('incr', 's') return 1", "0")
	d.Do("EVAL", "return redis.call('nosuch')", "0")
	d.Do("EVAL", "error('x')", "0")
	d.Do("EVAL", "return redis.error_reply('MY err')", "0")
	d.Do("EVAL", "return {err='OTHER e'}", "0")
	d.Do("EVAL", "#!lua flags=no-writes\nreturn redis.call('set', 'a', 1)", "0")
	d.Do("EVALSHA", "0000000000000000000000000000000000000000", "0")
	a, b := d.Real.MustDo(t, "INFO", "errorstats").Str, d.Ours.MustDo(t, "INFO", "errorstats").Str
	if a != b {
		t.Errorf("INFO errorstats:\n redis:    %q\n replnode: %q", a, b)
	}
	for _, field := range []string{"total_error_replies"} {
		ra, rb := infoText(d.Real.MustDo(t, "INFO", "stats").Str, field), infoText(d.Ours.MustDo(t, "INFO", "stats").Str, field)
		if ra != rb {
			t.Errorf("%s: redis %s, replnode %s", field, ra, rb)
		}
	}
	for _, cmd := range []string{"incr", "eval", "evalsha", "set"} {
		ra, rb := infoText(d.Real.MustDo(t, "INFO", "commandstats").Str, "cmdstat_"+cmd), infoText(d.Ours.MustDo(t, "INFO", "commandstats").Str, "cmdstat_"+cmd)
		strip := func(s string) string {
			var kept []string
			for _, kv := range strings.Split(s, ",") {
				if !strings.HasPrefix(kv, "usec") {
					kept = append(kept, kv)
				}
			}
			return strings.Join(kept, ",")
		}
		if strip(ra) != strip(rb) {
			t.Errorf("cmdstat_%s: redis %s, replnode %s", cmd, ra, rb)
		}
	}
}

// TestDifferentialScriptOOM: over maxmemory, a script without flags has
// its deny-oom commands refused (until it wrote), a script declaring
// writes is refused by dispatch, allow-oom and no-writes scripts run, as
// on redis-server 7.0.
func TestDifferentialScriptOOM(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	d := redistest.NewDiff(t, real, ours)
	d.Do("SET", "a", "1")
	d.Do("CONFIG", "SET", "maxmemory", "1")
	for _, step := range [][]string{
		{"EVAL", "return redis.call('set', 'a', 'b')", "0"},
		{"EVAL", "return redis.pcall('set', 'a', 'b')", "0"},
		{"EVAL", "return redis.call('get', 'a')", "0"},
		{"EVAL", "return redis.call('del', 'nokey')", "0"},
		{"EVAL", "#!lua\nreturn redis.call('set', 'a', 'b')", "0"},
		{"EVAL", "#!lua flags=allow-oom\nreturn redis.call('set', 'a', 'c')", "0"},
		{"EVAL", "#!lua flags=no-writes\nreturn redis.call('get', 'a')", "0"},
		{"EVAL_RO", "return redis.call('get', 'a')", "0"},
		{"FUNCTION", "LOAD", "#!lua name=oom\nredis.register_function('w', function() return redis.call('set', 'a', 'd') end)"},
	} {
		d.Do(step...)
	}
	d.Do("CONFIG", "SET", "maxmemory", "0")
	d.Do("GET", "a")
}

// TestScriptsUnderPauseWrite: CLIENT PAUSE WRITE holds EVAL, EVALSHA and
// FCALL (they may replicate) but not their _ro forms nor a no-writes
// script run by FCALL_RO, on redis-server 7.0 and replnode alike.
func TestScriptsUnderPauseWrite(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	for _, srv := range []struct {
		name string
		in   *redistest.Instance
	}{{"redis", real}, {"replnode", ours}} {
		t.Run(srv.name, func(t *testing.T) {
			admin, c := srv.in.Dial(t), srv.in.Dial(t)
			admin.MustDo(t, "FUNCTION", "LOAD", "#!lua name=p\nredis.register_function{function_name='r', callback=function() return 'r' end, flags={'no-writes'}}")
			admin.MustDo(t, "CLIENT", "PAUSE", "10000", "WRITE")
			if r := c.MustDo(t, "EVAL_RO", "return 'ro'", "0"); r.Str != "ro" {
				t.Fatalf("EVAL_RO under PAUSE WRITE = %v", r)
			}
			if r := c.MustDo(t, "FCALL_RO", "r", "0"); r.Str != "r" {
				t.Fatalf("FCALL_RO under PAUSE WRITE = %v", r)
			}
			if err := c.Send("EVAL", "return redis.call('incr', 'paused')", "0"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
			if r := admin.MustDo(t, "GET", "paused"); !r.Null {
				t.Fatalf("EVAL ran under PAUSE WRITE: paused = %v", r)
			}
			admin.MustDo(t, "CLIENT", "UNPAUSE")
			r, err := c.Receive()
			if err != nil || r.Int != 1 {
				t.Fatalf("EVAL after UNPAUSE = %v %v", r, err)
			}
		})
	}
}

// TestDifferentialScriptTracking: a script that reads makes its caller's
// client side cache remember the keys the script declared (not the keys it
// read), EVAL_RO included; a script that reads nothing remembers nothing,
// as redis-server 7.0.
func TestDifferentialScriptTracking(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	d := redistest.NewDiff(t, real, ours)
	w := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	d.DoType("HELLO", "3")
	d.Do("CLIENT", "TRACKING", "ON")
	d.Do("EVAL", "return redis.call('get', KEYS[1])", "1", "k")
	d.Do("EVAL_RO", "return redis.call('get', 'inner')", "1", "k2")
	d.Do("EVAL", "return 1", "1", "k3")
	d.Do("EVAL", "return redis.call('get', 'inner2')", "0")
	w.Do("SET", "inner", "1")
	w.Do("SET", "inner2", "1")
	w.Do("SET", "k3", "1")
	w.Do("SET", "k", "1")
	d.Receive() // invalidate k
	w.Do("SET", "k2", "1")
	d.Receive() // invalidate k2
	d.Do("PING")
}
