package localcluster_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/replnode/replnode/hack/localcluster/cluster"
	"github.com/replnode/replnode/hack/localcluster/podnet"
)

// mustQuantity parses a resource quantity.
func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }

// pingFrom runs redis-cli PING from inside a pod's container against ip,
// giving up after limit seconds.
func pingFrom(pid int, ip string, limit int) (string, error) {
	out, err := execIn(pid, time.Duration(limit+10)*time.Second, "timeout", fmt.Sprint(limit), "redis-cli", "-h", ip, "-p", "6379", "ping")
	return strings.TrimSpace(out), err
}

// apiFrom asks the API server's /livez from inside a pod, giving up after
// limit seconds, and returns the HTTP code ("000" when unreachable).
func apiFrom(pid int, limit int) string {
	// nsenter does not carry the container's env, so build the address the
	// agent gives pods in KUBERNETES_SERVICE_HOST/PORT: gateway and API port.
	network, _ := podnet.NewNetwork(cfg.Bridge, cfg.PodCIDR)
	url := fmt.Sprintf("https://%s:%d/livez", network.Gateway, cfg.APIServerPort)
	out, _ := execIn(pid, time.Duration(limit+10)*time.Second, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", fmt.Sprint(limit),
		"--cacert", "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", url)
	return strings.TrimSpace(out)
}

// serverAndClient starts a server pod and a shell client pod in ns and
// returns both once Ready.
func serverAndClient(t *testing.T, ns string) (server, client *corev1.Pod) {
	t.Helper()
	createPod(t, ns, serverPod("server"))
	createPod(t, ns, shellPod("client", "sleep 3600"))
	return waitReady(t, ns, "server", 90*time.Second), waitReady(t, ns, "client", 90*time.Second)
}

// TestPodNetworkAndPartitions checks pod-to-pod and pod-to-API traffic,
// then cuts a pod off from the other pods and from the API server in turn,
// and heals both.
func TestPodNetworkAndPartitions(t *testing.T) {
	// Not parallel: HealAll and resume act on the whole cluster.
	ns := namespace(t)
	ctx := context.Background()
	server, clientPod := serverAndClient(t, ns)
	pid := containerPid(t, clientPod, "main")
	if got, err := pingFrom(pid, server.Status.PodIP, 15); got != "PONG" {
		t.Fatalf("client -> server before partition: %q %v", got, err)
	}
	if got := apiFrom(pid, 15); got != "200" {
		t.Fatalf("client -> API server before partition: HTTP %q", got)
	}

	if _, err := faults.Partition(ctx, ns, "client", podnet.Cut{Pods: true}); err != nil {
		t.Fatal(err)
	}
	if got, _ := pingFrom(pid, server.Status.PodIP, 3); got == "PONG" {
		t.Error("client still reaches the server while partitioned from pods")
	}
	if got := apiFrom(pid, 15); got != "200" {
		t.Errorf("partition from pods also cut the API server: HTTP %q", got)
	}
	if _, err := faults.HealAll(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := pingFrom(pid, server.Status.PodIP, 15); got != "PONG" {
		t.Errorf("client -> server after heal: %q %v", got, err)
	}

	if _, err := faults.Partition(ctx, ns, "client", podnet.Cut{API: true}); err != nil {
		t.Fatal(err)
	}
	if got := apiFrom(pid, 3); got == "200" {
		t.Error("client still reaches the API server while partitioned from it")
	}
	if got, err := pingFrom(pid, server.Status.PodIP, 15); got != "PONG" {
		t.Errorf("partition from the API server also cut pods: %q %v", got, err)
	}
	// The host (probes, operators on the host) still reaches the pod.
	if reply, err := redisPing(net.JoinHostPort(server.Status.PodIP, "6379")); err != nil || reply != "+PONG" {
		t.Errorf("host -> server: %q %v", reply, err)
	}
	if _, err := faults.HealAll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := apiFrom(pid, 15); got != "200" {
		t.Errorf("client -> API server after heal: HTTP %q", got)
	}
	if _, err := faults.Partition(ctx, ns, "nosuchpod", podnet.Cut{Pods: true, API: true}); err == nil {
		t.Error("partitioning a pod that does not exist succeeded")
	}
}

// hostListener listens on a free port of the bridge gateway, the host side
// that pods reach, and accepts (and closes) connections until the test ends.
func hostListener(t *testing.T) string {
	t.Helper()
	network, err := podnet.NewNetwork(cfg.Bridge, cfg.PodCIDR)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(network.Gateway.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l.Addr().String()
}

// connectFrom reports whether a TCP connection from inside a pod's
// container to addr succeeds within limit seconds (bash's /dev/tcp, so no
// extra tool is needed in the pod).
func connectFrom(pid int, addr string, limit int) bool {
	host, port, _ := net.SplitHostPort(addr)
	_, err := execIn(pid, time.Duration(limit+10)*time.Second, "timeout", fmt.Sprint(limit), "bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/%s/%s", host, port))
	return err == nil
}

// TestPartitionFromHost cuts a server pod off from the host: another pod
// still reaches it, the host does not (nor does the pod reach the host),
// its API access survives, and heal makes it reachable from the host again.
func TestPartitionFromHost(t *testing.T) {
	// Not parallel: HealAll acts on the whole cluster.
	ns := namespace(t)
	ctx := context.Background()
	server, clientPod := serverAndClient(t, ns)
	clientPid := containerPid(t, clientPod, "main")
	serverPid := containerPid(t, server, "server")
	serverAddr := net.JoinHostPort(server.Status.PodIP, "6379")
	onHost := hostListener(t)
	if reply, err := redisPing(serverAddr); err != nil || reply != "+PONG" {
		t.Fatalf("host -> server before partition: %q %v", reply, err)
	}
	if !connectFrom(serverPid, onHost, 5) {
		t.Fatalf("server -> host listener %s before partition: no connection", onHost)
	}

	msg, err := faults.Partition(ctx, ns, "server", podnet.Cut{Host: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = faults.HealAll(context.Background()) })
	if !strings.Contains(msg, "the host") {
		t.Errorf("partition message %q does not say the host", msg)
	}
	if reply, err := redisPing(serverAddr); err == nil {
		t.Errorf("host still reaches the server while partitioned from the host: %q", reply)
	}
	if connectFrom(serverPid, onHost, 3) {
		t.Error("server still reaches the host while partitioned from it")
	}
	if got, err := pingFrom(clientPid, server.Status.PodIP, 15); got != "PONG" {
		t.Errorf("partition from the host also cut the other pods: client -> server %q %v", got, err)
	}
	if got := apiFrom(serverPid, 15); got != "200" {
		t.Errorf("partition from the host also cut the API server: HTTP %q", got)
	}
	// The agent probes from the host too: the server's readiness probe fails.
	eventually(t, 30*time.Second, "server marked not ready (its probes come from the host)", func() (bool, error) {
		p, err := getPod(ns, "server")
		return err == nil && !podReady(p), err
	})

	if _, err := faults.HealAll(ctx); err != nil {
		t.Fatal(err)
	}
	if reply, err := redisPing(serverAddr); err != nil || reply != "+PONG" {
		t.Errorf("host -> server after heal: %q %v", reply, err)
	}
	if !connectFrom(serverPid, onHost, 5) {
		t.Error("server -> host after heal: no connection")
	}
	waitReady(t, ns, "server", 30*time.Second)
}

// processState returns the state letter of a process (R, S, T, ...).
func processState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "?"
	}
	s := string(b)
	i := strings.LastIndex(s, ")")
	if i < 0 || i+2 >= len(s) {
		return "?"
	}
	return s[i+2 : i+3]
}

// nodeReady returns the status of a node's Ready condition.
func nodeReady(name string) (corev1.ConditionStatus, error) {
	n, err := client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status, nil
		}
	}
	return "", fmt.Errorf("node %s has no Ready condition", name)
}

// TestStopAndResumeNode stops the node of a pod: the node goes NotReady
// (Unknown) and the pod's process is frozen; resuming brings both back.
func TestStopAndResumeNode(t *testing.T) {
	// Not parallel: HealAll and resume act on the whole cluster.
	ns := namespace(t)
	ctx := context.Background()
	createPod(t, ns, serverPod("frozen"))
	p := waitReady(t, ns, "frozen", 90*time.Second)
	node, pid := p.Spec.NodeName, containerPid(t, p, "server")
	if _, err := faults.StopNode(ctx, "no-such-node"); err == nil {
		t.Error("stopping an unknown node succeeded")
	}
	if _, err := faults.StopNode(ctx, node); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = faults.ResumeNode(context.Background(), node) })
	eventually(t, 10*time.Second, "the pod's process to be stopped (state T)", func() (bool, error) {
		st := processState(pid)
		return st == "T", fmt.Errorf("state %q", st)
	})
	if conn, err := net.DialTimeout("tcp", net.JoinHostPort(p.Status.PodIP, "6379"), 2*time.Second); err == nil {
		conn.Close()
		t.Error("the host could still connect to a pod of a stopped node")
	}
	eventually(t, 90*time.Second, "node "+node+" to stop being Ready", func() (bool, error) {
		st, err := nodeReady(node)
		return err == nil && st != corev1.ConditionTrue, fmt.Errorf("Ready=%s %v", st, err)
	})
	eventually(t, 60*time.Second, "pod marked not ready by the node controller", func() (bool, error) {
		p, err := getPod(ns, "frozen")
		return err == nil && !podReady(p), err
	})
	if _, err := faults.ResumeNode(ctx, node); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "node "+node+" Ready again", func() (bool, error) {
		st, err := nodeReady(node)
		return err == nil && st == corev1.ConditionTrue, fmt.Errorf("Ready=%s %v", st, err)
	})
	if st := processState(pid); st == "T" {
		t.Error("process still stopped after resume")
	}
	if reply, err := redisPing(net.JoinHostPort(p.Status.PodIP, "6379")); err != nil || reply != "+PONG" {
		t.Errorf("PING after resume: %q %v", reply, err)
	}
}

// TestCutsByIDAndPause checks the composable faults: a cut between two
// pods leaves the third reachable, cuts add up and heal one by one by id,
// a one-way cut, a host cut (an operator on the host) leaves the pods'
// traffic alone, and pause/resume freeze and continue a pod's process.
func TestCutsByIDAndPause(t *testing.T) {
	// Not parallel: HealAll acts on the whole cluster.
	ns := namespace(t)
	ctx := context.Background()
	server, clientPod := serverAndClient(t, ns)
	createPod(t, ns, serverPod("other"))
	other := waitReady(t, ns, "other", 90*time.Second)
	t.Cleanup(func() { _, _ = faults.HealAll(context.Background()) })
	pid := containerPid(t, clientPod, "main")
	for _, ip := range []string{server.Status.PodIP, other.Status.PodIP} {
		if got, err := pingFrom(pid, ip, 15); got != "PONG" {
			t.Fatalf("client -> %s before any cut: %q %v", ip, got, err)
		}
	}

	// client | server, both directions: other stays reachable.
	peerCut, _, err := faults.Cut(ctx, cluster.CutSpec{Namespace: ns, Pod: "client", Peers: []string{"server"}})
	if err != nil || peerCut == "" {
		t.Fatalf("cut client from server: id %q, %v", peerCut, err)
	}
	if got, _ := pingFrom(pid, server.Status.PodIP, 3); got == "PONG" {
		t.Error("client still reaches server across the cut")
	}
	if got, err := pingFrom(pid, other.Status.PodIP, 15); got != "PONG" {
		t.Errorf("the client|server cut also cut client -> other: %q %v", got, err)
	}
	serverPid := containerPid(t, server, "server")
	if got, _ := pingFrom(serverPid, clientPod.Status.PodIP, 3); got == "PONG" {
		t.Error("server still reaches client across a two-way cut")
	}

	// A second cut (the API server) adds up; healing the first by id
	// leaves the second.
	apiCut, _, err := faults.Cut(ctx, cluster.CutSpec{Namespace: ns, Pod: "client", From: podnet.Cut{API: true}})
	if err != nil || apiCut == peerCut {
		t.Fatalf("cut client from the API: id %q (first %q), %v", apiCut, peerCut, err)
	}
	if _, err := faults.HealCut(ctx, peerCut); err != nil {
		t.Fatal(err)
	}
	if got, err := pingFrom(pid, server.Status.PodIP, 15); got != "PONG" {
		t.Errorf("client -> server after healing its cut: %q %v", got, err)
	}
	if got := apiFrom(pid, 3); got == "200" {
		t.Error("healing the peer cut also healed the API cut")
	}
	if _, err := faults.HealCut(ctx, peerCut); err == nil {
		t.Error("healing a healed cut succeeded")
	}
	if _, err := faults.HealCut(ctx, apiCut); err != nil {
		t.Fatal(err)
	}
	if got := apiFrom(pid, 15); got != "200" {
		t.Errorf("client -> API server after healing its cut: HTTP %q", got)
	}

	// One way, out: client's packets to other are dropped; server is fine.
	oneWay, _, err := faults.Cut(ctx, cluster.CutSpec{Namespace: ns, Pod: "client", Peers: []string{"other"}, Direction: podnet.Outgoing})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := pingFrom(pid, other.Status.PodIP, 3); got == "PONG" {
		t.Error("client still reaches other across a one-way cut")
	}
	if got, err := pingFrom(pid, server.Status.PodIP, 15); got != "PONG" {
		t.Errorf("one-way client->other cut also cut client -> server: %q %v", got, err)
	}
	if _, err := faults.HealCut(ctx, oneWay); err != nil {
		t.Fatal(err)
	}

	// The host (an operator process) cut from server: the host cannot
	// connect, the client still can.
	hostCut, _, err := faults.Cut(ctx, cluster.CutSpec{Namespace: ns, Pod: "server", From: podnet.Cut{Host: true}})
	if err != nil {
		t.Fatal(err)
	}
	if conn, err := net.DialTimeout("tcp", net.JoinHostPort(server.Status.PodIP, "6379"), 2*time.Second); err == nil {
		conn.Close()
		t.Error("the host still connects to a pod cut from the host")
	}
	if got, err := pingFrom(pid, server.Status.PodIP, 15); got != "PONG" {
		t.Errorf("a host cut of server also cut client -> server: %q %v", got, err)
	}
	if _, err := faults.HealCut(ctx, hostCut); err != nil {
		t.Fatal(err)
	}

	// Pause freezes the process (state T, PING unanswered), resume continues it.
	otherPid := containerPid(t, other, "server")
	if _, err := faults.PausePod(ctx, ns, "other"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "other's process stopped (state T)", func() (bool, error) {
		st := processState(otherPid)
		return st == "T", fmt.Errorf("state %q", st)
	})
	if got, _ := pingFrom(pid, other.Status.PodIP, 3); got == "PONG" {
		t.Error("a paused pod answered PING")
	}
	if _, err := faults.ResumePod(ctx, ns, "other"); err != nil {
		t.Fatal(err)
	}
	if got, err := pingFrom(pid, other.Status.PodIP, 15); got != "PONG" {
		t.Errorf("client -> other after resume: %q %v", got, err)
	}
	if _, _, err := faults.Cut(ctx, cluster.CutSpec{Namespace: ns, Pod: "client", Peers: []string{"nosuchpod"}}); err == nil {
		t.Error("cutting a pod from a pod that does not exist succeeded")
	}
}
