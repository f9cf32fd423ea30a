package server_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/replnode/replnode/replnode/redistest"
)

// TestDifferentialCore sends the same commands to a real redis-server 7.0
// and to replnode and requires identical replies, errors included.
func TestDifferentialCore(t *testing.T) {
	real := redistest.StartRedis(t, "enable-debug-command yes")
	ours := redistest.StartInProcess(t, "enable-debug-command yes")
	d := redistest.NewDiff(t, real, ours)
	steps := [][]string{
		// dispatch errors
		{"NOSUCHCMD", "a", "b"},
		{"GET"},
		{"GET", "a", "b"},
		{"CONFIG", "NOPE"},
		{"CONFIG"},
		{"OBJECT", "ENCODING"},
		// strings
		{"SET", "s", "hello"},
		{"SET", "s", "v", "NX", "XX"},
		{"SET", "s", "v", "EX", "0"},
		{"SET", "s", "v", "PX", "-5"},
		{"SET", "s", "v", "EX", "abc"},
		{"SET", "s", "v", "KEEPTTL", "PX", "10"},
		{"SET", "s", "v", "EX", "10", "EX", "20"},
		{"SET", "s", "world", "GET"},
		{"SET", "s2", "x", "NX", "GET"},
		{"GETEX", "s", "PERSIST", "EX", "10"},
		{"GETEX", "s", "FOO"},
		{"APPEND", "s", "!!"},
		{"GETRANGE", "s", "0", "-1"},
		{"GETRANGE", "s", "-3", "-1"},
		{"GETRANGE", "s", "5", "2"},
		{"GETRANGE", "s", "-1", "-5"},
		{"SETRANGE", "s", "-1", "x"},
		{"SETRANGE", "s", "10", "xyz"},
		{"GET", "s"},
		{"SETRANGE", "nokey", "0", ""},
		{"INCR", "s"},
		{"SET", "n", "9223372036854775807"},
		{"INCR", "n"},
		{"DECRBY", "n", "-9223372036854775808"},
		{"INCRBY", "n", "abc"},
		{"SET", "f", "3.0"},
		{"INCRBYFLOAT", "f", "1.1"},
		{"INCRBYFLOAT", "f", "1e400"},
		{"INCRBYFLOAT", "f", " 1"},
		{"INCRBYFLOAT", "f", "-4.1"},
		{"MSET", "a", "1", "b"},
		{"MSETNX", "a", "1", "b", "2"},
		{"MGET", "a", "b", "nokey", "s"},
		{"STRLEN", "s"},
		{"GETDEL", "a"},
		{"GETSET", "b", "3"},
		{"SETEX", "x", "0", "v"},
		{"PSETEX", "x", "abc", "v"},
		{"SETNX", "b", "4"},
		// bits
		{"SETBIT", "bits", "7", "1"},
		{"SETBIT", "bits", "-1", "1"},
		{"SETBIT", "bits", "4294967296", "1"},
		{"SETBIT", "bits", "1", "5"},
		{"GETBIT", "bits", "7"},
		{"SET", "foo", "foobar"},
		{"BITCOUNT", "foo"},
		{"BITCOUNT", "foo", "1", "1"},
		{"BITCOUNT", "foo", "1"},
		{"BITCOUNT", "foo", "0", "-1", "BIT"},
		{"BITCOUNT", "foo", "5", "30", "BIT"},
		{"BITCOUNT", "foo", "0", "1", "NOPE"},
		{"BITCOUNT", "nokey", "x", "y"},
		{"BITPOS", "foo", "0"},
		{"BITPOS", "foo", "1", "2", "-1"},
		{"BITPOS", "foo", "0", "1", "3", "BIT"},
		{"BITPOS", "foo", "1", "7", "15", "BIT"},
		{"BITPOS", "foo", "3"},
		{"BITPOS", "nokey", "0"},
		{"BITPOS", "nokey", "1"},
		{"BITOP", "AND", "dest", "foo", "bits"},
		{"GET", "dest"},
		{"BITOP", "NOT", "dest", "foo", "bits"},
		{"BITOP", "NOPE", "dest", "foo"},
		{"BITOP", "OR", "dest", "nokey"},
		{"EXISTS", "dest"},
		{"LCS", "foo", "s"},
		{"LCS", "foo", "s", "IDX", "WITHMATCHLEN"},
		{"LCS", "foo", "s", "LEN", "IDX"},
		// keys and expiry
		{"EXPIRE", "foo", "100", "NX", "XX"},
		{"EXPIRE", "foo", "100", "GT", "LT"},
		{"EXPIRE", "foo", "100", "BAD"},
		{"EXPIRE", "foo", "9223372036854775807"},
		{"EXPIRE", "foo", "100", "XX"},
		{"EXPIRE", "foo", "100"},
		{"TTL", "foo"},
		{"EXPIRE", "foo", "50", "GT"},
		{"PERSIST", "foo"},
		{"TTL", "foo"},
		{"TTL", "nokey"},
		{"PEXPIRETIME", "foo"},
		{"RENAME", "nokey", "x"},
		{"RENAME", "foo", "foo"},
		{"RENAMENX", "foo", "b"},
		{"MOVE", "foo", "0"},
		{"MOVE", "foo", "100"},
		{"MOVE", "foo", "x"},
		{"COPY", "foo", "foo"},
		{"COPY", "foo", "foo2", "DB", "x"},
		{"COPY", "foo", "foo2", "BAD"},
		{"TYPE", "foo"},
		{"OBJECT", "ENCODING", "n"},
		{"OBJECT", "ENCODING", "foo"},
		{"OBJECT", "REFCOUNT", "b"},
		{"OBJECT", "FREQ", "foo"},
		{"OBJECT", "ENCODING", "nokey"},
		{"SCAN", "abc"},
		{"SCAN", "0", "COUNT", "0"},
		{"SCAN", "0", "BAD"},
		{"SWAPDB", "0", "100"},
		{"SWAPDB", "x", "1"},
		{"SELECT", "100"},
		{"FLUSHDB", "x"},
		// transactions
		{"MULTI"},
		{"SET", "t", "1"},
		{"INCR", "t"},
		{"GET"},
		{"EXEC"},
		{"MULTI"},
		{"SET", "t", "x"},
		{"INCR", "t"},
		{"EXEC"},
		{"EXEC"},
		{"DISCARD"},
		// connection
		{"PING", "a", "b"},
		{"ECHO"},
		{"AUTH", "x"},
		{"AUTH", "a", "b", "c"},
		{"HELLO", "4"},
		{"HELLO", "x"},
		{"HELLO", "2", "BAD"},
		{"CLIENT", "SETNAME", "bad name"},
		{"CLIENT", "NOPE"},
		{"CLIENT", "KILL", "ID", "0"},
		{"CLIENT", "PAUSE", "x"},
		{"CONFIG", "SET", "nosuch", "1"},
		{"CONFIG", "SET", "port", "x"},
		{"CONFIG", "SET", "maxmemory", "1x"},
		{"CONFIG", "SET", "daemonize", "yes"},
		{"CONFIG", "SET", "appendfsync", "maybe"},
		{"DEBUG", "PROTOCOL", "bignum"},
		{"DEBUG", "PROTOCOL", "map"},
		{"DEBUG", "PROTOCOL", "nope"},
		{"COMMAND", "GETKEYS", "SET", "k", "v"},
		{"COMMAND", "GETKEYS", "PING"},
		{"COMMAND", "GETKEYS", "NOPE", "x"},
		{"COMMAND", "GETKEYS", "PING", "x"},
		{"COMMAND", "COUNT", "X"},
	}
	for _, s := range steps {
		d.Do(s...)
	}
	d.DoSorted("KEYS", "*")
	d.Do("DBSIZE")
	// CONFIG GET answers in dictionary order: compare as sets.
	d.DoSorted("CONFIG", "GET", "maxmemory*")
	d.DoSorted("CONFIG", "GET", "hash-max-*")

	// RESP3: the same values in their RESP3 types.
	d.DoType("HELLO", "3")
	for _, s := range [][]string{
		{"GET", "nokey"},
		{"INCRBYFLOAT", "f", "1"},
		{"DEBUG", "PROTOCOL", "double"},
		{"DEBUG", "PROTOCOL", "map"},
		{"DEBUG", "PROTOCOL", "set"},
		{"DEBUG", "PROTOCOL", "true"},
		{"DEBUG", "PROTOCOL", "null"},
		{"DEBUG", "PROTOCOL", "verbatim"},
		{"CONFIG", "GET", "maxmemory"},
		{"LCS", "foo", "s", "IDX"},
		{"MULTI"},
		{"GET", "nokey"},
		{"EXEC"},
		{"EXPIRE", "nokey", "10"},
	} {
		d.Do(s...)
	}
}

// TestDifferentialPubSub compares subscription replies and message delivery
// in RESP2 and RESP3.
func TestDifferentialPubSub(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	for _, proto := range []string{"2", "3"} {
		sub := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
		pub := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
		sub.DoType("HELLO", proto)
		pub.DoType("HELLO", proto)
		sub.Do("SUBSCRIBE", "ch1")
		sub.Do("PSUBSCRIBE", "c*")
		if proto == "2" {
			sub.Do("GET", "x")
		}
		sub.Do("PING")
		pub.Do("PUBLISH", "ch1", "hello")
		sub.Receive()
		sub.Receive()
		pub.Do("PUBSUB", "NUMSUB", "ch1", "nope")
		pub.Do("PUBSUB", "SHARDNUMSUB", "ch1")
		pub.Do("PUBSUB", "NUMPAT")
		pub.Do("PUBSUB", "CHANNELS")
		sub.Do("UNSUBSCRIBE")
		sub.Do("PUNSUBSCRIBE")
		sub.Do("UNSUBSCRIBE")
	}
}

// TestDifferentialProtocolErrors checks malformed requests get Redis's
// errors before the connection closes.
func TestDifferentialProtocolErrors(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	for _, raw := range []string{
		"*1\r\n:1\r\n",
		"*x\r\n",
		"*1\r\n$-3\r\n",
		"SET \"a b\n",
		"*1\r\n$700000000\r\n",
		"ECHO 'it''s'\r\n",
	} {
		var got [2]string
		for i, in := range []*redistest.Instance{real, ours} {
			c := in.Dial(t)
			if err := c.SendRaw([]byte(raw)); err != nil {
				t.Fatal(err)
			}
			r, err := c.Receive()
			if err != nil {
				t.Fatalf("%q: %v", raw, err)
			}
			got[i] = r.String()
		}
		if got[0] != got[1] {
			t.Errorf("%q:\n redis:    %s\n replnode: %s", raw, got[0], got[1])
		}
	}
	// Inline commands work too.
	d := redistest.NewDiff(t, real, ours)
	for _, c := range []*redistest.Client{d.Real, d.Ours} {
		if err := c.SendRaw([]byte("SET inl \"a\\x41 b\"\r\nGET inl\r\n\r\nPING\n")); err != nil {
			t.Fatal(err)
		}
	}
	d.Receive()
	if r := d.Receive(); !strings.Contains(r.String(), "aA b") {
		t.Errorf("inline quoting: %s", r.String())
	}
	d.Receive()
}

// TestDifferentialKeyspaceNotifications compares the events of common
// commands with notify-keyspace-events KEA.
func TestDifferentialKeyspaceNotifications(t *testing.T) {
	real := redistest.StartRedis(t, "notify-keyspace-events KEA")
	ours := redistest.StartInProcess(t, "notify-keyspace-events KEA")
	sub := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	cmd := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	sub.Do("PSUBSCRIBE", "__key*@0__:*")
	steps := []struct {
		args   []string
		events int
	}{
		{[]string{"SET", "k", "v"}, 2},
		{[]string{"APPEND", "k", "x"}, 2},
		{[]string{"INCR", "n"}, 2},
		{[]string{"EXPIRE", "k", "100"}, 2},
		{[]string{"PERSIST", "k"}, 2},
		{[]string{"RENAME", "k", "k2"}, 4},
		{[]string{"SET", "k2", "v", "EX", "10"}, 4},
		{[]string{"DEL", "k2", "n"}, 4},
		{[]string{"SETRANGE", "s", "2", "ab"}, 2},
		{[]string{"GETDEL", "s"}, 2},
	}
	for _, st := range steps {
		cmd.Do(st.args...)
		for i := 0; i < st.events; i++ {
			sub.Receive()
		}
	}
	cmd.Do("CONFIG", "GET", "notify-keyspace-events")
}

// TestDifferentialAuth compares the replies a client library meets while it
// authenticates against requirepass: AUTH with one and two arguments, HELLO
// with and without AUTH, wrong passwords and commands sent before AUTH.
func TestDifferentialAuth(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	// Set at runtime: the harness's readiness PING has no password.
	redistest.NewDiff(t, real, ours).Do("CONFIG", "SET", "requirepass", "s3cret")
	for _, proto := range []string{"2", "3"} {
		d := redistest.NewDiff(t, real, ours)
		d.Do("GET", "a")
		d.Do("PING")
		d.Do("HELLO", proto)
		d.Do("HELLO", proto, "AUTH", "default", "wrong")
		d.Do("HELLO", proto, "AUTH", "bob", "s3cret")
		d.Do("AUTH")
		d.Do("AUTH", "a", "b", "c")
		d.Do("AUTH", "wrong")
		d.Do("AUTH", "default", "wrong")
		d.DoType("HELLO", proto, "AUTH", "default", "s3cret", "SETNAME", "lib")
		d.Do("CLIENT", "GETNAME")
		d.Do("SET", "a", "1")
		d.Do("AUTH", "s3cret")
		d.Do("AUTH", "default", "s3cret")
	}
	// The harness stops servers without AUTH.
	d := redistest.NewDiff(t, real, ours)
	d.Do("AUTH", "s3cret")
	d.Do("CONFIG", "SET", "requirepass", "")
}

// TestDifferentialMemoryUsage compares MEMORY USAGE with Redis 7.0 for
// values whose layout is deterministic (strings of each encoding,
// listpacks, intsets, quicklists, small hashtable sets) and its errors.
// Skiplists (random levels) and dicts caught mid-rehash legitimately differ.
func TestDifferentialMemoryUsage(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	d := redistest.NewDiff(t, real, ours)
	long := strings.Repeat("x", 50)
	d.Do("SET", "a", "v")
	d.Do("SET", "int", "12345")
	d.Do("SET", "raw", long)
	d.Do("SET", "big", strings.Repeat("y", 40000))
	d.Do("SET", strings.Repeat("k", 40), "v")
	d.Do("RPUSH", "list", "a", "b", "c", "-5000", "70000", long)
	d.Do("HSET", "hash", "a", "1", "b", "2.5", "c", long)
	d.Do("SADD", "ints", "1", "2", "100000")
	d.Do("SADD", "wide", "1", "10000000000")
	// an intset keeps the width of its widest member ever added
	d.Do("SADD", "shrunk", "1", "2", "3", "10000000000")
	d.Do("SREM", "shrunk", "10000000000")
	d.Do("SADD", "strs", "a", "b", "c")
	d.Do("ZADD", "zset", "1", "a", "2.5", "b", "-3", "c", "1e300", "d")
	args := []string{"RPUSH", "long"}
	for i := 0; i < 400; i++ {
		args = append(args, long)
	}
	d.Do(args...)
	for _, k := range []string{"a", "int", "raw", "big", strings.Repeat("k", 40), "list", "hash", "ints", "wide", "shrunk", "strs", "zset", "long", "nokey"} {
		d.Do("MEMORY", "USAGE", k)
		d.Do("MEMORY", "USAGE", k, "SAMPLES", "0")
	}
	d.Do("MEMORY", "USAGE", "a", "SAMPLES")
	d.Do("MEMORY", "USAGE", "a", "SAMPLES", "x")
	d.Do("MEMORY", "USAGE", "a", "SAMPLES", "-1")
	d.Do("MEMORY", "USAGE", "a", "FOO", "1")
	d.Do("MEMORY", "USAGE")
	d.Do("MEMORY", "PURGE")
	d.Do("MEMORY", "NOPE")
	d.DoType("HELLO", "3")
	d.Do("MEMORY", "USAGE", "nokey")
}

// TestDifferentialClusterDisabled checks the cluster commands cluster-aware
// clients probe with get Redis's standalone errors (and its arity and
// unknown-subcommand errors) in RESP2 and RESP3.
func TestDifferentialClusterDisabled(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	for _, proto := range []string{"2", "3"} {
		d := redistest.NewDiff(t, real, ours)
		d.DoType("HELLO", proto)
		for _, args := range [][]string{
			{"CLUSTER", "SLOTS"}, {"CLUSTER", "SHARDS"}, {"CLUSTER", "INFO"}, {"CLUSTER", "NODES"},
			{"CLUSTER", "MYID"}, {"CLUSTER", "KEYSLOT", "foo"}, {"CLUSTER", "HELP"},
			{"CLUSTER", "INFO", "x"}, {"CLUSTER", "NOPE"}, {"CLUSTER"}, {"CLUSTER", "RESET", "HARD"},
			{"READONLY"}, {"READWRITE"}, {"ASKING"}, {"READONLY", "x"},
			{"MULTI"}, {"READONLY"}, {"EXEC"},
		} {
			d.Do(args...)
		}
	}
}

// TestDifferentialACLDefaultUser compares the read-only ACL subcommands for
// the default user, with and without requirepass.
func TestDifferentialACLDefaultUser(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	d := redistest.NewDiff(t, real, ours)
	d.Do("ACL", "WHOAMI")
	d.Do("ACL", "USERS")
	d.Do("ACL", "LIST")
	d.Do("ACL", "CAT")
	d.Do("ACL", "CAT", "nope")
	d.Do("ACL", "CAT", "a", "b")
	d.Do("ACL", "WHOAMI", "x")
	d.Do("ACL", "NOPE")
	d.Do("ACL", "GENPASS", "0")
	d.Do("ACL", "GENPASS", "x")
	d.Do("ACL", "GENPASS", "1", "2")
	if r := d.Ours.MustDo(t, "ACL", "GENPASS", "5"); len(r.Str) != 2 {
		t.Errorf("ACL GENPASS 5 = %q, want 2 hex characters", r.Str)
	}
	if r := d.Ours.MustDo(t, "ACL", "GENPASS"); len(r.Str) != 64 {
		t.Errorf("ACL GENPASS = %q, want 64 hex characters", r.Str)
	}
	d.Do("CONFIG", "SET", "requirepass", "s3cret")
	d.Do("ACL", "LIST")
	d.DoType("HELLO", "3")
	d.Do("ACL", "USERS")
	// ACL CAT <category> lists every Redis command of the category; ours
	// must be the implemented subset of it.
	for _, cat := range []string{"connection", "read", "write", "keyspace", "pubsub", "admin"} {
		theirs := map[string]bool{}
		for _, e := range d.Real.MustDo(t, "ACL", "CAT", cat).Elems {
			theirs[e.Str] = true
		}
		mine := d.Ours.MustDo(t, "ACL", "CAT", cat)
		if len(mine.Elems) == 0 {
			t.Errorf("ACL CAT %s: empty", cat)
		}
		for _, e := range mine.Elems {
			if !theirs[e.Str] {
				t.Errorf("ACL CAT %s lists %q, redis-server does not", cat, e.Str)
			}
		}
	}
	d.Do("CONFIG", "SET", "requirepass", "") // the harness stops servers without AUTH
}

// TestDifferentialModule checks MODULE LIST (none loaded) and that LOAD,
// LOADEX and UNLOAD are behind enable-module-command and, when allowed,
// fail as on a redis-server given a module it cannot load.
func TestDifferentialModule(t *testing.T) {
	for _, enable := range []string{"no", "yes"} {
		real := redistest.StartRedis(t, "enable-module-command "+enable)
		ours := redistest.StartInProcess(t, "enable-module-command "+enable)
		d := redistest.NewDiff(t, real, ours)
		d.Do("MODULE", "LIST")
		d.Do("MODULE", "LIST", "x")
		d.Do("MODULE", "LOAD", "/nonexistent/module.so")
		d.Do("MODULE", "LOADEX", "/nonexistent/module.so", "ARGS", "a")
		d.Do("MODULE", "UNLOAD", "search")
		d.Do("MODULE", "LOAD")
		d.Do("MODULE", "HELP")
		d.Do("MODULE", "NOPE")
		// Every HELP reply must keep the connection in step (the footer
		// was once left out of the array length).
		for _, c := range []string{"OBJECT", "PUBSUB", "CONFIG", "COMMAND"} {
			d.Do(c, "HELP")
			d.Do("PING")
		}
		d.Do("DEBUG", "SLEEP", "0")
	}
}

// TestDifferentialInfoMemoryFields checks INFO memory has redis-server
// 7.0's fields in its order (monitoring agents read them by name), and that
// the derived ones add up: dataset = used - overhead, fragmentation bytes =
// rss - used.
func TestDifferentialInfoMemoryFields(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	fields := func(c *redistest.Client) ([]string, map[string]string) {
		var names []string
		vals := map[string]string{}
		for _, l := range strings.Split(c.MustDo(t, "INFO", "memory").Str, "\r\n") {
			if k, v, ok := strings.Cut(l, ":"); ok {
				names = append(names, k)
				vals[k] = v
			}
		}
		return names, vals
	}
	want, _ := fields(real.Dial(t))
	got, vals := fields(ours.Dial(t))
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("INFO memory fields:\n redis:    %v\n replnode: %v", want, got)
	}
	num := func(k string) int64 {
		n, err := strconv.ParseInt(vals[k], 10, 64)
		if err != nil {
			t.Fatalf("%s = %q: %v", k, vals[k], err)
		}
		return n
	}
	if num("used_memory_dataset") != num("used_memory")-num("used_memory_overhead") {
		t.Errorf("used_memory_dataset %d != used_memory %d - used_memory_overhead %d",
			num("used_memory_dataset"), num("used_memory"), num("used_memory_overhead"))
	}
	if num("mem_fragmentation_bytes") != num("used_memory_rss")-num("used_memory") {
		t.Errorf("mem_fragmentation_bytes %d != rss %d - used %d",
			num("mem_fragmentation_bytes"), num("used_memory_rss"), num("used_memory"))
	}
}

// TestDifferentialLatency compares LATENCY's replies where they do not
// depend on timing: the monitor off, unknown events, histograms of commands
// never called, arity and unknown subcommands, in RESP2 and RESP3.
func TestDifferentialLatency(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	for _, proto := range []string{"2", "3"} {
		d := redistest.NewDiff(t, real, ours)
		d.DoType("HELLO", proto)
		d.Do("LATENCY", "LATEST")
		d.Do("LATENCY", "HISTORY", "command")
		d.Do("LATENCY", "HISTORY")
		d.Do("LATENCY", "RESET")
		d.Do("LATENCY", "RESET", "command", "nope")
		d.Do("LATENCY", "HISTOGRAM", "lpush", "nosuch", "config|resetstat")
		d.Do("LATENCY", "NOPE")
		d.Do("SET", "a", "1")
		d.DoType("LATENCY", "HISTOGRAM", "set")
	}
}
