package server_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/replnode/replnode/replnode/redistest"
)

// Differential regression tests for the "smaller differences" with Redis
// 7.0: each step is sent to a real redis-server and to replnode.

// TestDifferentialStringEncodingAfterEdits: strings edited in place are raw
// (dbUnshareStringValue), INCRBYFLOAT's result is never int.
func TestDifferentialStringEncodingAfterEdits(t *testing.T) {
	real := redistest.StartRedis(t, "enable-debug-command yes")
	ours := redistest.StartInProcess(t, "enable-debug-command yes")
	d := redistest.NewDiff(t, real, ours)
	for _, s := range [][]string{
		{"SET", "s", "x"}, {"APPEND", "s", "y"}, {"OBJECT", "ENCODING", "s"},
		{"SET", "n", "12"}, {"APPEND", "n", "3"}, {"OBJECT", "ENCODING", "n"},
		{"APPEND", "new", "12"}, {"OBJECT", "ENCODING", "new"},
		{"SET", "r", "12"}, {"SETRANGE", "r", "0", "3"}, {"OBJECT", "ENCODING", "r"},
		{"SET", "r2", "12"}, {"SETRANGE", "r2", "0", ""}, {"OBJECT", "ENCODING", "r2"},
		{"SETRANGE", "r3", "1", "1"}, {"OBJECT", "ENCODING", "r3"},
		{"SET", "b", "12"}, {"SETBIT", "b", "0", "0"}, {"OBJECT", "ENCODING", "b"},
		{"SETBIT", "b2", "3", "1"}, {"OBJECT", "ENCODING", "b2"},
		{"SET", "one", "1"}, {"BITOP", "AND", "dst", "one", "one"}, {"OBJECT", "ENCODING", "dst"},
		{"INCRBYFLOAT", "f", "1"}, {"OBJECT", "ENCODING", "f"},
		{"SET", "f2", "5"}, {"INCRBYFLOAT", "f2", "2"}, {"OBJECT", "ENCODING", "f2"},
		{"INCR", "f2"}, {"OBJECT", "ENCODING", "f2"},
		{"COPY", "s", "s2"}, {"OBJECT", "ENCODING", "s2"},
		{"SET", "s", "x"}, {"OBJECT", "ENCODING", "s"},
		{"APPEND", "n", "4"}, {"DEBUG", "RELOAD"}, {"OBJECT", "ENCODING", "n"},
	} {
		d.Do(s...)
	}
}

// TestDifferentialSetbitNoChangeIsNoWrite: a SETBIT that leaves the value as
// it was neither counts a change nor touches WATCH nor fires an event.
func TestDifferentialSetbitNoChangeIsNoWrite(t *testing.T) {
	real := redistest.StartRedis(t, "notify-keyspace-events KEA")
	ours := redistest.StartInProcess(t, "notify-keyspace-events KEA")
	sub := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	d := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	sub.Do("SUBSCRIBE", "__keyevent@0__:setbit", "__keyevent@0__:set")
	sub.Receive()
	d.Do("SET", "k", "\x80")
	sub.Receive() // set
	changes := func() (string, string) {
		return infoField(t, d.Real, "persistence", "rdb_changes_since_last_save"),
			infoField(t, d.Ours, "persistence", "rdb_changes_since_last_save")
	}
	before1, before2 := changes()
	d.Do("WATCH", "k")
	d.Do("SETBIT", "k", "0", "1")
	d.Do("SETBIT", "k", "7", "0")
	d.Do("MULTI")
	d.Do("GET", "k")
	d.Do("EXEC")
	after1, after2 := changes()
	if (before1 == after1) != (before2 == after2) {
		t.Errorf("rdb_changes_since_last_save: redis %s -> %s, replnode %s -> %s", before1, after1, before2, after2)
	}
	// The next event must be this SET's, not one of the SETBITs'.
	d.Do("SET", "marker", "1")
	sub.Receive()
	// A flip and a growth are changes.
	d.Do("WATCH", "k")
	d.Do("SETBIT", "k", "9", "0")
	d.Do("MULTI")
	d.Do("GET", "k")
	d.Do("EXEC")
	sub.Receive() // setbit
	d.Do("SETBIT", "k", "0", "0")
	sub.Receive()
	d.Do("GET", "k")
}

// TestDifferentialMoveKeyCounts: MOVE leaves both databases' key and expiry
// counts as Redis does, also over an expired key in the target.
func TestDifferentialMoveKeyCounts(t *testing.T) {
	real := redistest.StartRedis(t, "enable-debug-command yes")
	ours := redistest.StartInProcess(t, "enable-debug-command yes")
	d := redistest.NewDiff(t, real, ours)
	avgTTL := regexp.MustCompile(`,avg_ttl=\d+`)
	keyspace := func() {
		t.Helper()
		r1 := avgTTL.ReplaceAllString(d.Real.MustDo(t, "INFO", "keyspace").Str, "")
		r2 := avgTTL.ReplaceAllString(d.Ours.MustDo(t, "INFO", "keyspace").Str, "")
		if strings.TrimSpace(r1) != strings.TrimSpace(r2) {
			t.Errorf("INFO keyspace:\n redis:    %q\n replnode: %q", r1, r2)
		}
	}
	d.Do("DEBUG", "SET-ACTIVE-EXPIRE", "0")
	for _, s := range [][]string{
		{"SET", "a", "1"}, {"SET", "b", "2", "EX", "100"}, {"MOVE", "a", "1"}, {"MOVE", "b", "1"},
		{"SELECT", "1"}, {"SET", "c", "old", "PX", "1"}, {"SELECT", "0"}, {"SET", "c", "new"},
		{"DEBUG", "SLEEP", "0.01"}, {"MOVE", "c", "1"},
		{"SET", "a", "x"}, {"MOVE", "a", "1"},
	} {
		d.Do(s...)
		d.Do("DBSIZE")
		keyspace()
	}
	d.Do("SELECT", "1")
	d.Do("DBSIZE")
	d.DoSorted("KEYS", "*")
	d.Do("MOVE", "b", "0")
	d.Do("DBSIZE")
	keyspace()
}

// TestDifferentialSmoveNotifiesOnlyAdds: SMOVE of a member the destination
// already holds fires srem on the source but no sadd on the destination.
func TestDifferentialSmoveNotifiesOnlyAdds(t *testing.T) {
	real := redistest.StartRedis(t, "notify-keyspace-events KEA")
	ours := redistest.StartInProcess(t, "notify-keyspace-events KEA")
	sub := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	d := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	sub.Do("PSUBSCRIBE", "__keyevent@0__:*")
	d.Do("SADD", "src", "a", "b")
	sub.Receive()
	d.Do("SADD", "dst", "a")
	sub.Receive()
	d.Do("SMOVE", "src", "dst", "a")
	sub.Receive() // srem src
	d.Do("SET", "marker", "1")
	sub.Receive() // set marker, not sadd dst
	d.Do("SMOVE", "src", "dst", "b")
	sub.Receive() // srem + del src
	sub.Receive()
	sub.Receive() // sadd dst
}

// TestDifferentialConfigNumericRanges: every numeric CONFIG parameter takes
// and refuses the same values as Redis's config.c table (string2ll or
// memtoull parsing, signed or unsigned bounds, percentages).
func TestDifferentialConfigNumericRanges(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	d := redistest.NewDiff(t, real, ours)
	all := d.Real.MustDo(t, "CONFIG", "GET", "*")
	skip := map[string]bool{
		"port": true, "tls-port": true, // would move the listener
		"maxclients": true, // Redis also checks the process's file limit
		// Known differences, not fixed yet:
		// unsigned 64-bit configs: replnode's values are int64, so it
		// refuses what lies past 2^63-1.
		"maxmemory": true, "cluster-link-sendbuf-limit": true,
	}
	values := []string{"-1", "0", "1", "-0", "+1", "01", "", "1k", "1kb", "1gb", "abc", "1.5", " 1", "1 ",
		"-6", "-5", "599", "65", "1024", "1048575", "1048576", "-100%", "50%", "-101%", "101%", "%",
		"-2147483649", "-2147483648", "2147483647", "2147483648", "4294967295", "4294967296",
		"9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616",
		"99999999999999999999gb"}
	for i := 0; i+1 < len(all.Elems); i += 2 {
		name, orig := all.Elems[i].Str, all.Elems[i+1].Str
		if skip[name] || orig == "" || strings.Trim(orig, "-0123456789") != "" {
			continue
		}
		for _, v := range values {
			r1 := d.Real.MustDo(t, "CONFIG", "SET", name, v)
			r2 := d.Ours.MustDo(t, "CONFIG", "SET", name, v)
			g1 := d.Real.MustDo(t, "CONFIG", "GET", name)
			g2 := d.Ours.MustDo(t, "CONFIG", "GET", name)
			if r1.String() != r2.String() || g1.String() != g2.String() {
				t.Errorf("CONFIG SET %s %q: redis %s %s, replnode %s %s", name, v, r1.String(), g1.Elems[1].Str, r2.String(), g2.Elems[1].Str)
			}
			d.Real.MustDo(t, "CONFIG", "SET", name, orig)
			d.Ours.MustDo(t, "CONFIG", "SET", name, orig)
		}
	}
}

// TestDifferentialNumberParsing: scores, weights and ranges parse as
// Redis's strtod callers (hex floats, "(" and "" as 0 in ranges, ERANGE),
// sorted sets in listpack encoding print -0 as 0, SORT converts with strtod.
func TestDifferentialNumberParsing(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	d := redistest.NewDiff(t, real, ours)
	for _, s := range [][]string{
		{"ZADD", "z", "1", "a", "2", "b", "-0", "c"},
		{"ZRANGEBYSCORE", "z", "(", "2"}, {"ZRANGEBYSCORE", "z", "", "2"}, {"ZRANGEBYSCORE", "z", " 1", "2"},
		{"ZRANGEBYSCORE", "z", "1 ", "2"}, {"ZRANGEBYSCORE", "z", "0x10", "2"}, {"ZCOUNT", "z", "(0x1p0", "+inf"},
		{"ZRANGEBYSCORE", "z", "-infinity", "+INF"}, {"ZRANGEBYSCORE", "z", "nan", "1"},
		{"ZRANGEBYSCORE", "z", "1e400", "1e-400"}, {"ZRANGEBYSCORE", "z", "1\x00x", "2"},
		{"ZSCORE", "z", "c"}, {"ZADD", "z", "0x10", "d"}, {"ZADD", "z", "0x1p-2", "d2"}, {"ZADD", "z", "0x", "d3"},
		{"ZADD", "z", "1e-400", "d3"}, {"ZADD", "z", "1e-310", "d4"}, {"ZADD", "z", " 1", "d5"}, {"ZADD", "z", "1 ", "d5"},
		{"ZADD", "z", ".5", "d6"}, {"ZADD", "z", "5.", "d7"}, {"ZADD", "z", "1e", "d8"}, {"ZADD", "z", "-0", "e"},
		{"ZSCORE", "z", "e"}, {"ZRANGE", "z", "0", "-1", "WITHSCORES"}, {"ZINCRBY", "z", "-0", "a"},
		{"ZADD", "z", "INCR", "-0", "c"}, {"ZSCORE", "z", "c"},
		{"CONFIG", "SET", "zset-max-listpack-entries", "0"}, {"ZADD", "big", "-0", "a"}, {"ZSCORE", "big", "a"},
		{"CONFIG", "SET", "zset-max-listpack-entries", "128"},
		{"INCRBYFLOAT", "f", "0x10"}, {"INCRBYFLOAT", "f", "1e-5000"}, {"HINCRBYFLOAT", "h", "f", "0x10"},
		{"MSET", "by_1", "0x10", "by_2", " 3", "by_3", ""}, {"RPUSH", "l", "1", "2", "3"}, {"SORT", "l", "BY", "by_*"},
		{"SET", "by_3", "1e-310"}, {"SORT", "l", "BY", "by_*"},
		{"ZADD", "z1", "1", "a", "2", "b"}, {"ZADD", "zi", "inf", "a", "-inf", "b"},
		{"ZINTER", "2", "zi", "z1", "WEIGHTS", "200", "-inf", "WITHSCORES"},
		{"ZUNION", "2", "z1", "zi", "WEIGHTS", "200", "-inf", "AGGREGATE", "MIN", "WITHSCORES"},
		{"ZUNION", "2", "z1", "zi", "WEIGHTS", "0x1p1", "1", "WITHSCORES"},
		// the reply keeps -0 (skiplist result), the stored listpack has 0
		{"ZUNION", "2", "z1", "zi", "WEIGHTS", "-0", "0", "WITHSCORES"},
		{"ZUNIONSTORE", "zs", "2", "z1", "zi", "WEIGHTS", "-0", "0"}, {"ZRANGE", "zs", "0", "-1", "WITHSCORES"},
		{"CONFIG", "SET", "maxmemory-samples", "-0"}, {"CONFIG", "SET", "maxmemory-samples", "+5"},
		{"CONFIG", "SET", "maxmemory-samples", "599"}, {"CONFIG", "SET", "list-max-listpack-size", "-6"},
		{"CONFIG", "SET", "maxmemory", ""}, {"CONFIG", "GET", "maxmemory"},
		// last: an ERANGE here stays in Redis's errno and would fail a
		// later SORT (see the fuzzer's sortStaleErrno)
		{"INCRBYFLOAT", "f", "1e5000"}, {"INCRBYFLOAT", "f", "1e400"}, {"SET", "big", "1e5000"}, {"INCRBYFLOAT", "big", "1"},
		{"HINCRBYFLOAT", "h", "f", "1e5000"},
	} {
		d.Do(s...)
	}
}

// TestDifferentialArgumentOrder: which error (or nil) wins when several
// apply, and the argument shapes Redis accepts or refuses.
func TestDifferentialArgumentOrder(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	d := redistest.NewDiff(t, real, ours)
	for _, s := range [][]string{
		{"SET", "k", "v"}, {"ZADD", "z1", "1", "a"}, {"HSET", "h", "f", "v"},
		{"LINDEX", "nokey", "x"}, {"LINDEX", "k", "x"},
		{"GETEX", "nokey", "EX", "-3"}, {"GETEX", "k", "EX", "-3"}, {"GETEX", "k", "EX", "10", "foo"}, {"GETEX", "z1", "EX", "-3"},
		{"ZUNION", "2", "k", "z1", "foo"}, {"ZINTER", "2", "k", "z1", "WITHSCORES", "foo"},
		{"ZUNIONSTORE", "d", "2", "z1", "k", "foo"}, {"ZDIFF", "2", "z1", "k", "WEIGHTS", "1"},
		{"SCAN", "0", "TYPE", ""}, {"SCAN", "-18446744073709551616"}, {"SCAN", "18446744073709551616"},
		{"SCAN", " 1"}, {"SCAN", "1 "}, {"SCAN", "-"}, {"SCAN", "0", "foo"}, {"SCAN", "x", "foo"},
		{"HSCAN", "h", "-1"}, {"HSCAN", "h", ""}, {"HSCAN", "k", "0", "foo"}, {"SSCAN", "nokey", "x"}, {"ZSCAN", "nokey", "-1"},
		{"PUBSUB", "CHANNELS", "a", "b"}, {"PUBSUB", "CHANNELS", "a"}, {"PUBSUB", "SHARDCHANNELS", "a", "b"},
		{"CLIENT", "LIST", "TYPE", "master", "ID", "1"}, {"CLIENT", "LIST", "TYPE", "master"}, {"CLIENT", "LIST", "ID", "0"},
		{"CLIENT", "LIST", "ID", "-1", "x"}, {"CLIENT", "LIST", "ID"}, {"CLIENT", "LIST", "foo"},
		{"MEMORY", "USAGE", "k", "SAMPLES", "2", "SAMPLES", "5"}, {"MEMORY", "USAGE", "k", "SAMPLES", "2", "SAMPLES"},
		{"MEMORY", "USAGE", "k", "SAMPLES", "-1"}, {"MEMORY", "USAGE", "nokey", "foo"},
	} {
		d.Do(s...)
	}
	// Key order is the hash table's: compare the sets of keys.
	for _, cursor := range []string{"", "-3", "+0", "-18446744073709551615"} {
		r1 := d.Real.MustDo(t, "SCAN", cursor, "COUNT", "1000")
		r2 := d.Ours.MustDo(t, "SCAN", cursor, "COUNT", "1000")
		if r1.Type != r2.Type || len(r1.Elems) != len(r2.Elems) {
			t.Errorf("SCAN %q: redis %s, replnode %s", cursor, r1.String(), r2.String())
		}
	}
}

// TestDifferentialFuzzFindings replays what test/compat's differential
// fuzzer found, one regression step each.
func TestDifferentialFuzzFindings(t *testing.T) {
	real := redistest.StartRedis(t, "enable-debug-command yes")
	ours := redistest.StartInProcess(t, "enable-debug-command yes")
	d := redistest.NewDiff(t, real, ours)
	for _, s := range [][]string{
		{"DEBUG", "SET-ACTIVE-EXPIRE", "0"},
		{"RPUSH", "l", "a", "b"}, {"SET", "s", "v"}, {"ZADD", "z", "1", "a"},
		// getPositiveLongFromObjectOrReply's message also for non-numbers
		{"LPOS", "l", "a", "MAXLEN", "-0"}, {"LPOS", "l", "a", "COUNT", "x"},
		// WRONGTYPE before options, as zunionInterDiffGenericCommand
		{"ZINTERCARD", "2", "z", "s", "foo"}, {"ZINTERCARD", "1", "s", "LIMIT", "x"},
		// C's %s stops at NUL
		{"EXPIRE", "s", "100", "\x00\xff\r\n"},
		// the key's type and value before the increment
		{"INCRBYFLOAT", "l", "abc"}, {"INCRBYFLOAT", "s", "abc"},
		// SORT converts a listpack sorted set to a skiplist
		{"SORT", "z"}, {"OBJECT", "ENCODING", "z"},
		// INCRBYFLOAT and COPY results are private objects
		{"SET", "n", "5"}, {"OBJECT", "REFCOUNT", "n"}, {"COPY", "n", "n2"}, {"OBJECT", "REFCOUNT", "n2"},
		{"INCRBYFLOAT", "n", "0x10"}, {"OBJECT", "REFCOUNT", "n"},
		// LIMIT with count -1 is no limit, accepted by rank
		{"ZRANGE", "z", "0", "1", "LIMIT", "5", "-1"}, {"ZRANGE", "s", "0", "1", "REV", "LIMIT", "-9223372036854775808", "-1"},
		{"ZRANGESTORE", "d", "z", "(b", "3", "LIMIT", "-10", "-1"}, {"ZRANGE", "z", "[a", "[b", "BYLEX", "WITHSCORES", "LIMIT", "0", "1"},
		// an empty negative range is 0 before the unit is checked
		{"BITCOUNT", "s", "-1", "-10", "nope"}, {"BITCOUNT", "s", "-10", "-1", "nope"},
		// BITPOS has no such rule: the range is clamped
		{"SET", "one", "1"}, {"BITPOS", "one", "0", "-1", "-10"}, {"BITPOS", "one", "0", "-1", "-10", "BIT"},
		{"BITPOS", "one", "0", "-10", "-9223372036854775808", "BYTE"}, {"BITCOUNT", "one", "-1", "-10"},
		// SMOVE expires both keys before checking types
		{"SET", "gone", "x", "PX", "1"}, {"DEBUG", "SLEEP", "0.01"}, {"SMOVE", "s", "gone", "m"}, {"DBSIZE"},
	} {
		d.Do(s...)
	}
}

// TestDifferentialClientInfoFields compares every CLIENT INFO / CLIENT LIST
// field but the ones that identify the connection or measure memory.
func TestDifferentialClientInfoFields(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	d := redistest.NewDiff(t, real, ours)
	// Not compared: the connection's identity and clock (id, addr, laddr,
	// fd, age, idle), and buffer memory, which follows Redis's allocator
	// and buffer sizing (qbuf, qbuf-free, rbs, rbp, tot-mem) — known
	// differences.
	skip := map[string]bool{"id": true, "addr": true, "laddr": true, "fd": true, "age": true, "idle": true,
		"qbuf": true, "qbuf-free": true, "rbs": true, "rbp": true, "tot-mem": true}
	fields := func(line string) string {
		var keep []string
		for _, f := range strings.Fields(line) {
			if k, _, _ := strings.Cut(f, "="); !skip[k] {
				keep = append(keep, f)
			}
		}
		return strings.Join(keep, " ")
	}
	check := func(args ...string) {
		t.Helper()
		r1, r2 := d.Real.MustDo(t, args...), d.Ours.MustDo(t, args...)
		if fields(r1.Str) != fields(r2.Str) {
			t.Errorf("%q:\n redis:    %s\n replnode: %s", args, fields(r1.Str), fields(r2.Str))
		}
	}
	check("CLIENT", "INFO")
	check("CLIENT", "LIST")
	d.Do("CLIENT", "SETNAME", "probe")
	d.Do("SELECT", "3")
	check("CLIENT", "INFO")
	check("CLIENT", "LIST", "ID", "0")
	d.Do("MULTI")
	d.Do("SET", "k", "v")
	d.Do("EXEC")
	check("CLIENT", "INFO")
	d.Do("CONFIG", "NOPE")
	d.Do("NOSUCHCOMMAND")
	check("CLIENT", "INFO")
}

// TestDifferentialRedactedPasswords: the slow log and MONITOR show AUTH,
// HELLO AUTH and CONFIG SET of sensitive parameters with "(redacted)"
// where Redis 7.0 redacts, and as sent where it does not (refused before
// parsing the password).
func TestDifferentialRedactedPasswords(t *testing.T) {
	real := redistest.StartRedis(t, "slowlog-log-slower-than 0")
	ours := redistest.StartInProcess(t, "slowlog-log-slower-than 0")
	mon := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	d := redistest.NewDiff(t, real, ours)
	mon.Do("MONITOR")
	steps := [][]string{
		{"AUTH", "secret"},
		{"AUTH", "user", "secret"},
		{"AUTH", "a", "b", "c"},
		{"HELLO", "2", "AUTH", "default", "secret"},
		{"HELLO", "2", "AUTH", "default"},
		{"HELLO", "9", "AUTH", "default", "secret"},
		{"CONFIG", "SET", "masterauth", "secret", "maxmemory-policy", "nope"},
		{"CONFIG", "SET", "nosuch", "1", "masteruser", "secret"},
		{"SET", "k", "secret"},
	}
	for _, s := range steps {
		if s[0] == "HELLO" {
			d.DoType(s...) // the reply has the connection id
		} else {
			d.Do(s...)
		}
	}
	d.Do("GET", "marker")
	// MONITOR lines: "<time> [<db> <addr>] <args>"; compare the args up
	// to the marker (CONFIG, an admin command, is not shown).
	monArgs := func(c *redistest.Client) []string {
		var out []string
		for {
			r, err := c.Receive()
			if err != nil {
				t.Fatal(err)
			}
			_, args, _ := strings.Cut(r.Str, "] ")
			out = append(out, args)
			if strings.Contains(args, `"marker"`) {
				return out
			}
		}
	}
	m1, m2 := monArgs(mon.Real), monArgs(mon.Ours)
	if strings.Join(m1, "\n") != strings.Join(m2, "\n") {
		t.Errorf("MONITOR:\n redis:\n%s\n replnode:\n%s", strings.Join(m1, "\n"), strings.Join(m2, "\n"))
	}
	logged := func(c *redistest.Client) string {
		r := c.MustDo(t, "SLOWLOG", "GET", "20")
		var lines []string
		for _, e := range r.Elems {
			// The harness's readiness PING reached only redis-server.
			if len(e.Elems) > 3 && e.Elems[3].String() != `["PING"]` {
				lines = append(lines, e.Elems[3].String())
			}
		}
		return strings.Join(lines, "\n")
	}
	if s1, s2 := logged(d.Real), logged(d.Ours); s1 != s2 {
		t.Errorf("SLOWLOG arguments:\n redis:\n%s\n replnode:\n%s", s1, s2)
	}
}

// TestDifferentialConfigSetRollback: dir and dbfilename are protected
// configs; when one change of a multi-parameter CONFIG SET fails as it is
// applied, every parameter keeps its old value.
func TestDifferentialConfigSetRollback(t *testing.T) {
	for _, protected := range []string{"no", "yes"} {
		real := redistest.StartRedis(t, "enable-protected-configs "+protected)
		ours := redistest.StartInProcess(t, "enable-protected-configs "+protected)
		d := redistest.NewDiff(t, real, ours)
		for _, s := range [][]string{
			{"CONFIG", "SET", "maxmemory-samples", "7", "dir", "/nonexistent/x"},
			{"CONFIG", "GET", "maxmemory-samples"},
			{"CONFIG", "SET", "dir", "/nonexistent/x", "hz", "20", "save", "10 1"},
			{"CONFIG", "GET", "hz"}, {"CONFIG", "GET", "save"},
			{"CONFIG", "SET", "dbfilename", "other.rdb"},
			{"CONFIG", "SET", "maxmemory-samples", "7", "maxmemory-policy", "nope"},
			{"CONFIG", "GET", "maxmemory-samples"},
		} {
			d.Do(s...)
		}
	}
}

// TestDifferentialSortStoreGets: SORT ... STORE with several GETs stores
// every GET's element per sorted element, in GET order; and the SCAN
// family reports WRONGTYPE before option errors.
func TestDifferentialSortStoreGets(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	d := redistest.NewDiff(t, real, ours)
	for _, s := range [][]string{
		{"RPUSH", "l", "3", "1", "2"},
		{"MSET", "w_1", "a", "w_2", "b", "w_3", "c", "x_1", "X1", "x_3", "X3"},
		{"HSET", "h_1", "f", "hf1"},
		{"SORT", "l", "GET", "#", "GET", "w_*", "GET", "x_*", "STORE", "dst"}, {"LRANGE", "dst", "0", "-1"},
		{"SORT", "l", "BY", "nosort", "GET", "w_*", "GET", "#", "STORE", "dst"}, {"LRANGE", "dst", "0", "-1"},
		{"SORT", "l", "DESC", "LIMIT", "0", "2", "GET", "x_*", "GET", "h_*->f", "GET", "#", "STORE", "dst"},
		{"LRANGE", "dst", "0", "-1"},
		{"SORT", "nokey", "GET", "#", "GET", "w_*", "STORE", "dst"}, {"EXISTS", "dst"},
		{"SET", "k", "v"},
		{"SSCAN", "k", "0", "COUNT", "0"}, {"ZSCAN", "k", "0", "MATCH"}, {"HSCAN", "k", "0", "COUNT", "x"},
		{"ZSCAN", "k", "0", "TYPE", "string"}, {"HSCAN", "h_1", "0", "TYPE", "string"}, {"HSCAN", "h_1", "0", "COUNT", "0"},
		{"GETEX", "h_1", "EX", "10"}, {"GETEX", "h_1", "foo"}, {"GETEX", "nokey", "foo"},
	} {
		d.Do(s...)
	}
}

// TestDifferentialConfigOtherValues: every non-numeric CONFIG parameter
// (booleans, enums, strings, special syntaxes) takes and refuses the same
// values as Redis 7.0.
func TestDifferentialConfigOtherValues(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	d := redistest.NewDiff(t, real, ours)
	all := d.Real.MustDo(t, "CONFIG", "GET", "*")
	skip := map[string]bool{
		// would change what the test talks to: listeners, role,
		// authentication, persistence files
		"bind": true, "replicaof": true, "slaveof": true, "requirepass": true, "appendonly": true,
		"dir": true, "dbfilename": true, "logfile": true, "unixsocket": true,
		// Known differences: the apply step fails on this redis-server
		// build (no TLS certificates configured, libc malloc without
		// active defrag), and proc-title-template's template validation
		// is not implemented.
		"tls-cluster": true, "tls-replication": true, "activedefrag": true, "proc-title-template": true,
	}
	for i := 0; i+1 < len(all.Elems); i += 2 {
		name, orig := all.Elems[i].Str, all.Elems[i+1].Str
		if skip[name] || (orig != "" && strings.Trim(orig, "-0123456789") == "") {
			continue
		}
		for _, v := range []string{"", "yes", "no", "YES", "nope", "1", "a b", strings.ToUpper(orig), orig + " x"} {
			r1 := d.Real.MustDo(t, "CONFIG", "SET", name, v)
			r2 := d.Ours.MustDo(t, "CONFIG", "SET", name, v)
			g1 := d.Real.MustDo(t, "CONFIG", "GET", name)
			g2 := d.Ours.MustDo(t, "CONFIG", "GET", name)
			if r1.String() != r2.String() || g1.String() != g2.String() {
				t.Errorf("CONFIG SET %s %q: redis %s %s, replnode %s %s", name, v, r1.String(), g1.String(), r2.String(), g2.String())
			}
			d.Real.MustDo(t, "CONFIG", "SET", name, orig)
			d.Ours.MustDo(t, "CONFIG", "SET", name, orig)
		}
	}
}

// TestDifferentialIncrReplacesValue: INCR and friends replace the value
// with a new int-encoded string (raw and embstr inputs included), keep the
// key's expiry, refuse what is not a 64-bit integer, and count no keyspace
// hit or miss (lookupKeyWrite); values of a few KiB, stored in the
// keyspace's biggest slab classes or past them, read and edit as Redis's.
func TestDifferentialIncrReplacesValue(t *testing.T) {
	real := redistest.StartRedis(t, "enable-debug-command yes")
	ours := redistest.StartInProcess(t, "enable-debug-command yes")
	d := redistest.NewDiff(t, real, ours)
	kib := strings.Repeat("k", 1024)
	for _, s := range [][]string{
		{"INCR", "n"}, {"OBJECT", "ENCODING", "n"}, {"GET", "n"},
		{"SET", "t", "41", "EX", "1000"}, {"INCR", "t"}, {"TTL", "t"}, {"DECRBY", "t", "50"}, {"GET", "t"}, {"TTL", "t"},
		{"SET", "r", "1"}, {"APPEND", "r", "2"}, {"OBJECT", "ENCODING", "r"}, {"INCR", "r"}, {"OBJECT", "ENCODING", "r"}, {"GET", "r"},
		{"SET", "big", "9223372036854775806"}, {"INCR", "big"}, {"INCR", "big"}, {"GET", "big"}, {"DECR", "big"},
		{"SET", "neg", "-9223372036854775807"}, {"DECR", "neg"}, {"DECR", "neg"}, {"INCRBY", "neg", "10"},
		{"SET", "s", " 1"}, {"INCR", "s"}, {"SET", "s", "01"}, {"INCR", "s"}, {"SET", "s", "1.5"}, {"INCR", "s"},
		{"RPUSH", "l", "1"}, {"INCR", "l"}, {"DECRBY", "l", "2"},
		{"SET", "kib", kib}, {"INCR", "kib"}, {"STRLEN", "kib"}, {"OBJECT", "ENCODING", "kib"}, {"GETRANGE", "kib", "1000", "1030"},
		{"APPEND", "kib", "tail"}, {"STRLEN", "kib"}, {"OBJECT", "ENCODING", "kib"},
		{"SET", "k4", strings.Repeat("4", 4080)}, {"SETRANGE", "k4", "4078", "xyz"}, {"STRLEN", "k4"}, {"GETRANGE", "k4", "4070", "-1"},
		{"SET", "k5", strings.Repeat("5", 4100)}, {"GETRANGE", "k5", "4090", "-1"}, {"GETDEL", "k5"}, {"EXISTS", "k5"},
		{"MSET", "m1", kib, "m2", strings.Repeat("m", 3000)}, {"MGET", "m1", "m2", "nosuch"}, {"STRLEN", "m2"},
		{"DEBUG", "RELOAD"}, {"GET", "n"}, {"GET", "t"}, {"STRLEN", "kib"}, {"STRLEN", "k4"}, {"OBJECT", "ENCODING", "t"},
	} {
		d.Do(s...)
	}
	// The counters after the INCR family alone.
	d.Do("CONFIG", "RESETSTAT")
	for _, s := range [][]string{
		{"INCR", "n"}, {"INCR", "fresh"}, {"INCRBY", "l", "1"}, {"DECR", "s"}, {"SET", "x", "1", "PX", "1"},
	} {
		d.Do(s...)
	}
	for _, field := range []string{"keyspace_hits", "keyspace_misses"} {
		if a, b := infoField(t, d.Real, "stats", field), infoField(t, d.Ours, "stats", field); a != b {
			t.Errorf("%s: redis-server %s, ours %s", field, a, b)
		}
	}
}
