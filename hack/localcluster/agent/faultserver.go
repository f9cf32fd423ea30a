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
	handle := func(path string, fn func(context.Context, cluster.FaultRequest) (string, error)) {
		mux.HandleFunc(path, func(rw http.ResponseWriter, r *http.Request) {
			var req cluster.FaultRequest
			var resp cluster.FaultResponse
			status := http.StatusOK
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
				resp.Error, status = "bad request body: "+err.Error(), http.StatusBadRequest
			} else if msg, err := fn(r.Context(), req); err != nil {
				resp.Error, status = err.Error(), http.StatusConflict
			} else {
				resp.Message = msg
			}
			a.logger.Printf("fault %s %+v -> %q %q", path, req, resp.Message, resp.Error)
			rw.Header().Set("Content-Type", "application/json")
			rw.WriteHeader(status)
			_ = json.NewEncoder(rw).Encode(resp)
		})
	}
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
// host included); resuming clears those pods' fault rules.
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

// faultResumeNode undoes faultStopNode and posts a heartbeat at once.
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
			if err := a.net.Heal(w.nsName); err != nil {
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
	a.mu.Unlock()
	sort.Strings(stopped)
	for _, n := range stopped {
		if _, err := a.resumeNode(ctx, n); err != nil {
			errs = append(errs, err)
		}
	}
	return fmt.Sprintf("healed: partitions cleared in %d pod namespaces, nodes resumed: [%s]", healed, strings.Join(stopped, " ")), errors.Join(errs...)
}

// nsOrDefault returns ns, or "default" when empty.
func nsOrDefault(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}
