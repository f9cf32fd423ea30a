package failover

import (
	"testing"
	"time"
)

// Issue 12's scenarios in this commit's API (the new tests use fields it
// does not have); each asserts what the issue asks for.

func TestIssue12Point1RestartedMasterBehindNotReadyReplica(t *testing.T) {
	restarted := replica("g-0", 0, histA, 100, LinkDown)
	restarted.Repl.MasterHost = "g-master.ns.svc"
	for _, c := range []struct {
		name     string
		r1       Member
		disabled bool
	}{
		{"replica ahead not ready", func() Member { m := replica("g-1", 1, histA, 1000, LinkDown); m.Ready = false; return m }(), false},
		{"replica ahead unreachable", unreachable(replica("g-1", 1, histA, 1000, LinkDown)), false},
		{"failover disabled, replica ahead", replica("g-1", 1, histA, 1000, LinkDown), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			obs := observe("g-0", 0, restarted, c.r1)
			obs.Settings.Enabled = !c.disabled
			d := Decide(obs, SwitchoverState{})
			if d.Kind == KindRestoreMaster {
				t.Errorf("the restarted master at offset 100 is made master again over a replica at 1000: %s/%s (%s)", d.Kind, d.Reason, d.Message)
			}
		})
	}
}

func TestIssue12Point3MinorityPartition(t *testing.T) {
	g1 := replica("g-1", 1, histA, 900, LinkDown)
	g1.Repl.LinkDownSeconds = 60
	obs := observe("g-0", time.Minute, unreachable(master("g-0", 0, histA, 5000)), g1, unreachable(replica("g-2", 2, histA, 5000, LinkUp)))
	d := Decide(obs, SwitchoverState{})
	if d.Kind == KindFailover {
		t.Errorf("with the operator on the minority side, %s is promoted on g-1's vote alone: %s (%s)", d.To, d.Reason, d.Message)
	}
}

func TestIssue12Point4SwitchoverPromotedPauseLapsed(t *testing.T) {
	m0 := master("g-0", 0, histA, 1000)
	r1 := promotedFrom(replica("g-1", 1, histA, 1000, LinkUp))
	promoted := SwitchoverState{Phase: SwitchoverPromoted, From: "g-0", To: "g-1", StartedAt: t0, PausedAt: t0}
	obs := observe("g-0", 0, at(m0, 1300), r1)
	obs.Status.TargetMaster = "g-1"
	obs.Now = t0.Add(pauseFor(settings) + time.Second)
	step := StepSwitchover(promoted, "g-1", obs)
	if step.Result != SwitchoverAborted {
		t.Errorf("(a) pause lapsed and the old master wrote 300 bytes after the promotion: %s/%s %v", step.Result, step.Reason, actionLines(step.Actions))
	}
	waiting := SwitchoverState{Phase: SwitchoverWaitingForSync, From: "g-0", To: "g-1", StartedAt: t0, PausedAt: t0}
	obs = observe("g-0", 0, m0, replica("g-1", 1, histA, 1000, LinkUp))
	obs.Status.TargetMaster = "g-1"
	obs.Now = t0.Add(settings.SwitchoverTimeout)
	step = StepSwitchover(waiting, "g-1", obs)
	if step.Result != SwitchoverAborted {
		t.Errorf("(b) target caught up only at the timeout: %s/%s %v", step.Result, step.Reason, actionLines(step.Actions))
	}
}

func TestIssue12Point4cTargetDiesOldMasterGone(t *testing.T) {
	target := replica("g-1", 1, histC, 0, LinkDown)
	obs := observe("g-0", 0, gone(master("g-0", 0, histA, 1000)), target, replica("g-2", 2, histA, 1000, LinkDown))
	obs.Status.TargetMaster = "g-1"
	obs.Now = t0.Add(2 * time.Second)
	state := SwitchoverState{Phase: SwitchoverPromoted, From: "g-0", To: "g-1", StartedAt: t0, PausedAt: t0}
	p := PlanPass(obs, state, "g-1")
	for _, a := range p.Actions {
		if a.Kind == ActPauseWrites && a.Member == "g-0" {
			t.Errorf("(c) the pass pauses the vanished old master again (stuck with no master): %v", actionLines(p.Actions))
		}
	}
	if p.Switchover.Active() {
		t.Errorf("(c) the switchover stays %s with its target dead and the old master gone", p.Switchover.Phase)
	}
}

func TestIssue12Point5MasterCutOffFromReplicas(t *testing.T) {
	r1, r2 := replica("g-1", 1, histA, 990, LinkDown), replica("g-2", 2, histA, 995, LinkDown)
	r1.Repl.LinkDownSeconds, r2.Repl.LinkDownSeconds = 60, 60
	obs := observe("g-0", 0, master("g-0", 0, histA, 1000), r1, r2)
	d := Decide(obs, SwitchoverState{})
	if d.Kind != KindFailover {
		t.Errorf("a master no replica has heard for 60s, reachable by the operator: %s/%s (%s)", d.Kind, d.Reason, d.Message)
	}
}

func TestIssue12Point7VoteBeforeReplTimeout(t *testing.T) {
	// The master is unreachable past masterDownAfter (3s, the sample's);
	// its replicas have not heard it for 8s but repl-timeout (10s) has
	// not expired, so their link still reads up.
	obs := observe("g-0", 8*time.Second, unreachable(master("g-0", 0, histA, 1000)),
		replica("g-1", 1, histA, 1000, LinkUp), replica("g-2", 2, histA, 1000, LinkUp))
	obs.Settings.MasterDownAfter = 3 * time.Second
	d := Decide(obs, SwitchoverState{})
	if d.Kind != KindFailover {
		t.Errorf("master silent to every replica for 8s: %s/%s (%s); detection waits for repl-timeout", d.Kind, d.Reason, d.Message)
	}
}
