package server

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests pin the order of 113ce74 (review finding 4): when a rewrite
// switches appending to a new incr file, the new file's position header
// vouches for every byte before it, so the old file's tail is synced
// before the header is written; if that sync fails the new file starts
// with no position and writes are refused until a background sync
// succeeds. The AOF's sync seam (bioWorker.syncFile) records every sync;
// the background worker is held on a sentinel job around the switch, so
// any sync of the old file seen then is the executor's own, not a
// background one racing the header.

// switchSyncRecorder is the AOF's sync function in these tests.
type switchSyncRecorder struct {
	dir      string // the appendonlydir
	sentinel *os.File

	mu sync.Mutex
	// syncs are the synced files, each with the size of newIncr at that
	// moment (-1: not created yet).
	syncs   []syncSeen
	newIncr string
	oldIncr *os.File // the file appended to before the switch
	failOld bool     // syncs of oldIncr fail while set
	// blocked is closed once the worker waits on the sentinel; release
	// lets it go on.
	blocked, release chan struct{}
}

type syncSeen struct {
	old         bool // the file is oldIncr
	name        string
	newIncrSize int64
	background  bool // the sentinel was released: may be the worker's
}

func (r *switchSyncRecorder) sync(f *os.File) error {
	if f == r.sentinel {
		close(r.blocked)
		<-r.release
		return nil
	}
	name := filepath.Base(f.Name())
	r.mu.Lock()
	size := int64(-1)
	if st, err := os.Stat(filepath.Join(r.dir, r.newIncr)); err == nil && r.newIncr != "" {
		size = st.Size()
	}
	released := false
	select {
	case <-r.release:
		released = true
	default:
	}
	r.syncs = append(r.syncs, syncSeen{old: f == r.oldIncr, name: name, newIncrSize: size, background: released})
	fail := r.failOld && f == r.oldIncr
	r.mu.Unlock()
	if fail {
		return syscall.EIO
	}
	return fdatasync(f)
}

// seen returns the syncs recorded so far.
func (r *switchSyncRecorder) seen() []syncSeen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]syncSeen(nil), r.syncs...)
}

// startSwitchScenario starts an in-process node with appendonly yes and
// appendfsync everysec whose syncs go through a recorder, gives it a
// replication history (a backlog, as when a replica attached) so its incr
// files carry positions, and returns it with the old and new incr file
// names of the next rewrite.
func startSwitchScenario(t *testing.T) (*coreNode, *switchSyncRecorder, string, string) {
	t.Helper()
	n := newCoreNode(t, `save ""`, "appendfsync everysec", "aof-use-rdb-preamble yes")
	dir := filepath.Join(n.s.Config.String("dir"), "appendonlydir")
	sentinel, err := os.CreateTemp(t.TempDir(), "sentinel")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sentinel.Close() })
	rec := &switchSyncRecorder{dir: dir, sentinel: sentinel, blocked: make(chan struct{}), release: make(chan struct{})}
	t.Cleanup(func() {
		select {
		case <-rec.release:
		default:
			close(rec.release)
		}
	})
	n.s.mu.Lock()
	n.s.aofLayer().bio.syncFile = rec.sync
	n.s.repl().createBacklog()
	n.s.mu.Unlock()
	if got := n.do("CONFIG", "SET", "appendonly", "yes"); got != "OK" {
		t.Fatal(got)
	}
	waitAOFRewrite(t, n)
	old, next := "appendonly.aof.1.incr.aof", "appendonly.aof.2.incr.aof"
	if b, err := os.ReadFile(filepath.Join(dir, old)); err != nil || !strings.HasPrefix(string(b), "#RP:") {
		t.Fatalf("the first incr file %s does not start with a position (%v): %q; the scenario needs one", old, err, b)
	}
	rec.mu.Lock()
	rec.newIncr = next
	rec.mu.Unlock()

	// Hold the background worker, then leave a tail in the old file that
	// no sync has covered.
	n.s.mu.Lock()
	n.s.aofLayer().bio.submit(sentinel, false)
	n.s.mu.Unlock()
	select {
	case <-rec.blocked:
	case <-time.After(time.Minute):
		t.Fatal("the AOF's background worker never reached the sentinel job")
	}
	for i := 0; i < 100; i++ {
		n.do("SET", "tail:"+strconv.Itoa(i), "v")
	}
	n.s.mu.Lock()
	n.s.aofLayer().flush()
	a := n.s.aofLayer()
	rec.mu.Lock()
	rec.oldIncr = a.file
	rec.mu.Unlock()
	if a.lastIncrFsynced >= a.lastIncrSize {
		n.s.mu.Unlock()
		t.Fatalf("the old file's tail counts as synced (%d of %d bytes): the scenario needs an unsynced tail", a.lastIncrFsynced, a.lastIncrSize)
	}
	n.s.mu.Unlock()
	return n, rec, old, next
}

// TestAOFSwitchSyncsOldTailBeforeNewHeader: the old incr file is synced by
// the switch itself while the new file is still empty, and the new file
// then starts with its position header.
func TestAOFSwitchSyncsOldTailBeforeNewHeader(t *testing.T) {
	n, rec, old, next := startSwitchScenario(t)
	if got := n.do("BGREWRITEAOF"); !strings.Contains(got, "started") {
		t.Fatal(got)
	}
	var before []syncSeen
	for _, s := range rec.seen() {
		if s.old && !s.background {
			before = append(before, s)
		}
	}
	if len(before) == 0 {
		t.Fatalf("the switch to %s did not sync %s before going on (syncs seen %+v): a power loss could keep the new header and lose the old tail", next, old, rec.seen())
	}
	if before[0].newIncrSize != 0 {
		t.Fatalf("%s was synced when %s already held %d bytes: the header was written first", old, next, before[0].newIncrSize)
	}
	b, err := os.ReadFile(filepath.Join(rec.dir, next))
	if err != nil || !strings.HasPrefix(string(b), "#RP:") || strings.HasPrefix(string(b), "#RP:?") {
		t.Fatalf("%s after a synced switch: %q (%v), want a known position header", next, b, err)
	}
	close(rec.release)
	waitAOFRewrite(t, n)
	if got := n.do("SET", "after", "1"); got != "OK" {
		t.Fatalf("SET after the switch: %s", got)
	}
}

// TestAOFSwitchWithFailedSyncStartsWithoutPositionAndRefusesWrites: the
// old file's sync fails at the switch: the new file gets no position
// header, writes answer MISCONF while the background sync has not
// succeeded, and are accepted again once it has.
func TestAOFSwitchWithFailedSyncStartsWithoutPositionAndRefusesWrites(t *testing.T) {
	n, rec, old, next := startSwitchScenario(t)
	rec.mu.Lock()
	rec.failOld = true
	rec.mu.Unlock()
	if got := n.do("BGREWRITEAOF"); !strings.Contains(got, "started") {
		t.Fatal(got)
	}
	failedAtSwitch := false
	for _, s := range rec.seen() {
		failedAtSwitch = failedAtSwitch || s.old && !s.background
	}
	if !failedAtSwitch {
		t.Fatalf("the switch never synced %s, so its failure could not be seen (syncs %+v)", old, rec.seen())
	}
	b, err := os.ReadFile(filepath.Join(rec.dir, next))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(string(b), "#RP") {
		t.Fatalf("%s starts with a position after the old tail failed to sync: %q", next, b)
	}
	if got := n.do("SET", "refused", "1"); !strings.Contains(got, "MISCONF") {
		t.Fatalf("SET after a failed switch sync: %q, want MISCONF", got)
	}
	if got := n.do("INFO", "persistence"); !strings.Contains(got, "aof_last_write_status:err") {
		t.Fatalf("INFO persistence does not report the failed sync:\n%s", got)
	}

	// The background sync of the old file, queued behind the sentinel,
	// succeeds: writes are accepted again.
	rec.mu.Lock()
	rec.failOld = false
	rec.mu.Unlock()
	close(rec.release)
	deadline := time.Now().Add(time.Minute)
	for {
		got := n.do("SET", "accepted", "1")
		if got == "OK" {
			break
		}
		if !strings.Contains(got, "MISCONF") || time.Now().After(deadline) {
			t.Fatalf("SET once the background sync succeeded: %q", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	waitAOFRewrite(t, n)
	if got := n.do("GET", "refused"); got != "(nil)" {
		t.Fatalf("the refused write was applied: GET refused = %q", got)
	}
}
