package failover

import (
	"strings"
	"testing"
	"time"
)

// TestDecideFailoverPlanUnreachableMaster checks the full ordered plan for a
// master that vanished behind a partition. With min-replicas-to-write 2 of 3
// replicas, two replicas (N-w+1) suffice both to prove the old master's
// guard expired and to know a WAIT 2 write is on one of them.
func TestDecideFailoverPlanUnreachableMaster(t *testing.T) {
	obs := observe("g-0", time.Minute,
		unreachable(master("g-0", 0, histA, 1000)),
		replica("g-1", 1, histA, 900, LinkDown),
		replica("g-2", 2, histA, 950, LinkDown),
		unreachable(replica("g-3", 3, histA, 999, LinkDown)))
	obs.Status.LastMasterReplID = histA
	obs.Settings.MinReplicasToWrite = 2
	d := Decide(obs, SwitchoverState{})
	if d.Kind != KindFailover || d.From != "g-0" || d.To != "g-2" || d.Reason != "FailingOver" {
		t.Fatalf("decision %s %s→%s %s: %s", d.Kind, d.From, d.To, d.Reason, d.Message)
	}
	wantActions(t, d.Actions,
		"SetTargetMaster g-2",
		"DeletePod g-0",
		"MarkFenced g-0 g-2",
		// g-1 voted the master down: it follows g-2 before g-2 is promoted,
		// so the old master cannot win it back if the cut heals mid-plan.
		"ReplicaOf g-1 g-2",
		"Promote g-2",
		"VerifyRole g-2 master",
		"MoveMasterLabel g-2",
		"SetCurrentMaster g-2",
		"Event Warning FailedOver")
	if p := d.Resyncs["g-1"]; p.Mode != ResyncPartial {
		t.Fatalf("g-1 is behind g-2 on the same history and should resync partially: %+v", p)
	}
	if c := d.Condition(); c.Type != ConditionMasterAvailable || c.Status != "Unknown" || c.Reason != "FailingOver" {
		t.Fatalf("condition %+v", c)
	}
	if !strings.Contains(d.Message, "2 of the 3 replicas report no contact with it for at least 5s (2 needed with min-replicas-to-write 2)") {
		t.Fatalf("message should carry the detection facts: %q", d.Message)
	}
}

// TestDecideFencing checks how the old master is fenced in each state it can be in.
func TestDecideFencing(t *testing.T) {
	demoted := master("g-0", 0, histA, 900) // restarted from an older dump
	demoted.Repl.Role, demoted.Repl.LinkStatus = RoleReplica, LinkDown
	deleting := unreachable(master("g-0", 0, histA, 1000))
	deleting.Deleted = true
	fenced := gone(master("g-0", 0, histA, 1000))
	fenced.Fenced = true

	cases := []struct {
		name string
		old  Member
		want []string
	}{
		{"reachable old master is paused, then follows and is unpaused", demoted, []string{
			"SetTargetMaster g-1", "PauseWrites g-0 10s", "Promote g-1", "VerifyRole g-1 master",
			"MarkFenced g-0 g-1", "ReplicaOf g-0 g-1 discarding its newer data", "KillClients g-0", "Unpause g-0", "MoveMasterLabel g-1", "SetCurrentMaster g-1", "Event Warning FailedOver"}},
		{"pod gone: marked fenced so it comes back a replica", gone(master("g-0", 0, histA, 1000)), []string{
			"SetTargetMaster g-1", "MarkFenced g-0 g-1", "Promote g-1", "VerifyRole g-1 master",
			"MoveMasterLabel g-1", "SetCurrentMaster g-1", "Event Warning FailedOver"}},
		{"pod being deleted, guard expired: marked fenced, not deleted twice", deleting, []string{
			"SetTargetMaster g-1", "MarkFenced g-0 g-1", "Promote g-1", "VerifyRole g-1 master",
			"MoveMasterLabel g-1", "SetCurrentMaster g-1", "Event Warning FailedOver"}},
		{"already fenced: nothing more", fenced, []string{
			"SetTargetMaster g-1", "Promote g-1", "VerifyRole g-1 master",
			"MoveMasterLabel g-1", "SetCurrentMaster g-1", "Event Warning FailedOver"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obs := observe("g-0", time.Minute, c.old, replica("g-1", 1, histA, 1000, LinkDown))
			obs.Status.LastMasterReplID = histA
			d := Decide(obs, SwitchoverState{})
			if d.Kind != KindFailover {
				t.Fatalf("decision %s %s: %s", d.Kind, d.Reason, d.Message)
			}
			wantActions(t, d.Actions, c.want...)
		})
	}
}

// TestPromotionClearsTheTargetsFencedMark: a member fenced by an earlier
// failover away from it, now the best replica, loses the mark when it is
// promoted. Kept, the mark would make the next failover away from it skip
// its fencing (fenceActions: already fenced) and wait for a containment
// that never comes (fault-model seed 172430).
func TestPromotionClearsTheTargetsFencedMark(t *testing.T) {
	target := replica("g-1", 1, histA, 1000, LinkDown)
	target.Fenced = true
	obs := observe("g-0", time.Minute, gone(master("g-0", 0, histA, 1000)), target)
	obs.Status.LastMasterReplID = histA
	d := Decide(obs, SwitchoverState{})
	if d.Kind != KindFailover || d.To != "g-1" {
		t.Fatalf("decision %s %s: %s", d.Kind, d.Reason, d.Message)
	}
	wantActions(t, d.Actions,
		"SetTargetMaster g-1", "MarkFenced g-0 g-1", "Promote g-1", "VerifyRole g-1 master",
		"ClearFenced g-1", "MoveMasterLabel g-1", "SetCurrentMaster g-1", "Event Warning FailedOver")
}

// TestDecideNoFailover checks the decisions that must not act: healthy, suspect, isolated, disabled, no candidate.
func TestDecideNoFailover(t *testing.T) {
	m0 := master("g-0", 0, histA, 1000)
	cases := []struct {
		name       string
		obs        Observation
		enabled    bool
		wantKind   DecisionKind
		wantReason string
		wantCond   string
		wantIn     string
	}{
		{"healthy", observe("g-0", 0, m0, replica("g-1", 1, histA, 1000, LinkUp)), true, KindNone, "MasterHealthy", "True", ""},
		{"suspect waits", observe("g-0", 5*time.Second, unreachable(m0), replica("g-1", 1, histA, 1000, LinkDown)), true, KindWait, "MasterNotAnswering", "Unknown", ""},
		{"operator cut off from a healthy master", observe("g-0", time.Hour, unreachable(m0), replica("g-1", 1, histA, 1000, LinkUp), replica("g-2", 2, histA, 1000, LinkUp)), true, KindHold, "OperatorPartitioned", "Unknown", "not failing over"},
		{"disabled", observe("g-0", time.Hour, gone(m0), replica("g-1", 1, histA, 1000, LinkDown)), false, KindRefuse, "FailoverDisabled", "False", "disabled"},
		{"no eligible replica", observe("g-0", time.Hour, processDown(unreachable(m0)), unreachable(replica("g-1", 1, histA, 1000, LinkDown))), true, KindRefuse, "NoEligibleReplica", "False", "g-1: is unreachable"},
		// g-1's data is on a history whose relation to the master's is not
		// known: it proves nothing about where a WAIT-acknowledged write is.
		{"other replica on a foreign history", observe("g-0", time.Hour, gone(m0), replica("g-1", 1, histC, 1000, LinkDown), replica("g-2", 2, histA, 1, LinkDown)), true, KindWait, "ReplicaPositionsUnknown", "Unknown", "from 1 of the 2 replicas"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.obs.Settings.Enabled = c.enabled
			c.obs.Status.LastMasterReplID = histA
			d := Decide(c.obs, SwitchoverState{})
			if d.Kind != c.wantKind || d.Reason != c.wantReason {
				t.Fatalf("decision %s/%s (%s), want %s/%s", d.Kind, d.Reason, d.Message, c.wantKind, c.wantReason)
			}
			if d.Kind != KindFailover && len(d.Actions) != 0 {
				t.Fatalf("a %s decision must not act: %v", d.Kind, d.Actions)
			}
			if cond := d.Condition(); cond.Status != c.wantCond || !strings.Contains(cond.Message, c.wantIn) {
				t.Fatalf("condition %+v, want status %s mentioning %q", cond, c.wantCond, c.wantIn)
			}
		})
	}
}

// TestDecideMissingPodIsNotFencing is review finding 4: a pod object that is
// gone (a force delete, an eviction) says nothing about the process, which
// may still run on a node cut off from the API server and keep a replica
// acknowledging its writes. Only the replicas' votes contain it.
func TestDecideMissingPodIsNotFencing(t *testing.T) {
	obs := observe("g-0", time.Hour, gone(master("g-0", 0, histA, 1000)),
		replica("g-1", 1, histA, 1000, LinkUp), quiet(replica("g-2", 2, histA, 990, LinkUp), 9))
	obs.Status.LastMasterReplID = histA
	d := Decide(obs, SwitchoverState{})
	if d.Kind != KindWait || d.Reason != "OldMasterNotContained" || len(d.Actions) != 0 {
		t.Fatalf("decision %s/%s: %s %v", d.Kind, d.Reason, d.Message, d.Actions)
	}
	obs = observe("g-0", time.Hour, gone(master("g-0", 0, histA, 1000)),
		quiet(replica("g-1", 1, histA, 1000, LinkUp), 6), quiet(replica("g-2", 2, histA, 990, LinkUp), 9))
	obs.Status.LastMasterReplID = histA
	if d := Decide(obs, SwitchoverState{}); d.Kind != KindFailover || d.To != "g-1" || !d.Detection.Contained {
		t.Fatalf("with the guard expired: decision %s to %s: %s", d.Kind, d.To, d.Message)
	}
}

// TestDecideWaitsForPositionsUnlessDataLossIsAccepted is issue point 2
// (R2): with N=3 replicas and min-replicas-to-write 1, a WAIT 1 write may be
// only on the unreachable g-1, so promoting the far-behind g-3 could lose
// it: the operator waits and says why. With the accept-data-loss annotation
// the one healthy replica on the master's history is promoted, with a
// Warning.
func TestDecideWaitsForPositionsUnlessDataLossIsAccepted(t *testing.T) {
	broken := []Member{
		processDown(unreachable(master("g-0", 0, histA, 1000))),
		unreachable(replica("g-1", 1, histA, 1000, LinkDown)),
		replica("g-2", 2, histC, 7000, LinkDown), // foreign history
		replica("g-3", 3, histA, 10, LinkDown),   // far behind but healthy
	}
	obs := observe("g-0", time.Hour, broken...)
	obs.Status.LastMasterReplID = histA
	d := Decide(obs, SwitchoverState{})
	if d.Kind != KindWait || d.Reason != "ReplicaPositionsUnknown" || len(d.Actions) != 0 ||
		!strings.Contains(d.Condition().Message, "fresh positions on the master's history from 1 of the 3 replicas (3 needed") {
		t.Fatalf("decision %s/%s to %q: %s", d.Kind, d.Reason, d.To, d.Message)
	}
	obs.Settings.AcceptDataLoss = true
	d = Decide(obs, SwitchoverState{})
	if d.Kind != KindFailover || d.To != "g-3" {
		t.Fatalf("decision %s to %q: %s", d.Kind, d.To, d.Message)
	}
	if last := d.Actions[len(d.Actions)-1]; last.Reason != "AcceptedDataLoss" || last.EventType != EventWarning {
		t.Fatalf("no AcceptedDataLoss warning: %v", d.Actions)
	}
}

// TestDecideTwoMasters checks which of several masters wins and how the others are demoted.
func TestDecideTwoMasters(t *testing.T) {
	cases := []struct {
		name       string
		members    []Member
		target     string
		current    string
		wantKind   DecisionKind
		want       []string
		wantLoser  string
		wantLost   int64
		wantReason string
	}{
		{"the current master wins over a returning old master",
			[]Member{master("g-0", 0, histA, 1500), func() Member {
				m := master("g-1", 1, histB, 2000)
				m.Repl.ReplID2, m.Repl.SecondReplOffset = histA, 1201
				return m
			}(), replica("g-2", 2, histB, 2000, LinkUp)},
			"g-1", "g-1", KindRepairTwoMasters,
			[]string{"PauseWrites g-0 10s", "MarkFenced g-0 g-1", "ReplicaOf g-0 g-1 discarding its newer data", "KillClients g-0", "Unpause g-0", "Event Warning TwoMastersRepaired"},
			"g-0", 300, "TwoMastersRepaired"},
		{"the target wins during an interrupted failover",
			[]Member{master("g-0", 0, histA, 1000), func() Member {
				m := master("g-1", 1, histB, 1000)
				m.Repl.ReplID2, m.Repl.SecondReplOffset = histA, 1001
				return m
			}()},
			"g-1", "g-0", KindRepairTwoMasters,
			[]string{"PauseWrites g-0 10s", "MarkFenced g-0 g-1", "ReplicaOf g-0 g-1 discarding its newer data", "KillClients g-0", "Unpause g-0", "Event Warning TwoMastersRepaired",
				"VerifyRole g-1 master", "MoveMasterLabel g-1", "SetCurrentMaster g-1"},
			"g-0", 0, "TwoMastersRepaired"},
		{"status names neither: most advanced on the reference history",
			[]Member{unreachable(master("g-0", 0, histA, 1000)), master("g-1", 1, histA, 900), master("g-2", 2, histA, 950)},
			"g-0", "g-0", KindRepairTwoMasters,
			[]string{"SetTargetMaster g-2", "PauseWrites g-1 10s", "MarkFenced g-1 g-2", "ReplicaOf g-1 g-2 discarding its newer data", "KillClients g-1", "Unpause g-1", "Event Warning TwoMastersRepaired",
				"VerifyRole g-2 master", "MoveMasterLabel g-2", "SetCurrentMaster g-2"},
			"g-1", 0, "TwoMastersRepaired"},
		{"status names neither and no history matches: refuse",
			[]Member{unreachable(master("g-0", 0, histA, 1000)), master("g-1", 1, histB, 900), master("g-2", 2, histC, 950)},
			"g-0", "g-0", KindRefuse, nil, "", 0, "AmbiguousMasters"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obs := observe(c.current, time.Minute, c.members...)
			obs.Status.TargetMaster = c.target
			obs.Status.LastMasterReplID = histA
			d := Decide(obs, SwitchoverState{})
			if d.Kind != c.wantKind || d.Reason != c.wantReason {
				t.Fatalf("decision %s/%s: %s", d.Kind, d.Reason, d.Message)
			}
			wantActions(t, d.Actions, c.want...)
			if c.wantLoser != "" {
				p, ok := d.Resyncs[c.wantLoser]
				if !ok || !p.DivergenceKnown || p.DivergedBytes != c.wantLost {
					t.Fatalf("loser %s prediction %+v, want %d diverged bytes", c.wantLoser, p, c.wantLost)
				}
				for _, a := range d.Actions {
					if a.Kind == ActEvent && !strings.Contains(a.Message, "diverged bytes") {
						t.Fatalf("warning should state the diverged bytes: %q", a.Message)
					}
				}
			}
		})
	}
}

// TestDecideInterruptedFailover checks a failover cut short is resumed or abandoned according to what is true now.
func TestDecideInterruptedFailover(t *testing.T) {
	promotedG1 := master("g-1", 1, histB, 1000)
	promotedG1.Repl.ReplID2, promotedG1.Repl.SecondReplOffset = histA, 1001
	fencedGone := gone(master("g-0", 0, histA, 1000))
	fencedGone.Fenced = true

	cases := []struct {
		name       string
		members    []Member
		wantKind   DecisionKind
		wantReason string
		want       []string
	}{
		{"target promoted, old master fenced: finish",
			[]Member{fencedGone, promotedG1, replica("g-2", 2, histA, 1000, LinkDown)},
			KindResume, "ResumingFailover",
			[]string{"VerifyRole g-1 master", "ReplicaOf g-2 g-1", "MoveMasterLabel g-1", "SetCurrentMaster g-1", "Event Warning FailedOver"}},
		{"target not promoted yet, old master not fenced yet: redo from fencing",
			[]Member{unreachable(master("g-0", 0, histA, 1000)), replica("g-1", 1, histA, 1000, LinkDown)},
			KindResume, "ResumingFailover",
			[]string{"DeletePod g-0", "MarkFenced g-0 g-1", "Promote g-1", "VerifyRole g-1 master", "MoveMasterLabel g-1", "SetCurrentMaster g-1", "Event Warning FailedOver"}},
		{"old master answers again before promotion: abandon and unpause",
			[]Member{master("g-0", 0, histA, 1000), replica("g-1", 1, histA, 1000, LinkUp)},
			KindAbandon, "MasterRecovered",
			[]string{"Unpause g-0", "ClearTargetMaster", "Event Normal FailoverAbandoned"}},
		// Issue point 2: g-2 caught up with more of the old master's
		// stream than g-1 since the failover to g-1 was decided.
		{"another replica now ahead before promotion: abandon and re-rank",
			[]Member{fencedGone, replica("g-1", 1, histA, 900, LinkDown), replica("g-2", 2, histA, 1000, LinkDown)},
			KindAbandon, "FailoverTargetOvertaken",
			[]string{"ClearTargetMaster", "Event Normal FailoverTargetOvertaken"}},
		{"target's process gone before promotion: abandon and choose again",
			[]Member{fencedGone, processDown(unreachable(replica("g-1", 1, histA, 1000, LinkDown))), replica("g-2", 2, histA, 900, LinkDown)},
			KindAbandon, "FailoverTargetLost",
			[]string{"ClearTargetMaster", "Event Warning FailoverTargetLost"}},
		// Review finding: an unreachable target whose pod runs may already
		// be master with acknowledged writes; abandoning it let the old
		// master win a later two-master repair (fault-model seed 25649).
		{"target unreachable, pod running: wait, it may be master already",
			[]Member{fencedGone, unreachable(replica("g-1", 1, histA, 1000, LinkDown)), replica("g-2", 2, histA, 900, LinkDown)},
			KindWait, "FailoverTargetUnreachable", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obs := observe("g-0", time.Minute, c.members...)
			obs.Status.TargetMaster = "g-1"
			obs.Status.LastMasterReplID = histA
			d := Decide(obs, SwitchoverState{})
			if d.Kind != c.wantKind || d.Reason != c.wantReason {
				t.Fatalf("decision %s/%s: %s", d.Kind, d.Reason, d.Message)
			}
			wantActions(t, d.Actions, c.want...)
		})
	}
}

// TestDecideOldMasterReturns checks a fenced old master is taken back as a replica with the right resync prediction.
func TestDecideOldMasterReturns(t *testing.T) {
	// g-1 was promoted at offset 1200 of history A and has since written to 2000 on history B.
	newMaster := master("g-1", 1, histB, 2000)
	newMaster.Repl.ReplID2, newMaster.Repl.SecondReplOffset = histA, 1201

	cases := []struct {
		name         string
		old          Member
		wantKind     DecisionKind
		want         []string
		wantMode     ResyncMode
		wantDiverged int64
		wantKnown    bool
	}{
		{"returns as a replica before syncing, nothing lost: partial",
			func() Member { m := replica("g-0", 0, histA, 1200, LinkDown); m.Fenced = true; return m }(),
			KindRejoin, []string{"ReplicaOf g-0 g-1 discarding its newer data", "Event Warning OldMasterRejoining"}, ResyncPartial, 0, true},
		{"returns with writes the new master never got: full, bytes reported",
			func() Member { m := replica("g-0", 0, histA, 1500, LinkDown); m.Fenced = true; return m }(),
			KindRejoin, []string{"ReplicaOf g-0 g-1 discarding its newer data", "Event Warning OldMasterRejoining"}, ResyncFull, 300, true},
		{"returns still claiming master is handled as two masters", func() Member {
			m := master("g-0", 0, histA, 1500)
			m.Fenced = true
			return m
		}(), KindRepairTwoMasters, []string{"PauseWrites g-0 10s", "ReplicaOf g-0 g-1 discarding its newer data", "KillClients g-0", "Unpause g-0", "Event Warning TwoMastersRepaired"}, ResyncFull, 300, true},
		{"returns empty (lost its disk): full, divergence unknown",
			func() Member { m := replica("g-0", 0, histC, 0, LinkDown); m.Fenced = true; return m }(),
			KindRejoin, []string{"ReplicaOf g-0 g-1 discarding its newer data", "Event Warning OldMasterRejoining"}, ResyncFull, 0, false},
		{"recreated pointed at the master, still on its old history: warn only",
			func() Member {
				m := replica("g-0", 0, histA, 1500, LinkDown)
				m.Fenced, m.Repl.MasterHost, m.Repl.SyncInProgress = true, "10.0.0.11", true
				return m
			}(),
			KindRejoin, []string{"Event Warning OldMasterRejoining"}, ResyncFull, 300, true},
		{"recreated pointed at the master, ahead of it and not syncing (its node refuses the full sync): allowed to discard",
			func() Member {
				m := replica("g-0", 0, histA, 2500, LinkDown)
				m.Fenced, m.Repl.MasterHost = true, "10.0.0.11"
				return m
			}(),
			KindRejoin, []string{"ReplicaOf g-0 g-1 discarding its newer data", "Event Warning OldMasterRejoining"}, ResyncFull, 1300, true},
		{"recreated pointed at the master, already on its history: wait quietly",
			func() Member {
				m := replica("g-0", 0, histB, 1900, LinkDown)
				m.Fenced, m.Repl.MasterHost = true, "10.0.0.11"
				return m
			}(),
			KindNone, nil, "", 0, false},
		{"already following again: unfence",
			func() Member { m := replica("g-0", 0, histB, 2000, LinkUp); m.Fenced = true; return m }(),
			KindRejoin, []string{"ClearFenced g-0", "Event Normal FencedMemberRejoined"}, "", 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			nm := newMaster
			nm.Host = "10.0.0.11"
			obs := observe("g-1", 0, c.old, nm, replica("g-2", 2, histB, 2000, LinkUp))
			d := Decide(obs, SwitchoverState{})
			if d.Kind != c.wantKind {
				t.Fatalf("decision %s/%s: %s", d.Kind, d.Reason, d.Message)
			}
			wantActions(t, d.Actions, c.want...)
			if c.wantMode == "" {
				return
			}
			p := d.Resyncs["g-0"]
			if p.Mode != c.wantMode || p.DivergedBytes != c.wantDiverged || p.DivergenceKnown != c.wantKnown {
				t.Fatalf("prediction %+v, want %s %d known=%v", p, c.wantMode, c.wantDiverged, c.wantKnown)
			}
		})
	}
}

// TestDecideNoRecordedMaster checks adoption of a sole master and deferral of bootstrap.
func TestDecideNoRecordedMaster(t *testing.T) {
	obs := observe("", 0, master("g-0", 0, histA, 10), replica("g-1", 1, histA, 10, LinkUp))
	obs.Status.TargetMaster = ""
	d := Decide(obs, SwitchoverState{})
	if d.Kind != KindAdopt {
		t.Fatalf("decision %s: %s", d.Kind, d.Message)
	}
	wantActions(t, d.Actions, "SetTargetMaster g-0", "VerifyRole g-0 master", "MoveMasterLabel g-0", "SetCurrentMaster g-0")

	// Fresh members all answer as master: bootstrap is the topology's call.
	obs = observe("", 0, master("g-0", 0, histA, 0), master("g-1", 1, histB, 0))
	obs.Status.TargetMaster = ""
	if d := Decide(obs, SwitchoverState{}); d.Kind != KindNoMaster || len(d.Actions) != 0 {
		t.Fatalf("decision %s with %v", d.Kind, d.Actions)
	}
}

// TestDecideDefersToSwitchover checks an active switchover owns the group.
func TestDecideDefersToSwitchover(t *testing.T) {
	obs := observe("g-0", time.Hour, gone(master("g-0", 0, histA, 10)), replica("g-1", 1, histA, 10, LinkDown))
	d := Decide(obs, SwitchoverState{Phase: SwitchoverWaitingForSync, From: "g-0", To: "g-1"})
	if d.Kind != KindDeferToSwitchover || len(d.Actions) != 0 {
		t.Fatalf("decision %s with %v", d.Kind, d.Actions)
	}
}

// TestDecideRestartedMaster covers a master whose process restarted: it comes
// back as a replica (its pod arguments say so), possibly empty. A replica
// that holds more of the history is promoted at once, without waiting for
// masterDownAfter; the restarted master is kept only when nobody holds more
// or failover is off.
func TestDecideRestartedMaster(t *testing.T) {
	restarted := func(h string, off int64) Member {
		m := replica("g-0", 0, h, off, LinkDown)
		m.Repl.MasterHost = "g-master.ns.svc"
		return m
	}
	t.Run("empty after restart: the most advanced replica takes over", func(t *testing.T) {
		obs := observe("g-0", 0, restarted(histC, 0), replica("g-1", 1, histA, 990, LinkDown), replica("g-2", 2, histA, 995, LinkDown))
		obs.Status.LastMasterReplID, obs.Status.LastMasterOffset = histA, 1000
		d := Decide(obs, SwitchoverState{})
		if d.Kind != KindFailover || d.To != "g-2" || d.Detection.Reason != "MasterRestarted" {
			t.Fatalf("decision = %s to %s (%s)", d.Kind, d.To, d.Message)
		}
		wantActions(t, d.Actions,
			"SetTargetMaster g-2", "PauseWrites g-0 10s", "ReplicaOf g-1 g-2", "Promote g-2", "VerifyRole g-2 master",
			"MarkFenced g-0 g-2", "ReplicaOf g-0 g-2 discarding its newer data", "KillClients g-0", "Unpause g-0",
			"MoveMasterLabel g-2", "SetCurrentMaster g-2", "Event Warning FailedOver")
	})
	t.Run("process exited, not restarted yet: marked fenced, not deleted", func(t *testing.T) {
		down := unreachable(master("g-0", 0, histA, 1000))
		down.ProcessDown = true
		obs := observe("g-0", 0, down, replica("g-1", 1, histA, 1000, LinkDown), replica("g-2", 2, histA, 990, LinkDown))
		obs.Status.LastMasterReplID, obs.Status.LastMasterOffset = histA, 1000
		d := Decide(obs, SwitchoverState{})
		if d.Kind != KindFailover || d.To != "g-1" || d.Detection.Reason != "MasterProcessExited" {
			t.Fatalf("decision = %s to %s (%s)", d.Kind, d.To, d.Message)
		}
		wantActions(t, d.Actions,
			"SetTargetMaster g-1", "MarkFenced g-0 g-1", "ReplicaOf g-2 g-1", "Promote g-1", "VerifyRole g-1 master",
			"MoveMasterLabel g-1", "SetCurrentMaster g-1", "Event Warning FailedOver")
	})
	t.Run("no replica: made master again", func(t *testing.T) {
		obs := observe("g-0", 0, restarted(histA, 700))
		obs.Status.LastMasterReplID = histA
		d := Decide(obs, SwitchoverState{})
		if d.Kind != KindRestoreMaster || d.To != "g-0" || !strings.Contains(d.Message, "none of the 0 replicas holds more") {
			t.Fatalf("decision = %s to %s (%s)", d.Kind, d.To, d.Message)
		}
		wantActions(t, d.Actions, "Promote g-0", "VerifyRole g-0 master", "MoveMasterLabel g-0", "Event Warning MasterRestored")
		if c := d.Condition(); c.Status != "Unknown" {
			t.Fatalf("condition = %+v", c)
		}
	})
	t.Run("fenced by an abandoned failover, no replica yet: made master again and unfenced", func(t *testing.T) {
		// Every pod was deleted at once: the failover to g-1 marked g-0
		// fenced, g-1 never came back in time, the attempt was abandoned and
		// g-0 is the only member. As master it must not stay fenced, or a
		// later failover away from it would skip fencing it.
		m := restarted(histA, 700)
		m.Fenced = true
		obs := observe("g-0", 0, m)
		obs.Status.LastMasterReplID = histA
		d := Decide(obs, SwitchoverState{})
		if d.Kind != KindRestoreMaster || d.To != "g-0" {
			t.Fatalf("decision = %s to %s (%s)", d.Kind, d.To, d.Message)
		}
		wantActions(t, d.Actions, "Promote g-0", "VerifyRole g-0 master", "MoveMasterLabel g-0",
			"ClearFenced g-0", "Event Warning MasterRestored")
	})
	t.Run("healthy master still marked fenced: unfenced", func(t *testing.T) {
		m := master("g-0", 0, histA, 1000)
		m.Fenced = true
		obs := observe("g-0", 0, m, replica("g-1", 1, histA, 1000, LinkUp))
		obs.Status.LastMasterReplID = histA
		d := Decide(obs, SwitchoverState{})
		if d.Kind != KindRejoin {
			t.Fatalf("decision = %s (%s)", d.Kind, d.Message)
		}
		wantActions(t, d.Actions, "ClearFenced g-0")
	})
	// Review finding 3, fault-model seed 25649: a failover promoted g-1
	// from g-0's history, g-2 followed g-1 onto its new history and
	// acknowledged writes there, then g-1 restarted from an old dump and the
	// attempt was abandoned. g-0 restarted holding more of its history than
	// g-2's switch point, and was made master again: g-2 full-synced from it
	// and lost what it acknowledged on g-1's history.
	// Since the reference follows a replica onto a later history on which
	// it holds bytes of its own (ReferenceHistory), that replica is the most
	// advanced one: it is promoted and the restarted member rejoins it,
	// losing only its bytes past g-2's switch, which no known replica
	// acknowledged. (It used to wait, ReplicaOnLaterHistory, until
	// accept-data-loss restored g-0 and wiped g-2's.)
	t.Run("a replica moved on to a later history with writes of its own: it is promoted", func(t *testing.T) {
		movedOn := replica("g-2", 2, histC, 1450, LinkDown)
		movedOn.Repl.ReplID2, movedOn.Repl.SecondReplOffset = histA, 1301
		obs := observe("g-0", 0, restarted(histA, 1470), replica("g-1", 1, histA, 1000, LinkDown), movedOn)
		obs.Status.LastMasterReplID = histA
		d := Decide(obs, SwitchoverState{})
		if d.Kind != KindFailover || d.To != "g-2" {
			t.Fatalf("decision = %s/%s to %s (%s) %v", d.Kind, d.Reason, d.To, d.Message, d.Actions)
		}
		obs.Settings.AcceptDataLoss = true
		if d := Decide(obs, SwitchoverState{}); d.Kind != KindFailover || d.To != "g-2" {
			t.Fatalf("with accept-data-loss: decision = %s/%s to %s (%s)", d.Kind, d.Reason, d.To, d.Message)
		}
		// Nothing past its switch point: contained, restored.
		movedOn.Repl.Offset = 1300
		obs = observe("g-0", 0, restarted(histA, 1470), replica("g-1", 1, histA, 1000, LinkDown), movedOn)
		obs.Status.LastMasterReplID = histA
		if d := Decide(obs, SwitchoverState{}); d.Kind != KindRestoreMaster {
			t.Fatalf("replica with nothing past its switch: decision = %s/%s (%s)", d.Kind, d.Reason, d.Message)
		}
	})
	// Fault-model seed 11330: the restarted master had replicated from a
	// master status never recorded (its history lost its lineage in a full
	// sync) and alone held a write WAIT confirmed there. Promoting the
	// most advanced replica of the recorded history made it that
	// replica's replica, and once the new master's offset passed its own
	// its node took the full sync and the write was gone.
	t.Run("restarted holding data on a history nobody can place: wait", func(t *testing.T) {
		obs := observe("g-0", 0, restarted(histC, 3068), replica("g-1", 1, histA, 1840, LinkDown), replica("g-2", 2, histA, 1000, LinkDown))
		obs.Status.LastMasterReplID = histA
		d := Decide(obs, SwitchoverState{})
		if d.Kind != KindWait || d.Reason != "RestartedMasterUnplaced" || len(d.Actions) != 0 {
			t.Fatalf("decision = %s/%s (%s) %v", d.Kind, d.Reason, d.Message, d.Actions)
		}
		obs.Settings.AcceptDataLoss = true
		if d := Decide(obs, SwitchoverState{}); d.Kind != KindFailover || d.To != "g-1" {
			t.Fatalf("with accept-data-loss: decision = %s/%s to %s (%s)", d.Kind, d.Reason, d.To, d.Message)
		}
	})
	// Fault-model seed 67512: a failover to g-1 was cut short before the
	// promotion; g-1 then restarted from an old dump and g-0, the old
	// master, restarted holding a write WAIT confirmed that only it kept.
	// Resuming promoted g-1 over it. The attempt is dropped instead, and
	// decideRestarted weighs the old master.
	t.Run("failover in flight, old master restarted holding more than the target: abandoned", func(t *testing.T) {
		obs := observe("g-0", 0, restarted(histA, 1800), replica("g-1", 1, histA, 1000, LinkDown), replica("g-2", 2, histA, 900, LinkDown))
		obs.Status.TargetMaster, obs.Status.LastMasterReplID = "g-1", histA
		d := Decide(obs, SwitchoverState{})
		if d.Kind != KindAbandon || d.Reason != "FailoverTargetBehindOldMaster" {
			t.Fatalf("decision = %s/%s (%s) %v", d.Kind, d.Reason, d.Message, d.Actions)
		}
		wantActions(t, d.Actions, "ClearTargetMaster", "Event Warning FailoverTargetBehindOldMaster")
		obs.Status.TargetMaster = "g-0"
		if d := Decide(obs, SwitchoverState{}); d.Kind != KindRestoreMaster || d.To != "g-0" {
			t.Fatalf("next pass: decision = %s/%s to %s (%s)", d.Kind, d.Reason, d.To, d.Message)
		}
	})
	t.Run("reloaded everything from disk: made master again, nobody is wiped", func(t *testing.T) {
		obs := observe("g-0", 0, restarted(histA, 1000), replica("g-1", 1, histA, 900, LinkDown))
		obs.Status.LastMasterReplID = histA
		d := Decide(obs, SwitchoverState{})
		if d.Kind != KindRestoreMaster || d.To != "g-0" {
			t.Fatalf("decision = %s to %s (%s)", d.Kind, d.To, d.Message)
		}
	})
}

// TestDecideRestartedMasterNeverWipesAMoreAdvancedReplica is issue point 1
// (R1): decideRestore made a restarted master master again whenever no
// replica was "eligible" (merely unreachable or not Ready counted) or
// failover was disabled, without comparing positions; the restarted master
// then full-synced its replicas from its older dump. Now it is restored only
// when every replica's position is known and none is ahead; a replica ahead
// is promoted (even with failover disabled); unknown positions wait unless
// accept-data-loss is set.
func TestDecideRestartedMasterNeverWipesAMoreAdvancedReplica(t *testing.T) {
	restarted := func(off int64) Member {
		m := replica("g-0", 0, histA, off, LinkDown)
		m.Repl.MasterHost = "g-master.ns.svc"
		return m
	}
	notReady := func(m Member) Member { m.Ready = false; return m }
	cases := []struct {
		name       string
		members    []Member
		disabled   bool
		accept     bool
		wantKind   DecisionKind
		wantReason string
		wantTo     string
		wantIn     string
	}{
		{"older dump, the only replica not ready: refuse, never restore over it",
			[]Member{restarted(100), notReady(replica("g-1", 1, histA, 1000, LinkDown))},
			false, false, KindRefuse, "NoEligibleReplica", "", "g-1: pod is not ready"},
		{"older dump, the most advanced replica not ready: wait rather than promote the one behind",
			[]Member{restarted(100), notReady(replica("g-1", 1, histA, 1000, LinkDown)), replica("g-2", 2, histA, 500, LinkDown)},
			false, false, KindWait, "MostAdvancedReplicaNotEligible", "", "g-1 holds 1000 bytes"},
		{"older dump, the only replica unreachable: wait, its position is unknown",
			[]Member{restarted(100), unreachable(replica("g-1", 1, histA, 1000, LinkDown))},
			false, false, KindWait, "ReplicaPositionsUnknown", "", "only 0 of the 1 replicas"},
		{"older dump, failover disabled, replica ahead: the replica is promoted and the event says why",
			[]Member{restarted(100), replica("g-1", 1, histA, 1000, LinkDown)},
			true, false, KindFailover, "FailingOver", "g-1", ""},
		{"replica unreachable, accept-data-loss: restored with a warning",
			[]Member{restarted(100), unreachable(replica("g-1", 1, histA, 1000, LinkDown))},
			false, true, KindRestoreMaster, "MasterRestored", "g-0", "accept-data-loss is set"},
		{"replica loading a full sync: its offset is not a position, wait",
			[]Member{restarted(1000), func() Member { m := replica("g-1", 1, histA, 5, LinkDown); m.Repl.SyncInProgress = true; return m }()},
			false, false, KindWait, "ReplicaPositionsUnknown", "", "only 0 of the 1 replicas"},
		{"holds at least what every replica holds: restored",
			[]Member{restarted(1000), replica("g-1", 1, histA, 1000, LinkDown), notReady(replica("g-2", 2, histA, 400, LinkDown))},
			false, false, KindRestoreMaster, "MasterRestored", "g-0", "none of the 2 replicas holds more"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obs := observe("g-0", 0, c.members...)
			obs.Status.LastMasterReplID = histA
			obs.Settings.Enabled, obs.Settings.AcceptDataLoss = !c.disabled, c.accept
			d := Decide(obs, SwitchoverState{})
			if d.Kind != c.wantKind || d.Reason != c.wantReason || d.To != c.wantTo || !strings.Contains(d.Message, c.wantIn) {
				t.Fatalf("decision %s/%s to %q (%s), want %s/%s to %q mentioning %q",
					d.Kind, d.Reason, d.To, d.Message, c.wantKind, c.wantReason, c.wantTo, c.wantIn)
			}
			if (d.Kind == KindWait || d.Kind == KindRefuse) && len(d.Actions) != 0 {
				t.Fatalf("a wait acts or says it is fine: %v %+v", d.Actions, d.Condition())
			}
			if c.disabled {
				var warned bool
				for _, a := range d.Actions {
					warned = warned || (a.Reason == "MasterRestartedBehind" && strings.Contains(a.Message, "automatic failover is disabled"))
				}
				if !warned {
					t.Fatalf("no MasterRestartedBehind warning: %v", d.Actions)
				}
			}
		})
	}
}

// TestDecideCutOffMasterIsReplaced is issue point 4: the operator reaches the
// master but no replica has heard it for L + GuardMargin, so it answers
// -NOREPLICAS to every write. It is failed over, paused first, and its
// clients are disconnected once it is a replica.
func TestDecideCutOffMasterIsReplaced(t *testing.T) {
	obs := observe("g-0", 0, master("g-0", 0, histA, 1000),
		quiet(replica("g-1", 1, histA, 990, LinkUp), 6), quiet(replica("g-2", 2, histA, 995, LinkUp), 7))
	d := Decide(obs, SwitchoverState{})
	if d.Kind != KindFailover || d.To != "g-2" || d.Detection.Reason != "MasterCutOffFromReplicas" {
		t.Fatalf("decision %s to %q (%s)", d.Kind, d.To, d.Message)
	}
	wantActions(t, d.Actions,
		"SetTargetMaster g-2", "PauseWrites g-0 10s", "ReplicaOf g-1 g-2", "Promote g-2", "VerifyRole g-2 master",
		"MarkFenced g-0 g-2", "ReplicaOf g-0 g-2 discarding its newer data", "KillClients g-0", "Unpause g-0",
		"MoveMasterLabel g-2", "SetCurrentMaster g-2", "Event Warning FailedOver")
}

// TestDecidePartitionWithTheOperatorOnTheMinoritySide is issue point 2: in
// the partition {operator, g-1} | {g-0, g-2, clients} g-1 alone votes the
// master down; main promoted g-1, the least advanced replica, while g-0 kept
// g-2 acknowledging writes. The operator holds and looks again soon.
func TestDecidePartitionWithTheOperatorOnTheMinoritySide(t *testing.T) {
	obs := observe("g-0", time.Minute, unreachable(master("g-0", 0, histA, 5000)),
		replica("g-1", 1, histA, 900, LinkDown), unreachable(replica("g-2", 2, histA, 5000, LinkUp)))
	obs.Status.LastMasterReplID = histA
	d := Decide(obs, SwitchoverState{})
	if d.Kind != KindHold || d.Reason != "OperatorPartitioned" || len(d.Actions) != 0 || d.RequeueAfter != pollWhileSuspect {
		t.Fatalf("decision %s/%s requeue %s (%s) %v", d.Kind, d.Reason, d.RequeueAfter, d.Message, d.Actions)
	}
}

// processDown marks a member's server container as not running (kubelet).
func processDown(m Member) Member {
	m.ProcessDown = true
	return m
}

// TestInFlightSilentTargetIsWaitedForBeforeTheOldMasterRecovers (review
// finding): the plan pointed g-2 at the target g-1 before promoting it, so
// g-2 no longer reports losing g-0, which then looks healthy. A target that
// does not answer while its pod runs may already be master with g-2: the
// failover waits for it instead of abandoning and unpausing g-0.
func TestInFlightSilentTargetIsWaitedForBeforeTheOldMasterRecovers(t *testing.T) {
	m0 := master("g-0", 0, histA, 1000)
	m0.Host = "10.0.0.1"
	r1 := replica("g-1", 1, histA, 1000, LinkDown)
	r1.Host, r1.Repl.MasterHost = "10.0.0.2", "10.0.0.1"
	r2 := replica("g-2", 2, histA, 1000, LinkDown)
	r2.Host, r2.Repl.MasterHost = "10.0.0.3", "10.0.0.2" // repointed at the target
	obs := observe("g-0", 0, m0, unreachable(r1), r2)
	obs.Status.TargetMaster = "g-1"
	obs.Now, obs.MasterLastSeen = t0.Add(61*time.Second), t0.Add(61*time.Second)
	d := Decide(obs, SwitchoverState{})
	if d.Kind != KindWait || d.Reason != "FailoverTargetUnreachable" {
		t.Fatalf("decision %s/%s (%s) %v: want a wait for the silent target", d.Kind, d.Reason, d.Message, d.Actions)
	}
	for _, a := range d.Actions {
		if a.Kind == ActUnpause || a.Kind == ActClearTargetMaster {
			t.Fatalf("the old master released while the target may be master: %v", d.Actions)
		}
	}
}
