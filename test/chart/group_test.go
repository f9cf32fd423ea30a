package chart

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

const groupChart = "replnode-group"

// TestGroupLint checks `helm lint --strict` passes with the default values and
// each values file under the chart's ci/ directory.
func TestGroupLint(t *testing.T) {
	runs := [][]string{nil}
	files, _ := filepath.Glob(filepath.Join(repoRoot(t), "charts", groupChart, "ci", "*.yaml"))
	if len(files) == 0 {
		t.Fatalf("no values files under charts/%s/ci", groupChart)
	}
	for _, f := range files {
		runs = append(runs, []string{"--values", f})
	}
	for _, extra := range runs {
		args := append([]string{"lint", "--strict", filepath.Join("charts", groupChart)}, extra...)
		if out, stderr, err := helm(t, args...); err != nil {
			t.Errorf("helm %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
		}
	}
}

// TestGroupDefaultRender checks the defaults render a ReplicationGroup named
// after the release that decodes strictly into the API type, with a
// chart-created password Secret it points at.
func TestGroupDefaultRender(t *testing.T) {
	objs := render(t, groupChart, "apps")
	var rg replnodev1alpha1.ReplicationGroup
	objs.one(t, "ReplicationGroup", &rg)
	if rg.APIVersion != "replnode.io/v1alpha1" || rg.Name != "test" || rg.Namespace != "apps" {
		t.Errorf("group %s %s/%s, want replnode.io/v1alpha1 apps/test", rg.APIVersion, rg.Namespace, rg.Name)
	}
	s := rg.Spec
	if s.Replicas == nil || *s.Replicas != 2 {
		t.Errorf("replicas = %v, want 2", s.Replicas)
	}
	if s.Image != "ghcr.io/replnode/replnode:"+chartAppVersion(t, groupChart) {
		t.Errorf("image = %q, want the appVersion tag", s.Image)
	}
	if s.Storage == nil || s.Storage.Size.String() != "1Gi" {
		t.Errorf("storage = %+v, want 1Gi", s.Storage)
	}
	if s.TopologySpreadConstraints != nil {
		t.Errorf("topologySpreadConstraints = %+v, want it left unset (the operator's defaults)", s.TopologySpreadConstraints)
	}
	if !s.FailoverEnabled() || s.Failover.MasterDownAfter == nil || s.Failover.MasterDownAfter.Duration.String() != "3s" {
		t.Errorf("failover = %+v, want enabled after 3s", s.Failover)
	}
	if s.Auth == nil || s.Auth.SecretName != "test-auth" || s.Auth.Key != "password" {
		t.Fatalf("auth = %+v, want Secret test-auth key password", s.Auth)
	}
	var secret corev1.Secret
	objs.one(t, "Secret", &secret)
	if secret.Name != s.Auth.SecretName || secret.Namespace != "apps" {
		t.Errorf("Secret %s/%s, want apps/%s", secret.Namespace, secret.Name, s.Auth.SecretName)
	}
	if pw := secret.Data["password"]; len(pw) != 32 {
		t.Errorf("generated password has %d bytes, want 32", len(pw))
	}
}

// TestGroupFullValues checks every value reaches the spec, redis.conf values
// become the strings the CRD wants, and an existing Secret suppresses the
// chart's own.
func TestGroupFullValues(t *testing.T) {
	objs := render(t, groupChart, "apps", "--values", filepath.Join(repoRoot(t), "charts", groupChart, "ci", "full-values.yaml"))
	if n := len(objs.ofKind("Secret")); n != 0 {
		t.Errorf("auth.existingSecret still renders %d Secrets", n)
	}
	var rg replnodev1alpha1.ReplicationGroup
	objs.one(t, "ReplicationGroup", &rg)
	s := rg.Spec
	if rg.Name != "cache" || *s.Replicas != 3 || s.Image != "registry.example.com/replnode:v1.2.3" || s.ImagePullPolicy != corev1.PullAlways {
		t.Errorf("name/replicas/image = %s/%d/%s/%s", rg.Name, *s.Replicas, s.Image, s.ImagePullPolicy)
	}
	if s.Auth == nil || s.Auth.SecretName != "cache-auth" || s.Auth.Key != "pass" {
		t.Errorf("auth = %+v", s.Auth)
	}
	if s.TLS == nil || s.TLS.SecretName != "cache-tls" || s.TLS.ClientCertificates != "Optional" {
		t.Errorf("tls = %+v", s.TLS)
	}
	if s.Storage == nil || s.Storage.Size.String() != "5Gi" || s.Storage.StorageClassName == nil || *s.Storage.StorageClassName != "fast" {
		t.Errorf("storage = %+v", s.Storage)
	}
	wantConfig := map[string]replnodev1alpha1.ConfigValue{
		"maxmemory": "100mb", "maxmemory-policy": "allkeys-lru", "hz": "100", "maxclients": "100000000", "appendonly": "yes",
	}
	if len(s.Config) != len(wantConfig) {
		t.Errorf("config = %v, want %v", s.Config, wantConfig)
	}
	for k, v := range wantConfig {
		if s.Config[k] != v {
			t.Errorf("config[%s] = %q, want %q", k, s.Config[k], v)
		}
	}
	if !s.Metrics.Enabled || s.Metrics.Port != 9121 {
		t.Errorf("metrics = %+v", s.Metrics)
	}
	if s.MinReplicasToWrite == nil || *s.MinReplicasToWrite != 1 || s.MinReplicasMaxLag != 5 || s.Master != "cache-1" || s.PriorityClassName != "high" {
		t.Errorf("minReplicasToWrite/maxLag/master/priorityClass = %v/%d/%s/%s", s.MinReplicasToWrite, s.MinReplicasMaxLag, s.Master, s.PriorityClassName)
	}
	if s.Persistence.Mode != replnodev1alpha1.PersistenceRDBAndAOF || s.Persistence.AppendFsync != "always" {
		t.Errorf("persistence = %+v, want rdb+aof with appendfsync always", s.Persistence)
	}
	if s.PodDisruptionBudget.MaxUnavailable == nil || s.PodDisruptionBudget.MaxUnavailable.String() != "50%" {
		t.Errorf("pdb = %+v, want maxUnavailable 50%%", s.PodDisruptionBudget)
	}
	if len(s.TopologySpreadConstraints) != 1 || s.TopologySpreadConstraints[0].TopologyKey != "topology.kubernetes.io/zone" ||
		s.TopologySpreadConstraints[0].WhenUnsatisfiable != corev1.DoNotSchedule {
		t.Errorf("topologySpreadConstraints = %+v, want the zone constraint of full-values.yaml", s.TopologySpreadConstraints)
	}
	if s.Failover.MasterDownAfter.Duration.String() != "3s" || len(s.Tolerations) != 1 || s.NodeSelector["disk"] != "ssd" ||
		s.PodLabels["team"] != "storage" || s.PodAnnotations["example.com/scrape"] != "true" {
		t.Errorf("failover/scheduling/pod metadata not carried over: %+v", s)
	}
}

// TestGroupMinimalAndPassword checks a lone master without auth or storage,
// and that a given password lands in the Secret unchanged.
func TestGroupMinimalAndPassword(t *testing.T) {
	objs := render(t, groupChart, "apps", "--values", filepath.Join(repoRoot(t), "charts", groupChart, "ci", "minimal-values.yaml"))
	var rg replnodev1alpha1.ReplicationGroup
	objs.one(t, "ReplicationGroup", &rg)
	if *rg.Spec.Replicas != 0 || rg.Spec.Auth != nil || rg.Spec.TLS != nil || rg.Spec.Storage != nil || rg.Spec.PDBEnabled() {
		t.Errorf("minimal spec = %+v, want 0 replicas, no auth, no storage, no PDB", rg.Spec)
	}
	if n := len(objs.ofKind("Secret")); n != 0 {
		t.Errorf("auth.enabled=false renders %d Secrets", n)
	}

	// An explicit empty list must reach the spec as [] (spreading off),
	// not be dropped into "unset" (the operator's defaults).
	var off replnodev1alpha1.ReplicationGroup
	render(t, groupChart, "apps", "--set-json", "topologySpreadConstraints=[]").one(t, "ReplicationGroup", &off)
	if off.Spec.TopologySpreadConstraints == nil || len(off.Spec.TopologySpreadConstraints) != 0 {
		t.Errorf("topologySpreadConstraints=[] renders as %#v, want an empty list", off.Spec.TopologySpreadConstraints)
	}

	var secret corev1.Secret
	render(t, groupChart, "apps", "--set-literal", "auth.password=s3cret:with,odd chars").one(t, "Secret", &secret)
	if got := string(secret.Data["password"]); got != "s3cret:with,odd chars" {
		t.Errorf("password = %q (base64 %s)", got, base64.StdEncoding.EncodeToString(secret.Data["password"]))
	}
}

// TestGroupRejectsBadValues checks bad values fail with a message naming the
// value and the problem, before anything reaches the API server.
func TestGroupRejectsBadValues(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"too many replicas", []string{"--set", "replicas=16"}, []string{"/replicas", "maximum"}},
		{"negative replicas", []string{"--set", "replicas=-1"}, []string{"/replicas", "minimum"}},
		{"unknown key", []string{"--set", "replica=2"}, []string{"additional properties 'replica' not allowed"}},
		{"bad duration", []string{"--set-string", "failover.masterDownAfter=10"}, []string{"/failover/masterDownAfter", "does not match pattern"}},
		{"upper-case directive", []string{"--set", "config.MaxMemory=1"}, []string{"/config", "additional properties 'MaxMemory' not allowed"}},
		{"bad size", []string{"--set", "storage.size=lots"}, []string{"/storage/size", "does not match pattern"}},
		{"lag out of range", []string{"--set", "minReplicasMaxLag=0"}, []string{"/minReplicasMaxLag", "minimum"}},
		{"min replicas above replicas", []string{"--set", "minReplicasToWrite=3"}, []string{"minReplicasToWrite (3) cannot exceed replicas (2)"}},
		{"master of another group", []string{"--set", "master=other-0"}, []string{`master "other-0" must name a member of this group: test-<ordinal>`}},
		{"password and existing secret", []string{"--set", "auth.password=x", "--set", "auth.existingSecret=s"}, []string{"set auth.password or auth.existingSecret, not both"}},
		{"name too long", []string{"--set", "nameOverride=" + strings.Repeat("a", 41)}, []string{"/nameOverride", "maxLength"}},
		{"metrics on the server port", []string{"--set", "metrics.port=6379"}, []string{"/metrics/port"}},
		{"pod monitor without metrics", []string{"--set", "metrics.podMonitor.enabled=true"}, []string{"metrics.podMonitor.enabled needs metrics.enabled=true"}},
		{"unknown pod monitor key", []string{"--set", "metrics.podMonitor.port=1"}, []string{"/metrics/podMonitor", "additional properties 'port' not allowed"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"template", "test", filepath.Join("charts", groupChart), "--namespace", "apps"}, tc.args...)
			_, stderr, err := helm(t, args...)
			if err == nil {
				t.Fatalf("helm %s succeeded; want an error", strings.Join(args, " "))
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("error lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// TestGroupMetricsAndPodMonitor: metrics are off by default; metrics.enabled
// sets spec.metrics; the PodMonitor renders only when asked and the
// monitoring.coreos.com/v1 API is there, selecting the operator's group
// label on the members' "metrics" port; the dashboard ConfigMap carries the
// chart's Grafana JSON.
func TestGroupMetricsAndPodMonitor(t *testing.T) {
	objs := render(t, groupChart, "apps")
	if n := len(objs.ofKind("PodMonitor")) + len(objs.ofKind("ConfigMap")); n != 0 {
		t.Errorf("defaults rendered %d PodMonitors or dashboards", n)
	}
	var rg replnodev1alpha1.ReplicationGroup
	objs.one(t, "ReplicationGroup", &rg)
	if rg.Spec.Metrics.Enabled {
		t.Error("metrics enabled by default")
	}

	asked := []string{"--set", "metrics.enabled=true", "--set", "metrics.port=9500", "--set", "metrics.podMonitor.enabled=true"}
	if n := len(render(t, groupChart, "apps", asked...).ofKind("PodMonitor")); n != 0 {
		t.Errorf("without the monitoring.coreos.com/v1 API rendered %d PodMonitors, want none", n)
	}
	objs = render(t, groupChart, "apps", append(asked, "--api-versions", "monitoring.coreos.com/v1", "--set", "metrics.podMonitor.labels.release=prom")...)
	objs.one(t, "ReplicationGroup", &rg)
	if !rg.Spec.Metrics.Enabled || rg.Spec.Metrics.Port != 9500 {
		t.Errorf("spec.metrics = %+v, want enabled on 9500", rg.Spec.Metrics)
	}
	var pm struct {
		APIVersion string `json:"apiVersion"`
		Metadata   struct {
			Name, Namespace string
			Labels          map[string]string
		} `json:"metadata"`
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			NamespaceSelector struct {
				MatchNames []string `json:"matchNames"`
			} `json:"namespaceSelector"`
			PodMetricsEndpoints []struct {
				Port, Path string
			} `json:"podMetricsEndpoints"`
		} `json:"spec"`
	}
	o := objs.ofKind("PodMonitor")
	if len(o) != 1 {
		t.Fatalf("rendered %d PodMonitors, want 1 (objects %v)", len(o), objs.kinds())
	}
	if err := yamlUnmarshal(o[0].YAML, &pm); err != nil {
		t.Fatal(err)
	}
	if pm.APIVersion != "monitoring.coreos.com/v1" || pm.Metadata.Name != "test" || pm.Metadata.Namespace != "apps" || pm.Metadata.Labels["release"] != "prom" {
		t.Errorf("PodMonitor metadata = %+v", pm)
	}
	// replnode.io/group is what the operator puts on every member pod
	// (controllers.selectorLabels); "metrics" is the container port name.
	if pm.Spec.Selector.MatchLabels["replnode.io/group"] != "test" || len(pm.Spec.Selector.MatchLabels) != 1 ||
		len(pm.Spec.NamespaceSelector.MatchNames) != 1 || pm.Spec.NamespaceSelector.MatchNames[0] != "apps" {
		t.Errorf("PodMonitor selects %+v", pm.Spec)
	}
	if len(pm.Spec.PodMetricsEndpoints) != 1 || pm.Spec.PodMetricsEndpoints[0].Port != "metrics" || pm.Spec.PodMetricsEndpoints[0].Path != "/metrics" {
		t.Errorf("PodMonitor endpoints = %+v", pm.Spec.PodMetricsEndpoints)
	}

	var cm corev1.ConfigMap
	render(t, groupChart, "apps", "--set", "metrics.dashboard.enabled=true").one(t, "ConfigMap", &cm)
	want, err := os.ReadFile(filepath.Join(repoRoot(t), "charts", groupChart, "dashboards", "replnode-group.json"))
	if err != nil {
		t.Fatal(err)
	}
	if cm.Labels["grafana_dashboard"] != "1" || strings.TrimSpace(cm.Data["replnode-group.json"]) != strings.TrimSpace(string(want)) {
		t.Errorf("dashboard ConfigMap labels %v, data equal to the chart's JSON: %v", cm.Labels, strings.TrimSpace(cm.Data["replnode-group.json"]) == strings.TrimSpace(string(want)))
	}
	var dash map[string]any
	if err := json.Unmarshal(want, &dash); err != nil || dash["uid"] != "replnode-group" {
		t.Errorf("dashboard JSON: uid %v, %v", dash["uid"], err)
	}
}
