package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/hack/localcluster/cluster"
)

// The suite's own bridge and pod range, unless E2E_BRIDGE / E2E_POD_CIDR
// say otherwise: never the demo's (lcbr0) or the localcluster suite's.
const (
	defaultBridge  = "lcrne2e0"
	defaultPodCIDR = "10.248.0.0/24"
)

// envOr returns the environment variable name, or def when it is unset or empty.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Suite-wide state set up by TestMain.
var (
	cfg      *cluster.Config
	kube     client.Client
	faults   *cluster.Faults
	repoRoot string
	// kubeconfig is the admin kubeconfig of the suite's cluster.
	kubeconfig string
)

// TestMain brings a cluster of its own up, starts the operator, runs the
// tests and takes everything down. Without root it skips (fails under CI).
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

// prerequisite reports a missing prerequisite: a skip (exit 0) normally, a
// failure when CI=true.
func prerequisite(msg string) int {
	if os.Getenv("CI") == "true" {
		fmt.Fprintln(os.Stderr, "e2e: FAIL:", msg)
		return 1
	}
	fmt.Fprintln(os.Stderr, "e2e: skipped:", msg)
	return 0
}

// run is TestMain's body, so deferred cleanup runs before os.Exit.
func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		fmt.Fprintln(os.Stderr, "e2e: skipped in -short mode")
		return 0
	}
	if os.Geteuid() != 0 {
		return prerequisite("needs root (network namespaces, bridge, mounts)")
	}
	wd, _ := os.Getwd()
	root, err := cluster.FindRepoRoot(wd)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	repoRoot = root
	// Our own state, bridge and range: never the demo's or another suite's.
	os.Unsetenv(cluster.MarkerEnv)
	c, err := cluster.DefaultConfig(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	for _, b := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		if _, err := os.Stat(filepath.Join(c.K8sBinDir, b)); err != nil {
			return prerequisite(fmt.Sprintf("%s is missing from %s; run make k8s-bins", b, c.K8sBinDir))
		}
	}
	// The bridge and pod range are what two runs cannot share: E2E_BRIDGE
	// and E2E_POD_CIDR let a second run go beside the first on its own.
	bridge, podCIDR := envOr("E2E_BRIDGE", defaultBridge), envOr("E2E_POD_CIDR", defaultPodCIDR)
	// Concurrent runs on the same bridge (several developers' go test ./...)
	// take turns.
	lockName := "replnode-e2e.lock"
	if bridge != defaultBridge {
		lockName = "replnode-e2e-" + bridge + ".lock"
	}
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), lockName), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: lock:", err)
		return 1
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: lock:", err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "replnode-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	logf := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "e2e: "+format+"\n", a...) }
	// Build the binaries the suite runs: the agent, the operator, the
	// server. Not under /tmp: containers get a private /tmp.
	binDir, err := os.MkdirTemp(filepath.Join(root, "bin"), "e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(binDir)
	bins := map[string]string{"localcluster": "./hack/localcluster", "manager": "./cmd/manager", "replnode": "./cmd/replnode"}
	for name, pkg := range bins {
		build := exec.Command("go", "build", "-o", filepath.Join(binDir, name), pkg)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: build %s: %v\n%s", pkg, err, out)
			return 1
		}
	}
	c.StateDir = filepath.Join(tmp, "cluster")
	c.Bridge = bridge
	c.PodCIDR = podCIDR
	c.Nodes = 3
	// The image ships both programs: a restoring member's init container
	// runs `manager restore-from` from the replnode image.
	c.Images = append([]cluster.ImageRule{
		{Pattern: "replnode", Binary: filepath.Join(binDir, "replnode")},
		{Pattern: "*manager*", Binary: filepath.Join(binDir, "manager")},
	}, c.Images...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	defer func() {
		if os.Getenv("E2E_KEEP") != "" {
			logf("keeping the cluster: KUBECONFIG=%s", c.AdminKubeconfig())
			return
		}
		if err := cluster.Down(c, logf); err != nil {
			logf("down: %v", err)
		}
		_ = os.RemoveAll(tmp)
	}()
	// An interrupted run (Ctrl-C, go test's timeout kill is SIGQUIT and
	// cannot be caught) still takes its cluster down.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := <-signals
		logf("%v: taking the cluster down", sig)
		_ = cluster.Down(c, logf)
		_ = os.RemoveAll(binDir)
		_ = os.RemoveAll(tmp)
		os.Exit(1)
	}()
	if err := cluster.Up(ctx, c, filepath.Join(binDir, "localcluster"), logf); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: up: %v\n", err)
		return 1
	}
	kubeconfig = c.AdminKubeconfig()
	if out, err := kubectl("apply", "-f", filepath.Join(root, "config/crd/bases")); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: install CRDs: %v\n%s", err, out)
		return 1
	}
	// kubectl wait fails at once ("accessor error: <nil>") on a CRD whose
	// status has no conditions yet, instead of waiting: ask again.
	for attempt := 1; ; attempt++ {
		out, err := kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
		if err == nil {
			break
		}
		if !strings.Contains(out, "accessor error") || attempt == 30 {
			fmt.Fprintf(os.Stderr, "e2e: CRDs: %v\n%s", err, out)
			return 1
		}
		time.Sleep(time.Second)
	}
	// The operator runs on the host with the cluster's marker, so Down
	// stops it even if this process dies.
	managerLog, err := os.Create(filepath.Join(c.LogDir(), "manager.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// One host process and no in-cluster namespace for a lease: no election.
	manager := exec.Command(filepath.Join(binDir, "manager"), "--kubeconfig", kubeconfig,
		"--metrics-bind-address", "0", "--health-probe-bind-address", "0", "--leader-elect=false")
	manager.Env = append(os.Environ(), cluster.MarkerEnv+"="+c.StateDir)
	manager.Stdout, manager.Stderr = managerLog, managerLog
	manager.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := manager.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: start operator:", err)
		return 1
	}
	defer func() { _ = manager.Process.Kill(); _ = manager.Wait() }()
	logf("operator running (pid %d, log %s)", manager.Process.Pid, managerLog.Name())

	rest, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	rest.QPS, rest.Burst = 50, 100
	ctrllog.SetLogger(logr.Discard())
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = replnodev1alpha1.AddToScheme(scheme)
	kc, err := client.New(rest, client.Options{Scheme: scheme})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cfg, kube, faults = c, kc, cluster.NewFaults(c)
	return m.Run()
}

// kubectl runs kubectl against the suite's cluster and returns its output.
func kubectl(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
