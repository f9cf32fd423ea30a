package agent

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ------ DECISIONS (pure: no I/O, time injected) ------

// ShouldRestart reports whether a container that exited with exitCode is
// started again under the pod's restart policy.
func ShouldRestart(policy corev1.RestartPolicy, exitCode int32) bool {
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return exitCode != 0
	default:
		return true
	}
}

// RestartDelay is the crash-loop backoff before restart number restarts+1:
// base, doubling per restart already done, capped at max.
func RestartDelay(restarts int32, base, max time.Duration) time.Duration {
	d := base
	for i := int32(0); i < restarts && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d
}

// ProbeTracker turns single probe outcomes into a probe result using the
// probe's success and failure thresholds, like the kubelet's prober.
type ProbeTracker struct {
	Result    bool // current result; starts as Initial
	successes int32
	failures  int32
}

// NewProbeTracker returns a tracker whose result starts at initial
// (readiness starts false, liveness true).
func NewProbeTracker(initial bool) *ProbeTracker { return &ProbeTracker{Result: initial} }

// Observe records one outcome and returns the result and whether it changed.
// A result flips to success after successThreshold consecutive successes
// and to failure after failureThreshold consecutive failures (minimum 1).
func (t *ProbeTracker) Observe(ok bool, successThreshold, failureThreshold int32) (result, changed bool) {
	if successThreshold < 1 {
		successThreshold = 1
	}
	if failureThreshold < 1 {
		failureThreshold = 3
	}
	before := t.Result
	if ok {
		t.successes++
		t.failures = 0
		if t.successes >= successThreshold {
			t.Result = true
		}
	} else {
		t.failures++
		t.successes = 0
		if t.failures >= failureThreshold {
			t.Result = false
		}
	}
	return t.Result, t.Result != before
}

// PodPhase computes the pod phase from its container statuses the way the
// kubelet does: Pending while init containers have not all succeeded or a
// container never started; Running while any runs or will be restarted;
// Succeeded or Failed once every container stopped for good.
func PodPhase(policy corev1.RestartPolicy, initStatuses, statuses []corev1.ContainerStatus) corev1.PodPhase {
	for _, s := range initStatuses {
		if t := s.State.Terminated; t != nil && t.ExitCode == 0 {
			continue
		}
		if t := s.State.Terminated; t != nil && !ShouldRestart(policy, t.ExitCode) {
			return corev1.PodFailed
		}
		return corev1.PodPending
	}
	if len(statuses) == 0 {
		return corev1.PodPending
	}
	pending, running, succeeded, failed, restarting := 0, 0, 0, 0, 0
	for _, s := range statuses {
		switch {
		case s.State.Running != nil:
			running++
		case s.State.Terminated != nil:
			if s.State.Terminated.ExitCode == 0 {
				succeeded++
			} else {
				failed++
			}
			if ShouldRestart(policy, s.State.Terminated.ExitCode) {
				restarting++
			}
		case s.LastTerminationState.Terminated != nil:
			restarting++ // waiting in crash-loop backoff
		default:
			pending++
		}
	}
	switch {
	case pending > 0:
		return corev1.PodPending
	case running > 0 || restarting > 0:
		return corev1.PodRunning
	case failed > 0:
		return corev1.PodFailed
	default:
		return corev1.PodSucceeded
	}
}

// PodConditions returns the pod's conditions with the given truth values,
// keeping LastTransitionTime from prev when a condition's status did not
// change, and keeping conditions it does not own (e.g. PodScheduled,
// readiness gates) as they were. Ready also requires every readiness gate.
func PodConditions(prev []corev1.PodCondition, gates []corev1.PodReadinessGate, sandboxReady, initialized, containersReady bool, now time.Time) []corev1.PodCondition {
	prevBy := map[corev1.PodConditionType]corev1.PodCondition{}
	for _, c := range prev {
		prevBy[c.Type] = c
	}
	gatesOK := true
	for _, g := range gates {
		if c, ok := prevBy[g.ConditionType]; !ok || c.Status != corev1.ConditionTrue {
			gatesOK = false
		}
	}
	owned := []struct {
		t  corev1.PodConditionType
		ok bool
	}{
		{corev1.PodReadyToStartContainers, sandboxReady},
		{corev1.PodInitialized, initialized},
		{corev1.ContainersReady, containersReady},
		{corev1.PodReady, containersReady && gatesOK},
	}
	isOwned := map[corev1.PodConditionType]bool{}
	var out []corev1.PodCondition
	for _, o := range owned {
		isOwned[o.t] = true
		status := corev1.ConditionFalse
		if o.ok {
			status = corev1.ConditionTrue
		}
		cond := corev1.PodCondition{Type: o.t, Status: status, LastTransitionTime: metav1.NewTime(now)}
		if p, ok := prevBy[o.t]; ok && p.Status == status {
			cond.LastTransitionTime = p.LastTransitionTime
		}
		if !o.ok && (o.t == corev1.ContainersReady || o.t == corev1.PodReady) {
			cond.Reason = "ContainersNotReady"
		}
		out = append(out, cond)
	}
	for _, c := range prev {
		if !isOwned[c.Type] {
			out = append(out, c)
		}
	}
	return out
}

// PodReadyStatus reports whether pod has condition Ready=True.
func PodReadyStatus(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
