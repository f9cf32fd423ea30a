package controllers

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers/nodeclient"
)

// ------ MEMBERS AS REAL redis-server PROCESSES ------
//
// Groups whose pods carry the label kubelet=process are not handled by the
// fake kubelet: processKubelet runs each pod as a real redis-server 7.0 on
// its own loopback address (127.77.x.y, port 6379), from the pod's own
// command line and the ConfigMap's redis.conf, with --dir and --bind moved
// to a temporary directory and that address. The operator then talks RESP to
// them through routingClient. This checks the generated configuration and
// command line are accepted by a real server and that replication, scale
// and failover work against real replication.

const processKubeletLabel = "kubelet"

// routingClient sends loopback addresses to the real RESP client and
// everything else to the fake.
type routingClient struct {
	real nodeclient.Client
	fake nodeclient.Client
}

// pick returns the client for n.
func (c routingClient) pick(n nodeclient.Node) nodeclient.Client {
	if strings.HasPrefix(n.Addr, "127.") {
		return c.real
	}
	return c.fake
}

func (c routingClient) Ping(ctx context.Context, n nodeclient.Node) error {
	return c.pick(n).Ping(ctx, n)
}
func (c routingClient) Role(ctx context.Context, n nodeclient.Node) (nodeclient.RoleReply, error) {
	return c.pick(n).Role(ctx, n)
}
func (c routingClient) InfoReplication(ctx context.Context, n nodeclient.Node) (string, error) {
	return c.pick(n).InfoReplication(ctx, n)
}
func (c routingClient) ReplicaOf(ctx context.Context, n nodeclient.Node, host string, port int) error {
	return c.pick(n).ReplicaOf(ctx, n, host, port)
}
func (c routingClient) ConfigSet(ctx context.Context, n nodeclient.Node, p, v string) error {
	return c.pick(n).ConfigSet(ctx, n, p, v)
}
func (c routingClient) ClientPause(ctx context.Context, n nodeclient.Node, d time.Duration) error {
	return c.pick(n).ClientPause(ctx, n, d)
}
func (c routingClient) ClientUnpause(ctx context.Context, n nodeclient.Node) error {
	return c.pick(n).ClientUnpause(ctx, n)
}
func (c routingClient) PushEpoch(ctx context.Context, n nodeclient.Node) error {
	return c.pick(n).PushEpoch(ctx, n)
}

func (c routingClient) ClientKillNormal(ctx context.Context, n nodeclient.Node) error {
	return c.pick(n).ClientKillNormal(ctx, n)
}

func (c routingClient) ServedCertificate(ctx context.Context, n nodeclient.Node) ([]byte, error) {
	return c.pick(n).ServedCertificate(ctx, n)
}

func (c routingClient) ACLList(ctx context.Context, n nodeclient.Node) ([]string, error) {
	return c.pick(n).ACLList(ctx, n)
}

func (c routingClient) ACLSetUser(ctx context.Context, n nodeclient.Node, name string, rules []string) error {
	return c.pick(n).ACLSetUser(ctx, n, name, rules)
}

func (c routingClient) ACLDelUser(ctx context.Context, n nodeclient.Node, name string) error {
	return c.pick(n).ACLDelUser(ctx, n, name)
}

// processKubelet runs labelled pods as redis-server processes.
type processKubelet struct {
	c     client.Client
	bin   string
	mu    sync.Mutex
	next  int
	procs map[types.UID]*exec.Cmd
	names map[types.UID]types.NamespacedName
}

// newProcessKubelet returns a kubelet running bin, or nil when redis-server is missing.
func newProcessKubelet(c client.Client) *processKubelet {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil
	}
	return &processKubelet{c: c, bin: bin, procs: map[types.UID]*exec.Cmd{}, names: map[types.UID]types.NamespacedName{}}
}

// run starts new pods and stops deleted ones every interval until ctx ends,
// then stops every process.
func (k *processKubelet) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	defer k.stopAll()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			k.sync(ctx)
		}
	}
}

// sync reconciles processes with pods.
func (k *processKubelet) sync(ctx context.Context) {
	var pods corev1.PodList
	if err := k.c.List(ctx, &pods, client.MatchingLabels{processKubeletLabel: "process"}); err != nil {
		return
	}
	alive := map[types.UID]bool{}
	for i := range pods.Items {
		pod := &pods.Items[i]
		if !pod.DeletionTimestamp.IsZero() {
			continue
		}
		alive[pod.UID] = true
		if pod.Status.PodIP == "" {
			if err := k.start(ctx, pod); err != nil {
				GinkgoWriter.Printf("process kubelet: %s: %v\n", pod.Name, err)
			}
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for uid, cmd := range k.procs {
		if !alive[uid] {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			delete(k.procs, uid)
		}
	}
}

// start runs one pod's process and reports it Running and Ready once it listens.
func (k *processKubelet) start(ctx context.Context, pod *corev1.Pod) error {
	var cm corev1.ConfigMap
	if err := k.c.Get(ctx, types.NamespacedName{Namespace: pod.Namespace, Name: pod.Spec.Volumes[0].ConfigMap.Name}, &cm); err != nil {
		return err
	}
	k.mu.Lock()
	k.next++
	ip := fmt.Sprintf("127.77.%d.%d", k.next/250, k.next%250+1)
	k.mu.Unlock()
	dir, err := os.MkdirTemp("", "rg-member-")
	if err != nil {
		return err
	}
	conf := filepath.Join(dir, configFile)
	// The pod mounts its data volume at /data and listens on its own IP;
	// here the data directory is a temporary one and the IP a loopback one.
	text := strings.Replace(cm.Data[configFile], "\ndir "+dataDir+"\n", "\ndir "+dir+"\n", 1)
	text = strings.Replace(text, "\nbind 0.0.0.0\n", "\nbind "+ip+"\n", 1)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return err
	}
	c := pod.Spec.Containers[0]
	env := map[string]string{podIPEnv: ip}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			var s corev1.Secret
			ref := e.ValueFrom.SecretKeyRef
			if err := k.c.Get(ctx, types.NamespacedName{Namespace: pod.Namespace, Name: ref.Name}, &s); err != nil {
				return err
			}
			env[e.Name] = string(s.Data[ref.Key])
		}
	}
	args := []string{conf}
	for _, a := range c.Args[1:] {
		for name, v := range env {
			a = strings.ReplaceAll(a, "$("+name+")", v)
		}
		args = append(args, a)
	}
	args = append(args, "--dir", dir, "--bind", ip, "--save", "")
	cmd := exec.Command(k.bin, args...)
	cmd.Stdout, cmd.Stderr = GinkgoWriter, GinkgoWriter
	if err := cmd.Start(); err != nil {
		return err
	}
	k.mu.Lock()
	k.procs[pod.UID] = cmd
	k.mu.Unlock()
	addr := net.JoinHostPort(ip, strconv.Itoa(serverPort))
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not listen on %s: %v", pod.Name, addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	pod.Status.Phase = corev1.PodRunning
	pod.Status.PodIP = ip
	pod.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	return k.c.Status().Update(ctx, pod)
}

// kill stops the process of the named pod (its pod object stays), as a crash would.
func (k *processKubelet) kill(ns, name string) {
	var pod corev1.Pod
	Expect(k.c.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: name}, &pod)).To(Succeed())
	k.mu.Lock()
	defer k.mu.Unlock()
	cmd := k.procs[pod.UID]
	Expect(cmd).NotTo(BeNil(), "no process for %s", name)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	delete(k.procs, pod.UID)
}

// stopAll kills every process.
func (k *processKubelet) stopAll() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for uid, cmd := range k.procs {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		delete(k.procs, uid)
	}
}

// redisDo sends one command to addr with AUTH and returns the first reply line.
func redisDo(addr, password string, args ...string) string {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	Expect(err).NotTo(HaveOccurred())
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	w := bufio.NewWriter(conn)
	r := bufio.NewReader(conn)
	send := func(a ...string) string {
		fmt.Fprintf(w, "*%d\r\n", len(a))
		for _, s := range a {
			fmt.Fprintf(w, "$%d\r\n%s\r\n", len(s), s)
		}
		Expect(w.Flush()).To(Succeed())
		line, err := r.ReadString('\n')
		Expect(err).NotTo(HaveOccurred())
		line = strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(line, "$") && line != "$-1" {
			body, err := r.ReadString('\n')
			Expect(err).NotTo(HaveOccurred())
			return strings.TrimRight(body, "\r\n")
		}
		return line
	}
	if password != "" {
		Expect(send("AUTH", password)).To(Equal("+OK"))
	}
	return send(args...)
}

var _ = Describe("ReplicationGroup on real redis-server processes", func() {
	It("replicates, scales and fails over with the generated config and command line", func() {
		if processes == nil {
			Skip("redis-server is not installed (make test-deps)")
		}
		ns := admissionNamespace("real")
		Expect(k8sClient.Create(suiteCtx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "real-pw", Namespace: ns},
			Data:       map[string][]byte{"password": []byte("real-secret")},
		})).To(Succeed())
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "real", Namespace: ns}}
		rg.Spec.Replicas = ptr.To[int32](2)
		rg.Spec.PodLabels = map[string]string{processKubeletLabel: "process"}
		rg.Spec.Auth = &replnodev1alpha1.AuthSpec{SecretName: "real-pw"}
		rg.Spec.Config = map[string]replnodev1alpha1.ConfigValue{"maxmemory": "64mb", "appendonly": "no"}
		rg.Spec.Failover.MasterDownAfter = &metav1.Duration{Duration: 2 * time.Second}
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
		expectRunning(ns, "real", 2)

		By("writing to the master: both replicas receive the writes")
		master := getGroup(ns, "real").Status.CurrentMaster
		masterPod := &corev1.Pod{}
		Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: master}, masterPod)).To(Succeed())
		masterAddr := net.JoinHostPort(masterPod.Status.PodIP, strconv.Itoa(serverPort))
		for i := range 50 {
			Expect(redisDo(masterAddr, "real-secret", "SET", fmt.Sprintf("key:%d", i), "value")).To(Equal("+OK"))
		}
		Eventually(func(g Gomega) {
			rg := getGroup(ns, "real")
			g.Expect(rg.Status.MasterOffset).To(BeNumerically(">", 0))
			for _, m := range rg.Status.Members {
				g.Expect(m.Offset).To(Equal(rg.Status.MasterOffset), m.Name)
				if m.Name != master {
					g.Expect(m.LinkStatus).To(Equal("up"))
				}
			}
		}, eventually, poll).Should(Succeed())

		By("killing the master process: a replica is promoted and keeps the data")
		processes.kill(ns, master)
		var newMaster string
		Eventually(func(g Gomega) {
			rg := getGroup(ns, "real")
			g.Expect(rg.Status.CurrentMaster).NotTo(Equal(master))
			g.Expect(rg.Status.CurrentMaster).NotTo(BeEmpty())
			g.Expect(rg.Status.LastFailover).NotTo(BeNil())
			newMaster = rg.Status.CurrentMaster
		}, eventually, poll).Should(Succeed())
		pod := &corev1.Pod{}
		Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: newMaster}, pod)).To(Succeed())
		newAddr := net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(serverPort))
		Expect(redisDo(newAddr, "real-secret", "GET", "key:49")).To(Equal("value"))
		Eventually(func() string {
			return redisDo(newAddr, "real-secret", "SET", "after", "failover")
		}, eventually, poll).Should(Equal("+OK"))

		By("the group heals back to a master and two replicas")
		Eventually(func(g Gomega) {
			err := k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: master}, &corev1.Pod{})
			if err == nil {
				// The fenced old master's pod is deleted and recreated as a replica.
				return
			}
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
		}, eventually, poll).Should(Succeed())
		expectRunning(ns, "real", 2)

		By("deleting the group's pods stops their processes")
		Expect(k8sClient.Delete(suiteCtx, getGroup(ns, "real"))).To(Succeed())
		Expect(k8sClient.DeleteAllOf(suiteCtx, &corev1.Pod{}, client.InNamespace(ns))).To(Succeed())
	})
})
