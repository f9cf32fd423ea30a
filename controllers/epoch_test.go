package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers/failover"
	"github.com/replnode/replnode/controllers/nodeclient"
)

// ------ TWO OPERATORS (envtest, fake nodes) ------
//
// These specs run two extra reconcilers — "operators" — by hand against one
// group, each through a groupView client: either frozen at a snapshot (an
// operator that read the group, then was paused past its lease) or live.
// The suite's own manager is kept out (keepSuiteManagerOut,
// handdriven_helpers_test.go).

// operatorNodes is one operator's node client over the shared fake nodes: it
// records the mutating calls it sent and their results, and can run a hook
// before its first PushEpoch (to let another operator act in between).
type operatorNodes struct {
	nodeclient.Client
	mu         sync.Mutex
	sent       []string
	beforePush func()
}

// note records a mutating call and its result.
func (o *operatorNodes) note(call string, n nodeclient.Node, err error) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	result := "ok"
	if errors.Is(err, nodeclient.ErrStaleEpoch) {
		result = "stale"
	} else if err != nil {
		result = "error"
	}
	o.sent = append(o.sent, fmt.Sprintf("%s %s %s", call, n.Addr, result))
	return err
}

// accepted returns the mutating calls a node accepted.
func (o *operatorNodes) accepted() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, s := range o.sent {
		if strings.HasSuffix(s, " ok") {
			out = append(out, s)
		}
	}
	return out
}

func (o *operatorNodes) ReplicaOf(ctx context.Context, n nodeclient.Node, host string, port int) error {
	return o.note("REPLICAOF", n, o.Client.ReplicaOf(ctx, n, host, port))
}
func (o *operatorNodes) ClientPause(ctx context.Context, n nodeclient.Node, d time.Duration) error {
	return o.note("CLIENT PAUSE", n, o.Client.ClientPause(ctx, n, d))
}
func (o *operatorNodes) ClientUnpause(ctx context.Context, n nodeclient.Node) error {
	return o.note("CLIENT UNPAUSE", n, o.Client.ClientUnpause(ctx, n))
}
func (o *operatorNodes) ConfigSet(ctx context.Context, n nodeclient.Node, p, v string) error {
	return o.note("CONFIG SET", n, o.Client.ConfigSet(ctx, n, p, v))
}
func (o *operatorNodes) PushEpoch(ctx context.Context, n nodeclient.Node) error {
	o.mu.Lock()
	hook := o.beforePush
	o.beforePush = nil
	o.mu.Unlock()
	if hook != nil {
		hook()
	}
	return o.note("REPLNODE EPOCH", n, o.Client.PushEpoch(ctx, n))
}

// operator returns a reconciler over view whose clock is a minute ahead, so
// an unreachable master is already past masterDownAfter.
func operator(view groupView, nodes *operatorNodes, recorder events.EventRecorder) *ReplicationGroupReconciler {
	return &ReplicationGroupReconciler{
		Client: view, Scheme: testScheme, Recorder: recorder, Nodes: nodes,
		Now: func() time.Time { return time.Now().Add(time.Minute) },
	}
}

var _ = Describe("Two operators", func() {
	var (
		ns, masterAddr string
		key            types.NamespacedName
		snapshot       *replnodev1alpha1.ReplicationGroup
	)

	// A Running group of a master and two replicas, with the suite's
	// manager kept out, and its master unreachable; snapshot is the group
	// as both operators read it before the master failed.
	BeforeEach(func() {
		ns = admissionNamespace("twoop")
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "two", Namespace: ns}}
		rg.Spec.Replicas = ptr.To[int32](2)
		rg.Spec.Failover.MasterDownAfter = &metav1.Duration{Duration: time.Second}
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
		expectRunning(ns, "two", 2)
		key = keepSuiteManagerOut(ns, "two")
		snapshot = getGroup(ns, "two")
		Expect(snapshot.DeletionTimestamp).NotTo(BeNil())
		Expect(snapshot.Status.CurrentMaster).To(Equal("two-0"))
		masterAddr = memberAddr(ns, "two-0")
		fakeNodes.SetReachable(masterAddr, false)
		// The replicas have not heard from the master for long enough
		// that its min-replicas guard has expired: the failover policy
		// needs that evidence before it promotes anyone.
		for _, replica := range []string{"two-1", "two-2"} {
			fakeNodes.SetMasterSilence(memberAddr(ns, replica), time.Minute)
		}
	})

	It("lets only one of two operators holding the same copy start a failover", func() {
		nodesA, nodesB := &operatorNodes{Client: fakeNodes}, &operatorNodes{Client: fakeNodes}
		a := operator(groupView{Client: k8sClient, key: key, frozen: snapshot}, nodesA, nil)
		b := operator(groupView{Client: k8sClient, key: key, frozen: snapshot}, nodesB, nil)

		_, err := a.Reconcile(suiteCtx, ctrl.Request{NamespacedName: key})
		Expect(err).NotTo(HaveOccurred())
		afterA := getGroup(ns, "two")
		Expect(afterA.Status.FailoverEpoch).To(Equal(snapshot.Status.FailoverEpoch+1), "A stores a new epoch")
		Expect(afterA.Status.TargetMaster).To(BeElementOf("two-1", "two-2"), "A starts a failover")
		Expect(nodesA.accepted()).NotTo(BeEmpty())

		res, err := b.Reconcile(suiteCtx, ctrl.Request{NamespacedName: key})
		Expect(err).NotTo(HaveOccurred(), "a lost status write is a requeue, not a failure")
		Expect(res.RequeueAfter).To(BeNumerically(">", 0))
		Expect(nodesB.sent).To(BeEmpty(), "B, whose copy is stale, must not touch a node")
		afterB := getGroup(ns, "two")
		Expect(afterB.ResourceVersion).To(Equal(afterA.ResourceVersion), "B wrote nothing")
		Expect(afterB.Status.FailoverEpoch).To(Equal(afterA.Status.FailoverEpoch))
		Expect(afterB.Status.TargetMaster).To(Equal(afterA.Status.TargetMaster))
		Expect(afterB.Status.CurrentMaster).To(Equal(afterA.Status.CurrentMaster))
	})

	It("refuses the node commands of an operator overtaken mid-failover", func() {
		nodesA, nodesB := &operatorNodes{Client: fakeNodes}, &operatorNodes{Client: fakeNodes}
		recorderB := events.NewFakeRecorder(1000)
		// A is the new leader: it reads the live group.
		a := operator(groupView{Client: k8sClient, key: key}, nodesA, nil)
		b := operator(groupView{Client: k8sClient, key: key, frozen: snapshot}, nodesB, recorderB)
		// B stores its epoch, then pauses before announcing it; meanwhile A
		// takes the group over and runs a whole failover pass.
		var errA error
		nodesB.beforePush = func() {
			_, errA = a.Reconcile(suiteCtx, ctrl.Request{NamespacedName: key})
		}

		_, errB := b.Reconcile(suiteCtx, ctrl.Request{NamespacedName: key})
		Expect(errA).NotTo(HaveOccurred())
		Expect(errors.Is(errB, nodeclient.ErrStaleEpoch)).To(BeTrue(), "B's pass ends with ErrStaleEpoch, got %v", errB)
		Expect(nodesB.accepted()).To(BeEmpty(), "a member accepted a command of the overtaken operator: %v", nodesB.sent)
		Expect(nodesB.sent).NotTo(BeEmpty())
		Expect(recorderB.Events).To(Receive(ContainSubstring("StaleFailoverEpoch")))

		rg := getGroup(ns, "two")
		Expect(rg.Status.FailoverEpoch).To(Equal(snapshot.Status.FailoverEpoch+2), "B took one epoch, A the next")
		Expect(rg.Status.TargetMaster).To(BeElementOf("two-1", "two-2"))
		for _, name := range []string{"two-1", "two-2"} {
			n, _ := fakeNodes.Node(memberAddr(ns, name))
			Expect(n.Epoch).To(Equal(rg.Status.FailoverEpoch), "%s knows A's epoch", name)
		}
		// B, still holding its copy, is refused at its next attempt too.
		nodesB.sent = nil
		_, errB = b.Reconcile(suiteCtx, ctrl.Request{NamespacedName: key})
		Expect(errB).NotTo(HaveOccurred())
		Expect(nodesB.accepted()).To(BeEmpty())
	})
})

// Review finding 6: a pass that lost its status write re-reads the group
// past the cache and goes on, so an ex-leader paused past its lease (which
// a new leader took) could act from a perfectly fresh copy. It now checks
// its lease right before every node command and at the start of a pass.
var _ = Describe("An ex-leader paused past its lease", func() {
	It("touches no node and writes nothing while the new leader fails over", func() {
		ns := admissionNamespace("exleader")
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "ex", Namespace: ns}}
		rg.Spec.Replicas = ptr.To[int32](2)
		rg.Spec.Failover.MasterDownAfter = &metav1.Duration{Duration: time.Second}
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
		expectRunning(ns, "ex", 2)
		key := keepSuiteManagerOut(ns, "ex")
		fakeNodes.SetReachable(memberAddr(ns, "ex-0"), false)
		for _, replica := range []string{"ex-1", "ex-2"} {
			fakeNodes.SetMasterSilence(memberAddr(ns, replica), time.Minute)
		}

		// B renewed its lease, then was frozen for 20s: another manager (A)
		// holds it now. Both read the live group, as B's pass does after a
		// lost status write.
		clock := &manualClock{t: time.Now()}
		lease := &RenewalTracker{Interface: &fakeLock{id: "b"}, ValidFor: 10 * time.Second, Now: clock.now}
		Expect(lease.Update(suiteCtx, resourcelock.LeaderElectionRecord{HolderIdentity: "b"})).To(Succeed())
		clock.add(20 * time.Second)
		nodesA, nodesB := &operatorNodes{Client: fakeNodes}, &operatorNodes{Client: fakeNodes}
		a := operator(groupView{Client: k8sClient, key: key}, nodesA, nil)
		b := operator(groupView{Client: k8sClient, key: key}, nodesB, nil)
		b.Leader = lease
		before := getGroup(ns, "ex")

		res, err := b.Reconcile(suiteCtx, ctrl.Request{NamespacedName: key})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.RequeueAfter).To(BeNumerically(">", 0))
		Expect(nodesB.sent).To(BeEmpty(), "the ex-leader sent node commands")
		Expect(getGroup(ns, "ex").ResourceVersion).To(Equal(before.ResourceVersion), "the ex-leader wrote the group")

		// The two race: A's passes and B's alternate until A's failover
		// is complete; B never acts, A promotes exactly one replica.
		Eventually(func(g Gomega) {
			_, err := a.Reconcile(suiteCtx, ctrl.Request{NamespacedName: key})
			g.Expect(err).NotTo(HaveOccurred())
			_, err = b.Reconcile(suiteCtx, ctrl.Request{NamespacedName: key})
			g.Expect(err).NotTo(HaveOccurred())
			rg := getGroup(ns, "ex")
			g.Expect(rg.Status.CurrentMaster).To(BeElementOf("ex-1", "ex-2"))
			g.Expect(rg.Status.TargetMaster).To(Equal(rg.Status.CurrentMaster))
		}, eventually, poll).Should(Succeed())
		Expect(nodesB.sent).To(BeEmpty(), "the ex-leader sent node commands during the race")
		rg = getGroup(ns, "ex")
		Expect(rg.Status.FailoverEpoch).To(BeNumerically(">", before.Status.FailoverEpoch))
		masters := 0
		for _, name := range []string{"ex-1", "ex-2"} {
			n, _ := fakeNodes.Node(memberAddr(ns, name))
			if n.Role == "master" {
				masters++
				Expect(name).To(Equal(rg.Status.CurrentMaster))
			}
			Expect(n.Epoch).To(Equal(rg.Status.FailoverEpoch), "%s knows A's epoch", name)
		}
		Expect(masters).To(Equal(1))
	})
})

var _ = Describe("A group whose status is behind its members' failover epoch", func() {
	It("catches the status up and still fails over", func() {
		ns := admissionNamespace("behind")
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "bh", Namespace: ns}}
		rg.Spec.Replicas = ptr.To[int32](2)
		rg.Spec.Failover.MasterDownAfter = &metav1.Duration{Duration: 2 * time.Second}
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
		expectRunning(ns, "bh", 2)
		// The members remember epoch 40 from before the group's status was
		// lost (a restore from a backup without status).
		for _, name := range []string{"bh-0", "bh-1", "bh-2"} {
			fakeNodes.SetEpoch(memberAddr(ns, name), 40)
		}
		Expect(getGroup(ns, "bh").Status.FailoverEpoch).To(BeNumerically("<", 40))
		fakeNodes.SetReachable(memberAddr(ns, "bh-0"), false)
		Eventually(func(g Gomega) {
			rg := getGroup(ns, "bh")
			g.Expect(rg.Status.CurrentMaster).To(BeElementOf("bh-1", "bh-2"))
			g.Expect(rg.Status.TargetMaster).To(Equal(rg.Status.CurrentMaster))
			g.Expect(rg.Status.FailoverEpoch).To(BeNumerically(">", 40))
		}, eventually, poll).Should(Succeed())
		rg = getGroup(ns, "bh")
		for _, name := range []string{"bh-1", "bh-2"} {
			n, _ := fakeNodes.Node(memberAddr(ns, name))
			Expect(n.Epoch).To(Equal(rg.Status.FailoverEpoch), name)
		}
	})
})

// TestTouchesNodes checks which plans take a new failover epoch: any with a
// node command or pod deletion, or an action kind it does not know.
func TestTouchesNodes(t *testing.T) {
	act := func(k failover.ActionKind) failover.Action {
		return failover.Action{Kind: k, Member: "g-1", Target: "g-1"}
	}
	cases := []struct {
		name string
		plan []failover.Action
		want bool
	}{
		{"nothing", nil, false},
		// Moving the master label routes clients: fenced too (finding 11).
		{"adopt a master", []failover.Action{act(failover.ActSetTargetMaster), act(failover.ActVerifyRole), act(failover.ActMoveMasterLabel), act(failover.ActSetCurrentMaster)}, true},
		{"record only", []failover.Action{act(failover.ActSetTargetMaster), act(failover.ActVerifyRole), act(failover.ActSetCurrentMaster)}, false},
		{"fenced member rejoined", []failover.Action{act(failover.ActClearFenced), act(failover.ActEvent)}, false},
		{"failover", []failover.Action{act(failover.ActSetTargetMaster), act(failover.ActPauseWrites), act(failover.ActPromote)}, true},
		{"abandon", []failover.Action{act(failover.ActUnpause), act(failover.ActClearTargetMaster), act(failover.ActEvent)}, true},
		{"fence by deletion", []failover.Action{act(failover.ActDeletePod), act(failover.ActMarkFenced)}, true},
		{"demote", []failover.Action{act(failover.ActReplicaOf)}, true},
		{"unknown kind", []failover.Action{act("SomethingNew")}, true},
	}
	for _, tc := range cases {
		if got := touchesNodes(tc.plan); got != tc.want {
			t.Errorf("%s: touchesNodes = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Review finding 11: the topology's pod deletions and label moves were not
// fenced, so an operator paused past its lease could wake up and roll a
// pod, or move the master label, from its stale copy. They now take the
// failover epoch first, with the optimistic status write.
var _ = Describe("A stale operator's topology", func() {
	It("deletes no pod once the group changed since it read it", func() {
		ns := admissionNamespace("staletopo")
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "topo", Namespace: ns}}
		rg.Spec.Replicas = ptr.To[int32](1)
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
		expectRunning(ns, "topo", 1)
		key := keepSuiteManagerOut(ns, "topo")
		// B read the group when its spec asked for another image: its
		// topology wants to roll the replica.
		stale := getGroup(ns, "topo")
		stale.Spec.Image = "replnode:next"
		// Meanwhile the group moved on (another operator's pass).
		live := getGroup(ns, "topo")
		live.Status.FailoverEpoch++
		Expect(k8sClient.Status().Update(suiteCtx, live)).To(Succeed())

		var before corev1.PodList
		Expect(k8sClient.List(suiteCtx, &before, client.InNamespace(ns))).To(Succeed())
		b := operator(groupView{Client: k8sClient, key: key, frozen: stale}, &operatorNodes{Client: fakeNodes}, nil)
		res, err := b.Reconcile(suiteCtx, ctrl.Request{NamespacedName: key})
		Expect(err).NotTo(HaveOccurred(), "a lost status write is a requeue")
		Expect(res.RequeueAfter).To(BeNumerically(">", 0))
		var after corev1.PodList
		Expect(k8sClient.List(suiteCtx, &after, client.InNamespace(ns))).To(Succeed())
		Expect(after.Items).To(HaveLen(len(before.Items)))
		for _, p := range after.Items {
			Expect(p.DeletionTimestamp).To(BeNil(), "the stale operator deleted %s", p.Name)
		}
		Expect(getGroup(ns, "topo").Status.FailoverEpoch).To(Equal(live.Status.FailoverEpoch), "B stored nothing")
	})
})
