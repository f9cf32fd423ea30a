package failover

import (
	"fmt"
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
	// DownFor is how long the master has not answered as master (or, for a
	// master cut off from its replicas, how long they have not heard it).
	DownFor time.Duration
	// RequeueAfter is when the verdict can next change (Suspect and
	// Isolated; Healthy while its replicas are Quieting).
	RequeueAfter time.Duration
	// Contained is true when the failed master provably cannot accept a
	// write (R3): its process is gone, it answers and will be paused before
	// anything is promoted, or its own write guard has expired.
	// ContainedBy says which. A Failed master that is not contained (its pod
	// is being deleted, its node stopped reporting) must not be replaced yet.
	Contained   bool
	ContainedBy string
	// Evidence is what the replicas said about the master.
	Evidence Evidence
	// ReachableReplicas and ReplicasLinkDown are the agreement counts: the
	// replicas that gave a fresh report and those that voted the master's
	// guard expired.
	ReachableReplicas, ReplicasLinkDown int
}

// pollWhileSuspect is how often a master that stopped answering is looked at
// again: the verdict can change at any moment (it answers, its pod goes, it
// restarts as a replica, the replicas' no-contact reaches the threshold),
// not only when MasterDownAfter runs out.
const pollWhileSuspect = 250 * time.Millisecond

// MinSuspectPoll is the shortest wait before the next look at a suspect
// master (suspectPoll, and the reconciler when it times that look from the
// observation rather than from the end of its pass).
const MinSuspectPoll = 20 * time.Millisecond

// suspectPoll is when to look again at a master that is not failed yet
// only because the replicas' votes are missing: after pollWhileSuspect, or
// sooner when the votes are foreseen sooner (Evidence.VotesDueIn), so the
// pass that can decide comes as they mature instead of up to a poll period
// later (part of a frozen or cut-off master's RTO). It never looks later
// than pollWhileSuspect and changes no verdict: each look decides from
// fresh reports.
func suspectPoll(ev Evidence) time.Duration {
	if ev.VotesDueIn <= 0 {
		return pollWhileSuspect
	}
	return min(pollWhileSuspect, max(MinSuspectPoll, ev.VotesDueIn))
}

// reasonMasterRestarted is the verdict on a master that answers as a replica.
const reasonMasterRestarted = "MasterRestarted"

// Containment reasons, for Detection.ContainedBy.
const (
	containedProcessGone = "its process is gone"
	containedAnswers     = "it answers, so its writes are paused (CLIENT PAUSE WRITE) before anything is promoted"
	containedGuard       = "its write guard has expired"
)

// Detect decides whether the current master has failed and whether it is
// contained (cannot accept writes any more). Certain facts fail it at once
// (certainlyDown). A master the operator reaches is failed only when its
// replicas prove it cut off from them: N-w+1 of them report no contact for
// L + GuardMargin, so it answers -NOREPLICAS to every write and a replica
// must take over (it is paused first). A master the operator cannot reach
// is failed when the operator has not seen it for MasterDownAfter and the
// same N-w+1 replicas prove its guard expired. An operator cut off from a
// healthy master sees it unreachable while the replicas still hear it; that
// is Isolated, never Failed. Replicas known to follow another host, or
// loading a full sync, do not vote. When the operator never saw the master
// (MasterLastSeen zero), the replicas' no-contact stands in for its clock.
func Detect(obs Observation) Detection {
	name := obs.Status.CurrentMaster
	if name == "" {
		return Detection{Health: HealthNoMaster, Reason: "NoCurrentMaster",
			Message: "status names no current master"}
	}
	master := obs.member(name)
	ev := GatherEvidence(obs, name, ReferenceHistory(obs))
	d := Detection{Evidence: ev, ReachableReplicas: len(ev.Reports), ReplicasLinkDown: ev.Votes}
	if master != nil && master.Reachable && master.Repl.Role == RoleMaster {
		if ev.GuardExpired() {
			d.Health, d.Reason, d.DownFor = HealthFailed, "MasterCutOffFromReplicas", ev.VotedDownFor
			d.Contained, d.ContainedBy = true, containedAnswers
			d.Message = fmt.Sprintf("master %s answers the operator but %s: it refuses every write (-NOREPLICAS)",
				name, ev.VoteSummary())
			return d
		}
		d.Health, d.Reason = HealthHealthy, "MasterHealthy"
		d.Message = fmt.Sprintf("master %s answers as master at offset %d", name, master.Repl.Offset)
		if ev.Quieting {
			// Its replicas stopped hearing it (cut off from them): the
			// pass that sees their votes mature is the one that fails it
			// over, not the next periodic one (up to a resync period
			// later, part of a cut-off master's RTO).
			d.RequeueAfter = suspectPoll(ev)
		}
		return d
	}

	if cd, ok := certainlyDown(master, name); ok {
		cd.Evidence, cd.ReachableReplicas, cd.ReplicasLinkDown = ev, d.ReachableReplicas, d.ReplicasLinkDown
		if !cd.Contained && ev.GuardExpired() {
			cd.Contained, cd.ContainedBy = true, containedGuard
		}
		return cd
	}

	if obs.MasterLastSeen.IsZero() {
		// No time of our own: the replicas' clocks stand in for it.
		if !ev.GuardExpired() {
			d.Health, d.Reason = HealthSuspect, "MasterNotYetSeen"
			d.Message = fmt.Sprintf("master %s has not answered since the operator started; %s", name, ev.VoteSummary())
			d.RequeueAfter = suspectPoll(ev)
			return d
		}
		d.DownFor = ev.VotedDownFor
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

	// A missing or ended pod, an exited process and a master answering as a
	// replica were decided by certainlyDown; what is left is a master that
	// does not answer while its pod runs or is in an uncertain phase
	// (Pending, Unknown): only its expired guard proves it cannot write.
	switch {
	case ev.GuardExpired():
		d.Health, d.Reason = HealthFailed, "ReplicasLostMaster"
		d.Contained, d.ContainedBy = true, containedGuard
		d.Message = fmt.Sprintf("master %s unreachable for %s and %s", name, d.DownFor, ev.VoteSummary())
		if master.Phase != PodRunning {
			d.Reason = "MasterPodNotRunning"
			d.Message = fmt.Sprintf("master %s's pod is %s, it has been unreachable for %s and %s", name, master.Phase, d.DownFor, ev.VoteSummary())
		}
	case len(ev.Reports) == 0:
		d.Health, d.Reason = HealthIsolated, "NoReplicaAgreement"
		d.Message = fmt.Sprintf("master %s unreachable for %s but no replica answers to confirm it cannot write (its pod is %s)",
			name, d.DownFor, master.Phase)
	default:
		d.Health, d.Reason = HealthIsolated, "OperatorPartitioned"
		d.Message = fmt.Sprintf("master %s unreachable for %s but only %s; not failing over",
			name, d.DownFor, ev.VoteSummary())
	}
	if d.Health == HealthIsolated {
		d.RequeueAfter = suspectPoll(ev)
	}
	return d
}

// certainlyDown returns a Failed verdict, and true, when facts that no
// network fault can fake show the master is not serving as master, so there
// is nothing to wait for: its pod ended, its server process has exited (the
// kubelet reports the container not running), or it answers but as a
// replica; those are also Contained. A pod being deleted, or already gone
// from the API, that no longer answers is Failed but not contained: the
// DELETE may never reach a partitioned node, and a force delete removes the
// object without the kubelet confirming anything. A member starts
// as a replica (its pod arguments carry --replicaof), so a master that answers
// as a replica has restarted; waiting MasterDownAfter would only lengthen the
// outage, since it takes no writes either way. A pod that is Unknown (its node
// stopped reporting) is not certain: the process may still run behind a
// partition, so it goes through the normal timed detection.
func certainlyDown(master *Member, name string) (Detection, bool) {
	d := Detection{Health: HealthFailed}
	switch {
	case master == nil || master.Phase == PodMissing:
		// A missing pod object is not a missing process: a force delete
		// (or a node controller's eviction) removes the object while the
		// process may still run on a node cut off from the API server. It
		// is contained only once its guard has expired (Detect adds it).
		d.Reason, d.Message = "MasterPodGone", fmt.Sprintf("master %s has no pod", name)
	case master.Phase == PodFailed || master.Phase == PodSucceeded:
		d.Reason, d.Message = "MasterPodNotRunning", fmt.Sprintf("master %s's pod has ended (%s)", name, master.Phase)
		d.Contained, d.ContainedBy = true, containedProcessGone
	case master.Reachable && master.Repl.Role == RoleReplica:
		d.Contained, d.ContainedBy = true, containedAnswers
		d.Reason = reasonMasterRestarted
		d.Message = fmt.Sprintf("master %s answers as a replica of %s (its process restarted, or it was demoted outside the operator) and takes no writes",
			name, master.Repl.MasterHost)
	case master.Phase == PodRunning && !master.Reachable && master.ProcessDown:
		d.Reason = "MasterProcessExited"
		d.Message = fmt.Sprintf("master %s's server process has exited (its container is not running)", name)
		d.Contained, d.ContainedBy = true, containedProcessGone
	case master.Deleted:
		// A DELETE is a request, not a fact: until the pod is gone the
		// process may still run (its node may be cut off and never see it),
		// so this is contained only if the guard has expired (Detect adds it).
		d.Reason, d.Message = "MasterPodDeleted", fmt.Sprintf("master %s's pod is being deleted and no longer answers as master", name)
	default:
		return Detection{}, false
	}
	return d, true
}
