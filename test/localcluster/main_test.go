// Package localcluster_test is the end-to-end suite of hack/localcluster: it
// brings one local cluster up for the whole package (TestMain) on its own
// bridge, pod range and state directory, and checks what a kubelet-like agent
// must do: Deployments becoming Ready, env and volumes inside pods, probes,
// restarts, graceful deletion, PVC data surviving pods, pod-to-pod
// networking, and each fault with its heal.
//
// It needs root and the control-plane binaries from hack/k8s/build.sh; it
// fails at once with a message saying which is missing.
package localcluster_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/replnode/replnode/hack/localcluster/cluster"
)

// Suite-wide state set up by TestMain.
var (
	cfg    *cluster.Config
	client kubernetes.Interface
	faults *cluster.Faults
)

// replnodeImage is the image name the suite's server pods use; it maps to
// the real redis-server, or to $LOCALCLUSTER_E2E_REPLNODE.
const replnodeImage = "replnode:e2e"

// shellImage maps to /bin/sh, for pods that run shell scripts.
const shellImage = "debian:e2e"

// TestMain brings the cluster up once, runs the tests and takes it down.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

// run is TestMain's body, so deferred cleanup runs before os.Exit.
func run(m *testing.M) int {
	wd, _ := os.Getwd()
	root, err := cluster.FindRepoRoot(wd)
	if err != nil {
		fmt.Fprintln(os.Stderr, "localcluster e2e:", err)
		return 1
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "localcluster e2e: must run as root (network namespaces, bridge, mounts)")
		return 1
	}
	c, err := cluster.DefaultConfig(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "localcluster e2e:", err)
		return 1
	}
	for _, b := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		if _, err := os.Stat(filepath.Join(c.K8sBinDir, b)); err != nil {
			fmt.Fprintf(os.Stderr, "localcluster e2e: %s is missing from %s; build the control plane first: hack/k8s/build.sh (make k8s-bins)\n", b, c.K8sBinDir)
			return 1
		}
	}
	// Concurrent runs of this suite (several developers' `go test ./...`)
	// share the bridge and pod range: take turns.
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "localcluster-e2e.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "localcluster e2e: lock:", err)
		return 1
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		fmt.Fprintln(os.Stderr, "localcluster e2e: lock:", err)
		return 1
	}
	state, err := os.MkdirTemp("", "localcluster-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c.StateDir = filepath.Join(state, "cluster")
	c.Bridge = "lce2e0"
	c.PodCIDR = "10.245.0.0/24"
	c.Nodes = 3
	// The suite tests the cluster, not the server, so the replnode image
	// runs the real redis-server (same command line) unless
	// LOCALCLUSTER_E2E_REPLNODE names another binary, e.g. bin/replnode.
	server := os.Getenv("LOCALCLUSTER_E2E_REPLNODE")
	if server == "" {
		server = "/usr/bin/redis-server"
	}
	if _, err := os.Stat(server); err != nil {
		fmt.Fprintf(os.Stderr, "localcluster e2e: server binary %s is missing (apt-get install -y redis-server, or set LOCALCLUSTER_E2E_REPLNODE)\n", server)
		return 1
	}
	c.Images = append([]cluster.ImageRule{
		{Pattern: "replnode", Binary: server},
		{Pattern: "debian", Binary: "/bin/sh"},
	}, c.Images...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bin := filepath.Join(state, "localcluster")
	if err := cluster.BuildBinary(ctx, root, bin); err != nil {
		fmt.Fprintln(os.Stderr, "localcluster e2e:", err)
		return 1
	}
	logf := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "e2e: "+format+"\n", a...) }
	defer func() {
		if os.Getenv("LOCALCLUSTER_E2E_KEEP") != "" {
			logf("keeping the cluster: KUBECONFIG=%s", c.AdminKubeconfig())
			return
		}
		if err := cluster.Down(c, logf); err != nil {
			logf("down: %v", err)
		}
		_ = os.RemoveAll(state)
	}()
	if err := cluster.Up(ctx, c, bin, logf); err != nil {
		fmt.Fprintf(os.Stderr, "localcluster e2e: up: %v\n", err)
		return 1
	}
	rest, err := clientcmd.BuildConfigFromFlags("", c.AdminKubeconfig())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	rest.QPS, rest.Burst = 50, 100
	cs, err := kubernetes.NewForConfig(rest)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cfg, client, faults = c, cs, cluster.NewFaults(c)
	return m.Run()
}

// ------ HELPERS ------

// eventually polls cond every half second until it returns true, failing
// the test with the last error after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		ok, err := cond()
		if ok {
			return
		}
		last = err
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s (last error: %v)", timeout, what, last)
}

// namespace creates a fresh namespace for a test, waits for its default
// service account and root CA configmap, and deletes it afterwards.
func namespace(t *testing.T) string {
	t.Helper()
	name := "e2e-" + strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(t.Name(), "Test"), "/", "-"))
	if len(name) > 60 {
		name = name[:60]
	}
	ctx := context.Background()
	_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	eventually(t, 60*time.Second, "default service account", func() (bool, error) {
		_, err := client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		_, err = client.CoreV1().ConfigMaps(name).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		return err == nil, err
	})
	return name
}

// createPod creates pod in ns and returns it.
func createPod(t *testing.T, ns string, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	created, err := client.CoreV1().Pods(ns).Create(context.Background(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s: %v", pod.Name, err)
	}
	return created
}

// getPod fetches a pod.
func getPod(ns, name string) (*corev1.Pod, error) {
	return client.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
}

// podReady reports whether the pod has Ready=True.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitReady waits for a pod to become Ready and returns it.
func waitReady(t *testing.T, ns, name string, timeout time.Duration) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	eventually(t, timeout, "pod "+ns+"/"+name+" Ready", func() (bool, error) {
		p, err := getPod(ns, name)
		if err != nil {
			return false, err
		}
		pod = p
		return podReady(p), fmt.Errorf("phase %s, statuses %+v", p.Status.Phase, p.Status.ContainerStatuses)
	})
	return pod
}

// waitGone waits until a pod no longer exists.
func waitGone(t *testing.T, ns, name string, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, "pod "+ns+"/"+name+" gone", func() (bool, error) {
		_, err := getPod(ns, name)
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

// containerPid returns the host pid of a pod's container from its status.
func containerPid(t *testing.T, p *corev1.Pod, container string) int {
	t.Helper()
	for _, s := range p.Status.ContainerStatuses {
		if s.Name == container {
			var pid int
			if _, err := fmt.Sscanf(s.ContainerID, "localcluster://%d", &pid); err != nil {
				t.Fatalf("container %s has no pid in %q", container, s.ContainerID)
			}
			return pid
		}
	}
	t.Fatalf("pod %s has no container %s", p.Name, container)
	return 0
}

// execIn runs a command inside a running container's namespaces and root.
func execIn(pid int, timeout time.Duration, command ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args := append([]string{"-t", fmt.Sprint(pid), "-m", "-n", "-u", "-r", "-w", "--"}, command...)
	out, err := exec.CommandContext(ctx, "nsenter", args...).CombinedOutput()
	return string(out), err
}

// podDir returns the agent's state directory of a pod.
func podDir(p *corev1.Pod) string {
	return filepath.Join(cfg.PodsDir(), fmt.Sprintf("%s_%s_%s", p.Namespace, p.Name, p.UID))
}

// shellPod returns a pod running script with /bin/sh.
func shellPod(name, script string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptrTo(int64(5)),
			Containers: []corev1.Container{{
				Name: "main", Image: shellImage, Command: []string{"sh", "-c", script},
			}},
		},
	}
}

// serverPod returns a pod running the replnode image on port 6379 with a
// TCP readiness probe.
func serverPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptrTo(int64(5)),
			Containers: []corev1.Container{{
				Name: "server", Image: replnodeImage,
				Args:           []string{"--port", "6379", "--save", "", "--appendonly", "no", "--protected-mode", "no"},
				Ports:          []corev1.ContainerPort{{Name: "redis", ContainerPort: 6379}},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intOrName("redis")}}, PeriodSeconds: 1},
			}},
		},
	}
}

// ptrTo returns a pointer to v.
func ptrTo[T any](v T) *T { return &v }
