package failover

import (
	"reflect"
	"testing"
)

// The histories of chaos run failover-disabled-kill-master, round 3 (issue
// 12): f1 was promoted away from in round 1 (f1 -> e2), cache-0 was
// promoted in round 2 at 96,486,360 (e2 -> h3).
const (
	tlF1 = "f1371f68aa8cbd2b0c1e9e0a3b6f5d4c2a1b0f9e"
	tlE2 = "eb1b5776c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8"
	tlH3 = "6199d5ed0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	// tlF1End is the first f1 offset e2 does not carry: the round-1
	// promotion point. The evidence does not keep it; cache-0 had
	// replicated at least 94,713,628 bytes of f1 from the master of
	// round 1 and then kept up with e2 without a full sync, so it is past
	// that.
	tlF1End int64 = 94_900_001
	tlE2End int64 = 96_486_360
)

// chaosRound3 is what the members held when the group never became Ready
// again: cache-0 (the master, killed) restarted from its disk as a replica
// of a stale IP on f1, two links back; the replicas are on h3, which
// cache-1 joined at 95,785,064 and cache-2 at 96,486,360.
func chaosRound3() Observation {
	c0 := replica("cache-0", 0, tlF1, 94_713_628, LinkDown)
	c0.Repl.MasterHost, c0.Repl.MasterPort = "10.244.7.13", 6379
	c1 := replica("cache-1", 1, tlH3, 98_304_700, LinkDown)
	c1.Repl.ReplID2, c1.Repl.SecondReplOffset = tlE2, 95_785_064
	c2 := replica("cache-2", 2, tlH3, 98_304_700, LinkDown)
	c2.Repl.ReplID2, c2.Repl.SecondReplOffset = tlE2, 96_486_360
	obs := observe("cache-0", 0, c0, c1, c2)
	obs.Settings.Enabled = false
	obs.Status.LastMasterReplID, obs.Status.LastMasterOffset = tlH3, 98_304_700
	return obs
}

// roundChain is the chain the operator records over those rounds.
func roundChain() []HistoryLink {
	return []HistoryLink{
		{ReplID: tlF1, EndOffset: tlF1End},
		{ReplID: tlE2, EndOffset: tlE2End, PromotedMember: "cache-1", Epoch: 1},
		{ReplID: tlH3, PromotedMember: "cache-0", Epoch: 2},
	}
}

func TestRestartedMasterPlacedThroughRecordedHistory(t *testing.T) {
	t.Run("without the chain: unplaced, wait (today's behaviour)", func(t *testing.T) {
		d := Decide(chaosRound3(), SwitchoverState{})
		if d.Kind != KindWait || d.Reason != "RestartedMasterUnplaced" || len(d.Actions) != 0 {
			t.Fatalf("decision = %s/%s (%s) %v", d.Kind, d.Reason, d.Message, d.Actions)
		}
	})
	t.Run("with the chain: the best replica is promoted, cache-0 resyncs from it", func(t *testing.T) {
		obs := chaosRound3()
		obs.Status.History = roundChain()
		d := Decide(obs, SwitchoverState{})
		if d.Kind != KindFailover || d.To != "cache-1" || d.Detection.Reason != reasonMasterRestarted {
			t.Fatalf("decision = %s/%s to %s (%s) %v", d.Kind, d.Reason, d.To, d.Message, d.Actions)
		}
		if pos, ok := d.Choice.Reference.Position(obs.Members[0].Repl); !ok || pos != 94_713_628 {
			t.Fatalf("cache-0 placed at %d, %v; want 94713628 of %s", pos, ok, shortID(d.Choice.Reference.ReplID))
		}
		// cache-2 is repointed without a grant to lose data (its node
		// keeps anything newer than cache-1's); cache-0, whose history
		// h3 descends from, may be replaced.
		wantActions(t, d.Actions,
			"SetTargetMaster cache-1",
			"PauseWrites cache-0 10s",
			"ReplicaOf cache-2 cache-1",
			"Promote cache-1",
			"VerifyRole cache-1 master",
			"MarkFenced cache-0 cache-1",
			"ReplicaOf cache-0 cache-1 discarding its newer data",
			"KillClients cache-0",
			"Unpause cache-0",
			"MoveMasterLabel cache-1",
			"SetCurrentMaster cache-1",
			"Event Warning FailedOver",
			"Event Warning MasterRestartedBehind")
		// cache-2 is on cache-1's history at the same offset: a partial
		// resync, nothing of it replaced.
		if p := d.Resyncs["cache-2"]; p.Mode != ResyncPartial || p.DivergedBytes != 0 {
			t.Fatalf("cache-2 resync = %+v", p)
		}
		// cache-0's 94.7M bytes of f1 are all in h3: a full sync that loses nothing.
		if p := d.Resyncs["cache-0"]; p.Mode != ResyncFull {
			t.Fatalf("cache-0 resync = %+v", p)
		}
	})
	t.Run("the same with cache-1 gone: its position is unknown, wait", func(t *testing.T) {
		obs := chaosRound3()
		obs.Status.History = roundChain()
		obs.Members[1] = gone(obs.Members[1])
		obs.Settings.MinReplicasToWrite = 1
		d := Decide(obs, SwitchoverState{})
		// One of the two replicas gave no position: a WAIT 1 write may be
		// only on cache-1, so the policy waits, as for any failover.
		if d.Kind != KindWait || d.Reason != "ReplicaPositionsUnknown" {
			t.Fatalf("decision = %s/%s to %s (%s)", d.Kind, d.Reason, d.To, d.Message)
		}
	})
	// Past the point e2 took over, f1 bytes are a tail its master wrote
	// after the promotion, which no WAIT acknowledged (R2, R3): like a
	// tail on the replicas' replid2 (mayDiscard), not worth keeping the
	// group without a master for.
	t.Run("cache-0 holding more of f1 than e2 carried: an old master's tail, replaced", func(t *testing.T) {
		obs := chaosRound3()
		obs.Status.History = roundChain()
		obs.Status.History[0].EndOffset = 94_713_628 // e2 carries 94,713,627 bytes of f1
		d := Decide(obs, SwitchoverState{})
		if d.Kind != KindFailover || d.To != "cache-1" {
			t.Fatalf("decision = %s/%s to %s (%s)", d.Kind, d.Reason, d.To, d.Message)
		}
		if _, ok := d.Choice.Reference.Position(obs.Members[0].Repl); ok {
			t.Fatal("cache-0 placed past the end of its link")
		}
	})
	t.Run("a chain that misses only the link the replicas report still places it", func(t *testing.T) {
		obs := chaosRound3()
		obs.Status.History = []HistoryLink{{ReplID: tlF1, EndOffset: tlF1End}, {ReplID: tlE2}}
		if d := Decide(obs, SwitchoverState{}); d.Kind != KindFailover || d.To != "cache-1" {
			t.Fatalf("decision = %s/%s to %s (%s)", d.Kind, d.Reason, d.To, d.Message)
		}
	})
	t.Run("the chain lost the f1 link (status lagged or was lost): wait", func(t *testing.T) {
		for _, chain := range [][]HistoryLink{
			{{ReplID: tlH3}},
			{{ReplID: tlE2, EndOffset: tlE2End}, {ReplID: tlH3}},
		} {
			obs := chaosRound3()
			obs.Status.History = chain
			if d := Decide(obs, SwitchoverState{}); d.Kind != KindWait || d.Reason != "RestartedMasterUnplaced" {
				t.Fatalf("chain %+v: decision = %s/%s to %s (%s)", chain, d.Kind, d.Reason, d.To, d.Message)
			}
		}
	})
	t.Run("a chain the replicas do not descend from places nothing", func(t *testing.T) {
		obs := chaosRound3()
		// f1 -> e2 recorded, but the replicas' h3 moved on from histA.
		obs.Status.History = []HistoryLink{{ReplID: tlF1, EndOffset: tlF1End}, {ReplID: tlE2}}
		for i := 1; i <= 2; i++ {
			obs.Members[i].Repl.ReplID2 = histA
		}
		if d := Decide(obs, SwitchoverState{}); d.Kind != KindWait || d.Reason != "RestartedMasterUnplaced" {
			t.Fatalf("decision = %s/%s to %s (%s)", d.Kind, d.Reason, d.To, d.Message)
		}
	})
}

func TestExtendHistory(t *testing.T) {
	masterOn := func(id, id2 string, second, off int64) Replication {
		return Replication{Role: RoleMaster, ReplID: id, ReplID2: id2, SecondReplOffset: second, Offset: off}
	}
	t.Run("a promotion appends a link and closes the previous one", func(t *testing.T) {
		chain := []HistoryLink{{ReplID: histA, PromotedMember: "g-0", Epoch: 1}}
		got := ExtendHistory(chain, masterOn(histB, histA, 1001, 1500), "g-1", 2)
		want := []HistoryLink{{ReplID: histA, EndOffset: 1001, PromotedMember: "g-0", Epoch: 1}, {ReplID: histB, Parent: histA, StartOffset: 1001, PromotedMember: "g-1", Epoch: 2}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v\nwant %+v", got, want)
		}
		if chain[0].EndOffset != 0 {
			t.Fatalf("input modified: %+v", chain)
		}
		// The same master seen again changes nothing.
		if again := ExtendHistory(got, masterOn(histB, histA, 1001, 2500), "g-1", 3); !reflect.DeepEqual(again, want) {
			t.Fatalf("seen again: %+v", again)
		}
	})
	t.Run("from no chain: the master's replid2 and its own", func(t *testing.T) {
		got := ExtendHistory(nil, masterOn(histB, histA, 1001, 1500), "g-1", 2)
		want := []HistoryLink{{ReplID: histA, EndOffset: 1001}, {ReplID: histB, Parent: histA, StartOffset: 1001, PromotedMember: "g-1", Epoch: 2}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v", got)
		}
		if got := ExtendHistory(nil, masterOn(histA, zeros, -1, 10), "g-0", 0); !reflect.DeepEqual(got, []HistoryLink{{ReplID: histA, PromotedMember: "g-0"}}) {
			t.Fatalf("fresh master: %+v", got)
		}
	})
	t.Run("a master unrelated to the chain is appended; the recorded forks stay", func(t *testing.T) {
		chain := []HistoryLink{{ReplID: histA, EndOffset: 1001}, {ReplID: histB}}
		want := []HistoryLink{{ReplID: histA, EndOffset: 1001}, {ReplID: histB, Parent: histA, StartOffset: 1001}, {ReplID: histC, PromotedMember: "g-2", Epoch: 4}}
		if got := ExtendHistory(chain, masterOn(histC, zeros, -1, 5), "g-2", 4); !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("a master that forked from an older link keeps the abandoned branch's own fork", func(t *testing.T) {
		chain := []HistoryLink{{ReplID: histA, EndOffset: 1001}, {ReplID: histB}}
		got := ExtendHistory(chain, masterOn(histC, histA, 900, 950), "g-0", 5)
		want := []HistoryLink{{ReplID: histA, EndOffset: 900}, {ReplID: histB, Parent: histA, StartOffset: 1001}, {ReplID: histC, Parent: histA, StartOffset: 900, PromotedMember: "g-0", Epoch: 5}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v", got)
		}
		forks := historyForks(got)
		if forks[histB] != (Fork{Parent: histA, Shared: 1000}) || forks[histC] != (Fork{Parent: histA, Shared: 899}) {
			t.Fatalf("forks %+v", forks)
		}
		// Back on an older history: reopened as the newest link, the
		// abandoned branch still named with its fork.
		want = []HistoryLink{{ReplID: histB, Parent: histA, StartOffset: 1001}, {ReplID: histA}}
		if got := ExtendHistory(chain, masterOn(histA, zeros, -1, 1200), "g-0", 5); !reflect.DeepEqual(got, want) {
			t.Fatalf("reopened: %+v", got)
		}
	})
	t.Run("a member left on an abandoned branch is placed through its fork", func(t *testing.T) {
		// Seed 165934: A -> B (promotion at 3991, a replica went on to
		// 3250 on B), then the old master came back on A at 3990 and was
		// promoted again (C). The replica on B holds 3250 bytes of A,
		// hence of C; its own replid2 says only 3100.
		chain := ExtendHistory(nil, masterOn(histB, histA, 3991, 4000), "g-0", 1)
		chain = ExtendHistory(chain, masterOn(histC, histA, 3991, 4046), "g-0", 2)
		ref := Reference{ReplID: histC, Lineage: map[string]Fork{histC: {Parent: histA, Shared: 3990}}, Branches: historyForks(chain)}
		pos, ok := ref.Position(Replication{ReplID: histB, Offset: 3250, ReplID2: histA, SecondReplOffset: 3101})
		if !ok || pos != 3250 {
			t.Fatalf("placed at %d, %v; want 3250", pos, ok)
		}
		// Past the branch's fork it holds bytes the reference lacks.
		if pos, ok := ref.Position(Replication{ReplID: histB, Offset: 4100, ReplID2: histA, SecondReplOffset: 3101}); ok && pos > 3100 {
			t.Fatalf("a diverged tail placed at %d", pos)
		}
	})
	t.Run("replicas and unset ids change nothing", func(t *testing.T) {
		chain := []HistoryLink{{ReplID: histA}}
		r := masterOn(histB, histA, 10, 20)
		r.Role = RoleReplica
		if got := ExtendHistory(chain, r, "g-1", 1); !reflect.DeepEqual(got, chain) {
			t.Fatalf("replica: %+v", got)
		}
		if got := ExtendHistory(chain, masterOn(zeros, histA, 10, 20), "g-1", 1); !reflect.DeepEqual(got, chain) {
			t.Fatalf("unset replid: %+v", got)
		}
	})
	t.Run("bounded: the oldest links go, and what they placed waits", func(t *testing.T) {
		ids := make([]string, MaxHistoryLinks+3)
		for i := range ids {
			ids[i] = shortHexID(i)
		}
		var chain []HistoryLink
		chain = ExtendHistory(chain, masterOn(ids[0], zeros, -1, 0), "g-0", 0)
		for i := 1; i < len(ids); i++ {
			chain = ExtendHistory(chain, masterOn(ids[i], ids[i-1], int64(i*100+1), int64(i*100+50)), "g-0", int64(i))
		}
		if len(chain) != MaxHistoryLinks || chain[0].ReplID != ids[3] || chain[len(chain)-1].ReplID != ids[len(ids)-1] {
			t.Fatalf("chain of %d from %s to %s", len(chain), shortID(chain[0].ReplID), shortID(chain[len(chain)-1].ReplID))
		}
		ref := Reference{ReplID: ids[len(ids)-1], Lineage: historyForks(chain)}
		if pos, ok := ref.Position(Replication{ReplID: ids[3], Offset: 350}); !ok || pos != 350 {
			t.Fatalf("oldest kept link: %d, %v", pos, ok)
		}
		// The oldest kept link still names the history it forked from.
		if pos, ok := ref.Position(Replication{ReplID: ids[2], Offset: 250}); !ok || pos != 250 {
			t.Fatalf("the oldest kept link's parent: %d, %v", pos, ok)
		}
		if _, ok := ref.Position(Replication{ReplID: ids[1], Offset: 150}); ok {
			t.Fatal("a history older than the kept links name was placed")
		}
	})
}

// shortHexID returns a distinct 40-hex-digit replid for i.
func shortHexID(i int) string {
	const hex = "0123456789abcdef"
	b := []byte("a000000000000000000000000000000000000000")
	b[38], b[39] = hex[i/16%16], hex[i%16]
	return string(b)
}

// Fault-model seeds 13454 and 14702 (with the chain): the restarted master
// was placed through the chain, behind replicas that cannot be promoted
// (there: fenced, holding a branch past their switch; here: not ready).
// Without accept-data-loss the policy refuses; with it, the restarted
// member is the only one that can serve and is restored, rather than
// refusing forever.
func TestRestartedMasterBehindOnlyIneligibleReplicas(t *testing.T) {
	obs := chaosRound3()
	obs.Status.History = roundChain()
	obs.Members[1].Ready, obs.Members[2].Ready = false, false
	d := Decide(obs, SwitchoverState{})
	if d.Kind != KindRefuse || d.Reason != "NoEligibleReplica" || len(d.Actions) != 0 {
		t.Fatalf("decision = %s/%s (%s) %v", d.Kind, d.Reason, d.Message, d.Actions)
	}
	obs.Settings.AcceptDataLoss = true
	d = Decide(obs, SwitchoverState{})
	if d.Kind != KindRestoreMaster || d.To != "cache-0" {
		t.Fatalf("with accept-data-loss: decision = %s/%s to %s (%s)", d.Kind, d.Reason, d.To, d.Message)
	}
	// A fenced member whose data the chain shows inside the reference
	// holds no diverged tail: it is a candidate like any replica.
	obs = chaosRound3()
	obs.Status.History = roundChain()
	obs.Members[1].Fenced = true
	obs.Members[1].Repl.ReplID, obs.Members[1].Repl.ReplID2, obs.Members[1].Repl.SecondReplOffset = tlE2, zeros, -1
	obs.Members[1].Repl.Offset = 96_000_000
	ch := ChooseCandidate(obs, "cache-0")
	if len(ch.Ranked) != 2 || ch.Ranked[1].Name != "cache-1" || ch.Ranked[1].Position != 96_000_000 {
		t.Fatalf("ranked %+v rejected %+v", ch.Ranked, ch.Rejected)
	}
}
