package controllers

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

// ------ SCALE SUBRESOURCE, BUDGETS AND DRAINS (envtest) ------
//
// envtest runs no disruption controller and no scheduler: the scale
// subresource is exercised through the API, the budgets are checked as the
// objects the operator writes, and pods are bound to nodes with the binding
// subresource as the scheduler would.

// bindPod binds a member pod to a node, as the scheduler does.
func bindPod(ns, pod, node string) {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: pod}}
	binding := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: pod},
		Target: corev1.ObjectReference{Kind: "Node", Name: node}}
	Expect(k8sClient.SubResource("binding").Create(suiteCtx, p, binding)).To(Succeed())
}

// getPDB fetches a budget.
func getPDB(g Gomega, ns, name string) *policyv1.PodDisruptionBudget {
	pdb := &policyv1.PodDisruptionBudget{}
	g.Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: name}, pdb)).To(Succeed())
	return pdb
}

var _ = Describe("Scale subresource and disruption budgets", func() {
	var ns string
	BeforeEach(func() { ns = admissionNamespace("scale") })

	It("scales through the scale subresource and keeps the budgets' numbers right", func() {
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "sc", Namespace: ns}}
		rg.Spec.Replicas = ptr.To[int32](2)
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
		expectRunning(ns, "sc", 2)
		rg = getGroup(ns, "sc")

		scale := &autoscalingv1.Scale{}
		Expect(k8sClient.SubResource("scale").Get(suiteCtx, rg, scale)).To(Succeed())
		Expect(scale.Spec.Replicas).To(Equal(int32(2)), "spec.replicas counts the replicas besides the master")
		Expect(scale.Status.Replicas).To(Equal(int32(2)))
		sel, err := labels.Parse(scale.Status.Selector)
		Expect(err).NotTo(HaveOccurred())
		var pods corev1.PodList
		Expect(k8sClient.List(suiteCtx, &pods)).To(Succeed())
		selected := 0
		for _, p := range pods.Items {
			if sel.Matches(labels.Set(p.Labels)) {
				selected++
				Expect(p.Namespace).To(Equal(ns))
			}
		}
		Expect(selected).To(Equal(3), "status.selector %q must select the group's pods", scale.Status.Selector)

		Eventually(func(g Gomega) {
			replicas, master := getPDB(g, ns, "sc"), getPDB(g, ns, "sc-master")
			g.Expect(replicas.Spec.MaxUnavailable).To(BeNil())
			g.Expect(replicas.Spec.MinAvailable.IntValue()).To(Equal(1))
			g.Expect(replicas.Spec.Selector.MatchLabels).To(HaveKeyWithValue(labelRole, roleReplica))
			g.Expect(master.Spec.MinAvailable.IntValue()).To(Equal(1))
			g.Expect(master.Spec.Selector.MatchLabels).To(HaveKeyWithValue(labelRole, roleMaster))
			expectOwned(replicas, rg)
			expectOwned(master, rg)
		}, eventually, poll).Should(Succeed())

		By("kubectl scale rg/sc --replicas=3")
		scale.Spec.Replicas = 3
		Expect(k8sClient.SubResource("scale").Update(suiteCtx, rg, client.WithSubResourceBody(scale))).To(Succeed())
		Expect(*getGroup(ns, "sc").Spec.Replicas).To(Equal(int32(3)))
		expectRunning(ns, "sc", 3)
		Eventually(func(g Gomega) {
			g.Expect(getPDB(g, ns, "sc").Spec.MinAvailable.IntValue()).To(Equal(2))
		}, eventually, poll).Should(Succeed())
		Expect(groupPods(ns, "sc")).To(HaveLen(4))
	})

	It("switches the master off a cordoned node and does not switch back onto it", func() {
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "dr", Namespace: ns}}
		rg.Spec.Replicas = ptr.To[int32](2)
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
		expectRunning(ns, "dr", 2)
		Expect(getGroup(ns, "dr").Status.CurrentMaster).To(Equal("dr-0"))
		for i := range 3 {
			node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-node-%d", ns, i)}}
			Expect(k8sClient.Create(suiteCtx, node)).To(Succeed())
			DeferCleanup(func() { _ = k8sClient.Delete(suiteCtx, node) })
			bindPod(ns, fmt.Sprintf("dr-%d", i), node.Name)
		}

		By("cordoning a replica's node: nothing moves")
		cordon := func(name string) {
			node := &corev1.Node{}
			Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Name: name}, node)).To(Succeed())
			node.Spec.Unschedulable = true
			Expect(k8sClient.Update(suiteCtx, node)).To(Succeed())
		}
		cordon(ns + "-node-2")
		Consistently(func() string { return getGroup(ns, "dr").Status.CurrentMaster }, "3s", poll).Should(Equal("dr-0"))

		By("cordoning the master's node: the master moves to the replica on the schedulable node")
		// The pin says dr-0; it must not pull the master back onto the node being drained.
		rg = updateGroup(ns, "dr", func(rg *replnodev1alpha1.ReplicationGroup) {
			rg.Spec.Master = "dr-0"
		})
		cordon(ns + "-node-0")
		Eventually(func(g Gomega) {
			rg := getGroup(ns, "dr")
			g.Expect(rg.Status.CurrentMaster).To(Equal("dr-1"))
			g.Expect(rg.Status.Switchover).To(BeNil())
			g.Expect(rg.Status.LastFailover).NotTo(BeNil())
			g.Expect(rg.Status.LastFailover.From).To(Equal("dr-0"))
		}, eventually, poll).Should(Succeed())
		Eventually(func(g Gomega) {
			for name, role := range map[string]string{"dr-0": roleReplica, "dr-1": roleMaster, "dr-2": roleReplica} {
				pod := &corev1.Pod{}
				g.Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: name}, pod)).To(Succeed())
				g.Expect(pod.Labels[labelRole]).To(Equal(role), name)
			}
		}, eventually, poll).Should(Succeed())
		expectRunning(ns, "dr", 2)
		Consistently(func() string { return getGroup(ns, "dr").Status.CurrentMaster }, "4s", poll).Should(Equal("dr-1"))
		addr, err := kubelet.addrOf(suiteCtx, ns, "dr-0")
		Expect(err).NotTo(HaveOccurred())
		old, _ := fakeNodes.Node(addr)
		Expect(old.Role).To(Equal("slave"))
		Expect(old.PausedFor).To(BeZero(), "the old master was left paused")
	})
})
