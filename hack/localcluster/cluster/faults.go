package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/replnode/replnode/hack/localcluster/podnet"
)

// ------ FAULT INJECTION: GO API ------

// FaultRequest is the body of every fault call to the agent.
type FaultRequest struct {
	Namespace string `json:"namespace,omitempty"`
	Pod       string `json:"pod,omitempty"`
	Container string `json:"container,omitempty"` // kill: empty means every container
	Node      string `json:"node,omitempty"`
	FromPods  bool   `json:"fromPods,omitempty"` // partition: cut off from the other pods
	FromAPI   bool   `json:"fromAPI,omitempty"`  // partition: cut off from the API server
	FromHost  bool   `json:"fromHost,omitempty"` // partition: cut off from the host (gateway)
}

// FaultResponse is the agent's answer: a human-readable summary or an error.
type FaultResponse struct {
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Fault paths served by the agent.
const (
	FaultKill       = "/faults/kill"
	FaultStopNode   = "/faults/stop-node"
	FaultResumeNode = "/faults/resume-node"
	FaultPartition  = "/faults/partition"
	FaultHeal       = "/faults/heal"
)

// Faults talks to the running agent of one cluster.
type Faults struct {
	http *http.Client
}

// NewFaults returns a client for the agent of the cluster in c.
func NewFaults(c *Config) *Faults {
	sock := c.AgentSocket()
	return &Faults{http: &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}},
	}}
}

// call posts req to path and returns the agent's message or its error.
func (f *Faults) call(ctx context.Context, path string, req FaultRequest) (string, error) {
	body, _ := json.Marshal(req)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://agent"+path, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := f.http.Do(hreq)
	if err != nil {
		return "", fmt.Errorf("agent is not reachable (is the cluster up?): %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var fr FaultResponse
	if err := json.Unmarshal(raw, &fr); err != nil {
		return "", fmt.Errorf("agent answered %d: %s", resp.StatusCode, raw)
	}
	if fr.Error != "" {
		return "", fmt.Errorf("%s", fr.Error)
	}
	return fr.Message, nil
}

// KillPod SIGKILLs the process of one container of a pod (every container
// when container is empty); the pod's restartPolicy then applies.
func (f *Faults) KillPod(ctx context.Context, namespace, pod, container string) (string, error) {
	return f.call(ctx, FaultKill, FaultRequest{Namespace: namespace, Pod: pod, Container: container})
}

// StopNode makes a node vanish: its heartbeats stop, its pods' processes
// are SIGSTOPped and all their traffic (the host's too) is dropped; the
// agent stops acting on its pods until ResumeNode.
func (f *Faults) StopNode(ctx context.Context, node string) (string, error) {
	return f.call(ctx, FaultStopNode, FaultRequest{Node: node})
}

// ResumeNode undoes StopNode: traffic restored (the node's pods lose any
// fault rules), SIGCONT to its processes, heartbeats resume.
func (f *Faults) ResumeNode(ctx context.Context, node string) (string, error) {
	return f.call(ctx, FaultResumeNode, FaultRequest{Node: node})
}

// Partition cuts a pod off from what cut names (the other pods, the API
// server, the host) with firewall rules in its network namespace, replacing
// the pod's earlier partition if any.
func (f *Faults) Partition(ctx context.Context, namespace, pod string, cut podnet.Cut) (string, error) {
	return f.call(ctx, FaultPartition, FaultRequest{Namespace: namespace, Pod: pod, FromPods: cut.Pods, FromAPI: cut.API, FromHost: cut.Host})
}

// HealAll removes every partition and resumes every stopped node.
func (f *Faults) HealAll(ctx context.Context) (string, error) {
	return f.call(ctx, FaultHeal, FaultRequest{})
}
