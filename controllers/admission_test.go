package controllers

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

// ------ ADMISSION: CRD SCHEMA, CEL RULES AND DEFAULTS ------

// admissionNamespace creates a fresh namespace for one spec and returns its name.
func admissionNamespace(prefix string) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	Expect(k8sClient.Create(suiteCtx, ns)).To(Succeed())
	return ns.Name
}

var _ = Describe("ReplicationGroup admission", func() {
	var namespace string
	BeforeEach(func() { namespace = admissionNamespace("admission") })

	newGroup := func(name string) *replnodev1alpha1.ReplicationGroup {
		return &replnodev1alpha1.ReplicationGroup{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		}
	}

	It("fills the defaults of an empty spec", func() {
		rg := newGroup("defaults")
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
		Expect(rg.Spec.Replicas).To(HaveValue(Equal(int32(2))))
		Expect(rg.Spec.Image).To(Equal("replnode"))
		Expect(rg.Spec.ImagePullPolicy).To(Equal(corev1.PullIfNotPresent))
		Expect(rg.Spec.MinReplicasMaxLag).To(Equal(int32(2)))
		Expect(rg.Spec.Failover.Enabled).To(HaveValue(BeTrue()))
		Expect(rg.Spec.Failover.MasterDownAfter).NotTo(BeNil())
		Expect(rg.Spec.Failover.MasterDownAfter.Duration.String()).To(Equal("3s"))
		Expect(rg.Spec.Failover.PauseTimeout.Duration.String()).To(Equal("5s"))
		Expect(rg.Spec.Failover.SwitchoverTimeout.Duration.String()).To(Equal("30s"))
		Expect(rg.Spec.PodDisruptionBudget.Enabled).To(HaveValue(BeTrue()))
		Expect(rg.Spec.PodDisruptionBudget.MaxUnavailable.IntValue()).To(Equal(1))
		Expect(rg.Spec.Metrics.Enabled).To(BeFalse())
		Expect(rg.Spec.Metrics.Port).To(Equal(int32(9121)))
	})

	It("keeps an explicit empty topologySpreadConstraints and treats null as unset", func() {
		// The typed client writes an unset list as null (the field has no
		// omitempty): the API server must drop it, not refuse it or store it.
		unset := newGroup("spread-unset")
		Expect(k8sClient.Create(suiteCtx, unset)).To(Succeed())
		Expect(unset.Spec.TopologySpreadConstraints).To(BeNil())
		raw := &unstructured.Unstructured{}
		raw.SetGroupVersionKind(replnodev1alpha1.GroupVersion.WithKind("ReplicationGroup"))
		Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(unset), raw)).To(Succeed())
		_, found, err := unstructured.NestedFieldNoCopy(raw.Object, "spec", "topologySpreadConstraints")
		Expect(err).NotTo(HaveOccurred())
		Expect(found).To(BeFalse(), "null stored for an unset topologySpreadConstraints")

		// [] means "no spreading" and must survive a read and a whole-object
		// update, which omitempty would have turned back into "unset".
		off := newGroup("spread-off")
		off.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{}
		Expect(k8sClient.Create(suiteCtx, off)).To(Succeed())
		got := &replnodev1alpha1.ReplicationGroup{}
		Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(off), got)).To(Succeed())
		Expect(got.Spec.TopologySpreadConstraints).NotTo(BeNil())
		Expect(got.Spec.TopologySpreadConstraints).To(BeEmpty())
		got.Spec.PodLabels = map[string]string{"touched": "yes"}
		Expect(k8sClient.Update(suiteCtx, got)).To(Succeed())
		Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(off), got)).To(Succeed())
		Expect(got.Spec.TopologySpreadConstraints).NotTo(BeNil(), "a whole-object update dropped the explicit []")
	})

	It("defaults the auth key to password", func() {
		rg := newGroup("authkey")
		rg.Spec.Auth = &replnodev1alpha1.AuthSpec{SecretName: "pw"}
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
		Expect(rg.Spec.Auth.Key).To(Equal("password"))
	})

	It("rejects a duration that does not parse with a message naming the field", func() {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "replnode.io/v1alpha1", "kind": "ReplicationGroup",
			"metadata": map[string]any{"name": "bad-duration", "namespace": namespace},
			"spec":     map[string]any{"failover": map[string]any{"masterDownAfter": "banana"}},
		}}
		err := k8sClient.Create(suiteCtx, u)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("spec.failover.masterDownAfter"))
		Expect(err.Error()).To(ContainSubstring("duration"))
		Expect(err.Error()).NotTo(ContainSubstring("google.protobuf.Duration"))
	})

	It("accepts a full valid spec", func() {
		rg := newGroup("full")
		class := "fast"
		rg.Spec.Replicas = ptr.To[int32](3)
		rg.Spec.MinReplicasToWrite = ptr.To[int32](1)
		rg.Spec.Config = map[string]replnodev1alpha1.ConfigValue{"maxmemory": "100mb", "maxmemory-policy": "allkeys-lru", "appendonly": "yes"}
		rg.Spec.Storage = &replnodev1alpha1.StorageSpec{Size: resource.MustParse("1Gi"), StorageClassName: &class}
		rg.Spec.PodLabels = map[string]string{"team": "cache"}
		rg.Spec.Master = "full-3"
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
	})

	type invalidCase struct {
		mutate  func(rg *replnodev1alpha1.ReplicationGroup)
		message string
	}
	DescribeTable("rejects invalid specs with a readable message",
		func(c invalidCase) {
			rg := newGroup("bad")
			c.mutate(rg)
			err := k8sClient.Create(suiteCtx, rg)
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring(c.message))
		},
		Entry("negative replicas", invalidCase{func(rg *replnodev1alpha1.ReplicationGroup) { rg.Spec.Replicas = ptr.To[int32](-1) },
			"should be greater than or equal to 0"}),
		Entry("too many replicas", invalidCase{func(rg *replnodev1alpha1.ReplicationGroup) { rg.Spec.Replicas = ptr.To[int32](16) },
			"should be less than or equal to 15"}),
		Entry("config sets replicaof", invalidCase{func(rg *replnodev1alpha1.ReplicationGroup) {
			rg.Spec.Config = map[string]replnodev1alpha1.ConfigValue{"replicaof": "10.0.0.1 6379"}
		}, "config must not set operator-owned directives"}),
		Entry("config sets requirepass", invalidCase{func(rg *replnodev1alpha1.ReplicationGroup) {
			rg.Spec.Config = map[string]replnodev1alpha1.ConfigValue{"requirepass": "x"}
		}, "config must not set operator-owned directives"}),
		Entry("config sets port", invalidCase{func(rg *replnodev1alpha1.ReplicationGroup) {
			rg.Spec.Config = map[string]replnodev1alpha1.ConfigValue{"port": "6380"}
		}, "config must not set operator-owned directives"}),
		Entry("config sets metrics-port", invalidCase{func(rg *replnodev1alpha1.ReplicationGroup) {
			rg.Spec.Config = map[string]replnodev1alpha1.ConfigValue{"metrics-port": "9121"}
		}, "config must not set operator-owned directives"}),
		Entry("metrics on the server port", invalidCase{func(rg *replnodev1alpha1.ReplicationGroup) {
			rg.Spec.Metrics = replnodev1alpha1.MetricsSpec{Enabled: true, Port: 6379}
		}, "metrics.port must differ from the server port 6379"}),
		Entry("config key with upper case", invalidCase{func(rg *replnodev1alpha1.ReplicationGroup) {
			rg.Spec.Config = map[string]replnodev1alpha1.ConfigValue{"MaxMemory": "1mb"}
		}, "config keys must be lower-case"}),
		Entry("config value smuggling a second directive", invalidCase{func(rg *replnodev1alpha1.ReplicationGroup) {
			rg.Spec.Config = map[string]replnodev1alpha1.ConfigValue{"maxmemory": "1mb\nreplicaof 10.0.0.1 6379"}
		}, "config values must be a single line"}),
		Entry("minReplicasToWrite above replicas", invalidCase{func(rg *replnodev1alpha1.ReplicationGroup) {
			rg.Spec.Replicas = ptr.To[int32](1)
			rg.Spec.MinReplicasToWrite = ptr.To[int32](2)
		}, "minReplicasToWrite cannot exceed replicas"}),
		Entry("master outside the group", invalidCase{func(rg *replnodev1alpha1.ReplicationGroup) {
			rg.Spec.Master = "other-1"
		}, "spec.master must name a member of this group"}),
		Entry("unknown pull policy", invalidCase{func(rg *replnodev1alpha1.ReplicationGroup) {
			rg.Spec.ImagePullPolicy = "Sometimes"
		}, "Unsupported value"}),
		Entry("zero storage size", invalidCase{func(rg *replnodev1alpha1.ReplicationGroup) {
			rg.Spec.Storage = &replnodev1alpha1.StorageSpec{Size: resource.MustParse("0")}
		}, "storage.size must be greater than zero"}),
		Entry("operator-owned pod label", invalidCase{func(rg *replnodev1alpha1.ReplicationGroup) {
			rg.Spec.PodLabels = map[string]string{"replnode.io/role": "master"}
		}, "podLabels must not use the operator's replnode.io/ prefix"}),
		Entry("masterDownAfter below a second", invalidCase{func(rg *replnodev1alpha1.ReplicationGroup) {
			rg.Spec.Failover.MasterDownAfter = &metav1.Duration{Duration: 1}
		}, "failover.masterDownAfter must be at least 1s"}),
		Entry("empty auth secret name", invalidCase{func(rg *replnodev1alpha1.ReplicationGroup) {
			rg.Spec.Auth = &replnodev1alpha1.AuthSpec{}
		}, "spec.auth.secretName"}),
	)

	It("rejects a name too long for member and Service names", func() {
		rg := newGroup(strings.Repeat("a", 51))
		err := k8sClient.Create(suiteCtx, rg)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("metadata.name must be at most 50 characters"))
	})

	It("rejects an update that sets an operator-owned directive and keeps the object", func() {
		rg := newGroup("update")
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
		rg.Spec.Config = map[string]replnodev1alpha1.ConfigValue{"dir": "/tmp"}
		err := k8sClient.Update(suiteCtx, rg)
		Expect(err).To(MatchError(ContainSubstring("config must not set operator-owned directives")))
		stored := &replnodev1alpha1.ReplicationGroup{}
		Expect(k8sClient.Get(suiteCtx, keyOf(rg), stored)).To(Succeed())
		Expect(stored.Spec.Config).To(BeEmpty(), fmt.Sprintf("stored config: %v", stored.Spec.Config))
	})
})
