package chart

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/replnode/replnode/hack/localcluster/cluster"
)

// ------ DEMO INSTALL ON THE LOCAL CLUSTER ------

// What the demo test installs and where. The group is config/samples'
// ReplicationGroup (cache: a master and two replicas, members cache-0..2,
// PVCs data-cache-0..2), applied in a namespace of its own so that the
// operator's cluster-wide RBAC, not the release namespace, is exercised.
const (
	demoNamespace      = "replnode-demo"
	demoRelease        = "demo"
	demoOperatorPrefix = "demo-replnode-operator-"
	demoOperatorLabels = "app.kubernetes.io/instance=" + demoRelease + ",app.kubernetes.io/component=operator"
	demoLeaseName      = "replnode-operator.replnode.io"
	demoGroupNamespace = "chart-demo-group"
	demoGroup          = "cache"
	demoGroupMembers   = 3
)

// TestDemoInstallOnLocalCluster brings up a three-node local cluster of its
// own (own state directory, bridge and pod range) and, against the real
// control plane and the real manager, checks the chart's whole life:
//  1. hack/chart/demo-install.sh with two operator replicas: both pods Ready
//     (the script waits for that) and one holds the leader-election lease;
//  2. config/samples applied afterwards in another namespace reaches Ready —
//     the chart's RBAC is enough for the operator to run a group;
//  3. `helm upgrade --reuse-values --set operator.logLevel=debug` rolls the
//     operator (a new ReplicaSet, new pods Ready with the new flag, one of
//     them the leader) while the group stays Ready;
//  4. `helm upgrade` again, in the middle of a failover (the master's server
//     killed under a WAIT-acknowledged writer, status.targetMaster recorded,
//     the promotion held until the new pods lead): the upgraded operator
//     resumes the failover from status to the recorded target, with one
//     promotion and no acknowledged write lost (midfailover_test.go);
//  5. `helm uninstall` removes the operator and leaves the group, its pods
//     and its PVCs (the CRD is kept by design).
//
// Three nodes because the operator's default anti-affinity spreads members
// over nodes; it is only preferred, but three nodes is the layout the demo
// and the group are meant for. CHART_TEST_BRIDGE and CHART_TEST_POD_CIDR
// override the bridge and pod range (default lcchart0 and 10.247.0.0/24) so
// two checkouts can run the test at once. It needs root (network
// namespaces), the control-plane binaries, kubectl and bin/manager and
// bin/replnode; it skips with the reason when one is missing.
func TestDemoInstallOnLocalCluster(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the local cluster's network namespaces")
	}
	k8sAssets(t)
	root := repoRoot(t)
	for _, b := range []string{"manager", "replnode"} {
		if !fileExists(filepath.Join(root, "bin", b)) {
			t.Skipf("bin/%s is missing; run `make build` (make test does)", b)
		}
	}
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl is not on PATH; demo-install.sh needs it")
	}
	helmBin(t)

	c, err := cluster.DefaultConfig(root)
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	c.StateDir = filepath.Join(state, "cluster")
	c.Bridge = envOr("CHART_TEST_BRIDGE", "lcchart0")
	c.PodCIDR = envOr("CHART_TEST_POD_CIDR", "10.247.0.0/24")
	c.Nodes = 3
	agent := filepath.Join(state, "localcluster")
	build := exec.Command("go", "build", "-o", agent, "./hack/localcluster")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building hack/localcluster: %v\n%s", err, out)
	}
	logf := func(format string, a ...any) { t.Logf("localcluster: "+format, a...) }
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		if err := cluster.Down(c, logf); err != nil {
			t.Logf("localcluster down: %v", err)
		}
	})
	if err := cluster.Up(ctx, c, agent, logf); err != nil {
		t.Fatalf("localcluster up: %v", err)
	}

	script := exec.CommandContext(ctx, filepath.Join(root, "hack/chart/demo-install.sh"), "--set", "replicaCount=2")
	script.Env = append(os.Environ(), "KUBECONFIG="+c.AdminKubeconfig(), "NAMESPACE="+demoNamespace, "RELEASE="+demoRelease, "TIMEOUT=300s")
	out, err := script.CombinedOutput()
	if err != nil {
		t.Fatalf("demo-install.sh: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "operator Ready") {
		t.Fatalf("demo-install.sh succeeded without reporting the operator Ready:\n%s", out)
	}

	rest, err := clientcmd.BuildConfigFromFlags("", c.AdminKubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(rest)
	if err != nil {
		t.Fatal(err)
	}
	d := &demoCluster{t: t, root: root, cfg: c, agent: agent, cs: cs}
	if holder, err := d.waitLeader(ctx, 3*time.Minute, nil); err != nil {
		t.Fatalf("no operator pod holds the leader-election lease in %s: %v\ndemo-install output:\n%s", demoNamespace, err, out)
	} else {
		t.Logf("operator leader after install: %s", holder)
	}

	d.groupBecomesReady(ctx)
	d.upgradeRollsOperator(ctx)
	d.upgradeMidFailover(ctx)
	d.uninstallKeepsGroup(ctx)
}

// envOr returns the environment variable name, or def when it is unset or
// empty.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// ------ DEMO CLUSTER HELPERS ------

// demoCluster is what the steps of TestDemoInstallOnLocalCluster share: the
// cluster's configuration, the localcluster binary built for it (for pod
// logs) and a clientset with the admin kubeconfig.
type demoCluster struct {
	t     *testing.T
	root  string
	cfg   *cluster.Config
	agent string
	cs    kubernetes.Interface
}

// kubectl runs kubectl with the cluster's admin kubeconfig in the
// repository root and returns its combined output; the error is non-nil when
// kubectl exits non-zero.
func (d *demoCluster) kubectl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "kubectl", args...)
	cmd.Dir = d.root
	cmd.Env = append(os.Environ(), "KUBECONFIG="+d.cfg.AdminKubeconfig())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// helm runs bin/helm against the cluster (the package's helm helper, which
// keeps helm away from the user's configuration) and returns its combined
// output; the error is non-nil when helm exits non-zero.
func (d *demoCluster) helm(args ...string) (string, error) {
	stdout, stderr, err := helm(d.t, append(args, "--kubeconfig", d.cfg.AdminKubeconfig())...)
	return stdout + stderr, err
}

// diagnostics returns what explains a group or operator that is not where
// the test expects it: the group's description, its pods and PVCs, the
// operator pods and the last lines of each operator pod's log (read from the
// node agent's state with `localcluster logs`). Errors of the commands are
// part of the text; it never fails.
func (d *demoCluster) diagnostics() string {
	// A fresh context: the test's may be the one that just ran out.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var b strings.Builder
	section := func(title, text string, err error) {
		fmt.Fprintf(&b, "--- %s\n%s", title, text)
		if err != nil {
			fmt.Fprintf(&b, "(%v)\n", err)
		}
	}
	out, err := d.kubectl(ctx, "describe", "rg", "-n", demoGroupNamespace)
	section("kubectl describe rg -n "+demoGroupNamespace, out, err)
	out, err = d.kubectl(ctx, "get", "pods,pvc", "-o", "wide", "-n", demoGroupNamespace)
	section("kubectl get pods,pvc -n "+demoGroupNamespace, out, err)
	out, err = d.kubectl(ctx, "get", "pods", "-o", "wide", "-n", demoNamespace, "-l", demoOperatorLabels)
	section("operator pods", out, err)
	pods, err := d.cs.CoreV1().Pods(demoNamespace).List(ctx, metav1.ListOptions{LabelSelector: demoOperatorLabels})
	if err != nil {
		section("operator pod logs", "", err)
		return b.String()
	}
	for _, p := range pods.Items {
		cmd := exec.CommandContext(ctx, d.agent, "logs", p.Name, "-n", demoNamespace)
		cmd.Dir = d.root
		cmd.Env = append(os.Environ(), "LOCALCLUSTER_STATE_DIR="+d.cfg.StateDir)
		log, err := cmd.CombinedOutput()
		section("localcluster logs "+p.Name+" (last 60 lines)", lastLines(string(log), 60), err)
	}
	return b.String()
}

// lastLines returns the last n lines of text.
func lastLines(text string, n int) string {
	lines := strings.SplitAfter(text, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

// waitLeader waits up to timeout until an operator pod of the release holds
// the leader-election lease — one whose name is in among, when among is not
// nil (controller-runtime's holder identity is "<hostname>_<uuid>" and the
// agent sets a pod's hostname to its name). It returns the holder identity,
// or the last reason it was not good enough.
func (d *demoCluster) waitLeader(ctx context.Context, timeout time.Duration, among []string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		lease, err := d.cs.CoordinationV1().Leases(demoNamespace).Get(ctx, demoLeaseName, metav1.GetOptions{})
		if err == nil {
			holder := ""
			if lease.Spec.HolderIdentity != nil {
				holder = *lease.Spec.HolderIdentity
			}
			pod, _, _ := strings.Cut(holder, "_")
			switch {
			case !strings.HasPrefix(holder, demoOperatorPrefix):
				err = fmt.Errorf("lease holder %q is not an operator pod", holder)
			case among != nil && !slices.Contains(among, pod):
				err = fmt.Errorf("lease holder %q is none of %v", holder, among)
			default:
				return holder, nil
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return "", last
		case <-time.After(time.Second):
		}
	}
}

// waitGroupReady runs `kubectl wait rg/cache --for=condition=Ready` with the
// given timeout and fails the test with the diagnostics when it does not
// come.
func (d *demoCluster) waitGroupReady(ctx context.Context, timeout time.Duration, when string) {
	out, err := d.kubectl(ctx, "wait", "rg/"+demoGroup, "-n", demoGroupNamespace,
		"--for=condition=Ready", "--timeout="+timeout.String())
	if err != nil {
		d.t.Fatalf("%s: ReplicationGroup %s/%s not Ready within %s: %v\n%s\n%s",
			when, demoGroupNamespace, demoGroup, timeout, err, out, d.diagnostics())
	}
}

// ------ A GROUP UNDER THE CHART'S OPERATOR ------

// groupBecomesReady applies config/samples (kubectl apply -k) in its own
// namespace and waits up to three minutes for the ReplicationGroup's Ready
// condition: the operator, with only the RBAC the chart grants, creates the
// members' pods, PVCs, ConfigMap and Services and wires replication.
func (d *demoCluster) groupBecomesReady(ctx context.Context) {
	t := d.t
	if out, err := d.kubectl(ctx, "create", "namespace", demoGroupNamespace); err != nil {
		t.Fatalf("kubectl create namespace %s: %v\n%s", demoGroupNamespace, err, out)
	}
	out, err := d.kubectl(ctx, "apply", "-k", "config/samples", "-n", demoGroupNamespace)
	if err != nil {
		t.Fatalf("kubectl apply -k config/samples: %v\n%s", err, out)
	}
	t.Logf("applied config/samples in %s:\n%s", demoGroupNamespace, out)
	start := time.Now()
	d.waitGroupReady(ctx, 3*time.Minute, "after kubectl apply -k config/samples")
	t.Logf("ReplicationGroup %s/%s Ready after %s", demoGroupNamespace, demoGroup, time.Since(start).Round(time.Second))
	d.webhookRefusesBadConfig(ctx)
	d.pluginPrintsStatus(ctx)
}

// pluginPrintsStatus runs `kubectl replnode status` (bin/kubectl-replnode,
// built by make build) against the cluster: it prints the Ready group with
// its master and its three members.
func (d *demoCluster) pluginPrintsStatus(ctx context.Context) {
	t := d.t
	plugin := filepath.Join(d.root, "bin", "kubectl-replnode")
	if !fileExists(plugin) {
		t.Log("bin/kubectl-replnode is missing (make build builds it); not checking the plugin")
		return
	}
	cmd := exec.CommandContext(ctx, plugin, "status", demoGroup, "-n", demoGroupNamespace, "--kubeconfig", d.cfg.AdminKubeconfig())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl replnode status: %v\n%s", err, out)
	}
	text := string(out)
	if !strings.Contains(text, "ReplicationGroup "+demoGroupNamespace+"/"+demoGroup+": Running, master ") ||
		!strings.Contains(text, "replicas 2/2 ready") || strings.Count(text, "\n"+demoGroup+"-") != 3 {
		t.Errorf("kubectl replnode status does not show the Ready group and its 3 members:\n%s", text)
	}
	t.Logf("kubectl replnode status:\n%s", text)
}

// webhookRefusesBadConfig checks the chart's validating webhook works in
// the cluster (certificate, Service, the API server reaching the manager):
// a server-side dry run of a bad spec.config is refused with the node's
// message. A dry run changes nothing; webhooks with sideEffects None see it.
func (d *demoCluster) webhookRefusesBadConfig(ctx context.Context) {
	t := d.t
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out, err := d.kubectl(ctx, "patch", "rg", demoGroup, "-n", demoGroupNamespace, "--type", "merge",
			"-p", `{"spec":{"config":{"maxmemory":"lots"}}}`, "--dry-run=server")
		if err != nil {
			if !strings.Contains(out, `spec.config[maxmemory]: Invalid value: "lots": argument must be a memory value`) {
				t.Fatalf("the dry run was refused without the node's message: %v\n%s", err, out)
			}
			t.Logf("webhook refuses maxmemory lots: %s", strings.TrimSpace(out))
			return
		}
		// Accepted: the webhook was not reachable (failurePolicy Ignore).
		if time.Now().After(deadline) {
			t.Fatalf("the chart's webhook never refused maxmemory lots (the API server cannot reach it?)\n%s", d.diagnostics())
		}
		time.Sleep(2 * time.Second)
	}
}

// ------ HELM UPGRADE ------

// upgradeRollsOperator runs `helm upgrade --reuse-values --set
// operator.logLevel=debug` and checks the Deployment rolled: its pods come
// from a new ReplicaSet (a new pod-template-hash), none of the old pods is
// left, the new ones are Ready with --zap-log-level=debug, one of them takes
// the lease, and the group is Ready all along the way and after.
func (d *demoCluster) upgradeRollsOperator(ctx context.Context) {
	t := d.t
	before, err := d.operatorPods(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != 2 {
		t.Fatalf("want the 2 operator pods installed with replicaCount=2 before the upgrade, got %d", len(before))
	}
	oldNames := podNames(before)
	oldHash := before[0].Labels[appsv1.DefaultDeploymentUniqueLabelKey]

	out, err := d.helm("upgrade", demoRelease, "charts/replnode-operator", "-n", demoNamespace,
		"--reuse-values", "--set", "operator.logLevel=debug", "--wait", "--timeout", "5m")
	if err != nil {
		t.Fatalf("helm upgrade --reuse-values --set operator.logLevel=debug: %v\n%s\n%s", err, out, d.diagnostics())
	}
	rolled, err := d.waitRolled(ctx, 5*time.Minute, oldNames, oldHash, "--zap-log-level=debug")
	if err != nil {
		t.Fatalf("after helm upgrade the operator did not roll: %v\n%s", err, d.diagnostics())
	}
	t.Logf("operator rolled: %v -> %v", oldNames, podNames(rolled))

	holder, err := d.waitLeader(ctx, 3*time.Minute, podNames(rolled))
	if err != nil {
		t.Fatalf("no upgraded operator pod took the lease: %v\n%s", err, d.diagnostics())
	}
	t.Logf("operator leader after upgrade: %s", holder)
	d.waitGroupReady(ctx, time.Minute, "after helm upgrade")
}

// operatorPods lists the release's operator pods that are not being
// deleted.
func (d *demoCluster) operatorPods(ctx context.Context) ([]corev1.Pod, error) {
	list, err := d.cs.CoreV1().Pods(demoNamespace).List(ctx, metav1.ListOptions{LabelSelector: demoOperatorLabels})
	if err != nil {
		return nil, fmt.Errorf("listing operator pods: %w", err)
	}
	var pods []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			pods = append(pods, p)
		}
	}
	return pods, nil
}

// waitRolled waits up to timeout until the operator's pods are exactly two,
// none of them named in oldNames or labelled with oldHash, all Ready and all
// running the manager with the argument flag (the upgrade's new value). It
// returns those pods, or the last reason they were not.
func (d *demoCluster) waitRolled(ctx context.Context, timeout time.Duration, oldNames []string, oldHash, flag string) ([]corev1.Pod, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		pods, err := d.operatorPods(ctx)
		if err == nil {
			err = rolledFrom(pods, oldNames, oldHash, flag)
		}
		if err == nil {
			return pods, nil
		}
		last = err
		select {
		case <-ctx.Done():
			return nil, last
		case <-time.After(2 * time.Second):
		}
	}
}

// rolledFrom returns nil when pods are the two pods of a new ReplicaSet —
// names not in oldNames, pod-template-hash not oldHash — all Ready and
// running with the argument flag, and otherwise says what is missing.
func rolledFrom(pods []corev1.Pod, oldNames []string, oldHash, flag string) error {
	if len(pods) != 2 {
		return fmt.Errorf("%d operator pods %v, want 2", len(pods), podNames(pods))
	}
	for _, p := range pods {
		hash := p.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
		switch {
		case slices.Contains(oldNames, p.Name):
			return fmt.Errorf("pod %s from before the upgrade is still there", p.Name)
		case hash == oldHash:
			return fmt.Errorf("pod %s has the old pod-template-hash %s", p.Name, hash)
		case !podReady(&p):
			return fmt.Errorf("pod %s is not Ready (phase %s)", p.Name, p.Status.Phase)
		case !hasArg(p.Spec.Containers, flag):
			return fmt.Errorf("pod %s does not run the manager with %s", p.Name, flag)
		}
	}
	return nil
}

// podNames returns the pods' names, in order.
func podNames(pods []corev1.Pod) []string {
	names := make([]string, len(pods))
	for i, p := range pods {
		names[i] = p.Name
	}
	return names
}

// podReady reports whether the pod's Ready condition is True.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// hasArg reports whether any container has arg among its args.
func hasArg(containers []corev1.Container, arg string) bool {
	for _, c := range containers {
		if slices.Contains(c.Args, arg) || slices.Contains(c.Command, arg) {
			return true
		}
	}
	return false
}

// ------ HELM UNINSTALL ------

// uninstallKeepsGroup runs `helm uninstall` and checks it removed the
// operator (its Deployment and pods) but not the user's group: the CRD, the
// ReplicationGroup, its member pods and their PVCs still exist, none being
// deleted, and the same objects (same UIDs) are still there after a further
// pause in which a cascading deletion would have shown.
func (d *demoCluster) uninstallKeepsGroup(ctx context.Context) {
	t := d.t
	before, err := d.groupObjects(ctx)
	if err != nil {
		t.Fatalf("before helm uninstall: %v\n%s", err, d.diagnostics())
	}
	out, err := d.helm("uninstall", demoRelease, "-n", demoNamespace, "--wait", "--timeout", "3m")
	if err != nil {
		t.Fatalf("helm uninstall: %v\n%s", err, out)
	}
	t.Logf("helm uninstall:\n%s", out)

	deployments, err := d.cs.AppsV1().Deployments(demoNamespace).List(ctx, metav1.ListOptions{LabelSelector: demoOperatorLabels})
	if err != nil {
		t.Fatal(err)
	}
	if len(deployments.Items) != 0 {
		t.Fatalf("helm uninstall left the operator Deployment %s", deployments.Items[0].Name)
	}
	if err := d.waitOperatorGone(ctx, 2*time.Minute); err != nil {
		t.Fatalf("after helm uninstall: %v", err)
	}
	if out, err := d.kubectl(ctx, "get", "crd", "replicationgroups.replnode.io"); err != nil {
		t.Fatalf("helm uninstall removed the CRD (crds.keep is on by default): %v\n%s", err, out)
	}
	// Give the garbage collector time to act on anything the uninstall
	// orphaned or deleted before looking again.
	select {
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	case <-time.After(15 * time.Second):
	}
	after, err := d.groupObjects(ctx)
	if err != nil {
		t.Fatalf("after helm uninstall: %v\n%s", err, d.diagnostics())
	}
	for name, uid := range before {
		if after[name] != uid {
			t.Errorf("after helm uninstall %s has UID %q, before %q: it was deleted and recreated", name, after[name], uid)
		}
	}
	t.Logf("after helm uninstall the group, its %d pods and PVCs are untouched", demoGroupMembers)
}

// waitOperatorGone waits up to timeout until the release's operator pods are
// gone (deleted, not only terminating).
func (d *demoCluster) waitOperatorGone(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		list, err := d.cs.CoreV1().Pods(demoNamespace).List(ctx, metav1.ListOptions{LabelSelector: demoOperatorLabels})
		if err == nil && len(list.Items) == 0 {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("operator pods %v still exist", podNames(list.Items))
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(2 * time.Second):
		}
	}
}

// groupObjects returns the UIDs of the ReplicationGroup, its member pods and
// their PVCs by "kind/name", or an error naming the first one that is
// missing or being deleted.
func (d *demoCluster) groupObjects(ctx context.Context) (map[string]string, error) {
	uids := map[string]string{}
	out, err := d.kubectl(ctx, "get", "rg", demoGroup, "-n", demoGroupNamespace,
		"-o", "jsonpath={.metadata.uid} {.metadata.deletionTimestamp}")
	if err != nil {
		return nil, fmt.Errorf("ReplicationGroup %s: %v\n%s", demoGroup, err, out)
	}
	fields := strings.Fields(out)
	if len(fields) != 1 {
		return nil, fmt.Errorf("ReplicationGroup %s is being deleted (uid and deletionTimestamp: %q)", demoGroup, out)
	}
	uids["replicationgroup/"+demoGroup] = fields[0]
	for i := range demoGroupMembers {
		member := fmt.Sprintf("%s-%d", demoGroup, i)
		pod, err := d.cs.CoreV1().Pods(demoGroupNamespace).Get(ctx, member, metav1.GetOptions{})
		if err != nil {
			return nil, describeMissing("pod", member, err)
		}
		if pod.DeletionTimestamp != nil {
			return nil, fmt.Errorf("pod %s is being deleted", member)
		}
		uids["pod/"+member] = string(pod.UID)
		pvc, err := d.cs.CoreV1().PersistentVolumeClaims(demoGroupNamespace).Get(ctx, "data-"+member, metav1.GetOptions{})
		if err != nil {
			return nil, describeMissing("pvc", "data-"+member, err)
		}
		if pvc.DeletionTimestamp != nil {
			return nil, fmt.Errorf("pvc data-%s is being deleted", member)
		}
		uids["pvc/data-"+member] = string(pvc.UID)
	}
	return uids, nil
}

// describeMissing wraps a Get error, saying plainly when the object is gone.
func describeMissing(kind, name string, err error) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%s %s no longer exists", kind, name)
	}
	return fmt.Errorf("%s %s: %w", kind, name, err)
}

// ------ THE ROLL CHECK ITSELF ------

// TestRolledFrom checks the predicate the upgrade step waits on, without a
// cluster: two Ready pods of a new ReplicaSet running with the debug flag
// pass, and each way of not having rolled yet is refused with its reason.
func TestRolledFrom(t *testing.T) {
	pod := func(name, hash string, ready bool, args ...string) corev1.Pod {
		status := corev1.ConditionFalse
		if ready {
			status = corev1.ConditionTrue
		}
		return corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{appsv1.DefaultDeploymentUniqueLabelKey: hash}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "manager", Args: args}}},
			Status:     corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}},
		}
	}
	old := []string{"op-aaa-1", "op-aaa-2"}
	debug := "--zap-log-level=debug"
	for _, tc := range []struct {
		name    string
		pods    []corev1.Pod
		wantErr string // empty: rolled
	}{
		{"rolled", []corev1.Pod{pod("op-bbb-1", "bbb", true, debug), pod("op-bbb-2", "bbb", true, "--leader-elect", debug)}, ""},
		{"one pod missing", []corev1.Pod{pod("op-bbb-1", "bbb", true, debug)}, "1 operator pods"},
		{"an old pod left", []corev1.Pod{pod("op-bbb-1", "bbb", true, debug), pod("op-aaa-2", "aaa", true, "--zap-log-level=info")}, "op-aaa-2 from before the upgrade"},
		{"old template, new name", []corev1.Pod{pod("op-bbb-1", "bbb", true, debug), pod("op-aaa-3", "aaa", true, debug)}, "old pod-template-hash"},
		{"not Ready", []corev1.Pod{pod("op-bbb-1", "bbb", false, debug), pod("op-bbb-2", "bbb", true, debug)}, "op-bbb-1 is not Ready"},
		{"flag missing", []corev1.Pod{pod("op-bbb-1", "bbb", true, "--zap-log-level=info"), pod("op-bbb-2", "bbb", true, debug)}, "--zap-log-level=debug"},
	} {
		err := rolledFrom(tc.pods, old, "aaa", debug)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: want rolled, got %v", tc.name, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: want an error containing %q, got %v", tc.name, tc.wantErr, err)
		}
	}
}
