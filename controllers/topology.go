package controllers

import (
	"fmt"
	"sort"

	"github.com/replnode/replnode/controllers/failover"
)

// ------ TOPOLOGY DECISION ------
//
// decideTopology is the pure heart of the reconciler's pod management: from
// the members it observed it returns what to create, delete, relabel and
// repoint. Master failure is not decided here (controllers/failover does
// that); this handles bootstrap, scale, replicas following the wrong master,
// role labels and rolling updates.

// observedMember is one member as the reconciler saw it this pass.
type observedMember struct {
	Name    string
	Ordinal int
	// PodExists is false for ordinals only remembered from status.
	PodExists bool
	// Deleting is true when the pod has a deletion timestamp.
	Deleting bool
	// Failed is true when the pod ended (phase Failed or Succeeded).
	Failed bool
	// Ready is the pod's Ready condition.
	Ready bool
	// PodIP is the pod's IP, "" until assigned.
	PodIP string
	// RoleLabel is the pod's replnode.io/role label.
	RoleLabel string
	// TemplateHash is the pod's template-hash annotation.
	TemplateHash string
	// Reachable is true when the node answered ROLE this pass.
	Reachable bool
	// Role is what ROLE reported: "master" or "slave".
	Role string
	// MasterHost is the master a replica follows.
	MasterHost string
	// LinkUp is a replica's master_link_status:up with no full sync under
	// way: it holds the master's data and receives its stream.
	LinkUp bool
	// Offset is the node's replication offset (Repl.Offset).
	Offset int64
	// Repl is its INFO replication: the histories (replid, replid2) R1
	// compares before the member is pointed at, or chosen as, a sync source.
	Repl failover.Replication
	// GoodReplicas is, on a master with min-replicas-to-write, how many
	// replicas count for it (acknowledged within the max lag); -1 unknown.
	GoodReplicas int64
	// Fenced is true for a member fenced by hand (fencing.go): it carries
	// the fenced role label and is neither repointed, rolled nor made master.
	Fenced bool
	// ProcessDown is true when the kubelet reports the server container
	// not running (serverContainerDown): replacing the pod stops nothing.
	ProcessDown bool
}

// topologyInput is everything decideTopology reads.
type topologyInput struct {
	// DesiredReplicas is spec.replicas.
	DesiredReplicas int
	// CurrentMaster and TargetMaster are from status.
	CurrentMaster, TargetMaster string
	// TemplateHash is the hash every member's pod should carry.
	TemplateHash string
	// Members are the observed members.
	Members []observedMember
	// MemberName maps an ordinal to a member name.
	MemberName func(ordinal int) string
	// FailoverBusy is true when the failover package is acting this pass (a
	// switchover or failover is under way), so pods are not rolled meanwhile.
	FailoverBusy bool
	// Fenced are status.fencedMembers: returning old masters whose rejoin
	// the failover policy decides (and warns about).
	Fenced []string
	// AcceptDataLoss is the group's accept-data-loss annotation: R1 may
	// replace a member's data with a source that does not contain it.
	AcceptDataLoss bool
	// MinReplicasToWrite is the master's effective min-replicas-to-write:
	// a broken replica is replaced only while this many others stay
	// linked to the master (replaceBrokenOutdated).
	MinReplicasToWrite int
}

// mayReplaceData reports whether source may become the full-sync source of
// m, replacing m's data (R1 of docs/failover.md): source provably contains
// m's data, or m is a fenced old master (the failover policy takes it back
// and reports what it loses), or the user accepted data loss.
//
// A replica linked up on the history of source while source answers as
// master (it follows it through the master Service, say) holds a prefix of
// source's stream: only source writes that history. Its offset may exceed
// the one source reported only because the two were asked one after the
// other under writes, so it counts as contained.
func (in topologyInput) mayReplaceData(source, m observedMember) bool {
	streaming := source.Role == "master" && m.LinkUp && m.Repl.ReplID != "" && m.Repl.ReplID == source.Repl.ReplID
	return streaming || failover.SourceContains(source.Repl, m.Repl) || containsString(in.Fenced, m.Name) || in.AcceptDataLoss
}

// topologyActionKind names one thing the reconciler does about pods.
type topologyActionKind string

const (
	// topoSetTargetMaster records status.targetMaster before acting on it.
	topoSetTargetMaster topologyActionKind = "SetTargetMaster"
	// topoSetCurrentMaster records status.currentMaster once the node reports ROLE master.
	topoSetCurrentMaster topologyActionKind = "SetCurrentMaster"
	// topoCreatePod creates the member's pod (and PVC) with the given role.
	topoCreatePod topologyActionKind = "CreatePod"
	// topoDeletePod deletes the member's pod.
	topoDeletePod topologyActionKind = "DeletePod"
	// topoSetRoleLabel sets the member's role label.
	topoSetRoleLabel topologyActionKind = "SetRoleLabel"
	// topoReplicaOf points the member at the current master.
	topoReplicaOf topologyActionKind = "ReplicaOf"
	// topoPromote sends REPLICAOF NO ONE to the member.
	topoPromote topologyActionKind = "Promote"
	// topoSwitchover asks for a switchover to the member (to roll the master).
	topoSwitchover topologyActionKind = "Switchover"
	// topoWait means nothing more can be done this pass; requeue and look again.
	topoWait topologyActionKind = "Wait"
)

// topologyAction is one step; Reason is UpperCamelCase, Message explains it.
type topologyAction struct {
	Kind    topologyActionKind
	Member  string
	Role    string
	Reason  string
	Message string
}

// String renders the action for transcripts and logs.
func (a topologyAction) String() string {
	s := string(a.Kind)
	if a.Member != "" {
		s += " " + a.Member
	}
	if a.Role != "" {
		s += " " + a.Role
	}
	return s
}

// decideTopology returns the actions for one pass, in the order to run them.
func decideTopology(in topologyInput) []topologyAction {
	byName := map[string]*observedMember{}
	for i := range in.Members {
		byName[in.Members[i].Name] = &in.Members[i]
	}
	var masters []string
	for _, m := range in.Members {
		if m.PodExists && !m.Deleting && m.Reachable && m.Role == "master" {
			masters = append(masters, m.Name)
		}
	}
	if in.CurrentMaster == "" {
		return decideBootstrap(in, byName, masters)
	}
	if len(masters) > 1 {
		sort.Strings(masters)
		return []topologyAction{{Kind: topoWait, Reason: "TwoMasters",
			Message: fmt.Sprintf("members %v all report ROLE master; waiting for the failover policy to repair", masters)}}
	}
	master := byName[in.CurrentMaster]
	if master == nil || !master.PodExists {
		if livePods(in.Members) == 0 {
			return []topologyAction{{Kind: topoCreatePod, Member: in.CurrentMaster, Role: roleMaster, Reason: "MasterRecreated",
				Message: fmt.Sprintf("master %s has no pod and no replica exists; recreating it on its own data", in.CurrentMaster)}}
		}
		return []topologyAction{{Kind: topoWait, Reason: "MasterMissing",
			Message: fmt.Sprintf("master %s has no pod; failover decides", in.CurrentMaster)}}
	}
	var acts []topologyAction
	// Role labels follow status.currentMaster.
	for _, m := range in.Members {
		if !m.PodExists || m.Deleting {
			continue
		}
		want := roleLabelFor(m.Name, in.CurrentMaster, m.Fenced)
		if m.RoleLabel != want {
			acts = append(acts, topologyAction{Kind: topoSetRoleLabel, Member: m.Name, Role: want, Reason: "RoleLabelMoved"})
		}
	}
	if master.Deleting {
		// The members it would add now could only copy from a master that
		// is going away, and a stale one could then be the only candidate
		// the failover finds; the failover decides first.
		return append(acts, topologyAction{Kind: topoWait, Reason: "MasterDeleting",
			Message: fmt.Sprintf("master %s's pod is being deleted; failover decides", master.Name)})
	}
	if !master.Reachable || master.Role != "master" || master.PodIP == "" {
		if master.Reachable && master.Role == "slave" && master.PodIP != "" {
			// The master restarted (every member starts as a replica) and
			// replicas are missing, as after all pods were deleted: the
			// failover policy can neither restore it nor promote anyone
			// without the replicas' positions (R1, R2). Recreate them
			// pointed at it: it answers their PSYNC with -NOMASTERLINK, so
			// they keep the data on their volumes and report where they are.
			for _, a := range decideScale(in, master) {
				if a.Kind == topoCreatePod {
					a.Reason = "ReplicaRecreated"
					a.Message = fmt.Sprintf("recreating %s so the failover policy learns its position (master %s restarted as a replica)", a.Member, master.Name)
					acts = append(acts, a)
				}
			}
		}
		return append(acts, topologyAction{Kind: topoWait, Reason: "MasterNotAnswering",
			Message: fmt.Sprintf("master %s does not answer as master yet", master.Name)})
	}
	// Ended replica pods are recreated.
	for _, m := range in.Members {
		if m.PodExists && !m.Deleting && m.Failed && m.Name != in.CurrentMaster {
			acts = append(acts, topologyAction{Kind: topoDeletePod, Member: m.Name, Reason: "PodEnded",
				Message: fmt.Sprintf("pod %s ended; it is recreated as a replica", m.Name)})
		}
	}
	// Replicas that answer but follow something else are repointed.
	for _, m := range in.Members {
		if m.Name == in.CurrentMaster || !m.PodExists || m.Deleting || !m.Reachable || m.Fenced {
			continue
		}
		// A replica pointed at the master whose node refuses its full sync
		// (replica-keep-newer-data: the master's offset is below its own)
		// stays out of sync, keeping its data, until the user accepts the
		// loss; then it is pointed again, and apply.go sends the grant.
		refusing := in.AcceptDataLoss && m.Role == "slave" && m.MasterHost == master.PodIP && !m.LinkUp &&
			!m.Repl.SyncInProgress && m.Repl.Offset > master.Repl.Offset
		if m.Role != "slave" || m.MasterHost != master.PodIP || refusing {
			if !in.mayReplaceData(*master, m) {
				acts = append(acts, topologyAction{Kind: topoWait, Member: m.Name, Reason: "ReplicaNotContainedInMaster",
					Message: fmt.Sprintf("%s follows %q and holds data (history %.8s, offset %d) that master %s (history %.8s, offset %d) does not provably contain; not pointing it at the master, which would replace its data (set %s: \"true\" to allow)",
						m.Name, m.MasterHost, m.Repl.ReplID, m.Repl.Offset, master.Name, master.Repl.ReplID, master.Repl.Offset, failover.AnnotationAcceptDataLoss)})
				continue
			}
			acts = append(acts, topologyAction{Kind: topoReplicaOf, Member: m.Name, Reason: "ReplicaRepointed",
				Message: fmt.Sprintf("%s follows %q, not master %s at %s", m.Name, m.MasterHost, master.Name, master.PodIP)})
		}
	}
	acts = append(acts, decideScale(in, master)...)
	if len(acts) == 0 {
		acts = append(acts, decideRollout(in, master)...)
	}
	return acts
}

// livePods counts members whose pod exists and is not being deleted.
func livePods(members []observedMember) int {
	n := 0
	for _, m := range members {
		if m.PodExists && !m.Deleting {
			n++
		}
	}
	return n
}

// decideBootstrap handles a group with no confirmed master: adopt the one
// member that reports master, else create (or wait for) the target master,
// else promote the most advanced reachable member.
func decideBootstrap(in topologyInput, byName map[string]*observedMember, masters []string) []topologyAction {
	if in.TargetMaster == "" {
		if len(masters) == 1 {
			return []topologyAction{
				{Kind: topoSetTargetMaster, Member: masters[0], Reason: "MasterAdopted"},
				{Kind: topoSetCurrentMaster, Member: masters[0], Reason: "MasterAdopted",
					Message: fmt.Sprintf("%s is the only member reporting ROLE master", masters[0])},
			}
		}
		if livePods(in.Members) == 0 {
			first := in.MemberName(0)
			return []topologyAction{
				{Kind: topoSetTargetMaster, Member: first, Reason: "Bootstrapping"},
				{Kind: topoCreatePod, Member: first, Role: roleMaster, Reason: "Bootstrapping",
					Message: fmt.Sprintf("creating %s as the first master", first)},
			}
		}
		best := mostAdvanced(in.Members)
		if best == nil {
			return []topologyAction{{Kind: topoWait, Reason: "NoMemberAnswering",
				Message: "members exist but none answers; waiting before choosing a master"}}
		}
		if wait, ok := in.bootstrapBlocked(*best); ok {
			return []topologyAction{wait}
		}
		return []topologyAction{{Kind: topoSetTargetMaster, Member: best.Name, Reason: "MasterChosen",
			Message: fmt.Sprintf("no master recorded; %s holds the most history (offset %d)", best.Name, best.Offset)}}
	}
	target := byName[in.TargetMaster]
	if target == nil || !target.PodExists {
		return []topologyAction{{Kind: topoCreatePod, Member: in.TargetMaster, Role: roleMaster, Reason: "Bootstrapping",
			Message: fmt.Sprintf("creating %s as the master", in.TargetMaster)}}
	}
	if target.Deleting || !target.Reachable {
		return []topologyAction{{Kind: topoWait, Reason: "WaitingForMaster",
			Message: fmt.Sprintf("waiting for %s to answer", in.TargetMaster)}}
	}
	if target.Role != "master" {
		return []topologyAction{{Kind: topoPromote, Member: target.Name, Reason: "Bootstrapping",
			Message: fmt.Sprintf("promoting %s", target.Name)}}
	}
	if len(masters) > 1 {
		sort.Strings(masters)
		return []topologyAction{{Kind: topoWait, Reason: "TwoMasters",
			Message: fmt.Sprintf("members %v all report ROLE master while %s is being made master", masters, in.TargetMaster)}}
	}
	return []topologyAction{
		{Kind: topoSetCurrentMaster, Member: target.Name, Reason: "MasterElected",
			Message: fmt.Sprintf("%s reports ROLE master", target.Name)},
		{Kind: topoSetRoleLabel, Member: target.Name, Role: roleMaster, Reason: "RoleLabelMoved"},
	}
}

// bootstrapBlocked returns a Wait, and true, when best must not become the
// master of a group whose status names none (R1): the others become its
// replicas and full-sync from it, so its data must contain every member's.
// A member whose pod runs but does not answer may hold more, and so may one
// on a history best's does not contain. The accept-data-loss annotation
// lifts both.
func (in topologyInput) bootstrapBlocked(best observedMember) (topologyAction, bool) {
	if in.AcceptDataLoss {
		return topologyAction{}, false
	}
	for _, m := range in.Members {
		if m.Name == best.Name || !m.PodExists || m.Deleting || m.Failed {
			continue
		}
		why := ""
		switch {
		case !m.Reachable:
			why = "does not answer, so what it holds is unknown"
		case !in.mayReplaceData(best, m):
			why = fmt.Sprintf("holds data (history %.8s, offset %d) that %s's (history %.8s, offset %d) does not provably contain",
				m.Repl.ReplID, m.Repl.Offset, best.Name, best.Repl.ReplID, best.Repl.Offset)
		default:
			continue
		}
		return topologyAction{Kind: topoWait, Member: m.Name, Reason: "BootstrapWouldReplaceData",
			Message: fmt.Sprintf("no master recorded; not choosing %s: %s %s (set %s: \"true\" to choose anyway)",
				best.Name, m.Name, why, failover.AnnotationAcceptDataLoss)}, true
	}
	return topologyAction{}, false
}

// mostAdvanced returns the reachable live member with the highest offset
// (lowest ordinal on ties), or nil.
func mostAdvanced(members []observedMember) *observedMember {
	var best *observedMember
	for i := range members {
		m := &members[i]
		if !m.PodExists || m.Deleting || !m.Reachable {
			continue
		}
		if best == nil || m.Offset > best.Offset || (m.Offset == best.Offset && m.Ordinal < best.Ordinal) {
			best = m
		}
	}
	return best
}

// decideRollout rolls members whose template hash is outdated: replicas that
// are not ready without waiting for them, one at a time while the master
// keeps its linked replicas (replaceBrokenOutdated, selfheal.go), the others one
// at a time and only when every member is ready: replicas first (highest
// ordinal first), then the master through a switchover to the most advanced in-sync
// replica, or by deleting it when it has no replica.
func decideRollout(in topologyInput, master *observedMember) []topologyAction {
	if in.FailoverBusy {
		return nil
	}
	if acts := replaceBrokenOutdated(in, master); len(acts) > 0 {
		return acts
	}
	var outdated []observedMember
	for _, m := range in.Members {
		if !m.PodExists || m.Fenced {
			continue
		}
		if m.Deleting || !m.Ready {
			return nil
		}
		if m.TemplateHash != in.TemplateHash {
			outdated = append(outdated, m)
		}
	}
	sort.Slice(outdated, func(i, j int) bool { return outdated[i].Ordinal > outdated[j].Ordinal })
	for _, m := range outdated {
		if m.Name != master.Name {
			return []topologyAction{{Kind: topoDeletePod, Member: m.Name, Reason: "RollingUpdate",
				Message: fmt.Sprintf("replica %s runs an outdated template; recreating it", m.Name)}}
		}
	}
	if len(outdated) == 0 {
		return nil
	}
	var best *observedMember
	for i := range in.Members {
		m := &in.Members[i]
		if m.Name == master.Name || !m.PodExists || !m.Reachable || m.Fenced || m.Role != "slave" || m.MasterHost != master.PodIP {
			continue
		}
		if best == nil || m.Offset > best.Offset || (m.Offset == best.Offset && m.Ordinal < best.Ordinal) {
			best = m
		}
	}
	if best != nil {
		return []topologyAction{{Kind: topoSwitchover, Member: best.Name, Reason: "RollingUpdate",
			Message: fmt.Sprintf("master %s runs an outdated template; switching over to %s first", master.Name, best.Name)}}
	}
	if in.DesiredReplicas == 0 {
		return []topologyAction{{Kind: topoDeletePod, Member: master.Name, Reason: "RollingUpdate",
			Message: fmt.Sprintf("master %s runs an outdated template and has no replica; recreating it", master.Name)}}
	}
	return nil
}
