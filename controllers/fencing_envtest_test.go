package controllers

import (
	"net"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

// ------ FENCING BY HAND (envtest) ------

var _ = Describe("Fencing by hand", func() {
	var ns string
	BeforeEach(func() { ns = admissionNamespace("fence") })

	podRole := func(g Gomega, name string) string {
		pod := &corev1.Pod{}
		g.Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: name}, pod)).To(Succeed())
		return pod.Labels[labelRole]
	}
	// The operator's own writes race a plain read-modify-write of the
	// group: updateGroup retries on a conflict.
	annotate := func(value string) {
		updateGroup(ns, "fe", func(rg *replnodev1alpha1.ReplicationGroup) {
			if rg.Annotations == nil {
				rg.Annotations = map[string]string{}
			}
			if value == "" {
				delete(rg.Annotations, replnodev1alpha1.AnnotationFencedInstances)
			} else {
				rg.Annotations[replnodev1alpha1.AnnotationFencedInstances] = value
			}
		})
	}

	It("takes a fenced replica out of service, never makes it master, refuses the master and unfences", func() {
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "fe", Namespace: ns}}
		rg.Spec.Replicas = ptr.To[int32](2)
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
		expectRunning(ns, "fe", 2)

		annotate(`["fe-2"]`)
		Eventually(func(g Gomega) {
			g.Expect(podRole(g, "fe-2")).To(Equal(roleFenced))
			c := meta.FindStatusCondition(getGroup(ns, "fe").Status.Conditions, replnodev1alpha1.ConditionMembersFenced)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(c.Message).To(ContainSubstring("fe-2"))
		}, eventually, poll).Should(Succeed())
		svc := &corev1.Service{}
		Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: "fe-replicas"}, svc)).To(Succeed())
		Expect(svc.Spec.Selector).To(HaveKeyWithValue(labelRole, roleReplica), "the replicas Service must not select the fenced role")

		By("spec.master naming the fenced member is not acted on")
		rg = updateGroup(ns, "fe", func(rg *replnodev1alpha1.ReplicationGroup) {
			rg.Spec.Master = "fe-2"
		})
		Consistently(func(g Gomega) {
			g.Expect(getGroup(ns, "fe").Status.CurrentMaster).To(Equal("fe-0"))
			g.Expect(podRole(g, "fe-2")).To(Equal(roleFenced))
		}, "4s", poll).Should(Succeed())

		By("the master cannot be fenced")
		annotate(`["fe-0","fe-2"]`)
		Eventually(func(g Gomega) {
			c := meta.FindStatusCondition(getGroup(ns, "fe").Status.Conditions, replnodev1alpha1.ConditionMembersFenced)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal("MasterNotFenced"))
		}, eventually, poll).Should(Succeed())
		Consistently(func(g Gomega) { g.Expect(podRole(g, "fe-0")).To(Equal(roleMaster)) }, "2s", poll).Should(Succeed())

		By("unfenced, it is a replica again and the pending switchover to it goes ahead")
		annotate("")
		Eventually(func(g Gomega) {
			rg := getGroup(ns, "fe")
			g.Expect(rg.Status.CurrentMaster).To(Equal("fe-2"))
			g.Expect(conditionStatus(rg, replnodev1alpha1.ConditionMembersFenced)).To(Equal(metav1.ConditionFalse))
			g.Expect(podRole(g, "fe-2")).To(Equal(roleMaster))
			g.Expect(podRole(g, "fe-0")).To(Equal(roleReplica))
		}, eventually, poll).Should(Succeed())
		expectRunning(ns, "fe", 2)
	})

	// Review finding 3: a fenced replica was hidden from the failover
	// policy while it still counted in N, so with two replicas and
	// min-replicas-to-write 1 a cut-off master was never replaced.
	It("counts a running fenced replica's vote and repoints it, and waits for a stopped one", func() {
		for _, stopped := range []bool{false, true} {
			name := "fv"
			if stopped {
				name = "fs"
			}
			rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
				Annotations: map[string]string{replnodev1alpha1.AnnotationFencedInstances: `["` + name + `-2"]`}}}
			rg.Spec.Replicas = ptr.To[int32](2)
			rg.Spec.Failover.MasterDownAfter = &metav1.Duration{Duration: time.Second}
			Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
			Eventually(func(g Gomega) {
				rg := getGroup(ns, name)
				g.Expect(rg.Status.CurrentMaster).To(Equal(name + "-0"))
				pod := &corev1.Pod{}
				g.Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: name + "-2"}, pod)).To(Succeed())
				g.Expect(pod.Labels[labelRole]).To(Equal(roleFenced))
				g.Expect(pod.Status.PodIP).NotTo(BeEmpty())
				p1 := &corev1.Pod{}
				g.Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: name + "-1"}, p1)).To(Succeed())
				g.Expect(p1.Status.PodIP).NotTo(BeEmpty())
			}, eventually, poll).Should(Succeed())
			addr := func(member string) string {
				a, err := kubelet.addrOf(suiteCtx, ns, member)
				Expect(err).NotTo(HaveOccurred())
				return a
			}
			fenced := addr(name + "-2")
			if stopped {
				fakeNodes.SetReachable(fenced, false)
			} else {
				fakeNodes.SetMasterSilence(fenced, time.Minute)
			}
			fakeNodes.SetMasterSilence(addr(name+"-1"), time.Minute)
			fakeNodes.SetReachable(addr(name+"-0"), false)

			if stopped {
				By("a stopped fenced replica gives no vote: the cut-off master is not replaced")
				Consistently(func(g Gomega) {
					g.Expect(getGroup(ns, name).Status.TargetMaster).To(Equal(name + "-0"))
				}, "8s", poll).Should(Succeed())
				continue
			}
			By("a running fenced replica votes: the other replica is promoted and the fenced one follows it")
			Eventually(func(g Gomega) {
				rg := getGroup(ns, name)
				g.Expect(rg.Status.CurrentMaster).To(Equal(name + "-1"))
				n, _ := fakeNodes.Node(fenced)
				g.Expect(n.Role).To(Equal("slave"))
				g.Expect(net.JoinHostPort(n.MasterHost, strconv.Itoa(n.MasterPort))).To(Equal(addr(name + "-1")))
			}, eventually, poll).Should(Succeed())
			pod := &corev1.Pod{}
			Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: name + "-2"}, pod)).To(Succeed())
			Expect(pod.Labels[labelRole]).To(Equal(roleFenced), "still fenced: out of service")
		}
	})
})
