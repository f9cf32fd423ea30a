package server

import (
	"strings"
	"sync"
	"testing"
)

// TestNodesInOneProcessKeepTheirOwnState runs two nodes side by side, as a
// replica next to its master in the replication tests: one node's encoding
// thresholds and command statistics must not leak into the other's, and
// both executors running at once must not race (go test -race).
func TestNodesInOneProcessKeepTheirOwnState(t *testing.T) {
	small := newCoreNode(t, "set-max-intset-entries 2", "hash-max-listpack-entries 2", "zset-max-listpack-entries 2")
	dflt := newCoreNode(t)

	var wg sync.WaitGroup
	for _, n := range []*coreNode{small, dflt} {
		wg.Add(1)
		go func(n *coreNode) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				n.do("SADD", "s", "1", "2", "3")
				n.do("HSET", "h", "a", "1", "b", "2", "c", "3")
				n.do("ZADD", "z", "1", "a", "2", "b", "3", "c")
				n.do("GET", "k")
			}
		}(n)
	}
	wg.Wait()

	small.run(transcript{
		{cmd("OBJECT", "ENCODING", "s"), `"hashtable"`},
		{cmd("OBJECT", "ENCODING", "h"), `"hashtable"`},
		{cmd("OBJECT", "ENCODING", "z"), `"skiplist"`},
	})
	dflt.run(transcript{
		{cmd("OBJECT", "ENCODING", "s"), `"intset"`},
		{cmd("OBJECT", "ENCODING", "h"), `"listpack"`},
		{cmd("OBJECT", "ENCODING", "z"), `"listpack"`},
	})

	// CONFIG SET on one node changes that node's later conversions only.
	dflt.do("CONFIG", "SET", "set-max-intset-entries", "1")
	dflt.do("SADD", "s2", "1", "2")
	small.do("SADD", "s2", "1", "2")
	if got := dflt.do("OBJECT", "ENCODING", "s2"); got != `"hashtable"` {
		t.Errorf("after CONFIG SET set-max-intset-entries 1: s2 is %s", got)
	}
	if got := small.do("OBJECT", "ENCODING", "s2"); got != `"intset"` {
		t.Errorf("the other node's CONFIG SET leaked: s2 is %s", got)
	}

	// Each node counts only its own calls.
	for _, n := range []*coreNode{small, dflt} {
		info := n.do("INFO", "commandstats")
		if !strings.Contains(info, "cmdstat_get:calls=200,") {
			t.Errorf("commandstats of one node count another's calls:\n%s", info)
		}
	}
	dflt.do("CONFIG", "RESETSTAT")
	if info := small.do("INFO", "commandstats"); !strings.Contains(info, "cmdstat_get:calls=200,") {
		t.Errorf("CONFIG RESETSTAT on one node reset another's stats:\n%s", info)
	}
	if info := dflt.do("INFO", "commandstats"); strings.Contains(info, "cmdstat_get:") {
		t.Errorf("CONFIG RESETSTAT left counters:\n%s", info)
	}
}
