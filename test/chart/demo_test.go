package chart

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/replnode/replnode/hack/localcluster/cluster"
)

// ------ DEMO INSTALL ON THE LOCAL CLUSTER ------

// TestDemoInstallOnLocalCluster brings up a one-node local cluster of its own
// (own state directory, bridge and pod range), runs
// hack/chart/demo-install.sh with two operator replicas, and checks both
// pods are Ready (the script waits for that) and one of them holds the
// leader-election lease in the release namespace — the chart's RBAC, probes
// and flags working against a real control plane and the real manager.
// It needs root (network namespaces), the control-plane binaries and
// bin/manager; it skips with the reason when one is missing.
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
	c.Bridge = "lcchart0"
	c.PodCIDR = "10.247.0.0/24"
	c.Nodes = 1
	agent := filepath.Join(state, "localcluster")
	build := exec.Command("go", "build", "-o", agent, "./hack/localcluster")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building hack/localcluster: %v\n%s", err, out)
	}
	logf := func(format string, a ...any) { t.Logf("localcluster: "+format, a...) }
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
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
	script.Env = append(os.Environ(), "KUBECONFIG="+c.AdminKubeconfig(), "NAMESPACE=replnode-demo", "RELEASE=demo", "TIMEOUT=300s")
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
	var last error
	for {
		lease, err := cs.CoordinationV1().Leases("replnode-demo").Get(ctx, "replnode-operator.replnode.io", metav1.GetOptions{})
		if err == nil && lease.Spec.HolderIdentity != nil && strings.HasPrefix(*lease.Spec.HolderIdentity, "demo-replnode-operator-") {
			return
		}
		if err == nil {
			err = fmt.Errorf("lease holder %v is not an operator pod", lease.Spec.HolderIdentity)
		}
		last = err
		select {
		case <-ctx.Done():
			t.Fatalf("no operator pod holds the leader-election lease in replnode-demo: %v\ndemo-install output:\n%s", last, out)
		case <-time.After(time.Second):
		}
	}
}
