package controllers

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/replnode/replnode/controllers/failover"
)

// TestFailoverSettings converts spec.failover, defaulting unset durations.
func TestFailoverSettings(t *testing.T) {
	rg := testGroup()
	got := failoverSettings(rg)
	want := failover.Settings{Enabled: true, MasterDownAfter: 10 * time.Second, PauseTimeout: 5 * time.Second, SwitchoverTimeout: 30 * time.Second}
	if got != want {
		t.Errorf("defaults = %+v, want %+v", got, want)
	}
	rg.Spec.Failover.Enabled = ptr.To(false)
	rg.Spec.Failover.MasterDownAfter = &metav1.Duration{Duration: 3 * time.Second}
	got = failoverSettings(rg)
	if got.Enabled || got.MasterDownAfter != 3*time.Second {
		t.Errorf("set = %+v", got)
	}
}

// TestSwitchoverStateRoundTrip stores and reloads a switchover through status.
func TestSwitchoverStateRoundTrip(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := failover.SwitchoverState{Phase: failover.SwitchoverWaitingForSync, From: "g-0", To: "g-1", StartedAt: at, PausedAt: at.Add(time.Second)}
	if got := switchoverState(switchoverStatus(s)); got != s {
		t.Errorf("round trip = %+v, want %+v", got, s)
	}
	if switchoverStatus(failover.SwitchoverState{}) != nil {
		t.Error("idle state stored")
	}
	retry := failover.SwitchoverState{RetryAfter: at}
	if got := switchoverState(switchoverStatus(retry)); got != retry {
		t.Errorf("retry round trip = %+v", got)
	}
}
