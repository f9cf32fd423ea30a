package controllers

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

// ------ SELF-HEALING ------
//
// A member whose server keeps exiting (a bad spec.config value, a broken
// image) is reported with the node's own last words, and a member that runs
// an outdated template and is not ready is replaced without waiting for it
// instead of holding the rolling update forever — one at a time, and only
// while the master keeps min-replicas-to-write linked replicas — so fixing
// the spec is all it takes to heal the group, and a bad fix never costs
// every replica.

// maxFailureMessage bounds one member's error in the MemberFailing condition
// (a condition message holds at most 32 KiB for all members).
const maxFailureMessage = 512

// memberFailure is one member whose server container is not running after
// it exited or could not start.
type memberFailure struct {
	Member   string
	Reason   string
	ExitCode int32
	Restarts int32
	// LastError is the node's last error, from the termination message.
	LastError string
}

// String renders the failure for the condition message.
func (f memberFailure) String() string {
	s := fmt.Sprintf("%s: %s", f.Member, f.Reason)
	if f.ExitCode != 0 || f.Restarts > 0 {
		s += fmt.Sprintf(" (exit code %d, %d restarts)", f.ExitCode, f.Restarts)
	}
	if f.LastError != "" {
		s += ": " + f.LastError
	}
	return s
}

// podFailure returns the failure of a member pod's server container, or
// false when it runs (or has not been started yet). The termination message
// is what the container wrote to /dev/termination-log, or with
// terminationMessagePolicy FallbackToLogsOnError the tail of its log when it
// failed. Pure.
func podFailure(pod *corev1.Pod) (memberFailure, bool) {
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name != containerName {
			continue
		}
		f := memberFailure{Member: pod.Name, Restarts: cs.RestartCount}
		switch {
		case cs.State.Waiting != nil:
			w := cs.State.Waiting
			if last := cs.LastTerminationState.Terminated; last != nil && (last.ExitCode != 0 || w.Reason == "CrashLoopBackOff") {
				// Exited and waits to be restarted: a crash loop.
				f.Reason, f.ExitCode, f.LastError = w.Reason, last.ExitCode, lastError(last.Message)
				return f, true
			}
			if isStartFailure(w.Reason) {
				f.Reason, f.LastError = w.Reason, truncate(w.Message, maxFailureMessage)
				return f, true
			}
		case cs.State.Terminated != nil && cs.State.Terminated.ExitCode != 0:
			t := cs.State.Terminated
			f.Reason, f.ExitCode, f.LastError = t.Reason, t.ExitCode, lastError(t.Message)
			if f.Reason == "" {
				f.Reason = "Terminated"
			}
			return f, true
		}
		return memberFailure{}, false
	}
	return memberFailure{}, false
}

// isStartFailure reports whether a waiting reason means the container cannot
// be started at all (as opposed to ContainerCreating or PodInitializing).
func isStartFailure(reason string) bool {
	switch reason {
	case "CreateContainerConfigError", "CreateContainerError", "InvalidImageName", "ErrImagePull", "ImagePullBackOff", "RunContainerError":
		return true
	}
	return false
}

// lastError picks the node's last error out of a termination message (the
// tail of its log): the last non-empty line, preceded by the offending
// directive when the server reports a config file error the way Redis does
// (">>> 'maxmemory lots'" then the reason).
func lastError(message string) string {
	var lines []string
	for _, l := range strings.Split(message, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return ""
	}
	last := lines[len(lines)-1]
	if len(lines) >= 2 && strings.HasPrefix(lines[len(lines)-2], ">>> ") {
		last = lines[len(lines)-2] + " " + last
	}
	return truncate(last, maxFailureMessage)
}

// truncate cuts s to at most n bytes, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// memberFailingCondition renders the failures as the MemberFailing
// condition. Pure.
func memberFailingCondition(failures []memberFailure) metav1.Condition {
	if len(failures) == 0 {
		return metav1.Condition{Type: replnodev1alpha1.ConditionMemberFailing, Status: metav1.ConditionFalse,
			Reason: "ServersRunning", Message: "no member's server is failing"}
	}
	sort.Slice(failures, func(i, j int) bool { return failures[i].Member < failures[j].Member })
	parts := make([]string, len(failures))
	for i, f := range failures {
		parts[i] = f.String()
	}
	return metav1.Condition{Type: replnodev1alpha1.ConditionMemberFailing, Status: metav1.ConditionTrue,
		Reason: failures[0].Reason, Message: strings.Join(parts, "; ")}
}

// reportMemberFailures sets the MemberFailing condition from the pods this
// pass observed.
func (r *ReplicationGroupReconciler) reportMemberFailures(_ context.Context, p *pass) (ctrl.Result, error) {
	var failures []memberFailure
	for _, pod := range p.pods {
		if !pod.DeletionTimestamp.IsZero() {
			continue
		}
		if f, ok := podFailure(pod); ok {
			failures = append(failures, f)
		}
	}
	c := memberFailingCondition(failures)
	c.ObservedGeneration = p.rg.Generation
	if old := meta.FindStatusCondition(p.rg.Status.Conditions, c.Type); (old == nil || old.Status != c.Status) && c.Status == metav1.ConditionTrue {
		r.event(p.rg, corev1.EventTypeWarning, "MemberFailing", c.Message)
	}
	meta.SetStatusCondition(&p.rg.Status.Conditions, c)
	return ctrl.Result{}, nil
}

// replaceBrokenOutdated returns the replica to delete without waiting for
// it because it runs an outdated template and is neither ready nor
// replicating: waiting for it, as the rolling update waits for every member,
// would wait forever when the old template is what breaks it (a bad config
// value fixed since). It replaces at most one at a time and only while the
// rest of the group can do without it (brokenReplacementBlocked), so a spec
// fix that is bad as well, or replicas that are not ready because of
// something else than their template, never cost every replica at once.
// Highest ordinal first. Pure.
func replaceBrokenOutdated(in topologyInput, master *observedMember) []topologyAction {
	var broken []observedMember
	for _, m := range in.Members {
		if m.Name == master.Name || !m.PodExists || m.Deleting || m.Ready || m.Fenced || m.TemplateHash == in.TemplateHash {
			continue
		}
		if m.Reachable && m.LinkUp {
			// Replicating: it will be ready soon and is rolled in turn.
			continue
		}
		broken = append(broken, m)
	}
	if len(broken) == 0 {
		return nil
	}
	sort.Slice(broken, func(i, j int) bool { return broken[i].Ordinal > broken[j].Ordinal })
	m := broken[0]
	if blocked, ok := brokenReplacementBlocked(in, master, m); ok {
		return []topologyAction{blocked}
	}
	return []topologyAction{{Kind: topoDeletePod, Member: m.Name, Reason: "RollingUpdate",
		Message: fmt.Sprintf("replica %s runs an outdated template and is not ready; replacing it at once", m.Name)}}
}

// brokenReplacementBlocked returns a Wait, and true, when the broken
// outdated replica m must not be replaced yet:
//
//   - a replacement is under way: a replica pod is being deleted, or runs
//     the current template and is not ready yet (the previous replacement,
//     which may be broken by the new template too);
//   - fewer than min-replicas-to-write other replicas are linked to the
//     master, so the group is not healthy enough to lose a member, unless
//     m's server is not running at all (a crash loop): deleting its pod
//     then stops nothing and keeps its volume.
//
// The master is up: decideTopology rolls only a group whose master answers.
func brokenReplacementBlocked(in topologyInput, master *observedMember, m observedMember) (topologyAction, bool) {
	wait := func(format string, args ...any) (topologyAction, bool) {
		return topologyAction{Kind: topoWait, Member: m.Name, Reason: "BrokenReplicaReplacementWaits",
			Message: fmt.Sprintf("replica %s runs an outdated template and is not ready; not replacing it yet: ", m.Name) + fmt.Sprintf(format, args...)}, true
	}
	linked := 0
	for _, o := range in.Members {
		if o.Name == master.Name || o.Name == m.Name || !o.PodExists || o.Fenced {
			continue
		}
		if o.Deleting {
			return wait("%s is being replaced", o.Name)
		}
		if o.TemplateHash == in.TemplateHash && !o.Ready {
			return wait("%s, on the current template, is not ready yet (one replacement at a time)", o.Name)
		}
	}
	for _, o := range in.Members {
		if o.Name != master.Name && o.Name != m.Name && o.PodExists && !o.Deleting && o.Reachable && o.LinkUp && o.MasterHost == master.PodIP {
			linked++
		}
	}
	if linked < in.MinReplicasToWrite && !m.ProcessDown {
		return wait("only %d other replicas are linked to master %s and min-replicas-to-write is %d", linked, master.Name, in.MinReplicasToWrite)
	}
	return topologyAction{}, false
}
