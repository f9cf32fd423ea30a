package controllers

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers/failover"
	"github.com/replnode/replnode/controllers/nodeclient"
)

// ------ TWO OPERATORS: OPTIMISTIC STATUS AND THE FAILOVER EPOCH ------
//
// Leader election keeps one manager active, but a leader paused past its
// lease (a frozen node, a long GC) wakes up mid-reconcile holding a stale
// copy of the group. Two things keep it from acting on that copy:
//
//   - every status write carries the resourceVersion it was read at
//     (patchStatus); a write that lost to a newer version fails with
//     errStatusConflict and the pass ends without acting further;
//   - before the failover policy touches any node in a pass, the pass takes
//     a new status.failoverEpoch, stores it with that check, and announces it
//     to every reachable member; node commands then carry the group's epoch
//     (epochContext), and a member refuses those of an older epoch
//     (nodeclient.ErrStaleEpoch). A stale operator therefore cannot store a
//     new epoch, and the commands it was already sending are refused once
//     the newer epoch reached the member.

// errStatusConflict means a status write found the group changed since it
// was read (another writer, or a stale cache): the pass stops without acting
// further and is requeued to start from a fresh read.
var errStatusConflict = errors.New("the group changed since this pass read it")

// epochContext returns ctx carrying the group's failover epoch for node
// commands. Epoch 0 (never raised) is announced too: a stale operator that
// read the group before its first failover must be refused as well.
func epochContext(ctx context.Context, rg *replnodev1alpha1.ReplicationGroup) context.Context {
	return nodeclient.WithEpoch(ctx, rg.Status.FailoverEpoch)
}

// touchesNodes reports whether a plan sends a command to a node, deletes a
// pod or moves the master label (which routes clients), as opposed to only
// reading roles, recording status and emitting events. An action kind not
// listed here counts as touching a node, so a new kind is fenced unless it
// is known not to need it.
func touchesNodes(actions []failover.Action) bool {
	for _, a := range actions {
		switch a.Kind {
		case failover.ActEvent, failover.ActVerifyRole, failover.ActMarkFenced, failover.ActClearFenced,
			failover.ActSetTargetMaster, failover.ActClearTargetMaster, failover.ActSetCurrentMaster:
		default:
			return true
		}
	}
	return false
}

// beginFailoverEpoch raises status.failoverEpoch and stores it (failing with
// errStatusConflict when this pass's copy is stale), then announces it to
// every reachable member, so an operator still acting on an older epoch is
// refused even by members this plan does not touch. A member that already
// knows a newer epoch ends the pass (staleEpoch); an unreachable one learns
// the epoch from the next command it gets.
func (r *ReplicationGroupReconciler) beginFailoverEpoch(ctx context.Context, p *pass) error {
	// An ex-leader, or a pass on an older copy, must not even take an
	// epoch: it would fence the real leader's commands (leadership.go).
	if err := r.mayAct(p); err != nil {
		return err
	}
	p.rg.Status.FailoverEpoch++
	if err := r.patchStatus(ctx, p); err != nil {
		return err
	}
	p.epochTaken = true
	ctx = epochContext(ctx, p.rg)
	for _, v := range p.views {
		if !v.failover.Reachable {
			continue
		}
		n, ok := p.nodeOf(v.failover.Name)
		if !ok {
			continue
		}
		err := r.nodesFor(p).PushEpoch(ctx, n)
		if errors.Is(err, nodeclient.ErrStaleEpoch) {
			return r.staleEpoch(ctx, p, err)
		}
		if err != nil {
			logf.FromContext(ctx).Info("announcing the failover epoch failed", "member", v.failover.Name, "epoch", p.rg.Status.FailoverEpoch, "error", err.Error())
		}
	}
	return nil
}

// staleEpoch handles a member's refusal of this pass's epoch (err matches
// nodeclient.ErrStaleEpoch); the plan stops either way. Either another
// operator stored a newer epoch, so this pass's copy is stale and the
// catch-up write below fails its resourceVersion check: the pass ends with
// the refusal and a StaleFailoverEpoch Warning. Or no one changed the group
// and the members are ahead of its status (restored from a backup, edited):
// the status takes the member's epoch, a FailoverEpochBehind Warning says
// so, and the next pass raises the epoch above it.
func (r *ReplicationGroupReconciler) staleEpoch(ctx context.Context, p *pass, err error) error {
	log := logf.FromContext(ctx)
	ours := p.rg.Status.FailoverEpoch
	var stale *nodeclient.StaleEpochError
	if errors.As(err, &stale) && stale.NodeEpoch > ours {
		p.rg.Status.FailoverEpoch = stale.NodeEpoch
		perr := r.patchStatus(ctx, p)
		if perr == nil {
			msg := fmt.Sprintf("a member knows failover epoch %d, newer than the group's %d, though no other operator changed the group "+
				"(status restored or edited?); status.failoverEpoch is now %d and the next pass starts above it", stale.NodeEpoch, ours, stale.NodeEpoch)
			log.Info(msg, "refusal", err.Error())
			r.event(p.rg, corev1.EventTypeWarning, "FailoverEpochBehind", msg)
			return errStop
		}
		p.rg.Status.FailoverEpoch = ours
		if !errors.Is(perr, errStatusConflict) {
			return errors.Join(err, perr)
		}
	}
	msg := fmt.Sprintf("a member refused failover epoch %d: another operator acted in a newer one; stopping: %v", ours, err)
	log.Info(msg)
	r.event(p.rg, corev1.EventTypeWarning, "StaleFailoverEpoch", msg)
	return fmt.Errorf("failover epoch %d: %w", ours, err)
}

// fenceTopology takes the failover epoch once per pass before the topology
// deletes a pod or moves a role label (review finding 11): those act on the
// group as this pass read it, so an operator holding a stale copy must fail
// on the optimistic status write instead (errStatusConflict), and members
// learn the new epoch.
func (r *ReplicationGroupReconciler) fenceTopology(ctx context.Context, p *pass) error {
	if p.epochTaken {
		return nil
	}
	return r.beginFailoverEpoch(ctx, p)
}
