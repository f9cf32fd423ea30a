package controllers

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers/failover"
)

// ------ STATUS ------

// inSyncLagBytes is the largest lag at which a replica still counts as in sync.
const inSyncLagBytes = 1 << 20

// statusInput is what summarizeStatus reads: the observed members, the
// recorded master, the desired replica count and what the pass was busy with.
type statusInput struct {
	Members         []observedMember
	CurrentMaster   string
	TargetMaster    string
	DesiredReplicas int
	Progress        *progressNote
	SecretMissing   bool
	// MinReplicasToWrite is spec.minReplicasToWrite: the master refuses
	// writes until that many replicas have acknowledged.
	MinReplicasToWrite int
}

// statusSummary is summarizeStatus's result.
type statusSummary struct {
	Members       []replnodev1alpha1.MemberStatus
	ReadyReplicas int32
	Replicas      string
	Phase         replnodev1alpha1.Phase
	Conditions    []metav1.Condition
}

// summarizeStatus derives members, counts, phase and the Ready, Available,
// Progressing, Degraded and ReplicasInSync conditions. Pure.
func summarizeStatus(in statusInput) statusSummary {
	var out statusSummary
	var masterOffset int64
	var master *observedMember
	for i := range in.Members {
		if in.Members[i].Name == in.CurrentMaster && in.Members[i].PodExists {
			master = &in.Members[i]
			masterOffset = master.Offset
		}
	}
	var problems []string
	inSync, replicas := 0, 0
	for _, m := range in.Members {
		if !m.PodExists {
			continue
		}
		ms := replnodev1alpha1.MemberStatus{Name: m.Name, PodIP: m.PodIP, Ready: m.Ready, Offset: m.Offset}
		if m.Reachable {
			ms.Role = "replica"
			if m.Role == "master" {
				ms.Role = "master"
			}
		}
		isMaster := m.Name == in.CurrentMaster
		if !isMaster && !m.Deleting {
			replicas++
			if m.Ready {
				out.ReadyReplicas++
			}
			// Pointed at the master is not enough: a replica waiting for or
			// loading its full sync holds none of the master's data yet.
			linkUp := m.Reachable && m.Role == "slave" && m.LinkUp && master != nil && m.MasterHost == master.PodIP && master.PodIP != ""
			if m.Reachable && m.Role == "slave" {
				ms.LinkStatus = "down"
				if linkUp {
					ms.LinkStatus = "up"
				}
			}
			if master != nil && m.Reachable {
				ms.LagBytes = max(0, masterOffset-m.Offset)
			}
			switch {
			case !m.Ready:
				problems = append(problems, m.Name+" is not ready")
			case !linkUp:
				problems = append(problems, m.Name+" does not replicate from the master")
			case ms.LagBytes > inSyncLagBytes:
				problems = append(problems, fmt.Sprintf("%s lags %d bytes", m.Name, ms.LagBytes))
			default:
				inSync++
			}
		}
		out.Members = append(out.Members, ms)
	}
	out.Replicas = fmt.Sprintf("%d/%d", out.ReadyReplicas, in.DesiredReplicas)
	if replicas < in.DesiredReplicas {
		problems = append(problems, fmt.Sprintf("%d of %d replicas exist", replicas, in.DesiredReplicas))
	}
	// A replica counts for min-replicas-to-write only after its first
	// REPLCONF ACK; until then the master answers writes with NOREPLICAS, so
	// the group is not Ready yet however healthy the links look.
	if master != nil && in.MinReplicasToWrite > 0 && master.GoodReplicas >= 0 && master.GoodReplicas < int64(in.MinReplicasToWrite) {
		problems = append(problems, fmt.Sprintf("master %s has %d of the %d acknowledging replicas min-replicas-to-write needs, so it refuses writes",
			master.Name, master.GoodReplicas, in.MinReplicasToWrite))
	}

	cond := func(t string, ok bool, reason, message string) metav1.Condition {
		s := metav1.ConditionFalse
		if ok {
			s = metav1.ConditionTrue
		}
		return metav1.Condition{Type: t, Status: s, Reason: reason, Message: message}
	}
	masterUp := master != nil && master.Reachable && master.Role == "master" && master.Ready
	var available metav1.Condition
	switch {
	case in.CurrentMaster == "":
		available = cond(replnodev1alpha1.ConditionAvailable, false, "NoMaster", "no master has been confirmed yet")
	case masterUp:
		available = cond(replnodev1alpha1.ConditionAvailable, true, "MasterAvailable", fmt.Sprintf("master %s answers and is ready", in.CurrentMaster))
	default:
		available = cond(replnodev1alpha1.ConditionAvailable, false, "MasterUnavailable", fmt.Sprintf("master %s is not ready or does not answer as master", in.CurrentMaster))
	}
	healthy := masterUp && len(problems) == 0 && in.TargetMaster == in.CurrentMaster
	ready := cond(replnodev1alpha1.ConditionReady, healthy, "AllMembersReady", fmt.Sprintf("master %s and %d replicas are ready and replicating", in.CurrentMaster, inSync))
	if !healthy {
		ready.Reason, ready.Message = "NotAllMembersReady", available.Message
		if masterUp {
			ready.Message = strings.Join(problems, "; ")
		}
	}
	syncOK := replicas > 0 && inSync == replicas && masterUp
	sync := cond(replnodev1alpha1.ConditionReplicasInSync, syncOK, "ReplicasInSync", fmt.Sprintf("%d replicas replicate with a lag under %d bytes", inSync, inSyncLagBytes))
	switch {
	case replicas == 0:
		sync.Reason, sync.Message = "NoReplicas", "the group has no replicas"
	case !syncOK:
		sync.Reason, sync.Message = "ReplicasOutOfSync", fmt.Sprintf("%d of %d replicas in sync", inSync, replicas)
	}
	progressing := cond(replnodev1alpha1.ConditionProgressing, in.Progress != nil, "Settled", "nothing to do")
	if in.Progress != nil {
		progressing.Reason, progressing.Message = in.Progress.Reason, in.Progress.Message
		if progressing.Message == "" {
			progressing.Message = in.Progress.Reason
		}
	}
	degraded := cond(replnodev1alpha1.ConditionDegraded, in.CurrentMaster != "" && !healthy, "Healthy", "all members are healthy")
	if degraded.Status == metav1.ConditionTrue {
		degraded.Reason, degraded.Message = "MembersUnhealthy", ready.Message
	} else if in.CurrentMaster == "" {
		degraded.Reason, degraded.Message = "NotStarted", "the group has not started yet"
	}
	out.Conditions = []metav1.Condition{ready, available, progressing, degraded, sync}

	switch {
	case in.SecretMissing:
		out.Phase = replnodev1alpha1.PhasePending
	case in.Progress != nil && in.Progress.Phase != "":
		out.Phase = in.Progress.Phase
	case in.TargetMaster != "" && in.TargetMaster != in.CurrentMaster && in.CurrentMaster != "":
		out.Phase = replnodev1alpha1.PhaseFailingOver
	case in.CurrentMaster == "" && len(out.Members) == 0:
		out.Phase = replnodev1alpha1.PhasePending
	case in.CurrentMaster == "":
		out.Phase = replnodev1alpha1.PhaseCreating
	case healthy:
		out.Phase = replnodev1alpha1.PhaseRunning
	case !masterUp:
		out.Phase = replnodev1alpha1.PhaseFailed
	default:
		out.Phase = replnodev1alpha1.PhaseDegraded
	}
	return out
}

// finishStatus writes the summary of this pass into the group's status.
// While the auth Secret is missing the pass observed no member, so the
// members and the conditions about them keep their last observed values.
func (r *ReplicationGroupReconciler) finishStatus(p *pass) {
	secretMissing := meta.IsStatusConditionTrue(p.rg.Status.Conditions, replnodev1alpha1.ConditionSecretMissing)
	sum := summarizeStatus(statusInput{
		Members:         p.members,
		CurrentMaster:   p.rg.Status.CurrentMaster,
		TargetMaster:    p.rg.Status.TargetMaster,
		DesiredReplicas: int(p.rg.Spec.DesiredReplicas()),
		Progress:        p.progressing,
		SecretMissing:   secretMissing,

		MinReplicasToWrite: int(p.rg.Spec.EffectiveMinReplicasToWrite()),
	})
	st := &p.rg.Status
	st.ObservedGeneration = p.rg.Generation
	if !secretMissing {
		st.Members = sum.Members
		st.ReadyReplicas = sum.ReadyReplicas
	}
	st.Replicas = fmt.Sprintf("%d/%d", st.ReadyReplicas, p.rg.Spec.DesiredReplicas())
	st.Phase = sum.Phase
	for _, c := range sum.Conditions {
		if secretMissing && c.Type != replnodev1alpha1.ConditionProgressing &&
			meta.FindStatusCondition(st.Conditions, c.Type) != nil {
			// Without the password the pass observed no member: the
			// members keep running, so what was last observed of them
			// (like st.Members above) stands; SecretMissing and
			// Progressing say what is wrong.
			continue
		}
		c.ObservedGeneration = p.rg.Generation
		meta.SetStatusCondition(&st.Conditions, c)
	}
	safe := failoverSafeCondition(p.rg)
	safe.ObservedGeneration = p.rg.Generation
	meta.SetStatusCondition(&st.Conditions, safe)
	observeRestore(p)
}

// failoverSafeCondition renders failover.SafetyWarnings for the group's
// settings as the FailoverSafe condition: True when they are sound, False
// with every warning otherwise, so a setting that weakens the failover rules
// (no min-replicas-to-write, a repl-ping-replica-period or repl-timeout the
// guard margin is not sized for) is visible in `kubectl describe rg`. Pure.
func failoverSafeCondition(rg *replnodev1alpha1.ReplicationGroup) metav1.Condition {
	warnings := failover.SafetyWarnings(failoverSettings(rg))
	if len(warnings) == 0 {
		msg := "failover settings are sound"
		if !rg.Spec.FailoverEnabled() {
			msg = "automatic failover is disabled"
		}
		return metav1.Condition{Type: replnodev1alpha1.ConditionFailoverSafe, Status: metav1.ConditionTrue, Reason: "SettingsSound", Message: msg}
	}
	return metav1.Condition{Type: replnodev1alpha1.ConditionFailoverSafe, Status: metav1.ConditionFalse,
		Reason: "SettingsWeakenFailover", Message: strings.Join(warnings, "; ")}
}

// previousCondition returns a copy of the condition of type t (nil when
// absent), to compare with after meta.SetStatusCondition, which updates
// the entry in place: a pointer from FindStatusCondition would already
// hold the new reason, and a change would go unnoticed.
func previousCondition(conds []metav1.Condition, t string) *metav1.Condition {
	c := meta.FindStatusCondition(conds, t)
	if c == nil {
		return nil
	}
	cp := *c
	return &cp
}
