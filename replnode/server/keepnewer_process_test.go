package server_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/redistest"
	"github.com/replnode/replnode/replnode/server"
)

// Tests of replica-keep-newer-data (package fencing, "Keeping newer data"):
// a replica holding data refuses a full resync from a master whose history
// does not contain its own (by offset alone when the master cannot show
// its history), unless the operator granted the loss in the node's epoch
// (REPLNODE EPOCH <n> ACCEPT-DATA-LOSS).

const refusalLog = "Refusing a full resync from master at offset "

// fill writes n keys prefix:0..n-1 on c.
func fill(t *testing.T, c *redistest.Client, prefix string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if r := c.MustDo(t, "SET", prefix+":"+strconv.Itoa(i), strings.Repeat("v", 100)); r.String() != "OK" {
			t.Fatalf("SET: %s", r.String())
		}
	}
}

// replOffset is INFO replication's master_repl_offset.
func replOffset(t *testing.T, c *redistest.Client) int64 {
	t.Helper()
	for _, line := range strings.Split(c.MustDo(t, "INFO", "replication").Str, "\r\n") {
		if v, ok := strings.CutPrefix(line, "master_repl_offset:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("master_repl_offset %q: %v", v, err)
			}
			return n
		}
	}
	t.Fatal("INFO replication has no master_repl_offset")
	return 0
}

// waitSynced waits until replica follows master with its link up at
// master's offset.
func waitSynced(t *testing.T, master, replica *redistest.Client) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		want := replOffset(t, master)
		info := replica.MustDo(t, "INFO", "replication").Str
		if strings.Contains(info, "master_link_status:up\r\n") && replOffset(t, replica) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica never reached the master's offset %d:\n%s", want, info)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitRefusals waits until the replica's log shows at least n refusals.
func waitRefusals(t *testing.T, replica *redistest.Instance, n int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); strings.Count(replica.Log(), refusalLog) < n; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the replica refused %d full resyncs, want %d; log:\n%s", strings.Count(replica.Log(), refusalLog), n, replica.Log())
		}
	}
}

// expectDBSize fails unless c holds n keys.
func expectDBSize(t *testing.T, c *redistest.Client, n int64) {
	t.Helper()
	if got := c.MustDo(t, "DBSIZE").Int; got != n {
		t.Fatalf("DBSIZE = %d, want %d", got, n)
	}
}

// TestReplicaKeepsNewerDataFromBehindMaster: a replnode replica run with
// replica-keep-newer-data yes holds 300 keys from master A; pointed at B, a
// replnode master with 20 keys and a lower offset, it refuses B's full
// resync again and again and keeps its keys; a grant for the node's epoch
// lets exactly one full resync through; after it, a master behind it is
// refused again in the same epoch. A replica without the directive
// behaves as redis-server and is wiped by B at once.
func TestReplicaKeepsNewerDataFromBehindMaster(t *testing.T) {
	a := redistest.StartInProcess(t, "repl-diskless-sync-delay 0")
	ac := a.Dial(t)
	guarded := redistest.StartBinary(t, "replica-keep-newer-data yes", "replicaof 127.0.0.1 "+strconv.Itoa(a.Port))
	plain := redistest.StartBinary(t, "replicaof 127.0.0.1 "+strconv.Itoa(a.Port))
	gc, pc := guarded.Dial(t), plain.Dial(t)
	waitSynced(t, ac, gc)
	waitSynced(t, ac, pc)
	// Written once the replicas are linked: a master's offset counts only
	// what its backlog holds, created by the first replica.
	fill(t, ac, "a", 300)
	waitSynced(t, ac, gc)
	waitSynced(t, ac, pc)
	expectDBSize(t, gc, 300)
	expect(t, gc, `["replica-keep-newer-data", "yes"]`, "CONFIG", "GET", "replica-keep-newer-data")
	expect(t, pc, `["replica-keep-newer-data", "no"]`, "CONFIG", "GET", "replica-keep-newer-data")

	b := redistest.StartInProcess(t, "repl-diskless-sync-delay 0")
	bc := b.Dial(t)
	fill(t, bc, "b", 20)
	if ob, og := replOffset(t, bc), replOffset(t, gc); ob >= og {
		t.Fatalf("B's offset %d is not below the replica's %d: the test proves nothing", ob, og)
	}
	bPort := strconv.Itoa(b.Port)

	// redis-server's behaviour without the directive: B's data replaces A's.
	expect(t, pc, "OK", "REPLICAOF", "127.0.0.1", bPort)
	waitSynced(t, bc, pc)
	expectDBSize(t, pc, 20)

	// The guarded replica refuses, twice (the retry is refused too), and
	// its data is untouched and still readable.
	expect(t, gc, "OK", "REPLICAOF", "127.0.0.1", bPort)
	waitRefusals(t, guarded, 2)
	expectDBSize(t, gc, 300)
	if r := gc.MustDo(t, "GET", "a:299"); r.Str != strings.Repeat("v", 100) {
		t.Fatalf("a:299 after the refusals: %s", r.String())
	}
	if info := gc.MustDo(t, "INFO", "replication").Str; !strings.Contains(info, "master_link_status:down\r\n") {
		t.Fatalf("link up after refusing:\n%s", info)
	}

	// A new epoch alone grants nothing.
	op := guarded.Dial(t)
	expect(t, op, "OK", "REPLNODE", "EPOCH", "3")
	waitRefusals(t, guarded, 3)
	expectDBSize(t, gc, 300)
	expect(t, op, "(error) ERR syntax error", "REPLNODE", "EPOCH", "3", "DISCARD")

	// The operator's grant, in the node's epoch: B's full resync goes
	// through at once (no waiting for the refusal's back-off).
	granted := time.Now()
	expect(t, op, "OK", "REPLNODE", "EPOCH", "3", "ACCEPT-DATA-LOSS")
	waitSynced(t, bc, gc)
	expectDBSize(t, gc, 20)
	if d := time.Since(granted); d > 4*time.Second {
		t.Logf("the grant took %v to let the sync through (loaded machine?)", d)
	}

	// The grant is used up: with B's data grown past a fresh master C, the
	// replica refuses C in the same epoch.
	fill(t, bc, "b2", 50)
	waitSynced(t, bc, gc)
	c := redistest.StartInProcess(t, "repl-diskless-sync-delay 0")
	cc := c.Dial(t)
	fill(t, cc, "c", 5)
	before := strings.Count(guarded.Log(), refusalLog)
	expect(t, gc, "OK", "REPLICAOF", "127.0.0.1", strconv.Itoa(c.Port))
	waitRefusals(t, guarded, before+1)
	expectDBSize(t, gc, 70)
	expect(t, op, "(integer) 3", "REPLNODE", "EPOCH")

	// Being ahead is not enough: C grows past the replica, but its history
	// (a fresh one) still does not contain B's, so C is refused again.
	fill(t, cc, "c2", 200)
	if oc, og := replOffset(t, cc), replOffset(t, gc); oc <= og {
		t.Fatalf("C's offset %d is not above the replica's %d: the test proves nothing", oc, og)
	}
	before = strings.Count(guarded.Log(), refusalLog)
	waitRefusals(t, guarded, before+1)
	expectDBSize(t, gc, 70)
}

// TestReplicaKeepNewerDataRefusesADivergedBranchAheadOfIt is the hole an
// offset-only guard leaves (fault-model seed 166728): master A and its
// replicas B and G share a history; B is promoted, A keeps writing (an old
// master not yet fenced) and G, still A's replica, holds those writes. B
// writes far more, so its offset runs ahead of G's. Pointed at B, G's
// PSYNC on A's history is past B's switch point, B offers a full resync
// at an offset above G's, and G refuses it: B's history (REPLCONF history:
// moved on from A's at the switch) does not contain G's branch. The
// operator's grant lets it through.
func TestReplicaKeepNewerDataRefusesADivergedBranchAheadOfIt(t *testing.T) {
	a := redistest.StartInProcess(t, "repl-diskless-sync-delay 0")
	ac := a.Dial(t)
	aPort := strconv.Itoa(a.Port)
	b := redistest.StartInProcess(t, "repl-diskless-sync-delay 0", "replicaof 127.0.0.1 "+aPort)
	guarded := redistest.StartBinary(t, "replica-keep-newer-data yes", "replicaof 127.0.0.1 "+aPort)
	bc, gc := b.Dial(t), guarded.Dial(t)
	waitSynced(t, ac, bc)
	waitSynced(t, ac, gc)
	fill(t, ac, "a", 100)
	waitSynced(t, ac, bc)
	waitSynced(t, ac, gc)

	// B is promoted: its new history moves on from A's here.
	expect(t, bc, "OK", "REPLICAOF", "NO", "ONE")
	// What G will ask B before PSYNC: B's history, as INFO shows it.
	info := infoFields(t, bc, "replication")
	want := "HISTORY " + info["master_replid"] + " " + info["master_replid2"] + " " + info["second_repl_offset"]
	if r := bc.MustDo(t, "REPLCONF", "history", "*"); r.Str != want {
		t.Fatalf("REPLCONF history = %s, want %s", r.String(), want)
	}
	expect(t, bc, "(error) ERR syntax error", "REPLCONF", "history", "*", "capa", "eof")
	// The operator's replication user (controllers/users.go) needs no new
	// permission: REPLCONF is one command, already allowed for it.
	expect(t, bc, "OK", "ACL", "SETUSER", "replnode-replication", "on", ">pw", "+psync", "+replconf", "+ping")
	asRepl := b.Dial(t)
	expect(t, asRepl, "OK", "AUTH", "replnode-replication", "pw")
	if r := asRepl.MustDo(t, "REPLCONF", "history", "*"); r.Str != want {
		t.Fatalf("REPLCONF history as the replication user = %s, want %s", r.String(), want)
	}
	// A keeps writing: a branch only A and G hold.
	fill(t, ac, "a2", 50)
	waitSynced(t, ac, gc)
	expectDBSize(t, gc, 150)
	// B writes far more: its offset runs ahead of G's.
	fill(t, bc, "b", 400)
	if ob, og := replOffset(t, bc), replOffset(t, gc); ob <= og {
		t.Fatalf("B's offset %d is not above G's %d: the test proves nothing", ob, og)
	}

	expect(t, gc, "OK", "REPLICAOF", "127.0.0.1", strconv.Itoa(b.Port))
	waitRefusals(t, guarded, 2)
	expectDBSize(t, gc, 150)
	if r := gc.MustDo(t, "GET", "a2:49"); r.Str != strings.Repeat("v", 100) {
		t.Fatalf("a2:49, the diverged branch's last write, after the refusals: %s", r.String())
	}
	if log := guarded.Log(); !strings.Contains(log, "secondary "+info["master_replid2"]+" valid up to offset "+info["second_repl_offset"]) {
		t.Fatalf("the refusal does not name B's history, so it was not judged by it:\n%s", log)
	}

	// The operator's grant: the branch is given up for B's data.
	op := guarded.Dial(t)
	expect(t, op, "OK", "REPLNODE", "EPOCH", "1", "ACCEPT-DATA-LOSS")
	waitSynced(t, bc, gc)
	expectDBSize(t, gc, 500)
}

// TestReplicaKeepNewerDataAcceptsAMasterWhoseHistoryContainsIt: G and B
// replicate A; A stops; B is promoted and writes more than its backlog
// holds, so G's PSYNC on A's history cannot continue and B offers a full
// resync. B's history moved on from A's past G's position: it contains
// G's data, and G takes the sync without any grant — the history B shows
// (REPLCONF history), not the +FULLRESYNC line alone, proves it.
func TestReplicaKeepNewerDataAcceptsAMasterWhoseHistoryContainsIt(t *testing.T) {
	a := redistest.StartInProcess(t, "repl-diskless-sync-delay 0")
	ac := a.Dial(t)
	aPort := strconv.Itoa(a.Port)
	b := redistest.StartInProcess(t, "repl-diskless-sync-delay 0", "repl-backlog-size 16384", "replicaof 127.0.0.1 "+aPort)
	guarded := redistest.StartBinary(t, "replica-keep-newer-data yes", "replicaof 127.0.0.1 "+aPort)
	bc, gc := b.Dial(t), guarded.Dial(t)
	waitSynced(t, ac, bc)
	waitSynced(t, ac, gc)
	fill(t, ac, "a", 100)
	waitSynced(t, ac, bc)
	waitSynced(t, ac, gc)
	a.Stop()

	expect(t, bc, "OK", "REPLICAOF", "NO", "ONE")
	fill(t, bc, "b", 400) // about 60 KB of stream: past the 16 KB backlog
	expect(t, gc, "OK", "REPLICAOF", "127.0.0.1", strconv.Itoa(b.Port))
	waitSynced(t, bc, gc)
	expectDBSize(t, gc, 500)
	if info := bc.MustDo(t, "INFO", "stats").Str; !strings.Contains(info, "sync_full:1\r\n") {
		t.Fatalf("G did not take a full resync from B, so the test proves nothing:\n%s", info)
	}
	if log := guarded.Log(); strings.Contains(log, "Refusing") {
		t.Fatalf("refused a master whose history contains its data:\n%s", log)
	}
}

// TestReplicaKeepNewerDataWithRedisServerMaster: the guard leaves ordinary
// replication from a real redis-server 7.0 master alone — an empty replica
// full-syncs, the stream flows, a dropped link continues partially — and,
// since redis-server cannot show its history, judges its full syncs by
// offset: a redis-server master behind it is refused just the same.
func TestReplicaKeepNewerDataWithRedisServerMaster(t *testing.T) {
	m := redistest.StartRedis(t, "repl-diskless-sync-delay 0")
	mc := m.Dial(t)
	fill(t, mc, "m", 100)
	// Turned on as the operator's pods do, through the environment (their
	// redis.conf and command line must start a redis-server too).
	t.Setenv(server.KeepNewerDataEnv, "yes")
	replica := redistest.StartBinary(t, "replicaof 127.0.0.1 "+strconv.Itoa(m.Port))
	rc := replica.Dial(t)
	expect(t, rc, `["replica-keep-newer-data", "yes"]`, "CONFIG", "GET", "replica-keep-newer-data")
	waitSynced(t, mc, rc)
	expectDBSize(t, rc, 100)
	fill(t, mc, "m2", 50)
	waitSynced(t, mc, rc)
	expectDBSize(t, rc, 150)

	// The link drops; the replica continues partially.
	expect(t, mc, "(integer) 1", "CLIENT", "KILL", "TYPE", "replica")
	fill(t, mc, "m3", 10)
	waitSynced(t, mc, rc)
	expectDBSize(t, rc, 160)
	if info := mc.MustDo(t, "INFO", "stats").Str; !strings.Contains(info, "sync_partial_ok:1\r\n") {
		t.Fatalf("the reconnection was not a partial resync:\n%s", info)
	}
	if strings.Contains(replica.Log(), "Refusing") {
		t.Fatalf("refused a sync from a master ahead of it:\n%s", replica.Log())
	}
	// redis-server cannot show its history (it answers REPLCONF history
	// with an error): the guard falls back to offsets, and says so.
	if !strings.Contains(replica.Log(), "Master does not show its replication history (-ERR Unrecognized REPLCONF option: history)") {
		t.Fatalf("no offset-only fallback logged for the redis-server master:\n%s", replica.Log())
	}

	behind := redistest.StartRedis(t, "repl-diskless-sync-delay 0")
	bc := behind.Dial(t)
	fill(t, bc, "x", 3)
	expect(t, rc, "OK", "REPLICAOF", "127.0.0.1", strconv.Itoa(behind.Port))
	waitRefusals(t, replica, 1)
	expectDBSize(t, rc, 160)
}
