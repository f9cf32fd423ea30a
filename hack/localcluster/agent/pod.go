package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// tick is how often a pod worker re-evaluates its pod without an event.
const tick = 500 * time.Millisecond

// exitEvent reports that one run of a container's process ended.
type exitEvent struct {
	c        *ctr
	run      int
	exitCode int32
	signal   string
	at       time.Time
}

// probeEvent reports one probe outcome.
type probeEvent struct {
	c       *ctr
	run     int
	kind    string // readiness, liveness, startup
	ok      bool
	message string
}

// ctr is one container of a pod and its current process.
type ctr struct {
	spec    corev1.Container
	init    bool
	status  corev1.ContainerStatus
	proc    *os.Process
	run     int // incremented per start; events of older runs are ignored
	due     time.Time
	started time.Time
	done    bool // init container finished, or app container stopped for good

	ready, live, startup *ProbeTracker
	nextProbe            map[string]time.Time
	probing              map[string]bool
}

// podWorker owns one pod: its sandbox, its containers and its status.
type podWorker struct {
	a         *Agent
	uid       types.UID
	namespace string
	name      string
	node      string

	mu     sync.Mutex
	pod    *corev1.Pod
	gone   bool
	wake   chan struct{}
	exits  chan exitEvent
	probes chan probeEvent
	cmds   chan func() // run on the worker goroutine, even while its node is stopped

	dir          string
	nsName       string
	ip           net.IP
	sandboxReady bool
	setupErr     string
	nextSetup    time.Time
	volumes      map[string]string // volume name -> host path
	// nextVolumeSync is when the content volumes are next brought up to
	// date with their Secrets and ConfigMaps (refreshVolumes).
	nextVolumeSync time.Time
	inits          []*ctr
	apps           []*ctr
	lastStatus     []byte
}

// newPodWorker returns a worker for pod; run starts it.
func newPodWorker(a *Agent, pod *corev1.Pod) *podWorker {
	w := &podWorker{
		a: a, uid: pod.UID, namespace: pod.Namespace, name: pod.Name, node: pod.Spec.NodeName,
		pod: pod, wake: make(chan struct{}, 1), exits: make(chan exitEvent, 64), probes: make(chan probeEvent, 64),
		cmds: make(chan func(), 16),
		dir:  a.podDir(pod), nsName: a.net.NamespaceName(string(pod.UID)),
	}
	newCtr := func(spec corev1.Container, init bool) *ctr {
		c := &ctr{spec: spec, init: init, nextProbe: map[string]time.Time{}, probing: map[string]bool{},
			ready: NewProbeTracker(false), live: NewProbeTracker(true), startup: NewProbeTracker(false)}
		c.status = corev1.ContainerStatus{Name: spec.Name, Image: spec.Image, ImageID: "localcluster://" + spec.Image,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}
		if init {
			c.status.State.Waiting.Reason = "PodInitializing"
		}
		return c
	}
	for _, s := range pod.Spec.InitContainers {
		w.inits = append(w.inits, newCtr(s, true))
	}
	for _, s := range pod.Spec.Containers {
		w.apps = append(w.apps, newCtr(s, false))
	}
	return w
}

// update records the latest pod object and wakes the worker.
func (w *podWorker) update(pod *corev1.Pod) {
	w.mu.Lock()
	w.pod = pod
	w.mu.Unlock()
	w.poke()
}

// markGone records that the pod object no longer exists.
func (w *podWorker) markGone() {
	w.mu.Lock()
	w.gone = true
	w.mu.Unlock()
	w.poke()
}

// poke wakes the worker without blocking.
func (w *podWorker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// logf logs a line about this pod.
func (w *podWorker) logf(format string, args ...any) {
	w.a.logger.Printf("pod %s/%s: %s", w.namespace, w.name, fmt.Sprintf(format, args...))
}

// ------ MAIN LOOP ------

// run drives the pod until it is deleted: sandbox, init containers, app
// containers, probes, restarts, status; then graceful termination.
func (w *podWorker) run() {
	defer w.a.forgetWorker(w.uid)
	ctx := context.Background()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-w.wake:
		case <-t.C:
		case ev := <-w.exits:
			w.handleExit(ev)
		case ev := <-w.probes:
			w.handleProbe(ev)
		case fn := <-w.cmds:
			fn()
		}
		if w.a.nodeStopped(w.node) {
			continue // a vanished node acts on nothing
		}
		w.mu.Lock()
		pod, gone := w.pod, w.gone
		w.mu.Unlock()
		if gone || pod.DeletionTimestamp != nil {
			w.terminate(ctx, pod, gone)
			return
		}
		w.step(ctx, pod)
		w.patchStatus(ctx, pod)
	}
}

// step advances the pod by one evaluation.
func (w *podWorker) step(ctx context.Context, pod *corev1.Pod) {
	now := time.Now()
	if !w.sandboxReady {
		if now.Before(w.nextSetup) {
			return
		}
		if err := w.setupSandbox(ctx, pod); err != nil {
			msg := err.Error()
			if msg != w.setupErr {
				w.logf("sandbox: %v", err)
				w.a.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedMount", "%s", msg)
			}
			w.setupErr = msg
			for _, c := range append(append([]*ctr{}, w.inits...), w.apps...) {
				c.status.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating", Message: msg}}
			}
			w.nextSetup = now.Add(2 * time.Second)
			return
		}
		w.sandboxReady = true
		w.setupErr = ""
		w.nextVolumeSync = now.Add(volumeSyncPeriod)
	}
	if !now.Before(w.nextVolumeSync) {
		w.refreshVolumes(ctx, pod)
		w.nextVolumeSync = now.Add(volumeSyncPeriod)
	}
	for _, c := range w.inits {
		if t := c.status.State.Terminated; c.done && t != nil && t.ExitCode != 0 {
			return // an init container failed for good: the pod failed, apps never start
		}
		if c.done {
			continue
		}
		if c.proc == nil && !now.Before(c.due) {
			w.startContainer(ctx, pod, c)
		}
		return // init containers run one at a time, in order
	}
	for _, c := range w.apps {
		if c.done {
			continue
		}
		if c.proc == nil && !now.Before(c.due) {
			w.startContainer(ctx, pod, c)
		}
		if c.proc != nil {
			w.scheduleProbes(pod, c, now)
		}
	}
}

// setupSandbox prepares the pod's volumes and network namespace.
func (w *podWorker) setupSandbox(ctx context.Context, pod *corev1.Pod) error {
	if err := os.MkdirAll(filepath.Join(w.dir, "logs"), 0o755); err != nil {
		return err
	}
	if w.ip == nil {
		ip, err := w.a.alloc.Allocate(string(w.uid))
		if err != nil {
			return err
		}
		if err := w.a.net.CreatePodNamespace(w.nsName, ip); err != nil {
			w.a.alloc.Release(string(w.uid))
			return fmt.Errorf("network: %w", err)
		}
		w.ip = ip
	}
	vols, err := w.prepareVolumes(ctx, pod)
	if err != nil {
		return err
	}
	w.volumes = vols
	return nil
}

// startContainer starts c's process, or marks it waiting with the reason
// (ErrImagePull, CreateContainerConfigError, RunContainerError).
func (w *podWorker) startContainer(ctx context.Context, pod *corev1.Pod, c *ctr) {
	proc, reason, err := w.launch(ctx, pod, c)
	if err != nil {
		c.status.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: err.Error()}}
		c.due = time.Now().Add(5 * time.Second)
		w.a.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "container %s: %s: %v", c.spec.Name, reason, err)
		return
	}
	if c.run > 0 {
		c.status.RestartCount++
	}
	c.run++
	c.proc = proc
	c.started = time.Now()
	c.ready, c.live, c.startup = NewProbeTracker(false), NewProbeTracker(true), NewProbeTracker(false)
	c.nextProbe = map[string]time.Time{}
	c.status.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(c.started)}}
	c.status.ContainerID = fmt.Sprintf("localcluster://%d", proc.Pid)
	c.status.Started = ptr.To(c.spec.StartupProbe == nil)
	c.status.Ready = false
	w.a.recorder.Eventf(pod, corev1.EventTypeNormal, "Started", "Started container %s (pid %d)", c.spec.Name, proc.Pid)
	run := c.run
	go func() {
		st, _ := proc.Wait()
		ev := exitEvent{c: c, run: run, at: time.Now(), exitCode: -1}
		if st != nil {
			if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				ev.exitCode = 128 + int32(ws.Signal())
				ev.signal = ws.Signal().String()
			} else {
				ev.exitCode = int32(st.ExitCode())
			}
		}
		w.exits <- ev
	}()
}

// handleExit records a process exit and decides on a restart.
func (w *podWorker) handleExit(ev exitEvent) {
	c := ev.c
	if ev.run != c.run || c.proc == nil {
		return
	}
	c.proc = nil
	reason := "Completed"
	if ev.exitCode != 0 {
		reason = "Error"
	}
	term := &corev1.ContainerStateTerminated{ExitCode: ev.exitCode, Reason: reason, StartedAt: metav1.NewTime(c.started),
		FinishedAt: metav1.NewTime(ev.at), ContainerID: c.status.ContainerID}
	if ev.signal != "" {
		term.Message = "terminated by signal: " + ev.signal
	}
	errFile := filepath.Join(w.dir, "run", c.spec.Name+".err")
	if msg, err := os.ReadFile(errFile); err == nil && len(msg) > 0 {
		term.Reason, term.Message = "StartError", string(msg)
		_ = os.Remove(errFile)
	}
	if c.spec.TerminationMessagePath != "" && term.Reason != "StartError" {
		// What the program wrote to its terminationMessagePath, as the
		// kubelet reads it (at most 4096 bytes).
		if data, err := readTail(w.terminationLogPath(c.spec.Name), terminationFileBytes); err == nil && len(data) > 0 {
			term.Message = string(data)
		}
	}
	if term.Message == "" && ev.exitCode != 0 && c.spec.TerminationMessagePolicy == corev1.TerminationMessageFallbackToLogsOnError {
		// As the kubelet: the tail of the container's log becomes the
		// termination message of a failed container.
		if data, err := readTail(w.logPath(c.spec.Name), terminationMessageBytes); err == nil {
			term.Message = LogTail(data, terminationMessageBytes, terminationMessageLines)
		}
	}
	c.status.Ready = false
	c.status.Started = ptr.To(false)
	w.mu.Lock()
	policy := w.pod.Spec.RestartPolicy
	w.mu.Unlock()
	w.logf("container %s exited with %d", c.spec.Name, ev.exitCode)
	if c.init && ev.exitCode == 0 {
		c.done = true
		c.status.State = corev1.ContainerState{Terminated: term}
		return
	}
	if c.init && policy == corev1.RestartPolicyAlways {
		policy = corev1.RestartPolicyOnFailure // init containers never restart after success
	}
	if !ShouldRestart(policy, ev.exitCode) {
		c.done = true
		c.status.State = corev1.ContainerState{Terminated: term}
		return
	}
	delay := RestartDelay(c.status.RestartCount, time.Duration(w.a.cfg.RestartBackoffBaseSeconds)*time.Second,
		time.Duration(w.a.cfg.RestartBackoffMaxSeconds)*time.Second)
	if time.Since(c.started) > 2*time.Minute {
		delay = time.Duration(w.a.cfg.RestartBackoffBaseSeconds) * time.Second // ran long enough: reset backoff
	}
	c.due = time.Now().Add(delay)
	c.status.LastTerminationState = corev1.ContainerState{Terminated: term}
	c.status.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
		Message: fmt.Sprintf("back-off %s restarting failed container %s", delay, c.spec.Name)}}
	w.a.recorder.Eventf(w.pod, corev1.EventTypeWarning, "BackOff", "Back-off %s restarting container %s (exit code %d)", delay, c.spec.Name, ev.exitCode)
}

// ------ STATUS ------

// buildStatus assembles the pod status from the containers' statuses.
func (w *podWorker) buildStatus(pod *corev1.Pod) corev1.PodStatus {
	var inits, apps []corev1.ContainerStatus
	for _, c := range w.inits {
		inits = append(inits, c.status)
	}
	initialized := true
	for _, c := range w.inits {
		if !c.done || c.status.State.Terminated == nil || c.status.State.Terminated.ExitCode != 0 {
			initialized = false
		}
	}
	allReady := len(w.apps) > 0
	for _, c := range w.apps {
		apps = append(apps, c.status)
		if !c.status.Ready {
			allReady = false
		}
	}
	st := corev1.PodStatus{
		Phase:                 PodPhase(pod.Spec.RestartPolicy, inits, apps),
		Conditions:            PodConditions(pod.Status.Conditions, pod.Spec.ReadinessGates, w.sandboxReady, initialized, allReady, time.Now()),
		HostIP:                w.a.net.Gateway.String(),
		HostIPs:               []corev1.HostIP{{IP: w.a.net.Gateway.String()}},
		InitContainerStatuses: inits,
		ContainerStatuses:     apps,
		QOSClass:              pod.Status.QOSClass,
		StartTime:             pod.Status.StartTime,
	}
	if st.StartTime == nil {
		st.StartTime = ptr.To(metav1.Now())
	}
	if w.ip != nil {
		st.PodIP = w.ip.String()
		st.PodIPs = []corev1.PodIP{{IP: w.ip.String()}}
	}
	return st
}

// patchStatus writes the pod status when it changed since the last write.
func (w *podWorker) patchStatus(ctx context.Context, pod *corev1.Pod) {
	st := w.buildStatus(pod)
	// Compare without timestamps that change on every call.
	key, _ := json.Marshal(struct {
		P  corev1.PodPhase
		IP string
		I  []corev1.ContainerStatus
		C  []corev1.ContainerStatus
		R  []corev1.PodCondition
	}{st.Phase, st.PodIP, st.InitContainerStatuses, st.ContainerStatuses, stripTimes(st.Conditions)})
	if bytes.Equal(key, w.lastStatus) && serverMatches(pod, st) {
		return
	}
	body, err := json.Marshal(map[string]any{"status": st})
	if err != nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = w.a.client.CoreV1().Pods(w.namespace).Patch(pctx, w.name, types.MergePatchType, body, metav1.PatchOptions{}, "status")
	if err != nil {
		if !apierrors.IsNotFound(err) {
			w.logf("status patch: %v", err)
		}
		return
	}
	w.lastStatus = key
}

// serverMatches reports whether the pod as last seen from the API already
// carries the phase and condition values of st; someone else (the node
// controller marking pods of an unreachable node not ready) may have
// changed them, and then the agent writes its view again.
func serverMatches(pod *corev1.Pod, st corev1.PodStatus) bool {
	if pod.Status.Phase != st.Phase || pod.Status.PodIP != st.PodIP {
		return false
	}
	have := map[corev1.PodConditionType]corev1.ConditionStatus{}
	for _, c := range pod.Status.Conditions {
		have[c.Type] = c.Status
	}
	for _, c := range st.Conditions {
		if have[c.Type] != c.Status {
			return false
		}
	}
	return true
}

// stripTimes returns conditions without their transition times.
func stripTimes(conds []corev1.PodCondition) []corev1.PodCondition {
	out := make([]corev1.PodCondition, len(conds))
	for i, c := range conds {
		c.LastTransitionTime = metav1.Time{}
		c.LastProbeTime = metav1.Time{}
		out[i] = c
	}
	return out
}

// ------ TERMINATION ------

// terminate stops every container (SIGTERM, then SIGKILL after the grace
// period), removes the sandbox and, unless the object is already gone,
// deletes the pod for good like a kubelet confirming the deletion.
func (w *podWorker) terminate(ctx context.Context, pod *corev1.Pod, gone bool) {
	grace := int64(30)
	if pod.DeletionGracePeriodSeconds != nil {
		grace = *pod.DeletionGracePeriodSeconds
	} else if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = *pod.Spec.TerminationGracePeriodSeconds
	}
	if gone {
		grace = 0
	}
	w.logf("terminating with grace %ds", grace)
	all := append(append([]*ctr{}, w.inits...), w.apps...)
	running := 0
	for _, c := range all {
		if c.proc != nil {
			running++
			w.runPreStop(pod, c, time.Duration(grace)*time.Second)
			_ = syscall.Kill(-c.proc.Pid, syscall.SIGTERM)
			_ = syscall.Kill(c.proc.Pid, syscall.SIGTERM)
			w.a.recorder.Eventf(pod, corev1.EventTypeNormal, "Killing", "Stopping container %s", c.spec.Name)
		}
	}
	deadline := time.After(time.Duration(grace) * time.Second)
	killed := false
	hardStop := time.After(time.Duration(grace)*time.Second + 30*time.Second)
	for running > 0 {
		select {
		case ev := <-w.exits:
			if ev.run == ev.c.run && ev.c.proc != nil {
				ev.c.proc = nil
				running--
				term := &corev1.ContainerStateTerminated{ExitCode: ev.exitCode, Reason: "Completed", StartedAt: metav1.NewTime(ev.c.started), FinishedAt: metav1.NewTime(ev.at)}
				if ev.exitCode != 0 {
					term.Reason = "Error"
				}
				ev.c.status.State = corev1.ContainerState{Terminated: term}
				ev.c.status.Ready = false
			}
		case <-deadline:
			if !killed {
				killed = true
				for _, c := range all {
					if c.proc != nil {
						_ = syscall.Kill(-c.proc.Pid, syscall.SIGKILL)
						_ = syscall.Kill(c.proc.Pid, syscall.SIGKILL)
					}
				}
			}
		case <-hardStop:
			w.logf("processes did not exit after SIGKILL; giving up on them")
			running = 0
		}
	}
	// Containers that never started end as terminated too.
	for _, c := range all {
		if c.status.State.Terminated == nil {
			c.status.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "ContainerStatusUnknown"}}
		}
	}
	if !gone {
		w.patchStatus(ctx, pod)
	}
	if err := w.a.net.DeletePodNamespace(w.nsName); err != nil {
		w.logf("remove network namespace: %v", err)
	}
	w.a.alloc.Release(string(w.uid))
	_ = os.RemoveAll(filepath.Join(w.dir, "volumes"))
	_ = os.RemoveAll(filepath.Join(w.dir, "run"))
	if !gone {
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		err := w.a.client.CoreV1().Pods(w.namespace).Delete(dctx, w.name, metav1.DeleteOptions{
			GracePeriodSeconds: ptr.To(int64(0)),
			Preconditions:      &metav1.Preconditions{UID: &w.uid},
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			w.logf("final delete: %v", err)
		}
	}
	w.logf("terminated")
}

// ------ FAULTS ------

// do runs fn on the worker goroutine and waits for it, failing after ten
// seconds (a worker busy terminating its pod does not take commands).
func (w *podWorker) do(fn func()) error {
	done := make(chan struct{})
	wrapped := func() { fn(); close(done) }
	timeout := time.After(10 * time.Second)
	select {
	case w.cmds <- wrapped:
	case <-timeout:
		return fmt.Errorf("pod %s/%s is busy (terminating?)", w.namespace, w.name)
	}
	select {
	case <-done:
		return nil
	case <-timeout:
		return fmt.Errorf("pod %s/%s did not take the command in time", w.namespace, w.name)
	}
}

// signalAll sends sig to every running container process of the pod.
func (w *podWorker) signalAll(sig syscall.Signal) {
	w.forEachProc(func(c *ctr, pid int) {
		_ = syscall.Kill(-pid, sig)
		_ = syscall.Kill(pid, sig)
	})
}

// forEachProc calls fn for every container with a running process; it must
// run on the worker goroutine (through do).
func (w *podWorker) forEachProc(fn func(c *ctr, pid int)) {
	for _, c := range append(append([]*ctr{}, w.inits...), w.apps...) {
		if p := c.proc; p != nil {
			fn(c, p.Pid)
		}
	}
}

// The kubelet's bounds on a termination message taken from the log, and
// from the terminationMessagePath file.
const (
	terminationMessageBytes = 2048
	terminationMessageLines = 80
	terminationFileBytes    = 4096
)

// readTail returns at most the last n bytes of the file at path.
func readTail(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(0, st.Size()-n)
	buf := make([]byte, st.Size()-off)
	_, err = f.ReadAt(buf, off)
	return buf, err
}

// LogTail returns the end of a log as the kubelet's FallbackToLogsOnError
// does: at most maxLines lines and maxBytes bytes.
func LogTail(data []byte, maxBytes, maxLines int) string {
	if len(data) > maxBytes {
		data = data[len(data)-maxBytes:]
	}
	lines := 0
	for i := len(data) - 1; i >= 0; i-- {
		if data[i] == '\n' && i != len(data)-1 {
			lines++
			if lines == maxLines {
				return string(data[i+1:])
			}
		}
	}
	return string(data)
}
