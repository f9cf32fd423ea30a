package failover

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// ------ TRANSCRIPTS ------

// turn is one reconcile pass of a switchover transcript: the observation the
// operator makes, then what StepSwitchover must answer.
type turn struct {
	at         time.Duration // since the transcript's start
	requested  string
	members    []Member
	target     string // status.targetMaster ("" = currentMaster)
	persist    bool   // whether the caller saves Next (false: interrupted)
	wantResult SwitchoverResult
	wantPhase  SwitchoverPhase
	wantReason string
	want       []string
}

// runTranscript plays turns against StepSwitchover, carrying the state the
// way the reconciler does: Next is saved only when the pass completed.
func runTranscript(t *testing.T, current string, turns []turn) SwitchoverState {
	t.Helper()
	var state SwitchoverState
	for i, tr := range turns {
		obs := observe(current, 0, tr.members...)
		obs.Now = t0.Add(tr.at)
		if tr.target != "" {
			obs.Status.TargetMaster = tr.target
		}
		step := StepSwitchover(state, tr.requested, obs)
		if step.Result != tr.wantResult || step.Next.Phase != tr.wantPhase || (tr.wantReason != "" && step.Reason != tr.wantReason) {
			t.Fatalf("turn %d: result %s phase %q reason %s (%s), want %s %q %s",
				i, step.Result, step.Next.Phase, step.Reason, step.Message, tr.wantResult, tr.wantPhase, tr.wantReason)
		}
		if got, w := actionLines(step.Actions), strings.Join(tr.want, "\n"); got != w {
			t.Fatalf("turn %d: actions differ\n--- got\n%s\n--- want\n%s", i, got, w)
		}
		if step.Message == "" {
			t.Fatalf("turn %d: step has no message", i)
		}
		if tr.persist {
			state = step.Next
		}
	}
	return state
}

// promotedFrom returns the member m after REPLICAOF NO ONE at its offset, on history histB.
func promotedFrom(m Member) Member {
	m.Repl = AfterPromotion(m.Repl)
	m.Repl.ReplID = histB
	return m
}

// demoted returns the old master m after the hand-over made it a replica of
// the target (members' hosts are unset in these tests, so any master_host
// matches).
func demoted(m Member) Member {
	m.Repl.Role, m.Repl.LinkStatus, m.Repl.LastIOSeconds = RoleReplica, LinkUp, 0
	return m
}

// at returns m with its offset moved to off.
func at(m Member, off int64) Member {
	m.Repl.Offset = off
	return m
}

// TestSwitchoverHappyPath checks the transcript of an uneventful switchover.
func TestSwitchoverHappyPath(t *testing.T) {
	m0 := master("g-0", 0, histA, 1000)
	r1 := replica("g-1", 1, histA, 900, LinkUp)
	r2 := replica("g-2", 2, histA, 950, LinkUp)
	caughtUp := at(r1, 1000)
	final := runTranscript(t, "g-0", []turn{
		{at: 0, requested: "", members: []Member{m0, r1, r2}, persist: true,
			wantResult: SwitchoverNothing},
		{at: time.Second, requested: "g-1", members: []Member{m0, r1, r2}, persist: true,
			wantResult: SwitchoverStarted, wantPhase: SwitchoverWaitingForSync,
			want: []string{"SetTargetMaster g-1", "PauseWrites g-0 30s", "Event Normal SwitchoverStarted"}},
		{at: 2 * time.Second, requested: "g-1", members: []Member{m0, at(r1, 980), r2}, target: "g-1", persist: true,
			wantResult: SwitchoverWaiting, wantPhase: SwitchoverWaitingForSync},
		{at: 3 * time.Second, requested: "g-1", members: []Member{m0, caughtUp, r2}, target: "g-1", persist: true,
			wantResult: SwitchoverPromoting, wantPhase: SwitchoverPromoted,
			// g-2 follows g-1 before it is promoted: the new master has
			// its replica the moment the label moves (writes resume).
			want: []string{"PauseWrites g-0 30s", "ReplicaOf g-0 g-1", "ReplicaOf g-2 g-1", "Promote g-1", "VerifyRole g-1 master"}},
		{at: 4 * time.Second, requested: "g-1", members: []Member{demoted(m0), promotedFrom(caughtUp), r2}, target: "g-1", persist: true,
			wantResult: SwitchoverCompleted, wantPhase: SwitchoverIdle,
			want: []string{"ReplicaOf g-2 g-1", "ReplicaOf g-0 g-1", "KillClients g-0", "Unpause g-0", "MoveMasterLabel g-1", "SetCurrentMaster g-1", "Event Normal SwitchoverCompleted"}},
	})
	if final.Active() {
		t.Fatalf("switchover still active: %+v", final)
	}
}

// TestSwitchoverInterruptedAfterPromotion checks a pass that promoted but did not save its state is finished.
func TestSwitchoverInterruptedAfterPromotion(t *testing.T) {
	// The pass that promoted g-1 died before saving Promoted: the next pass,
	// still in WaitingForSync, sees g-1 already master at the master's offset
	// and finishes instead of waiting or aborting.
	m0 := master("g-0", 0, histA, 1000)
	r1 := replica("g-1", 1, histA, 1000, LinkUp)
	runTranscript(t, "g-0", []turn{
		{at: 0, requested: "g-1", members: []Member{m0, r1}, persist: true,
			wantResult: SwitchoverStarted, wantPhase: SwitchoverWaitingForSync,
			want: []string{"SetTargetMaster g-1", "PauseWrites g-0 30s", "Event Normal SwitchoverStarted"}},
		{at: time.Second, requested: "g-1", members: []Member{m0, r1}, target: "g-1", persist: false,
			wantResult: SwitchoverPromoting, wantPhase: SwitchoverPromoted,
			want: []string{"PauseWrites g-0 30s", "ReplicaOf g-0 g-1", "Promote g-1", "VerifyRole g-1 master"}},
		{at: 2 * time.Second, requested: "g-1", members: []Member{demoted(m0), promotedFrom(r1)}, target: "g-1", persist: true,
			wantResult: SwitchoverCompleted, wantPhase: SwitchoverIdle,
			want: []string{"ReplicaOf g-0 g-1", "KillClients g-0", "Unpause g-0", "MoveMasterLabel g-1", "SetCurrentMaster g-1", "Event Normal SwitchoverCompleted"}},
	})
}

// TestSwitchoverInterruptedBetweenDemotionAndPromotion checks a pass cut
// short after REPLICAOF on the old master, before the target's promotion:
// the next pass sees the old master a replica of the caught-up target and
// hands over again (both commands are idempotent).
func TestSwitchoverInterruptedBetweenDemotionAndPromotion(t *testing.T) {
	m0 := master("g-0", 0, histA, 1000)
	r1 := replica("g-1", 1, histA, 1000, LinkUp)
	runTranscript(t, "g-0", []turn{
		{at: 0, requested: "g-1", members: []Member{m0, r1}, persist: true,
			wantResult: SwitchoverStarted, wantPhase: SwitchoverWaitingForSync,
			want: []string{"SetTargetMaster g-1", "PauseWrites g-0 30s", "Event Normal SwitchoverStarted"}},
		{at: time.Second, requested: "g-1", members: []Member{m0, r1}, target: "g-1", persist: false,
			wantResult: SwitchoverPromoting, wantPhase: SwitchoverPromoted,
			want: []string{"PauseWrites g-0 30s", "ReplicaOf g-0 g-1", "Promote g-1", "VerifyRole g-1 master"}},
		{at: 2 * time.Second, requested: "g-1", members: []Member{demoted(m0), r1}, target: "g-1", persist: true,
			wantResult: SwitchoverPromoting, wantPhase: SwitchoverPromoted,
			want: []string{"PauseWrites g-0 30s", "ReplicaOf g-0 g-1", "Promote g-1", "VerifyRole g-1 master"}},
	})
}

// TestSwitchoverHandOverKeepsPSYNC checks the hand-over predicts partial
// resyncs for every member: the old master is demoted before the target's
// promotion, so its offset cannot pass the promotion point.
func TestSwitchoverHandOverKeepsPSYNC(t *testing.T) {
	obs := observe("g-0", 0, master("g-0", 0, histA, 1000), replica("g-1", 1, histA, 1000, LinkUp), replica("g-2", 2, histA, 960, LinkUp))
	obs.Now = t0.Add(time.Second)
	step := StepSwitchover(SwitchoverState{Phase: SwitchoverWaitingForSync, From: "g-0", To: "g-1", StartedAt: t0, PausedAt: t0}, "g-1", obs)
	if step.Result != SwitchoverPromoting || len(step.Resyncs) != 2 {
		t.Fatalf("step %s %v", step.Result, step.Resyncs)
	}
	for name, p := range step.Resyncs {
		if p.Mode != ResyncPartial {
			t.Fatalf("%s predicted %s: %s", name, p.Mode, p.Reason)
		}
	}
}

// TestSwitchoverNeverPromotesBlindly is issue point 3: (b) a target that
// caught up only after the switchover timeout is not promoted (the pause on
// the old master may have lapsed, so writes may have landed it never saw);
// (a) in Promoted, an old master still answering as master whose pause
// lapsed and whose offset moved past the promotion point keeps its writes:
// the switchover aborts instead of repointing it; a target that answers as a
// replica again after Promoted is not re-promoted from stale offsets, the
// old master the hand-over demoted is promoted back.
func TestSwitchoverNeverPromotesBlindly(t *testing.T) {
	m0 := master("g-0", 0, histA, 1000)
	r1 := replica("g-1", 1, histA, 1000, LinkUp)
	waiting := SwitchoverState{Phase: SwitchoverWaitingForSync, From: "g-0", To: "g-1", StartedAt: t0, PausedAt: t0}
	promoted := SwitchoverState{Phase: SwitchoverPromoted, From: "g-0", To: "g-1", StartedAt: t0, PausedAt: t0}
	cases := []struct {
		name       string
		state      SwitchoverState
		after      time.Duration
		members    []Member
		wantResult SwitchoverResult
		wantReason string
		want       []string
	}{
		{"(b) caught up only after the timeout: abort", waiting, settings.SwitchoverTimeout, []Member{m0, r1},
			SwitchoverAborted, "SwitchoverTimedOut", []string{"Unpause g-0", "ClearTargetMaster", "Event Warning SwitchoverTimedOut"}},
		{"(a) pause lapsed and the old master wrote past the promotion point: keep its writes", promoted, pauseFor(settings) + time.Second,
			[]Member{at(m0, 1300), promotedFrom(r1)},
			SwitchoverAborted, "OldMasterWroteAfterPromotion", []string{"ReplicaOf g-1 g-0", "Unpause g-0", "ClearTargetMaster", "Event Warning OldMasterWroteAfterPromotion"}},
		{"(a) pause still holds: finish", promoted, time.Second, []Member{at(m0, 1014), promotedFrom(r1)},
			SwitchoverCompleted, "SwitchoverCompleted", []string{"ReplicaOf g-0 g-1", "KillClients g-0", "Unpause g-0", "MoveMasterLabel g-1", "SetCurrentMaster g-1", "Event Normal SwitchoverCompleted"}},
		{"(a) pause lapsed but nothing written: finish", promoted, pauseFor(settings) + time.Second, []Member{m0, promotedFrom(r1)},
			SwitchoverCompleted, "SwitchoverCompleted", []string{"ReplicaOf g-0 g-1", "KillClients g-0", "Unpause g-0", "MoveMasterLabel g-1", "SetCurrentMaster g-1", "Event Normal SwitchoverCompleted"}},
		{"target a replica again after Promoted: promote the demoted old master back", promoted, 2 * time.Second, []Member{demoted(m0), r1},
			SwitchoverAborted, "TargetNoLongerMaster", []string{"Promote g-0", "VerifyRole g-0 master", "Unpause g-0", "ClearTargetMaster", "Event Warning TargetNoLongerMaster"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obs := observe("g-0", 0, c.members...)
			obs.Status.TargetMaster = "g-1"
			obs.Now = t0.Add(c.after)
			step := StepSwitchover(c.state, "g-1", obs)
			if step.Result != c.wantResult || step.Reason != c.wantReason {
				t.Fatalf("step %s/%s (%s), want %s/%s", step.Result, step.Reason, step.Message, c.wantResult, c.wantReason)
			}
			wantActions(t, step.Actions, c.want...)
		})
	}
}

// TestSwitchoverTargetDiesAfterPromotionOldMasterGone is issue point 3(c):
// the target restarted after Promoted and the old master's pod is gone.
// main re-issued PauseWrites to the vanished master on every pass, stuck with
// no master; now the switchover aborts without touching it and the failover
// policy promotes the best replica.
func TestSwitchoverTargetDiesAfterPromotionOldMasterGone(t *testing.T) {
	restartedTarget := replica("g-1", 1, histC, 0, LinkDown)
	restartedTarget.Repl.Empty = true // restarted with no data (offset 0 alone would not say so)
	members := []Member{gone(master("g-0", 0, histA, 1000)), restartedTarget, replica("g-2", 2, histA, 1000, LinkDown)}
	obs := observe("g-0", 0, members...)
	obs.Status.TargetMaster, obs.Status.LastMasterReplID = "g-1", histA
	obs.Now = t0.Add(2 * time.Second)
	state := SwitchoverState{Phase: SwitchoverPromoted, From: "g-0", To: "g-1", StartedAt: t0, PausedAt: t0}
	p := PlanPass(obs, state, "g-1")
	if p.Step == nil || p.Step.Result != SwitchoverAborted || p.Switchover.Active() {
		t.Fatalf("pass %+v", p)
	}
	wantActions(t, p.Actions, "ClearTargetMaster", "Event Warning TargetNoLongerMaster")
	obs.Status.TargetMaster = "g-0"
	obs.MasterLastSeen = t0
	d := Decide(obs, SwitchoverState{})
	if d.Kind != KindFailover || d.To != "g-2" {
		t.Fatalf("after the abort: %s to %q (%s)", d.Kind, d.To, d.Message)
	}
}

// TestSwitchoverTimesOutAndUnpauses checks the catch-up timeout, the unpause and the retry backoff.
func TestSwitchoverTimesOutAndUnpauses(t *testing.T) {
	m0 := master("g-0", 0, histA, 1000)
	stuck := replica("g-1", 1, histA, 400, LinkUp)
	runTranscript(t, "g-0", []turn{
		{at: 0, requested: "g-1", members: []Member{m0, stuck}, persist: true,
			wantResult: SwitchoverStarted, wantPhase: SwitchoverWaitingForSync,
			want: []string{"SetTargetMaster g-1", "PauseWrites g-0 30s", "Event Normal SwitchoverStarted"}},
		{at: 19 * time.Second, requested: "g-1", members: []Member{m0, at(stuck, 500)}, target: "g-1", persist: true,
			wantResult: SwitchoverWaiting, wantPhase: SwitchoverWaitingForSync},
		{at: 20 * time.Second, requested: "g-1", members: []Member{m0, at(stuck, 500)}, target: "g-1", persist: true,
			wantResult: SwitchoverAborted, wantPhase: SwitchoverIdle, wantReason: "SwitchoverTimedOut",
			want: []string{"Unpause g-0", "ClearTargetMaster", "Event Warning SwitchoverTimedOut"}},
		// Still requested: held off for the backoff so the master is not kept
		// paused, then started over.
		{at: 21 * time.Second, requested: "g-1", members: []Member{m0, at(stuck, 600)}, persist: true,
			wantResult: SwitchoverRejected, wantReason: "SwitchoverBackoff"},
		{at: 20*time.Second + time.Minute - time.Millisecond, requested: "g-1", members: []Member{m0, at(stuck, 600)}, persist: true,
			wantResult: SwitchoverRejected, wantReason: "SwitchoverBackoff"},
		{at: 20*time.Second + time.Minute, requested: "g-1", members: []Member{m0, at(stuck, 600)}, persist: true,
			wantResult: SwitchoverStarted, wantPhase: SwitchoverWaitingForSync,
			want: []string{"SetTargetMaster g-1", "PauseWrites g-0 30s", "Event Normal SwitchoverStarted"}},
	})
}

// TestSwitchoverAborts checks each reason to abort and what is undone.
func TestSwitchoverAborts(t *testing.T) {
	m0 := master("g-0", 0, histA, 1000)
	r1 := replica("g-1", 1, histA, 900, LinkUp)
	started := turn{at: 0, requested: "g-1", members: []Member{m0, r1}, persist: true,
		wantResult: SwitchoverStarted, wantPhase: SwitchoverWaitingForSync,
		want: []string{"SetTargetMaster g-1", "PauseWrites g-0 30s", "Event Normal SwitchoverStarted"}}
	promoting := turn{at: time.Second, requested: "g-1", members: []Member{m0, at(r1, 1000)}, target: "g-1", persist: true,
		wantResult: SwitchoverPromoting, wantPhase: SwitchoverPromoted,
		want: []string{"PauseWrites g-0 30s", "ReplicaOf g-0 g-1", "Promote g-1", "VerifyRole g-1 master"}}
	foreign := replica("g-1", 1, histC, 5000, LinkUp)

	cases := []struct {
		name  string
		turns []turn
	}{
		{"request withdrawn while waiting", []turn{started,
			{at: time.Second, requested: "", members: []Member{m0, r1}, target: "g-1", persist: true,
				wantResult: SwitchoverAborted, wantReason: "SwitchoverCancelled",
				want: []string{"Unpause g-0", "ClearTargetMaster", "Event Warning SwitchoverCancelled"}}}},
		{"master lost while waiting: no unpause, failover takes over", []turn{started,
			{at: time.Second, requested: "g-1", members: []Member{unreachable(m0), r1}, target: "g-1", persist: true,
				wantResult: SwitchoverAborted, wantReason: "MasterLost",
				want: []string{"ClearTargetMaster", "Event Warning MasterLost"}}}},
		{"target lost while waiting", []turn{started,
			{at: time.Second, requested: "g-1", members: []Member{m0, unreachable(r1)}, target: "g-1", persist: true,
				wantResult: SwitchoverAborted, wantReason: "TargetLost",
				want: []string{"Unpause g-0", "ClearTargetMaster", "Event Warning TargetLost"}}}},
		{"target resynced onto another history while waiting", []turn{started,
			{at: time.Second, requested: "g-1", members: []Member{m0, foreign}, target: "g-1", persist: true,
				wantResult: SwitchoverAborted, wantReason: "TargetHistoryChanged",
				want: []string{"Unpause g-0", "ClearTargetMaster", "Event Warning TargetHistoryChanged"}}}},
		{"target's process gone after promotion: roll back, it never took a write", []turn{started, promoting,
			{at: 2 * time.Second, requested: "g-1", members: []Member{demoted(m0), processDown(unreachable(r1))}, target: "g-1", persist: true,
				wantResult: SwitchoverAborted, wantReason: "TargetLostAfterPromotion",
				want: []string{"Promote g-0", "VerifyRole g-0 master", "Unpause g-0", "ClearTargetMaster", "Event Warning TargetLostAfterPromotion"}}}},
		// Review finding: a target that merely does not answer (a slow reply,
		// a pause, fenced by hand) may be master with the replicas the
		// hand-over pointed at it; promoting g-0 back made two masters.
		{"target silent after promotion while its pod runs: wait, never promote the old master back", []turn{started, promoting,
			{at: 2 * time.Second, requested: "g-1", members: []Member{demoted(m0), unreachable(r1)}, target: "g-1", persist: true,
				wantResult: SwitchoverWaiting, wantPhase: SwitchoverPromoted, wantReason: "SwitchoverTargetUnreachable"}}},
		{"a request change after promotion does not stop the switchover", []turn{started, promoting,
			{at: 2 * time.Second, requested: "g-0", members: []Member{demoted(m0), promotedFrom(at(r1, 1000))}, target: "g-1", persist: true,
				wantResult: SwitchoverCompleted,
				want:       []string{"ReplicaOf g-0 g-1", "KillClients g-0", "Unpause g-0", "MoveMasterLabel g-1", "SetCurrentMaster g-1", "Event Normal SwitchoverCompleted"}}}},
		{"old master lost after promotion: finish and fence it", []turn{started, promoting,
			{at: 2 * time.Second, requested: "g-1", members: []Member{unreachable(m0), promotedFrom(at(r1, 1000))}, target: "g-1", persist: true,
				wantResult: SwitchoverCompleted,
				want:       []string{"DeletePod g-0", "MarkFenced g-0 g-1", "MoveMasterLabel g-1", "SetCurrentMaster g-1", "Event Normal SwitchoverCompleted"}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runTranscript(t, "g-0", c.turns) })
	}
}

// TestSwitchoverRejections checks requests that cannot start are refused without acting.
func TestSwitchoverRejections(t *testing.T) {
	m0 := master("g-0", 0, histA, 1000)
	r1 := replica("g-1", 1, histA, 900, LinkUp)
	notReady := r1
	notReady.Ready = false
	linkDown := replica("g-1", 1, histA, 900, LinkDown)
	foreign := replica("g-1", 1, histC, 900, LinkUp)
	fenced := r1
	fenced.Fenced = true
	cases := []struct {
		name       string
		members    []Member
		current    string
		target     string
		requested  string
		wantReason string
	}{
		{"unknown member", []Member{m0, r1}, "g-0", "", "g-9", "UnknownMember"},
		{"target not ready", []Member{m0, notReady}, "g-0", "", "g-1", "TargetNotEligible"},
		{"target link down", []Member{m0, linkDown}, "g-0", "", "g-1", "TargetNotEligible"},
		{"target on another history", []Member{m0, foreign}, "g-0", "", "g-1", "TargetNotEligible"},
		{"target fenced", []Member{m0, fenced}, "g-0", "", "g-1", "TargetNotEligible"},
		{"target is another master", []Member{m0, master("g-1", 1, histA, 1000)}, "g-0", "", "g-1", "TargetNotEligible"},
		{"master unreachable", []Member{unreachable(m0), r1}, "g-0", "", "g-1", "MasterNotAvailable"},
		{"failover in progress", []Member{m0, r1, replica("g-2", 2, histA, 1, LinkUp)}, "g-0", "g-2", "g-1", "FailoverInProgress"},
		{"no recorded master", []Member{m0, r1}, "", "", "g-1", "NoCurrentMaster"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obs := observe(c.current, 0, c.members...)
			if c.target != "" {
				obs.Status.TargetMaster = c.target
			}
			step := StepSwitchover(SwitchoverState{}, c.requested, obs)
			if step.Result != SwitchoverRejected || step.Reason != c.wantReason || len(step.Actions) != 0 || step.Next.Active() {
				t.Fatalf("step %+v, want a rejection %s without actions", step, c.wantReason)
			}
		})
	}
}

// TestSwitchoverWaitRequeue checks the poll interval and the requeue before the timeout.
func TestSwitchoverWaitRequeue(t *testing.T) {
	obs := observe("g-0", 0, master("g-0", 0, histA, 1000), replica("g-1", 1, histA, 10, LinkUp))
	state := SwitchoverState{Phase: SwitchoverWaitingForSync, From: "g-0", To: "g-1", StartedAt: t0, PausedAt: t0}
	obs.Now = t0.Add(5 * time.Second)
	if s := StepSwitchover(state, "g-1", obs); s.RequeueAfter != SwitchoverPollInterval {
		t.Fatalf("RequeueAfter = %s, want the poll interval", s.RequeueAfter)
	}
	obs.Now = t0.Add(settings.SwitchoverTimeout - 30*time.Millisecond)
	if s := StepSwitchover(state, "g-1", obs); s.RequeueAfter != 30*time.Millisecond {
		t.Fatalf("RequeueAfter = %s, want the 30ms left before the timeout", s.RequeueAfter)
	}
}

// TestSwitchoverDropsInvalidState checks a persisted state the machine could
// not have produced is dropped, unpausing the master, rather than acted on.
func TestSwitchoverDropsInvalidState(t *testing.T) {
	obs := observe("g-0", 0, master("g-0", 0, histA, 1000), replica("g-1", 1, histA, 1000, LinkUp))
	for _, state := range []SwitchoverState{
		{Phase: SwitchoverPromoted, From: "g-0", To: "g-0"},
		{Phase: SwitchoverWaitingForSync, From: "g-0"},
		{Phase: "Teleporting", From: "g-0", To: "g-1"},
	} {
		step := StepSwitchover(state, "g-1", obs)
		if step.Result != SwitchoverAborted || step.Reason != "InvalidSwitchoverState" || step.Next.Active() {
			t.Fatalf("state %+v: step %+v", state, step)
		}
		wantActions(t, step.Actions, "Unpause g-0", "ClearTargetMaster", "Event Warning InvalidSwitchoverState")
	}
}

// TestSwitchoverRollbackRepointsTheOthers: with three members the hand-over
// pointed g-2 at the target; when the target's process is gone and g-0 is
// promoted back, g-2 is pointed back at g-0 in the same step.
func TestSwitchoverRollbackRepointsTheOthers(t *testing.T) {
	m0 := master("g-0", 0, histA, 1000)
	r1 := replica("g-1", 1, histA, 1000, LinkUp)
	r2 := replica("g-2", 2, histA, 1000, LinkUp)
	obs := observe("g-0", 0, m0, r1, r2)
	obs.Status.TargetMaster = "g-1"
	obs.Now = t0.Add(time.Second)
	st := SwitchoverState{Phase: SwitchoverWaitingForSync, From: "g-0", To: "g-1", StartedAt: t0, PausedAt: t0}
	step := StepSwitchover(st, "g-1", obs)
	if step.Result != SwitchoverPromoting {
		t.Fatalf("promotion step: %s %s", step.Result, step.Reason)
	}
	gone := processDown(unreachable(promotedFrom(r1)))
	follower := r2
	follower.Repl.MasterHost = gone.Host
	obs = observe("g-0", 0, demoted(m0), gone, follower)
	obs.Status.TargetMaster = "g-1"
	obs.Now = t0.Add(2 * time.Second)
	step = StepSwitchover(step.Next, "g-1", obs)
	if step.Result != SwitchoverAborted {
		t.Fatalf("want an abort once the target's process is gone, got %s %s", step.Result, step.Reason)
	}
	got := strings.Split(actionLines(step.Actions), "\n")
	if !slices.Contains(got, "ReplicaOf g-2 g-0") || !slices.Contains(got, "Promote g-0") {
		t.Fatalf("rollback actions %v: want g-0 promoted back and g-2 pointed back at it", got)
	}

	// A silent target whose pod runs is waited for instead.
	obs = observe("g-0", 0, demoted(m0), unreachable(promotedFrom(r1)), follower)
	obs.Status.TargetMaster = "g-1"
	obs.Now = t0.Add(2 * time.Second)
	step2 := StepSwitchover(StepSwitchover(st, "g-1", observe("g-0", 0, m0, r1, r2)).Next, "g-1", obs)
	for _, a := range step2.Actions {
		if a.Kind == ActPromote && a.Member == "g-0" {
			t.Fatalf("g-0 promoted back while g-1 may be master:\n%s", actionLines(step2.Actions))
		}
	}
}
