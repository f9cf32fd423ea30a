package failover

import (
	"testing"
	"time"
)

// TestPlanPass checks how one pass combines the switchover machine and the failover policy.
func TestPlanPass(t *testing.T) {
	healthy := []Member{master("g-0", 0, histA, 1000), replica("g-1", 1, histA, 1000, LinkUp)}
	failed := []Member{gone(master("g-0", 0, histA, 1000)), replica("g-1", 1, histA, 1000, LinkDown), replica("g-2", 2, histA, 900, LinkDown)}

	t.Run("healthy, nothing requested", func(t *testing.T) {
		p := PlanPass(observe("g-0", 0, healthy...), SwitchoverState{}, "")
		if len(p.Actions) != 0 || p.Condition.Status != "True" || p.SwitchoverCondition != nil || p.Decision == nil {
			t.Fatalf("pass %+v", p)
		}
	})
	t.Run("requested switchover starts", func(t *testing.T) {
		p := PlanPass(observe("g-0", 0, healthy...), SwitchoverState{}, "g-1")
		if p.Step == nil || p.Step.Result != SwitchoverStarted || p.Switchover.Phase != SwitchoverWaitingForSync ||
			p.SwitchoverCondition.Status != "Unknown" || p.Condition.Status != "Unknown" {
			t.Fatalf("pass %+v", p)
		}
	})
	t.Run("requested switchover to the master is nothing", func(t *testing.T) {
		p := PlanPass(observe("g-0", 0, healthy...), SwitchoverState{}, "g-0")
		if p.Step != nil || len(p.Actions) != 0 {
			t.Fatalf("pass %+v", p)
		}
	})
	t.Run("requested switchover refused while the master is failed: failover still happens", func(t *testing.T) {
		obs := observe("g-0", time.Hour, failed...)
		obs.Status.LastMasterReplID = histA
		p := PlanPass(obs, SwitchoverState{}, "g-2")
		if p.Step == nil || p.Step.Reason != "MasterNotAvailable" || p.SwitchoverCondition.Status != "False" {
			t.Fatalf("switchover step %+v", p.Step)
		}
		if p.Decision == nil || p.Decision.Kind != KindFailover || p.Decision.To != "g-1" || len(p.Actions) == 0 {
			t.Fatalf("decision %+v", p.Decision)
		}
		if p.RequeueAfter != 10*time.Second {
			t.Fatalf("RequeueAfter %s", p.RequeueAfter)
		}
	})
	t.Run("active switchover owns the pass even if the master fails", func(t *testing.T) {
		obs := observe("g-0", time.Hour, failed...)
		state := SwitchoverState{Phase: SwitchoverWaitingForSync, From: "g-0", To: "g-1", StartedAt: obs.Now, PausedAt: obs.Now}
		p := PlanPass(obs, state, "g-1")
		if p.Step == nil || p.Step.Result != SwitchoverAborted || p.Switchover.Active() || p.Decision != nil {
			t.Fatalf("pass %+v", p)
		}
		wantActions(t, p.Actions, "ClearTargetMaster", "Event Warning MasterLost")
	})
	t.Run("backoff is kept across refusals", func(t *testing.T) {
		obs := observe("g-0", 0, healthy...)
		state := SwitchoverState{RetryAfter: obs.Now.Add(30 * time.Second)}
		p := PlanPass(obs, state, "g-1")
		if p.Step.Reason != "SwitchoverBackoff" || p.Switchover.RetryAfter != state.RetryAfter || p.RequeueAfter != 30*time.Second {
			t.Fatalf("pass %+v", p)
		}
	})
}
