package chart

import (
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

const operatorChart = "replnode-operator"

// ------ LINT ------

// TestOperatorLint checks `helm lint --strict` passes with the default values
// and with each values file under the chart's ci/ directory.
func TestOperatorLint(t *testing.T) {
	runs := [][]string{nil}
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "charts", operatorChart, "ci", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no values files under charts/%s/ci (err %v)", operatorChart, err)
	}
	for _, f := range files {
		runs = append(runs, []string{"--values", f})
	}
	for _, extra := range runs {
		args := append([]string{"lint", "--strict", filepath.Join("charts", operatorChart)}, extra...)
		if out, stderr, err := helm(t, args...); err != nil {
			t.Errorf("helm %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
		}
	}
}

// ------ RENDERED RESOURCES ------

// TestOperatorDefaultRender checks the default render holds exactly the
// expected objects and that the Deployment is wired to them: service
// account, probes on the manager's health port, metrics port behind the
// Service, Recreate strategy and no leader election with one replica, and
// the image tag defaulting to the appVersion.
func TestOperatorDefaultRender(t *testing.T) {
	objs := render(t, operatorChart, "ops")
	want := []string{
		"ClusterRole/test-replnode-operator-manager",
		"ClusterRole/test-replnode-operator-metrics-auth",
		"ClusterRole/test-replnode-operator-metrics-reader",
		"ClusterRoleBinding/test-replnode-operator-manager",
		"ClusterRoleBinding/test-replnode-operator-metrics-auth",
		"CustomResourceDefinition/backups.replnode.io",
		"CustomResourceDefinition/replicationgroups.replnode.io",
		"CustomResourceDefinition/scheduledbackups.replnode.io",
		"Deployment/test-replnode-operator",
		"Role/test-replnode-operator-leader-election",
		"RoleBinding/test-replnode-operator-leader-election",
		"Secret/test-replnode-operator-webhook-cert",
		"Service/test-replnode-operator-metrics",
		"Service/test-replnode-operator-webhook",
		"ServiceAccount/test-replnode-operator",
		"ValidatingWebhookConfiguration/test-replnode-operator-ops",
	}
	got := objs.kinds()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("rendered objects\n got %v\nwant %v", got, want)
	}
	for _, o := range objs {
		if o.Kind == "CustomResourceDefinition" || strings.HasPrefix(o.Kind, "Cluster") || o.Kind == "ValidatingWebhookConfiguration" {
			if o.Namespace != "" {
				t.Errorf("cluster-scoped %s/%s has namespace %q", o.Kind, o.Name, o.Namespace)
			}
		} else if o.Namespace != "ops" {
			t.Errorf("%s/%s is in namespace %q, want the release namespace ops", o.Kind, o.Name, o.Namespace)
		}
	}

	var dep appsv1.Deployment
	objs.one(t, "Deployment", &dep)
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 1 {
		t.Errorf("replicas = %v, want 1", dep.Spec.Replicas)
	}
	if dep.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		t.Errorf("strategy = %q, want RollingUpdate under leader election", dep.Spec.Strategy.Type)
	}
	pod := dep.Spec.Template.Spec
	if pod.ServiceAccountName != "test-replnode-operator" {
		t.Errorf("serviceAccountName = %q", pod.ServiceAccountName)
	}
	c := managerContainer(t, &dep)
	if c.Image != "ghcr.io/replnode/replnode:"+chartAppVersion(t, operatorChart) {
		t.Errorf("image = %q, want the appVersion tag", c.Image)
	}
	if !slices.Equal(c.Command, []string{"manager"}) {
		t.Errorf("command = %v, want [manager] (on the image's PATH)", c.Command)
	}
	for _, a := range []string{"--metrics-bind-address=:8443", "--metrics-secure=true", "--health-probe-bind-address=:8081", "--node-timeout=2s", "--resync-period=2s", "--zap-log-level=info"} {
		if !slices.Contains(c.Args, a) {
			t.Errorf("args %v lack %s", c.Args, a)
		}
	}
	for _, a := range c.Args {
		if strings.HasPrefix(a, "--leader-elect=") || strings.HasPrefix(a, "--namespace") {
			t.Errorf("default args hold %s; want leader election and all namespaces", a)
		}
	}
	if !slices.Contains(c.Args, "--leader-elect") {
		t.Errorf("default args %v lack --leader-elect", c.Args)
	}
	if p := c.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port.String() != "health" {
		t.Errorf("liveness probe = %+v, want GET /healthz on port health", p)
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" || p.HTTPGet.Port.String() != "health" {
		t.Errorf("readiness probe = %+v, want GET /readyz on port health", p)
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["health"] != 8081 || ports["metrics"] != 8443 {
		t.Errorf("container ports = %v, want health 8081 and metrics 8443", ports)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources = %+v, want a CPU request and a memory limit", c.Resources)
	}

	var svc corev1.Service
	for _, o := range objs.ofKind("Service") {
		if o.Name == "test-replnode-operator-metrics" {
			decode(t, o, &svc)
		}
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != "metrics" {
		t.Errorf("metrics Service ports = %+v, want one port targeting metrics", svc.Spec.Ports)
	}
	for k, v := range svc.Spec.Selector {
		if dep.Spec.Template.Labels[k] != v {
			t.Errorf("Service selector %s=%s does not match the pod labels %v", k, v, dep.Spec.Template.Labels)
		}
	}
	for k, v := range dep.Spec.Selector.MatchLabels {
		if dep.Spec.Template.Labels[k] != v {
			t.Errorf("Deployment selector %s=%s does not match its pod labels", k, v)
		}
	}
}

// TestOperatorRestrictedSecurityContext checks every render's pod passes the
// "restricted" Pod Security Standard, whatever the values.
func TestOperatorRestrictedSecurityContext(t *testing.T) {
	for name, args := range valueSets(t) {
		t.Run(name, func(t *testing.T) {
			var dep appsv1.Deployment
			render(t, operatorChart, "ops", args...).one(t, "Deployment", &dep)
			checkRestricted(t, &dep.Spec.Template.Spec)
		})
	}
}

// checkRestricted fails t for every rule of the restricted Pod Security
// Standard (v1.30+) the pod spec breaks.
func checkRestricted(t *testing.T, pod *corev1.PodSpec) {
	t.Helper()
	psc := pod.SecurityContext
	if psc == nil {
		t.Fatal("pod has no securityContext")
	}
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		t.Error("pod uses host namespaces")
	}
	podNonRoot := psc.RunAsNonRoot != nil && *psc.RunAsNonRoot
	if psc.RunAsUser != nil && *psc.RunAsUser == 0 {
		t.Error("pod runs as user 0")
	}
	podSeccomp := psc.SeccompProfile != nil && psc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault
	for _, v := range pod.Volumes {
		if v.HostPath != nil {
			t.Errorf("volume %s is a hostPath", v.Name)
		}
	}
	for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
		sc := c.SecurityContext
		if sc == nil {
			t.Errorf("container %s has no securityContext", c.Name)
			continue
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("container %s: allowPrivilegeEscalation must be false", c.Name)
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Errorf("container %s is privileged", c.Name)
		}
		// The container's own setting wins; without one the pod's applies.
		nonRoot := podNonRoot
		if sc.RunAsNonRoot != nil {
			nonRoot = *sc.RunAsNonRoot
		}
		if !nonRoot {
			t.Errorf("container %s: runAsNonRoot must be true", c.Name)
		}
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			t.Errorf("container %s runs as user 0", c.Name)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("container %s: readOnlyRootFilesystem must be true", c.Name)
		}
		if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
			t.Errorf("container %s: capabilities = %+v, want drop [ALL] and nothing added", c.Name, sc.Capabilities)
		}
		seccomp := podSeccomp
		if sc.SeccompProfile != nil {
			seccomp = sc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault || sc.SeccompProfile.Type == corev1.SeccompProfileTypeLocalhost
		}
		if !seccomp {
			t.Errorf("container %s: seccomp profile must be RuntimeDefault", c.Name)
		}
		for _, p := range c.Ports {
			if p.HostPort != 0 {
				t.Errorf("container %s uses hostPort %d", c.Name, p.HostPort)
			}
		}
	}
}

// valueSets returns the value combinations the render checks run over: the
// defaults, each ci/ values file and a few --set variations.
func valueSets(t *testing.T) map[string][]string {
	t.Helper()
	sets := map[string][]string{
		"defaults":         nil,
		"replicas=2":       {"--set", "replicaCount=2"},
		"namespaced":       {"--set", "watch.scope=namespace"},
		"no-election":      {"--set", "leaderElection.enabled=false"},
		"custom-user":      {"--set", "runAsUser=1000", "--set", "runAsGroup=1000"},
		"no-crds-no-rbac":  {"--set", "crds.install=false", "--set", "rbac.create=false", "--set", "serviceAccount.create=false"},
		"no-metrics-svc":   {"--set", "metrics.service.enabled=false"},
		"service-monitor":  {"--set", "serviceMonitor.enabled=true", "--api-versions", "monitoring.coreos.com/v1"},
		"insecure-metrics": {"--set", "metrics.secure=false"},
		"metrics-cert":     {"--set", "metrics.certSecret=op-metrics-tls", "--set", "metrics.readers[0].name=prometheus", "--set", "metrics.readers[0].namespace=monitoring"},
		"custom-ports":     {"--set", "metrics.port=9090", "--set", "healthPort=9091"},
		"image-with-tag":   {"--set", "image.tag=v9.9.9"},
		"namespace-cache":  {"--set", "watch.scope=namespace", "--set", "watch.namespace=cache"},
		"crds-not-kept":    {"--set", "crds.keep=false"},
		"extra-args":       {"--set", "operator.extraArgs={--zap-devel}"},
		"log-level-debug":  {"--set", "operator.logLevel=debug"},
		"priority-class":   {"--set", "priorityClassName=high"},
		"service-account":  {"--set", "serviceAccount.name=op"},
		"pull-policy":      {"--set", "image.pullPolicy=Always"},
		"fullname":         {"--set", "fullnameOverride=rn"},
		"resync":           {"--set", "operator.resyncPeriod=1m30s"},
		"ha-with-election": {"--set", "replicaCount=3", "--set", "leaderElection.enabled=true"},
	}
	files, _ := filepath.Glob(filepath.Join(repoRoot(t), "charts", operatorChart, "ci", "*.yaml"))
	for _, f := range files {
		sets["ci/"+filepath.Base(f)] = []string{"--values", f}
	}
	return sets
}

// TestOperatorLeaderElection checks leader election (flag, lease namespace,
// lease Role and binding, RollingUpdate) is on by default and whenever
// replicaCount > 1, and that switching it off passes --leader-elect=false
// (the manager's default is on) with the Recreate strategy.
func TestOperatorLeaderElection(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want bool
	}{
		{"one replica", nil, true},
		{"disabled with one replica", []string{"--set", "leaderElection.enabled=false"}, false},
		{"two replicas", []string{"--set", "replicaCount=2"}, true},
		{"disabled but two replicas", []string{"--set", "replicaCount=2", "--set", "leaderElection.enabled=false"}, true},
		{"five replicas", []string{"--set", "replicaCount=5"}, true},
		{"namespaced with three replicas", []string{"--set", "replicaCount=3", "--set", "watch.scope=namespace", "--set", "watch.namespace=cache"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs := render(t, operatorChart, "ops", tc.args...)
			var dep appsv1.Deployment
			objs.one(t, "Deployment", &dep)
			c := managerContainer(t, &dep)
			hasFlag := slices.Contains(c.Args, "--leader-elect")
			hasNS := slices.Contains(c.Args, "--leader-election-namespace=ops")
			if hasFlag != tc.want || hasNS != tc.want {
				t.Errorf("args %v: --leader-elect %v, lease namespace %v; want both %v", c.Args, hasFlag, hasNS, tc.want)
			}
			if off := slices.Contains(c.Args, "--leader-elect=false"); off == tc.want {
				t.Errorf("args %v: --leader-elect=false %v, want %v", c.Args, off, !tc.want)
			}
			wantStrategy := appsv1.RecreateDeploymentStrategyType
			if tc.want {
				wantStrategy = appsv1.RollingUpdateDeploymentStrategyType
			}
			if dep.Spec.Strategy.Type != wantStrategy {
				t.Errorf("strategy %q, want %q", dep.Spec.Strategy.Type, wantStrategy)
			}
			var leaseRole *rbacv1.Role
			for _, o := range objs.ofKind("Role") {
				var r rbacv1.Role
				decode(t, o, &r)
				if strings.HasSuffix(r.Name, "-leader-election") {
					leaseRole = &r
				}
			}
			if (leaseRole != nil) != tc.want {
				t.Fatalf("leader-election Role rendered = %v, want %v", leaseRole != nil, tc.want)
			}
			if leaseRole == nil {
				return
			}
			if leaseRole.Namespace != "ops" {
				t.Errorf("leader-election Role in %q, want the release namespace ops", leaseRole.Namespace)
			}
			for _, r := range leaseRole.Rules {
				if !slices.Equal(r.APIGroups, []string{"coordination.k8s.io"}) || !slices.Equal(r.Resources, []string{"leases"}) {
					t.Errorf("leader-election Role grants %+v; want leases only", r)
				}
			}
			bound := false
			for _, o := range objs.ofKind("RoleBinding") {
				var b rbacv1.RoleBinding
				decode(t, o, &b)
				if b.RoleRef.Kind == "Role" && b.RoleRef.Name == leaseRole.Name && b.Namespace == "ops" &&
					len(b.Subjects) == 1 && b.Subjects[0].Name == dep.Spec.Template.Spec.ServiceAccountName {
					bound = true
				}
			}
			if !bound {
				t.Error("no RoleBinding binds the leader-election Role to the operator's ServiceAccount")
			}
		})
	}
}

// TestOperatorScopeSwitch checks watch.scope picks a ClusterRole with a
// ClusterRoleBinding, or a Role with a RoleBinding in the watched namespace
// plus the manager's --namespace flag (and, unless rbac.nodeAccess=false, a
// ClusterRole that only reads Nodes), and that the main rules never grant
// leases (those live in the leader-election Role).
func TestOperatorScopeSwitch(t *testing.T) {
	cases := []struct {
		name        string
		args        []string
		wantNS      string // "" = cluster scope
		releaseNS   string
		wantSAName  string
		wantSANamed string
	}{
		{name: "cluster", releaseNS: "ops"},
		{name: "namespace defaults to the release namespace", args: []string{"--set", "watch.scope=namespace"}, wantNS: "ops", releaseNS: "ops"},
		{name: "explicit namespace", args: []string{"--set", "watch.scope=namespace", "--set", "watch.namespace=cache"}, wantNS: "cache", releaseNS: "ops"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Without leader election, whose lease Role TestOperatorLeaderElection
			// checks, the only Role or ClusterRole is the operator's.
			args := append([]string{"--set", "leaderElection.enabled=false"}, tc.args...)
			// The metrics endpoint's cluster-wide RBAC is the same in both
			// scopes (TestOperatorMetricsRBAC).
			objs := withoutMetricsRBAC(render(t, operatorChart, tc.releaseNS, args...))
			var dep appsv1.Deployment
			objs.one(t, "Deployment", &dep)
			c := managerContainer(t, &dep)
			sa := dep.Spec.Template.Spec.ServiceAccountName
			var rules []rbacv1.PolicyRule
			var bindingOK bool
			if tc.wantNS == "" {
				if n := len(objs.ofKind("Role")); n != 0 {
					t.Errorf("cluster scope rendered %d Roles", n)
				}
				var cr rbacv1.ClusterRole
				objs.one(t, "ClusterRole", &cr)
				rules = cr.Rules
				var crb rbacv1.ClusterRoleBinding
				objs.one(t, "ClusterRoleBinding", &crb)
				bindingOK = crb.RoleRef.Kind == "ClusterRole" && crb.RoleRef.Name == cr.Name &&
					len(crb.Subjects) == 1 && crb.Subjects[0].Name == sa && crb.Subjects[0].Namespace == tc.releaseNS
				for _, a := range c.Args {
					if strings.HasPrefix(a, "--namespace") {
						t.Errorf("cluster scope passes %s", a)
					}
				}
			} else {
				// The only cluster-wide grant is reading Nodes (cluster-scoped),
				// so a drain of the master's node switches it over first.
				var nodes rbacv1.ClusterRole
				objs.one(t, "ClusterRole", &nodes)
				if len(nodes.Rules) != 1 || !slices.Equal(nodes.Rules[0].Resources, []string{"nodes"}) ||
					!slices.Equal(nodes.Rules[0].Verbs, []string{"get", "list", "watch"}) {
					t.Errorf("namespace scope ClusterRole rules = %+v, want only reading nodes", nodes.Rules)
				}
				var nrb rbacv1.ClusterRoleBinding
				objs.one(t, "ClusterRoleBinding", &nrb)
				if nrb.RoleRef.Name != nodes.Name || len(nrb.Subjects) != 1 || nrb.Subjects[0].Name != sa {
					t.Errorf("nodes ClusterRoleBinding = %+v", nrb)
				}
				// The metrics endpoint's token checks are cluster-scoped APIs
				// (TestOperatorMetricsRBAC covers them).
				without := withoutMetricsRBAC(render(t, operatorChart, tc.releaseNS, append(args, "--set", "rbac.nodeAccess=false")...))
				if n := len(without.ofKind("ClusterRole")) + len(without.ofKind("ClusterRoleBinding")); n != 0 {
					t.Errorf("namespace scope with rbac.nodeAccess=false rendered %d cluster-wide RBAC objects besides the metrics endpoint's", n)
				}
				var role rbacv1.Role
				objs.one(t, "Role", &role)
				rules = role.Rules
				if role.Namespace != tc.wantNS {
					t.Errorf("Role in %q, want %q", role.Namespace, tc.wantNS)
				}
				var rb rbacv1.RoleBinding
				objs.one(t, "RoleBinding", &rb)
				bindingOK = rb.Namespace == tc.wantNS && rb.RoleRef.Kind == "Role" && rb.RoleRef.Name == role.Name &&
					len(rb.Subjects) == 1 && rb.Subjects[0].Name == sa && rb.Subjects[0].Namespace == tc.releaseNS
				if !slices.Contains(c.Args, "--namespace="+tc.wantNS) {
					t.Errorf("args %v lack --namespace=%s", c.Args, tc.wantNS)
				}
			}
			if !bindingOK {
				t.Error("the operator role is not bound to the operator's ServiceAccount in the release namespace")
			}
			if len(rules) == 0 {
				t.Fatal("the operator role has no rules")
			}
			for _, r := range rules {
				if slices.Contains(r.Resources, "leases") {
					t.Errorf("operator role grants leases (%+v); they belong to the leader-election Role", r)
				}
			}
		})
	}
}

// TestOperatorOptionalObjects checks the ServiceMonitor is off by default and
// scrapes the metrics Service when on, and that the switches for the CRD,
// RBAC, ServiceAccount and metrics Service remove their objects.
func TestOperatorOptionalObjects(t *testing.T) {
	if n := len(render(t, operatorChart, "ops").ofKind("ServiceMonitor")); n != 0 {
		t.Errorf("default render has %d ServiceMonitors, want none", n)
	}
	if n := len(render(t, operatorChart, "ops", "--set", "serviceMonitor.enabled=true").ofKind("ServiceMonitor")); n != 0 {
		t.Errorf("serviceMonitor.enabled without the monitoring.coreos.com/v1 API rendered %d ServiceMonitors, want none", n)
	}
	objs := render(t, operatorChart, "ops", "--set", "serviceMonitor.enabled=true", "--set", "serviceMonitor.labels.release=prom",
		"--api-versions", "monitoring.coreos.com/v1")
	var sm struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
		Spec struct {
			Selector  struct{ MatchLabels map[string]string } `json:"selector"`
			Endpoints []struct {
				Port, Path, Scheme string
				BearerTokenFile    string `json:"bearerTokenFile"`
				HonorLabels        bool   `json:"honorLabels"`
			} `json:"endpoints"`
		} `json:"spec"`
	}
	o := objs.ofKind("ServiceMonitor")
	if len(o) != 1 {
		t.Fatalf("serviceMonitor.enabled rendered %d ServiceMonitors", len(o))
	}
	if err := yamlUnmarshal(o[0].YAML, &sm); err != nil {
		t.Fatal(err)
	}
	if sm.Metadata.Labels["release"] != "prom" || len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "metrics" || sm.Spec.Endpoints[0].Path != "/metrics" ||
		sm.Spec.Endpoints[0].Scheme != "https" || sm.Spec.Endpoints[0].BearerTokenFile == "" {
		t.Errorf("ServiceMonitor = %+v, want https with the scraper's token on port metrics", sm)
	}
	// replnode_* series carry their group's namespace label; the target's
	// (the operator's namespace) must not overwrite it.
	if !sm.Spec.Endpoints[0].HonorLabels {
		t.Error("ServiceMonitor does not honor the series' labels")
	}
	var svc corev1.Service
	for _, o := range objs.ofKind("Service") {
		if o.Name == "test-replnode-operator-metrics" {
			decode(t, o, &svc)
		}
	}
	for k, v := range sm.Spec.Selector.MatchLabels {
		if svc.Labels[k] != v {
			t.Errorf("ServiceMonitor selects %s=%s, which the metrics Service lacks", k, v)
		}
	}

	stripped := render(t, operatorChart, "ops", "--set", "crds.install=false", "--set", "rbac.create=false",
		"--set", "serviceAccount.create=false", "--set", "metrics.service.enabled=false", "--set", "serviceAccount.name=existing",
		"--set", "webhook.enabled=false")
	if got := stripped.kinds(); !slices.Equal(got, []string{"Deployment/test-replnode-operator"}) {
		t.Errorf("with every switch off rendered %v, want only the Deployment", got)
	}
	var dep appsv1.Deployment
	stripped.one(t, "Deployment", &dep)
	if dep.Spec.Template.Spec.ServiceAccountName != "existing" {
		t.Errorf("serviceAccountName = %q, want the given existing", dep.Spec.Template.Spec.ServiceAccountName)
	}
}

// ------ SCHEMA AND VALUE CHECKS ------

// TestOperatorRejectsBadValues checks bad values fail `helm template` with a
// message naming the value and what is wrong.
func TestOperatorRejectsBadValues(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"zero replicas", []string{"--set", "replicaCount=0"}, []string{"/replicaCount", "minimum"}},
		{"replicas not a number", []string{"--set-string", "replicaCount=two"}, []string{"/replicaCount", "want integer"}},
		{"unknown scope", []string{"--set", "watch.scope=everywhere"}, []string{"/watch/scope", "'cluster', 'namespace'"}},
		{"unknown top-level key", []string{"--set", "replicas=2"}, []string{"additional properties 'replicas' not allowed"}},
		{"typo in a nested key", []string{"--set", "image.repo=x"}, []string{"/image", "additional properties 'repo' not allowed"}},
		{"bad pull policy", []string{"--set", "image.pullPolicy=Sometimes"}, []string{"/image/pullPolicy", "'Always', 'IfNotPresent', 'Never'"}},
		{"bad digest", []string{"--set", "image.digest=sha256:abc"}, []string{"/image/digest", "does not match pattern"}},
		{"empty repository", []string{"--set", "image.repository="}, []string{"/image/repository"}},
		{"duration without unit", []string{"--set-string", "operator.nodeTimeout=5"}, []string{"/operator/nodeTimeout", "does not match pattern"}},
		{"bad log level", []string{"--set", "operator.logLevel=verbose"}, []string{"/operator/logLevel", "'debug', 'info', 'error'"}},
		{"port out of range", []string{"--set", "metrics.port=70000"}, []string{"/metrics/port", "maximum"}},
		{"root user", []string{"--set", "runAsUser=0"}, []string{"/runAsUser", "minimum"}},
		{"bad namespace name", []string{"--set", "watch.scope=namespace", "--set", "watch.namespace=Bad_NS"}, []string{"/watch/namespace", "does not match pattern"}},
		{"serviceMonitor not a boolean", []string{"--set-string", "serviceMonitor.enabled=yes"}, []string{"/serviceMonitor/enabled", "want boolean"}},
		{"namespace with cluster scope", []string{"--set", "watch.namespace=cache"}, []string{`watch.namespace="cache" is only used with watch.scope=namespace`}},
		{"same metrics and health port", []string{"--set", "metrics.port=8081"}, []string{"metrics.port and healthPort must differ"}},
		{"service monitor without service", []string{"--set", "serviceMonitor.enabled=true", "--set", "metrics.service.enabled=false"}, []string{"serviceMonitor.enabled needs metrics.service.enabled=true"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"template", "test", filepath.Join("charts", operatorChart), "--namespace", "ops"}, tc.args...)
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

// TestOperatorMetricsRBAC checks the secured metrics endpoint's RBAC: the
// manager may create TokenReviews and SubjectAccessReviews (nothing else),
// in either scope; <fullname>-metrics-reader grants only GET /metrics and
// is bound to metrics.readers; metrics.secure=false drops all of it and
// passes --metrics-secure=false.
func TestOperatorMetricsRBAC(t *testing.T) {
	for _, scope := range []string{"cluster", "namespace"} {
		objs := render(t, operatorChart, "ops", "--set", "watch.scope="+scope,
			"--set", "metrics.readers[0].name=prometheus", "--set", "metrics.readers[0].namespace=monitoring")
		roles := map[string]rbacv1.ClusterRole{}
		for _, o := range objs.ofKind("ClusterRole") {
			var r rbacv1.ClusterRole
			decode(t, o, &r)
			roles[r.Name] = r
		}
		auth, reader := roles["test-replnode-operator-metrics-auth"], roles["test-replnode-operator-metrics-reader"]
		wantAuth := []rbacv1.PolicyRule{
			{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"tokenreviews"}, Verbs: []string{"create"}},
			{APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"subjectaccessreviews"}, Verbs: []string{"create"}},
		}
		if !reflect.DeepEqual(auth.Rules, wantAuth) {
			t.Errorf("%s: metrics-auth rules = %+v", scope, auth.Rules)
		}
		if want := []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}; !reflect.DeepEqual(reader.Rules, want) {
			t.Errorf("%s: metrics-reader rules = %+v", scope, reader.Rules)
		}
		bindings := map[string]rbacv1.ClusterRoleBinding{}
		for _, o := range objs.ofKind("ClusterRoleBinding") {
			var b rbacv1.ClusterRoleBinding
			decode(t, o, &b)
			bindings[b.Name] = b
		}
		if b := bindings["test-replnode-operator-metrics-auth"]; b.RoleRef.Name != auth.Name || len(b.Subjects) != 1 ||
			b.Subjects[0].Name != "test-replnode-operator" || b.Subjects[0].Namespace != "ops" {
			t.Errorf("%s: metrics-auth binding = %+v, want the operator's ServiceAccount", scope, b)
		}
		if b := bindings["test-replnode-operator-metrics-reader"]; b.RoleRef.Name != reader.Name || len(b.Subjects) != 1 ||
			b.Subjects[0].Name != "prometheus" || b.Subjects[0].Namespace != "monitoring" {
			t.Errorf("%s: metrics-reader binding = %+v, want metrics.readers", scope, b)
		}
	}
	plain := render(t, operatorChart, "ops", "--set", "metrics.secure=false")
	if got := len(metricsRBAC(plain)); got != 0 {
		t.Errorf("metrics.secure=false rendered %d metrics RBAC objects", got)
	}
	var dep appsv1.Deployment
	plain.one(t, "Deployment", &dep)
	if c := managerContainer(t, &dep); !slices.Contains(c.Args, "--metrics-secure=false") {
		t.Errorf("metrics.secure=false: args %v", c.Args)
	}
}

// ------ HELPERS ------

// isMetricsRBAC reports whether o is the metrics endpoint's RBAC
// (templates/metrics-rbac.yaml).
func isMetricsRBAC(o object) bool {
	return strings.HasPrefix(o.Kind, "ClusterRole") && (strings.HasSuffix(o.Name, "-metrics-auth") || strings.HasSuffix(o.Name, "-metrics-reader"))
}

func metricsRBAC(objs rendered) rendered {
	var out rendered
	for _, o := range objs {
		if isMetricsRBAC(o) {
			out = append(out, o)
		}
	}
	return out
}

// withoutMetricsRBAC drops the metrics endpoint's RBAC from objs.
func withoutMetricsRBAC(objs rendered) rendered {
	var out rendered
	for _, o := range objs {
		if !isMetricsRBAC(o) {
			out = append(out, o)
		}
	}
	return out
}

// managerContainer returns the Deployment's "manager" container.
func managerContainer(t *testing.T, dep *appsv1.Deployment) *corev1.Container {
	t.Helper()
	for i := range dep.Spec.Template.Spec.Containers {
		if dep.Spec.Template.Spec.Containers[i].Name == "manager" {
			return &dep.Spec.Template.Spec.Containers[i]
		}
	}
	t.Fatalf("Deployment %s has no manager container", dep.Name)
	return nil
}

// chartAppVersion reads appVersion from charts/<chart>/Chart.yaml.
func chartAppVersion(t *testing.T, chart string) string {
	t.Helper()
	var meta struct {
		AppVersion string `json:"appVersion"`
	}
	readYAML(t, filepath.Join("charts", chart, "Chart.yaml"), &meta)
	if meta.AppVersion == "" {
		t.Fatalf("charts/%s/Chart.yaml has no appVersion", chart)
	}
	return meta.AppVersion
}
