package chaos

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/hack/localcluster/cluster"
)

// The suite's own bridge and pod range: never the demo's, the e2e suite's
// or the localcluster suite's (CHAOS_BRIDGE / CHAOS_POD_CIDR override).
const (
	defaultBridge  = "lcchaos0"
	defaultPodCIDR = "10.249.0.0/24"
)

// Suite-wide state set up by BeforeSuite.
var (
	cfg        *cluster.Config
	kube       client.Client
	faults     *cluster.Faults
	repoRoot   string
	binDir     string
	tmpDir     string
	kubeconfig string
	operators  *operatorSet
	lockFile   *os.File
)

// envOr returns the environment variable name, or def when unset or empty.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// TestChaos runs the scenarios (Ginkgo). Without root, or in -short mode,
// it skips; the checkers' own tests run either way.
func TestChaos(t *testing.T) {
	if !flag.Parsed() {
		flag.Parse()
	}
	if testing.Short() {
		t.Skip("chaos: skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("chaos: needs root (network namespaces, bridge, mounts)")
		}
		t.Skip("chaos: needs root (network namespaces, bridge, mounts)")
	}
	RegisterFailHandler(ginkgo.Fail)
	suite, reporter := ginkgo.GinkgoConfiguration()
	suite.Timeout = 3 * time.Hour
	reporter.Verbose = testing.Verbose()
	ginkgo.RunSpecs(t, "chaos", suite, reporter)
}

// logf prints a progress line of the suite.
func logf(format string, a ...any) {
	// Straight to stderr: the summary lines must show without -v too.
	fmt.Fprintf(os.Stderr, "chaos: "+format+"\n", a...)
}

var _ = ginkgo.BeforeSuite(func() {
	wd, _ := os.Getwd()
	root, err := cluster.FindRepoRoot(wd)
	Expect(err).NotTo(HaveOccurred())
	repoRoot = root
	// The commit the binaries are built from below, with "+dirty" when the
	// tree has changes (the report names it, not the HEAD at the end).
	if out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output(); err == nil {
		builtFrom = strings.TrimSpace(string(out))
		if st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
			builtFrom += "+dirty"
		}
	}
	os.Unsetenv(cluster.MarkerEnv)
	c, err := cluster.DefaultConfig(root)
	Expect(err).NotTo(HaveOccurred())
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		c.K8sBinDir = dir
	}
	for _, b := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		_, err := os.Stat(filepath.Join(c.K8sBinDir, b))
		Expect(err).NotTo(HaveOccurred(), "%s is missing from %s (make k8s-bins, or KUBEBUILDER_ASSETS)", b, c.K8sBinDir)
	}
	bridge, podCIDR := envOr("CHAOS_BRIDGE", defaultBridge), envOr("CHAOS_POD_CIDR", defaultPodCIDR)
	// Two runs on one bridge take turns.
	lockFile, err = os.OpenFile(filepath.Join(os.TempDir(), "replnode-chaos-"+bridge+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	Expect(err).NotTo(HaveOccurred())
	Expect(syscall.Flock(int(lockFile.Fd()), syscall.LOCK_EX)).To(Succeed())

	tmpDir, err = os.MkdirTemp("", "replnode-chaos-")
	Expect(err).NotTo(HaveOccurred())
	// Not under /tmp: containers get a private /tmp.
	binDir, err = os.MkdirTemp(filepath.Join(root, "bin"), "chaos-")
	Expect(err).NotTo(HaveOccurred())
	for name, pkg := range map[string]string{"localcluster": "./hack/localcluster", "manager": "./cmd/manager", "replnode": "./cmd/replnode"} {
		build := exec.Command("go", "build", "-o", filepath.Join(binDir, name), pkg)
		build.Dir = root
		out, err := build.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "build %s: %s", pkg, out)
	}
	c.StateDir = filepath.Join(tmpDir, "cluster")
	c.Bridge, c.PodCIDR, c.Nodes = bridge, podCIDR, 3
	c.Images = append([]cluster.ImageRule{
		{Pattern: "replnode", Binary: filepath.Join(binDir, "replnode")},
		{Pattern: "chaos-client", Binary: "/bin/sh"},
	}, c.Images...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	Expect(cluster.Up(ctx, c, filepath.Join(binDir, "localcluster"), logf)).To(Succeed())
	kubeconfig = c.AdminKubeconfig()
	out, err := kubectl("apply", "-f", filepath.Join(root, "config/crd/bases"))
	Expect(err).NotTo(HaveOccurred(), out)
	Eventually(func() error {
		_, err := kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=30s")
		return err
	}, 3*time.Minute, time.Second).Should(Succeed())

	rest, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	Expect(err).NotTo(HaveOccurred())
	rest.QPS, rest.Burst = 50, 100
	ctrllog.SetLogger(logr.Discard())
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = replnodev1alpha1.AddToScheme(scheme)
	kube, err = client.New(rest, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	cfg, faults = c, cluster.NewFaults(c)
	operators = &operatorSet{}
	Expect(operators.start(1)).To(Succeed())
	Expect(createGroup()).To(Succeed())
	Expect(createClientPod()).To(Succeed())
})

var _ = ginkgo.AfterSuite(func() {
	for _, l := range summaryLines() {
		fmt.Fprintln(os.Stderr, l)
	}
	writeResults()
	if operators != nil {
		operators.stopAll()
	}
	if cfg != nil {
		if os.Getenv("CHAOS_KEEP") != "" {
			logf("keeping the cluster: KUBECONFIG=%s", cfg.AdminKubeconfig())
		} else if err := cluster.Down(cfg, logf); err != nil {
			logf("down: %v", err)
		}
	}
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	if tmpDir != "" && os.Getenv("CHAOS_KEEP") == "" {
		_ = os.RemoveAll(tmpDir)
	}
	if lockFile != nil {
		_ = lockFile.Close()
	}
})

// kubectl runs kubectl against the suite's cluster.
func kubectl(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// ------ THE OPERATOR: HOST PROCESSES ------

// operatorSet runs the real operator (bin/manager) as host processes with
// the cluster's marker, so Down stops them even if the suite dies; with
// more than one, leader election picks the active one.
type operatorSet struct {
	procs   []*exec.Cmd
	logs    []string // the running operators' logs
	allLogs []string // every operator's log, for the evidence
	gen     int
}

// start runs n operators (with leader election) after stopping any.
func (o *operatorSet) start(n int) error {
	o.stopAll()
	for i := 0; i < n; i++ {
		o.gen++
		logPath := filepath.Join(cfg.LogDir(), fmt.Sprintf("manager-%d.log", o.gen))
		f, err := os.Create(logPath)
		if err != nil {
			return err
		}
		// Leader election is on, as the operator's default: even a lone
		// operator takes the lease, so a restarted one waits for a killed
		// one's lease to expire, as it would in a cluster.
		args := []string{"--kubeconfig", kubeconfig, "--metrics-bind-address", "0", "--health-probe-bind-address", "0",
			"--leader-election-namespace", "default",
			// Sub-second timestamps place the failover steps (their
			// durations are logged) against the clients' history.
			"--zap-time-encoding=rfc3339nano"}
		cmd := exec.Command(filepath.Join(binDir, "manager"), args...)
		cmd.Env = append(os.Environ(), cluster.MarkerEnv+"="+cfg.StateDir)
		cmd.Stdout, cmd.Stderr = f, f
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			f.Close()
			return err
		}
		f.Close()
		go func() { _ = cmd.Wait() }()
		o.procs = append(o.procs, cmd)
		o.logs = append(o.logs, logPath)
		o.allLogs = append(o.allLogs, logPath)
		logf("operator %d running (pid %d, log %s)", o.gen, cmd.Process.Pid, logPath)
	}
	return nil
}

// stopAll kills every operator this set started.
func (o *operatorSet) stopAll() {
	for _, p := range o.procs {
		_ = p.Process.Signal(syscall.SIGCONT)
		_ = p.Process.Kill()
	}
	o.procs, o.logs = nil, nil
}

// kill SIGKILLs operator i (and leaves it dead).
func (o *operatorSet) kill(i int) {
	_ = o.procs[i].Process.Kill()
}

// signal sends sig to operator i.
func (o *operatorSet) signal(i int, sig syscall.Signal) {
	_ = o.procs[i].Process.Signal(sig)
}

// leader returns the index of the operator whose log says it acquired the
// leader lease, or -1.
func (o *operatorSet) leader() int {
	for i, path := range o.logs {
		b, _ := os.ReadFile(path)
		if strings.Contains(strings.ToLower(string(b)), "successfully acquired lease") {
			return i
		}
	}
	return -1
}
