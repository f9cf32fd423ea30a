package controllers

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers/nodeclient"
)

// frozenNodes is a node client whose nodes accept the connection and never
// answer (a SIGSTOPped process): each call lasts until its context ends.
type frozenNodes struct {
	nodeclient.Client
	calls []time.Duration
}

// InfoReplication implements nodeclient.Client.
func (f *frozenNodes) InfoReplication(ctx context.Context, _ nodeclient.Node) (string, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second) // the node timeout
	defer cancel()
	<-ctx.Done()
	f.calls = append(f.calls, time.Since(start))
	return "", ctx.Err()
}

// TestObserveFrozenMemberCostsTheNodeTimeoutOnce: a member that did not
// answer the last look is asked with silentMemberTimeout, so a frozen
// master delays one pass by the node timeout, not every pass until the
// failover (chaos pause-master and node-stop took 7-9s mostly from passes
// that each waited 2s on the frozen master).
func TestObserveFrozenMemberCostsTheNodeTimeoutOnce(t *testing.T) {
	nodes := &frozenNodes{}
	r := &ReplicationGroupReconciler{Nodes: nodes}
	rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "g", Namespace: "ns"}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "g-0", Namespace: "ns", UID: "uid-0"},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1"}}
	for i := 0; i < 3; i++ {
		if v := r.observePod(context.Background(), newPass(rg), pod, 0, false); v.failover.Reachable {
			t.Fatal("a frozen node reported reachable")
		}
	}
	if len(nodes.calls) != 3 || nodes.calls[0] < 2*time.Second {
		t.Fatalf("looks took %v", nodes.calls)
	}
	for _, d := range nodes.calls[1:] {
		if d > silentMemberTimeout+200*time.Millisecond {
			t.Errorf("a look at a member that was silent last time took %s, want about %s", d, silentMemberTimeout)
		}
	}
}

// silentMasterNodes answers INFO replication for replicas that follow
// masterIP and report noContactMs, and never answers for the master (a
// frozen process); it records how long each look at the master may last.
type silentMasterNodes struct {
	nodeclient.Client
	masterIP    string
	noContactMs int64
	mu          sync.Mutex
	masterLooks []time.Duration
}

// InfoReplication implements nodeclient.Client.
func (f *silentMasterNodes) InfoReplication(ctx context.Context, n nodeclient.Node) (string, error) {
	if n.Addr == f.masterIP+":6379" {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second) // the node timeout
		defer cancel()
		deadline, _ := ctx.Deadline()
		f.mu.Lock()
		f.masterLooks = append(f.masterLooks, time.Until(deadline))
		f.mu.Unlock()
		<-ctx.Done()
		return "", ctx.Err()
	}
	return fmt.Sprintf("# Replication\r\nrole:slave\r\nmaster_host:%s\r\nmaster_port:6379\r\nmaster_link_status:up\r\n"+
		"master_last_io_seconds_ago:1\r\nmaster_no_contact_ms:%d\r\nmaster_sync_in_progress:0\r\nslave_repl_offset:100\r\n"+
		"master_replid:%040d\r\nmaster_replid2:%040d\r\nmaster_repl_offset:100\r\nsecond_repl_offset:-1\r\n",
		f.masterIP, f.noContactMs, 1, 0), nil
}

// TestObserveMasterItsReplicasNoLongerHear: the recorded master is asked
// after its replicas, and when one that follows it reports no contact for
// longer than a ping period plus CronSlack (a running master is heard at
// least that often), the look at it is bounded by silentMemberTimeout even
// the first time: the first look at a frozen master used to wait the whole
// node timeout, often in the pass that could have seen the replicas'
// votes. Replicas that still hear it leave the look at the node timeout.
func TestObserveMasterItsReplicasNoLongerHear(t *testing.T) {
	rg, pod := observeFixture()
	for _, c := range []struct {
		noContactMs int64
		quick       bool
	}{{2000, true}, {1200, false}} {
		t.Run(fmt.Sprintf("replicas report %dms", c.noContactMs), func(t *testing.T) {
			nodes := &silentMasterNodes{masterIP: "10.0.0.1", noContactMs: c.noContactMs}
			r := &ReplicationGroupReconciler{Nodes: nodes, Client: fake.NewClientBuilder().WithScheme(clientgoscheme.Scheme).
				WithObjects(pod("g-0", "10.0.0.1"), pod("g-1", "10.0.0.2"), pod("g-2", "10.0.0.3")).Build()}
			p := newPass(rg.DeepCopy())
			if _, err := r.observeMembers(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			if len(p.views) != 3 || p.views[0].failover.Name != "g-0" || p.views[0].failover.Reachable {
				t.Fatalf("views: want g-0 first and unreachable, got %+v", p.views)
			}
			if len(nodes.masterLooks) != 1 {
				t.Fatalf("the master was asked %d times", len(nodes.masterLooks))
			}
			quick := nodes.masterLooks[0] <= silentMemberTimeout
			if quick != c.quick {
				t.Fatalf("the look at the master could last %s; want bounded by %s: %v", nodes.masterLooks[0], silentMemberTimeout, c.quick)
			}
		})
	}
}

// agingReplicasNodes never answers for the master at masterIP (a frozen
// process, each look lasting until its context ends) and answers for the
// replicas with a no-contact that grows by the time since start, as a
// replica's own clock does while its master is silent.
type agingReplicasNodes struct {
	nodeclient.Client
	masterIP string
	startMs  int64
	start    time.Time
	mu       sync.Mutex
	reads    int
}

// InfoReplication implements nodeclient.Client.
func (f *agingReplicasNodes) InfoReplication(ctx context.Context, n nodeclient.Node) (string, error) {
	if n.Addr == f.masterIP+":6379" {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second) // the node timeout
		defer cancel()
		<-ctx.Done()
		return "", ctx.Err()
	}
	f.mu.Lock()
	f.reads++
	f.mu.Unlock()
	quiet := f.startMs + time.Since(f.start).Milliseconds()
	return fmt.Sprintf("# Replication\r\nrole:slave\r\nmaster_host:%s\r\nmaster_port:6379\r\nmaster_link_status:up\r\n"+
		"master_last_io_seconds_ago:%d\r\nmaster_no_contact_ms:%d\r\nmaster_sync_in_progress:0\r\nslave_repl_offset:100\r\n"+
		"master_replid:%040d\r\nmaster_replid2:%040d\r\nmaster_repl_offset:100\r\nsecond_repl_offset:-1\r\n",
		f.masterIP, quiet/1000, quiet, 1, 0), nil
}

// TestObserveRereadsReplicasAfterASilentMaster: the look at a master that
// does not answer lasts up to silentMemberTimeout, and its replicas' votes
// may mature meanwhile; the replicas that answered are read again after it,
// so the pass decides on what they say then (a pass, and another look,
// sooner: part of a frozen master's RTO), and the reports' age the policy
// times its next look from starts after the look.
func TestObserveRereadsReplicasAfterASilentMaster(t *testing.T) {
	rg, pod := observeFixture()
	// 3.3s quiet at the first read: the look at the master (bounded, the
	// replicas say it is silent) passes the 3.5s vote threshold.
	nodes := &agingReplicasNodes{masterIP: "10.0.0.1", startMs: 3300, start: time.Now()}
	r := &ReplicationGroupReconciler{Nodes: nodes, Client: fake.NewClientBuilder().WithScheme(clientgoscheme.Scheme).
		WithObjects(pod("g-0", "10.0.0.1"), pod("g-1", "10.0.0.2"), pod("g-2", "10.0.0.3")).Build()}
	p := newPass(rg.DeepCopy())
	began := time.Now()
	if _, err := r.observeMembers(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	lookEnded := began.Add(silentMemberTimeout)
	if nodes.reads != 4 {
		t.Fatalf("the replicas were read %d times, want twice each", nodes.reads)
	}
	if p.reportsReadAt.Before(lookEnded) {
		t.Fatalf("reports read at +%s, before the look at the master ended (+%s)", p.reportsReadAt.Sub(began), silentMemberTimeout)
	}
	for _, v := range p.views {
		if v.failover.Name == "g-0" {
			continue
		}
		if got := v.failover.Repl.NoContactMs; got < 3300+silentMemberTimeout.Milliseconds() {
			t.Fatalf("%s reports %dms: the read before the look, not after it", v.failover.Name, got)
		}
	}
}

// observeFixture is a group g of a master g-0 and two replicas, and a
// builder of its running member pods, for the observation tests.
func observeFixture() (*replnodev1alpha1.ReplicationGroup, func(name, ip string) *corev1.Pod) {
	rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "g", Namespace: "ns", UID: "rg-uid"}}
	rg.Spec.Replicas = ptr.To[int32](2)
	rg.Status.CurrentMaster = "g-0"
	pod := func(name, ip string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: "uid-" + types.UID(name),
			Labels: selectorLabels(rg),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "replnode.io/v1alpha1", Kind: "ReplicationGroup", Name: "g",
				UID: rg.UID, Controller: ptr.To(true)}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip}}
	}
	return rg, pod
}
