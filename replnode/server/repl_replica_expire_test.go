package server

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/rdb"
	"github.com/replnode/replnode/replnode/resp"
	"github.com/replnode/replnode/replnode/store"
)

// scriptedMaster is a master whose stream the test writes by hand: it
// answers a replica's handshake, sends an empty RDB and then whatever the
// test sends, so the test decides what the replica applies and when.
type scriptedMaster struct {
	port int
	conn chan net.Conn
}

// startReplicaOfScriptedMaster starts a node replicating a scripted master
// and returns it with the master's end of the link, once the link is up.
func startReplicaOfScriptedMaster(t *testing.T) (*testNode, net.Conn) {
	t.Helper()
	m := startScriptedMaster(t)
	rep := startNode(t, "replicaof", "127.0.0.1 "+strconv.Itoa(m.port))
	var conn net.Conn
	select {
	case conn = <-m.conn:
	case <-time.After(30 * time.Second):
		t.Fatal("replica did not sync")
	}
	waitFor(t, 30*time.Second, "link up", func() bool { return rep.info()["master_link_status"] == "up" })
	return rep, conn
}

func startScriptedMaster(t *testing.T) *scriptedMaster {
	t.Helper()
	return startScriptedMasterWith(t, nil)
}

// startScriptedMasterWith is startScriptedMaster sending payload as its
// RDB (nil: one key already expired).
func startScriptedMasterWith(t *testing.T, payload []byte) *scriptedMaster {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	m := &scriptedMaster{port: l.Addr().(*net.TCPAddr).Port, conn: make(chan net.Conn, 1)}
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		br := bufio.NewReader(c)
		var p resp.Parser
		var buf []byte
		tmp := make([]byte, 4096)
		for {
			args, n, err := p.ReadCommand(buf, resp.Limits{MaxBulkLen: 1 << 20})
			if errors.Is(err, resp.ErrIncomplete) || (err == nil && n == 0) {
				k, rerr := br.Read(tmp)
				if rerr != nil {
					c.Close()
					return
				}
				buf = append(buf, tmp[:k]...)
				continue
			}
			if err != nil {
				c.Close()
				return
			}
			buf = buf[n:]
			switch strings.ToUpper(string(args[0])) {
			case "PING":
				_, _ = c.Write([]byte("+PONG\r\n"))
			case "PSYNC", "SYNC":
				if payload == nil {
					payload = expiredKeyPayload()
				}
				_, _ = c.Write([]byte("+FULLRESYNC " + strings.Repeat("a", 40) + " 0\r\n$" + strconv.Itoa(len(payload)) + "\r\n"))
				_, _ = c.Write(payload)
				m.conn <- c
				go func() { _, _ = bufio.NewReader(c).WriteTo(discard{}) }()
				return
			default:
				_, _ = c.Write([]byte("+OK\r\n"))
			}
		}
	}()
	return m
}

// expiredKeyPayload is an RDB holding one key already expired by any
// clock.
func expiredKeyPayload() []byte {
	ks := store.NewKeyspace(1)
	ks.DBs[0].Set("old", store.NewString([]byte("v")), false)
	ks.DBs[0].SetExpireAt("old", 1000)
	snap := ks.DBs[0].Snapshot()
	defer snap.Release()
	var payload bytes.Buffer
	if err := rdb.WriteSnapshot(&payload, []*store.Snapshot{snap}, rdb.AuxInfo{RedisVer: Version}, rdb.DefaultOptions); err != nil {
		panic(err)
	}
	return payload.Bytes()
}

// A payload holding a key twice is corrupt: the replica fails the
// transfer and serves none of it (Redis stops on a duplicate key too),
// rather than loading what came before or keeping the second value.
func TestReplicaRefusesPayloadWithDuplicateKey(t *testing.T) {
	var payload bytes.Buffer
	e := rdb.NewEncoder(&payload, rdb.DefaultOptions)
	e.Header()
	e.WriteAuxFields(rdb.AuxInfo{RedisVer: Version})
	e.SelectDB(0)
	e.ResizeDB(3, 0)
	e.Entry("first", store.NewString([]byte("1")), 0, false)
	e.Entry("dup", store.NewString([]byte("a")), 0, false)
	e.Entry("dup", store.NewString([]byte("b")), 0, false)
	if err := e.Finish(); err != nil {
		t.Fatal(err)
	}
	m := startScriptedMasterWith(t, payload.Bytes())
	rep := startNode(t, "replicaof", "127.0.0.1 "+strconv.Itoa(m.port))
	waitFor(t, 30*time.Second, "the transfer refused", func() bool {
		return strings.Contains(rep.log.String(), "duplicate key")
	})
	if st := rep.info()["master_link_status"]; st == "up" {
		t.Fatalf("master_link_status %s after a corrupt payload", st)
	}
	if rep.keys(0) != 0 {
		t.Fatalf("the replica serves %d keys of a corrupt payload", rep.keys(0))
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// A replica applies its master's writes to a key that is logically expired
// by its own clock, as Redis's expireIfNeeded does for the master client:
// only the master's DEL removes a key from a replica.
func TestReplicaAppliesMasterWriteToLogicallyExpiredKey(t *testing.T) {
	rep, conn := startReplicaOfScriptedMaster(t)
	// A key the master's snapshot holds already expired is loaded and
	// kept until the master's DEL, and none is reported expired.
	if !rep.has(0, "old") {
		t.Fatal("the replica dropped an expired key of its master's snapshot")
	}
	if !strings.Contains(rep.log.String(), "keys loaded: 1, keys expired: 0.") {
		t.Fatalf("load log line missing:\n%s", rep.log.String())
	}
	at := time.Now().UnixMilli() + 50
	var stream []byte
	stream = resp.AppendCommandStrings(stream, "SELECT", "0")
	stream = resp.AppendCommandStrings(stream, "SET", "k", "1", "PXAT", strconv.FormatInt(at, 10))
	stream = resp.AppendCommandStrings(stream, "RPUSH", "l", "a")
	stream = resp.AppendCommandStrings(stream, "PEXPIREAT", "l", strconv.FormatInt(at, 10))
	stream = resp.AppendCommandStrings(stream, "SET", "s", "ab", "PXAT", strconv.FormatInt(at, 10))
	stream = resp.AppendCommandStrings(stream, "HSET", "h", "n", "1")
	stream = resp.AppendCommandStrings(stream, "PEXPIREAT", "h", strconv.FormatInt(at, 10))
	if _, err := conn.Write(stream); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // both keys logically expired on the replica
	stream = resp.AppendCommandStrings(nil, "INCR", "k")
	stream = resp.AppendCommandStrings(stream, "RPUSH", "l", "b")
	stream = resp.AppendCommandStrings(stream, "APPEND", "s", "c")
	stream = resp.AppendCommandStrings(stream, "MULTI")
	stream = resp.AppendCommandStrings(stream, "HINCRBY", "h", "n", "5")
	stream = resp.AppendCommandStrings(stream, "EXEC")
	stream = resp.AppendCommandStrings(stream, "SET", "__done__", "1")
	if _, err := conn.Write(stream); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "stream applied", func() bool { return rep.keys(0) >= 2 && rep.has(0, "__done__") })
	var kVal string
	var kTTL, lTTL bool
	var lLen int
	var sVal string
	var hVal []byte
	rep.s.Exec(func() {
		db := rep.s.Keyspace.DBs[0]
		if v, ok := db.Peek("k"); ok {
			kVal = string(v.(*store.String).B)
		}
		_, kTTL = db.ExpireAt("k")
		if v, ok := db.Peek("l"); ok {
			lLen = int(v.(*store.List).Len())
		}
		_, lTTL = db.ExpireAt("l")
		if v, ok := db.Peek("s"); ok {
			sVal = string(v.(*store.String).B)
		}
		if v, ok := db.Peek("h"); ok {
			hVal, _ = v.(*store.Hash).Get([]byte("n"))
		}
	})
	if sVal != "abc" {
		t.Errorf("replica s = %q, want \"abc\" (APPEND to the existing value)", sVal)
	}
	if string(hVal) != "6" {
		t.Errorf("replica h.n = %q, want \"6\" (HINCRBY in MULTI on the existing hash)", hVal)
	}
	if kVal != "2" || !kTTL {
		t.Errorf("replica k = %q (ttl kept %v), want \"2\" with its expiry, as the master has it", kVal, kTTL)
	}
	if lLen != 2 || !lTTL {
		t.Errorf("replica list l has %d elements (ttl kept %v), want 2 with its expiry", lLen, lTTL)
	}
	// Clients of the replica still see the keys as expired.
	c := dialNode(t, rep.port)
	if r := c.do("GET", "k"); !r.Null {
		t.Errorf("GET k on the replica = %v, want nil (expired)", r)
	}
	// The master's DEL removes them.
	stream = resp.AppendCommandStrings(nil, "DEL", "k", "l")
	stream = resp.AppendCommandStrings(stream, "SET", "__done2__", "1")
	if _, err := conn.Write(stream); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "DEL applied", func() bool { return rep.has(0, "__done2__") && !rep.has(0, "k") && !rep.has(0, "l") })
}

func (n *testNode) has(db int, key string) bool {
	var ok bool
	n.s.Exec(func() { _, ok = n.s.Keyspace.DBs[db].Peek(key) })
	return ok
}

// A replica's offset does not count a MULTI from its master until its EXEC
// arrives (Redis's commandProcessed): a master dying mid-transaction leaves
// the replica where a real redis-server replica stands, and its backlog
// never ends in a dangling MULTI.
func TestReplicaOffsetCountsTransactionOnlyAtExec(t *testing.T) {
	rep, conn := startReplicaOfScriptedMaster(t)
	first := resp.AppendCommandStrings(nil, "SELECT", "0")
	first = resp.AppendCommandStrings(first, "SET", "x", "1")
	if _, err := conn.Write(first); err != nil {
		t.Fatal(err)
	}
	want := strconv.Itoa(len(first))
	waitFor(t, 30*time.Second, "first write applied", func() bool { return rep.info()["master_repl_offset"] == want })
	tx := resp.AppendCommandStrings(nil, "MULTI")
	tx = resp.AppendCommandStrings(tx, "SET", "a", "1")
	tx = resp.AppendCommandStrings(tx, "INCR", "x")
	if _, err := conn.Write(tx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if got := rep.info()["master_repl_offset"]; got != want {
		t.Fatalf("offset %s inside an open MULTI, want %s (the offset before it)", got, want)
	}
	exec := resp.AppendCommandStrings(nil, "EXEC")
	if _, err := conn.Write(exec); err != nil {
		t.Fatal(err)
	}
	want = strconv.Itoa(len(first) + len(tx) + len(exec))
	waitFor(t, 30*time.Second, "transaction counted at EXEC", func() bool { return rep.info()["master_repl_offset"] == want })
	if !rep.has(0, "a") {
		t.Fatal("transaction not applied")
	}
	var backlogTail string
	rep.s.Exec(func() {
		r := rep.s.repl()
		b, _ := r.backlog.ReadFrom(r.backlog.FirstByteOffset())
		backlogTail = string(b)
	})
	if backlogTail != string(first)+string(tx)+string(exec) {
		t.Fatalf("backlog %q, want the stream as received", backlogTail)
	}
}
