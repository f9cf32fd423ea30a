package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
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
	// Peers are the pods a cut separates Pod from ("name" in Namespace or
	// "namespace/name"); Direction says which way (podnet.Both by default).
	Peers     []string `json:"peers,omitempty"`
	Direction string   `json:"direction,omitempty"`
	ID        string   `json:"id,omitempty"` // heal-cut: the cut to remove
}

// FaultResponse is the agent's answer: a human-readable summary or an error.
type FaultResponse struct {
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
	ID      string `json:"id,omitempty"` // cut: the id that heals it
}

// Fault paths served by the agent.
const (
	FaultKill       = "/faults/kill"
	FaultStopNode   = "/faults/stop-node"
	FaultResumeNode = "/faults/resume-node"
	FaultPartition  = "/faults/partition"
	FaultHeal       = "/faults/heal"
	FaultCut        = "/faults/cut"
	FaultHealCut    = "/faults/heal-cut"
	FaultPause      = "/faults/pause"
	FaultResume     = "/faults/resume"
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
	fr, err := f.callFull(ctx, path, req)
	return fr.Message, err
}

// callFull posts req to path and returns the agent's whole answer.
func (f *Faults) callFull(ctx context.Context, path string, req FaultRequest) (FaultResponse, error) {
	body, _ := json.Marshal(req)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://agent"+path, bytes.NewReader(body))
	if err != nil {
		return FaultResponse{}, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := f.http.Do(hreq)
	if err != nil {
		return FaultResponse{}, fmt.Errorf("agent is not reachable (is the cluster up?): %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var fr FaultResponse
	if err := json.Unmarshal(raw, &fr); err != nil {
		return FaultResponse{}, fmt.Errorf("agent answered %d: %s", resp.StatusCode, raw)
	}
	if fr.Error != "" {
		return fr, fmt.Errorf("%s", fr.Error)
	}
	return fr, nil
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

// HealAll removes every partition and cut, resumes every stopped node and
// every paused pod.
func (f *Faults) HealAll(ctx context.Context) (string, error) {
	return f.call(ctx, FaultHeal, FaultRequest{})
}

// CutSpec names one cut: what pod Pod (in Namespace) is cut off from.
type CutSpec struct {
	Namespace string
	Pod       string
	// From cuts the pod off from the other pods, the API server and/or the
	// host (where an operator running as a host process lives).
	From podnet.Cut
	// Peers are pods ("name" in Namespace, or "namespace/name") the pod is
	// cut off from, in Direction (podnet.Both when empty); their addresses
	// are taken when the cut is made.
	Peers     []string
	Direction podnet.Direction
}

// Cut installs one cut in the pod's network namespace, on top of its other
// cuts, and returns the id that heals it (HealCut). A cut lives in the
// pod's namespace: it ends with the pod (a replacement pod starts clean).
func (f *Faults) Cut(ctx context.Context, spec CutSpec) (id, message string, err error) {
	fr, err := f.callFull(ctx, FaultCut, FaultRequest{
		Namespace: spec.Namespace, Pod: spec.Pod,
		FromPods: spec.From.Pods, FromAPI: spec.From.API, FromHost: spec.From.Host,
		Peers: spec.Peers, Direction: string(spec.Direction),
	})
	return fr.ID, fr.Message, err
}

// HealCut removes the one cut Cut returned id for.
func (f *Faults) HealCut(ctx context.Context, id string) (string, error) {
	return f.call(ctx, FaultHealCut, FaultRequest{ID: id})
}

// PausePod SIGSTOPs every process of the pod (a frozen process: its
// connections stay open, nothing answers); HealAll or ResumePod undo it.
func (f *Faults) PausePod(ctx context.Context, namespace, pod string) (string, error) {
	return f.call(ctx, FaultPause, FaultRequest{Namespace: namespace, Pod: pod})
}

// ResumePod SIGCONTs every process of the pod.
func (f *Faults) ResumePod(ctx context.Context, namespace, pod string) (string, error) {
	return f.call(ctx, FaultResume, FaultRequest{Namespace: namespace, Pod: pod})
}

// ParseCutSpec parses the CLI's "fault cut POD -from WHAT -dir DIR": WHAT is
// a comma-separated list of pods, api, host, all (podnet.ParseCut) and
// pod:NAME or pod:NAMESPACE/NAME for one peer pod each.
func ParseCutSpec(namespace, pod, from, dir string) (CutSpec, error) {
	spec := CutSpec{Namespace: namespace, Pod: pod}
	var groups []string
	for _, part := range strings.Split(from, ",") {
		part = strings.TrimSpace(part)
		if peer, ok := strings.CutPrefix(part, "pod:"); ok {
			if peer == "" || strings.HasSuffix(peer, "/") || strings.Count(peer, "/") > 1 {
				return CutSpec{}, fmt.Errorf("cut: bad peer %q (want pod:NAME or pod:NAMESPACE/NAME)", part)
			}
			spec.Peers = append(spec.Peers, peer)
			continue
		}
		groups = append(groups, part)
	}
	if len(groups) > 0 {
		cut, err := podnet.ParseCut(strings.Join(groups, ","))
		if err != nil {
			return CutSpec{}, err
		}
		spec.From = cut
	}
	d, err := podnet.ParseDirection(dir)
	if err != nil {
		return CutSpec{}, err
	}
	if d != podnet.Both && len(spec.Peers) == 0 {
		return CutSpec{}, fmt.Errorf("cut: -dir %s applies to peer pods (pod:NAME) only", d)
	}
	spec.Direction = d
	return spec, nil
}
