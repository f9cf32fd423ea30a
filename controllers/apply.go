package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers/failover"
	"github.com/replnode/replnode/controllers/nodeclient"
)

// ------ APPLYING THE TOPOLOGY DECISION ------

// reconcileTopology computes the topology decision from this pass's
// observation and carries it out.
func (r *ReplicationGroupReconciler) reconcileTopology(ctx context.Context, p *pass) (ctrl.Result, error) {
	p.templateHash = templateHash(p.rg, buildPod(p.rg, podParams{Role: roleReplica, ConfigHash: p.confHash}), p.confHash)
	acts := decideTopology(topologyInput{
		DesiredReplicas:    int(p.rg.Spec.DesiredReplicas()),
		CurrentMaster:      p.rg.Status.CurrentMaster,
		TargetMaster:       p.rg.Status.TargetMaster,
		TemplateHash:       p.templateHash,
		Members:            p.members,
		MemberName:         func(i int) string { return memberName(p.rg, i) },
		FailoverBusy:       p.failoverBusy,
		Fenced:             p.rg.Status.FencedMembers,
		AcceptDataLoss:     p.rg.Annotations[failover.AnnotationAcceptDataLoss] == "true",
		MinReplicasToWrite: int(p.rg.Spec.EffectiveMinReplicasToWrite()),
	})
	var res ctrl.Result
	for _, a := range acts {
		if err := r.applyTopologyAction(ctx, p, a); err != nil {
			if a.Kind != topoSwitchover && errors.Is(err, nodeclient.ErrStaleEpoch) {
				// (A switchover's failover pass handled its own refusal.)
				return res, r.staleEpoch(ctx, p, err)
			}
			return res, err
		}
		if a.Kind != topoSetRoleLabel {
			res.RequeueAfter = 2 * time.Second
		}
	}
	return res, nil
}

// applyTopologyAction carries out one topology action.
func (r *ReplicationGroupReconciler) applyTopologyAction(ctx context.Context, p *pass, a topologyAction) error {
	switch a.Kind {
	case topoSetTargetMaster:
		return r.setTargetMaster(ctx, p, a.Member, a.Reason)
	case topoSetCurrentMaster:
		p.rg.Status.CurrentMaster = a.Member
		p.rg.Status.TargetMaster = a.Member
		r.event(p.rg, corev1.EventTypeNormal, a.Reason, a.Message)
		return nil
	case topoCreatePod:
		phase := replnodev1alpha1.PhaseScaling
		if p.rg.Status.CurrentMaster == "" {
			phase = replnodev1alpha1.PhaseCreating
		}
		p.progress(phase, a.Reason, a.Message)
		return r.createMember(ctx, p, a.Member, a.Role)
	case topoDeletePod:
		if err := r.fenceTopology(ctx, p); err != nil {
			return err
		}
		phase := replnodev1alpha1.PhaseScaling
		if a.Reason == "RollingUpdate" {
			phase = replnodev1alpha1.PhaseUpdating
		}
		p.progress(phase, a.Reason, a.Message)
		r.event(p.rg, corev1.EventTypeNormal, a.Reason, a.Message)
		return r.deletePod(ctx, p, a.Member)
	case topoSetRoleLabel:
		if pod := p.pods[a.Member]; pod == nil || pod.Labels[labelRole] == a.Role {
			return nil
		}
		if err := r.fenceTopology(ctx, p); err != nil {
			return err
		}
		return r.setRoleLabel(ctx, p, a.Member, a.Role)
	case topoReplicaOf:
		master := p.pods[p.rg.Status.CurrentMaster]
		n, ok := p.nodeOf(a.Member)
		if master == nil || !ok {
			return nil
		}
		p.progress(replnodev1alpha1.PhaseDegraded, a.Reason, a.Message)
		r.event(p.rg, corev1.EventTypeNormal, a.Reason, a.Message)
		ctx = epochContext(ctx, p.rg)
		if p.rg.Annotations[failover.AnnotationAcceptDataLoss] == "true" {
			// The user accepted losing what the master lacks; the node
			// refuses such a sync otherwise (replica-keep-newer-data).
			ctx = nodeclient.WithDataLossAccepted(ctx)
		}
		return r.nodesFor(p).ReplicaOf(ctx, n, master.Status.PodIP, serverPort)
	case topoPromote:
		n, ok := p.nodeOf(a.Member)
		if !ok {
			return nil
		}
		p.progress(replnodev1alpha1.PhaseCreating, a.Reason, a.Message)
		return r.nodesFor(p).ReplicaOf(epochContext(ctx, p.rg), n, "", 0)
	case topoSwitchover:
		p.progress(replnodev1alpha1.PhaseUpdating, a.Reason, a.Message)
		r.event(p.rg, corev1.EventTypeNormal, a.Reason, a.Message)
		_, err := r.runFailoverPass(ctx, p, a.Member)
		if errors.Is(err, errStop) {
			return nil
		}
		return err
	case topoWait:
		phase := replnodev1alpha1.PhaseDegraded
		if p.rg.Status.CurrentMaster == "" {
			phase = replnodev1alpha1.PhaseCreating
		}
		p.progress(phase, a.Reason, a.Message)
		return nil
	}
	return fmt.Errorf("unknown topology action %q", a.Kind)
}

// setTargetMaster records status.targetMaster and, when it changes, patches
// the status at once: the intent must be stored before anything acts on it,
// so a crash mid-way is resumed rather than forgotten. A change of master
// also starts status.lastFailover.
func (r *ReplicationGroupReconciler) setTargetMaster(ctx context.Context, p *pass, target, reason string) error {
	if p.rg.Status.TargetMaster == target {
		return nil
	}
	p.rg.Status.TargetMaster = target
	if from := p.rg.Status.CurrentMaster; from != "" && from != target {
		now := metav1.NewTime(r.now())
		p.rg.Status.LastFailover = &replnodev1alpha1.FailoverRecord{From: from, To: target, Reason: reason, DetectedAt: &now}
		r.event(p.rg, corev1.EventTypeWarning, "MasterChanging", fmt.Sprintf("moving the master from %s to %s (%s)", from, target, reason))
	}
	return r.patchStatus(ctx, p)
}

// createMember creates a member's PVC (if storage is set and it does not
// exist; claims are reused) and its pod. A replica is started following the
// current master's pod IP.
func (r *ReplicationGroupReconciler) createMember(ctx context.Context, p *pass, name, role string) error {
	ord, ok := memberOrdinal(p.rg, name)
	if !ok {
		return fmt.Errorf("member name %q does not belong to group %s", name, p.rg.Name)
	}
	if pvc := buildPVC(p.rg, name); pvc != nil {
		if err := controllerutil.SetControllerReference(p.rg, pvc, r.Scheme); err != nil {
			return err
		}
		if err := r.Create(ctx, pvc, client.FieldOwner(fieldOwner)); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating PVC %s: %w", pvc.Name, err)
		}
	}
	params := podParams{Ordinal: ord, Role: role, ConfigHash: p.confHash}
	if role == roleMaster && p.rg.Status.CurrentMaster == "" {
		src, err := r.resolveRestore(ctx, p.rg)
		if err != nil {
			return r.restoreNotReady(ctx, p, err)
		}
		params.Restore = src
	}
	if role == roleReplica {
		master := p.pods[p.rg.Status.CurrentMaster]
		if master == nil || master.Status.PodIP == "" {
			return nil
		}
		params.MasterHost = master.Status.PodIP
	}
	pod := buildPod(p.rg, params)
	if err := controllerutil.SetControllerReference(p.rg, pod, r.Scheme); err != nil {
		return err
	}
	if err := r.Create(ctx, pod, client.FieldOwner(fieldOwner)); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return fmt.Errorf("creating pod %s: %w", name, err)
	}
	r.event(p.rg, corev1.EventTypeNormal, "MemberCreated", fmt.Sprintf("created %s %s", role, name))
	return nil
}

// deletePod deletes a member's pod (its PVC is kept for reuse). A pod
// labelled master loses the label first: it is no longer the master, and
// while it terminates the master Service must not select it (kube-proxy
// sends traffic to a terminating endpoint that still serves when no ready
// one is left, as during a failover; review finding 5).
func (r *ReplicationGroupReconciler) deletePod(ctx context.Context, p *pass, name string) error {
	if err := r.unlabelLeavingMaster(ctx, p, name, ""); err != nil {
		return err
	}
	// Bounded by the lease like a node command (leadership.go).
	ctx, cancel, err := r.leaseBound(ctx, p)
	defer cancel()
	if err != nil {
		return err
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: p.rg.Namespace}}
	var opts []client.DeleteOption
	if seen := p.pods[name]; seen != nil && seen.UID != "" {
		// Only the pod this pass saw: never a replacement created since
		// (by another operator, or by this one's previous pass).
		opts = append(opts, client.Preconditions{UID: &seen.UID})
	}
	if err := r.Delete(ctx, pod, opts...); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting pod %s: %w", name, err)
	}
	return nil
}

// unlabelLeavingMaster gives name, a pod that is leaving (deleted or about
// to be) while labelled master, the role label it has under master (""
// while none is chosen yet): the master Service stops selecting it.
func (r *ReplicationGroupReconciler) unlabelLeavingMaster(ctx context.Context, p *pass, name, master string) error {
	pod := p.pods[name]
	if pod == nil || pod.Labels[labelRole] != roleMaster || name == master {
		return nil
	}
	return r.setRoleLabel(ctx, p, name, roleLabelFor(name, master, p.fenced[name]))
}

// setRoleLabel sets a member pod's role label when it differs.
func (r *ReplicationGroupReconciler) setRoleLabel(ctx context.Context, p *pass, name, role string) error {
	pod := p.pods[name]
	if pod == nil || pod.Labels[labelRole] == role {
		return nil
	}
	ctx, cancel, err := r.leaseBound(ctx, p)
	defer cancel()
	if err != nil {
		return err
	}
	before := pod.DeepCopy()
	pod.Labels[labelRole] = role
	if err := r.Patch(ctx, pod, client.MergeFrom(before)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("labelling pod %s %s: %w", name, role, err)
	}
	return nil
}
