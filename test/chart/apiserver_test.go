package chart

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"
)

// ------ AGAINST A REAL API SERVER ------

// k8sAssets returns the directory with etcd and kube-apiserver:
// KUBEBUILDER_ASSETS (set by `make test`) or the newest bin/k8s/<version>
// holding a .stamp. It skips the test when neither exists.
func k8sAssets(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		matches, _ := filepath.Glob(filepath.Join(repoRoot(t), "bin", "k8s", "v*", ".stamp"))
		if len(matches) == 0 {
			t.Skip("no control plane binaries: KUBEBUILDER_ASSETS is unset and bin/k8s/<version>/.stamp is missing (run `make k8s-bins`, or `make test`)")
		}
		dir = filepath.Dir(matches[len(matches)-1])
	}
	for _, b := range []string{"etcd", "kube-apiserver"} {
		if !fileExists(filepath.Join(dir, b)) {
			t.Fatalf("%s is missing from %s: run `make k8s-bins`", b, dir)
		}
	}
	return dir
}

// TestChartsAgainstAPIServer applies the rendered charts to a real
// kube-apiserver (envtest): the operator chart's CRD for real, every other
// object as a server-side dry run (so the API server validates it), the
// group chart's ReplicationGroups against that CRD (its CEL rules included),
// and the operator pod into a namespace enforcing the restricted Pod Security
// Standard.
func TestChartsAgainstAPIServer(t *testing.T) {
	env := &envtest.Environment{
		BinaryAssetsDirectory:    k8sAssets(t),
		ControlPlaneStartTimeout: 3 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting envtest: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Logf("stopping envtest: %v", err)
		}
	})
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	for _, ns := range []string{"ops", "apps", "cache"} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}

	// The operator chart: CRD for real, the rest dry-run, for each value set.
	installCRD(ctx, t, c)
	for name, args := range valueSets(t) {
		for _, o := range render(t, operatorChart, "ops", args...) {
			if o.Kind == "CustomResourceDefinition" || o.Kind == "ServiceMonitor" {
				continue // the CRD is installed; ServiceMonitor's CRD is not
			}
			dryRunCreate(ctx, t, c, name, o)
		}
	}

	// The group chart against the installed CRD.
	files, _ := filepath.Glob(filepath.Join(repoRoot(t), "charts", groupChart, "ci", "*.yaml"))
	groupSets := map[string][]string{"defaults": nil}
	for _, f := range files {
		groupSets["ci/"+filepath.Base(f)] = []string{"--values", f}
	}
	for name, args := range groupSets {
		for _, o := range render(t, groupChart, "apps", args...) {
			dryRunCreate(ctx, t, c, "group "+name, o)
		}
	}

	// The restricted Pod Security Standard, enforced by the API server. Pods
	// (unlike Deployments) must name an existing PriorityClass.
	if err := c.Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "high"}, Value: 1000}); err != nil {
		t.Fatal(err)
	}
	restricted := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "restricted", Labels: map[string]string{
		"pod-security.kubernetes.io/enforce":         "restricted",
		"pod-security.kubernetes.io/enforce-version": "latest",
	}}}
	if err := c.Create(ctx, restricted); err != nil {
		t.Fatal(err)
	}
	for name, args := range valueSets(t) {
		var dep appsv1.Deployment
		render(t, operatorChart, "restricted", args...).one(t, "Deployment", &dep)
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "operator", Namespace: "restricted", Labels: dep.Spec.Template.Labels},
			Spec:       dep.Spec.Template.Spec,
		}
		// The ServiceAccount may not exist (and need not for PSS).
		pod.Spec.ServiceAccountName = ""
		if err := c.Create(ctx, pod, client.DryRunAll); err != nil {
			t.Errorf("%s: the operator pod is refused by the restricted Pod Security Standard: %v", name, err)
		}
	}
	helmLifecycle(ctx, t, env, c)

	// Negative control: the namespace really enforces the standard.
	var dep appsv1.Deployment
	render(t, operatorChart, "restricted").one(t, "Deployment", &dep)
	bad := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: "restricted"}, Spec: dep.Spec.Template.Spec}
	bad.Spec.ServiceAccountName = ""
	bad.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
	err = c.Create(ctx, bad, client.DryRunAll)
	if err == nil || !strings.Contains(err.Error(), "PodSecurity") {
		t.Errorf("a pod allowing privilege escalation was not refused by PodSecurity (err %v); the check above proves nothing", err)
	}
}

// installCRD creates the CRD the operator chart renders and waits until it
// is Established.
func installCRD(ctx context.Context, t *testing.T, c client.Client) {
	t.Helper()
	objs := render(t, operatorChart, "ops").ofKind("CustomResourceDefinition")
	if len(objs) == 0 {
		t.Fatal("the operator chart renders no CustomResourceDefinition")
	}
	for _, o := range objs {
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(o.YAML, &crd); err != nil {
			t.Fatal(err)
		}
		if err := c.Create(ctx, &crd); err != nil {
			t.Fatalf("creating the rendered CRD %s: %v", crd.Name, err)
		}
		waitEstablished(ctx, t, c, crd.Name)
	}
}

func waitEstablished(ctx context.Context, t *testing.T, c client.Client, name string) {
	t.Helper()
	for {
		var got apiextensionsv1.CustomResourceDefinition
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &got); err == nil {
			for _, cond := range got.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return
				}
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("CRD %s never became Established", name)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// dryRunCreate asks the API server to validate and admit o without storing
// it, failing t with what the server said.
func dryRunCreate(ctx context.Context, t *testing.T, c client.Client, what string, o object) {
	t.Helper()
	var u unstructured.Unstructured
	if err := yaml.Unmarshal(o.YAML, &u.Object); err != nil {
		t.Fatalf("%s: %s/%s: %v", what, o.Kind, o.Name, err)
	}
	if err := c.Create(ctx, &u, client.DryRunAll); err != nil {
		t.Errorf("%s: the API server refuses %s/%s from %s: %v", what, o.Kind, o.Name, o.Source, err)
	}
}

// helmLifecycle installs the operator chart into the envtest API server with
// helm, upgrades it with a changed CRD and uninstalls it, checking the
// README's promises: `helm upgrade` really upgrades the CRD (it is a
// template, not a crds/ file), and `helm uninstall` keeps it.
func helmLifecycle(ctx context.Context, t *testing.T, env *envtest.Environment, c client.Client) {
	t.Helper()
	admin, err := env.AddUser(envtest.User{Name: "chart-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	kcPath := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kcPath, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	// A copy of the chart whose CRD gets a marker in its description, as a
	// newer controller-gen output would change it.
	chartCopy := filepath.Join(dir, operatorChart)
	if err := os.CopyFS(chartCopy, os.DirFS(filepath.Join(repoRoot(t), "charts", operatorChart))); err != nil {
		t.Fatal(err)
	}
	crdName := "replicationgroups.replnode.io"
	helmIn := func(args ...string) {
		t.Helper()
		full := append(slices.Clone(args), "--kubeconfig", kcPath, "--namespace", "lifecycle")
		if out, stderr, err := helm(t, full...); err != nil {
			t.Fatalf("helm %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
		}
	}
	// The CRDs are already installed (without Helm's ownership) by the test
	// above; delete them so this release owns its own, then wait until gone.
	for _, name := range []string{crdName, "backups.replnode.io", "scheduledbackups.replnode.io"} {
		if err := c.Delete(ctx, &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
			t.Fatal(err)
		}
		for {
			var crd apiextensionsv1.CustomResourceDefinition
			if err := c.Get(ctx, client.ObjectKey{Name: name}, &crd); err != nil {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("CRD %s was never deleted", name)
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	helmIn("install", "lc", chartCopy, "--create-namespace")
	crdDescription := func() string {
		t.Helper()
		var crd apiextensionsv1.CustomResourceDefinition
		if err := c.Get(ctx, client.ObjectKey{Name: crdName}, &crd); err != nil {
			t.Fatalf("CRD after helm: %v", err)
		}
		return crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Description
	}
	before := crdDescription()

	crdFile := filepath.Join(chartCopy, "files", "crds", "replnode.io_replicationgroups.yaml")
	data, err := os.ReadFile(crdFile)
	if err != nil {
		t.Fatal(err)
	}
	const marker = "upgraded-by-helm"
	var doc apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(data, &doc); err != nil {
		t.Fatal(err)
	}
	doc.Spec.Versions[0].Schema.OpenAPIV3Schema.Description = marker + " " + doc.Spec.Versions[0].Schema.OpenAPIV3Schema.Description
	changed, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(crdFile, changed, 0o644); err != nil {
		t.Fatal(err)
	}
	helmIn("upgrade", "lc", chartCopy)
	after := crdDescription()
	if strings.Contains(before, marker) || !strings.Contains(after, marker) {
		t.Errorf("helm upgrade did not upgrade the CRD: description before %q, after %q", before, after)
	}

	helmIn("uninstall", "lc")
	var crd apiextensionsv1.CustomResourceDefinition
	if err := c.Get(ctx, client.ObjectKey{Name: crdName}, &crd); err != nil {
		t.Errorf("helm uninstall removed the CRD (want it kept): %v", err)
	}
	var deps appsv1.DeploymentList
	if err := c.List(ctx, &deps, client.InNamespace("lifecycle")); err != nil {
		t.Fatal(err)
	}
	if len(deps.Items) != 0 {
		t.Errorf("helm uninstall left %d Deployments", len(deps.Items))
	}
}
