package chaos

import (
	"reflect"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// ms is a history time in milliseconds.
func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// w is an ok write of kind k on member m over [inv, done] ms.
func w(m string, inv, done int) Op {
	return Op{Kind: Set, Key: "k", Value: 1, Invoke: ms(inv), Complete: ms(done), Outcome: OK, Member: m}
}

func TestAckedLostAndOKLost(t *testing.T) {
	ops := []Op{
		{Kind: WaitSet, Key: "a", Value: 1, Outcome: OK, Acked: true},       // kept
		{Kind: WaitSet, Key: "b", Value: 2, Outcome: OK, Acked: true},       // lost: absent
		{Kind: WaitSet, Key: "c", Value: 3, Outcome: OK, Acked: true},       // lost: wrong value
		{Kind: WaitSet, Key: "d", Value: 4, Outcome: OK, Acked: false},      // not acked, lost
		{Kind: WaitSet, Key: "e", Value: 5, Outcome: Unknown, Acked: false}, // unknown: never counted
		{Kind: WaitSet, Key: "f", Value: 6, Outcome: Fail},                  // failed: never counted
		{Kind: Set, Key: "r", Value: 9, Outcome: OK},                        // registers: the linearizability checker's
	}
	f := Final{Values: map[string]string{"a": "1", "c": "30"}}
	keys := func(ops []Op) []string {
		var k []string
		for _, o := range ops {
			k = append(k, o.Key)
		}
		return k
	}
	if got := keys(AckedLost(ops, f)); !reflect.DeepEqual(got, []string{"b", "c"}) {
		t.Errorf("AckedLost = %v, want [b c]", got)
	}
	if got := keys(OKLost(ops, f)); !reflect.DeepEqual(got, []string{"b", "c", "d"}) {
		t.Errorf("OKLost = %v, want [b c d]", got)
	}
}

func TestDiverged(t *testing.T) {
	f := Final{
		Values: map[string]string{"a": "1", "b": "2"},
		Replicas: map[string]map[string]string{
			"r1": {"a": "1", "b": "2"},           // converged
			"r2": {"a": "1"},                     // missing b
			"r3": {"a": "1", "b": "2", "x": "7"}, // an extra key the master lacks
		},
	}
	want := map[string][]string{"r2": {"b"}, "r3": {"x"}}
	if got := Diverged(f); !reflect.DeepEqual(got, want) {
		t.Errorf("Diverged = %v, want %v", got, want)
	}
}

func TestDualWritable(t *testing.T) {
	for _, tc := range []struct {
		name string
		ops  []Op
		want int
	}{
		{"clean failover A then B", []Op{w("A", 0, 10), w("A", 20, 30), w("B", 100, 110), w("B", 120, 130)}, 0},
		{"overlapping intervals prove nothing", []Op{w("A", 0, 50), w("B", 40, 60), w("A", 45, 70)}, 0},
		// A B A B: B's first write lies between two of A's and A's second
		// between two of B's, two witnesses of one overlap.
		{"old master writes between two writes of the new one", []Op{w("A", 0, 10), w("B", 100, 110), w("A", 120, 130), w("B", 140, 150)}, 2},
		{"and the new one between two of the old one's", []Op{w("A", 0, 10), w("B", 20, 30), w("A", 40, 50)}, 1},
		{"B before and after but no write of B in between needed", []Op{w("B", 0, 10), w("B", 12, 15), w("A", 20, 30), w("B", 31, 40)}, 1},
		{"concurrent b2 does not count", []Op{w("B", 0, 10), w("A", 20, 30), w("B", 25, 40)}, 0},
		{"failed and unknown writes are no evidence", []Op{w("A", 0, 10), {Kind: Set, Member: "B", Outcome: Fail, Invoke: ms(20), Complete: ms(30)}, w("A", 40, 50)}, 0},
		{"reads are no evidence", []Op{w("A", 0, 10), {Kind: Get, Member: "B", Outcome: OK, Invoke: ms(20), Complete: ms(30)}, w("A", 40, 50)}, 0},
	} {
		if got := DualWritable(tc.ops, nil); len(got) != tc.want {
			t.Errorf("%s: %d witnesses %v, want %d", tc.name, len(got), got, tc.want)
		}
	}
}

// TestDualWritableInterrupted: B -> A -> B is legitimate when B was seen
// as a replica, or restarted, between its two writes (the 21:43 run's
// switchover-target-dies: cache-0, then cache-1 killed right after its
// promotion, cache-0 again, cache-1 again), and proof when B was seen as
// master all along.
func TestDualWritableInterrupted(t *testing.T) {
	ops := []Op{w("B", 0, 10), w("A", 20, 30), w("B", 40, 50)}
	smp := func(at int, role, run string) Sample {
		return Sample{At: ms(at), Member: "B", Role: role, RunID: run}
	}
	for _, tc := range []struct {
		name    string
		samples []Sample
		want    int
	}{
		{"no samples in the gap", []Sample{smp(5, "master", "x"), smp(45, "master", "x")}, 1},
		{"B sampled as master in the gap", []Sample{smp(5, "master", "x"), smp(25, "master", "x")}, 1},
		{"B sampled as a replica in the gap", []Sample{smp(5, "master", "x"), smp(25, "slave", "x")}, 0},
		{"B restarted in the gap", []Sample{smp(5, "master", "x"), smp(25, "master", "y")}, 0},
	} {
		if got := DualWritable(ops, tc.samples); len(got) != tc.want {
			t.Errorf("%s: %d witnesses, want %d", tc.name, len(got), tc.want)
		}
	}
}

func TestFullSyncDrops(t *testing.T) {
	s := func(at int, m, run string, keys, syncs int64) Sample {
		return Sample{At: ms(at), Member: m, RunID: run, Keys: keys, SyncFull: syncs}
	}
	samples := []Sample{
		s(0, "r1", "x", 100, 0), s(10, "r1", "x", 120, 0), s(20, "r1", "x", 40, 0), // drop of 80, same process
		s(0, "m", "y", 100, 0), s(10, "m", "y", 120, 0), s(20, "m", "y", 130, 1), // m served a full sync meanwhile
		s(0, "r2", "z", 100, 0), s(10, "r2", "z2", 10, 0), s(20, "r2", "z2", 130, 0), // restart with an old RDB: not counted
	}
	drops := FullSyncDrops(samples)
	if len(drops) != 1 || drops[0].Member != "r1" || drops[0].LostKeys != 80 || !drops[0].SyncFullSeen {
		t.Errorf("drops = %+v, want r1 losing 80 keys with a full sync seen", drops)
	}
	// A master restarted (new run_id) that served a full sync: its
	// counter starts again from 0, and that sync is seen.
	restarted := []Sample{
		s(0, "r1", "x", 100, 0), s(10, "r1", "x", 20, 0),
		s(0, "m", "y", 100, 5), s(10, "m", "y2", 20, 1),
	}
	if d := FullSyncDrops(restarted); len(d) != 1 || !d[0].SyncFullSeen {
		t.Errorf("drops after a master restart = %+v, want r1 with a full sync seen", d)
	}
	if d := FullSyncDrops(samples[:2]); len(d) != 0 {
		t.Errorf("growth reported as a drop: %+v", d)
	}
}

func TestWriteGap(t *testing.T) {
	ops := []Op{w("A", 0, 10), w("A", 15, 20), w("B", 500, 900), w("B", 910, 950),
		{Kind: Set, Outcome: Fail, Invoke: ms(30), Complete: ms(40)}}
	if got := WriteGap(ops, ms(25), ms(1000)); got != ms(875) {
		t.Errorf("gap = %v, want 875ms (fault at 25 to first ok at 900)", got)
	}
	if got := WriteGap(nil, ms(0), ms(300)); got != ms(300) {
		t.Errorf("no writes at all: gap = %v, want the whole span", got)
	}
	// A write answered OK at 20, before the fault at 25, whose WAIT ended
	// at 2020: the outage runs from the fault to the next OK at 2900.
	waited := w("A", 15, 2020)
	waited.OKAt = ms(20)
	if got := WriteGap([]Op{w("A", 0, 10), waited, w("B", 2800, 2900)}, ms(25), ms(3000)); got != ms(2875) {
		t.Errorf("gap = %v, want 2875ms: a WAIT that ended after the fault is not a write then", got)
	}
}

func TestLinearizable(t *testing.T) {
	set := func(key string, v int64, inv, done int, out Outcome) Op {
		return Op{Kind: Set, Key: key, Value: v, Invoke: ms(inv), Complete: ms(done), Outcome: out, Acked: out == OK}
	}
	get := func(key string, v int64, inv, done int) Op {
		return Op{Kind: Get, Key: key, Value: v, Invoke: ms(inv), Complete: ms(done), Outcome: OK}
	}
	incr := func(key string, v int64, inv, done int, out Outcome) Op {
		return Op{Kind: Incr, Key: key, Value: v, Invoke: ms(inv), Complete: ms(done), Outcome: out, Acked: out == OK}
	}
	// unacked: answered OK, but WAIT saw no replica take it.
	unacked := func(o Op) Op { o.Acked = false; return o }
	for _, tc := range []struct {
		name  string
		ops   []Op
		final []Op
		want  porcupine.CheckResult
		bad   []string
	}{
		{"register ok", []Op{set("r", 1, 0, 10, OK), set("r", 2, 20, 30, OK)}, []Op{get("r", 2, 100, 110)}, porcupine.Ok, nil},
		{"acknowledged SET lost", []Op{set("r", 1, 0, 10, OK), set("r", 2, 20, 30, OK)}, []Op{get("r", 1, 100, 110)}, porcupine.Illegal, []string{"r"}},
		{"unknown SET may have applied", []Op{set("r", 1, 0, 10, OK), set("r", 2, 20, 30, Unknown)}, []Op{get("r", 2, 100, 110)}, porcupine.Ok, nil},
		{"unknown SET may not have applied", []Op{set("r", 1, 0, 10, OK), set("r", 2, 20, 30, Unknown)}, []Op{get("r", 1, 100, 110)}, porcupine.Ok, nil},
		{"failed SET never applies", []Op{set("r", 1, 0, 10, OK), set("r", 2, 20, 30, Fail)}, []Op{get("r", 2, 100, 110)}, porcupine.Illegal, []string{"r"}},
		{"counter ok", []Op{incr("n", 1, 0, 10, OK), incr("n", 2, 20, 30, OK)}, []Op{get("n", 2, 100, 110)}, porcupine.Ok, nil},
		{"counter went back", []Op{incr("n", 1, 0, 10, OK), incr("n", 2, 20, 30, OK), incr("n", 2, 40, 50, OK)}, nil, porcupine.Illegal, []string{"n"}},
		{"unknown INCR either way", []Op{incr("n", 1, 0, 10, OK), incr("n", 0, 20, 30, Unknown), incr("n", 3, 40, 50, OK)}, []Op{get("n", 3, 100, 110)}, porcupine.Ok, nil},
		{"lost INCR seen by the final read", []Op{incr("n", 1, 0, 10, OK), incr("n", 2, 20, 30, OK)}, []Op{get("n", 1, 100, 110)}, porcupine.Illegal, []string{"n"}},
		// As in the kill-master round of 21:33: INCR answered 645 by the
		// old master, not replicated, then 645 again by the new one.
		{"unacknowledged INCR lost in a failover", []Op{incr("n", 1, 0, 10, OK), unacked(incr("n", 2, 20, 30, OK)), incr("n", 2, 40, 50, OK)}, []Op{get("n", 2, 100, 110)}, porcupine.Ok, nil},
		{"acknowledged INCR lost in a failover", []Op{incr("n", 1, 0, 10, OK), incr("n", 2, 20, 30, OK), incr("n", 2, 40, 50, OK)}, nil, porcupine.Illegal, []string{"n"}},
		{"unacknowledged SET lost", []Op{set("r", 1, 0, 10, OK), unacked(set("r", 2, 20, 30, OK))}, []Op{get("r", 1, 100, 110)}, porcupine.Ok, nil},
		{"keys are judged apart", []Op{set("a", 1, 0, 10, OK), set("b", 1, 0, 10, OK)}, []Op{get("a", 1, 100, 110), get("b", 0, 100, 110)}, porcupine.Illegal, []string{"b"}},
	} {
		got, bad := Linearizable(tc.ops, tc.final, 10*time.Second)
		if got != tc.want || !reflect.DeepEqual(bad, tc.bad) {
			t.Errorf("%s: %s %v, want %s %v", tc.name, got, bad, tc.want, tc.bad)
		}
	}
}

// TestLaddrIP checks how the member that answered is read from CLIENT INFO.
func TestLaddrIP(t *testing.T) {
	for in, want := range map[string]string{
		"id=1 addr=10.249.0.9:47380 laddr=10.249.0.4:6379 fd=8 name= age=0\n": "10.249.0.4",
		"id=1 addr=127.0.0.1:1 laddr=127.0.0.1:16399":                         "127.0.0.1",
		"id=1 addr=127.0.0.1:1":                                               "",
	} {
		if got := laddrIP(in); got != want {
			t.Errorf("laddrIP(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStaleLeaderActions(t *testing.T) {
	old := []byte(`{"level":"info","ts":"2026-12-04T21:30:09Z","logger":"leaderelection","msg":"Successfully acquired lease"}
{"level":"info","ts":"2026-12-04T21:30:20Z","msg":"failover action","action":"SetCurrentMaster cache-0"}
not json
{"level":"info","ts":"2026-12-04T21:30:32Z","msg":"failover action","action":"ClearFenced cache-0"}
{"level":"info","ts":"2026-12-04T21:30:33Z","msg":"failover action","action":"Unpause cache-0"}
{"level":"error","ts":"2026-12-04T21:30:41Z","msg":"manager stopped","error":"leader election lost"}`)
	next := []byte(`{"level":"info","ts":"2026-12-04T21:30:28Z","logger":"leaderelection","msg":"Successfully acquired lease"}
{"level":"info","ts":"2026-12-04T21:30:28Z","msg":"failover action","action":"SetTargetMaster cache-1"}
{"level":"info","ts":"2026-12-04T21:30:31Z","msg":"failover action","action":"Promote cache-1"}`)
	single := []byte(`{"level":"info","ts":"2026-12-04T21:31:00Z","msg":"failover action","action":"Promote cache-2"}`)
	events := append(append(ParseOperatorLog("old", old), ParseOperatorLog("next", next)...), ParseOperatorLog("single", single)...)
	if len(events) != 8 {
		t.Fatalf("parsed %d events, want 8: %+v", len(events), events)
	}
	stale := StaleLeaderActions(events)
	// ClearFenced only changes status, which the stale leader cannot write
	// (optimistic lock); Unpause reaches a node.
	if len(stale) != 1 || stale[0].Operator != "old" || stale[0].Action != "Unpause cache-0" {
		t.Errorf("stale = %+v, want old's Unpause after next took the lease", stale)
	}
	// The old leader's action before the handover, and the new leader's
	// own actions, are fine; so is an operator without leader election.
	if got := StaleLeaderActions(ParseOperatorLog("old", old)); len(got) != 0 {
		t.Errorf("a lone leader's actions reported stale: %+v", got)
	}
	// Same second as the other's acquisition: benefit of the doubt.
	tie := append(ParseOperatorLog("next", next), OperatorEvent{Operator: "old", At: events[4].At, Action: "x"},
		OperatorEvent{Operator: "old", At: events[0].At, Acquired: true})
	if got := StaleLeaderActions(tie); len(got) != 0 {
		t.Errorf("an action in the second of the handover reported stale: %+v", got)
	}
}
