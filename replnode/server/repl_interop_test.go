package server

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/rdb"
	"github.com/replnode/replnode/replnode/resp"
	"github.com/replnode/replnode/replnode/store"
)

// ------ INTEROP WITH REAL redis-server 7.0 ------
//
// These tests run our node next to real redis-server processes on loopback
// ports and check what Redis itself reports: link status, offsets, sync
// counters, and DEBUG DIGEST of the data where both ends are real.

// writeLoad sends a bounded mix of writes in db 0 and db 2, including
// relative expiries that must travel as absolute times.
func writeLoad(c *testClient, prefix string, n int) {
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("%s:%d", prefix, i)
		c.do("SET", k, strconv.Itoa(i))
		c.do("RPUSH", prefix+":list", strconv.Itoa(i))
		if i%10 == 0 {
			c.do("SELECT", "2")
			c.do("HSET", prefix+":h", k, "v")
			c.do("SELECT", "0")
			c.do("EXPIRE", k, "1000")
		}
	}
}

// requireLoadCommands skips a test whose write load our node cannot apply
// yet because another area has not registered the commands (the test runs
// by itself once they land).
func requireLoadCommands(t *testing.T) {
	t.Helper()
	requireCommands(t, "set", "rpush", "hset", "expire", "select", "incr")
}

// requireCommands skips the test until every named command is registered.
func requireCommands(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		if commandTable[name] == nil {
			t.Skipf("command %s not registered in this build yet", strings.ToUpper(name))
		}
	}
}

func replInfo(c *testClient) map[string]string { return c.info("replication") }

func waitLinkUp(t *testing.T, c *testClient) {
	t.Helper()
	waitFor(t, 60*time.Second, "master link up", func() bool { return replInfo(c)["master_link_status"] == "up" })
}

func TestInteropChainRealOursReal(t *testing.T) {
	mport, m := startLoadedRealMaster(t, "pre", 200)
	mid := startReplicaOf(t, mport)
	waitFor(t, 60*time.Second, "our replica up", func() bool { return mid.info()["master_link_status"] == "up" })
	bport := startRealRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(mid.port))
	b := dialNode(t, bport)
	writeLoad(m, "during", 300) // while the sub-replica syncs from us
	waitLinkUp(t, b)
	writeLoad(m, "post", 100)
	waitFor(t, 60*time.Second, "equal offsets across the chain", func() bool {
		mo := replInfo(m)["master_repl_offset"]
		return mo == mid.info()["master_repl_offset"] && mo == replInfo(b)["master_repl_offset"]
	})
	if dm, db := m.digest(), b.digest(); dm != db {
		t.Fatalf("digest master %s != sub-replica %s", dm, db)
	}
	if replInfo(b)["master_replid"] != replInfo(m)["master_replid"] {
		t.Fatal("replid not carried down the chain")
	}
}

func TestInteropPartialResyncAfterKill(t *testing.T) {
	for _, diskless := range []string{"yes", "no"} {
		t.Run("diskless="+diskless, func(t *testing.T) { realMasterKillLink(t, diskless) })
	}
}

func realMasterKillLink(t *testing.T, diskless string) {
	requireLoadCommands(t)
	mport, m := startLoadedRealMaster(t, "a", 50, "--repl-diskless-sync", diskless)
	rep := startReplicaOf(t, mport)
	waitFor(t, 60*time.Second, "our replica up", func() bool { return rep.info()["master_link_status"] == "up" })
	m.do("CLIENT", "KILL", "TYPE", "replica")
	writeLoad(m, "b", 50)
	waitFor(t, 60*time.Second, "resynced", func() bool {
		st := m.info("stats")
		return st["sync_partial_ok"] == "1" && rep.info()["master_repl_offset"] == replInfo(m)["master_repl_offset"]
	})
	if st := m.info("stats"); st["sync_full"] != "1" || st["sync_partial_err"] != "0" {
		t.Fatalf("stats after kill: full=%s partial_err=%s", st["sync_full"], st["sync_partial_err"])
	}
	if k := rep.keys(0); k != 102 {
		t.Fatalf("replica db0 keys %d, want 102", k)
	}
}

func TestInteropOurMasterRealReplicas(t *testing.T) {
	for _, diskless := range []string{"yes", "no"} {
		t.Run("diskless="+diskless, func(t *testing.T) { ourMasterRealReplica(t, diskless) })
	}
}

func ourMasterRealReplica(t *testing.T, diskless string) {
	requireLoadCommands(t)
	master := startNode(t, "repl-ping-replica-period", "1", "repl-diskless-sync", diskless)
	mc := dialNode(t, master.port)
	writeLoad(mc, "pre", 100)
	rport := startRealRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(master.port))
	r := dialNode(t, rport)
	writeLoad(mc, "during", 200)
	waitLinkUp(t, r)
	writeLoad(mc, "post", 50)
	waitFor(t, 60*time.Second, "offsets equal", func() bool {
		return master.info()["master_repl_offset"] == replInfo(r)["master_repl_offset"]
	})
	if got := r.do("DBSIZE").Int; got != int64(master.keys(0)) {
		t.Fatalf("replica dbsize %d, master %d", got, master.keys(0))
	}
	if ttl := r.do("TTL", "post:0").Int; ttl < 900 || ttl > 1000 {
		t.Fatalf("expiry not replicated as absolute time: ttl %d", ttl)
	}
	if commandTable["debug"] != nil {
		if dm, dr := mc.digest(), r.digest(); dm != dr {
			t.Fatalf("DEBUG DIGEST: ours %s, real replica %s", dm, dr)
		}
	}
	// WAIT counts the real replica's ACK.
	mc.do("SET", "w", "1")
	if n := mc.do("WAIT", "1", "10000"); n.Int != 1 {
		t.Fatalf("WAIT = %v", n)
	}
	// A killed link continues partially.
	r.do("CLIENT", "KILL", "TYPE", "master")
	mc.do("SET", "after-kill", "1")
	waitFor(t, 60*time.Second, "partial resync", func() bool {
		var ok int64
		master.s.Exec(func() { _, ok, _ = master.s.ReplicationSyncStats() })
		return ok == 1 && replInfo(r)["master_link_status"] == "up"
	})
	waitFor(t, 30*time.Second, "key after kill", func() bool { return r.do("GET", "after-kill").Str == "1" })
	var full int64
	master.s.Exec(func() { full, _, _ = master.s.ReplicationSyncStats() })
	if full != 1 {
		t.Fatalf("sync_full = %d after a partial resync", full)
	}
	role := mc.do("ROLE")
	if len(role.Elems) != 3 || role.Elems[0].Str != "master" || len(role.Elems[2].Elems) != 1 {
		t.Fatalf("ROLE = %v", role)
	}
}

func TestInteropPromotionKeepsReplid2(t *testing.T) {
	mport, m := startLoadedRealMaster(t, "x", 100)
	a := startReplicaOf(t, mport)
	bport := startRealRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(mport))
	b := dialNode(t, bport)
	waitFor(t, 60*time.Second, "A up", func() bool { return a.info()["master_link_status"] == "up" })
	waitLinkUp(t, b)
	waitFor(t, 60*time.Second, "A and B caught up", func() bool {
		mo := replInfo(m)["master_repl_offset"]
		return a.info()["master_repl_offset"] == mo && replInfo(b)["master_repl_offset"] == mo
	})
	oldID := replInfo(m)["master_replid"]
	ac := dialNode(t, a.port)
	if r := ac.do("REPLICAOF", "NO", "ONE"); r.Str != "OK" {
		t.Fatalf("REPLICAOF NO ONE: %v", r)
	}
	ai := a.info()
	if ai["role"] != "master" || ai["master_replid2"] != oldID {
		t.Fatalf("after promotion: %v", ai)
	}
	b.do("REPLICAOF", "127.0.0.1", strconv.Itoa(a.port))
	waitLinkUp(t, b)
	var full, ok int64
	a.s.Exec(func() { full, ok, _ = a.s.ReplicationSyncStats() })
	if full != 0 || ok != 1 {
		t.Fatalf("B's resync with promoted A: sync_full=%d sync_partial_ok=%d", full, ok)
	}
	ac.do("SET", "from-new-master", "1")
	waitFor(t, 30*time.Second, "B follows A", func() bool {
		return b.do("GET", "from-new-master").Str == "1" && replInfo(b)["master_repl_offset"] == a.info()["master_repl_offset"]
	})
	if got := replInfo(b)["master_replid"]; got != a.info()["master_replid"] || !strings.HasPrefix(replInfo(b)["master_replid2"], oldID[:8]) {
		t.Fatalf("B ids: %v", replInfo(b))
	}
}

func TestReplOurMasterOurReplica(t *testing.T) {
	master := startNode(t, "repl-ping-replica-period", "1", "min-replicas-to-write", "1")
	mc := dialNode(t, master.port)
	if r := mc.do("SET", "k", "v"); !r.IsError() || !strings.HasPrefix(r.Str, "NOREPLICAS") {
		t.Fatalf("write without replicas: %v", r)
	}
	rep := startNode(t, "replicaof", "127.0.0.1 "+strconv.Itoa(master.port))
	waitFor(t, 60*time.Second, "our replica up", func() bool { return rep.info()["master_link_status"] == "up" })
	waitFor(t, 30*time.Second, "replica acknowledged", func() bool { return !mc.do("SET", "k", "v").IsError() })
	for i := 0; i < 200; i++ {
		mc.do("INCR", "counter")
	}
	if n := mc.do("WAIT", "1", "10000"); n.Int != 1 {
		t.Fatalf("WAIT = %v", n)
	}
	rc := dialNode(t, rep.port)
	if got := rc.do("GET", "counter").Str; got != "200" {
		t.Fatalf("replica counter %q", got)
	}
	if r := rc.do("SET", "x", "1"); !r.IsError() || !strings.HasPrefix(r.Str, "READONLY") {
		t.Fatalf("write on replica: %v", r)
	}
	if mi, ri := master.info(), rep.info(); mi["master_repl_offset"] != ri["master_repl_offset"] || mi["master_replid"] != ri["master_replid"] {
		t.Fatalf("offsets/ids differ: %v / %v", mi, ri)
	}
	role := rc.do("ROLE")
	if len(role.Elems) != 5 || role.Elems[0].Str != "slave" || role.Elems[3].Str != "connected" {
		t.Fatalf("replica ROLE = %v", role)
	}
}

// savedNode is what a node's dump would hold: its dataset as an RDB and
// the replication AUX fields.
type savedNode struct {
	rdbBytes []byte
	aux      rdb.AuxInfo
}

// saveNode captures a node's dataset and replication position, as SAVE.
func saveNode(t *testing.T, n *testNode) savedNode {
	t.Helper()
	var out savedNode
	var buf bytes.Buffer
	n.s.Exec(func() {
		out.aux = rdb.AuxInfo{RedisVer: Version}
		n.s.ReplicationAuxInfo(&out.aux)
		snaps := make([]*store.Snapshot, len(n.s.Keyspace.DBs))
		for i, db := range n.s.Keyspace.DBs {
			snaps[i] = db.Snapshot()
		}
		if err := rdb.WriteSnapshot(&buf, snaps, out.aux, rdb.DefaultOptions); err != nil {
			t.Error(err)
		}
		for _, sn := range snaps {
			sn.Release()
		}
	})
	out.rdbBytes = buf.Bytes()
	if !out.aux.HasRepl {
		t.Fatal("saved node has no replication info")
	}
	return out
}

// restore loads a saved node into a fresh server before it serves, as the
// startup sequence does with dump.rdb.
func (sv savedNode) restore(t *testing.T) func(s *Server) {
	return func(s *Server) {
		_, err := rdb.Load(bytes.NewReader(sv.rdbBytes), rdb.Handler{Entry: func(e *rdb.Entry) error {
			s.Keyspace.DBs[e.DB].Set(e.Key, e.Value, false)
			if e.HasExpire {
				s.Keyspace.DBs[e.DB].SetExpireAt(e.Key, e.ExpireAt)
			}
			return nil
		}})
		if err != nil {
			t.Error(err)
		}
		s.RestoreReplicationInfo(sv.aux.ReplID, sv.aux.ReplOffset, sv.aux.ReplStreamDB)
	}
}

func TestInteropReplicaRestartContinuesPartially(t *testing.T) {
	requireLoadCommands(t)
	mport, m := startLoadedRealMaster(t, "a", 100)
	b := startReplicaOf(t, mport)
	waitFor(t, 60*time.Second, "replica up", func() bool {
		return b.info()["master_link_status"] == "up" && b.info()["master_repl_offset"] == replInfo(m)["master_repl_offset"]
	})
	saved := saveNode(t, b)
	b.s.Close()
	writeLoad(m, "b", 50) // written while the replica is down
	b2 := startNodeWith(t, 0, saved.restore(t), "replicaof", "127.0.0.1 "+strconv.Itoa(mport))
	waitFor(t, 60*time.Second, "restarted replica caught up", func() bool {
		return b2.info()["master_link_status"] == "up" && b2.info()["master_repl_offset"] == replInfo(m)["master_repl_offset"]
	})
	st := m.info("stats")
	if st["sync_full"] != "1" || st["sync_partial_ok"] != "1" {
		t.Fatalf("restart resync: sync_full=%s sync_partial_ok=%s", st["sync_full"], st["sync_partial_ok"])
	}
	if got, want := int64(b2.keys(0)), m.do("DBSIZE").Int; got != want {
		t.Fatalf("restarted replica has %d keys, master %d", got, want)
	}
}

func TestInteropMasterRestartContinuesPartially(t *testing.T) {
	requireLoadCommands(t)
	a := startNode(t)
	ac := dialNode(t, a.port)
	writeLoad(ac, "a", 50)
	rport := startRealRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(a.port))
	r := dialNode(t, rport)
	waitLinkUp(t, r)
	waitFor(t, 60*time.Second, "replica caught up", func() bool {
		return replInfo(r)["master_repl_offset"] == a.info()["master_repl_offset"]
	})
	saved := saveNode(t, a)
	port := a.port
	a.s.Close()
	waitFor(t, 60*time.Second, "replica notices", func() bool { return replInfo(r)["master_link_status"] == "down" })
	a2 := startNodeWith(t, port, saved.restore(t))
	waitLinkUp(t, r)
	var full, ok int64
	a2.s.Exec(func() { full, ok, _ = a2.s.ReplicationSyncStats() })
	if full != 0 || ok != 1 {
		t.Fatalf("after master restart: sync_full=%d sync_partial_ok=%d\n%s", full, ok, a2.log.String())
	}
	if a2.info()["master_replid2"] != saved.aux.ReplID {
		t.Fatalf("restarted master replid2 %s, saved %s", a2.info()["master_replid2"], saved.aux.ReplID)
	}
	a2c := dialNode(t, a2.port)
	a2c.do("SET", "after-restart", "1")
	waitFor(t, 30*time.Second, "stream after restart", func() bool { return r.do("GET", "after-restart").Str == "1" })
}

func TestInteropClientKillMasterOnOurReplica(t *testing.T) {
	requireLoadCommands(t)
	if commandTable["client"] == nil {
		t.Skip("CLIENT not registered in this build yet")
	}
	mport, m := startLoadedRealMaster(t, "a", 30)
	rep := startReplicaOf(t, mport)
	waitFor(t, 60*time.Second, "replica up", func() bool { return rep.info()["master_link_status"] == "up" })
	rc := dialNode(t, rep.port)
	if r := rc.do("CLIENT", "KILL", "TYPE", "master"); r.IsError() {
		t.Fatalf("CLIENT KILL TYPE master: %v", r)
	}
	writeLoad(m, "b", 30)
	waitFor(t, 60*time.Second, "partial resync after kill", func() bool {
		return m.info("stats")["sync_partial_ok"] == "1" && rep.info()["master_repl_offset"] == replInfo(m)["master_repl_offset"]
	})
	if st := m.info("stats"); st["sync_full"] != "1" {
		t.Fatalf("sync_full = %s after CLIENT KILL TYPE master", st["sync_full"])
	}
}

func TestInteropWriteLoadDuringSync(t *testing.T) {
	requireLoadCommands(t)
	if commandTable["debug"] == nil {
		t.Skip("DEBUG not registered in this build yet")
	}
	for _, diskless := range []string{"yes", "no"} {
		t.Run("diskless="+diskless, func(t *testing.T) {
			master := startNode(t, "repl-diskless-sync", diskless)
			mc := dialNode(t, master.port)
			var bulk []byte
			for i := 0; i < 20000; i++ {
				bulk = resp.AppendCommandStrings(bulk, "SET", fmt.Sprintf("key:%d", i), strings.Repeat("v", 40))
			}
			if _, err := mc.conn.Write(bulk); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 60*time.Second, "bulk load", func() bool { return master.keys(0) == 20000 })
			// A second client writes while the replica attaches and syncs.
			done := make(chan struct{})
			wc := dialNode(t, master.port)
			go func() {
				defer close(done)
				for i := 0; i < 1500; i++ {
					wc.do("INCR", "ctr")
					wc.do("RPUSH", "l", strconv.Itoa(i))
					wc.do("EXPIRE", fmt.Sprintf("key:%d", i), "5000")
				}
			}()
			rport := startRealRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(master.port))
			r := dialNode(t, rport)
			<-done
			waitLinkUp(t, r)
			waitFor(t, 60*time.Second, "offsets equal", func() bool {
				return master.info()["master_repl_offset"] == replInfo(r)["master_repl_offset"]
			})
			if dm, dr := dialNode(t, master.port).digest(), r.digest(); dm != dr {
				t.Fatalf("digest ours %s, real replica %s", dm, dr)
			}
		})
	}
}

func TestInteropDeterministicStream(t *testing.T) {
	requireCommands(t, "multi", "exec", "set", "incr", "select", "lpush", "sadd", "spop", "incrbyfloat", "debug", "pttl")
	master := startNode(t)
	mc := dialNode(t, master.port)
	rport := startRealRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(master.port))
	r := dialNode(t, rport)
	waitLinkUp(t, r)
	mc.do("MULTI")
	mc.do("SET", "a", "1")
	mc.do("INCR", "a")
	mc.do("SELECT", "3")
	mc.do("LPUSH", "l", "x")
	if res := mc.do("EXEC"); len(res.Elems) != 4 {
		t.Fatalf("EXEC = %v", res)
	}
	mc.do("SELECT", "0")
	mc.do("SET", "e", "1", "EX", "100")
	mc.do("INCRBYFLOAT", "f", "1.5")
	mc.do("SADD", "s", "1", "2", "3", "4")
	mc.do("SPOP", "s")
	mc.do("SPOP", "s", "2")
	waitFor(t, 30*time.Second, "offsets equal", func() bool {
		return master.info()["master_repl_offset"] == replInfo(r)["master_repl_offset"]
	})
	if a, b := mc.digest(), r.digest(); a != b {
		t.Fatalf("digest ours %s, real replica %s", a, b)
	}
	if ms, rs := mc.do("PTTL", "e").Int, r.do("PTTL", "e").Int; rs <= 0 || ms-rs > 5000 || rs-ms > 5000 {
		t.Fatalf("PTTL master %d replica %d", ms, rs)
	}
}

// The link to a real master is listed by CLIENT LIST (flags=M, the
// master's address), and CLIENT KILL <addr> and CLIENT KILL ADDR drop it;
// each time the link comes back with a partial resync.
func TestInteropMasterLinkListedAndKilledByAddr(t *testing.T) {
	requireLoadCommands(t)
	mport, m := startLoadedRealMaster(t, "a", 30)
	rep := startReplicaOf(t, mport)
	waitFor(t, 60*time.Second, "replica up", func() bool { return rep.info()["master_link_status"] == "up" })
	rc := dialNode(t, rep.port)
	masterAddr := "127.0.0.1:" + strconv.Itoa(mport)
	list := rc.do("CLIENT", "LIST", "TYPE", "master").Str
	if !strings.Contains(list, " addr="+masterAddr+" ") || !strings.Contains(list, " flags=M ") {
		t.Fatalf("CLIENT LIST TYPE master = %q, want the link with addr=%s flags=M", list, masterAddr)
	}
	kills := [][]string{{"CLIENT", "KILL", masterAddr}, {"CLIENT", "KILL", "ADDR", masterAddr}}
	for i, kill := range kills {
		if r := rc.do(kill...); r.IsError() || (r.Type == ':' && r.Int != 1) {
			t.Fatalf("%v = %v", kill, r)
		}
		writeLoad(m, fmt.Sprintf("b%d", i), 10)
		want := strconv.Itoa(i + 1)
		waitFor(t, 60*time.Second, "partial resync after "+strings.Join(kill, " "), func() bool {
			return m.info("stats")["sync_partial_ok"] == want && rep.info()["master_repl_offset"] == replInfo(m)["master_repl_offset"]
		})
	}
	if st := m.info("stats"); st["sync_full"] != "1" {
		t.Fatalf("sync_full = %s after killing the link by address", st["sync_full"])
	}
}

// startRealRedisIn starts redis-server on port with dir as its working
// directory (dump.rdb survives a restart there); stop kills it.
func startRealRedisIn(t *testing.T, port int, dir string, args ...string) (stop func()) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed")
	}
	logf := filepath.Join(dir, "redis.log")
	argv := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", logf, "--repl-diskless-sync-delay", "0", "--daemonize", "no", "--enable-debug-command", "local"}, args...)
	cmd := exec.Command(bin, argv...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			b, _ := os.ReadFile(logf)
			t.Logf("log of redis-server %d:\n%s", port, b)
		}
	})
	waitForListener(t, port, "redis-server up")
	return stop
}

// A chain real master → our node → real sub-replica continues with
// partial resyncs on both links after the master restarts from its RDB
// (SHUTDOWN SAVE): the master keeps its old replid as replid2, we continue
// with it and carry the new replid down, and the sub-replica continues
// from us through our replid2.
func TestInteropChainContinuesAfterMasterRestart(t *testing.T) {
	requireLoadCommands(t)
	mport, mdir := freePort(t), t.TempDir()
	startRealRedisIn(t, mport, mdir)
	m := dialNode(t, mport)
	writeLoad(m, "a", 50)
	mid := startReplicaOf(t, mport)
	waitFor(t, 60*time.Second, "our replica up", func() bool { return mid.info()["master_link_status"] == "up" })
	bport := startRealRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(mid.port))
	b := dialNode(t, bport)
	waitLinkUp(t, b)
	writeLoad(m, "b", 50)
	waitFor(t, 60*time.Second, "chain caught up", func() bool {
		mo := replInfo(m)["master_repl_offset"]
		return mid.info()["master_repl_offset"] == mo && replInfo(b)["master_repl_offset"] == mo
	})
	var midFull0 int64
	mid.s.Exec(func() { midFull0, _, _ = mid.s.ReplicationSyncStats() })

	if _, err := m.conn.Write(resp.AppendCommandStrings(nil, "SHUTDOWN", "SAVE")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "master down", func() bool { return mid.info()["master_link_status"] == "down" })
	startRealRedisIn(t, mport, mdir)
	m2 := dialNode(t, mport)
	writeLoad(m2, "c", 50)
	waitFor(t, 60*time.Second, "chain caught up after the restart", func() bool {
		mo := replInfo(m2)["master_repl_offset"]
		return mid.info()["master_link_status"] == "up" && replInfo(b)["master_link_status"] == "up" &&
			mid.info()["master_repl_offset"] == mo && replInfo(b)["master_repl_offset"] == mo
	})
	if st := m2.info("stats"); st["sync_full"] != "0" || st["sync_partial_ok"] != "1" {
		t.Errorf("restarted master: sync_full=%s sync_partial_ok=%s, want 0 and 1", st["sync_full"], st["sync_partial_ok"])
	}
	var midFull int64
	mid.s.Exec(func() { midFull, _, _ = mid.s.ReplicationSyncStats() })
	if midFull != midFull0 {
		t.Errorf("our node served %d full syncs to the sub-replica after the restart", midFull-midFull0)
	}
	if dm, db := m2.digest(), b.digest(); dm != db {
		t.Fatalf("digest master %s != sub-replica %s", dm, db)
	}
}
