package agent

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// ------ PROBES ------

// probeOf returns the container's probe of a kind.
func probeOf(c *ctr, kind string) *corev1.Probe {
	switch kind {
	case "startup":
		return c.spec.StartupProbe
	case "liveness":
		return c.spec.LivenessProbe
	}
	return c.spec.ReadinessProbe
}

// scheduleProbes starts the probes of c that are due, one at a time per
// kind; readiness and liveness wait for the startup probe to succeed. A
// container without a readiness probe is ready once started.
func (w *podWorker) scheduleProbes(pod *corev1.Pod, c *ctr, now time.Time) {
	startupDone := c.spec.StartupProbe == nil || c.startup.Result
	if c.spec.ReadinessProbe == nil && startupDone && !c.status.Ready {
		c.status.Ready = true
	}
	for _, kind := range []string{"startup", "readiness", "liveness"} {
		p := probeOf(c, kind)
		if p == nil || c.probing[kind] || (kind != "startup" && !startupDone) || (kind == "startup" && startupDone) {
			continue
		}
		next, ok := c.nextProbe[kind]
		if !ok {
			next = c.started.Add(time.Duration(p.InitialDelaySeconds) * time.Second)
			c.nextProbe[kind] = next
		}
		if now.Before(next) {
			continue
		}
		period := time.Duration(max(p.PeriodSeconds, 1)) * time.Second
		c.nextProbe[kind] = now.Add(period)
		c.probing[kind] = true
		pid := 0
		if c.proc != nil {
			pid = c.proc.Pid
		}
		ip := w.ip.String()
		run, kindCopy := c.run, kind
		go func() {
			ok, msg := runProbe(p, c.spec, ip, pid)
			w.probes <- probeEvent{c: c, run: run, kind: kindCopy, ok: ok, message: msg}
		}()
	}
}

// handleProbe applies one probe outcome: readiness flips Ready, startup
// flips Started, and a failed liveness (or startup) probe kills the
// container so the restart policy applies.
func (w *podWorker) handleProbe(ev probeEvent) {
	c := ev.c
	c.probing[ev.kind] = false
	if ev.run != c.run || c.proc == nil || w.a.nodeStopped(w.node) {
		return
	}
	p := probeOf(c, ev.kind)
	if p == nil {
		return
	}
	var tr *ProbeTracker
	switch ev.kind {
	case "startup":
		tr = c.startup
	case "liveness":
		tr = c.live
	default:
		tr = c.ready
	}
	result, changed := tr.Observe(ev.ok, p.SuccessThreshold, p.FailureThreshold)
	w.mu.Lock()
	pod := w.pod
	w.mu.Unlock()
	if !ev.ok {
		w.a.recorder.Eventf(pod, corev1.EventTypeWarning, "Unhealthy", "%s probe of %s failed: %s", ev.kind, c.spec.Name, ev.message)
	}
	switch ev.kind {
	case "readiness":
		c.status.Ready = result
	case "startup":
		c.status.Started = ptr.To(result)
		if !result && changed {
			w.killForProbe(pod, c, "startup")
		}
	case "liveness":
		if !result && changed {
			w.killForProbe(pod, c, "liveness")
		}
	}
}

// killForProbe stops a container that failed its liveness or startup probe:
// SIGTERM, then SIGKILL after the grace period.
func (w *podWorker) killForProbe(pod *corev1.Pod, c *ctr, kind string) {
	w.logf("container %s failed its %s probe; restarting it", c.spec.Name, kind)
	w.a.recorder.Eventf(pod, corev1.EventTypeNormal, "Killing", "Container %s failed %s probe, will be restarted", c.spec.Name, kind)
	grace := int64(30)
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = *pod.Spec.TerminationGracePeriodSeconds
	}
	if p := probeOf(c, kind); p != nil && p.TerminationGracePeriodSeconds != nil {
		grace = *p.TerminationGracePeriodSeconds
	}
	pid, run := c.proc.Pid, c.run
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	_ = syscall.Kill(pid, syscall.SIGTERM)
	time.AfterFunc(time.Duration(grace)*time.Second, func() {
		// do fails only when the worker stays busy for 10s, i.e. the pod is
		// being torn down, which kills the container anyway.
		_ = w.do(func() {
			if c.run == run && c.proc != nil {
				_ = syscall.Kill(-pid, syscall.SIGKILL)
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		})
	})
}

// runProbe performs one exec, tcpSocket or httpGet check against the
// container and returns success with a message on failure.
func runProbe(p *corev1.Probe, spec corev1.Container, podIP string, pid int) (bool, string) {
	timeout := time.Duration(max(p.TimeoutSeconds, 1)) * time.Second
	switch {
	case p.Exec != nil:
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		out, err := execInContainer(ctx, pid, p.Exec.Command)
		if err != nil {
			return false, fmt.Sprintf("%v: %s", err, truncate(string(out), 200))
		}
		return true, ""
	case p.TCPSocket != nil:
		port, err := resolvePort(p.TCPSocket.Port, spec)
		if err != nil {
			return false, err.Error()
		}
		host := podIP
		if p.TCPSocket.Host != "" {
			host = p.TCPSocket.Host
		}
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), timeout)
		if err != nil {
			return false, err.Error()
		}
		conn.Close()
		return true, ""
	case p.HTTPGet != nil:
		g := p.HTTPGet
		port, err := resolvePort(g.Port, spec)
		if err != nil {
			return false, err.Error()
		}
		host := podIP
		if g.Host != "" {
			host = g.Host
		}
		scheme := "http"
		if g.Scheme == corev1.URISchemeHTTPS {
			scheme = "https"
		}
		req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s://%s%s", scheme, net.JoinHostPort(host, strconv.Itoa(port)), g.Path), nil)
		if err != nil {
			return false, err.Error()
		}
		for _, h := range g.HTTPHeaders {
			req.Header.Add(h.Name, h.Value)
		}
		hc := &http.Client{Timeout: timeout, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		resp, err := hc.Do(req)
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return false, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode)
		}
		return true, ""
	}
	return false, "probe has no exec, tcpSocket or httpGet handler (grpc is not supported by localcluster)"
}

// resolvePort turns a probe port (number or container port name) into a number.
func resolvePort(p intstr.IntOrString, spec corev1.Container) (int, error) {
	if p.Type == intstr.Int {
		return p.IntValue(), nil
	}
	for _, cp := range spec.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("container %s has no port named %q", spec.Name, p.StrVal)
}

// execInContainer runs command inside the namespaces and root of process pid.
func execInContainer(ctx context.Context, pid int, command []string) ([]byte, error) {
	if pid == 0 {
		return nil, fmt.Errorf("container is not running")
	}
	args := append([]string{"-t", strconv.Itoa(pid), "-m", "-n", "-u", "-r", "-w", "--"}, command...)
	return exec.CommandContext(ctx, "nsenter", args...).CombinedOutput()
}

// truncate shortens s to n bytes.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// runPreStop runs the container's exec preStop hook, bounded by grace.
func (w *podWorker) runPreStop(pod *corev1.Pod, c *ctr, grace time.Duration) {
	if c.spec.Lifecycle == nil || c.spec.Lifecycle.PreStop == nil || c.spec.Lifecycle.PreStop.Exec == nil || c.proc == nil || grace <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if out, err := execInContainer(ctx, c.proc.Pid, c.spec.Lifecycle.PreStop.Exec.Command); err != nil {
		w.a.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedPreStopHook", "PreStop hook of %s failed: %v: %s", c.spec.Name, err, truncate(string(out), 200))
	}
}
