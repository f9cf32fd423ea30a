package failover

import (
	"math/rand"
	"strings"
	"testing"
	"time"
)

// ------ MEMBERS FENCED BY HAND ------
//
// The rule (docs/failover.md, "Members fenced by hand"): a member fenced by
// hand still counts in N; while it runs and answers it reports its position
// and votes like any replica, is never promoted, and a plan points it at the
// new master like every voter; a stopped one gives neither a vote nor a
// position.

// byHand marks m fenced by hand.
func byHand(m Member) Member { m.FencedByHand = true; return m }

// TestFencedByHandRunningReplicaVotes: with N = 2 and w = 1 both replicas
// must vote the master's guard expired; a running fenced one does, so the
// failover is not stalled, it is promoted neither, and it is pointed at the
// new master before the promotion (left on the old master, it would give
// that master a good replica back when the cut heals: two writable masters).
func TestFencedByHandRunningReplicaVotes(t *testing.T) {
	obs := observe("g-0", time.Minute,
		unreachable(master("g-0", 0, histA, 1000)),
		replica("g-1", 1, histA, 950, LinkDown),
		byHand(replica("g-2", 2, histA, 900, LinkDown)))
	obs.Status.LastMasterReplID = histA
	d := Decide(obs, SwitchoverState{})
	if d.Kind != KindFailover || d.To != "g-1" {
		t.Fatalf("decision %s →%s %s: %s", d.Kind, d.To, d.Reason, d.Message)
	}
	if ev := d.Detection.Evidence; ev.Votes != 2 || ev.Known != 2 || ev.Replicas != 2 {
		t.Fatalf("evidence %d votes, %d positions of %d replicas; the fenced replica must count", ev.Votes, ev.Known, ev.Replicas)
	}
	wantActions(t, d.Actions,
		"SetTargetMaster g-1",
		"DeletePod g-0",
		"MarkFenced g-0 g-1",
		"ReplicaOf g-2 g-1",
		"Promote g-1",
		"VerifyRole g-1 master",
		"MoveMasterLabel g-1",
		"SetCurrentMaster g-1",
		"Event Warning FailedOver")
}

// TestFencedByHandReplicaIsNeverPromoted: a fenced replica holding more of
// the master's history than every other is not promoted, and the others
// are not promoted over it either (they lack writes WAIT may have
// acknowledged on it): the operator waits and says so.
func TestFencedByHandReplicaIsNeverPromoted(t *testing.T) {
	obs := observe("g-0", time.Minute,
		unreachable(master("g-0", 0, histA, 1000)),
		replica("g-1", 1, histA, 900, LinkDown),
		byHand(replica("g-2", 2, histA, 1000, LinkDown)))
	obs.Status.LastMasterReplID = histA
	d := Decide(obs, SwitchoverState{})
	if d.Kind != KindWait || d.Reason != "MostAdvancedReplicaNotEligible" {
		t.Fatalf("decision %s →%s %s: %s", d.Kind, d.To, d.Reason, d.Message)
	}
	if !strings.Contains(d.Message, "g-2: is fenced by hand") {
		t.Errorf("message does not say why g-2 is not promoted: %q", d.Message)
	}
	// Alone, it is still not promoted.
	obs = observe("g-0", time.Minute, unreachable(master("g-0", 0, histA, 1000)), byHand(replica("g-1", 1, histA, 1000, LinkDown)))
	obs.Status.LastMasterReplID = histA
	if d := Decide(obs, SwitchoverState{}); d.Kind == KindFailover || d.Reason != "NoEligibleReplica" {
		t.Fatalf("only a fenced replica: decision %s →%s %s: %s", d.Kind, d.To, d.Reason, d.Message)
	}
	// The accept-data-loss annotation lifts R2's wait, never the fencing.
	obs = observe("g-0", time.Minute,
		unreachable(master("g-0", 0, histA, 1000)),
		replica("g-1", 1, histA, 900, LinkDown),
		byHand(replica("g-2", 2, histA, 1000, LinkDown)))
	obs.Status.LastMasterReplID = histA
	obs.Settings.AcceptDataLoss = true
	if d := Decide(obs, SwitchoverState{}); d.Kind != KindFailover || d.To != "g-1" {
		t.Fatalf("accept-data-loss: decision %s →%s %s: %s", d.Kind, d.To, d.Reason, d.Message)
	}
}

// TestFencedByHandStoppedReplicaDoesNotVote: a fenced replica whose server
// is stopped gives no vote and no position, and still counts in N, so with
// N = 2 and w = 1 the other replica alone cannot prove the master's guard
// expired (the operator cannot tell a stopped fenced process from one cut
// off from it, still acknowledging the master), and once the master's
// process is confirmed gone one position is not the strict majority R2
// needs: the operator waits and says which positions are missing.
func TestFencedByHandStoppedReplicaDoesNotVote(t *testing.T) {
	stopped := func(m Member) Member { m = unreachable(m); m.ProcessDown = true; return m }
	obs := observe("g-0", time.Minute,
		unreachable(master("g-0", 0, histA, 1000)),
		replica("g-1", 1, histA, 950, LinkDown),
		stopped(byHand(replica("g-2", 2, histA, 1000, LinkDown))))
	obs.Status.LastMasterReplID = histA
	d := Decide(obs, SwitchoverState{})
	if d.Kind == KindFailover {
		t.Fatalf("failed over with one vote of the two needed: %s", d.Message)
	}
	ev := d.Detection.Evidence
	if ev.Votes != 1 || ev.Replicas != 2 || ev.NeedVotes != 2 {
		t.Fatalf("evidence: %d votes of %d replicas (%d needed)", ev.Votes, ev.Replicas, ev.NeedVotes)
	}
	for _, r := range ev.Reports {
		if r.Name == "g-2" {
			t.Fatalf("the stopped fenced replica reported: %+v", r)
		}
	}
	// Its master's process confirmed gone: contained, and g-1 is the only
	// position the operator has of the two it needs (a strict majority).
	obs.Members[0].ProcessDown = true
	if d := Decide(obs, SwitchoverState{}); d.Kind == KindFailover || d.Reason != "ReplicaPositionsUnknown" {
		t.Fatalf("master process gone, fenced replica stopped: decision %s →%s %s: %s", d.Kind, d.To, d.Reason, d.Message)
	}
}

// TestFencedByHandIsNoSwitchoverTarget: a switchover to a fenced member is
// refused by the policy itself, whatever the caller asks.
func TestFencedByHandIsNoSwitchoverTarget(t *testing.T) {
	obs := observe("g-0", 0, master("g-0", 0, histA, 1000), replica("g-1", 1, histA, 1000, LinkUp), byHand(replica("g-2", 2, histA, 1000, LinkUp)))
	step := StepSwitchover(SwitchoverState{}, "g-2", obs)
	if step.Result != SwitchoverRejected || !strings.Contains(step.Message, "fenced") {
		t.Fatalf("switchover to a fenced member: %s %s: %s", step.Result, step.Reason, step.Message)
	}
	for _, a := range step.Actions {
		if a.Kind != ActEvent {
			t.Fatalf("refused switchover acts: %s", a)
		}
	}
}

// TestFencedByHandNeverPromotedInRandomGroups runs Decide over seeded random
// groups with one member fenced by hand and checks no plan promotes it or
// fails over to it.
func TestFencedByHandNeverPromotedInRandomGroups(t *testing.T) {
	for seed := int64(1); seed <= 2000; seed++ {
		r := rand.New(rand.NewSource(seed))
		obs := randomObservation(r)
		// The master itself cannot be fenced by hand (the annotation's
		// entry for it is ignored).
		fenced := obs.Members[r.Intn(len(obs.Members))].Name
		if fenced == obs.Status.CurrentMaster {
			continue
		}
		for i := range obs.Members {
			if obs.Members[i].Name == fenced {
				obs.Members[i].FencedByHand = true
			}
		}
		d := Decide(obs, SwitchoverState{})
		if d.Kind == KindFailover && d.To == fenced {
			t.Fatalf("seed %d: promoted %s, fenced by hand: %s", seed, fenced, d.Message)
		}
		for _, a := range d.Actions {
			// The two-masters repair may keep a fenced member that already
			// answers as master when it holds the most data (R1 comes
			// first; it is not made master, it is one): it never promotes.
			if (a.Kind == ActPromote && a.Member == fenced) || (a.Kind == ActSetTargetMaster && a.Target == fenced && d.Kind != KindRepairTwoMasters) {
				t.Fatalf("seed %d: %s on %s, fenced by hand (%s %s: %s)", seed, a, fenced, d.Kind, d.Reason, d.Message)
			}
		}
	}
}
