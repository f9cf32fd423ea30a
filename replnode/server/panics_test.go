package server

import (
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/store"
)

// fullInfo reads every INFO field of our node, on the executor.
func (n *testNode) fullInfo() map[string]string {
	var text string
	n.s.Exec(func() { text = n.s.Info([]byte("everything")) })
	out := map[string]string{}
	for _, line := range strings.Split(text, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			out[k] = v
		}
	}
	return out
}

// internalPanics reads INFO stats internal_panics.
func (n *testNode) internalPanics(t *testing.T) int {
	t.Helper()
	v, _ := strconv.Atoi(n.fullInfo()["internal_panics"])
	return v
}

// TestReaderPanicIsRecovered: a panic on a client's reader goroutine
// outside any handler (here in an after-command hook, while the reader
// holds the executor) closes that client only, releases the executor and
// is logged and counted; the node keeps serving.
func TestReaderPanicIsRecovered(t *testing.T) {
	n := startNode(t)
	var armed atomic.Bool
	n.s.Exec(func() {
		n.s.OnAfterCommand(func() {
			if armed.CompareAndSwap(true, false) {
				panic("injected after-command panic")
			}
		})
	})
	victim := dialNode(t, n.port)
	other := dialNode(t, n.port)
	victim.do("SET", "k", "1")
	armed.Store(true)
	if _, err := victim.conn.Write([]byte("INCR k\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	_ = victim.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, err := victim.conn.Read(buf); err != nil {
			break // closed: the reader recovered and freed the client
		}
	}
	// The executor was released: another client's commands run.
	if got := other.do("INCR", "k").Int; got != 3 {
		t.Fatalf("INCR after the panic = %d, want 3 (the panicking INCR ran)", got)
	}
	if got := n.internalPanics(t); got != 1 {
		t.Fatalf("internal_panics = %d, want 1", got)
	}
	if !strings.Contains(n.log.String(), "Panic in the reader of client") || !strings.Contains(n.log.String(), "injected after-command panic") {
		t.Fatalf("panic not logged:\n%s", n.log.String())
	}
	waitFor(t, 5*time.Second, "the client freed", func() bool { return n.fullInfo()["connected_clients"] == "1" })
}

// TestCronPanicIsRecovered: a panic in the server cron is recovered each
// tick; the cron keeps running and clients are served.
func TestCronPanicIsRecovered(t *testing.T) {
	n := startNode(t)
	var panics, ticks atomic.Int32
	n.s.Exec(func() {
		n.s.OnCron(func(int64) {
			if panics.Load() < 3 {
				panics.Add(1)
				panic("injected cron panic")
			}
		})
		n.s.OnCron(func(int64) { ticks.Add(1) })
	})
	c := dialNode(t, n.port)
	waitFor(t, 10*time.Second, "the cron to run past its panics", func() bool { return ticks.Load() > 3 })
	if r := c.do("PING"); r.Str != "PONG" {
		t.Fatalf("PING = %v", r)
	}
	if got := n.internalPanics(t); got != 3 {
		t.Fatalf("internal_panics = %d, want 3", got)
	}
	// A panic repeating every tick is logged once a minute.
	if got := strings.Count(n.log.String(), "Panic in the server cron"); got != 1 {
		t.Fatalf("cron panic logged %d times, want 1", got)
	}
}

// panicValue is a value of a type the RDB writer has no encoding for
// (it panics): it stands for any value the writer cannot handle.
type panicValue struct{}

func (panicValue) Kind() store.Kind     { return store.KindString }
func (panicValue) Encoding() string     { return "raw" }
func (v panicValue) Clone() store.Value { return v }

// TestBackgroundSavePanicFailsTheSave: a panic while writing a background
// save fails that save (rdb_last_bgsave_status:err) instead of ending the
// process; the next save succeeds once the value is gone.
func TestBackgroundSavePanicFailsTheSave(t *testing.T) {
	n := startNode(t, "dir", t.TempDir())
	c := dialNode(t, n.port)
	c.do("SET", "a", "1")
	n.s.Exec(func() { n.s.Keyspace.DBs[0].Set("bad", panicValue{}, false) })
	c.do("BGSAVE")
	waitFor(t, 10*time.Second, "the save to fail", func() bool {
		return n.fullInfo()["rdb_bgsave_in_progress"] == "0" && n.fullInfo()["rdb_last_bgsave_status"] == "err"
	})
	c.do("DEL", "bad")
	c.do("BGSAVE")
	waitFor(t, 10*time.Second, "the next save to succeed", func() bool {
		return n.fullInfo()["rdb_bgsave_in_progress"] == "0" && n.fullInfo()["rdb_last_bgsave_status"] == "ok"
	})
	if got := n.internalPanics(t); got != 1 {
		t.Fatalf("internal_panics = %d, want 1", got)
	}
}

// TestFullSyncPanicDropsTheReplica: a panic while sending a full sync
// releases the replica's output and drops it; it syncs again when it can.
func TestFullSyncPanicDropsTheReplica(t *testing.T) {
	m := startNode(t)
	mc := dialNode(t, m.port)
	mc.do("SET", "a", "1")
	m.s.Exec(func() { m.s.Keyspace.DBs[0].Set("bad", panicValue{}, false) })
	rep := startReplicaOf(t, m.port)
	waitFor(t, 20*time.Second, "a failed sync", func() bool { return m.internalPanics(t) > 0 })
	mc.do("DEL", "bad")
	mc.do("SET", "b", "2")
	waitFor(t, 60*time.Second, "the replica in sync", func() bool {
		return rep.info()["master_link_status"] == "up" && m.info()["master_repl_offset"] == rep.info()["master_repl_offset"]
	})
	rc := dialNode(t, rep.port)
	if got := rc.do("GET", "b").Str; got != "2" {
		t.Fatalf("replica b = %q", got)
	}
	if mc.do("PING").Str != "PONG" {
		t.Fatal("master stopped serving")
	}
}

// TestReplicationLinkPanicResyncs: a panic on the replica's link
// goroutine while applying the stream (outside a handler) drops the link
// and the replica comes back with a full sync, equal to its master.
func TestReplicationLinkPanicResyncs(t *testing.T) {
	m := startNode(t)
	rep := startReplicaOf(t, m.port)
	mc := dialNode(t, m.port)
	waitFor(t, 60*time.Second, "link up", func() bool { return rep.info()["master_link_status"] == "up" })
	var armed atomic.Bool
	rep.s.Exec(func() {
		rep.s.OnAfterCommand(func() {
			if armed.CompareAndSwap(true, false) {
				panic("injected link panic")
			}
		})
	})
	before, _ := strconv.Atoi(m.fullInfo()["sync_full"])
	armed.Store(true)
	for i := 0; i < 50; i++ {
		mc.do("SET", "k"+strconv.Itoa(i), strconv.Itoa(i))
	}
	waitFor(t, 60*time.Second, "a new full sync and equal offsets", func() bool {
		full, _ := strconv.Atoi(m.fullInfo()["sync_full"])
		return full > before && rep.info()["master_link_status"] == "up" && m.info()["master_repl_offset"] == rep.info()["master_repl_offset"]
	})
	if rep.internalPanics(t) != 1 {
		t.Fatalf("replica internal_panics = %s", rep.fullInfo()["internal_panics"])
	}
	rc := dialNode(t, rep.port)
	if dm, dr := mc.digest(), rc.digest(); dm != dr {
		t.Fatalf("digest: master %s, replica %s", dm, dr)
	}
}
