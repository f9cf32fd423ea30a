package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/config"
	"github.com/replnode/replnode/replnode/resp"
)

// ------ TEST HARNESS: our nodes in-process, real redis-server as a process ------

// syncBuffer collects a server's log for assertions.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testNode is one of our servers listening on a loopback port.
type testNode struct {
	s    *Server
	port int
	log  *syncBuffer
}

// startNode starts one of our servers with the given directives.
func startNode(t *testing.T, directives ...string) *testNode {
	t.Helper()
	return startNodeWith(t, 0, nil, directives...)
}

// startNodeWith starts one of our servers on port (0: any free one),
// running beforeServe on the executor first (loading a dataset, as the
// startup sequence does).
func startNodeWith(t *testing.T, port int, beforeServe func(s *Server), directives ...string) *testNode {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	port = l.Addr().(*net.TCPAddr).Port
	cfg := config.Default()
	all := append([]string{"port", strconv.Itoa(port), "bind", "127.0.0.1", "repl-diskless-sync-delay", "0", "save", "", "enable-debug-command", "local"}, directives...)
	for i := 0; i+1 < len(all); i += 2 {
		if err := cfg.Set(all[i], strings.Fields(all[i+1]), true); err != nil && all[i+1] != "" {
			t.Fatalf("config %s %s: %v", all[i], all[i+1], err)
		} else if all[i+1] == "" {
			_ = cfg.Set(all[i], []string{""}, true)
		}
	}
	s := New(cfg)
	buf := &syncBuffer{}
	s.Log.SetOutput(buf)
	if beforeServe != nil {
		s.Exec(func() { beforeServe(s) })
	}
	s.ListenOn(l)
	go func() { _ = s.Serve() }()
	t.Cleanup(func() {
		s.Close()
		if t.Failed() {
			t.Logf("log of node %d:\n%s", port, buf.String())
		}
	})
	return &testNode{s: s, port: port, log: buf}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startRealRedis starts redis-server 7.0 on a free loopback port.
func startRealRedis(t *testing.T, args ...string) int {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed")
	}
	port := freePort(t)
	startRealRedisIn(t, port, t.TempDir(), args...)
	return port
}

// startLoadedRealMaster starts redis-server 7.0 (args) holding n keys
// written by writeLoad(prefix) and returns its port and a client.
func startLoadedRealMaster(t *testing.T, prefix string, n int, args ...string) (int, *testClient) {
	t.Helper()
	port := startRealRedis(t, args...)
	m := dialNode(t, port)
	writeLoad(m, prefix, n)
	return port, m
}

// startReplicaOf starts a node replicating the server on masterPort.
func startReplicaOf(t *testing.T, masterPort int, directives ...string) *testNode {
	t.Helper()
	return startNode(t, append([]string{"replicaof", "127.0.0.1 " + strconv.Itoa(masterPort)}, directives...)...)
}

// waitForListener waits until something accepts connections on port.
func waitForListener(t *testing.T, port int, what string) {
	t.Helper()
	waitFor(t, 10*time.Second, what, func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}

// waitFor polls cond until it holds or the (generous) deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testClient is a minimal RESP client.
type testClient struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
	buf  []byte
}

func dialNode(t *testing.T, port int) *testClient {
	t.Helper()
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &testClient{t: t, conn: c, br: bufio.NewReader(c)}
}

// do sends a command and returns its reply.
func (c *testClient) do(args ...string) resp.Reply {
	c.t.Helper()
	if _, err := c.conn.Write(resp.AppendCommandStrings(nil, args...)); err != nil {
		c.t.Fatal(err)
	}
	return c.receive(fmt.Sprint(args))
}

// readReply reads one more reply without sending anything.
func (c *testClient) readReply() resp.Reply {
	c.t.Helper()
	return c.receive("reply")
}

// receive reads one reply, waiting up to 30s; what names it in failures.
func (c *testClient) receive(what string) resp.Reply {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	tmp := make([]byte, 64<<10)
	for {
		if len(c.buf) > 0 {
			r, n, err := resp.ReadReply(c.buf)
			if err == nil {
				c.buf = c.buf[n:]
				return r
			}
			if !errors.Is(err, resp.ErrIncomplete) {
				c.t.Fatalf("%s: bad reply: %v", what, err)
			}
		}
		n, err := c.br.Read(tmp)
		if err != nil {
			c.t.Fatalf("%s: read: %v", what, err)
		}
		c.buf = append(c.buf, tmp[:n]...)
	}
}

// digest returns DEBUG DIGEST, failing on an error reply.
func (c *testClient) digest() string {
	c.t.Helper()
	r := c.do("DEBUG", "DIGEST")
	if r.IsError() || len(r.Str) != 40 {
		c.t.Fatalf("DEBUG DIGEST: %v", r)
	}
	return r.Str
}

// info returns INFO <section> as a map.
func (c *testClient) info(section string) map[string]string {
	c.t.Helper()
	r := c.do("INFO", section)
	out := map[string]string{}
	for _, line := range strings.Split(r.Str, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			out[k] = v
		}
	}
	return out
}

// nodeInfo reads our node's replication info directly (INFO belongs to the
// core and may not list the section yet).
func (n *testNode) info() map[string]string {
	var text string
	n.s.Exec(func() { text = n.s.ReplicationInfo() })
	out := map[string]string{}
	for _, line := range strings.Split(text, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			out[k] = v
		}
	}
	return out
}

func (n *testNode) keys(db int) int {
	var k int
	n.s.Exec(func() { k = n.s.Keyspace.DBs[db].Len() })
	return k
}

// ------ TESTS ------

func TestReplRealMasterOurReplica(t *testing.T) {
	mport := startRealRedis(t)
	m := dialNode(t, mport)
	for i := 0; i < 100; i++ {
		m.do("SET", fmt.Sprintf("k%d", i), strconv.Itoa(i))
	}
	m.do("SELECT", "3")
	m.do("RPUSH", "list", "a", "b", "c")
	rep := startReplicaOf(t, mport)
	waitFor(t, 30*time.Second, "replica link up", func() bool { return rep.info()["master_link_status"] == "up" })
	if rep.keys(0) != 100 || rep.keys(3) != 1 {
		t.Fatalf("keys after full sync: db0=%d db3=%d", rep.keys(0), rep.keys(3))
	}
	m.do("SET", "after", "sync")
	waitFor(t, 20*time.Second, "offsets equal", func() bool {
		return m.info("replication")["master_repl_offset"] == rep.info()["master_repl_offset"]
	})
	mi := m.info("replication")
	if mi["connected_slaves"] != "1" || !strings.Contains(mi["slave0"], "state=online") {
		t.Fatalf("master sees %v", mi)
	}
	if ri := rep.info(); ri["master_replid"] != mi["master_replid"] {
		t.Fatalf("replid %s vs %s", ri["master_replid"], mi["master_replid"])
	}
	// The real master's WAIT sends REPLCONF GETACK; our ACK must carry an
	// offset that covers the write.
	m.do("SET", "waited", "1")
	if n := m.do("WAIT", "1", "10000"); n.Int != 1 {
		t.Fatalf("real master WAIT with our replica = %v", n)
	}
	waitFor(t, 20*time.Second, "offsets equal after GETACK", func() bool {
		return replInfo(m)["master_repl_offset"] == rep.info()["master_repl_offset"]
	})
}

func TestReplOurMasterRealReplica(t *testing.T) {
	master := startNode(t, "repl-ping-replica-period", "1")
	rport := startRealRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(master.port))
	r := dialNode(t, rport)
	waitFor(t, 30*time.Second, "real replica link up", func() bool { return r.info("replication")["master_link_status"] == "up" })
	// PINGs every second advance both offsets equally.
	waitFor(t, 20*time.Second, "offsets equal and moving", func() bool {
		mo := master.info()["master_repl_offset"]
		return mo != "0" && mo == r.info("replication")["master_repl_offset"]
	})
	mi := master.info()
	if mi["connected_slaves"] != "1" || !strings.Contains(mi["slave0"], "state=online") {
		t.Fatalf("master info %v", mi)
	}
	if r.info("replication")["master_replid"] != mi["master_replid"] {
		t.Fatal("replid differs")
	}
}

func TestReplSharedDisklessSnapshot(t *testing.T) {
	master := startNode(t, "repl-diskless-sync", "yes", "repl-diskless-sync-delay", "60", "repl-diskless-sync-max-replicas", "2")
	mc := dialNode(t, master.port)
	mc.do("SET", "k", "v")
	p1 := startRealRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(master.port))
	p2 := startRealRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(master.port))
	r1, r2 := dialNode(t, p1), dialNode(t, p2)
	waitLinkUp(t, r1)
	waitLinkUp(t, r2)
	if n := strings.Count(master.log.String(), "Starting BGSAVE for SYNC with target: replicas sockets"); n != 1 {
		t.Fatalf("%d snapshots for two replicas that asked together, want 1", n)
	}
	for _, r := range []*testClient{r1, r2} {
		if r.do("GET", "k").Str != "v" {
			t.Fatal("replica misses the key")
		}
	}
	if master.info()["connected_slaves"] != "2" {
		t.Fatalf("master info %v", master.info())
	}
}

func TestReplMasterDownStaleData(t *testing.T) {
	dead := freePort(t)
	rep := startNode(t, "replicaof", "127.0.0.1 "+strconv.Itoa(dead), "replica-serve-stale-data", "no", "repl-timeout", "2")
	c := dialNode(t, rep.port)
	if r := c.do("GET", "k"); !r.IsError() || !strings.HasPrefix(r.Str, "MASTERDOWN") {
		t.Fatalf("GET with master down = %v", r)
	}
	info := rep.info()
	if info["role"] != "slave" || info["master_link_status"] != "down" || info["master_port"] != strconv.Itoa(dead) {
		t.Fatalf("info %v", info)
	}
	waitFor(t, 10*time.Second, "retries logged", func() bool {
		return strings.Count(rep.log.String(), "Connecting to MASTER 127.0.0.1:"+strconv.Itoa(dead)) >= 2
	})
	role := c.do("ROLE")
	if len(role.Elems) != 5 || role.Elems[0].Str != "slave" || role.Elems[4].Int != -1 {
		t.Fatalf("ROLE = %v", role)
	}
	// REPLICAOF NO ONE turns it into a master that serves data.
	if r := c.do("REPLICAOF", "NO", "ONE"); r.Str != "OK" {
		t.Fatalf("REPLICAOF NO ONE = %v", r)
	}
	if r := c.do("GET", "k"); r.IsError() {
		t.Fatalf("GET after promotion = %v", r)
	}
}

// fakeReplica performs a replica handshake over a raw connection and then
// neither reads nor acknowledges anything.
func fakeReplica(t *testing.T, port int, capa string) *testClient {
	t.Helper()
	c := dialNode(t, port)
	if r := c.do("REPLCONF", "listening-port", "7777"); r.Str != "OK" {
		t.Fatalf("REPLCONF listening-port: %v", r)
	}
	if capa != "" {
		c.do("REPLCONF", "capa", capa, "capa", "psync2")
	}
	if _, err := c.conn.Write(resp.AppendCommandStrings(nil, "PSYNC", "?", "-1")); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestReplOutputBufferLimitDisconnects(t *testing.T) {
	master := startNode(t, "repl-diskless-sync", "yes", "client-output-buffer-limit", "replica 65536 0 0")
	fakeReplica(t, master.port, "eof")
	mc := dialNode(t, master.port)
	waitFor(t, 30*time.Second, "snapshot sent", func() bool {
		return strings.Contains(master.log.String(), "Waiting for REPLCONF ACK from slave to enable streaming")
	})
	// Diskless: the stream waits for the first ACK, which never comes, so
	// it accumulates until the hard limit closes the replica.
	big := strings.Repeat("x", 4096)
	for i := 0; i < 64 && master.info()["connected_slaves"] == "1"; i++ {
		mc.do("SET", "k"+strconv.Itoa(i), big)
	}
	waitFor(t, 30*time.Second, "replica dropped", func() bool { return master.info()["connected_slaves"] == "0" })
	if !strings.Contains(master.log.String(), "scheduled to be closed ASAP for overcoming of output buffer limits") {
		t.Fatalf("no limit log line:\n%s", master.log.String())
	}
}

func TestReplSilentReplicaTimesOut(t *testing.T) {
	master := startNode(t, "repl-diskless-sync", "no", "repl-timeout", "1")
	fakeReplica(t, master.port, "")
	waitFor(t, 30*time.Second, "replica online", func() bool {
		return strings.Contains(master.info()["slave0"], "state=online")
	})
	waitFor(t, 30*time.Second, "timed out", func() bool { return master.info()["connected_slaves"] == "0" })
	if !strings.Contains(master.log.String(), "Disconnecting timedout replica (streaming sync): 127.0.0.1:7777") {
		t.Fatalf("no timeout log line:\n%s", master.log.String())
	}
}

func TestReplOursChainAndPromotion(t *testing.T) {
	a := startNode(t, "repl-ping-replica-period", "1")
	ac := dialNode(t, a.port)
	for i := 0; i < 300; i++ {
		ac.do("SET", "k"+strconv.Itoa(i), strconv.Itoa(i))
	}
	b := startNode(t, "replicaof", "127.0.0.1 "+strconv.Itoa(a.port))
	waitFor(t, 60*time.Second, "B up", func() bool { return b.info()["master_link_status"] == "up" })
	c := startNode(t, "replicaof", "127.0.0.1 "+strconv.Itoa(b.port))
	waitFor(t, 60*time.Second, "C up", func() bool { return c.info()["master_link_status"] == "up" })
	ac.do("SELECT", "5")
	ac.do("INCR", "n")
	waitFor(t, 60*time.Second, "equal offsets A-B-C", func() bool {
		o := a.info()["master_repl_offset"]
		return b.info()["master_repl_offset"] == o && c.info()["master_repl_offset"] == o
	})
	if a.keys(0) != c.keys(0) || c.keys(5) != 1 {
		t.Fatalf("keys A=%d C=%d C(db5)=%d", a.keys(0), c.keys(0), c.keys(5))
	}
	// Promote B; C (already B's replica) keeps going. A becomes B's replica
	// and continues partially from B's replid2.
	bc := dialNode(t, b.port)
	bc.do("REPLICAOF", "NO", "ONE")
	oldID := a.info()["master_replid"]
	if bi := b.info(); bi["master_replid2"] != oldID || bi["role"] != "master" {
		t.Fatalf("B after promotion %v", bi)
	}
	ac.do("REPLICAOF", "127.0.0.1", strconv.Itoa(b.port))
	waitFor(t, 60*time.Second, "A follows B", func() bool { return a.info()["master_link_status"] == "up" })
	waitFor(t, 60*time.Second, "C back on B", func() bool { return c.info()["master_link_status"] == "up" })
	var full, ok int64
	b.s.Exec(func() { full, ok, _ = b.s.ReplicationSyncStats() })
	if full != 1 || ok != 2 {
		t.Fatalf("B after promotion: sync_full=%d (C's first sync) sync_partial_ok=%d (A and C), want 1 and 2", full, ok)
	}
	bc.do("SET", "new", "1")
	waitFor(t, 60*time.Second, "all follow B", func() bool {
		o := b.info()["master_repl_offset"]
		return a.info()["master_repl_offset"] == o && c.info()["master_repl_offset"] == o
	})
	if a.info()["master_replid"] != b.info()["master_replid"] || c.info()["master_replid"] != b.info()["master_replid"] {
		t.Fatal("replids differ after the switch")
	}
}

func TestReplLinkClosesOnShutdown(t *testing.T) {
	mport := startRealRedis(t)
	m := dialNode(t, mport)
	rep := startReplicaOf(t, mport)
	waitFor(t, 60*time.Second, "replica up", func() bool { return rep.info()["master_link_status"] == "up" })
	rep.s.Close()
	waitFor(t, 30*time.Second, "master sees the replica go", func() bool { return replInfo(m)["connected_slaves"] == "0" })
}

func TestReplWaitTimesOutWithoutAcks(t *testing.T) {
	master := startNode(t, "repl-diskless-sync", "no")
	fakeReplica(t, master.port, "")
	waitFor(t, 30*time.Second, "replica online", func() bool {
		return strings.Contains(master.info()["slave0"], "state=online")
	})
	mc := dialNode(t, master.port)
	mc.do("SET", "k", "v")
	start := time.Now()
	if n := mc.do("WAIT", "1", "300"); n.Type != ':' || n.Int != 0 {
		t.Fatalf("WAIT with a silent replica = %v", n)
	}
	if time.Since(start) < 250*time.Millisecond {
		t.Fatal("WAIT returned before its timeout")
	}
	if n := mc.do("WAIT", "0", "0"); n.Int != 0 {
		t.Fatalf("WAIT 0 0 = %v", n)
	}
	if r := mc.do("WAIT", "1", "-1"); !r.IsError() {
		t.Fatalf("negative timeout accepted: %v", r)
	}
}

func TestReplWaitUnblockedWhenBecomingReplica(t *testing.T) {
	master := startNode(t, "repl-diskless-sync", "no")
	fakeReplica(t, master.port, "")
	waitFor(t, 30*time.Second, "replica online", func() bool {
		return strings.Contains(master.info()["slave0"], "state=online")
	})
	waiter := dialNode(t, master.port)
	waiter.do("SET", "k", "v")
	if _, err := waiter.conn.Write(resp.AppendCommandStrings(nil, "WAIT", "1", "0")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "WAIT blocked", func() bool {
		var n int
		master.s.Exec(func() { n = master.s.repl().waits.Len() })
		return n == 1
	})
	admin := dialNode(t, master.port)
	admin.do("REPLICAOF", "127.0.0.1", strconv.Itoa(freePort(t)))
	// The blocked WAIT gets its answer now, not never.
	waiter.buf = nil
	r := waiter.do("PING")
	if !r.IsError() || !strings.HasPrefix(r.Str, "UNBLOCKED") {
		t.Fatalf("blocked WAIT answered %v", r)
	}
}

// TestReplWaitDuringPauseHoldsGetAck checks, against our server and
// redis-server 7.0 alike, that a WAIT blocking while clients are paused does
// not send REPLCONF GETACK (it would move the offset of a master paused so a
// replica can catch up with it, as a switchover does), and that the GETACK
// goes out once the pause ends.
func TestReplWaitDuringPauseHoldsGetAck(t *testing.T) {
	ours := startNode(t, "repl-diskless-sync", "no", "repl-ping-replica-period", "60")
	ports := map[string]int{"replnode": ours.port, "redis-server": startRealRedis(t, "--repl-diskless-sync", "no", "--repl-ping-replica-period", "60")}
	for name, port := range ports {
		t.Run(name, func(t *testing.T) {
			fakeReplica(t, port, "")
			mc := dialNode(t, port)
			waitFor(t, 30*time.Second, "replica online", func() bool {
				return strings.Contains(mc.info("replication")["slave0"], "state=online")
			})
			mc.do("SET", "k", "v")
			admin := dialNode(t, port)
			if r := admin.do("CLIENT", "PAUSE", "1500", "WRITE"); r.IsError() {
				t.Fatalf("CLIENT PAUSE: %v", r)
			}
			before := mc.info("replication")["master_repl_offset"]
			if n := mc.do("WAIT", "1", "200"); n.Int != 0 {
				t.Fatalf("WAIT with a silent replica = %v", n)
			}
			if after := mc.info("replication")["master_repl_offset"]; after != before {
				t.Fatalf("offset moved from %s to %s during the pause", before, after)
			}
			admin.do("CLIENT", "UNPAUSE")
			waitFor(t, 10*time.Second, "the held GETACK sent after the pause", func() bool {
				return mc.info("replication")["master_repl_offset"] != before
			})
		})
	}
}
