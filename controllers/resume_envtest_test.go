package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers/nodeclient"
)

// ------ AN OPERATOR REPLACED MID-FAILOVER (envtest, fake nodes) ------
//
// A helm upgrade of the operator (or its pod's eviction) stops it anywhere
// in a failover; the new one knows only what the group's status holds
// (targetMaster, currentMaster, failoverEpoch, fencedMembers, lastFailover)
// and what the nodes answer. These specs stop an operator after its k-th
// write (API or node), for k = 1, 2, ..., each time starting a fresh
// operator with no memory, until one completes the failover, and check the
// failover completes with one promotion, towards the first target chosen,
// and is never rolled back.

// errOperatorStopped is what every write of a stopped operator returns.
var errOperatorStopped = errors.New("operator stopped (test)")

// writeBudget counts an operator's writes and stops it at the limit.
type writeBudget struct {
	mu      sync.Mutex
	left    int
	stopped bool
	// promotions are the REPLICAOF NO ONE the nodes accepted, by address.
	promotions []string
}

// spend takes one write; false once the operator is stopped.
func (b *writeBudget) spend() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.left <= 0 {
		b.stopped = true
		return false
	}
	b.left--
	return true
}

// stoppingClient is an operator's API client that stops writing once its
// budget is spent.
type stoppingClient struct {
	client.Client
	budget *writeBudget
}

func (c stoppingClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	if !c.budget.spend() {
		return errOperatorStopped
	}
	return c.Client.Create(ctx, obj, opts...)
}
func (c stoppingClient) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	if !c.budget.spend() {
		return errOperatorStopped
	}
	return c.Client.Update(ctx, obj, opts...)
}
func (c stoppingClient) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	if !c.budget.spend() {
		return errOperatorStopped
	}
	return c.Client.Patch(ctx, obj, patch, opts...)
}
func (c stoppingClient) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	if !c.budget.spend() {
		return errOperatorStopped
	}
	return c.Client.Delete(ctx, obj, opts...)
}
func (c stoppingClient) Status() client.SubResourceWriter {
	return stoppingStatus{SubResourceWriter: c.Client.Status(), budget: c.budget}
}

// stoppingStatus is stoppingClient's status writer.
type stoppingStatus struct {
	client.SubResourceWriter
	budget *writeBudget
}

func (s stoppingStatus) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	if !s.budget.spend() {
		return errOperatorStopped
	}
	return s.SubResourceWriter.Update(ctx, obj, opts...)
}
func (s stoppingStatus) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	if !s.budget.spend() {
		return errOperatorStopped
	}
	return s.SubResourceWriter.Patch(ctx, obj, patch, opts...)
}

// stoppingNodes is an operator's node client that stops sending mutating
// commands once its budget is spent, and records accepted promotions.
type stoppingNodes struct {
	nodeclient.Client
	budget *writeBudget
}

func (n stoppingNodes) ReplicaOf(ctx context.Context, node nodeclient.Node, host string, port int) error {
	if !n.budget.spend() {
		return errOperatorStopped
	}
	err := n.Client.ReplicaOf(ctx, node, host, port)
	if err == nil && host == "" {
		n.budget.mu.Lock()
		n.budget.promotions = append(n.budget.promotions, node.Addr)
		n.budget.mu.Unlock()
	}
	return err
}
func (n stoppingNodes) ConfigSet(ctx context.Context, node nodeclient.Node, p, v string) error {
	if !n.budget.spend() {
		return errOperatorStopped
	}
	return n.Client.ConfigSet(ctx, node, p, v)
}
func (n stoppingNodes) ClientPause(ctx context.Context, node nodeclient.Node, d time.Duration) error {
	if !n.budget.spend() {
		return errOperatorStopped
	}
	return n.Client.ClientPause(ctx, node, d)
}
func (n stoppingNodes) ClientUnpause(ctx context.Context, node nodeclient.Node) error {
	if !n.budget.spend() {
		return errOperatorStopped
	}
	return n.Client.ClientUnpause(ctx, node)
}
func (n stoppingNodes) PushEpoch(ctx context.Context, node nodeclient.Node) error {
	if !n.budget.spend() {
		return errOperatorStopped
	}
	return n.Client.PushEpoch(ctx, node)
}
func (n stoppingNodes) ClientKillNormal(ctx context.Context, node nodeclient.Node) error {
	if !n.budget.spend() {
		return errOperatorStopped
	}
	return n.Client.ClientKillNormal(ctx, node)
}

var _ = Describe("An operator replaced mid-failover", func() {
	DescribeTable("is resumed from the stored status by a fresh operator, with one promotion and no rollback",
		func(switchover bool) {
			ns := admissionNamespace("resume")
			rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: ns}}
			rg.Spec.Replicas = ptr.To[int32](2)
			rg.Spec.Failover.MasterDownAfter = &metav1.Duration{Duration: time.Second}
			Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
			expectRunning(ns, "rs", 2)
			key := keepSuiteManagerOut(ns, "rs")
			Expect(getGroup(ns, "rs").Status.CurrentMaster).To(Equal("rs-0"))

			addrs := map[string]string{}
			for _, name := range []string{"rs-0", "rs-1", "rs-2"} {
				addrs[memberAddr(ns, name)] = name
			}
			want := ""
			if switchover {
				// A planned switchover to rs-2.
				want = "rs-2"
				updateGroup(ns, "rs", func(rg *replnodev1alpha1.ReplicationGroup) { rg.Spec.Master = want })
			} else {
				// The master is cut off; its replicas have not heard from it.
				for addr, name := range addrs {
					if name == "rs-0" {
						fakeNodes.SetReachable(addr, false)
					} else {
						fakeNodes.SetMasterSilence(addr, time.Minute)
					}
				}
			}

			var promotions []string
			target := ""
			completed := false
			for k := 1; k <= 200 && !completed; k++ {
				// A fresh operator: no memory but the group's status and
				// what the nodes answer.
				budget := &writeBudget{left: k}
				op := &ReplicationGroupReconciler{
					Client: stoppingClient{Client: groupView{Client: k8sClient, key: key}, budget: budget},
					Scheme: testScheme, Nodes: stoppingNodes{Client: fakeNodes, budget: budget},
					Now: func() time.Time { return time.Now().Add(time.Minute) },
				}
				for pass := 0; pass < 10 && !budget.stopped; pass++ {
					_, _ = op.Reconcile(suiteCtx, ctrl.Request{NamespacedName: key})
					st := getGroup(ns, "rs").Status
					if st.TargetMaster != "rs-0" {
						if target == "" {
							target = st.TargetMaster
							Expect(target).To(BeElementOf("rs-1", "rs-2"))
							if want != "" {
								Expect(target).To(Equal(want))
							}
						}
						Expect(st.TargetMaster).To(Equal(target), "operator %d changed the target: the master change was rolled back or abandoned", k)
					}
					Expect(st.CurrentMaster).To(BeElementOf("rs-0", target), "operator %d", k)
					if completed {
						Expect(st.CurrentMaster).To(Equal(target), "operator %d moved the master back", k)
					}
					if st.CurrentMaster == target && st.TargetMaster == target && target != "" && st.Switchover == nil {
						completed = true
					}
				}
				promotions = append(promotions, budget.promotions...)
				st := getGroup(ns, "rs").Status
				GinkgoWriter.Printf("operator stopped after %d writes: status target %s current %s epoch %d switchover %+v, promotions so far %v\n",
					k, st.TargetMaster, st.CurrentMaster, st.FailoverEpoch, st.Switchover, promotions)
			}
			Expect(completed).To(BeTrue(), "no operator completed the master change")
			Expect(promotions).To(HaveLen(1), "promotions %v: a resumed master change promoted again", promotions)
			Expect(addrs[promotions[0]]).To(Equal(target))

			By("the nodes agree: one master, the target, followed by the other replicas")
			targetAddr := memberAddr(ns, target)
			for addr, name := range addrs {
				n, _ := fakeNodes.Node(addr)
				if name == target {
					Expect(n.Role).To(Equal("master"))
					Expect(n.PausedFor).To(BeZero(), "the new master is paused")
					continue
				}
				if name == "rs-0" && !switchover {
					continue // cut off: fenced, its pod replaced
				}
				Expect(n.Role).To(Equal("slave"), name)
				Expect(fmt.Sprintf("%s:%d", n.MasterHost, n.MasterPort)).To(Equal(targetAddr), "%s follows the new master", name)
				Expect(n.PausedFor).To(BeZero(), "%s is left paused", name)
			}
			rec := getGroup(ns, "rs").Status.LastFailover
			Expect(rec).NotTo(BeNil())
			Expect(rec.From).To(Equal("rs-0"))
			Expect(rec.To).To(Equal(target))
		},
		Entry("failover of a cut-off master", false),
		Entry("planned switchover", true),
	)
})
