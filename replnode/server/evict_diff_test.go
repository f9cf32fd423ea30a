package server_test

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/redistest"
)

// ------ helpers

// infoFields returns INFO <section> of c as a map.
func infoFields(t *testing.T, c *redistest.Client, section string) map[string]string {
	t.Helper()
	r := c.MustDo(t, "INFO", section)
	out := map[string]string{}
	for _, line := range strings.Split(r.Str, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			out[k] = v
		}
	}
	return out
}

// waitUntil polls cond every 20ms until it holds, failing after limit.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ------ tests

// TestEvictionBinaryAllkeysLRUWithReplica writes 50k keys of 1KB into the
// replnode binary with maxmemory 8mb and allkeys-lru, a redis-server 7.0
// replicating it: every write is accepted, the data set stays bounded,
// memory stays near maxmemory, and the replica applies the evictions' DELs
// (equal DBSIZE and DEBUG DIGEST).
func TestEvictionBinaryAllkeysLRUWithReplica(t *testing.T) {
	in := redistest.StartBinary(t, "maxmemory 8mb", "maxmemory-policy allkeys-lru", "enable-debug-command yes")
	rep := redistest.StartRedis(t, "replicaof 127.0.0.1 "+strconv.Itoa(in.Port), "enable-debug-command yes")
	m, r := in.Dial(t), rep.Dial(t)
	waitUntil(t, 30*time.Second, "replica link up", func() bool {
		return infoFields(t, r, "replication")["master_link_status"] == "up"
	})

	val := strings.Repeat("x", 1024)
	var maxUsed int64
	const writes = 50000
	for i := 0; i < writes; i++ {
		if got := m.MustDo(t, "SET", "key:"+strconv.Itoa(i), val); got.String() != "OK" {
			t.Fatalf("SET #%d: %v", i, got)
		}
		if i%5000 == 4999 {
			used, _ := strconv.ParseInt(infoFields(t, m, "memory")["used_memory"], 10, 64)
			maxUsed = max(maxUsed, used)
		}
	}
	// Read both in one transaction: eviction runs before any command,
	// DBSIZE and INFO included, so two separate reads may see different
	// data sets.
	m.MustDo(t, "MULTI")
	m.MustDo(t, "DBSIZE")
	m.MustDo(t, "INFO", "stats")
	both := m.MustDo(t, "EXEC")
	if len(both.Elems) != 2 {
		t.Fatalf("EXEC = %v", both)
	}
	dbsize := both.Elems[0].Int
	var evicted int64
	for _, line := range strings.Split(both.Elems[1].Str, "\r\n") {
		if v, ok := strings.CutPrefix(line, "evicted_keys:"); ok {
			evicted, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	t.Logf("dbsize %d, evicted_keys %d, max used_memory %d", dbsize, evicted, maxUsed)
	if evicted == 0 || dbsize == 0 || dbsize > writes/2 || dbsize+evicted != writes {
		t.Fatalf("dbsize %d, evicted_keys %d after %d writes", dbsize, evicted, writes)
	}
	if maxUsed > 2*8<<20 {
		t.Fatalf("used_memory reached %d with maxmemory 8mb", maxUsed)
	}
	// The master may still evict after the count above (eviction runs
	// before every command, INFO included, and the replica's output
	// buffer it did not count drains meanwhile); the replica must end
	// with exactly the master's keys once it has its whole stream.
	waitUntil(t, 30*time.Second, "replica caught up with the master's keys", func() bool {
		return infoFields(t, m, "replication")["master_repl_offset"] == infoFields(t, r, "replication")["master_repl_offset"] &&
			m.MustDo(t, "DBSIZE").Int == r.MustDo(t, "DBSIZE").Int
	})
	if md, rd := m.MustDo(t, "DEBUG", "DIGEST").Str, r.MustDo(t, "DEBUG", "DIGEST").Str; md != rd || len(md) != 40 {
		t.Fatalf("digest master %s replica %s", md, rd)
	}
}

// TestEvictionDifferential runs one script on redis-server 7.0 and on the
// replnode binary with maxmemory 1: volatile-lru with no TTL key answers
// the -OOM text and evicts nothing; allkeys-lru evicts every key, one
// `evicted` event each, counted in evicted_keys, then answers -OOM with
// nothing left.
func TestEvictionDifferential(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartBinary(t)
	type outcome struct {
		voom, keysAfterVolatile, oom, dbsize, evicted string
		events                                        []string
	}
	script := func(in *redistest.Instance) outcome {
		c, sub := in.Dial(t), in.Dial(t)
		c.MustDo(t, "CONFIG", "SET", "notify-keyspace-events", "Ee")
		sub.MustDo(t, "SUBSCRIBE", "__keyevent@0__:evicted")
		for _, k := range []string{"k1", "k2", "k3"} {
			c.MustDo(t, "SET", k, "value")
		}
		c.MustDo(t, "CONFIG", "SET", "maxmemory-policy", "volatile-lru")
		c.MustDo(t, "CONFIG", "SET", "maxmemory", "1")
		var o outcome
		o.voom = c.MustDo(t, "SET", "v", "1").String()
		o.keysAfterVolatile = c.MustDo(t, "DBSIZE").String()
		c.MustDo(t, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
		o.oom = c.MustDo(t, "SET", "x", "1").String()
		o.dbsize = c.MustDo(t, "DBSIZE").String()
		o.evicted = infoFields(t, c, "stats")["evicted_keys"]
		for range 3 {
			msg, err := sub.Receive()
			if err != nil {
				t.Fatalf("%s: evicted event: %v (so far %+v)", in.Addr, err, o)
			}
			o.events = append(o.events, msg.String())
		}
		sort.Strings(o.events)
		c.MustDo(t, "CONFIG", "SET", "maxmemory", "0")
		return o
	}
	t.Logf("redis-server at %s, replnode at %s", real.Addr, ours.Addr)
	want, got := script(real), script(ours)
	if fmt.Sprintf("%+v", want) != fmt.Sprintf("%+v", got) {
		t.Fatalf("redis-server:\n%+v\nreplnode:\n%+v", want, got)
	}
	if want.evicted != "3" || !strings.HasPrefix(want.oom, "(error) OOM") {
		t.Fatalf("unexpected redis-server outcome %+v", want)
	}
}
