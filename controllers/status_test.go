package controllers

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

// ------ STATUS SUMMARY ------

func TestSummarizeStatus(t *testing.T) {
	const mip = "10.0.0.1"
	healthy := []observedMember{up("g-0", 0, "master", "", 100), up("g-1", 1, "slave", mip, 100), up("g-2", 2, "slave", mip, 40)}
	cases := []struct {
		name      string
		in        statusInput
		phase     replnodev1alpha1.Phase
		replicas  string
		trueConds []string
		contains  string
	}{
		{
			name:      "healthy group is Running and Ready",
			in:        statusInput{Members: healthy, CurrentMaster: "g-0", TargetMaster: "g-0", DesiredReplicas: 2},
			phase:     replnodev1alpha1.PhaseRunning,
			replicas:  "2/2",
			trueConds: []string{"Ready", "Available", "ReplicasInSync"},
		},
		{
			name:      "missing replica degrades",
			in:        statusInput{Members: healthy[:2], CurrentMaster: "g-0", TargetMaster: "g-0", DesiredReplicas: 2},
			phase:     replnodev1alpha1.PhaseDegraded,
			replicas:  "1/2",
			trueConds: []string{"Available", "Degraded", "ReplicasInSync"},
			contains:  "1 of 2 replicas exist",
		},
		{
			name: "unreachable master fails the group",
			in: statusInput{Members: []observedMember{
				func() observedMember { m := up("g-0", 0, "master", "", 1); m.Reachable = false; return m }(), healthy[1]},
				CurrentMaster: "g-0", TargetMaster: "g-0", DesiredReplicas: 1},
			phase:     replnodev1alpha1.PhaseFailed,
			replicas:  "1/1",
			trueConds: []string{"Degraded"},
		},
		{
			name:      "no master yet: Pending without pods",
			in:        statusInput{DesiredReplicas: 2},
			phase:     replnodev1alpha1.PhasePending,
			replicas:  "0/2",
			trueConds: nil,
		},
		{
			name: "a step's progress names the phase",
			in: statusInput{Members: healthy, CurrentMaster: "g-0", TargetMaster: "g-0", DesiredReplicas: 2,
				Progress: &progressNote{Phase: replnodev1alpha1.PhaseScaling, Reason: "ScalingUp", Message: "creating g-3"}},
			phase:     replnodev1alpha1.PhaseScaling,
			replicas:  "2/2",
			trueConds: []string{"Ready", "Available", "ReplicasInSync", "Progressing"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := summarizeStatus(c.in)
			if got.Phase != c.phase || got.Replicas != c.replicas {
				t.Errorf("phase %s replicas %s, want %s %s", got.Phase, got.Replicas, c.phase, c.replicas)
			}
			for _, cond := range got.Conditions {
				want := metav1.ConditionFalse
				for _, tc := range c.trueConds {
					if tc == cond.Type {
						want = metav1.ConditionTrue
					}
				}
				if cond.Status != want {
					t.Errorf("%s = %s (%s: %s), want %s", cond.Type, cond.Status, cond.Reason, cond.Message, want)
				}
				if cond.Reason == "" {
					t.Errorf("%s has no reason", cond.Type)
				}
			}
			if c.contains != "" {
				ready := meta.FindStatusCondition(got.Conditions, replnodev1alpha1.ConditionReady)
				if !strings.Contains(ready.Message, c.contains) {
					t.Errorf("Ready message %q lacks %q", ready.Message, c.contains)
				}
			}
		})
	}
	got := summarizeStatus(statusInput{Members: healthy, CurrentMaster: "g-0", TargetMaster: "g-0", DesiredReplicas: 2})
	if m := got.Members[2]; m.Role != "replica" || m.LinkStatus != "up" || m.LagBytes != 60 || m.Offset != 40 {
		t.Errorf("member g-2 = %+v", m)
	}
	if m := got.Members[0]; m.Role != "master" || m.LinkStatus != "" {
		t.Errorf("member g-0 = %+v", m)
	}
}

// TestSummarizeStatusWaitsForAcknowledgingReplicas checks a group is not
// Ready while its master still refuses writes for want of replicas that
// acknowledged (min-replicas-to-write), and is once they count or when the
// master does not report the number.
func TestSummarizeStatusWaitsForAcknowledgingReplicas(t *testing.T) {
	const mip = "10.0.0.1"
	cases := []struct {
		good  int64
		ready bool
	}{{0, false}, {1, true}, {2, true}, {-1, true}}
	for _, c := range cases {
		m := up("g-0", 0, "master", "", 100)
		m.GoodReplicas = c.good
		got := summarizeStatus(statusInput{Members: []observedMember{m, up("g-1", 1, "slave", mip, 100), up("g-2", 2, "slave", mip, 100)},
			CurrentMaster: "g-0", TargetMaster: "g-0", DesiredReplicas: 2, MinReplicasToWrite: 1})
		ready := meta.FindStatusCondition(got.Conditions, replnodev1alpha1.ConditionReady)
		if (ready.Status == metav1.ConditionTrue) != c.ready {
			t.Errorf("good replicas %d: Ready = %s (%s), want ready %v", c.good, ready.Status, ready.Message, c.ready)
		}
		if !c.ready && !strings.Contains(ready.Message, "0 of the 1 acknowledging replicas") {
			t.Errorf("good replicas %d: Ready message %q does not say why", c.good, ready.Message)
		}
	}
}

// TestSummarizeStatusReplicaStillSyncing checks a replica pointed at the
// master but without its data yet (link down, full sync waiting or loading)
// keeps the group from Ready.
func TestSummarizeStatusReplicaStillSyncing(t *testing.T) {
	const mip = "10.0.0.1"
	syncing := up("g-2", 2, "slave", mip, 0)
	syncing.LinkUp = false
	got := summarizeStatus(statusInput{Members: []observedMember{up("g-0", 0, "master", "", 100), up("g-1", 1, "slave", mip, 100), syncing},
		CurrentMaster: "g-0", TargetMaster: "g-0", DesiredReplicas: 2})
	ready := meta.FindStatusCondition(got.Conditions, replnodev1alpha1.ConditionReady)
	if ready.Status != metav1.ConditionFalse || !strings.Contains(ready.Message, "g-2 does not replicate from the master") {
		t.Fatalf("Ready = %s (%s), want False naming g-2", ready.Status, ready.Message)
	}
	if m := got.Members[2]; m.LinkStatus != "down" {
		t.Fatalf("g-2 link status = %q, want down", m.LinkStatus)
	}
}

// ------ AUTH SECRET ------

func TestEvaluateAuth(t *testing.T) {
	spec := &replnodev1alpha1.AuthSpec{SecretName: "pw", Key: "password"}
	secret := func(data map[string][]byte) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "pw", ResourceVersion: "7"}, Data: data}
	}
	cases := []struct {
		name   string
		spec   *replnodev1alpha1.AuthSpec
		secret *corev1.Secret
		usable bool
		reason string
	}{
		{"auth disabled", nil, nil, true, "AuthDisabled"},
		{"secret missing", spec, nil, false, "SecretNotFound"},
		{"key missing", spec, secret(map[string][]byte{"other": []byte("x")}), false, "SecretKeyMissing"},
		{"key empty", spec, secret(map[string][]byte{"password": {}}), false, "SecretKeyEmpty"},
		{"found", spec, secret(map[string][]byte{"password": []byte("hunter2")}), true, "SecretFound"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := evaluateAuth(c.spec, c.secret)
			if got.Usable != c.usable || got.Condition.Reason != c.reason {
				t.Fatalf("usable %v reason %s, want %v %s", got.Usable, got.Condition.Reason, c.usable, c.reason)
			}
			wantStatus := metav1.ConditionFalse
			if !c.usable {
				wantStatus = metav1.ConditionTrue
			}
			if got.Condition.Status != wantStatus || got.Condition.Type != replnodev1alpha1.ConditionSecretMissing {
				t.Errorf("condition = %+v", got.Condition)
			}
			if strings.Contains(got.Condition.Message, "hunter2") {
				t.Error("the condition message holds the password")
			}
		})
	}
	if got := evaluateAuth(spec, secret(map[string][]byte{"password": []byte("hunter2")})); got.Password != "hunter2" || got.ResourceVersion != "7" {
		t.Errorf("found = %+v", got)
	}
}

// TestFailoverSafeCondition checks the settings that weaken the failover's
// no-loss argument show as FailoverSafe=False with the reason in words,
// naming the setting.
func TestFailoverSafeCondition(t *testing.T) {
	group := func(replicas int32, minReplicas *int32, downAfter time.Duration, enabled bool) *replnodev1alpha1.ReplicationGroup {
		rg := &replnodev1alpha1.ReplicationGroup{}
		rg.Spec.Replicas = ptr.To(replicas)
		rg.Spec.MinReplicasToWrite = minReplicas
		rg.Spec.MinReplicasMaxLag = 10 // the test's own, not the default
		rg.Spec.Failover.Enabled = ptr.To(enabled)
		rg.Spec.Failover.MasterDownAfter = &metav1.Duration{Duration: downAfter}
		return rg
	}
	cases := []struct {
		name   string
		rg     *replnodev1alpha1.ReplicationGroup
		status metav1.ConditionStatus
		says   string
	}{
		{"defaults are sound", group(2, nil, 11*time.Second, true), metav1.ConditionTrue, "sound"},
		{"min-replicas-to-write off", group(2, ptr.To[int32](0), 11*time.Second, true), metav1.ConditionFalse, "minReplicasToWrite is 0"},
		{"user-set repl-timeout within a ping period", func() *replnodev1alpha1.ReplicationGroup {
			rg := group(2, nil, 3*time.Second, true)
			rg.Spec.Config = map[string]replnodev1alpha1.ConfigValue{"repl-timeout": "1"}
			return rg
		}(), metav1.ConditionFalse, "repl-timeout 1s"},
		{"no replica to promote", group(0, nil, 11*time.Second, true), metav1.ConditionFalse, "no replica to promote"},
		{"failover disabled", group(0, nil, 11*time.Second, false), metav1.ConditionTrue, "disabled"},
	}
	for _, c := range cases {
		got := failoverSafeCondition(c.rg)
		if got.Type != replnodev1alpha1.ConditionFailoverSafe || got.Status != c.status || !strings.Contains(got.Message, c.says) {
			t.Errorf("%s: %s=%s %s (%s), want %s mentioning %q", c.name, got.Type, got.Status, got.Reason, got.Message, c.status, c.says)
		}
	}
}
