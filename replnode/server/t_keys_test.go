package server

import (
	"fmt"
	"sort"
	"testing"

	"github.com/replnode/replnode/replnode/resp"
)

func TestKeyCommands(t *testing.T) {
	n := newCoreNode(t)
	n.run(transcript{
		{cmd("MSET", "a", "1", "b", "2", "c", "3"), "OK"},
		{cmd("EXISTS", "a", "a", "zz"), "(integer) 2"},
		{cmd("TYPE", "a"), "string"},
		{cmd("TYPE", "zz"), "none"},
		{cmd("DEL", "a", "zz"), "(integer) 1"},
		{cmd("UNLINK", "b"), "(integer) 1"},
		{cmd("RENAME", "zz", "y"), "(error) ERR no such key"},
		{cmd("RENAME", "c", "c"), "OK"},
		{cmd("RENAME", "c", "d"), "OK"},
		{cmd("GET", "d"), `"3"`},
		{cmd("SET", "e", "x"), "OK"},
		{cmd("RENAMENX", "d", "e"), "(integer) 0"},
		{cmd("MOVE", "d", "0"), "(error) ERR source and destination objects are the same"},
		{cmd("MOVE", "d", "99"), "(error) ERR DB index is out of range"},
		{cmd("MOVE", "d", "1"), "(integer) 1"},
		{cmd("EXISTS", "d"), "(integer) 0"},
		{cmd("COPY", "e", "e"), "(error) ERR source and destination objects are the same"},
		{cmd("COPY", "e", "f"), "(integer) 1"},
		{cmd("COPY", "e", "f"), "(integer) 0"},
		{cmd("COPY", "e", "f", "REPLACE", "DB", "1"), "(integer) 1"},
		{cmd("SELECT", "1"), "OK"},
		{cmd("DBSIZE"), "(integer) 2"},
		{cmd("SELECT", "0"), "OK"},
		{cmd("SWAPDB", "0", "1"), "OK"},
		{cmd("DBSIZE"), "(integer) 2"},
		{cmd("GET", "d"), `"3"`},
		{cmd("SWAPDB", "0", "x"), "(error) ERR invalid second DB index"},
		{cmd("FLUSHDB", "bogus"), "(error) ERR syntax error"},
		{cmd("FLUSHALL"), "OK"},
		{cmd("DBSIZE"), "(integer) 0"},
		{cmd("RANDOMKEY"), "(nil)"},
		{cmd("OBJECT", "ENCODING", "nokey"), "(nil)"},
		{cmd("SET", "i", "123"), "OK"},
		{cmd("OBJECT", "ENCODING", "i"), `"int"`},
		{cmd("OBJECT", "REFCOUNT", "i"), "(integer) 2147483647"},
		{cmd("OBJECT", "FREQ", "i"), "(error) ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."},
		{cmd("OBJECT", "IDLETIME", "i"), "(integer) 0"},
		{cmd("OBJECT", "NOPE", "i"), "(error) ERR unknown subcommand 'NOPE'. Try OBJECT HELP."},
		{cmd("OBJECT"), "(error) ERR wrong number of arguments for 'object' command"},
		{cmd("RANDOMKEY"), `"i"`},
	})
}

func TestExpireCommands(t *testing.T) {
	n := newCoreNode(t)
	n.run(transcript{
		{cmd("SET", "k", "v"), "OK"},
		{cmd("TTL", "k"), "(integer) -1"},
		{cmd("TTL", "nokey"), "(integer) -2"},
		{cmd("EXPIRE", "k", "100", "XX"), "(integer) 0"},
		{cmd("EXPIRE", "k", "100", "NX"), "(integer) 1"},
		{cmd("EXPIRE", "k", "50", "GT"), "(integer) 0"},
		{cmd("EXPIRE", "k", "50", "LT"), "(integer) 1"},
		{cmd("TTL", "k"), "(integer) 50"},
		{cmd("PTTL", "k"), "(integer) 50000"},
		{cmd("EXPIRETIME", "k"), "(integer) 1700000050"},
		{cmd("PEXPIRETIME", "k"), "(integer) 1700000050000"},
		{cmd("EXPIRE", "k", "10", "NX", "XX"), "(error) ERR NX and XX, GT or LT options at the same time are not compatible"},
		{cmd("EXPIRE", "k", "10", "GT", "LT"), "(error) ERR GT and LT options at the same time are not compatible"},
		{cmd("EXPIRE", "k", "10", "FOO"), "(error) ERR Unsupported option FOO"},
		{cmd("EXPIRE", "k", "9223372036854775807"), "(error) ERR invalid expire time in 'expire' command"},
		{cmd("PERSIST", "k"), "(integer) 1"},
		{cmd("PERSIST", "k"), "(integer) 0"},
		{cmd("PEXPIRE", "k", "1500"), "(integer) 1"},
		{cmd("TTL", "k"), "(integer) 2"},
		{cmd("EXPIRE", "k", "-1"), "(integer) 1"},
		{cmd("EXISTS", "k"), "(integer) 0"},
	})
	// Lazy expiry on read: the clock moves past the TTL.
	n.run(transcript{
		{cmd("SET", "t", "v", "PX", "100"), "OK"},
		{cmd("TOUCH", "t"), "(integer) 1"},
	})
	n.now += 100
	n.run(transcript{
		{cmd("GET", "t"), "(nil)"},
		{cmd("DBSIZE"), "(integer) 0"},
	})
}

func TestPropagationRewrites(t *testing.T) {
	n := newCoreNode(t)
	var got []string
	n.s.Propagating = nil // always propagate to the capture
	n.s.Propagator = func(db int, args [][]byte) {
		s := fmt.Sprint(db)
		for _, a := range args {
			s += " " + string(a)
		}
		got = append(got, s)
	}
	n.do("SET", "k", "v", "EX", "10")
	n.do("GET", "k")
	n.do("EXPIRE", "k", "5")
	n.do("INCRBYFLOAT", "f", "1.5")
	n.do("SET", "p", "v", "PX", "1")
	n.now += 5
	n.do("GET", "p")
	n.do("SELECT", "3")
	n.do("DEL", "nothing")
	n.do("MULTI")
	n.do("SET", "a", "1")
	n.do("INCR", "a")
	n.do("EXEC")
	want := []string{
		"0 SET k v PXAT 1700000010000",
		"0 PEXPIREAT k 1700000005000",
		"0 SET f 1.5 KEEPTTL",
		"0 SET p v PXAT 1700000000001",
		"0 DEL p",
		"3 MULTI", "3 SET a 1", "3 INCR a", "3 EXEC",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("propagated:\n got %q\nwant %q", got, want)
	}
}

// TestScanGuarantee checks that every key present for a whole SCAN walk is
// returned even while other keys are added and removed between calls.
func TestScanGuarantee(t *testing.T) {
	n := newCoreNode(t)
	for i := 0; i < 500; i++ {
		n.do("SET", fmt.Sprintf("stable:%d", i), "v")
		n.do("SET", fmt.Sprintf("churn:%d", i), "v")
	}
	seen := map[string]bool{}
	cursor := "0"
	for round := 0; ; round++ {
		n.s.mu.Lock()
		n.s.processCommand(n.c, [][]byte{[]byte("SCAN"), []byte(cursor), []byte("COUNT"), []byte("7")})
		out := n.c.Replies()
		n.s.mu.Unlock()
		r, _, err := resp.ReadReply(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range r.Elems[1].Elems {
			seen[k.Str] = true
		}
		cursor = r.Elems[0].Str
		// Churn: delete some, add others.
		n.do("DEL", fmt.Sprintf("churn:%d", round))
		n.do("SET", fmt.Sprintf("new:%d", round), "v")
		if cursor == "0" {
			break
		}
		if round > 10000 {
			t.Fatal("scan does not terminate")
		}
	}
	for i := 0; i < 500; i++ {
		if !seen[fmt.Sprintf("stable:%d", i)] {
			t.Fatalf("stable:%d never returned", i)
		}
	}
	n.run(transcript{
		{cmd("SCAN", "x"), "(error) ERR invalid cursor"},
		{cmd("SCAN", "0", "COUNT", "0"), "(error) ERR syntax error"},
		{cmd("SCAN", "0", "COUNT", "100000", "TYPE", "list"), `["0", []]`},
		{cmd("SCAN", "0", "COUNT", "100000", "MATCH", "stable:49?", "TYPE", "hash"), `["0", []]`},
	})
}

func TestKeysPattern(t *testing.T) {
	n := newCoreNode(t)
	n.do("MSET", "hello", "1", "hallo", "1", "hxllo", "1", "heeeello", "1", "hillo", "1")
	n.s.mu.Lock()
	n.s.processCommand(n.c, [][]byte{[]byte("KEYS"), []byte("h[ae]llo")})
	out := n.c.Replies()
	n.s.mu.Unlock()
	r, _, _ := resp.ReadReply(out)
	var keys []string
	for _, e := range r.Elems {
		keys = append(keys, e.Str)
	}
	sort.Strings(keys)
	if fmt.Sprint(keys) != "[hallo hello]" {
		t.Fatalf("KEYS h[ae]llo = %v", keys)
	}
}

func TestGlobMatch(t *testing.T) {
	cases := []struct {
		p, s   string
		nocase bool
		want   bool
	}{
		{"*", "anything", false, true},
		{"h?llo", "hello", false, true},
		{"h*llo", "heeeello", false, true},
		{"h[^e]llo", "hello", false, false},
		{"h[^e]llo", "hallo", false, true},
		{"h[a-b]llo", "hbllo", false, true},
		{"h[b-a]llo", "hallo", false, true},
		{"h\\*llo", "h*llo", false, true},
		{"h\\*llo", "hallo", false, false},
		{"HELLO", "hello", true, true},
		{"a*b*c", "aXbYc", false, true},
		{"a*b*c", "aXbY", false, false},
		{"[abc", "a", false, true},
		{"*a", "", false, false},
		{"", "", false, true},
	}
	for _, c := range cases {
		if got := globMatch([]byte(c.p), []byte(c.s), c.nocase); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v", c.p, c.s, got)
		}
	}
}

// TestActiveExpireCycle checks the cron deletes expired keys nobody reads,
// propagating a DEL for each, and leaves live keys alone; replicas do not
// expire actively.
func TestActiveExpireCycle(t *testing.T) {
	n := newCoreNode(t)
	var dels int
	n.s.Propagating = nil // always propagate to the capture
	n.s.Propagator = func(db int, args [][]byte) {
		if string(args[0]) == "DEL" {
			dels++
		}
	}
	for i := 0; i < 200; i++ {
		n.do("SET", fmt.Sprintf("short:%d", i), "v", "PX", "10")
		n.do("SET", fmt.Sprintf("long:%d", i), "v", "EX", "1000")
	}
	n.now += 50
	n.s.mu.Lock()
	n.s.MasterHost = "10.0.0.1"
	n.s.cron()
	replicaLen := n.s.Keyspace.DBs[0].Len()
	n.s.MasterHost = ""
	for i := 0; i < 100 && n.s.Keyspace.DBs[0].Len() > 200; i++ {
		n.s.cron()
	}
	left := n.s.Keyspace.DBs[0].Len()
	n.s.mu.Unlock()
	if replicaLen != 400 {
		t.Errorf("a replica expired keys actively: %d left", replicaLen)
	}
	if left != 200 || dels != 200 {
		t.Errorf("after active expiry: %d keys, %d DELs propagated; want 200, 200", left, dels)
	}
	if got := n.do("DBSIZE"); got != "(integer) 200" {
		t.Error(got)
	}
}
