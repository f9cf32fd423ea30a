package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/replnode/replnode/controllers/nodeclient"
)

// ------ ACTING ONLY AS THE LEADER, ON THE NEWEST VIEW ------
//
// Leader election keeps one manager active, but a leader paused past its
// lease (SIGSTOP, a frozen VM) wakes up mid-pass, and a pass that lost an
// optimistic status write re-reads the group past the cache and goes on:
// such an ex-leader could hold a perfectly fresh copy and still act after
// another manager took over. So right before every command that changes a
// node (or deletes a pod, or moves a role label) the pass checks, through
// mayAct:
//
//   - the lease: this process renewed it less than the renew deadline ago,
//     by its own clock (RenewalTracker); a new leader can only take it
//     leaseDuration after that renewal, which leaves the difference as the
//     margin for the command to reach the node (beyond it, the failover
//     epoch refuses the command);
//   - the view: the copy of the group the pass acts on is not older than
//     the newest status.failoverEpoch this operator has seen of it (a cache
//     that lags a fresh read or the operator's own write).

// Leadership says whether this process may act as the leader now.
type Leadership interface {
	// Held returns nil while this process provably holds the leader
	// lease, else an error saying why not.
	Held() error
}

// errNotLeader means this process cannot show it holds the leader lease:
// the pass stops without writing anything.
var errNotLeader = errors.New("this operator does not hold the leader lease")

// errStaleView means the pass's copy of the group is older than one this
// operator already saw: it is handled as a lost status write (a fresh read).
var errStaleView = fmt.Errorf("%w: older failover epoch than already seen", errStatusConflict)

// RenewalTracker is the leader election lock (controller-runtime's
// LeaderElectionResourceLockInterface) with a memory of when this process
// last wrote its own lease: client-go renews with Update, acquires with
// Create or Update, and releases with an Update naming no holder.
type RenewalTracker struct {
	resourcelock.Interface
	// ValidFor is how long after the start of a successful renewal the
	// lease counts as held: the renew deadline (a leader that cannot renew
	// within it stops leading), below the lease duration.
	ValidFor time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu        sync.Mutex
	renewedAt time.Time
}

func (t *RenewalTracker) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Create implements resourcelock.Interface.
func (t *RenewalTracker) Create(ctx context.Context, ler resourcelock.LeaderElectionRecord) error {
	start := t.now()
	err := t.Interface.Create(ctx, ler)
	t.written(start, ler, err)
	return err
}

// Update implements resourcelock.Interface.
func (t *RenewalTracker) Update(ctx context.Context, ler resourcelock.LeaderElectionRecord) error {
	start := t.now()
	err := t.Interface.Update(ctx, ler)
	t.written(start, ler, err)
	return err
}

// written records a write of the lease that started at start. Only a
// successful write naming this process extends the lease, and from when
// the write started: a candidate may take over leaseDuration after it
// observed the record, which is after the write. Any other successful
// write (a release) ends it.
func (t *RenewalTracker) written(start time.Time, ler resourcelock.LeaderElectionRecord, err error) {
	if err != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if ler.HolderIdentity != "" && ler.HolderIdentity == t.Identity() {
		t.renewedAt = start
	} else {
		t.renewedAt = time.Time{}
	}
}

// Held implements Leadership.
func (t *RenewalTracker) Held() error {
	t.mu.Lock()
	renewed := t.renewedAt
	t.mu.Unlock()
	if renewed.IsZero() {
		return fmt.Errorf("%w: it never wrote the lease or released it", errNotLeader)
	}
	if age := t.now().Sub(renewed); age >= t.ValidFor {
		return fmt.Errorf("%w: last renewed %s ago, longer than %s", errNotLeader, age.Round(time.Millisecond), t.ValidFor)
	}
	return nil
}

// mayAct returns nil when this pass may change a node: this process holds
// the leader lease (when leader election is on) and the pass's copy of the
// group is not older than the newest failover epoch this operator saw.
func (r *ReplicationGroupReconciler) mayAct(p *pass) error {
	if r.Leader != nil {
		if err := r.Leader.Held(); err != nil {
			return err
		}
	}
	if newest := r.seeEpoch(p.rg.UID, p.rg.Status.FailoverEpoch); p.rg.Status.FailoverEpoch < newest {
		return fmt.Errorf("%w: this pass read epoch %d, epoch %d was seen", errStaleView, p.rg.Status.FailoverEpoch, newest)
	}
	return nil
}

// actingRefused reports whether err is mayAct's refusal, not a node's
// failure: the pass stops without reporting the node as failing.
func actingRefused(err error) bool {
	return errors.Is(err, errNotLeader) || errors.Is(err, errStaleView)
}

// seeEpoch records that the group with uid was seen at failover epoch
// epoch and returns the newest epoch seen of it. Keyed by UID: a group
// deleted and created again starts over.
func (r *ReplicationGroupReconciler) seeEpoch(uid types.UID, epoch int64) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.epochs == nil {
		r.epochs = map[types.UID]int64{}
	}
	if epoch > r.epochs[uid] {
		r.epochs[uid] = epoch
	}
	return r.epochs[uid]
}

// forgetEpoch drops a deleted group's newest epoch.
func (r *ReplicationGroupReconciler) forgetEpoch(uid types.UID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.epochs, uid)
}

// nodesFor returns the node client a pass changes nodes through: every
// mutating command first passes mayAct. Reads go straight through.
func (r *ReplicationGroupReconciler) nodesFor(p *pass) nodeclient.Client {
	return actingNodes{Client: r.Nodes, mayAct: func() error { return r.mayAct(p) }}
}

// actingNodes checks mayAct before each mutating node command.
type actingNodes struct {
	nodeclient.Client
	mayAct func() error
}

func (a actingNodes) ReplicaOf(ctx context.Context, n nodeclient.Node, host string, port int) error {
	if err := a.mayAct(); err != nil {
		return err
	}
	return a.Client.ReplicaOf(ctx, n, host, port)
}

func (a actingNodes) ConfigSet(ctx context.Context, n nodeclient.Node, parameter, value string) error {
	if err := a.mayAct(); err != nil {
		return err
	}
	return a.Client.ConfigSet(ctx, n, parameter, value)
}

func (a actingNodes) ClientPause(ctx context.Context, n nodeclient.Node, d time.Duration) error {
	if err := a.mayAct(); err != nil {
		return err
	}
	return a.Client.ClientPause(ctx, n, d)
}

func (a actingNodes) ClientUnpause(ctx context.Context, n nodeclient.Node) error {
	if err := a.mayAct(); err != nil {
		return err
	}
	return a.Client.ClientUnpause(ctx, n)
}

func (a actingNodes) PushEpoch(ctx context.Context, n nodeclient.Node) error {
	if err := a.mayAct(); err != nil {
		return err
	}
	return a.Client.PushEpoch(ctx, n)
}

func (a actingNodes) ClientKillNormal(ctx context.Context, n nodeclient.Node) error {
	if err := a.mayAct(); err != nil {
		return err
	}
	return a.Client.ClientKillNormal(ctx, n)
}
