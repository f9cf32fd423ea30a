package server

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAOFRewriteWhileWritingThenLoadaof runs in process (so go test -race
// sees the rewrite goroutine beside the executor): CONFIG SET appendonly
// yes starts a rewrite while writes continue, the writes land in the new
// incr file, and DEBUG LOADAOF rebuilds exactly the same dataset; a second
// BGREWRITEAOF swaps the manifest and deletes the history files.
func TestAOFRewriteWhileWritingThenLoadaof(t *testing.T) {
	for _, preamble := range []string{"yes", "no"} {
		t.Run("preamble="+preamble, func(t *testing.T) {
			n := newCoreNode(t, `save ""`, "enable-debug-command yes", "aof-use-rdb-preamble "+preamble, "aof-timestamp-enabled yes")
			for i := 0; i < 2000; i++ {
				n.do("SET", "k"+strconv.Itoa(i), "v")
				n.do("ZADD", "z", strconv.Itoa(i), "m"+strconv.Itoa(i))
			}
			n.do("SET", "ttl", "v", "PX", "100000")
			if got := n.do("CONFIG", "SET", "appendonly", "yes"); got != "OK" {
				t.Fatal(got)
			}
			for i := 0; i < 500; i++ { // while the rewrite goroutine runs
				n.do("INCR", "counter")
				n.do("HSET", "h", "f"+strconv.Itoa(i), "x")
				n.do("SELECT", strconv.Itoa(i%3))
				n.do("DEL", "k"+strconv.Itoa(i))
			}
			n.do("SELECT", "0")
			waitAOFRewrite(t, n)
			n.do("RPUSH", "after", "a", "b")
			n.s.mu.Lock()
			n.s.aofLayer().flush()
			n.s.mu.Unlock()
			want := n.do("DEBUG", "DIGEST")
			if got := n.do("DEBUG", "LOADAOF"); got != "OK" {
				t.Fatalf("DEBUG LOADAOF: %s", got)
			}
			if got := n.do("DEBUG", "DIGEST"); got != want {
				t.Fatalf("digest after DEBUG LOADAOF %s, want %s", got, want)
			}
			if got := n.do("BGREWRITEAOF"); !strings.Contains(got, "started") {
				t.Fatal(got)
			}
			waitAOFRewrite(t, n)
			dir := filepath.Join(n.s.Config.String("dir"), "appendonlydir")
			entries, _ := os.ReadDir(dir)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			ext := ".rdb"
			if preamble == "no" {
				ext = ".aof"
			}
			want2 := []string{"appendonly.aof.2.base" + ext, "appendonly.aof.2.incr.aof", "appendonly.aof.manifest"}
			if strings.Join(names, ",") != strings.Join(want2, ",") {
				t.Fatalf("appendonlydir holds %v, want %v", names, want2)
			}
			if got := n.do("DEBUG", "LOADAOF"); got != "OK" || n.do("DEBUG", "DIGEST") != want {
				t.Fatalf("after the second rewrite: LOADAOF %s, digest %s want %s", got, n.do("DEBUG", "DIGEST"), want)
			}
		})
	}
}

// waitAOFRewrite runs the cron until no rewrite runs or is scheduled.
func waitAOFRewrite(t *testing.T, n *coreNode) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n.s.mu.Lock()
		n.s.cron()
		a := n.s.aofLayer()
		busy := a.job != nil || a.scheduled || a.state == aofWaitRewrite
		n.s.mu.Unlock()
		if !busy {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the AOF rewrite did not finish")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
