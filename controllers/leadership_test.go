package controllers

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

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

func (lapsed) HeldFor() (time.Duration, error) { return 0, errNotLeader }

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
		"ACL SETUSER":    func(c nodeclient.Client) error { return c.ACLSetUser(ctx, n, "app", []string{"on"}) },
		"ACL DELUSER":    func(c nodeclient.Client) error { return c.ACLDelUser(ctx, n, "app") },
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

// stallingNode is a loopback server speaking just enough RESP for the node
// client: it answers REPLNODE EPOCH only after stall (the operator's
// exchange is held up between its lease check and its command, as by a
// pause of the process or a slow node) and records when every other
// command arrived.
type stallingNode struct {
	addr  string
	stall time.Duration

	mu      sync.Mutex
	arrived map[string]time.Time
}

func startStallingNode(t *testing.T, stall time.Duration) *stallingNode {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	s := &stallingNode{addr: l.Addr().String(), stall: stall, arrived: map[string]time.Time{}}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

// serve answers one connection: +OK to everything.
func (s *stallingNode) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		args, err := readCommandArgs(r)
		if err != nil {
			return
		}
		if strings.EqualFold(args[0], "REPLNODE") {
			time.Sleep(s.stall)
		} else {
			s.mu.Lock()
			s.arrived[strings.ToUpper(args[0])] = time.Now()
			s.mu.Unlock()
		}
		if _, err := c.Write([]byte("+OK\r\n")); err != nil {
			return
		}
	}
}

// arrival returns when cmd arrived, and whether it did.
func (s *stallingNode) arrival(cmd string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.arrived[cmd]
	return at, ok
}

// readCommandArgs reads one RESP array of bulk strings.
func readCommandArgs(r *bufio.Reader) ([]string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "*")))
	if err != nil || n < 1 {
		return nil, fmt.Errorf("not a command: %q", line)
	}
	args := make([]string, n)
	for i := range args {
		if line, err = r.ReadString('\n'); err != nil {
			return nil, err
		}
		size, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "$")))
		if err != nil {
			return nil, fmt.Errorf("not a bulk string: %q", line)
		}
		buf := make([]byte, size+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		args[i] = string(buf[:size])
	}
	return args, nil
}

// TestNodeCommandCannotOutliveTheLease pins review finding 2 (HIGH): the
// lease was checked only before a node command, so a command checked just
// inside the renew deadline could still be sent up to the node client's
// timeout (5s) later, after the lease (15s) expired and another operator
// took over; a pause of the process between check and send did the same.
// Here the lease has 300ms left when the pass sends REPLICAOF, and the
// node holds the exchange up for a second before the command goes out (the
// epoch announcement's reply is late): the command must never reach the
// node after the lease ran out, and the pass must see a refusal, not a
// node failure. On main the REPLICAOF arrived 700ms after the lease ended.
// A node that answers at once still gets the command (the bound is not a
// blanket refusal).
func TestNodeCommandCannotOutliveTheLease(t *testing.T) {
	ctx := context.Background()
	rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "g", Namespace: "ns", UID: "uid-1"}}
	const validFor = 10 * time.Second
	const left = 300 * time.Millisecond
	for _, c := range []struct {
		name  string
		stall time.Duration
		sent  bool
	}{
		{"a stall past the lease", time.Second, false},
		{"no stall", 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			node := startStallingNode(t, c.stall)
			// The last renewal started validFor-left ago: the clock runs
			// at the real rate from there.
			var shift time.Duration
			tr := &RenewalTracker{Interface: &fakeLock{id: "me"}, ValidFor: validFor,
				Now: func() time.Time { return time.Now().Add(shift) }}
			if err := tr.Update(ctx, resourcelock.LeaderElectionRecord{HolderIdentity: "me"}); err != nil {
				t.Fatal(err)
			}
			shift = validFor - left
			leaseEnd := time.Now().Add(left)
			r := &ReplicationGroupReconciler{Nodes: &nodeclient.RESP{Timeout: 5 * time.Second}, Leader: tr}
			p := newPass(rg.DeepCopy())
			err := r.nodesFor(p).ReplicaOf(epochContext(ctx, p.rg), nodeclient.Node{Addr: node.addr}, "10.0.0.1", 6379)
			at, arrived := node.arrival("REPLICAOF")
			if !c.sent {
				if arrived && !at.Before(leaseEnd) {
					t.Fatalf("REPLICAOF reached the node %s after the lease ran out", at.Sub(leaseEnd).Round(time.Millisecond))
				}
				if arrived {
					t.Fatalf("REPLICAOF reached the node though the exchange was held up past the lease")
				}
				if !errors.Is(err, errNotLeader) || !actingRefused(err) {
					t.Fatalf("the call cut short by the lease returned %v, want a refusal matching errNotLeader", err)
				}
				return
			}
			if err != nil || !arrived {
				t.Fatalf("with the lease held the command did not get through: err %v, arrived %v", err, arrived)
			}
		})
	}
}

// TestPodChangesAreBoundedByTheLease pins review finding 2 for the API
// calls that act like node commands (deleting a member's pod, moving a role
// label): they carry a deadline no later than the lease's end, so a request
// delayed past it is abandoned by the client instead of sent.
func TestPodChangesAreBoundedByTheLease(t *testing.T) {
	ctx := context.Background()
	rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "g", Namespace: "ns", UID: "uid-1"}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "g-1", Namespace: "ns", Labels: map[string]string{labelRole: roleMaster}}}
	var shift time.Duration
	tr := &RenewalTracker{Interface: &fakeLock{id: "me"}, ValidFor: 10 * time.Second,
		Now: func() time.Time { return time.Now().Add(shift) }}
	if err := tr.Update(ctx, resourcelock.LeaderElectionRecord{HolderIdentity: "me"}); err != nil {
		t.Fatal(err)
	}
	shift = 8 * time.Second
	leaseEnd := time.Now().Add(2 * time.Second)
	var deadlines []string
	check := func(ctx context.Context, what string) {
		// The clock is read twice on the way to the deadline: a few
		// microseconds of slack.
		d, ok := ctx.Deadline()
		if !ok || d.After(leaseEnd.Add(10*time.Millisecond)) {
			deadlines = append(deadlines, fmt.Sprintf("%s: deadline %v (set %v), lease ends %v", what, d, ok, leaseEnd))
		}
	}
	c := fake.NewClientBuilder().WithScheme(clientgoscheme.Scheme).WithObjects(pod.DeepCopy()).WithInterceptorFuncs(interceptor.Funcs{
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			check(ctx, "delete")
			return c.Delete(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			check(ctx, "patch")
			return c.Patch(ctx, obj, patch, opts...)
		},
	}).Build()
	r := &ReplicationGroupReconciler{Client: c, Leader: tr}
	p := newPass(rg.DeepCopy())
	var cur corev1.Pod
	if err := c.Get(ctx, client.ObjectKeyFromObject(pod), &cur); err != nil {
		t.Fatal(err)
	}
	p.pods["g-1"] = &cur
	if err := r.setRoleLabel(ctx, p, "g-1", roleReplica); err != nil {
		t.Fatal(err)
	}
	if err := r.deletePod(ctx, p, "g-1"); err != nil {
		t.Fatal(err)
	}
	if len(deadlines) > 0 {
		t.Fatalf("pod changes not bounded by the lease: %v", deadlines)
	}
}

// TestEveryMutatingNodeCallIsFenced reads the package's own source: a
// mutating node command sent through r.Nodes directly skips the lease
// check, its bound and the view check (nodesFor). Users (ACL SETUSER,
// ACL DELUSER, CONFIG SET masteruser) were sent that way until review
// finding 2's sweep.
func TestEveryMutatingNodeCallIsFenced(t *testing.T) {
	mutating := map[string]bool{"ReplicaOf": true, "ConfigSet": true, "ClientPause": true, "ClientUnpause": true,
		"PushEpoch": true, "ClientKillNormal": true, "ACLSetUser": true, "ACLDelUser": true}
	// Every mutating method of the interface is listed above.
	iface := reflect.TypeOf((*nodeclient.Client)(nil)).Elem()
	for i := range iface.NumMethod() {
		name := iface.Method(i).Name
		if !mutating[name] && !map[string]bool{"Ping": true, "Role": true, "InfoReplication": true, "ServedCertificate": true, "ACLList": true}[name] {
			t.Errorf("nodeclient.Client.%s is neither listed as mutating nor as a read here", name)
		}
	}
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(node ast.Node) bool {
			call, ok := node.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !mutating[sel.Sel.Name] {
				return true
			}
			if recv, ok := sel.X.(*ast.SelectorExpr); ok && recv.Sel.Name == "Nodes" {
				t.Errorf("%s: %s sent through .Nodes directly, not through nodesFor(p)", fset.Position(call.Pos()), sel.Sel.Name)
			}
			return true
		})
	}
}

// TestNodesForCarriesTheEpoch: a mutating command sent through nodesFor
// without an epoch in its context (the TLS reload's and the password
// rotation's CONFIG SET did so) still announces the group's epoch, so a
// member that knows a newer one refuses it. On main it went out unfenced.
func TestNodesForCarriesTheEpoch(t *testing.T) {
	ctx := context.Background()
	fake := nodeclient.NewFake()
	const addr = "10.0.0.9:6379"
	fake.Start(addr, "", "")
	fake.SetEpoch(addr, 9)
	n := nodeclient.Node{Addr: addr}
	rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "g", Namespace: "ns", UID: "uid-1"}}
	rg.Status.FailoverEpoch = 6
	r := &ReplicationGroupReconciler{Nodes: fake}
	if err := r.nodesFor(newPass(rg.DeepCopy())).ConfigSet(ctx, n, "tls-cert-file", "/tls/tls.crt"); !errors.Is(err, nodeclient.ErrStaleEpoch) {
		t.Fatalf("CONFIG SET from a pass at epoch 6 on a member at epoch 9: %v, want ErrStaleEpoch", err)
	}
	rg.Status.FailoverEpoch = 9
	if err := r.nodesFor(newPass(rg.DeepCopy())).ConfigSet(ctx, n, "tls-cert-file", "/tls/tls.crt"); err != nil {
		t.Fatalf("CONFIG SET at the member's epoch: %v", err)
	}
}
