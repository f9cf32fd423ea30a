package failover

import (
	"fmt"
	"sort"
	"time"
)

// ------ DETECTION ------

// Health is the verdict on the current master.
type Health string

const (
	// HealthNoMaster means status names no current master.
	HealthNoMaster Health = "NoMaster"
	// HealthHealthy means the operator reached the master and it reports ROLE master.
	HealthHealthy Health = "Healthy"
	// HealthSuspect means the master is not answering as master, but not yet for masterDownAfter.
	HealthSuspect Health = "Suspect"
	// HealthIsolated means the operator cannot reach the master but the
	// replicas do not agree it is gone: the operator may be the one cut off.
	HealthIsolated Health = "Isolated"
	// HealthFailed means the master is failed: down for masterDownAfter and
	// confirmed by the replicas or by its pod being gone.
	HealthFailed Health = "Failed"
)

// Detection is the result of Detect.
type Detection struct {
	// Health is the verdict.
	Health Health
	// Reason is an UpperCamelCase reason for a condition or event.
	Reason string
	// Message explains the verdict with the numbers behind it.
	Message string
	// DownFor is how long the master has not answered as master.
	DownFor time.Duration
	// RequeueAfter is when the verdict can next change (Suspect only).
	RequeueAfter time.Duration
	// ReachableReplicas and ReplicasLinkDown are the agreement counts.
	ReachableReplicas, ReplicasLinkDown int
}

// pollWhileSuspect is how often a master that stopped answering is looked at
// again: the verdict can change at any moment (it answers, its pod goes, it
// restarts as a replica), not only when MasterDownAfter runs out.
const pollWhileSuspect = time.Second

// reasonMasterRestarted is the verdict on a master that answers as a replica.
const reasonMasterRestarted = "MasterRestarted"

// Detect decides whether the current master has failed. Certain facts fail
// it at once (certainlyDown). Otherwise the master is failed
// only when the operator has not seen it answer as master for
// MasterDownAfter AND the replicas agree: its pod is gone or not running, or
// it answers but reports itself a replica, or a strict majority of the
// reachable replicas report master_link_status:down. An operator cut off from
// a healthy master sees it unreachable while the replicas still report the
// link up; that is Isolated, never Failed. Replicas known to follow another
// host do not vote. A replica notices a vanished master at once when the
// connection is reset, but only after repl-timeout when packets are dropped,
// so detection takes at least that long for partitions. When the operator
// never saw the master (MasterLastSeen zero), the replicas'
// master_link_down_since_seconds stand in for its own clock.
func Detect(obs Observation) Detection {
	name := obs.Status.CurrentMaster
	if name == "" {
		return Detection{Health: HealthNoMaster, Reason: "NoCurrentMaster",
			Message: "status names no current master"}
	}
	master := obs.member(name)
	if master != nil && master.Reachable && master.Repl.Role == RoleMaster {
		return Detection{Health: HealthHealthy, Reason: "MasterHealthy",
			Message: fmt.Sprintf("master %s answers as master at offset %d", name, master.Repl.Offset)}
	}

	if d, ok := certainlyDown(master, name); ok {
		return d
	}

	d := Detection{}
	var downSeconds []int64 // link-down durations the voting replicas report
	for i := range obs.Members {
		m := &obs.Members[i]
		if m.Name == name || !m.Reachable || m.Repl.Role != RoleReplica {
			continue
		}
		if master != nil && master.Host != "" && m.Repl.MasterHost != "" && m.Repl.MasterHost != master.Host {
			// It follows someone else: its link says nothing about the master.
			continue
		}
		d.ReachableReplicas++
		if m.Repl.LinkStatus == LinkDown {
			d.ReplicasLinkDown++
			downSeconds = append(downSeconds, m.Repl.LinkDownSeconds)
		}
	}

	if obs.MasterLastSeen.IsZero() {
		// No time of our own: use the replicas' clocks, if a strict
		// majority of them has been without the master long enough.
		down, ok := majorityDownFor(downSeconds, d.ReachableReplicas)
		if !ok || down < obs.Settings.MasterDownAfter {
			d.Health, d.Reason = HealthSuspect, "MasterNotYetSeen"
			d.Message = fmt.Sprintf("master %s has not answered since the operator started; waiting %s before deciding",
				name, obs.Settings.MasterDownAfter)
			d.RequeueAfter = obs.Settings.MasterDownAfter
			if ok {
				d.RequeueAfter -= down
			}
			d.RequeueAfter = min(d.RequeueAfter, pollWhileSuspect)
			return d
		}
		d.DownFor = down
	} else {
		d.DownFor = obs.Now.Sub(obs.MasterLastSeen)
	}
	if d.DownFor < obs.Settings.MasterDownAfter {
		d.Health, d.Reason = HealthSuspect, "MasterNotAnswering"
		d.Message = fmt.Sprintf("master %s has not answered as master for %s (failover after %s)",
			name, d.DownFor, obs.Settings.MasterDownAfter)
		d.RequeueAfter = min(obs.Settings.MasterDownAfter-d.DownFor, pollWhileSuspect)
		return d
	}

	// A missing, deleted or ended pod and a master answering as a replica
	// were decided by certainlyDown; what is left is a pod that is not
	// running for an uncertain reason (Pending, Unknown) or does not answer.
	d.Health = HealthFailed
	switch {
	case master.Phase != PodRunning:
		d.Reason = "MasterPodNotRunning"
		d.Message = fmt.Sprintf("master %s's pod is %s and has been down for %s", name, master.Phase, d.DownFor)
	case d.ReachableReplicas > 0 && 2*d.ReplicasLinkDown > d.ReachableReplicas:
		d.Reason = "ReplicasLostMaster"
		d.Message = fmt.Sprintf("master %s unreachable for %s and %d of %d reachable replicas report master_link_status:down",
			name, d.DownFor, d.ReplicasLinkDown, d.ReachableReplicas)
	case d.ReachableReplicas == 0:
		d.Health, d.Reason = HealthIsolated, "NoReplicaAgreement"
		d.Message = fmt.Sprintf("master %s unreachable for %s but no replica is reachable to confirm; its pod is still running",
			name, d.DownFor)
	default:
		d.Health, d.Reason = HealthIsolated, "OperatorPartitioned"
		d.Message = fmt.Sprintf("master %s unreachable for %s but only %d of %d reachable replicas report master_link_status:down; not failing over",
			name, d.DownFor, d.ReplicasLinkDown, d.ReachableReplicas)
	}
	return d
}

// certainlyDown returns a Failed verdict, and true, when facts that no
// network fault can fake show the master is not serving as master, so there
// is nothing to wait for: its pod is gone, ended or being deleted (and it no
// longer answers as master), its server process has exited (the kubelet
// reports the container not running), or it answers but as a replica. A member starts
// as a replica (its pod arguments carry --replicaof), so a master that answers
// as a replica has restarted; waiting MasterDownAfter would only lengthen the
// outage, since it takes no writes either way. A pod that is Unknown (its node
// stopped reporting) is not certain: the process may still run behind a
// partition, so it goes through the normal timed detection.
func certainlyDown(master *Member, name string) (Detection, bool) {
	d := Detection{Health: HealthFailed}
	switch {
	case master == nil || master.Phase == PodMissing:
		d.Reason, d.Message = "MasterPodGone", fmt.Sprintf("master %s has no pod", name)
	case master.Deleted:
		d.Reason, d.Message = "MasterPodDeleted", fmt.Sprintf("master %s's pod is being deleted and no longer answers as master", name)
	case master.Phase == PodFailed || master.Phase == PodSucceeded:
		d.Reason, d.Message = "MasterPodNotRunning", fmt.Sprintf("master %s's pod has ended (%s)", name, master.Phase)
	case master.Phase == PodRunning && !master.Reachable && master.ProcessDown:
		d.Reason = "MasterProcessExited"
		d.Message = fmt.Sprintf("master %s's server process has exited (its container is not running)", name)
	case master.Phase == PodRunning && master.Reachable && master.Repl.Role == RoleReplica:
		d.Reason = reasonMasterRestarted
		d.Message = fmt.Sprintf("master %s answers as a replica of %s (its process restarted, or it was demoted outside the operator) and takes no writes",
			name, master.Repl.MasterHost)
	default:
		return Detection{}, false
	}
	return d, true
}

// majorityDownFor returns the longest duration for which a strict majority of
// the voting replicas (voters of them) report their link down, and whether
// such a majority with known durations exists.
func majorityDownFor(downSeconds []int64, voters int) (time.Duration, bool) {
	var known []int64
	for _, s := range downSeconds {
		if s >= 0 {
			known = append(known, s)
		}
	}
	need := voters/2 + 1
	if voters == 0 || len(known) < need {
		return 0, false
	}
	sort.Slice(known, func(i, j int) bool { return known[i] > known[j] })
	return time.Duration(known[need-1]) * time.Second, true
}
