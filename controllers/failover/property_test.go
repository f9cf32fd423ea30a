package failover

import (
	"fmt"
	"math/rand"
	"testing"
	"time"
)

// ------ PROPERTIES OVER RANDOM GROUPS ------

// randomObservation builds a group of 2-5 members with random pod states,
// reachability, roles, link states, histories and offsets, and a random
// status; the generator is seeded so failures reproduce.
func randomObservation(r *rand.Rand) Observation {
	histories := []string{histA, histB, histC}
	n := 2 + r.Intn(4)
	phases := []PodPhase{PodRunning, PodRunning, PodRunning, PodPending, PodFailed, PodMissing}
	roles := []Role{RoleReplica, RoleReplica, RoleReplica, RoleMaster}
	links := []LinkStatus{LinkUp, LinkDown}
	obs := Observation{Settings: settings, Now: t0.Add(time.Hour)}
	obs.Settings.Enabled = r.Intn(5) != 0
	obs.Settings.AcceptDataLoss = r.Intn(10) == 0
	for i := 0; i < n; i++ {
		m := Member{Name: fmt.Sprintf("g-%d", i), Ordinal: i, Phase: phases[r.Intn(len(phases))],
			Ready: r.Intn(4) != 0, Deleted: r.Intn(8) == 0, Fenced: r.Intn(8) == 0, Host: fmt.Sprintf("10.0.0.%d", i)}
		m.Reachable = m.Phase == PodRunning && r.Intn(4) != 0
		if m.Reachable {
			m.Repl = Replication{Role: roles[r.Intn(len(roles))], ReplID: histories[r.Intn(3)], ReplID2: zeros,
				SecondReplOffset: -1, Offset: int64(r.Intn(5)) * 100, BacklogActive: true, BacklogFirstByte: 1, BacklogHistLen: 500}
			if r.Intn(4) == 0 {
				m.Repl.ReplID2, m.Repl.SecondReplOffset = histories[r.Intn(3)], int64(r.Intn(5))*100+1
			}
			m.Repl.LastIOSeconds, m.Repl.LinkDownSeconds = -1, -1
			if m.Repl.Role == RoleReplica {
				m.Repl.LinkStatus = links[r.Intn(2)]
				m.Repl.SyncInProgress = r.Intn(8) == 0
				if m.Repl.LinkStatus == LinkUp {
					m.Repl.LastIOSeconds = int64(r.Intn(10))
				} else {
					m.Repl.LinkDownSeconds = int64(r.Intn(12)) - 1
				}
			}
		}
		obs.Members = append(obs.Members, m)
	}
	obs.Settings.Replicas = n - 1 + r.Intn(2)
	obs.Settings.MinReplicasToWrite = r.Intn(obs.Settings.Replicas + 1)
	cur := fmt.Sprintf("g-%d", r.Intn(n))
	obs.Status = Status{CurrentMaster: cur, TargetMaster: cur, LastMasterReplID: histories[r.Intn(3)]}
	if r.Intn(5) == 0 {
		obs.Status.TargetMaster = fmt.Sprintf("g-%d", r.Intn(n))
	}
	obs.MasterLastSeen = obs.Now.Add(-time.Duration(r.Intn(90)) * time.Second)
	return obs
}

// TestDecideProperties checks invariants of Decide over many random groups:
// quiet decisions do not act; the current master is recorded only after its
// role was verified in the same plan; a failover promotes the best eligible
// replica (checked by brute force) and fences the old master first; nobody
// is told to replicate from itself; member order does not matter; and
// R1-R3 hold for every promotion and restoration.
func TestDecideProperties(t *testing.T) {
	r := rand.New(rand.NewSource(20261122))
	kinds := map[DecisionKind]int{}
	for i := 0; i < 20000; i++ {
		obs := randomObservation(r)
		d := Decide(obs, SwitchoverState{})
		kinds[d.Kind]++
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("case %d: %s\nobservation %+v\ndecision %s %s: %s\n%s", i, fmt.Sprintf(format, args...),
				obs, d.Kind, d.Reason, d.Message, actionLines(d.Actions))
		}
		switch d.Kind {
		case KindNone, KindWait, KindHold, KindRefuse, KindNoMaster, KindDeferToSwitchover:
			if len(d.Actions) != 0 {
				fail("a %s decision acts", d.Kind)
			}
		}
		if d.Reason == "" || d.Message == "" {
			fail("decision without reason or message")
		}
		verified := map[string]bool{}
		fenced := map[string]bool{}
		for _, a := range d.Actions {
			switch a.Kind {
			case ActVerifyRole:
				verified[a.Member] = a.Role == RoleMaster
			case ActSetCurrentMaster:
				if !verified[a.Target] {
					fail("SetCurrentMaster %s without a prior VerifyRole", a.Target)
				}
			case ActReplicaOf:
				if a.Member == a.Target {
					fail("%s told to replicate from itself", a.Member)
				}
			case ActPauseWrites, ActMarkFenced:
				fenced[a.Member] = true
			case ActPromote:
				if d.Kind == KindFailover {
					if old := obs.member(d.From); old != nil && !old.Fenced && !fenced[d.From] {
						fail("promoted %s before fencing %s", a.Member, d.From)
					}
					if !fenced[d.From] && obs.member(d.From) == nil {
						fail("promoted %s without marking the vanished %s fenced", a.Member, d.From)
					}
				}
			}
		}
		// R3: nobody is promoted before the old master is contained. R2:
		// nor before enough positions are known and none is ahead of the
		// chosen one, unless the user accepted data loss. R1: a restarted
		// master is restored only over replicas it provably contains.
		if d.Kind == KindFailover || d.Kind == KindRestoreMaster {
			det := Detect(obs)
			ev := det.Evidence
			if d.Kind == KindFailover && !det.Contained {
				fail("R3: promoted %s while %s is not contained", d.To, d.From)
			}
			if !obs.Settings.AcceptDataLoss {
				switch {
				case d.Kind == KindFailover && (!ev.PositionsKnown() || len(ev.Unplaced) > 0 || ev.MostAdvanced > d.Choice.Best.Position):
					fail("R2: promoted %s at %d with %s, unplaced %v, most advanced %d", d.To, d.Choice.Best.Position, ev.PositionSummary(), ev.Unplaced, ev.MostAdvanced)
				case d.Kind == KindRestoreMaster && ev.Known < ev.Replicas:
					fail("R1: restored %s knowing only %d of %d replicas", d.To, ev.Known, ev.Replicas)
				}
			}
		}
		if d.Kind == KindFailover {
			ref := ReferenceHistory(obs)
			best, bestPos := "", int64(-1)
			for _, m := range sortedMembers(obs.Members) {
				if m.Name == d.From || !m.podRunning() || !m.Ready || !m.Reachable || (m.Fenced && !m.rejoined(ref)) ||
					m.Repl.Role != RoleReplica || m.Repl.SyncInProgress {
					continue
				}
				if pos, ok := ref.Position(m.Repl); ok && pos > bestPos {
					best, bestPos = m.Name, pos
				}
			}
			if d.To != best {
				fail("promoted %s, brute force says %s", d.To, best)
			}
		}
		// Member order must not matter.
		shuffled := obs
		shuffled.Members = append([]Member(nil), obs.Members...)
		r.Shuffle(len(shuffled.Members), func(i, j int) {
			shuffled.Members[i], shuffled.Members[j] = shuffled.Members[j], shuffled.Members[i]
		})
		if d2 := Decide(shuffled, SwitchoverState{}); d2.Kind != d.Kind || actionLines(d2.Actions) != actionLines(d.Actions) {
			fail("shuffling members changed the decision to %s:\n%s", d2.Kind, actionLines(d2.Actions))
		}
	}
	for _, k := range []DecisionKind{KindNone, KindWait, KindHold, KindRefuse, KindFailover, KindResume, KindAbandon, KindRepairTwoMasters, KindRejoin} {
		if kinds[k] == 0 {
			t.Errorf("the generator never produced a %s decision: %v", k, kinds)
		}
	}
}

// TestStepSwitchoverProperties checks invariants of the switchover machine
// over many random states and groups: a promotion is always preceded, in the
// same step, by pausing the old master's writes, and only happens when the
// target holds at least all the master has (or the master is gone); the
// current master is only recorded by a completed step; an abort always clears
// the target; an active next state always names both sides.
func TestStepSwitchoverProperties(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	phases := []SwitchoverPhase{SwitchoverIdle, SwitchoverWaitingForSync, SwitchoverPromoted}
	results := map[SwitchoverResult]int{}
	for i := 0; i < 20000; i++ {
		obs := randomObservation(r)
		n := len(obs.Members)
		state := SwitchoverState{Phase: phases[r.Intn(3)]}
		if state.Active() {
			state.From, state.To = obs.Status.CurrentMaster, fmt.Sprintf("g-%d", r.Intn(n))
			state.StartedAt = obs.Now.Add(-time.Duration(r.Intn(40)) * time.Second)
			state.PausedAt = state.StartedAt
		}
		requested := ""
		if r.Intn(5) != 0 {
			requested = fmt.Sprintf("g-%d", r.Intn(n))
			if state.Active() && r.Intn(4) != 0 {
				requested = state.To
			}
		}
		step := StepSwitchover(state, requested, obs)
		results[step.Result]++
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("case %d: %s\nstate %+v requested %q\nobservation %+v\nstep %s %s: %s\n%s", i, fmt.Sprintf(format, args...),
				state, requested, obs, step.Result, step.Reason, step.Message, actionLines(step.Actions))
		}
		if step.Message == "" || step.Reason == "" {
			fail("step without reason or message")
		}
		if step.Next.Active() && (step.Next.From == "" || step.Next.To == "" || step.Next.From == step.Next.To) {
			fail("active next state %+v does not name two members", step.Next)
		}
		paused := map[string]bool{}
		cleared := false
		for _, a := range step.Actions {
			switch a.Kind {
			case ActPauseWrites:
				paused[a.Member] = true
			case ActClearTargetMaster:
				cleared = true
			case ActPromote:
				if !paused[state.From] {
					fail("promoted %s without pausing %s first", a.Member, state.From)
				}
				from, to := obs.member(state.From), obs.member(a.Member)
				if from != nil && from.Reachable && from.Repl.Role == RoleMaster {
					if pos, ok := to.Repl.PositionIn(from.Repl.ReplID); !ok || pos < from.Repl.Offset {
						fail("promoted %s at %d/%v behind master at %d", a.Member, pos, ok, from.Repl.Offset)
					}
				}
			case ActSetCurrentMaster:
				if step.Result != SwitchoverCompleted {
					fail("recorded a master in a %s step", step.Result)
				}
			}
		}
		if step.Result == SwitchoverAborted && !cleared {
			fail("abort without clearing the target")
		}
		if (step.Result == SwitchoverRejected || step.Result == SwitchoverNothing || step.Result == SwitchoverWaiting) && len(step.Actions) != 0 {
			fail("a %s step acts", step.Result)
		}
	}
	for _, res := range []SwitchoverResult{SwitchoverNothing, SwitchoverRejected, SwitchoverStarted, SwitchoverWaiting,
		SwitchoverPromoting, SwitchoverCompleted, SwitchoverAborted} {
		if results[res] == 0 {
			t.Errorf("the generator never produced a %s step: %v", res, results)
		}
	}
}
