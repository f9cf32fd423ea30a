package controllers

import (
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

// ------ SPEC.PERSISTENCE ------

// TestBuildRedisConfPersistence: each persistence mode renders its
// directives; rdb, the default, renders none, so groups created before
// spec.persistence keep their redis.conf and hash (no rolling restart on
// upgrade); spec.config still overrides.
func TestBuildRedisConfPersistence(t *testing.T) {
	base := testGroup()
	baseConf := buildRedisConf(base)
	cases := []struct {
		p        replnodev1alpha1.PersistenceSpec
		want     []string
		wantNone []string
	}{
		{replnodev1alpha1.PersistenceSpec{}, nil, []string{"appendonly", "appendfsync", "save"}},
		{replnodev1alpha1.PersistenceSpec{Mode: "rdb", AppendFsync: "always"}, nil, []string{"appendonly", "appendfsync", "save"}},
		{replnodev1alpha1.PersistenceSpec{Mode: "none"}, []string{"save \"\"\n", "appendonly no\n"}, []string{"appendfsync"}},
		{replnodev1alpha1.PersistenceSpec{Mode: "aof"}, []string{"save \"\"\n", "appendonly yes\n", "appendfsync everysec\n"}, nil},
		{replnodev1alpha1.PersistenceSpec{Mode: "aof", AppendFsync: "always"}, []string{"save \"\"\n", "appendonly yes\n", "appendfsync always\n"}, nil},
		{replnodev1alpha1.PersistenceSpec{Mode: "rdb+aof", AppendFsync: "no"}, []string{"appendonly yes\n", "appendfsync no\n"}, []string{"save"}},
	}
	for _, c := range cases {
		rg := testGroup()
		rg.Spec.Persistence = c.p
		conf := buildRedisConf(rg)
		for _, w := range c.want {
			if !strings.Contains(conf, w) {
				t.Errorf("%+v: redis.conf lacks %q:\n%s", c.p, w, conf)
			}
		}
		for _, w := range c.wantNone {
			if strings.Contains(conf, w) {
				t.Errorf("%+v: redis.conf has %q:\n%s", c.p, w, conf)
			}
		}
		if c.p.EffectiveMode() == replnodev1alpha1.PersistenceRDB && conf != baseConf {
			t.Errorf("%+v: rdb changed the generated redis.conf", c.p)
		}
	}
	// spec.config comes after and wins (the last appendfsync line counts).
	rg := testGroup()
	rg.Spec.Persistence = replnodev1alpha1.PersistenceSpec{Mode: "aof", AppendFsync: "always"}
	rg.Spec.Config = map[string]replnodev1alpha1.ConfigValue{"appendfsync": "no"}
	conf := buildRedisConf(rg)
	if strings.LastIndex(conf, "appendfsync no") < strings.Index(conf, "appendfsync always") {
		t.Errorf("spec.config does not come after spec.persistence:\n%s", conf)
	}
}

var _ = Describe("spec.persistence", func() {
	var ns string
	BeforeEach(func() { ns = admissionNamespace("persist") })

	It("defaults to rdb with appendfsync everysec", func() {
		rg := &replnodev1alpha1.ReplicationGroup{}
		rg.Name, rg.Namespace = "dflt", ns
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
		Expect(rg.Spec.Persistence.Mode).To(Equal(replnodev1alpha1.PersistenceRDB))
		Expect(rg.Spec.Persistence.AppendFsync).To(Equal("everysec"))
	})

	It("rejects an unknown mode or appendfsync", func() {
		for _, p := range []map[string]any{{"mode": "snapshot"}, {"mode": "aof", "appendfsync": "sometimes"}} {
			u := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "replnode.io/v1alpha1", "kind": "ReplicationGroup",
				"metadata": map[string]any{"name": "bad", "namespace": ns},
				"spec":     map[string]any{"persistence": p},
			}}
			err := k8sClient.Create(suiteCtx, u)
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring("spec.persistence"))
		}
	})

	It("renders aof into the members' redis.conf and rolls them when it changes", func() {
		rg := &replnodev1alpha1.ReplicationGroup{}
		rg.Name, rg.Namespace = "cache", ns
		rg.Spec.Replicas = ptr.To[int32](1)
		rg.Spec.Persistence = replnodev1alpha1.PersistenceSpec{Mode: replnodev1alpha1.PersistenceAOF, AppendFsync: "always"}
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
		expectRunning(ns, "cache", 1)
		cm := &corev1.ConfigMap{}
		Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: "cache-config"}, cm)).To(Succeed())
		Expect(cm.Data[configFile]).To(ContainSubstring("appendonly yes\nappendfsync always\n"))
		Expect(cm.Data[configFile]).To(ContainSubstring("save \"\"\n"))
		hash := getGroup(ns, "cache").Status.ConfigHash
		Expect(hash).NotTo(BeEmpty())

		Eventually(func(g Gomega) {
			cur := getGroup(ns, "cache")
			cur.Spec.Persistence.Mode = replnodev1alpha1.PersistenceRDBAndAOF
			g.Expect(k8sClient.Update(suiteCtx, cur)).To(Succeed())
		}, eventually, poll).Should(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: "cache-config"}, cm)).To(Succeed())
			g.Expect(cm.Data[configFile]).To(ContainSubstring("appendonly yes\nappendfsync always\n"))
			g.Expect(cm.Data[configFile]).NotTo(ContainSubstring("save \"\""))
			g.Expect(getGroup(ns, "cache").Status.ConfigHash).NotTo(Equal(hash))
		}, eventually, poll).Should(Succeed())
	})
})
