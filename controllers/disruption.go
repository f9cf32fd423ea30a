package controllers

import (
	"context"
	"fmt"
	"maps"
	"sort"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

// ------ DISRUPTION BUDGETS AND NODE DRAINS ------
//
// The design is argued in docs/drain.md and on PodDisruptionBudgetSpec: two
// budgets with an integer minAvailable (the disruption controller then
// counts the pods it selects instead of reading the scale subresource, which
// counts replicas but not the master), one over the replicas and one that
// never lets the master go; and a drain of the master's node switches the
// master away first, after which the old master is a replica and its
// eviction passes the replicas' budget.

// replicaPDBName is the budget over the replicas (the group's own name, as
// the single budget had before).
func replicaPDBName(rg *replnodev1alpha1.ReplicationGroup) string { return rg.Name }

// masterPDBName is the budget over the master.
func masterPDBName(rg *replnodev1alpha1.ReplicationGroup) string { return rg.Name + "-master" }

// buildPDBs returns the replicas' and the master's PodDisruptionBudgets, or
// nil when disabled. Their selectors are disjoint (role=replica and
// role=master): the eviction API refuses a pod more than one budget selects.
func buildPDBs(rg *replnodev1alpha1.ReplicationGroup) []*policyv1.PodDisruptionBudget {
	if !rg.Spec.PDBEnabled() {
		return nil
	}
	replicas := int(rg.Spec.DesiredReplicas())
	maxUnavailable := intstr.FromInt32(1)
	if rg.Spec.PodDisruptionBudget.MaxUnavailable != nil {
		maxUnavailable = *rg.Spec.PodDisruptionBudget.MaxUnavailable
	}
	// A percentage is of all members (replicas+1), rounded up like the
	// disruption controller rounds maxUnavailable.
	down, err := intstr.GetScaledValueFromIntOrPercent(&maxUnavailable, replicas+1, true)
	if err != nil || down < 0 {
		down = 1
	}
	replicaMin := max(0, replicas-down)
	// The master is evictable only when there is nowhere to switch it to
	// and the budget allows a member down.
	masterMin := 1
	if replicas == 0 && down >= 1 {
		masterMin = 0
	}
	build := func(name, role string, minAvailable int) *policyv1.PodDisruptionBudget {
		selector := map[string]string{}
		maps.Copy(selector, selectorLabels(rg))
		selector[labelRole] = role
		min := intstr.FromInt(minAvailable)
		return &policyv1.PodDisruptionBudget{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: rg.Namespace, Labels: commonLabels(rg)},
			Spec: policyv1.PodDisruptionBudgetSpec{
				MinAvailable: &min,
				Selector:     &metav1.LabelSelector{MatchLabels: selector},
				// A replica that is not ready (crash-looping, syncing) serves
				// nothing: evicting it must not wait for it to become ready.
				// The master's budget keeps the default, so an unready master
				// is failed over by the operator rather than evicted.
				UnhealthyPodEvictionPolicy: ptr.To(policyv1.AlwaysAllow),
			},
		}
	}
	master := build(masterPDBName(rg), roleMaster, masterMin)
	master.Spec.UnhealthyPodEvictionPolicy = nil
	return []*policyv1.PodDisruptionBudget{build(replicaPDBName(rg), roleReplica, replicaMin), master}
}

// reconcilePDB creates or updates the PodDisruptionBudgets, or deletes them
// when disabled, and records the pods' selector for the scale subresource.
func (r *ReplicationGroupReconciler) reconcilePDB(ctx context.Context, p *pass) (ctrl.Result, error) {
	p.rg.Status.Selector = labels.SelectorFromSet(selectorLabels(p.rg)).String()
	want := buildPDBs(p.rg)
	if want == nil {
		for _, name := range []string{replicaPDBName(p.rg), masterPDBName(p.rg)} {
			pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: p.rg.Namespace}}
			if err := r.Delete(ctx, pdb); err != nil && !apierrors.IsNotFound(err) {
				return ctrl.Result{}, fmt.Errorf("deleting PodDisruptionBudget %s: %w", name, err)
			}
		}
		return ctrl.Result{}, nil
	}
	for _, w := range want {
		pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: w.Name, Namespace: w.Namespace}}
		_, err := controllerutil.CreateOrUpdate(ctx, r.Client, pdb, func() error {
			pdb.Labels = mergeLabels(pdb.Labels, w.Labels)
			pdb.Spec.MinAvailable = w.Spec.MinAvailable
			// A budget written by an older operator had maxUnavailable,
			// which sends the disruption controller to the scale subresource.
			pdb.Spec.MaxUnavailable = nil
			pdb.Spec.Selector = w.Spec.Selector
			pdb.Spec.UnhealthyPodEvictionPolicy = w.Spec.UnhealthyPodEvictionPolicy
			return controllerutil.SetControllerReference(p.rg, pdb, r.Scheme)
		})
		if err != nil {
			return ctrl.Result{}, fmt.Errorf("PodDisruptionBudget %s: %w", w.Name, err)
		}
	}
	return ctrl.Result{}, nil
}

// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch

// observeCordons records which members run on a node that is cordoned
// (spec.unschedulable, as kubectl cordon and drain set it). A node the
// operator may not read counts as schedulable: drains then wait for a
// manual switchover, as before.
func (r *ReplicationGroupReconciler) observeCordons(ctx context.Context, p *pass) (ctrl.Result, error) {
	p.cordoned = map[string]bool{}
	cordonedNodes := map[string]bool{}
	for name, pod := range p.pods {
		nodeName := pod.Spec.NodeName
		if nodeName == "" {
			continue
		}
		cordoned, seen := cordonedNodes[nodeName]
		if !seen {
			var node corev1.Node
			if err := r.Get(ctx, types.NamespacedName{Name: nodeName}, &node); err != nil {
				logf.FromContext(ctx).V(1).Info("cannot read the member's node; treating it as schedulable", "member", name, "node", nodeName, "error", err.Error())
			}
			cordoned = node.Spec.Unschedulable
			cordonedNodes[nodeName] = cordoned
		}
		if cordoned {
			p.cordoned[name] = true
		}
	}
	return ctrl.Result{}, nil
}

// switchoverRequestInput is what decideSwitchoverRequest reads.
type switchoverRequestInput struct {
	// SpecMaster is spec.master.
	SpecMaster string
	// CurrentMaster is status.currentMaster.
	CurrentMaster string
	// SwitchoverTo is the target of a switchover under way, "" when idle.
	SwitchoverTo string
	// Cordoned lists the members on cordoned nodes.
	Cordoned map[string]bool
	// Members are the observed members.
	Members []observedMember
}

// switchoverRequest is which member the failover policy is asked to make
// master this pass; Drain is true when the operator asks on its own because
// the master's node is being drained.
type switchoverRequest struct {
	Member string
	Drain  bool
}

// decideSwitchoverRequest returns the switchover request for the failover
// policy: spec.master, unless it names a member on a cordoned node (the
// master is not moved onto a node being drained; a pinned master returns
// there once its pod runs elsewhere) or a fenced one; else a switchover under way; else, when
// the master's node is cordoned, the in-sync replica with the most history
// on a schedulable node, so the drain's eviction of the master can pass once
// it is a replica. Pure.
func decideSwitchoverRequest(in switchoverRequestInput) switchoverRequest {
	requested := in.SpecMaster
	if requested != "" && requested != in.CurrentMaster && (in.Cordoned[requested] || isFenced(in.Members, requested)) && requested != in.SwitchoverTo {
		requested = ""
	}
	if requested == "" && in.SwitchoverTo != "" {
		requested = in.SwitchoverTo
	}
	if (requested != "" && requested != in.CurrentMaster) || in.CurrentMaster == "" || !in.Cordoned[in.CurrentMaster] {
		return switchoverRequest{Member: requested}
	}
	if target := drainTarget(in); target != "" {
		return switchoverRequest{Member: target, Drain: true}
	}
	return switchoverRequest{Member: requested}
}

// drainTarget returns the replica to switch a drained master over to: ready,
// linked up to the current master, not on a cordoned node, most advanced
// first, then lowest ordinal; "" when there is none.
func drainTarget(in switchoverRequestInput) string {
	var master *observedMember
	for i := range in.Members {
		if in.Members[i].Name == in.CurrentMaster {
			master = &in.Members[i]
		}
	}
	if master == nil || master.PodIP == "" {
		return ""
	}
	var candidates []observedMember
	for _, m := range in.Members {
		if m.Name == in.CurrentMaster || !m.PodExists || m.Deleting || !m.Ready || !m.Reachable || m.Fenced || in.Cordoned[m.Name] {
			continue
		}
		if m.Role != "slave" || !m.LinkUp || m.MasterHost != master.PodIP {
			continue
		}
		candidates = append(candidates, m)
	}
	if len(candidates) == 0 {
		return ""
	}
	sort.Slice(candidates, func(i, j int) bool {
		if candidates[i].Offset != candidates[j].Offset {
			return candidates[i].Offset > candidates[j].Offset
		}
		return candidates[i].Ordinal < candidates[j].Ordinal
	})
	return candidates[0].Name
}

// isFenced reports whether the named member is fenced by hand.
func isFenced(members []observedMember, name string) bool {
	for _, m := range members {
		if m.Name == name {
			return m.Fenced
		}
	}
	return false
}

// switchoverRequestFor decides this pass's switchover request and announces
// a switchover the operator starts for a drain.
func (r *ReplicationGroupReconciler) switchoverRequestFor(p *pass) string {
	in := switchoverRequestInput{
		SpecMaster:    p.rg.Spec.Master,
		CurrentMaster: p.rg.Status.CurrentMaster,
		Cordoned:      p.cordoned,
		Members:       p.members,
	}
	if sw := p.rg.Status.Switchover; sw != nil && sw.Phase != "" {
		in.SwitchoverTo = sw.To
	}
	req := decideSwitchoverRequest(in)
	if req.Drain && in.SwitchoverTo == "" {
		r.event(p.rg, corev1.EventTypeNormal, "DrainSwitchover",
			fmt.Sprintf("master %s runs on a cordoned node; switching over to %s so the drain can evict it", in.CurrentMaster, req.Member))
	}
	return req.Member
}
