package controllers

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

// ------ SELF-HEALING (envtest) ------

// crashLoop makes the fake kubelet's pod look like a server that exits on
// start: its node stops answering and its status reports CrashLoopBackOff
// with the log tail as termination message, as the kubelet does with
// terminationMessagePolicy FallbackToLogsOnError.
func crashLoop(ns, name, log string) {
	addr, err := kubelet.addrOf(suiteCtx, ns, name)
	Expect(err).NotTo(HaveOccurred())
	fakeNodes.SetReachable(addr, false)
	Eventually(func(g Gomega) {
		pod := &corev1.Pod{}
		g.Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: name}, pod)).To(Succeed())
		pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{
			Name: containerName, RestartCount: 3,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", Message: log}},
		}}
		g.Expect(k8sClient.Status().Update(suiteCtx, pod)).To(Succeed())
	}, eventually, poll).Should(Succeed())
}

var _ = Describe("Self-healing", func() {
	var ns string
	BeforeEach(func() { ns = admissionNamespace("heal") })

	It("reports a crash-looping member's last error and replaces it at once when the spec changes", func() {
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "heal", Namespace: ns}}
		rg.Spec.Replicas = ptr.To[int32](2)
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
		expectRunning(ns, "heal", 2)
		pod := &corev1.Pod{}
		Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: "heal-2"}, pod)).To(Succeed())
		Expect(pod.Spec.Containers[0].TerminationMessagePolicy).To(Equal(corev1.TerminationMessageFallbackToLogsOnError))
		brokenUID := pod.UID

		By("a replica crash-loops: the condition carries the node's last error")
		crashLoop(ns, "heal-2", redisConfigError)
		Eventually(func(g Gomega) {
			c := meta.FindStatusCondition(getGroup(ns, "heal").Status.Conditions, replnodev1alpha1.ConditionMemberFailing)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(c.Message).To(Equal("heal-2: CrashLoopBackOff (exit code 1, 3 restarts): >>> 'maxmemory lots' argument must be a memory value"))
		}, eventually, poll).Should(Succeed())

		By("the spec changes: the broken replica on the old template is replaced without waiting for it")
		rg = updateGroup(ns, "heal", func(rg *replnodev1alpha1.ReplicationGroup) {
			rg.Spec.Config = map[string]replnodev1alpha1.ConfigValue{"maxmemory": "20mb"}
		})
		Eventually(func(g Gomega) {
			p := &corev1.Pod{}
			g.Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: "heal-2"}, p)).To(Succeed())
			g.Expect(p.UID).NotTo(Equal(brokenUID))
		}, eventually, poll).Should(Succeed())
		expectRunning(ns, "heal", 2)
		Eventually(func(g Gomega) {
			rg := getGroup(ns, "heal")
			g.Expect(conditionStatus(rg, replnodev1alpha1.ConditionMemberFailing)).To(Equal(metav1.ConditionFalse))
			hash := ""
			for _, name := range []string{"heal-0", "heal-1", "heal-2"} {
				p := &corev1.Pod{}
				g.Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: name}, p)).To(Succeed())
				if hash == "" {
					hash = p.Annotations[annotationTemplateHash]
				}
				g.Expect(p.Annotations[annotationTemplateHash]).To(Equal(hash), "%s is not on the new template", name)
			}
			g.Expect(rg.Status.Phase).To(Equal(replnodev1alpha1.PhaseRunning))
		}, eventually, poll).Should(Succeed())
	})

	It("replaces broken replicas on an outdated template one at a time", func() {
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "heal1", Namespace: ns}}
		rg.Spec.Replicas = ptr.To[int32](2)
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
		expectRunning(ns, "heal1", 2)
		uid := func(g Gomega, name string) types.UID {
			p := &corev1.Pod{}
			g.Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: name}, p)).To(Succeed())
			return p.UID
		}
		first, second := uid(Default, "heal1-1"), uid(Default, "heal1-2")

		By("both replicas crash-loop; the first replacement will not become ready until released")
		crashLoop(ns, "heal1-1", redisConfigError)
		crashLoop(ns, "heal1-2", redisConfigError)
		kubelet.mu.Lock()
		kubelet.hold[ns+"/heal1-2"] = true
		kubelet.mu.Unlock()
		DeferCleanup(func() {
			kubelet.mu.Lock()
			delete(kubelet.hold, ns+"/heal1-2")
			kubelet.mu.Unlock()
		})
		updateGroup(ns, "heal1", func(rg *replnodev1alpha1.ReplicationGroup) {
			rg.Spec.Config = map[string]replnodev1alpha1.ConfigValue{"maxmemory": "20mb"}
		})
		Eventually(func(g Gomega) { g.Expect(uid(g, "heal1-2")).NotTo(Equal(second)) }, eventually, poll).Should(Succeed())

		By("while that replacement is not ready, the other broken replica is left alone")
		Consistently(func(g Gomega) {
			p := &corev1.Pod{}
			g.Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: "heal1-1"}, p)).To(Succeed())
			g.Expect(p.UID).To(Equal(first), "heal1-1 was replaced while heal1-2's replacement was not ready")
			g.Expect(p.DeletionTimestamp).To(BeNil(), "heal1-1 is being deleted while heal1-2's replacement is not ready")
		}, "6s", poll).Should(Succeed())

		By("once it is ready, the next one is replaced")
		kubelet.mu.Lock()
		delete(kubelet.hold, ns+"/heal1-2")
		kubelet.mu.Unlock()
		Eventually(func(g Gomega) { g.Expect(uid(g, "heal1-1")).NotTo(Equal(first)) }, eventually, poll).Should(Succeed())
		expectRunning(ns, "heal1", 2)
	})
})
