package server

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/aof"
)

// These tests kill -9 nodes running with appendonly yes and restart them on
// their appendonlydir: the replication ID and offset come back from the
// AOF's position annotations, as they come back from an RDB's repl-id /
// repl-offset, so the restarted members continue one history.

// replField reads one field of INFO replication.
func (p *persistProc) replField(name string) string {
	p.t.Helper()
	return p.infoSection("replication", name)
}

func (p *persistProc) replOffset() int64 {
	p.t.Helper()
	n, err := strconv.ParseInt(p.replField("master_repl_offset"), 10, 64)
	if err != nil {
		p.t.Fatalf("master_repl_offset: %v", err)
	}
	return n
}

// waitFor polls cond until it holds or a generous deadline passes.
func (p *persistProc) waitFor(what string, cond func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out waiting for %s\n%s", what, p.logText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAOFReplicationPositionSurvivesKillOfBoth: a master and its replica,
// both appendonly yes with appendfsync always, written to with everything
// that makes the stream and the AOF differ (WAIT's REPLCONF GETACK, other
// databases, transactions, non-idempotent commands, a rewrite halfway),
// are both killed with SIGKILL. Restarted on their directories, the master
// reports its old replid as replid2 valid up to the offset of its last
// write, the replica the master's replid at that same offset; the replica
// continues with PSYNC (+CONTINUE, no full sync) and the data is the same.
// redis-check-aof accepts both directories and redis-server 7.0 loads the
// master's with an equal digest.
func TestAOFReplicationPositionSurvivesKillOfBoth(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	mdir, rdir := t.TempDir(), t.TempDir()
	aofArgs := []string{"--save", "", "--appendonly", "yes", "--appendfsync", "always", "--repl-ping-replica-period", "3600"}
	m := startProc(t, mdir, aofArgs...)
	m.connect()
	// replica-serve-stale-data no, as the operator configures: the
	// replica restarted while its master is down must load its AOF all
	// the same (the replay is not a client refused with -MASTERDOWN).
	replicaArgs := append(append([]string{}, aofArgs...), "--replicaof", "127.0.0.1", strconv.Itoa(m.port),
		"--replica-serve-stale-data", "no")
	r := startProc(t, rdir, replicaArgs...)
	r.connect()
	r.waitFor("the replica's link", func() bool { return r.replField("master_link_status") == "up" })
	for i := 0; i < 200; i++ {
		k := strconv.Itoa(i % 17)
		m.must("INCR", "counter:"+k)
		m.must("APPEND", "log", k)
		switch i % 10 {
		case 3:
			m.must("WAIT", "1", "5000") // REPLCONF GETACK in the stream only
		case 5:
			m.must("SELECT", strconv.Itoa(i%4))
			m.must("LPUSH", "list", k)
			m.must("SELECT", "0")
		case 7:
			m.must("MULTI")
			m.must("INCRBY", "tx", "3")
			m.must("SELECT", "2")
			m.must("RPUSH", "txlist", k)
			m.must("EXEC")
		}
		if i == 100 {
			m.must("BGREWRITEAOF")
			m.waitRewriteDone()
		}
	}
	m.must("WAIT", "1", "5000")
	// The last change is in another database: its stream bytes start
	// with a SELECT, which the restored offset must count.
	before := m.replOffset()
	m.must("SELECT", "1")
	m.must("SET", "last", "write")
	last := before + int64(len("*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n*3\r\n$3\r\nSET\r\n$4\r\nlast\r\n$5\r\nwrite\r\n"))
	if got := m.replOffset(); got != last {
		t.Fatalf("master offset %d after the last write, want %d", got, last)
	}
	r.waitFor("the replica at the master's offset", func() bool { return r.replOffset() == last })
	replID := m.replField("master_replid")
	digest := m.must("DEBUG", "DIGEST")
	keyspace := m.must("INFO", "keyspace")
	m.kill9()
	r.kill9()

	checkAOFWithTool(t, filepath.Join(mdir, "appendonlydir"))
	checkAOFWithTool(t, filepath.Join(rdir, "appendonlydir"))
	ann, _ := filepath.Glob(filepath.Join(mdir, "appendonlydir", "*.incr.aof"))
	var annotated bool
	for _, f := range ann {
		b, _ := os.ReadFile(f)
		annotated = annotated || strings.Contains(string(b), "#RPNEXT:"+replID)
	}
	if !annotated {
		t.Fatalf("no #RPNEXT annotation in the master's incr files: the test does not exercise them")
	}

	// The replica first, its master still down.
	r2 := startProc(t, rdir, replicaArgs...)
	r2.connectStale()
	r2.waitFor("the replica's AOF loaded", func() bool { return r2.infoField("loading") == "0" })
	if got := r2.must("INFO", "keyspace"); got != keyspace {
		t.Fatalf("replica restarted with its master down: keyspace %q, want %q\n%s", got, keyspace, r2.logText())
	}
	if got := r2.replField("master_replid"); got != replID {
		t.Fatalf("restarted replica: master_replid %q, want its master's %q", got, replID)
	}
	if got := r2.replOffset(); got != last {
		t.Fatalf("restarted replica: master_repl_offset %d, want %d", got, last)
	}

	m2 := startProcOnPort(t, mdir, m.port, aofArgs...)
	m2.connect()
	if got := m2.replField("master_replid2"); got != replID {
		t.Fatalf("restarted master: master_replid2 %q, want the old replid %q\n%s", got, replID, m2.logText())
	}
	if got := m2.replField("second_repl_offset"); got != strconv.FormatInt(last+1, 10) {
		t.Fatalf("restarted master: second_repl_offset %s, want %d", got, last+1)
	}
	if got := m2.replOffset(); got != last {
		t.Fatalf("restarted master: master_repl_offset %d, want %d", got, last)
	}
	if got := m2.must("DEBUG", "DIGEST"); got != digest {
		t.Fatalf("restarted master: digest %v, want %v", got, digest)
	}

	r2.waitFor("the replica's link", func() bool { return r2.replField("master_link_status") == "up" })
	if got := m2.infoSection("stats", "sync_partial_ok"); got != "1" {
		t.Fatalf("restarted replica: sync_partial_ok %s on the master, want 1 (sync_full %s)\nreplica:\n%s",
			got, m2.infoSection("stats", "sync_full"), r2.logText())
	}
	if got := m2.infoSection("stats", "sync_full"); got != "0" {
		t.Fatalf("restarted replica: sync_full %s, want 0", got)
	}
	m2.must("INCR", "counter:0")
	want := m2.must("DEBUG", "DIGEST")
	r2.waitFor("the replica's digest", func() bool { return r2.must("DEBUG", "DIGEST") == want })

	// redis-server 7.0 reads the annotated files as plain AOF.
	m2.kill9()
	rs := startRedisProc(t, mdir, "--appendonly", "yes")
	rs.connect()
	if got := rs.must("DEBUG", "DIGEST"); got != want {
		t.Fatalf("redis-server on the annotated directory: digest %v, want %v\n%s", got, want, rs.logText())
	}
	// What redis-server appends is in no history of ours: replnode
	// started on the directory again restores no position, now or after
	// one more restart, though the commands follow our annotations.
	rs.must("SELECT", "1")
	rs.must("SET", "from-redis-server", "1")
	rs.kill9()
	for i := 0; i < 2; i++ {
		p := startProcOnPort(t, mdir, m.port, aofArgs...)
		p.connect()
		if got := p.must("GET", "from-redis-server"); got != nil && i == 0 {
			t.Fatalf("db 0 has the key written in db 1")
		}
		p.must("SELECT", "1")
		if got := p.must("GET", "from-redis-server"); got != "1" {
			t.Fatalf("restart %d after redis-server: GET = %v", i, got)
		}
		if got := p.replField("master_replid2"); strings.Trim(got, "0") != "" {
			t.Fatalf("restart %d after redis-server appended: master_replid2 %s restored\n%s", i, got, p.logText())
		}
		if got := p.replOffset(); got != 0 {
			t.Fatalf("restart %d after redis-server appended: master_repl_offset %d", i, got)
		}
		p.kill9()
	}
}

// connectStale is connect for a replica whose link is down with
// replica-serve-stale-data no, which answers PING -MASTERDOWN (as Redis
// 7.0): it waits until INFO answers.
func (p *persistProc) connectStale() {
	p.t.Helper()
	p.connectWhen(func() bool {
		r, err := p.do("INFO", "server")
		_, ok := r.(string)
		return err == nil && ok
	})
}

// startAOFMasterWithReplica starts a master with args on dir and a replica
// of it (no AOF), and returns both once the replica's link is up: a
// replica makes the master keep a backlog, hence a position to record.
func startAOFMasterWithReplica(t *testing.T, dir string, args []string) (master, replica *persistProc) {
	t.Helper()
	m := startProc(t, dir, args...)
	m.connect()
	r := startProc(t, t.TempDir(), "--save", "", "--replicaof", "127.0.0.1", strconv.Itoa(m.port))
	r.connect()
	r.waitFor("the replica's link", func() bool { return r.replField("master_link_status") == "up" })
	return m, r
}

// onlyIncrFile is the path of the one incr file in dir's appendonlydir.
func onlyIncrFile(t *testing.T, dir string) string {
	t.Helper()
	incr, _ := filepath.Glob(filepath.Join(dir, "appendonlydir", "*.incr.aof"))
	if len(incr) != 1 {
		t.Fatalf("incr files %v, want one", incr)
	}
	return incr[0]
}

// TestAOFReplicationPositionTornTail: a master's last incr file cut in the
// middle of its last command (aof-load-truncated yes) comes back at the
// offset where the change before it ended, with the torn command's data
// gone: the position is never ahead of the data.
func TestAOFReplicationPositionTornTail(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	dir := t.TempDir()
	args := []string{"--save", "", "--appendonly", "yes", "--appendfsync", "always", "--repl-ping-replica-period", "3600"}
	m, r := startAOFMasterWithReplica(t, dir, args)
	for i := 0; i < 50; i++ {
		m.must("INCR", "n")
	}
	before := m.replOffset()
	// REPLCONF GETACK: stream bytes after the last change that no change
	// in the AOF accounts for, so the torn command has an RPNEXT before it.
	m.must("WAIT", "1", "5000")
	replID := m.replField("master_replid")
	m.must("SET", "torn", strings.Repeat("x", 100))
	m.kill9()
	r.kill9()
	incr := onlyIncrFile(t, dir)
	st, err := os.Stat(incr)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(incr, st.Size()-40); err != nil {
		t.Fatal(err)
	}
	m2 := startProc(t, dir, append(args, "--aof-load-truncated", "yes")...)
	m2.connect()
	if got := m2.must("GET", "torn"); got != nil {
		t.Fatalf("the torn command was applied: %v", got)
	}
	if got := m2.must("GET", "n"); got != "50" {
		t.Fatalf("n = %v after the restart", got)
	}
	if got := m2.replField("master_replid2"); got != replID {
		t.Fatalf("master_replid2 %q, want %q\n%s", got, replID, m2.logText())
	}
	if got := m2.replOffset(); got != before {
		t.Fatalf("master_repl_offset %d after a torn tail, want %d (the offset before the torn command)", got, before)
	}
}

// TestAOFNoPositionWithoutHistory: a master with no replica and no backlog
// has no history to continue (as Redis saves no repl-id in its RDB then):
// restarted, it starts a fresh one at offset 0 and says nothing was
// restored. Its incr file holds no annotation: it is the file redis-server
// writes.
func TestAOFNoPositionWithoutHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	dir := t.TempDir()
	m := startProc(t, dir, "--save", "", "--appendonly", "yes")
	m.connect()
	m.must("SET", "k", "v")
	replID := m.replField("master_replid")
	m.kill9()
	b, _ := os.ReadFile(filepath.Join(dir, "appendonlydir", (&aof.Manifest{}).NewIncr("appendonly.aof")))
	if strings.Contains(string(b), "#RP") {
		t.Fatalf("a position annotation with no history: %q", b)
	}
	m2 := startProc(t, dir, "--save", "", "--appendonly", "yes")
	m2.connect()
	if got := m2.must("GET", "k"); got != "v" {
		t.Fatalf("GET k = %v", got)
	}
	if m2.replField("master_replid") == replID || m2.replOffset() != 0 || strings.Contains(m2.logText(), "Replication position from") {
		t.Fatalf("a position was restored with no history:\n%s", m2.logText())
	}
}

// TestAOFReplicationPositionNotTakenWhenReplayRefuses: a command of the AOF
// that the replay refuses (here one with a wrong argument count, appended
// by hand after the annotations) means the data loaded is not what the
// files say: the node starts without the recorded position.
func TestAOFReplicationPositionNotTakenWhenReplayRefuses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	dir := t.TempDir()
	args := []string{"--save", "", "--appendonly", "yes", "--appendfsync", "always", "--repl-ping-replica-period", "3600"}
	m, r := startAOFMasterWithReplica(t, dir, args)
	m.must("SET", "k", "v")
	replID := m.replField("master_replid")
	m.kill9()
	r.kill9()
	incr := onlyIncrFile(t, dir)
	f, err := os.OpenFile(incr, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("*2\r\n$3\r\nSET\r\n$1\r\nk\r\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	m2 := startProc(t, dir, args...)
	m2.connect()
	if got := m2.must("GET", "k"); got != "v" {
		t.Fatalf("GET k = %v", got)
	}
	if got := m2.replField("master_replid2"); got == replID || m2.replOffset() != 0 {
		t.Fatalf("position restored from a replay with a refused command (replid2 %s, offset %d)\n%s", got, m2.replOffset(), m2.logText())
	}
	if !strings.Contains(m2.logText(), "were refused while loading") {
		t.Fatalf("no warning:\n%s", m2.logText())
	}
}
