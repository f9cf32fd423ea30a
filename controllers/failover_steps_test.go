package controllers

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers/failover"
)

// TestFailoverSettings converts spec.failover, defaulting unset durations.
func TestFailoverSettings(t *testing.T) {
	rg := testGroup()
	got := failoverSettings(rg)
	want := failover.Settings{Enabled: true, MasterDownAfter: 3 * time.Second, PauseTimeout: 5 * time.Second, SwitchoverTimeout: 30 * time.Second,
		Replicas: int(rg.Spec.DesiredReplicas()), MinReplicasToWrite: int(rg.Spec.EffectiveMinReplicasToWrite()),
		MinReplicasMaxLag: time.Duration(rg.Spec.EffectiveMinReplicasMaxLag()) * time.Second,
		ReplPingPeriod:    time.Second, ReplTimeout: 10 * time.Second}
	if got != want {
		t.Errorf("defaults = %+v, want %+v", got, want)
	}
	rg.Spec.Failover.Enabled = ptr.To(false)
	rg.Spec.Failover.MasterDownAfter = &metav1.Duration{Duration: 7 * time.Second}
	rg.Spec.Config = map[string]replnodev1alpha1.ConfigValue{"repl-ping-replica-period": "4", "repl-timeout": " 30 "}
	rg.Annotations = map[string]string{failover.AnnotationAcceptDataLoss: "true"}
	got = failoverSettings(rg)
	if got.Enabled || got.MasterDownAfter != 7*time.Second || got.ReplPingPeriod != 4*time.Second || got.ReplTimeout != 30*time.Second || !got.AcceptDataLoss {
		t.Errorf("set = %+v", got)
	}
	// A user-set ping period the guard margin is not sized for shows in FailoverSafe.
	if c := failoverSafeCondition(rg); c.Status != metav1.ConditionTrue {
		t.Errorf("failover disabled: %+v", c)
	}
	rg.Spec.Failover.Enabled = ptr.To(true)
	if c := failoverSafeCondition(rg); c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "repl-ping-replica-period 4s") {
		t.Errorf("FailoverSafe = %+v", c)
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
