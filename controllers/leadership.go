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
//     by its own clock (RenewalTracker);
//   - the view: the copy of the group the pass acts on is not older than
//     the newest status.failoverEpoch this operator has seen of it (a cache
//     that lags a fresh read or the operator's own write).
//
// A check before a call is not enough on its own (review finding 2): the
// call itself takes time (a node exchange may take the node client's whole
// timeout, 5s, and the check allowed up to the 10s renew deadline, so a
// command could leave at 15s, when another manager may already lead), and
// the process may be paused between the check and the bytes leaving. So
// the check also says how long the lease still counts as held, and every
// mutating call runs under a context whose deadline is that instant
// (leaseBound): the node client puts the context's deadline on its
// connection, and Go refuses a write on a connection past its deadline,
// also when the process resumes from a pause after it. A command therefore
// leaves this process within the renew deadline after the renewal started,
// and a new leader can only take the lease leaseDuration after it saw that
// renewal: leaseDuration - renewDeadline (5s) is left for the bytes already
// sent to reach the node. That is the simplest sound rule for a paused
// process: it needs no clock shared with the node or the API server, only
// clocks that run at the same rate, which leases assume anyway. Its limit
// is the clock: Go's deadlines and the tracker use the monotonic clock,
// which counts a SIGSTOP and a GC pause, but not time the whole VM spent
// stopped when the hypervisor keeps the guest's clock still across the
// stop (QEMU does, for kvmclock), nor a guest's suspend-to-RAM. No check
// inside such a VM can see that time; the failover epoch refuses a stale
// command once the new leader announced its epoch (epoch.go), and only a
// node-side expiry in a clock the node keeps (an epoch grant that names
// its end) would close the rest.

// Leadership says whether this process may act as the leader now.
type Leadership interface {
	// HeldFor returns how much longer this process provably holds the
	// leader lease (more than zero), else an error saying why it cannot
	// show it holds it.
	HeldFor() (time.Duration, error)
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

// HeldFor implements Leadership: the lease counts as held until ValidFor
// after the start of the last successful renewal.
func (t *RenewalTracker) HeldFor() (time.Duration, error) {
	t.mu.Lock()
	renewed := t.renewedAt
	t.mu.Unlock()
	if renewed.IsZero() {
		return 0, fmt.Errorf("%w: it never wrote the lease or released it", errNotLeader)
	}
	age := t.now().Sub(renewed)
	if age >= t.ValidFor {
		return 0, fmt.Errorf("%w: last renewed %s ago, longer than %s", errNotLeader, age.Round(time.Millisecond), t.ValidFor)
	}
	return t.ValidFor - age, nil
}

// Held returns nil while the lease counts as held (HeldFor).
func (t *RenewalTracker) Held() error {
	_, err := t.HeldFor()
	return err
}

// mayAct returns nil when this pass may change a node: this process holds
// the leader lease (when leader election is on) and the pass's copy of the
// group is not older than the newest failover epoch this operator saw.
func (r *ReplicationGroupReconciler) mayAct(p *pass) error {
	_, cancel, err := r.leaseBound(context.Background(), p)
	cancel()
	return err
}

// leaseBound runs mayAct's checks and returns ctx bounded by the instant
// the lease stops counting as held (ctx itself without leader election):
// a mutating call made with it cannot send anything after that instant,
// however long the call takes or the process is paused (see the top of
// this file). The caller must call cancel.
func (r *ReplicationGroupReconciler) leaseBound(ctx context.Context, p *pass) (context.Context, context.CancelFunc, error) {
	if r.Leader != nil {
		left, err := r.Leader.HeldFor()
		if err != nil {
			return ctx, func() {}, err
		}
		ctx, cancel := context.WithTimeoutCause(ctx, left, errLeaseRanOut)
		if err := r.viewIsNewest(p); err != nil {
			cancel()
			return ctx, func() {}, err
		}
		return ctx, cancel, nil
	}
	return ctx, func() {}, r.viewIsNewest(p)
}

// errLeaseRanOut is the cause of a call's context ending because the lease
// stopped counting as held during the call.
var errLeaseRanOut = fmt.Errorf("%w: the lease ran out during the call", errNotLeader)

// viewIsNewest returns errStaleView when the pass's copy of the group is
// older than the newest failover epoch this operator saw of it.
func (r *ReplicationGroupReconciler) viewIsNewest(p *pass) error {
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
// mutating command first passes mayAct, runs bounded by the lease
// (leaseBound) and carries the group's failover epoch unless the caller
// put one in its context (epochContext), so a member that knows a newer
// epoch refuses it, whichever step sends it. Reads go straight through.
func (r *ReplicationGroupReconciler) nodesFor(p *pass) nodeclient.Client {
	return actingNodes{Client: r.Nodes, bound: func(ctx context.Context) (context.Context, context.CancelFunc, error) {
		if _, ok := nodeclient.EpochFrom(ctx); !ok {
			ctx = epochContext(ctx, p.rg)
		}
		return r.leaseBound(ctx, p)
	}}
}

// actingNodes checks mayAct before each mutating node command and bounds
// the command by the lease.
type actingNodes struct {
	nodeclient.Client
	bound func(context.Context) (context.Context, context.CancelFunc, error)
}

// act runs a mutating call under the lease's bound. A call cut short by
// the lease running out is a refusal (errNotLeader), not a node failure.
func (a actingNodes) act(ctx context.Context, call func(context.Context) error) error {
	ctx, cancel, err := a.bound(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	err = call(ctx)
	if err == nil {
		return nil
	}
	if deadline, ok := ctx.Deadline(); ok && !time.Now().Before(deadline) {
		// The connection's deadline can fire before the context's own
		// timer: past the deadline, Done is closed at once.
		<-ctx.Done()
	}
	if errors.Is(context.Cause(ctx), errLeaseRanOut) {
		return fmt.Errorf("%w: %v", errLeaseRanOut, err)
	}
	return err
}

func (a actingNodes) ReplicaOf(ctx context.Context, n nodeclient.Node, host string, port int) error {
	return a.act(ctx, func(ctx context.Context) error { return a.Client.ReplicaOf(ctx, n, host, port) })
}

func (a actingNodes) ConfigSet(ctx context.Context, n nodeclient.Node, parameter, value string) error {
	return a.act(ctx, func(ctx context.Context) error { return a.Client.ConfigSet(ctx, n, parameter, value) })
}

func (a actingNodes) ClientPause(ctx context.Context, n nodeclient.Node, d time.Duration) error {
	return a.act(ctx, func(ctx context.Context) error { return a.Client.ClientPause(ctx, n, d) })
}

func (a actingNodes) ClientUnpause(ctx context.Context, n nodeclient.Node) error {
	return a.act(ctx, func(ctx context.Context) error { return a.Client.ClientUnpause(ctx, n) })
}

func (a actingNodes) PushEpoch(ctx context.Context, n nodeclient.Node) error {
	return a.act(ctx, func(ctx context.Context) error { return a.Client.PushEpoch(ctx, n) })
}

func (a actingNodes) ClientKillNormal(ctx context.Context, n nodeclient.Node) error {
	return a.act(ctx, func(ctx context.Context) error { return a.Client.ClientKillNormal(ctx, n) })
}

func (a actingNodes) ACLSetUser(ctx context.Context, n nodeclient.Node, name string, rules []string) error {
	return a.act(ctx, func(ctx context.Context) error { return a.Client.ACLSetUser(ctx, n, name, rules) })
}

func (a actingNodes) ACLDelUser(ctx context.Context, n nodeclient.Node, name string) error {
	return a.act(ctx, func(ctx context.Context) error { return a.Client.ACLDelUser(ctx, n, name) })
}
