package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers/nodeclient"
)

// ------ ACTING ONLY AS THE LEADER, ON THE NEWEST VIEW ------

// fakeLock is a resourcelock.Interface whose writes succeed or fail on
// demand.
type fakeLock struct {
	id   string
	fail error
}

func (l *fakeLock) Get(context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	return nil, nil, nil
}
func (l *fakeLock) Create(context.Context, resourcelock.LeaderElectionRecord) error { return l.fail }
func (l *fakeLock) Update(context.Context, resourcelock.LeaderElectionRecord) error { return l.fail }
func (l *fakeLock) RecordEvent(string)                                              {}
func (l *fakeLock) Identity() string                                                { return l.id }
func (l *fakeLock) Describe() string                                                { return "fake/" + l.id }

// manualClock is a clock the test moves.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *manualClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestRenewalTracker checks the lease counts as held only within the renew
// deadline after the start of this process's last successful write of it,
// that failed writes and other holders do not extend it, and that a
// release ends it.
func TestRenewalTracker(t *testing.T) {
	ctx := context.Background()
	clock := &manualClock{t: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)}
	lock := &fakeLock{id: "me"}
	tr := &RenewalTracker{Interface: lock, ValidFor: 10 * time.Second, Now: clock.now}
	mine := resourcelock.LeaderElectionRecord{HolderIdentity: "me"}
	held := func(want bool, what string) {
		t.Helper()
		err := tr.Held()
		if (err == nil) != want {
			t.Fatalf("%s: Held() = %v, want held %v", what, err, want)
		}
		if err != nil && !errors.Is(err, errNotLeader) {
			t.Fatalf("%s: %v does not match errNotLeader", what, err)
		}
	}
	held(false, "never acquired")
	if err := tr.Create(ctx, mine); err != nil {
		t.Fatal(err)
	}
	held(true, "just acquired")
	clock.add(9 * time.Second)
	held(true, "9s after acquiring")
	lock.fail = errors.New("apiserver unreachable")
	_ = tr.Update(ctx, mine)
	clock.add(time.Second)
	held(false, "10s after the last successful renewal, one failed since (a paused or cut-off leader)")
	lock.fail = nil
	_ = tr.Update(ctx, mine)
	held(true, "renewed")
	_ = tr.Update(ctx, resourcelock.LeaderElectionRecord{HolderIdentity: "other"})
	held(false, "a write naming another holder")
	_ = tr.Update(ctx, mine)
	_ = tr.Update(ctx, resourcelock.LeaderElectionRecord{})
	held(false, "released")

	// The lease counts from when the renewal started, not when it
	// returned: a candidate may take over leaseDuration after it saw it.
	slow := &slowLock{fakeLock: fakeLock{id: "me"}, clock: clock, takes: 4 * time.Second}
	tr = &RenewalTracker{Interface: slow, ValidFor: 10 * time.Second, Now: clock.now}
	_ = tr.Update(ctx, mine)
	clock.add(6 * time.Second)
	held(false, "10s after a renewal that started 4s before it returned")
}

// slowLock is a fakeLock whose writes take time on the clock.
type slowLock struct {
	fakeLock
	clock *manualClock
	takes time.Duration
}

func (l *slowLock) Update(ctx context.Context, r resourcelock.LeaderElectionRecord) error {
	l.clock.add(l.takes)
	return l.fakeLock.Update(ctx, r)
}

// lapsed is a Leadership that was lost.
type lapsed struct{}

func (lapsed) Held() error { return errNotLeader }

// TestNodesForRefusesWithoutLeaseOrOnAnOlderView checks every mutating
// node command of a pass is refused, before it reaches the node, when the
// lease is not held or when the pass's copy of the group is older than an
// epoch this operator already saw; reads still go through.
func TestNodesForRefusesWithoutLeaseOrOnAnOlderView(t *testing.T) {
	ctx := context.Background()
	fake := nodeclient.NewFake()
	const addr = "10.0.0.9:6379"
	fake.Start(addr, "", "")
	n := nodeclient.Node{Addr: addr}
	rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "g", Namespace: "ns", UID: "uid-1"}}
	rg.Status.FailoverEpoch = 6
	mutations := map[string]func(nodeclient.Client) error{
		"REPLICAOF":      func(c nodeclient.Client) error { return c.ReplicaOf(ctx, n, "10.0.0.1", 6379) },
		"CONFIG SET":     func(c nodeclient.Client) error { return c.ConfigSet(ctx, n, "maxmemory", "1mb") },
		"CLIENT PAUSE":   func(c nodeclient.Client) error { return c.ClientPause(ctx, n, time.Second) },
		"CLIENT UNPAUSE": func(c nodeclient.Client) error { return c.ClientUnpause(ctx, n) },
		"REPLNODE EPOCH": func(c nodeclient.Client) error { return c.PushEpoch(nodeclient.WithEpoch(ctx, 6), n) },
		"CLIENT KILL":    func(c nodeclient.Client) error { return c.ClientKillNormal(ctx, n) },
	}

	// No lease.
	r := &ReplicationGroupReconciler{Nodes: fake, Leader: lapsed{}}
	p := newPass(rg.DeepCopy())
	for name, call := range mutations {
		before := len(fake.Calls())
		if err := call(r.nodesFor(p)); !errors.Is(err, errNotLeader) {
			t.Errorf("%s without the lease: %v, want errNotLeader", name, err)
		}
		if after := fake.Calls(); len(after) != before {
			t.Errorf("%s without the lease reached the node: %v", name, after[before:])
		}
	}
	if _, err := r.nodesFor(p).Role(ctx, n); err != nil {
		t.Errorf("a read without the lease: %v", err)
	}
	if err := r.deletePod(ctx, p, "g-1"); !errors.Is(err, errNotLeader) {
		t.Errorf("pod deletion without the lease: %v", err)
	}

	// Lease held (no leader election), but this operator already saw epoch 7.
	r = &ReplicationGroupReconciler{Nodes: fake}
	r.seeEpoch(rg.UID, 7)
	p = newPass(rg.DeepCopy())
	for name, call := range mutations {
		before := len(fake.Calls())
		if err := call(r.nodesFor(p)); !errors.Is(err, errStaleView) || !errors.Is(err, errStatusConflict) {
			t.Errorf("%s on a view at epoch 6 after epoch 7 was seen: %v, want errStaleView (a conflict)", name, err)
		}
		if after := fake.Calls(); len(after) != before {
			t.Errorf("%s on an older view reached the node: %v", name, after[before:])
		}
	}
	// The same group recreated (another UID) starts over; the current
	// view acts.
	p.rg.UID = "uid-2"
	if err := r.nodesFor(p).ClientUnpause(ctx, n); err != nil {
		t.Errorf("a recreated group's pass: %v", err)
	}
	p = newPass(rg.DeepCopy())
	p.rg.Status.FailoverEpoch = 7
	if err := r.nodesFor(p).ClientUnpause(ctx, n); err != nil {
		t.Errorf("a pass at the newest epoch: %v", err)
	}
}

// memoryLock is a resourcelock.Interface holding the record in memory, as
// a Lease would.
type memoryLock struct {
	id     string
	mu     *sync.Mutex
	record **resourcelock.LeaderElectionRecord
}

func (l memoryLock) Get(context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if *l.record == nil {
		return nil, nil, apierrors.NewNotFound(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, "lock")
	}
	r := **l.record
	raw, err := json.Marshal(r)
	return &r, raw, err
}
func (l memoryLock) Create(_ context.Context, r resourcelock.LeaderElectionRecord) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if *l.record != nil {
		return errors.New("exists")
	}
	*l.record = &r
	return nil
}
func (l memoryLock) Update(_ context.Context, r resourcelock.LeaderElectionRecord) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	*l.record = &r
	return nil
}
func (l memoryLock) RecordEvent(string) {}
func (l memoryLock) Identity() string   { return l.id }
func (l memoryLock) Describe() string   { return "memory/" + l.id }

// TestRenewalTrackerUnderClientGoElector runs client-go's leader elector
// over the tracker: the lease counts as held once the elector leads, and
// no longer once it released it on shutdown.
func TestRenewalTrackerUnderClientGoElector(t *testing.T) {
	var mu sync.Mutex
	var record *resourcelock.LeaderElectionRecord
	tr := &RenewalTracker{Interface: memoryLock{id: "me", mu: &mu, record: &record}, ValidFor: 10 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	led := make(chan struct{})
	done := make(chan struct{})
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: tr, LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 100 * time.Millisecond,
		ReleaseOnCancel: true,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) { close(led) },
			OnStoppedLeading: func() {},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Held(); err == nil {
		t.Fatal("held before the elector ran")
	}
	go func() { le.Run(ctx); close(done) }()
	select {
	case <-led:
	case <-time.After(time.Minute):
		t.Fatal("the elector did not lead within a minute")
	}
	if err := tr.Held(); err != nil {
		t.Fatalf("leading, but: %v", err)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the elector did not stop within a minute")
	}
	if err := tr.Held(); err == nil {
		t.Fatal("still held after the elector released the lease")
	}
}
