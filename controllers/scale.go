package controllers

import (
	"fmt"
	"sort"
)

// ------ SCALING ------

// decideScale creates missing replicas at the lowest free ordinals, or
// removes surplus ones: unreachable first, then the lowest offset (highest
// ordinal on ties), never the master or the target master. A replica whose
// pod is being deleted still holds its place: it is recreated at its own
// ordinal (on its own PVC) once its pod is gone, instead of a new member
// being created at another ordinal, on an older PVC, meanwhile.
func decideScale(in topologyInput, master *observedMember) []topologyAction {
	var replicas []observedMember
	leaving := 0
	used := map[int]bool{master.Ordinal: true}
	for _, m := range in.Members {
		if m.Name == master.Name || !m.PodExists {
			continue
		}
		used[m.Ordinal] = true
		if m.Deleting {
			leaving++
		} else {
			replicas = append(replicas, m)
		}
	}
	var acts []topologyAction
	switch {
	case len(replicas)+leaving < in.DesiredReplicas:
		missing := in.DesiredReplicas - len(replicas) - leaving
		for ord := 0; missing > 0; ord++ {
			if used[ord] {
				continue
			}
			name := in.MemberName(ord)
			acts = append(acts, topologyAction{Kind: topoCreatePod, Member: name, Role: roleReplica, Reason: "ScalingUp",
				Message: fmt.Sprintf("creating replica %s (%d of %d replicas exist)", name, len(replicas), in.DesiredReplicas)})
			missing--
		}
	case len(replicas) > in.DesiredReplicas:
		sort.SliceStable(replicas, func(i, j int) bool {
			a, b := replicas[i], replicas[j]
			if a.Reachable != b.Reachable {
				return !a.Reachable
			}
			if a.Offset != b.Offset {
				return a.Offset < b.Offset
			}
			return a.Ordinal > b.Ordinal
		})
		surplus := len(replicas) - in.DesiredReplicas
		for _, m := range replicas {
			if surplus == 0 {
				break
			}
			if m.Name == in.TargetMaster {
				continue
			}
			acts = append(acts, topologyAction{Kind: topoDeletePod, Member: m.Name, Reason: "ScalingDown",
				Message: fmt.Sprintf("removing replica %s at offset %d (%d replicas exist, %d wanted)", m.Name, m.Offset, len(replicas), in.DesiredReplicas)})
			surplus--
		}
	}
	return acts
}
