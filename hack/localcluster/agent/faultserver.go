package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/replnode/replnode/hack/localcluster/cluster"
	"github.com/replnode/replnode/hack/localcluster/podnet"
)

// ------ FAULT INJECTION SERVER ------

// serveFaults serves the fault API on the agent's unix socket.
func (a *Agent) serveFaults(ctx context.Context) error {
	sock := a.cfg.AgentSocket()
	_ = os.Remove(sock)
	l, err := net.Listen("unix", sock)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	handleFull := func(path string, fn func(context.Context, cluster.FaultRequest) (cluster.FaultResponse, error)) {
		mux.HandleFunc(path, func(rw http.ResponseWriter, r *http.Request) {
			var req cluster.FaultRequest
			var resp cluster.FaultResponse
			status := http.StatusOK
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
				resp.Error, status = "bad request body: "+err.Error(), http.StatusBadRequest
			} else if out, err := fn(r.Context(), req); err != nil {
				resp = out
				resp.Error, status = err.Error(), http.StatusConflict
			} else {
				resp = out
			}
			a.logger.Printf("fault %s %+v -> %q %q", path, req, resp.Message, resp.Error)
			rw.Header().Set("Content-Type", "application/json")
			rw.WriteHeader(status)
			_ = json.NewEncoder(rw).Encode(resp)
		})
	}
	handle := func(path string, fn func(context.Context, cluster.FaultRequest) (string, error)) {
		handleFull(path, func(ctx context.Context, req cluster.FaultRequest) (cluster.FaultResponse, error) {
			msg, err := fn(ctx, req)
			return cluster.FaultResponse{Message: msg}, err
		})
	}
	handleFull(cluster.FaultCut, a.faultCut)
	handle(cluster.FaultHealCut, a.faultHealCut)
	handle(cluster.FaultPause, a.faultPause)
	handle(cluster.FaultResume, a.faultResume)
	handle(cluster.FaultKill, a.faultKill)
	handle(cluster.FaultStopNode, a.faultStopNode)
	handle(cluster.FaultResumeNode, a.faultResumeNode)
	handle(cluster.FaultPartition, a.faultPartition)
	handle(cluster.FaultHeal, a.faultHeal)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { <-ctx.Done(); srv.Close() }()
	go func() { _ = srv.Serve(l) }()
	return nil
}

// faultKill SIGKILLs one container's process (or all of the pod's).
func (a *Agent) faultKill(_ context.Context, req cluster.FaultRequest) (string, error) {
	w, err := a.findWorker(nsOrDefault(req.Namespace), req.Pod)
	if err != nil {
		return "", err
	}
	var killed []string
	err = w.do(func() {
		w.forEachProc(func(c *ctr, pid int) {
			if req.Container == "" || req.Container == c.spec.Name {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				killed = append(killed, fmt.Sprintf("%s (pid %d)", c.spec.Name, pid))
			}
		})
	})
	if err != nil {
		return "", err
	}
	if len(killed) == 0 {
		return "", fmt.Errorf("pod %s/%s has no running container %q", w.namespace, w.name, req.Container)
	}
	return "killed " + strings.Join(killed, ", "), nil
}

// checkNode returns an error for a name that is not one of our nodes.
func (a *Agent) checkNode(name string) error {
	if !a.nodes[name] {
		return fmt.Errorf("unknown node %q (nodes: %s)", name, strings.Join(a.cfg.NodeNames(), ", "))
	}
	return nil
}

// workersOn returns the workers of pods on node.
func (a *Agent) workersOn(node string) []*podWorker {
	a.mu.Lock()
	defer a.mu.Unlock()
	var ws []*podWorker
	for _, w := range a.workers {
		if w.node == node {
			ws = append(ws, w)
		}
	}
	return ws
}

// faultStopNode stops a node's heartbeats, SIGSTOPs its pods' processes and
// drops all their traffic, so the node looks gone from everywhere (the
// host included); resuming lifts exactly that (other cuts stay).
func (a *Agent) faultStopNode(_ context.Context, req cluster.FaultRequest) (string, error) {
	if err := a.checkNode(req.Node); err != nil {
		return "", err
	}
	a.mu.Lock()
	a.stopped[req.Node] = true
	a.mu.Unlock()
	var errs []error
	ws := a.workersOn(req.Node)
	for _, w := range ws {
		if err := w.do(func() { w.signalAll(syscall.SIGSTOP) }); err != nil {
			errs = append(errs, err)
		}
		if _, err := os.Stat(podnet.NamespacePath(w.nsName)); err == nil {
			if err := a.net.Isolate(w.nsName); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return fmt.Sprintf("node %s stopped: heartbeats off, %d pods frozen and cut off", req.Node, len(ws)), errors.Join(errs...)
}

// faultResumeNode undoes faultStopNode (the pods' other cuts stay) and
// posts a heartbeat at once.
func (a *Agent) faultResumeNode(ctx context.Context, req cluster.FaultRequest) (string, error) {
	if err := a.checkNode(req.Node); err != nil {
		return "", err
	}
	return a.resumeNode(ctx, req.Node)
}

// resumeNode SIGCONTs the node's pods and restarts its heartbeats.
func (a *Agent) resumeNode(ctx context.Context, node string) (string, error) {
	var errs []error
	ws := a.workersOn(node)
	for _, w := range ws {
		if _, err := os.Stat(podnet.NamespacePath(w.nsName)); err == nil {
			if err := a.net.Unisolate(w.nsName); err != nil {
				errs = append(errs, err)
			}
		}
		if err := w.do(func() { w.signalAll(syscall.SIGCONT) }); err != nil {
			errs = append(errs, err)
		}
	}
	a.mu.Lock()
	a.stopped[node] = false
	a.mu.Unlock()
	if err := a.updateNodeStatus(ctx, node); err != nil {
		errs = append(errs, err)
	}
	if err := a.renewLease(ctx, node); err != nil {
		errs = append(errs, err)
	}
	return fmt.Sprintf("node %s resumed, %d pods continued", node, len(ws)), errors.Join(errs...)
}

// faultPartition installs firewall rules in a pod's network namespace.
func (a *Agent) faultPartition(_ context.Context, req cluster.FaultRequest) (string, error) {
	cut := podnet.Cut{Pods: req.FromPods, API: req.FromAPI, Host: req.FromHost}
	if cut.Empty() {
		return "", errors.New("say what to cut the pod off from: the other pods, the API server, the host or a mix")
	}
	w, err := a.findWorker(nsOrDefault(req.Namespace), req.Pod)
	if err != nil {
		return "", err
	}
	if err := a.net.Partition(w.nsName, cut, a.cfg.APIServerPort); err != nil {
		return "", err
	}
	return fmt.Sprintf("pod %s/%s is cut off from %s", w.namespace, w.name, cut), nil
}

// faultHeal removes every partition and resumes every stopped node.
func (a *Agent) faultHeal(ctx context.Context, _ cluster.FaultRequest) (string, error) {
	var errs []error
	healed := 0
	for _, name := range a.net.PodNamespaces() {
		if err := a.net.Heal(name); err != nil {
			errs = append(errs, err)
		} else {
			healed++
		}
	}
	a.mu.Lock()
	var stopped []string
	for n, s := range a.stopped {
		if s {
			stopped = append(stopped, n)
		}
	}
	a.cuts = map[string]cutRecord{}
	paused := a.paused
	a.paused = map[types.UID][]int{}
	a.mu.Unlock()
	sort.Strings(stopped)
	for _, n := range stopped {
		if _, err := a.resumeNode(ctx, n); err != nil {
			errs = append(errs, err)
		}
	}
	continued := 0
	for _, pids := range paused {
		continuePids(pids)
		continued++
	}
	return fmt.Sprintf("healed: partitions cleared in %d pod namespaces, nodes resumed: [%s], %d paused pods continued", healed, strings.Join(stopped, " "), continued), errors.Join(errs...)
}

// nsOrDefault returns ns, or "default" when empty.
func nsOrDefault(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}

// cutRecord is one live cut: the pod namespace holding its chain.
type cutRecord struct {
	nsName string
	pod    string // namespace/name, for messages
}

// faultCut installs one cut in a pod's netns and answers its id.
func (a *Agent) faultCut(_ context.Context, req cluster.FaultRequest) (cluster.FaultResponse, error) {
	w, err := a.findWorker(nsOrDefault(req.Namespace), req.Pod)
	if err != nil {
		return cluster.FaultResponse{}, err
	}
	dir, err := podnet.ParseDirection(req.Direction)
	if err != nil {
		return cluster.FaultResponse{}, err
	}
	cut := podnet.Cut{Pods: req.FromPods, API: req.FromAPI, Host: req.FromHost}
	if cut.Empty() && len(req.Peers) == 0 {
		return cluster.FaultResponse{}, errors.New("say what to cut the pod off from: peer pods, the other pods, the API server, the host or a mix")
	}
	rules := a.net.PartitionRules(cut, a.cfg.APIServerPort)
	var what []string
	if !cut.Empty() {
		what = append(what, cut.String())
	}
	for _, peer := range req.Peers {
		ns, name := w.namespace, peer
		if i := strings.Index(peer, "/"); i >= 0 {
			ns, name = peer[:i], peer[i+1:]
		}
		pw, err := a.findWorker(ns, name)
		if err != nil {
			return cluster.FaultResponse{}, err
		}
		if pw == w {
			return cluster.FaultResponse{}, fmt.Errorf("cannot cut pod %s/%s off from itself", ns, name)
		}
		var ip net.IP
		if err := pw.do(func() { ip = pw.ip }); err != nil {
			return cluster.FaultResponse{}, err
		}
		if ip == nil {
			return cluster.FaultResponse{}, fmt.Errorf("pod %s/%s has no address yet", ns, name)
		}
		rules = append(rules, podnet.PeerRules(ip, dir)...)
		what = append(what, fmt.Sprintf("pod %s/%s (%s, %s)", ns, name, ip, dir))
	}
	a.mu.Lock()
	a.nextCut++
	id := fmt.Sprintf("c%d", a.nextCut)
	a.mu.Unlock()
	if err := a.net.AddCut(w.nsName, id, rules); err != nil {
		return cluster.FaultResponse{}, err
	}
	a.mu.Lock()
	a.cuts[id] = cutRecord{nsName: w.nsName, pod: w.namespace + "/" + w.name}
	a.mu.Unlock()
	return cluster.FaultResponse{ID: id, Message: fmt.Sprintf("cut %s: pod %s/%s is cut off from %s", id, w.namespace, w.name, strings.Join(what, " and "))}, nil
}

// faultHealCut removes one cut by its id.
func (a *Agent) faultHealCut(_ context.Context, req cluster.FaultRequest) (string, error) {
	a.mu.Lock()
	rec, ok := a.cuts[req.ID]
	delete(a.cuts, req.ID)
	a.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("no cut %q (healed already, or never made)", req.ID)
	}
	if _, err := os.Stat(podnet.NamespacePath(rec.nsName)); err != nil {
		return fmt.Sprintf("cut %s: pod %s is gone, and its cut with it", req.ID, rec.pod), nil
	}
	if err := a.net.RemoveCut(rec.nsName, req.ID); err != nil {
		return "", err
	}
	return fmt.Sprintf("cut %s healed: pod %s", req.ID, rec.pod), nil
}

// faultPause SIGSTOPs every process of a pod and remembers their pids, so
// resuming does not depend on the pod's worker: a paused pod's worker may be
// busy for a whole grace period (a deletion's SIGTERM waits while the
// process is stopped) exactly when the pod must be continued.
func (a *Agent) faultPause(_ context.Context, req cluster.FaultRequest) (string, error) {
	w, err := a.findWorker(nsOrDefault(req.Namespace), req.Pod)
	if err != nil {
		return "", err
	}
	var pids []int
	var names []string
	err = w.do(func() {
		w.forEachProc(func(c *ctr, pid int) {
			pids = append(pids, pid)
			names = append(names, fmt.Sprintf("%s (pid %d)", c.spec.Name, pid))
		})
		w.signalAll(syscall.SIGSTOP)
	})
	if err != nil {
		return "", err
	}
	if len(pids) == 0 {
		return "", fmt.Errorf("pod %s/%s has no running process", w.namespace, w.name)
	}
	a.mu.Lock()
	a.paused[w.uid] = append(a.paused[w.uid], pids...)
	a.mu.Unlock()
	return fmt.Sprintf("pod %s/%s paused: %s", w.namespace, w.name, strings.Join(names, ", ")), nil
}

// faultResume SIGCONTs the processes a pause stopped (every process of the
// pod when it was not paused by a fault, e.g. after a stop-node).
func (a *Agent) faultResume(_ context.Context, req cluster.FaultRequest) (string, error) {
	w, err := a.findWorker(nsOrDefault(req.Namespace), req.Pod)
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	pids, paused := a.paused[w.uid]
	delete(a.paused, w.uid)
	a.mu.Unlock()
	if paused {
		continuePids(pids)
		return fmt.Sprintf("pod %s/%s resumed: pids %v", w.namespace, w.name, pids), nil
	}
	if err := w.do(func() { w.signalAll(syscall.SIGCONT) }); err != nil {
		return "", err
	}
	return fmt.Sprintf("pod %s/%s resumed", w.namespace, w.name), nil
}

// continuePids SIGCONTs each pid and its process group (a pid that has
// exited meanwhile gets nothing: ESRCH).
func continuePids(pids []int) {
	for _, pid := range pids {
		_ = syscall.Kill(-pid, syscall.SIGCONT)
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
}
