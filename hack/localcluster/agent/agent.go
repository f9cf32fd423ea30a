// Package agent is the local cluster's node agent: a client-go program that
// registers the cluster's nodes, keeps their heartbeats (Node status and
// Lease), runs the pods bound to them as real processes (each pod in its own
// network namespace on the bridge, each container in its own mount namespace
// with its volumes bind-mounted, secret and configMap ones kept up to
// date while it runs), drives probes, restarts and graceful
// deletion, reports pod status like a kubelet, provisions PersistentVolumes
// for the default StorageClass, proxies the API server onto the bridge, and
// serves fault injection on a unix socket.
//
// Pure decisions (restart policy, backoff, probe thresholds, pod phase and
// conditions, env expansion) live in decide.go and env.go and are tested with
// tables; everything with sockets, processes and goroutines is in the rest.
// It must not touch processes, namespaces or files outside its state
// directory and the lc-* namespaces it creates.
package agent

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/record"

	"github.com/replnode/replnode/hack/localcluster/cluster"
	"github.com/replnode/replnode/hack/localcluster/podnet"
)

// Agent runs every node of one local cluster.
type Agent struct {
	cfg      *cluster.Config
	client   kubernetes.Interface
	net      *podnet.Network
	alloc    *podnet.Allocator
	recorder record.EventRecorder
	logger   *log.Logger

	mu      sync.Mutex
	workers map[types.UID]*podWorker
	stopped map[string]bool // nodes stopped by a fault
	nodes   map[string]bool
	cuts    map[string]cutRecord // live cuts by id
	nextCut int
	paused  map[types.UID][]int // pods SIGSTOPped by a fault: their pids
}

// Run starts the agent for the cluster whose state is in stateDir and blocks
// until ctx ends. Pods keep running when it returns; Down removes them.
func Run(ctx context.Context, stateDir string) error {
	cfg, err := cluster.Load(stateDir)
	if err != nil {
		return err
	}
	rest, err := clientcmd.BuildConfigFromFlags("", cfg.AdminKubeconfig())
	if err != nil {
		return fmt.Errorf("admin kubeconfig: %w", err)
	}
	rest.QPS, rest.Burst = 50, 100
	rest.UserAgent = "localcluster-agent"
	client, err := kubernetes.NewForConfig(rest)
	if err != nil {
		return err
	}
	network, err := podnet.NewNetwork(cfg.Bridge, cfg.PodCIDR)
	if err != nil {
		return err
	}
	if err := network.EnsureBridge(); err != nil {
		return err
	}
	broadcaster := record.NewBroadcaster()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	a := &Agent{
		cfg:      cfg,
		client:   client,
		net:      network,
		alloc:    podnet.NewAllocator(network),
		recorder: broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "localcluster-agent"}),
		logger:   log.New(os.Stderr, "agent: ", log.LstdFlags|log.Lmicroseconds),
		workers:  map[types.UID]*podWorker{},
		stopped:  map[string]bool{},
		cuts:     map[string]cutRecord{},
		paused:   map[types.UID][]int{},
		nodes:    map[string]bool{},
	}
	for _, n := range cfg.NodeNames() {
		a.nodes[n] = true
	}
	if err := a.serveAPIProxy(ctx); err != nil {
		return fmt.Errorf("API server proxy on the bridge: %w", err)
	}
	if err := a.serveKubeletAPI(ctx); err != nil {
		return fmt.Errorf("kubelet API (container logs): %w", err)
	}
	if err := a.serveFaults(ctx); err != nil {
		return fmt.Errorf("fault socket: %w", err)
	}
	if err := a.ensureStorageClass(ctx); err != nil {
		return fmt.Errorf("storage class: %w", err)
	}
	for _, n := range cfg.NodeNames() {
		if err := a.registerNode(ctx, n); err != nil {
			return fmt.Errorf("register node %s: %w", n, err)
		}
		go a.heartbeat(ctx, n)
	}
	go a.provisionLoop(ctx)

	factory := informers.NewSharedInformerFactory(client, 10*time.Minute)
	podInformer := factory.Core().V1().Pods().Informer()
	_, err = podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { a.podChanged(obj) },
		UpdateFunc: func(_, obj any) { a.podChanged(obj) },
		DeleteFunc: func(obj any) { a.podDeleted(obj) },
	})
	if err != nil {
		return err
	}
	factory.Start(ctx.Done())
	a.logger.Printf("running %d nodes; API server proxied at %s:%d", len(a.nodes), network.Gateway, cfg.APIServerPort)
	<-ctx.Done()
	return nil
}

// ------ POD EVENTS ------

// podChanged hands a pod bound to one of our nodes to its worker, starting
// one for a pod seen the first time.
func (a *Agent) podChanged(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || !a.nodes[pod.Spec.NodeName] {
		return
	}
	a.mu.Lock()
	w, exists := a.workers[pod.UID]
	if !exists {
		if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			if pod.DeletionTimestamp == nil {
				a.mu.Unlock()
				return // a finished pod of an earlier agent: nothing to run
			}
		}
		w = newPodWorker(a, pod)
		a.workers[pod.UID] = w
		go w.run()
	}
	a.mu.Unlock()
	w.update(pod)
}

// podDeleted tells the worker the pod object is gone (force deletion or the
// end of a graceful one), so it stops what still runs without waiting.
func (a *Agent) podDeleted(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	a.mu.Lock()
	w := a.workers[pod.UID]
	a.mu.Unlock()
	if w != nil {
		w.markGone()
	}
}

// forgetWorker removes a finished worker.
func (a *Agent) forgetWorker(uid types.UID) {
	a.mu.Lock()
	delete(a.workers, uid)
	a.mu.Unlock()
}

// nodeStopped reports whether a fault stopped node.
func (a *Agent) nodeStopped(node string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stopped[node]
}

// findWorker returns the worker of namespace/name.
func (a *Agent) findWorker(namespace, name string) (*podWorker, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, w := range a.workers {
		if w.namespace == namespace && w.name == name {
			return w, nil
		}
	}
	return nil, fmt.Errorf("pod %s/%s is not running on this cluster's nodes", namespace, name)
}

// ------ API SERVER PROXY ON THE BRIDGE ------

// serveAPIProxy listens on the bridge gateway at the API server's port and
// forwards every connection to the API server on loopback, so pods reach it
// at the address the `kubernetes` Service advertises.
func (a *Agent) serveAPIProxy(ctx context.Context) error {
	addr := net.JoinHostPort(a.net.Gateway.String(), fmt.Sprint(a.cfg.APIServerPort))
	target := net.JoinHostPort("127.0.0.1", fmt.Sprint(a.cfg.APIServerPort))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	go func() { <-ctx.Done(); l.Close() }()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
				continue
			}
			go proxyConn(conn, target)
		}
	}()
	return nil
}

// proxyConn copies bytes both ways between conn and a new connection to target.
func proxyConn(conn net.Conn, target string) {
	defer conn.Close()
	up, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	// The half-close passes the end of one direction on to the other side.
	// If it fails the peer is already gone, and the deferred Closes end both
	// connections anyway, so there is nothing more to do with the error.
	go func() { _, _ = io.Copy(up, conn); _ = up.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	go func() { _, _ = io.Copy(conn, up); _ = conn.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	<-done
	<-done
}

// podDir returns the state directory of a pod.
func (a *Agent) podDir(pod *corev1.Pod) string {
	return filepath.Join(a.cfg.PodsDir(), fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID))
}
