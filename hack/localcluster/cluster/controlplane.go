package cluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/replnode/replnode/hack/localcluster/pki"
	"github.com/replnode/replnode/hack/localcluster/podnet"
)

// ------ UP ------

// Logf receives progress lines from Up and Down.
type Logf func(format string, args ...any)

// Up brings a fresh cluster up as described by c: it first removes what a
// dead run left in c.StateDir, then generates certificates and kubeconfigs,
// creates the bridge, starts etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and the node agent (agentBinary run with "agent --state
// DIR"), and waits until every node is Ready. On failure it names the step and
// the log file to read; what was started stays up for inspection until Down.
func Up(ctx context.Context, c *Config, agentBinary string, logf Logf) error {
	if os.Geteuid() != 0 {
		return errors.New("localcluster must run as root (it creates network namespaces, a bridge and mounts)")
	}
	for _, b := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		if _, err := os.Stat(filepath.Join(c.K8sBinDir, b)); err != nil {
			return fmt.Errorf("control-plane binary %s is missing from %s: build it with hack/k8s/build.sh (make k8s-bins)", b, c.K8sBinDir)
		}
	}
	if owner, busy := bridgeBusyElsewhere(c); busy {
		return fmt.Errorf("bridge %s is in use by the running cluster in %s: take that one down or pick another LOCALCLUSTER_BRIDGE and LOCALCLUSTER_POD_CIDR", c.Bridge, owner)
	}
	logf("cleaning up leftovers in %s", c.StateDir)
	if err := cleanup(c, logf); err != nil {
		return fmt.Errorf("clean up a previous run: %w", err)
	}
	if err := claimBridge(c.Bridge, c.StateDir); err != nil {
		return err
	}
	for _, d := range []string{c.PKIDir(), c.LogDir(), c.PidDir(), c.PodsDir(), c.PVDir(), filepath.Join(c.StateDir, "etcd"), filepath.Join(c.StateDir, "bin")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	var err error
	if c.EtcdPort, err = freePort(); err != nil {
		return err
	}
	if c.EtcdPeerPort, err = freePort(); err != nil {
		return err
	}
	if c.APIServerPort, err = freePort(); err != nil {
		return err
	}
	if c.KubeletPort, err = freePort(); err != nil {
		return err
	}
	if err := c.Save(); err != nil {
		return err
	}
	network, err := podnet.NewNetwork(c.Bridge, c.PodCIDR)
	if err != nil {
		return err
	}
	logf("generating certificates in %s", c.PKIDir())
	if err := writePKI(c, network.Gateway); err != nil {
		return fmt.Errorf("step certificates: %w", err)
	}
	logf("creating bridge %s (%s)", c.Bridge, c.PodCIDR)
	if err := network.EnsureBridge(); err != nil {
		return fmt.Errorf("step bridge: %w", err)
	}
	steps := []struct {
		name  string
		start func() error
		ready func(context.Context) error
	}{
		{"etcd", func() error { return startEtcd(c) }, func(ctx context.Context) error { return waitEtcd(ctx, c) }},
		{"kube-apiserver", func() error { return startAPIServer(c, network.Gateway) }, func(ctx context.Context) error { return waitAPIServer(ctx, c) }},
		{"kube-controller-manager", func() error { return startControllerManager(c) }, nil},
		{"kube-scheduler", func() error { return startScheduler(c) }, nil},
		{"agent", func() error { return startAgent(c, agentBinary) }, func(ctx context.Context) error { return waitNodesReady(ctx, c) }},
	}
	for _, s := range steps {
		logf("starting %s", s.name)
		if err := s.start(); err != nil {
			return fmt.Errorf("step %s: %w", s.name, err)
		}
		if s.ready == nil {
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		err := s.ready(wctx)
		cancel()
		if err != nil {
			return fmt.Errorf("step %s: not ready: %w (log: %s)", s.name, err, filepath.Join(c.LogDir(), s.name+".log"))
		}
	}
	logf("cluster is up: export KUBECONFIG=%s", c.AdminKubeconfig())
	return nil
}

// writePKI generates the CA, serving and client certificates, service-account
// keys and the kubeconfigs of admin, controller-manager and scheduler.
func writePKI(c *Config, gateway net.IP) error {
	dir := c.PKIDir()
	ca, err := pki.NewCA("localcluster-ca")
	if err != nil {
		return err
	}
	if err := pki.WritePair(dir, "ca", ca); err != nil {
		return err
	}
	_, svcNet, err := net.ParseCIDR(c.ServiceCIDR)
	if err != nil {
		return fmt.Errorf("service CIDR %q: %w", c.ServiceCIDR, err)
	}
	svcIP := svcNet.IP.To4()
	firstSvc := net.IPv4(svcIP[0], svcIP[1], svcIP[2], svcIP[3]+1)
	serving, err := ca.Sign(pki.CertRequest{
		CommonName: "kube-apiserver",
		DNSNames:   []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		IPs:        []net.IP{net.ParseIP("127.0.0.1"), gateway, firstSvc},
		Server:     true,
	})
	if err != nil {
		return err
	}
	if err := pki.WritePair(dir, "apiserver", serving); err != nil {
		return err
	}
	if err := pki.WriteServiceAccountKeys(dir); err != nil {
		return err
	}
	// The agent's kubelet API (container logs) serves on the gateway; the
	// API server calls it with the kubelet-client certificate.
	kubelet, err := ca.Sign(pki.CertRequest{CommonName: "localcluster-kubelet", IPs: []net.IP{gateway}, Server: true})
	if err != nil {
		return err
	}
	if err := pki.WritePair(dir, "kubelet", kubelet); err != nil {
		return err
	}
	kubeletClient, err := ca.Sign(pki.CertRequest{CommonName: "kube-apiserver-kubelet-client", Organization: []string{"system:masters"}, Client: true})
	if err != nil {
		return err
	}
	if err := pki.WritePair(dir, "kubelet-client", kubeletClient); err != nil {
		return err
	}
	server := fmt.Sprintf("https://127.0.0.1:%d", c.APIServerPort)
	clients := []struct {
		file string
		req  pki.CertRequest
	}{
		{c.AdminKubeconfig(), pki.CertRequest{CommonName: "localcluster-admin", Organization: []string{"system:masters"}, Client: true}},
		{filepath.Join(dir, "controller-manager.kubeconfig"), pki.CertRequest{CommonName: "system:kube-controller-manager", Client: true}},
		{filepath.Join(dir, "scheduler.kubeconfig"), pki.CertRequest{CommonName: "system:kube-scheduler", Client: true}},
	}
	for _, cl := range clients {
		kp, err := ca.Sign(cl.req)
		if err != nil {
			return err
		}
		kc, err := pki.Kubeconfig("localcluster", server, ca, kp)
		if err != nil {
			return err
		}
		if err := os.WriteFile(cl.file, kc, 0o600); err != nil {
			return err
		}
		if cl.file == c.AdminKubeconfig() {
			if err := pki.WritePair(dir, "admin", kp); err != nil {
				return err
			}
		}
	}
	return nil
}

// ------ PROCESSES ------

// startProcess starts bin with args in its own session, output to
// <logs>/<name>.log, the marker in its environment and a pid file
// <pids>/<name>.pid. The process is reaped in the background.
func startProcess(c *Config, name, bin string, args ...string) error {
	logFile, err := os.OpenFile(filepath.Join(c.LogDir(), name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Dir = c.StateDir
	cmd.Env = append(os.Environ(), MarkerEnv+"="+c.StateDir, "KUBECONFIG="+c.AdminKubeconfig())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	logFile.Close()
	go func() { _ = cmd.Wait() }()
	return os.WriteFile(filepath.Join(c.PidDir(), name+".pid"), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644)
}

// startEtcd starts a single-member etcd on loopback.
func startEtcd(c *Config) error {
	client := fmt.Sprintf("http://127.0.0.1:%d", c.EtcdPort)
	peer := fmt.Sprintf("http://127.0.0.1:%d", c.EtcdPeerPort)
	return startProcess(c, "etcd", filepath.Join(c.K8sBinDir, "etcd"),
		"--name=localcluster",
		"--data-dir="+filepath.Join(c.StateDir, "etcd"),
		"--listen-client-urls="+client,
		"--advertise-client-urls="+client,
		"--listen-peer-urls="+peer,
		"--initial-advertise-peer-urls="+peer,
		"--initial-cluster=localcluster="+peer,
		"--quota-backend-bytes=2147483648",
		"--unsafe-no-fsync=true",
	)
}

// startAPIServer starts kube-apiserver on loopback; it advertises the bridge
// gateway, where the agent proxies the same port, so pods reach it through
// the `kubernetes` Service endpoints and KUBERNETES_SERVICE_HOST.
func startAPIServer(c *Config, gateway net.IP) error {
	p := c.PKIDir()
	issuer := "https://kubernetes.default.svc.cluster.local"
	return startProcess(c, "kube-apiserver", filepath.Join(c.K8sBinDir, "kube-apiserver"),
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", c.EtcdPort),
		"--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", c.APIServerPort),
		"--advertise-address="+gateway.String(),
		"--tls-cert-file="+filepath.Join(p, "apiserver.crt"),
		"--tls-private-key-file="+filepath.Join(p, "apiserver.key"),
		"--client-ca-file="+filepath.Join(p, "ca.crt"),
		"--service-account-key-file="+filepath.Join(p, "sa.pub"),
		"--service-account-signing-key-file="+filepath.Join(p, "sa.key"),
		"--service-account-issuer="+issuer,
		"--api-audiences="+issuer,
		"--authorization-mode=Node,RBAC",
		"--service-cluster-ip-range="+c.ServiceCIDR,
		"--allow-privileged=true",
		"--enable-admission-plugins=NodeRestriction",
		"--cert-dir="+p,
		"--kubelet-client-certificate="+filepath.Join(p, "kubelet-client.crt"),
		"--kubelet-client-key="+filepath.Join(p, "kubelet-client.key"),
		"--kubelet-certificate-authority="+filepath.Join(p, "ca.crt"),
		"--kubelet-preferred-address-types=InternalIP",
		"--event-ttl=30m",
		"--endpoint-reconciler-type=lease",
		// Nothing routes ClusterIPs here: admission webhooks (the
		// operator's) are called at their Service's endpoints, pod IPs the
		// host reaches over the bridge.
		"--enable-aggregator-routing=true",
	)
}

// startControllerManager starts kube-controller-manager with every default
// controller, signing service-account tokens with the cluster's key.
func startControllerManager(c *Config) error {
	p := c.PKIDir()
	kc := filepath.Join(p, "controller-manager.kubeconfig")
	return startProcess(c, "kube-controller-manager", filepath.Join(c.K8sBinDir, "kube-controller-manager"),
		"--kubeconfig="+kc,
		"--authentication-kubeconfig="+kc,
		"--authorization-kubeconfig="+kc,
		"--root-ca-file="+filepath.Join(p, "ca.crt"),
		"--service-account-private-key-file="+filepath.Join(p, "sa.key"),
		"--cluster-signing-cert-file="+filepath.Join(p, "ca.crt"),
		"--cluster-signing-key-file="+filepath.Join(p, "ca.key"),
		"--use-service-account-credentials=true",
		"--controllers=*",
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port=0",
		"--service-cluster-ip-range="+c.ServiceCIDR,
		"--node-monitor-grace-period=20s",
		"--node-monitor-period=2s",
	)
}

// startScheduler starts kube-scheduler.
func startScheduler(c *Config) error {
	kc := filepath.Join(c.PKIDir(), "scheduler.kubeconfig")
	return startProcess(c, "kube-scheduler", filepath.Join(c.K8sBinDir, "kube-scheduler"),
		"--kubeconfig="+kc,
		"--authentication-kubeconfig="+kc,
		"--authorization-kubeconfig="+kc,
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port=0",
	)
}

// startAgent copies agentBinary into the state directory (so `go run` may
// delete its own temporary build) and starts it as the node agent.
func startAgent(c *Config, agentBinary string) error {
	dst := filepath.Join(c.StateDir, "bin", "localcluster")
	if err := copyFile(agentBinary, dst, 0o755); err != nil {
		return fmt.Errorf("copy agent binary: %w", err)
	}
	return startProcess(c, "agent", dst, "agent", "--state", c.StateDir)
}

// copyFile copies src to dst with mode.
func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// ------ READINESS ------

// poll calls check every interval until it returns nil or ctx ends, and
// returns the last error.
func poll(ctx context.Context, interval time.Duration, check func() error) error {
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(interval):
		}
	}
}

// waitEtcd waits for etcd's /health to report healthy.
func waitEtcd(ctx context.Context, c *Config) error {
	url := fmt.Sprintf("http://127.0.0.1:%d/health", c.EtcdPort)
	return poll(ctx, 300*time.Millisecond, func() error {
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"true"`)) {
			return fmt.Errorf("etcd health: %d %s", resp.StatusCode, b)
		}
		return nil
	})
}

// AdminHTTPClient returns an HTTP client that trusts the cluster CA and
// authenticates as the admin.
func AdminHTTPClient(c *Config) (*http.Client, error) {
	caPEM, err := os.ReadFile(filepath.Join(c.PKIDir(), "ca.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	cert, err := tls.LoadX509KeyPair(filepath.Join(c.PKIDir(), "admin.crt"), filepath.Join(c.PKIDir(), "admin.key"))
	if err != nil {
		return nil, err
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}},
	}}, nil
}

// waitAPIServer waits for kube-apiserver's /readyz.
func waitAPIServer(ctx context.Context, c *Config) error {
	hc, err := AdminHTTPClient(c)
	if err != nil {
		return err
	}
	url := fmt.Sprintf("https://127.0.0.1:%d/readyz", c.APIServerPort)
	return poll(ctx, 500*time.Millisecond, func() error {
		resp, err := hc.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return fmt.Errorf("readyz: %d %s", resp.StatusCode, lastLines(string(b), 3))
		}
		return nil
	})
}

// waitNodesReady waits until every node of c exists and reports Ready=True.
func waitNodesReady(ctx context.Context, c *Config) error {
	hc, err := AdminHTTPClient(c)
	if err != nil {
		return err
	}
	return poll(ctx, time.Second, func() error {
		if _, err := readPid(c, "agent"); err != nil {
			return err
		}
		for _, n := range c.NodeNames() {
			resp, err := hc.Get(fmt.Sprintf("https://127.0.0.1:%d/api/v1/nodes/%s", c.APIServerPort, n))
			if err != nil {
				return err
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				return fmt.Errorf("node %s: %d", n, resp.StatusCode)
			}
			if !bytes.Contains(b, []byte(`"type":"Ready","status":"True"`)) {
				return fmt.Errorf("node %s is not Ready yet", n)
			}
		}
		// Pods need the default service account, which the controller
		// manager creates a moment after start.
		resp, err := hc.Get(fmt.Sprintf("https://127.0.0.1:%d/api/v1/namespaces/default/serviceaccounts/default", c.APIServerPort))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("service account default/default does not exist yet (%d)", resp.StatusCode)
		}
		return nil
	})
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// ------ DOWN, STATUS, CLEANUP ------

// readPid returns the pid in <pids>/<name>.pid if that process is alive.
func readPid(c *Config, name string) (int, error) {
	b, err := os.ReadFile(filepath.Join(c.PidDir(), name+".pid"))
	if err != nil {
		return 0, fmt.Errorf("%s has no pid file", name)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("%s pid file: %w", name, err)
	}
	if !hasMarker(pid, c.StateDir) {
		return 0, fmt.Errorf("%s (pid %d) is not running", name, pid)
	}
	return pid, nil
}

// hasMarker reports whether process pid carries this cluster's marker.
func hasMarker(pid int, stateDir string) bool {
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return false
	}
	want := []byte(MarkerEnv + "=" + stateDir)
	for _, kv := range bytes.Split(env, []byte{0}) {
		if bytes.Equal(kv, want) {
			return true
		}
	}
	return false
}

// markedProcesses lists the pids of all processes carrying the marker.
func markedProcesses(stateDir string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if hasMarker(pid, stateDir) {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	return pids
}

// stopPids sends SIGTERM (and SIGCONT, in case a fault stopped them) to
// pids, waits up to grace for them to exit, then SIGKILLs the rest.
func stopPids(pids []int, grace time.Duration) {
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		alive := false
		for _, pid := range pids {
			if syscall.Kill(pid, 0) == nil && !isZombie(pid) {
				alive = true
			}
		}
		if !alive {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// isZombie reports whether pid has exited but not been reaped.
func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	if i := strings.LastIndex(s, ")"); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z'
	}
	return false
}

// cleanup stops every process of the cluster (agent first, so it restarts
// nothing; then pods; then the control plane in reverse start order),
// removes pod namespaces and the bridge, and empties the state directory.
func cleanup(c *Config, logf Logf) error {
	for _, name := range []string{"agent"} {
		if pid, err := readPid(c, name); err == nil {
			stopPids([]int{pid}, 10*time.Second)
		}
	}
	cp := map[int]bool{}
	for _, name := range []string{"kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"} {
		if pid, err := readPid(c, name); err == nil {
			cp[pid] = true
		}
	}
	var pods []int
	for _, pid := range markedProcesses(c.StateDir) {
		if !cp[pid] {
			pods = append(pods, pid)
		}
	}
	if len(pods) > 0 {
		logf("stopping %d leftover pod processes", len(pods))
		stopPids(pods, 5*time.Second)
	}
	for _, name := range []string{"kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"} {
		if pid, err := readPid(c, name); err == nil {
			stopPids([]int{pid}, 10*time.Second)
		}
	}
	if rest := markedProcesses(c.StateDir); len(rest) > 0 {
		stopPids(rest, 2*time.Second)
	}
	network, err := podnet.NewNetwork(c.Bridge, c.PodCIDR)
	if err != nil {
		return err
	}
	if owner, busy := bridgeBusyElsewhere(c); busy {
		logf("leaving bridge %s alone: the running cluster in %s uses it", c.Bridge, owner)
	} else if err := network.CleanupAll(); err != nil {
		return err
	}
	return removeStateDir(c.StateDir)
}

// Down stops everything the cluster in c.StateDir runs and removes its
// state, network namespaces and bridge. A cluster that is not there is fine.
func Down(c *Config, logf Logf) error {
	if loaded, err := Load(c.StateDir); err == nil {
		c = loaded
	}
	if err := cleanup(c, logf); err != nil {
		return err
	}
	if bridgeOwner(c.Bridge) == c.StateDir {
		_ = os.Remove(bridgeOwnerFile(c.Bridge))
	}
	logf("cluster in %s is down", c.StateDir)
	return nil
}

// Status returns one line per cluster process: its name, pid and whether it runs.
func Status(c *Config) ([]string, error) {
	var lines []string
	var errs []error
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "agent"} {
		pid, err := readPid(c, name)
		if err != nil {
			lines = append(lines, fmt.Sprintf("%-24s DOWN (%v)", name, err))
			errs = append(errs, err)
			continue
		}
		lines = append(lines, fmt.Sprintf("%-24s running (pid %d)", name, pid))
	}
	lines = append(lines, fmt.Sprintf("%-24s https://127.0.0.1:%d (KUBECONFIG=%s)", "api server", c.APIServerPort, c.AdminKubeconfig()))
	return lines, errors.Join(errs...)
}

// removeStateDir deletes stateDir, refusing a non-empty directory that holds
// neither cluster.json nor pids/, so a mistyped state directory loses nothing.
func removeStateDir(stateDir string) error {
	if stateDir == "" || stateDir == "/" {
		return fmt.Errorf("refusing to remove state directory %q", stateDir)
	}
	entries, err := os.ReadDir(stateDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	_, errCfg := os.Stat(filepath.Join(stateDir, "cluster.json"))
	_, errPids := os.Stat(filepath.Join(stateDir, "pids"))
	if len(entries) > 0 && errCfg != nil && errPids != nil {
		return fmt.Errorf("refusing to remove %s: it does not look like a localcluster state directory", stateDir)
	}
	return os.RemoveAll(stateDir)
}

// bridgeOwnerFile records which state directory owns a bridge, so a second
// cluster on the same bridge is refused instead of tearing the first down.
func bridgeOwnerFile(bridge string) string {
	return filepath.Join("/run/localcluster", bridge+".owner")
}

// bridgeOwner returns the state directory recorded for bridge, or "".
func bridgeOwner(bridge string) string {
	b, err := os.ReadFile(bridgeOwnerFile(bridge))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// bridgeBusyElsewhere reports whether another state directory owns c's
// bridge and that cluster's agent still runs.
func bridgeBusyElsewhere(c *Config) (string, bool) {
	owner := bridgeOwner(c.Bridge)
	if owner == "" || owner == c.StateDir {
		return owner, false
	}
	other, err := Load(owner)
	if err != nil {
		return owner, false
	}
	_, err = readPid(other, "agent")
	return owner, err == nil
}

// claimBridge records stateDir as the owner of bridge.
func claimBridge(bridge, stateDir string) error {
	if err := os.MkdirAll(filepath.Dir(bridgeOwnerFile(bridge)), 0o755); err != nil {
		return err
	}
	return os.WriteFile(bridgeOwnerFile(bridge), []byte(stateDir+"\n"), 0o644)
}
