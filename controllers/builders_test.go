package controllers

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

// testGroup returns a defaulted group for builder tests.
func testGroup() *replnodev1alpha1.ReplicationGroup {
	return &replnodev1alpha1.ReplicationGroup{
		ObjectMeta: metav1.ObjectMeta{Name: "cache", Namespace: "prod"},
		Spec: replnodev1alpha1.ReplicationGroupSpec{
			Replicas: ptr.To[int32](2), Image: "replnode:1", ImagePullPolicy: corev1.PullAlways,
			MinReplicasToWrite: ptr.To[int32](1), MinReplicasMaxLag: 7,
		},
	}
}

// ------ CONFIG ------

// TestBuildRedisConf checks operator-owned directives come first and user
// directives follow sorted, quoted only when needed.
func TestBuildRedisConf(t *testing.T) {
	rg := testGroup()
	rg.Spec.Config = map[string]replnodev1alpha1.ConfigValue{
		"save": "900 1", "maxmemory": "10mb", "notify-keyspace-events": "", "appendfilename": `a"b`,
	}
	conf := buildRedisConf(rg)
	for _, want := range []string{"port 6379\n", "dir /data\n", "min-replicas-to-write 1\n", "min-replicas-max-lag 7\n", "repl-ping-replica-period 1\n", "repl-timeout 10\n", "repl-diskless-sync-delay 0\n", "replica-serve-stale-data no\n",
		"save 900 1\n", "maxmemory 10mb\n", "notify-keyspace-events \"\"\n", `appendfilename "a\"b"` + "\n"} {
		if !strings.Contains(conf, want) {
			t.Errorf("redis.conf lacks %q:\n%s", want, conf)
		}
	}
	if strings.Index(conf, "appendfilename") > strings.Index(conf, "maxmemory 10mb") {
		t.Errorf("user directives are not sorted:\n%s", conf)
	}
	for _, forbidden := range []string{"requirepass", "masterauth", "replicaof"} {
		if strings.Contains(conf, forbidden) {
			t.Errorf("redis.conf holds %s, which belongs on the command line:\n%s", forbidden, conf)
		}
	}
	if configHash(conf) != configHash(buildRedisConf(rg)) {
		t.Error("the same spec gives different hashes")
	}
	rg.Spec.Config["maxmemory"] = "20mb"
	if configHash(conf) == configHash(buildRedisConf(rg)) {
		t.Error("a config change does not change the hash")
	}
}

// TestBuildConfigMap names the ConfigMap after the group and labels it.
func TestBuildConfigMap(t *testing.T) {
	cm := buildConfigMap(testGroup())
	if cm.Name != "cache-config" || cm.Namespace != "prod" || cm.Labels[labelGroup] != "cache" || cm.Data[configFile] == "" {
		t.Fatalf("ConfigMap = %+v", cm)
	}
}

// ------ PODS ------

// TestBuildPodMaster checks the master's command line, probes, volumes and
// restricted security context.
func TestBuildPodMaster(t *testing.T) {
	rg := testGroup()
	pod := buildPod(rg, podParams{Ordinal: 0, Role: roleMaster, ConfigHash: "h"})
	if pod.Name != "cache-0" || pod.Labels[labelRole] != roleMaster || pod.Labels[labelMember] != "cache-0" {
		t.Fatalf("metadata = %+v", pod.ObjectMeta)
	}
	if pod.Spec.Hostname != "cache-0" || pod.Spec.Subdomain != "cache" {
		t.Errorf("hostname/subdomain = %s/%s", pod.Spec.Hostname, pod.Spec.Subdomain)
	}
	c := pod.Spec.Containers[0]
	if c.Image != "replnode:1" || c.ImagePullPolicy != corev1.PullAlways {
		t.Errorf("image = %s %s", c.Image, c.ImagePullPolicy)
	}
	args := strings.Join(c.Args, " ")
	// The master starts as a replica of its own Service: a restarted master
	// process must not come back as a master (see serverContainer).
	if !strings.HasPrefix(args, "/etc/replnode/redis.conf") || !strings.HasSuffix(args, "--replicaof cache-master."+rg.Namespace+".svc 6379") || strings.Contains(args, "requirepass") {
		t.Errorf("master args = %q", args)
	}
	if c.ReadinessProbe == nil || c.LivenessProbe == nil || c.StartupProbe == nil {
		t.Error("probes missing")
	}
	sc := c.SecurityContext
	if !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation || !*sc.RunAsNonRoot || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" ||
		sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container security context = %+v", sc)
	}
	psc := pod.Spec.SecurityContext
	if !*psc.RunAsNonRoot || *psc.RunAsUser == 0 || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context = %+v", psc)
	}
	vols := map[string]corev1.VolumeSource{}
	for _, v := range pod.Spec.Volumes {
		vols[v.Name] = v.VolumeSource
	}
	if vols["data"].EmptyDir == nil || vols["config"].ConfigMap == nil || vols["config"].ConfigMap.Name != "cache-config" || vols["tmp"].EmptyDir == nil {
		t.Errorf("volumes = %+v", pod.Spec.Volumes)
	}
	aff := pod.Spec.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution
	if len(aff) != 1 || aff[0].PodAffinityTerm.TopologyKey != corev1.LabelHostname || aff[0].PodAffinityTerm.LabelSelector.MatchLabels[labelGroup] != "cache" {
		t.Errorf("default anti-affinity = %+v", aff)
	}
}

// TestBuildPodMetrics: spec.metrics.enabled passes replnode's
// --metrics-port and names the container port "metrics" (what the
// replnode-group chart's PodMonitor selects); off, the pod has neither, and
// the template hash differs so that switching it rolls the members.
func TestBuildPodMetrics(t *testing.T) {
	rg := testGroup()
	off := buildPod(rg, podParams{Ordinal: 1, Role: roleReplica, MasterHost: "10.0.0.1", ConfigHash: "h"})
	rg.Spec.Metrics = replnodev1alpha1.MetricsSpec{Enabled: true}
	on := buildPod(rg, podParams{Ordinal: 1, Role: roleReplica, MasterHost: "10.0.0.1", ConfigHash: "h"})
	rg.Spec.Metrics.Port = 9500
	custom := buildPod(rg, podParams{Ordinal: 1, Role: roleReplica, MasterHost: "10.0.0.1", ConfigHash: "h"})
	for _, tc := range []struct {
		name     string
		pod      *corev1.Pod
		wantPort int32
	}{{"off", off, 0}, {"on", on, 9121}, {"custom port", custom, 9500}} {
		c := tc.pod.Spec.Containers[0]
		args := strings.Join(c.Args, " ")
		var port int32
		for _, p := range c.Ports {
			if p.Name == "metrics" {
				port = p.ContainerPort
			}
		}
		if port != tc.wantPort {
			t.Errorf("%s: metrics container port %d, want %d", tc.name, port, tc.wantPort)
		}
		hasFlag := strings.Contains(args, "--metrics-port")
		if tc.wantPort == 0 && hasFlag || tc.wantPort != 0 && !strings.Contains(args, fmt.Sprintf("--metrics-port %d", tc.wantPort)) {
			t.Errorf("%s: args %q", tc.name, args)
		}
	}
	if off.Annotations[annotationTemplateHash] == on.Annotations[annotationTemplateHash] ||
		on.Annotations[annotationTemplateHash] == custom.Annotations[annotationTemplateHash] {
		t.Error("enabling metrics or changing its port leaves the template hash unchanged: members would not roll")
	}
	// The flag itself is hashed, not only the container port: templateHash
	// drops the per-member arguments from --replicaof on.
	args := on.Spec.Containers[0].Args
	if i := slices.Index(args, "--replicaof"); i < 0 || !strings.Contains(strings.Join(args[:i], " "), "--metrics-port 9121") {
		t.Errorf("--metrics-port is outside what the template hash covers: %q", args)
	}
}

// TestBuildPodReplicaWithAuthAndStorage checks --replicaof, the password
// from the Secret (never in the pod spec itself) and the PVC volume.
func TestBuildPodReplicaWithAuthAndStorage(t *testing.T) {
	rg := testGroup()
	rg.Spec.Auth = &replnodev1alpha1.AuthSpec{SecretName: "pw", Key: "pass"}
	rg.Spec.Storage = &replnodev1alpha1.StorageSpec{Size: resource.MustParse("1Gi")}
	rg.Spec.PodLabels = map[string]string{"team": "a", labelRole: "spoofed"}
	rg.Spec.PodAnnotations = map[string]string{"note": "x"}
	pod := buildPod(rg, podParams{Ordinal: 2, Role: roleReplica, MasterHost: "10.0.0.5", ConfigHash: "h"})
	c := pod.Spec.Containers[0]
	args := strings.Join(c.Args, " ")
	if !strings.Contains(args, "--replicaof 10.0.0.5 6379") || !strings.Contains(args, "--requirepass $(REPLNODE_PASSWORD) --masterauth $(REPLNODE_PASSWORD)") {
		t.Errorf("replica args = %q", args)
	}
	var ref *corev1.SecretKeySelector
	for _, e := range c.Env {
		if e.Name == passwordEnv {
			ref = e.ValueFrom.SecretKeyRef
		}
	}
	if ref == nil || ref.Name != "pw" || ref.Key != "pass" {
		t.Errorf("password env = %+v", ref)
	}
	if pod.Labels["team"] != "a" || pod.Labels[labelRole] != roleReplica || pod.Annotations["note"] != "x" {
		t.Errorf("labels = %v annotations = %v", pod.Labels, pod.Annotations)
	}
	for _, v := range pod.Spec.Volumes {
		if v.Name == "data" && (v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "data-cache-2") {
			t.Errorf("data volume = %+v", v)
		}
	}
	pvc := buildPVC(rg, "cache-2")
	if pvc.Name != "data-cache-2" || pvc.Spec.Resources.Requests.Storage().String() != "1Gi" {
		t.Errorf("PVC = %+v", pvc)
	}
	if buildPVC(testGroup(), "cache-2") != nil {
		t.Error("a PVC without spec.storage")
	}
}

// TestTemplateHash is the same for every member and role, and changes with the spec.
func TestTemplateHash(t *testing.T) {
	rg := testGroup()
	rg.Spec.Storage = &replnodev1alpha1.StorageSpec{Size: resource.MustParse("1Gi")}
	h0 := buildPod(rg, podParams{Ordinal: 0, Role: roleMaster, ConfigHash: "h"}).Annotations[annotationTemplateHash]
	h1 := buildPod(rg, podParams{Ordinal: 1, Role: roleReplica, MasterHost: "10.0.0.1", ConfigHash: "h"}).Annotations[annotationTemplateHash]
	if h0 == "" || h0 != h1 {
		t.Fatalf("hashes differ between members: %s %s", h0, h1)
	}
	if h := buildPod(rg, podParams{Ordinal: 0, Role: roleMaster, ConfigHash: "other"}).Annotations[annotationTemplateHash]; h == h0 {
		t.Error("a config change does not change the template hash")
	}
	rg.Spec.Image = "replnode:2"
	if h := buildPod(rg, podParams{Ordinal: 0, Role: roleMaster, ConfigHash: "h"}).Annotations[annotationTemplateHash]; h == h0 {
		t.Error("an image change does not change the template hash")
	}
}

// ------ SERVICES AND PDB ------

// TestBuildServices checks the three Services' selectors.
func TestBuildServices(t *testing.T) {
	svcs := buildServices(testGroup())
	if len(svcs) != 3 {
		t.Fatalf("got %d Services", len(svcs))
	}
	master, replicas, headless := svcs[0], svcs[1], svcs[2]
	if master.Name != "cache-master" || master.Spec.Selector[labelRole] != roleMaster || master.Spec.Selector[labelGroup] != "cache" {
		t.Errorf("master Service = %+v", master)
	}
	if replicas.Name != "cache-replicas" || replicas.Spec.Selector[labelRole] != roleReplica {
		t.Errorf("replica Service = %+v", replicas)
	}
	if headless.Name != "cache" || headless.Spec.ClusterIP != corev1.ClusterIPNone || !headless.Spec.PublishNotReadyAddresses || headless.Spec.Selector[labelRole] != "" {
		t.Errorf("headless Service = %+v", headless)
	}
	if master.Spec.Ports[0].Port != serverPort {
		t.Errorf("port = %d", master.Spec.Ports[0].Port)
	}
}

// TestBuildPDB checks the default budget and that disabling removes it.
func TestBuildPDB(t *testing.T) {
	rg := testGroup()
	pdb := buildPDB(rg)
	if pdb == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.Selector.MatchLabels[labelGroup] != "cache" {
		t.Fatalf("PDB = %+v", pdb)
	}
	rg.Spec.PodDisruptionBudget.Enabled = ptr.To(false)
	if buildPDB(rg) != nil {
		t.Error("PDB built while disabled")
	}
}

// TestMemberOrdinal parses only names of the group.
func TestMemberOrdinal(t *testing.T) {
	rg := testGroup()
	cases := map[string]int{"cache-0": 0, "cache-12": 12}
	for name, want := range cases {
		if got, ok := memberOrdinal(rg, name); !ok || got != want {
			t.Errorf("memberOrdinal(%s) = %d, %v", name, got, ok)
		}
	}
	for _, bad := range []string{"cache", "cache-", "cache-x", "cache-1-2", "other-1", "cache-master"} {
		if _, ok := memberOrdinal(rg, bad); ok {
			t.Errorf("memberOrdinal(%s) accepted", bad)
		}
	}
}
