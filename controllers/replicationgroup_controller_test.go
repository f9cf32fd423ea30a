package controllers

import (
	"fmt"
	"k8s.io/client-go/util/retry"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

// ------ RECONCILER LIFECYCLE (envtest, fake nodes, fake kubelet) ------

// Generous limits: the machine is shared and slow.
const (
	eventually = 90 * time.Second
	poll       = 200 * time.Millisecond
)

// getGroup fetches the group's latest state.
func getGroup(ns, name string) *replnodev1alpha1.ReplicationGroup {
	rg := &replnodev1alpha1.ReplicationGroup{}
	Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: name}, rg)).To(Succeed())
	return rg
}

// updateGroup applies change to the group's latest version and retries on a
// conflict: the operator's status writes bump the object's resourceVersion
// between any read and write of the spec.
func updateGroup(ns, name string, change func(*replnodev1alpha1.ReplicationGroup)) *replnodev1alpha1.ReplicationGroup {
	var rg *replnodev1alpha1.ReplicationGroup
	Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		rg = getGroup(ns, name)
		change(rg)
		return k8sClient.Update(suiteCtx, rg)
	})).To(Succeed())
	return rg
}

// groupPods returns the names of the group's pods that are not being deleted.
func groupPods(ns, name string) []string {
	var pods corev1.PodList
	Expect(k8sClient.List(suiteCtx, &pods, client.InNamespace(ns), client.MatchingLabels{labelGroup: name})).To(Succeed())
	var names []string
	for _, p := range pods.Items {
		if p.DeletionTimestamp.IsZero() {
			names = append(names, p.Name)
		}
	}
	return names
}

// conditionStatus returns the status of a condition ("" when absent).
func conditionStatus(rg *replnodev1alpha1.ReplicationGroup, t string) metav1.ConditionStatus {
	if c := meta.FindStatusCondition(rg.Status.Conditions, t); c != nil {
		return c.Status
	}
	return ""
}

// expectRunning waits until the group is Running with the given master and replicas.
func expectRunning(ns, name string, replicas int) {
	Eventually(func(g Gomega) {
		rg := getGroup(ns, name)
		g.Expect(rg.Status.CurrentMaster).NotTo(BeEmpty())
		g.Expect(rg.Status.Phase).To(Equal(replnodev1alpha1.PhaseRunning), "status: %+v", rg.Status)
		g.Expect(rg.Status.Replicas).To(Equal(fmt.Sprintf("%d/%d", replicas, replicas)))
		g.Expect(conditionStatus(rg, replnodev1alpha1.ConditionReady)).To(Equal(metav1.ConditionTrue))
		g.Expect(rg.Status.Members).To(HaveLen(replicas + 1))
		g.Expect(rg.Status.ObservedGeneration).To(Equal(rg.Generation))
	}, eventually, poll).Should(Succeed())
}

// expectOwned checks obj is controlled by rg, so deleting rg garbage-collects it.
func expectOwned(obj client.Object, rg *replnodev1alpha1.ReplicationGroup) {
	ref := metav1.GetControllerOf(obj)
	Expect(ref).NotTo(BeNil(), "%T %s has no controller reference", obj, obj.GetName())
	Expect(ref.UID).To(Equal(rg.UID))
	Expect(ref.Kind).To(Equal("ReplicationGroup"))
	Expect(ref.BlockOwnerDeletion).To(HaveValue(BeTrue()))
}

var _ = Describe("ReplicationGroup reconciler", func() {
	var ns string
	BeforeEach(func() { ns = admissionNamespace("rg") })

	It("creates the master, replicas, Services, ConfigMap and PDB, and reports Running", func() {
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "cache", Namespace: ns}}
		rg.Spec.Replicas = ptr.To[int32](2)
		rg.Spec.Config = map[string]replnodev1alpha1.ConfigValue{"maxmemory": "10mb"}
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())

		expectRunning(ns, "cache", 2)
		rg = getGroup(ns, "cache")
		Expect(rg.Status.CurrentMaster).To(Equal("cache-0"))
		Expect(rg.Status.TargetMaster).To(Equal("cache-0"))
		Expect(rg.Status.MasterService).To(Equal("cache-master"))
		Expect(rg.Status.ReplicaService).To(Equal("cache-replicas"))
		Expect(conditionStatus(rg, replnodev1alpha1.ConditionAvailable)).To(Equal(metav1.ConditionTrue))
		Expect(conditionStatus(rg, replnodev1alpha1.ConditionReplicasInSync)).To(Equal(metav1.ConditionTrue))
		Expect(conditionStatus(rg, replnodev1alpha1.ConditionDegraded)).To(Equal(metav1.ConditionFalse))
		Expect(conditionStatus(rg, replnodev1alpha1.ConditionSecretMissing)).To(Equal(metav1.ConditionFalse))
		Expect(groupPods(ns, "cache")).To(ConsistOf("cache-0", "cache-1", "cache-2"))

		for _, m := range rg.Status.Members {
			Expect(m.Ready).To(BeTrue())
			if m.Name == "cache-0" {
				Expect(m.Role).To(Equal("master"))
			} else {
				Expect(m.Role).To(Equal("replica"))
				Expect(m.LinkStatus).To(Equal("up"))
			}
		}

		Eventually(func(g Gomega) {
			for _, name := range []string{"cache-0", "cache-1", "cache-2"} {
				pod := &corev1.Pod{}
				g.Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: name}, pod)).To(Succeed())
				want := roleReplica
				if name == "cache-0" {
					want = roleMaster
				}
				g.Expect(pod.Labels[labelRole]).To(Equal(want), name)
			}
		}, eventually, poll).Should(Succeed())

		master := &corev1.Pod{}
		Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: "cache-0"}, master)).To(Succeed())
		// The first master starts as a replica of its own Service and is
		// promoted by the operator, so a restart never brings it back as master.
		Expect(master.Spec.Containers[0].Args).To(ContainElements("--replicaof", "cache-master."+ns+".svc"))
		replica := &corev1.Pod{}
		Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: "cache-1"}, replica)).To(Succeed())
		Expect(replica.Spec.Containers[0].Args).To(ContainElements("--replicaof", master.Status.PodIP))

		cm := &corev1.ConfigMap{}
		Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: "cache-config"}, cm)).To(Succeed())
		Expect(cm.Data[configFile]).To(ContainSubstring("maxmemory 10mb\n"))
		expectOwned(cm, rg)
		for _, name := range []string{"cache-master", "cache-replicas", "cache"} {
			svc := &corev1.Service{}
			Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: name}, svc)).To(Succeed())
			expectOwned(svc, rg)
		}
		pdb := &policyv1.PodDisruptionBudget{}
		Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: "cache"}, pdb)).To(Succeed())
		expectOwned(pdb, rg)
		for _, name := range []string{"cache-0", "cache-1", "cache-2"} {
			pod := &corev1.Pod{}
			Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: name}, pod)).To(Succeed())
			expectOwned(pod, rg)
		}

		By("deleting the group: every object carries a blocking owner reference for the garbage collector")
		Expect(k8sClient.Delete(suiteCtx, rg)).To(Succeed())
		Eventually(func() bool {
			err := k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(rg), &replnodev1alpha1.ReplicationGroup{})
			return apierrors.IsNotFound(err)
		}, eventually, poll).Should(BeTrue())
	})

	It("creates PVCs when storage is requested and keeps them owned", func() {
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "disk", Namespace: ns}}
		rg.Spec.Replicas = ptr.To[int32](1)
		rg.Spec.Storage = &replnodev1alpha1.StorageSpec{Size: resourceMustParse("1Gi")}
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
		expectRunning(ns, "disk", 1)
		rg = getGroup(ns, "disk")
		for _, name := range []string{"data-disk-0", "data-disk-1"} {
			pvc := &corev1.PersistentVolumeClaim{}
			Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: name}, pvc)).To(Succeed())
			expectOwned(pvc, rg)
		}
	})

	It("scales up and down, never removing the master", func() {
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "scale", Namespace: ns}}
		rg.Spec.Replicas = ptr.To[int32](1)
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
		expectRunning(ns, "scale", 1)

		By("scaling up to 3 replicas")
		rg = updateGroup(ns, "scale", func(rg *replnodev1alpha1.ReplicationGroup) {
			rg.Spec.Replicas = ptr.To[int32](3)
		})
		expectRunning(ns, "scale", 3)
		Expect(groupPods(ns, "scale")).To(ConsistOf("scale-0", "scale-1", "scale-2", "scale-3"))

		By("making scale-1 unreachable, then scaling down to 2: the unreachable replica goes first")
		addr, err := kubelet.addrOf(suiteCtx, ns, "scale-1")
		Expect(err).NotTo(HaveOccurred())
		fakeNodes.SetReachable(addr, false)
		rg = updateGroup(ns, "scale", func(rg *replnodev1alpha1.ReplicationGroup) {
			rg.Spec.Replicas = ptr.To[int32](2)
		})
		Eventually(func() []string { return groupPods(ns, "scale") }, eventually, poll).Should(ConsistOf("scale-0", "scale-2", "scale-3"))
		expectRunning(ns, "scale", 2)

		By("scaling down to 0: only the master remains")
		rg = updateGroup(ns, "scale", func(rg *replnodev1alpha1.ReplicationGroup) {
			rg.Spec.Replicas = ptr.To[int32](0)
		})
		Eventually(func() []string { return groupPods(ns, "scale") }, eventually, poll).Should(ConsistOf("scale-0"))
		Eventually(func(g Gomega) {
			rg := getGroup(ns, "scale")
			g.Expect(rg.Status.CurrentMaster).To(Equal("scale-0"))
			g.Expect(rg.Status.Replicas).To(Equal("0/0"))
			g.Expect(rg.Status.Phase).To(Equal(replnodev1alpha1.PhaseRunning))
		}, eventually, poll).Should(Succeed())
	})

	It("waits for a missing auth Secret, starts when it appears and rotates the password when it changes", func() {
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "auth", Namespace: ns}}
		rg.Spec.Replicas = ptr.To[int32](1)
		rg.Spec.Auth = &replnodev1alpha1.AuthSpec{SecretName: "auth-pw"}
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())

		Eventually(func(g Gomega) {
			rg := getGroup(ns, "auth")
			c := meta.FindStatusCondition(rg.Status.Conditions, replnodev1alpha1.ConditionSecretMissing)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(c.Reason).To(Equal("SecretNotFound"))
			g.Expect(c.Message).To(ContainSubstring(`"auth-pw"`))
			g.Expect(rg.Status.Phase).To(Equal(replnodev1alpha1.PhasePending))
		}, eventually, poll).Should(Succeed())
		Consistently(func() []string { return groupPods(ns, "auth") }, 2*time.Second, poll).Should(BeEmpty())

		By("creating the Secret")
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "auth-pw", Namespace: ns},
			Data:       map[string][]byte{"password": []byte("first-secret")},
		}
		Expect(k8sClient.Create(suiteCtx, secret)).To(Succeed())
		expectRunning(ns, "auth", 1)
		rg = getGroup(ns, "auth")
		Expect(conditionStatus(rg, replnodev1alpha1.ConditionSecretMissing)).To(Equal(metav1.ConditionFalse))
		Expect(rg.Status.AuthSecretResourceVersion).NotTo(BeEmpty())
		for _, c := range rg.Status.Conditions {
			Expect(c.Message).NotTo(ContainSubstring("first-secret"))
		}
		addrs := []string{}
		for _, name := range []string{"auth-0", "auth-1"} {
			addr, err := kubelet.addrOf(suiteCtx, ns, name)
			Expect(err).NotTo(HaveOccurred())
			node, ok := fakeNodes.Node(addr)
			Expect(ok).To(BeTrue())
			Expect(node.Password).To(Equal("first-secret"))
			addrs = append(addrs, addr)
		}

		By("changing the password: every member gets it with CONFIG SET, without a restart")
		secret.Data["password"] = []byte("second-secret")
		Expect(k8sClient.Update(suiteCtx, secret)).To(Succeed())
		Eventually(func(g Gomega) {
			for _, addr := range addrs {
				node, _ := fakeNodes.Node(addr)
				g.Expect(node.Password).To(Equal("second-secret"))
				g.Expect(node.Config).To(HaveKeyWithValue("masterauth", "second-secret"))
			}
			g.Expect(getGroup(ns, "auth").Status.AuthSecretResourceVersion).To(Equal(secret.ResourceVersion))
		}, eventually, poll).Should(Succeed())
		expectRunning(ns, "auth", 1)
		Expect(groupPods(ns, "auth")).To(ConsistOf("auth-0", "auth-1"))

		By("removing the key: the condition names it")
		secret.Data = map[string][]byte{"other": []byte("x")}
		Expect(k8sClient.Update(suiteCtx, secret)).To(Succeed())
		Eventually(func(g Gomega) {
			c := meta.FindStatusCondition(getGroup(ns, "auth").Status.Conditions, replnodev1alpha1.ConditionSecretMissing)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(c.Reason).To(Equal("SecretKeyMissing"))
		}, eventually, poll).Should(Succeed())
		By("the members still run: Ready and Available keep what was last observed")
		Consistently(func(g Gomega) {
			rg := getGroup(ns, "auth")
			g.Expect(conditionStatus(rg, replnodev1alpha1.ConditionReady)).To(Equal(metav1.ConditionTrue))
			g.Expect(conditionStatus(rg, replnodev1alpha1.ConditionAvailable)).To(Equal(metav1.ConditionTrue))
			g.Expect(rg.Status.CurrentMaster).To(Equal("auth-0"))
		}, 2*time.Second, poll).Should(Succeed())
	})

	It("rolls replicas one at a time when the spec changes", func() {
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "roll", Namespace: ns}}
		rg.Spec.Replicas = ptr.To[int32](2)
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
		expectRunning(ns, "roll", 2)
		uids := map[string]types.UID{}
		for _, name := range []string{"roll-1", "roll-2"} {
			pod := &corev1.Pod{}
			Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: name}, pod)).To(Succeed())
			uids[name] = pod.UID
		}
		rg = updateGroup(ns, "roll", func(rg *replnodev1alpha1.ReplicationGroup) {
			rg.Spec.Config = map[string]replnodev1alpha1.ConfigValue{"maxmemory-policy": "allkeys-lru"}
		})
		Eventually(func(g Gomega) {
			for _, name := range []string{"roll-1", "roll-2"} {
				pod := &corev1.Pod{}
				g.Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: name}, pod)).To(Succeed())
				g.Expect(pod.UID).NotTo(Equal(uids[name]), "%s was not recreated", name)
			}
		}, eventually, poll).Should(Succeed())
		expectRunning(ns, "roll", 2)
	})

	It("fails over to a replica when the master stops answering", func() {
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "fo", Namespace: ns}}
		rg.Spec.Replicas = ptr.To[int32](2)
		rg.Spec.Failover.MasterDownAfter = &metav1.Duration{Duration: 2 * time.Second}
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
		expectRunning(ns, "fo", 2)
		addr, err := kubelet.addrOf(suiteCtx, ns, "fo-0")
		Expect(err).NotTo(HaveOccurred())
		fakeNodes.AddWrites(addr, 1000)
		Eventually(func(g Gomega) {
			rg := getGroup(ns, "fo")
			g.Expect(rg.Status.MasterOffset).To(BeNumerically(">=", 1000))
			for _, m := range rg.Status.Members {
				g.Expect(m.Offset).To(BeNumerically(">=", 1000), m.Name)
			}
		}, eventually, poll).Should(Succeed())

		oldNode, _ := fakeNodes.Node(addr)
		oldHistory := oldNode.ReplID
		before := getGroup(ns, "fo").Status.ReplicationHistory
		Expect(before).NotTo(BeEmpty())
		first := before[len(before)-1]
		Expect(first).To(Equal(replnodev1alpha1.ReplicationHistoryEntry{ReplID: oldHistory, Parent: first.Parent, StartOffset: first.StartOffset, PromotedMember: "fo-0"}),
			"the first master's history is recorded")
		if oldNode.SecondReplOffset > 0 {
			Expect([]any{first.Parent, first.StartOffset}).To(Equal([]any{oldNode.ReplID2, oldNode.SecondReplOffset}), "with the fork its master reported")
		}

		fakeNodes.SetReachable(addr, false)
		Eventually(func(g Gomega) {
			rg := getGroup(ns, "fo")
			g.Expect(rg.Status.CurrentMaster).To(BeElementOf("fo-1", "fo-2"))
			// The promotion's link goes out with (or before) currentMaster:
			// the new master's history continues the old one where it took over.
			promotedAddr, err := kubelet.addrOf(suiteCtx, ns, rg.Status.CurrentMaster)
			g.Expect(err).NotTo(HaveOccurred())
			promoted, _ := fakeNodes.Node(promotedAddr)
			after := rg.Status.ReplicationHistory
			Expect(len(after)).To(Equal(len(before)+1), "one link per promotion")
			Expect(after[len(after)-2:]).To(Equal([]replnodev1alpha1.ReplicationHistoryEntry{
				{ReplID: oldHistory, EndOffset: promoted.SecondReplOffset, Parent: first.Parent, StartOffset: first.StartOffset, PromotedMember: "fo-0"},
				{ReplID: promoted.ReplID, Parent: oldHistory, StartOffset: promoted.SecondReplOffset, PromotedMember: rg.Status.CurrentMaster, Epoch: rg.Status.FailoverEpoch}}))
			Expect(promoted.ReplID2).To(Equal(oldHistory))
			Expect(promoted.SecondReplOffset).To(BeNumerically(">", 1000))
			g.Expect(rg.Status.TargetMaster).To(Equal(rg.Status.CurrentMaster))
			g.Expect(rg.Status.LastFailover).NotTo(BeNil())
			g.Expect(rg.Status.LastFailover.From).To(Equal("fo-0"))
			g.Expect(rg.Status.LastFailover.To).To(Equal(rg.Status.CurrentMaster))
			g.Expect(rg.Status.LastFailover.PromotedAt).NotTo(BeNil())
		}, eventually, poll).Should(Succeed())
		newMaster := getGroup(ns, "fo").Status.CurrentMaster
		Eventually(func(g Gomega) {
			pod := &corev1.Pod{}
			g.Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: newMaster}, pod)).To(Succeed())
			g.Expect(pod.Labels[labelRole]).To(Equal(roleMaster))
		}, eventually, poll).Should(Succeed())
	})

	It("switches over to the member named in spec.master", func() {
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "sw", Namespace: ns}}
		rg.Spec.Replicas = ptr.To[int32](2)
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
		expectRunning(ns, "sw", 2)
		Expect(getGroup(ns, "sw").Status.CurrentMaster).To(Equal("sw-0"))

		rg = updateGroup(ns, "sw", func(rg *replnodev1alpha1.ReplicationGroup) {
			rg.Spec.Master = "sw-2"
		})
		Eventually(func(g Gomega) {
			rg := getGroup(ns, "sw")
			g.Expect(rg.Status.CurrentMaster).To(Equal("sw-2"))
			g.Expect(rg.Status.TargetMaster).To(Equal("sw-2"))
			g.Expect(rg.Status.Switchover).To(BeNil())
			g.Expect(rg.Status.LastFailover).NotTo(BeNil())
			g.Expect(rg.Status.LastFailover.From).To(Equal("sw-0"))
			g.Expect(rg.Status.LastFailover.To).To(Equal("sw-2"))
		}, eventually, poll).Should(Succeed())
		expectRunning(ns, "sw", 2)
		addr, err := kubelet.addrOf(suiteCtx, ns, "sw-0")
		Expect(err).NotTo(HaveOccurred())
		old, _ := fakeNodes.Node(addr)
		Expect(old.Role).To(Equal("slave"))
		Expect(old.PausedFor).To(BeZero(), "the old master was left paused")
		pod := &corev1.Pod{}
		Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: "sw-2"}, pod)).To(Succeed())
		Expect(pod.Labels[labelRole]).To(Equal(roleMaster))
	})
})
