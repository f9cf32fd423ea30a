package agent

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestShouldRestart covers each restart policy with success and failure.
func TestShouldRestart(t *testing.T) {
	for _, tc := range []struct {
		policy corev1.RestartPolicy
		code   int32
		want   bool
	}{
		{corev1.RestartPolicyAlways, 0, true}, {corev1.RestartPolicyAlways, 137, true},
		{corev1.RestartPolicyOnFailure, 0, false}, {corev1.RestartPolicyOnFailure, 1, true},
		{corev1.RestartPolicyNever, 0, false}, {corev1.RestartPolicyNever, 1, false},
		{"", 0, true},
	} {
		if got := ShouldRestart(tc.policy, tc.code); got != tc.want {
			t.Errorf("ShouldRestart(%q, %d) = %v, want %v", tc.policy, tc.code, got, tc.want)
		}
	}
}

// TestRestartDelayDoublesAndCaps checks the crash-loop backoff sequence.
func TestRestartDelayDoublesAndCaps(t *testing.T) {
	want := []time.Duration{1, 2, 4, 8, 16, 30, 30}
	for i, w := range want {
		if got := RestartDelay(int32(i), time.Second, 30*time.Second); got != w*time.Second {
			t.Errorf("RestartDelay(%d) = %v, want %v", i, got, w*time.Second)
		}
	}
}

// TestProbeTrackerThresholds replays probe outcomes against thresholds.
func TestProbeTrackerThresholds(t *testing.T) {
	tr := NewProbeTracker(false)
	steps := []struct {
		ok            bool
		result, flips bool
	}{
		{true, false, false}, // 1 of 2 successes
		{true, true, true},   // 2 of 2: ready
		{false, true, false}, // 1 of 3 failures
		{true, true, false},  // resets failures
		{false, true, false},
		{false, true, false},
		{false, false, true}, // 3 consecutive failures
	}
	for i, s := range steps {
		result, changed := tr.Observe(s.ok, 2, 3)
		if result != s.result || changed != s.flips {
			t.Fatalf("step %d: got (%v, %v), want (%v, %v)", i, result, changed, s.result, s.flips)
		}
	}
	// Zero thresholds mean the API defaults: 1 success, 3 failures.
	d := NewProbeTracker(true)
	if r, _ := d.Observe(false, 0, 0); !r {
		t.Error("one failure flipped a probe with the default failure threshold")
	}
}

// cs builds a container status for the phase table.
func cs(state string, exit int32, lastTerminated bool) corev1.ContainerStatus {
	s := corev1.ContainerStatus{}
	switch state {
	case "waiting":
		s.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
	case "running":
		s.State.Running = &corev1.ContainerStateRunning{}
	case "terminated":
		s.State.Terminated = &corev1.ContainerStateTerminated{ExitCode: exit}
	}
	if lastTerminated {
		s.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1}
	}
	return s
}

// TestPodPhase covers the kubelet's phase rules.
func TestPodPhase(t *testing.T) {
	A, O, N := corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever
	for name, tc := range map[string]struct {
		policy corev1.RestartPolicy
		inits  []corev1.ContainerStatus
		apps   []corev1.ContainerStatus
		want   corev1.PodPhase
	}{
		"creating":               {A, nil, []corev1.ContainerStatus{cs("waiting", 0, false)}, corev1.PodPending},
		"running":                {A, nil, []corev1.ContainerStatus{cs("running", 0, false)}, corev1.PodRunning},
		"one of two started":     {A, nil, []corev1.ContainerStatus{cs("running", 0, false), cs("waiting", 0, false)}, corev1.PodPending},
		"crash loop":             {A, nil, []corev1.ContainerStatus{cs("waiting", 0, true)}, corev1.PodRunning},
		"init running":           {A, []corev1.ContainerStatus{cs("running", 0, false)}, []corev1.ContainerStatus{cs("waiting", 0, false)}, corev1.PodPending},
		"init failed never":      {N, []corev1.ContainerStatus{cs("terminated", 2, false)}, []corev1.ContainerStatus{cs("waiting", 0, false)}, corev1.PodFailed},
		"completed never":        {N, nil, []corev1.ContainerStatus{cs("terminated", 0, false)}, corev1.PodSucceeded},
		"failed never":           {N, nil, []corev1.ContainerStatus{cs("terminated", 1, false)}, corev1.PodFailed},
		"failed onfailure":       {O, nil, []corev1.ContainerStatus{cs("terminated", 1, false)}, corev1.PodRunning},
		"succeeded onfailure":    {O, nil, []corev1.ContainerStatus{cs("terminated", 0, false)}, corev1.PodSucceeded},
		"exited always":          {A, nil, []corev1.ContainerStatus{cs("terminated", 0, false)}, corev1.PodRunning},
		"no containers reported": {A, nil, nil, corev1.PodPending},
	} {
		if got := PodPhase(tc.policy, tc.inits, tc.apps); got != tc.want {
			t.Errorf("%s: phase %s, want %s", name, got, tc.want)
		}
	}
}

// TestPodConditionsKeepTransitionTimes checks condition values, transition
// times and that foreign conditions and readiness gates are honoured.
func TestPodConditionsKeepTransitionTimes(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Minute)
	first := PodConditions([]corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}}, nil, true, true, false, t0)
	byType := func(cs []corev1.PodCondition) map[corev1.PodConditionType]corev1.PodCondition {
		m := map[corev1.PodConditionType]corev1.PodCondition{}
		for _, c := range cs {
			m[c.Type] = c
		}
		return m
	}
	m := byType(first)
	if m[corev1.PodReady].Status != corev1.ConditionFalse || m[corev1.PodInitialized].Status != corev1.ConditionTrue || m[corev1.PodScheduled].Status != corev1.ConditionTrue {
		t.Fatalf("first conditions wrong: %+v", first)
	}
	second := byType(PodConditions(first, nil, true, true, true, t1))
	if second[corev1.PodReady].Status != corev1.ConditionTrue || !second[corev1.PodReady].LastTransitionTime.Time.Equal(t1) {
		t.Errorf("Ready did not flip at t1: %+v", second[corev1.PodReady])
	}
	if !second[corev1.PodInitialized].LastTransitionTime.Time.Equal(t0) {
		t.Errorf("Initialized transition time moved: %+v", second[corev1.PodInitialized])
	}
	gates := []corev1.PodReadinessGate{{ConditionType: "example.com/gate"}}
	gated := byType(PodConditions(first, gates, true, true, true, t1))
	if gated[corev1.PodReady].Status != corev1.ConditionFalse || gated[corev1.ContainersReady].Status != corev1.ConditionTrue {
		t.Errorf("readiness gate ignored: %+v", gated)
	}
}

// TestTailLines checks the kubelet-style tail of a log.
func TestTailLines(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc\n"},
		{"a\nb\nc", 2, "b\nc"},
		{"a\nb\nc\n", 5, "a\nb\nc\n"},
		{"a\nb\nc\n", 0, ""},
		{"", 3, ""},
		{"only\n", 1, "only\n"},
	} {
		if got := string(TailLines([]byte(tc.in), tc.n)); got != tc.want {
			t.Errorf("TailLines(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// TestLogTail checks the termination message bounds of FallbackToLogsOnError.
func TestLogTail(t *testing.T) {
	log := "one\ntwo\nthree\n"
	if got := LogTail([]byte(log), 2048, 80); got != log {
		t.Errorf("short log = %q", got)
	}
	if got := LogTail([]byte(log), 2048, 2); got != "two\nthree\n" {
		t.Errorf("two lines = %q", got)
	}
	if got := LogTail([]byte(log), 6, 80); got != "three\n" {
		t.Errorf("six bytes = %q", got)
	}
}
