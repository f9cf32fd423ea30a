package controllers

import (
	"bytes"
	"encoding/pem"
	"strings"
	"time"

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
	"github.com/replnode/replnode/replnode/tlsconf/testpki"
)

// ------ SPEC.TLS (envtest, fake nodes, fake kubelet) ------

// leafDER is the DER of the first certificate of a PEM chain.
func leafDER(certPEM []byte) []byte {
	b, _ := pem.Decode(certPEM)
	Expect(b).NotTo(BeNil())
	return b.Bytes
}

// tlsCondition returns the group's TLSReady condition (nil when absent).
func tlsCondition(ns, name string) *metav1.Condition {
	return meta.FindStatusCondition(getGroup(ns, name).Status.Conditions, replnodev1alpha1.ConditionTLSReady)
}

var _ = Describe("ReplicationGroup with spec.tls", func() {
	var ns string
	BeforeEach(func() { ns = admissionNamespace("tls") })

	It("waits for its Secret, serves it over TLS, loads a renewed certificate without restarting pods and survives a broken Secret", func() {
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "tls", Namespace: ns}}
		rg.Spec.Replicas = ptr.To[int32](1)
		rg.Spec.TLS = &replnodev1alpha1.TLSSpec{SecretName: "tls-certs"}
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())

		By("without the Secret: Pending, TLSReady names it, no pod")
		Eventually(func(g Gomega) {
			c := tlsCondition(ns, "tls")
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal("SecretNotFound"))
			g.Expect(c.Message).To(ContainSubstring(`"tls-certs"`))
			g.Expect(getGroup(ns, "tls").Status.Phase).To(Equal(replnodev1alpha1.PhasePending))
		}, eventually, poll).Should(Succeed())
		Consistently(func() []string { return groupPods(ns, "tls") }, 2*time.Second, poll).Should(BeEmpty())

		By("a Secret without ca.crt: the condition says which key is missing")
		ca := testpki.NewCA(GinkgoTB(), "tls-ca")
		first := ca.Issue(GinkgoTB(), "tls")
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "tls-certs", Namespace: ns},
			Type:       corev1.SecretTypeTLS,
			Data:       map[string][]byte{"tls.crt": first.CertPEM, "tls.key": first.KeyPEM},
		}
		Expect(k8sClient.Create(suiteCtx, secret)).To(Succeed())
		Eventually(func(g Gomega) {
			c := tlsCondition(ns, "tls")
			g.Expect(c.Reason).To(Equal("SecretKeyMissing"))
			g.Expect(c.Message).To(ContainSubstring(`"ca.crt"`))
		}, eventually, poll).Should(Succeed())

		By("the complete Secret: members start with TLS and the operator reaches them over it")
		secret.Data["ca.crt"] = ca.CertPEM
		Expect(k8sClient.Update(suiteCtx, secret)).To(Succeed())
		expectRunning(ns, "tls", 1)
		var cm corev1.ConfigMap
		Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: "tls-config"}, &cm)).To(Succeed())
		conf := cm.Data[configFile]
		for _, want := range []string{"port 0\n", "tls-port 6379\n", "tls-replication yes\n", "tls-cert-file /etc/replnode-tls/tls.crt\n"} {
			Expect(conf).To(ContainSubstring(want))
		}
		Expect(conf).NotTo(ContainSubstring("BEGIN"))
		uids := map[string]types.UID{}
		var addrs []string
		for _, name := range []string{"tls-0", "tls-1"} {
			var pod corev1.Pod
			Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: name}, &pod)).To(Succeed())
			uids[name] = pod.UID
			addr, err := kubelet.addrOf(suiteCtx, ns, name)
			Expect(err).NotTo(HaveOccurred())
			addrs = append(addrs, addr)
			node, ok := fakeNodes.Node(addr)
			Expect(ok).To(BeTrue())
			Expect(node.ServedCert).To(Equal(leafDER(first.CertPEM)))
		}
		Eventually(func(g Gomega) {
			c := tlsCondition(ns, "tls")
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(c.Reason).To(Equal("CertificateServed"))
		}, eventually, poll).Should(Succeed())

		By("renewing the certificate: until the kubelet updates the files, the members serve the old one and TLSReady says so")
		renewed := ca.Issue(GinkgoTB(), "tls")
		secret.Data["tls.crt"], secret.Data["tls.key"] = renewed.CertPEM, renewed.KeyPEM
		Expect(k8sClient.Update(suiteCtx, secret)).To(Succeed())
		Eventually(func(g Gomega) {
			c := tlsCondition(ns, "tls")
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal("CertificateNotLoaded"))
			g.Expect(c.Message).To(ContainSubstring("tls-0"))
		}, eventually, poll).Should(Succeed())
		// The operator tried a reload on each member, and the group stays up.
		for _, addr := range addrs {
			node, _ := fakeNodes.Node(addr)
			Expect(node.Config).To(HaveKeyWithValue("tls-cert-file", "/etc/replnode-tls/tls.crt"))
		}
		Expect(conditionStatus(getGroup(ns, "tls"), replnodev1alpha1.ConditionReady)).To(Equal(metav1.ConditionTrue))

		By("the kubelet updates the mounted files: the next reload serves the renewed certificate, no pod restarted")
		for _, addr := range addrs {
			fakeNodes.SetCertOnDisk(addr, leafDER(renewed.CertPEM))
		}
		Eventually(func(g Gomega) {
			c := tlsCondition(ns, "tls")
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(c.Reason).To(Equal("CertificateServed"))
			for _, addr := range addrs {
				node, _ := fakeNodes.Node(addr)
				g.Expect(node.ServedCert).To(Equal(leafDER(renewed.CertPEM)))
			}
		}, eventually, poll).Should(Succeed())
		for name, uid := range uids {
			var pod corev1.Pod
			Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: name}, &pod)).To(Succeed())
			Expect(pod.UID).To(Equal(uid), "pod %s was replaced", name)
		}

		By("deleting the Secret: TLSReady says so, the operator keeps reaching the members")
		Expect(k8sClient.Delete(suiteCtx, secret)).To(Succeed())
		Eventually(func(g Gomega) {
			c := tlsCondition(ns, "tls")
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal("SecretNotFound"))
		}, eventually, poll).Should(Succeed())
		Consistently(func(g Gomega) {
			rg := getGroup(ns, "tls")
			g.Expect(conditionStatus(rg, replnodev1alpha1.ConditionReady)).To(Equal(metav1.ConditionTrue))
			g.Expect(conditionStatus(rg, replnodev1alpha1.ConditionAvailable)).To(Equal(metav1.ConditionTrue))
			g.Expect(rg.Status.CurrentMaster).To(Equal("tls-0"))
		}, 3*time.Second, poll).Should(Succeed())

		By("no key material in status or events")
		keyLines := func(pemData []byte) []string {
			var out []string
			for _, l := range strings.Split(string(pemData), "\n") {
				if len(l) > 20 && !strings.HasPrefix(l, "-----") {
					out = append(out, l)
				}
			}
			return out
		}
		var texts []string
		for _, c := range getGroup(ns, "tls").Status.Conditions {
			texts = append(texts, c.Message)
		}
		var evs eventsv1.EventList
		Expect(k8sClient.List(suiteCtx, &evs, client.InNamespace(ns))).To(Succeed())
		reasons := map[string]bool{}
		for _, e := range evs.Items {
			texts = append(texts, e.Note)
			reasons[e.Reason] = true
		}
		Expect(reasons).To(HaveKey("TLSSecretNotFound"))
		Expect(reasons).To(HaveKey("TLSCertificateReloaded"))
		all := strings.Join(texts, "\n")
		Expect(all).NotTo(ContainSubstring("PRIVATE KEY"))
		for _, l := range append(keyLines(first.KeyPEM), keyLines(renewed.KeyPEM)...) {
			Expect(bytes.Contains([]byte(all), []byte(l))).To(BeFalse(), "key material in status or events")
		}
	})

	It("refuses to add or remove spec.tls on an existing group", func() {
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "plain", Namespace: ns}}
		rg.Spec.Replicas = ptr.To[int32](0)
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
		rg.Spec.TLS = &replnodev1alpha1.TLSSpec{SecretName: "x"}
		Expect(k8sClient.Update(suiteCtx, rg)).To(MatchError(ContainSubstring("spec.tls cannot be added to or removed from an existing group")))

		withTLS := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "withtls", Namespace: ns}}
		withTLS.Spec.Replicas = ptr.To[int32](0)
		withTLS.Spec.TLS = &replnodev1alpha1.TLSSpec{SecretName: "x"}
		Expect(k8sClient.Create(suiteCtx, withTLS)).To(Succeed())
		Expect(withTLS.Spec.TLS.ClientCertificates).To(Equal("Required"))
		withTLS.Spec.TLS.SecretName = "y" // changing the Secret is fine
		Expect(k8sClient.Update(suiteCtx, withTLS)).To(Succeed())
		withTLS.Spec.TLS = nil
		Expect(k8sClient.Update(suiteCtx, withTLS)).To(MatchError(ContainSubstring("spec.tls cannot be added to or removed from an existing group")))

		bad := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: ns}}
		bad.Spec.Config = map[string]replnodev1alpha1.ConfigValue{"tls-port": "6380"}
		Expect(k8sClient.Create(suiteCtx, bad)).To(MatchError(ContainSubstring("use spec.tls")))
		bad.Spec.Config = map[string]replnodev1alpha1.ConfigValue{"tls-protocols": "TLSv1.3"}
		Expect(k8sClient.Create(suiteCtx, bad)).To(Succeed())
	})
})
