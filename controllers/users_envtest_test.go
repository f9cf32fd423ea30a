package controllers

import (
	"encoding/json"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

// ------ SPEC.USERS (envtest, fake nodes, fake kubelet) ------

var _ = Describe("ReplicationGroup with spec.users", func() {
	var ns string
	BeforeEach(func() { ns = admissionNamespace("users") })

	secret := func(name, password string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: map[string][]byte{"password": []byte(password)}}
	}
	usersCondition := func(name string) *metav1.Condition {
		return meta.FindStatusCondition(getGroup(ns, name).Status.Conditions, replnodev1alpha1.ConditionUsersApplied)
	}

	It("applies the users on every member, follows a rotated Secret and deletes a removed user", func() {
		Expect(k8sClient.Create(suiteCtx, secret("group-pw", "envtest-group-pw"))).To(Succeed())
		Expect(k8sClient.Create(suiteCtx, secret("ro-pw", "envtest-ro-1"))).To(Succeed())
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "acl", Namespace: ns}}
		rg.Spec.Replicas = ptr.To[int32](1)
		rg.Spec.Auth = &replnodev1alpha1.AuthSpec{SecretName: "group-pw"}
		rg.Spec.Users = []replnodev1alpha1.UserSpec{
			userSpec("ro", "~* +@read", "ro-pw"), userSpec("rw", "~* &* +@all", "rw-pw"),
		}
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
		expectRunning(ns, "acl", 1)

		By("rw's Secret is missing: the condition names it, no member has any user")
		Eventually(func(g Gomega) {
			c := usersCondition("acl")
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal("SecretNotFound"))
			g.Expect(c.Message).To(ContainSubstring(`"rw-pw"`))
		}, eventually, poll).Should(Succeed())
		var addrs []string
		for _, name := range []string{"acl-0", "acl-1"} {
			addr, err := kubelet.addrOf(suiteCtx, ns, name)
			Expect(err).NotTo(HaveOccurred())
			addrs = append(addrs, addr)
			Expect(fakeNodes.ACLAccepts(addr, "ro", "envtest-ro-1")).To(BeFalse())
		}

		By("the Secret appears: both users on both members, status says from which Secret version")
		Expect(k8sClient.Create(suiteCtx, secret("rw-pw", "envtest-rw-1"))).To(Succeed())
		Eventually(func(g Gomega) {
			c := usersCondition("acl")
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(c.ObservedGeneration).To(Equal(getGroup(ns, "acl").Generation))
			for _, a := range addrs {
				g.Expect(fakeNodes.ACLAccepts(a, "ro", "envtest-ro-1")).To(BeTrue())
				g.Expect(fakeNodes.ACLAccepts(a, "rw", "envtest-rw-1")).To(BeTrue())
			}
		}, eventually, poll).Should(Succeed())
		var ro corev1.Secret
		Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: "ro-pw"}, &ro)).To(Succeed())
		st := getGroup(ns, "acl").Status
		Expect(st.Users).To(HaveLen(2))
		Expect(st.Users[0].Name).To(Equal("ro"))
		Expect(st.Users[0].SecretResourceVersion).To(Equal(ro.ResourceVersion))
		Expect(st.Users[0].AppliedAt).NotTo(BeNil())

		By("rotating ro's password: the Secret watch brings the group back, the new one replaces the old")
		ro.Data["password"] = []byte("envtest-ro-2")
		Expect(k8sClient.Update(suiteCtx, &ro)).To(Succeed())
		Eventually(func(g Gomega) {
			for _, a := range addrs {
				g.Expect(fakeNodes.ACLAccepts(a, "ro", "envtest-ro-2")).To(BeTrue())
				g.Expect(fakeNodes.ACLAccepts(a, "ro", "envtest-ro-1")).To(BeFalse())
			}
			g.Expect(getGroup(ns, "acl").Status.Users[0].SecretResourceVersion).To(Equal(ro.ResourceVersion))
		}, eventually, poll).Should(Succeed())

		By("removing rw: deleted from every member and from status")
		Eventually(func() error {
			g := getGroup(ns, "acl")
			g.Spec.Users = g.Spec.Users[:1]
			return k8sClient.Update(suiteCtx, g)
		}, eventually, poll).Should(Succeed())
		Eventually(func(g Gomega) {
			st := getGroup(ns, "acl").Status
			g.Expect(st.Users).To(HaveLen(1))
			for _, a := range addrs {
				g.Expect(fakeNodes.ACLAccepts(a, "rw", "envtest-rw-1")).To(BeFalse())
			}
		}, eventually, poll).Should(Succeed())

		By("no password in status or events")
		status, err := json.Marshal(getGroup(ns, "acl").Status)
		Expect(err).NotTo(HaveOccurred())
		texts := []string{string(status)}
		var evs eventsv1.EventList
		Expect(k8sClient.List(suiteCtx, &evs, client.InNamespace(ns))).To(Succeed())
		reasons := map[string]bool{}
		for _, e := range evs.Items {
			texts = append(texts, e.Note)
			reasons[e.Reason] = true
		}
		Expect(reasons).To(HaveKey("UsersSecretNotFound"))
		Expect(reasons).To(HaveKey("UserDeleted"))
		all := strings.Join(texts, "\n")
		for _, pw := range []string{"envtest-group-pw", "envtest-ro-1", "envtest-ro-2", "envtest-rw-1"} {
			Expect(all).NotTo(ContainSubstring(pw))
		}
	})

	It("refuses users without spec.auth, reserved names and optional Secrets", func() {
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: ns}}
		rg.Spec.Users = []replnodev1alpha1.UserSpec{userSpec("app", "~* +@all", "app-pw")}
		Expect(k8sClient.Create(suiteCtx, rg)).To(MatchError(ContainSubstring("spec.users needs spec.auth")))
		rg.Spec.Auth = &replnodev1alpha1.AuthSpec{SecretName: "pw"}
		rg.Spec.Users[0].Name = "replnode-operator"
		Expect(k8sClient.Create(suiteCtx, rg)).To(MatchError(ContainSubstring("are reserved")))
		rg.Spec.Users[0].Name = "has space"
		Expect(k8sClient.Create(suiteCtx, rg)).To(MatchError(ContainSubstring("spec.users[0].name")))
		rg.Spec.Users[0].Name = "app"
		rg.Spec.Users[0].PasswordSecretKeyRef.Optional = ptr.To(true)
		Expect(k8sClient.Create(suiteCtx, rg)).To(MatchError(ContainSubstring("cannot be optional")))
		rg.Spec.Users[0].PasswordSecretKeyRef.Optional = nil
		rg.Spec.Users = append(rg.Spec.Users, userSpec("app", "~* +@read", "other"))
		Expect(k8sClient.Create(suiteCtx, rg)).To(MatchError(ContainSubstring("Duplicate value")))
		rg.Spec.Users = rg.Spec.Users[:1]
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
	})
})
