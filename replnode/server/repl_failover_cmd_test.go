package server

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ------ FAILOVER, against redis-server 7.0 in both roles ------

// The argument checks and their errors are redis-server's.
func TestDifferentialFailoverErrors(t *testing.T) {
	script := func(m, rep *member) []string {
		var out []string
		do := func(args ...string) { out = append(out, strings.Join(args, " ")+" → "+m.c.do(args...).String()) }
		do("FAILOVER", "ABORT")
		do("FAILOVER")
		do("FAILOVER", "TIMEOUT", "0")
		do("FAILOVER", "TIMEOUT", "x")
		do("FAILOVER", "TO", "127.0.0.1")
		do("FAILOVER", "BLAH")
		do("FAILOVER", "FORCE", "FORCE")
		out = append(out, "state "+m.repl()["master_failover_state"])
		rep.c.do("REPLICAOF", "127.0.0.1", strconv.Itoa(m.port))
		waitFor(t, 60*time.Second, "replica online", func() bool {
			return strings.Contains(m.repl()["slave0"], "state=online")
		})
		do("FAILOVER", "FORCE")
		do("FAILOVER", "FORCE", "TIMEOUT", "100")
		do("FAILOVER", "TO", "127.0.0.1", "1", "FORCE")
		do("FAILOVER", "TO", "127.0.0.1", "1")
		do("FAILOVER", "TO", "127.0.0.1", "x")
		out = append(out, "replica: "+rep.c.do("FAILOVER").String())
		out = append(out, "replica psync failover: "+rep.c.do("PSYNC", strings.Repeat("a", 40), "1", "FAILOVER").String())
		out = append(out, "master psync failover: "+m.c.do("PSYNC", strings.Repeat("a", 40), "1", "FAILOVER").String())
		return out
	}
	want := script(startMember(t, "real", 0), startMember(t, "real", 1))
	got := script(startMember(t, "ours", 0), startMember(t, "ours", 1))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("--- redis-server\n%s\n--- ours\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
}

// FAILOVER hands the master role to a replica which continues partially:
// the old master follows the new one without a full sync, the data written
// before and after is on both, whichever of ours and redis-server plays
// each role.
func TestFailoverCommandHandsOverWithPartialResync(t *testing.T) {
	for _, tc := range []struct{ master, target string }{{"ours", "ours"}, {"ours", "real"}, {"real", "ours"}} {
		for _, designated := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s→%s/to=%v", tc.master, tc.target, designated), func(t *testing.T) {
				m, target := startMember(t, tc.master, 0), startMember(t, tc.target, 1)
				target.c.do("REPLICAOF", "127.0.0.1", strconv.Itoa(m.port))
				for i := 0; i < 200; i++ {
					m.c.do("SET", "k"+strconv.Itoa(i), strconv.Itoa(i))
				}
				waitInSync(t, m, []*member{target})
				fullBefore := target.syncFull()
				args := []string{"FAILOVER"}
				if designated {
					args = append(args, "TO", "127.0.0.1", strconv.Itoa(target.port), "TIMEOUT", "10000")
				}
				if r := m.c.do(args...); r.Str != "OK" {
					t.Fatalf("%v: %v", args, r)
				}
				waitFor(t, 30*time.Second, "roles swapped", func() bool {
					mi, ti := m.repl(), target.repl()
					return ti["role"] == "master" && mi["role"] == "slave" && mi["master_link_status"] == "up" &&
						mi["master_failover_state"] == "no-failover"
				})
				if r := target.c.do("SET", "after", "1"); r.IsError() {
					t.Fatalf("write on the new master: %v", r)
				}
				if r := m.c.do("SET", "x", "1"); !strings.HasPrefix(r.Str, "READONLY") {
					t.Fatalf("write on the old master: %v", r)
				}
				waitInSync(t, target, []*member{m})
				if full := target.syncFull(); full != fullBefore {
					t.Fatalf("the old master full-synced from the new one (sync_full %d → %d)", fullBefore, full)
				}
				if got := m.c.do("GET", "after").Str; got != "1" {
					t.Fatalf("old master did not get the new master's write: %q", got)
				}
				if n := target.c.do("DBSIZE").Int; n != 201 {
					t.Fatalf("new master dbsize %d, want 201", n)
				}
			})
		}
	}
}

// FAILOVER ABORT while waiting for a replica that cannot catch up lifts the
// pause and leaves the master a master; TIMEOUT does the same by itself.
func TestFailoverAbortAndTimeout(t *testing.T) {
	m := startMember(t, "ours", 0)
	rep := startMember(t, "ours", 1)
	rep.c.do("REPLICAOF", "127.0.0.1", strconv.Itoa(m.port))
	waitInSync(t, m, []*member{rep})
	// A replica that never acknowledges anything keeps the failover waiting.
	fake := fakeReplica(t, m.port, "")
	_ = fake
	waitFor(t, 30*time.Second, "fake replica online", func() bool {
		for _, k := range []string{"slave0", "slave1"} {
			if l := m.repl()[k]; strings.Contains(l, "port=7777") && strings.Contains(l, "state=online") {
				return true
			}
		}
		return false
	})
	m.c.do("SET", "moved", "1") // the real replica acks it within a second, the fake never
	if r := m.c.do("FAILOVER", "TO", "127.0.0.1", "7777"); r.Str != "OK" {
		t.Fatalf("FAILOVER TO the fake replica: %v", r)
	}
	if st := m.repl()["master_failover_state"]; st != "waiting-for-sync" {
		t.Fatalf("state %s", st)
	}
	if r := m.c.do("REPLICAOF", "NO", "ONE"); r.Str != "ERR REPLICAOF not allowed while failing over." {
		t.Fatalf("REPLICAOF during failover: %v", r)
	}
	if r := m.c.do("FAILOVER", "ABORT"); r.Str != "OK" {
		t.Fatalf("FAILOVER ABORT: %v", r)
	}
	if r := m.c.do("SET", "after-abort", "1"); r.IsError() {
		t.Fatalf("write after abort: %v", r)
	}
	if r := m.c.do("FAILOVER", "TO", "127.0.0.1", "7777", "TIMEOUT", "300"); r.Str != "OK" {
		t.Fatalf("FAILOVER TIMEOUT: %v", r)
	}
	waitFor(t, 10*time.Second, "timed out", func() bool { return m.repl()["master_failover_state"] == "no-failover" })
	if r := m.c.do("SET", "after-timeout", "1"); r.IsError() || m.repl()["role"] != "master" {
		t.Fatalf("after the timeout: %v, role %s", r, m.repl()["role"])
	}
}

// The replication AUX fields of an RDB are used at startup only when
// repl-id, repl-offset and a repl-stream-db other than -1 are all there,
// as Redis's loadDataFromDisk: a master keeps the id as replid2.
func TestRestoreReplicationInfoNeedsStreamDB(t *testing.T) {
	id := strings.Repeat("ab", 20)
	for _, tc := range []struct {
		streamDB int
		used     bool
	}{{-1, false}, {0, true}, {3, true}} {
		n := startNodeWith(t, 0, func(s *Server) { s.RestoreReplicationInfo(id, 1234, tc.streamDB) })
		info := n.info()
		used := info["master_replid2"] == id && info["master_repl_offset"] == "1234" && info["second_repl_offset"] == "1235"
		if used != tc.used {
			t.Errorf("repl-stream-db %d: info used %v, want %v (%v)", tc.streamDB, used, tc.used, info)
		}
	}
}
