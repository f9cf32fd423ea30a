package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/hack/localcluster/cluster"
	"github.com/replnode/replnode/hack/localcluster/podnet"
)

// ------ SCENARIOS ------

// round is what a scenario's fault sees: the master when it started.
type round struct {
	master   string
	pods     map[string]*corev1.Pod
	replicas []string // the other members, sorted
	ctx      context.Context
	// crashedMaster is a member the scenario killed while it was the
	// master after a completed switchover (switchover-target-dies): the
	// OK writes it acknowledged itself and lost with its crash are the
	// asynchronous replication's loss in a crash (docs/failover.md), not
	// the switchover's; the writes the old master acknowledged still
	// count.
	crashedMaster string
}

// resumePod sends SIGCONT to a pod the scenario paused. A pod that is gone
// is not a failure: the operator fenced the frozen old master by deleting
// its pod (a 1 s grace, then SIGKILL), so there is nothing left to resume.
func resumePod(r *round, pod string) error {
	_, err := faults.ResumePod(r.ctx, namespace, pod)
	if err != nil && strings.Contains(err.Error(), "is not running on this cluster's nodes") {
		logf("resume %s: its pod is gone (deleted while frozen): %v", pod, err)
		return nil
	}
	return err
}

// scenario is one fault and its recovery; run returns once the fault is
// healed (the runner then waits for the group to settle).
type scenario struct {
	name string
	// switchover: a planned handover, where no OK-acknowledged write may
	// be lost either.
	switchover bool
	// keepsMaster: the fault must not move the master (a failover would
	// be wrong): failover disabled, the operator cut off.
	keepsMaster bool
	run         func(r *round) error
}

// hold sleeps d: how long a fault lasts.
func hold(d time.Duration) { time.Sleep(d) }

// pastDetection is how long faults that should cause a failover last:
// twice masterDownAfter plus slack for a slow, shared machine.
const pastDetection = 2*downAfter + 10*time.Second

// waitStatus polls the group's status until cond holds (bounded).
func waitStatus(timeout time.Duration, what string, cond func(st replnodev1alpha1.ReplicationGroupStatus) bool) error {
	return poll(timeout, what, func() bool {
		rg, err := getGroup()
		return err == nil && cond(rg.Status)
	})
}

// scenarios are every scenario, gentlest first.
var scenarios = []scenario{
	{name: "switchover", switchover: true, run: func(r *round) error {
		target := r.replicas[0]
		if err := patchGroup(func(rg *replnodev1alpha1.ReplicationGroup) { rg.Spec.Master = target }); err != nil {
			return err
		}
		err := poll(3*time.Minute, "switchover to "+target, func() bool { m, ok := settled(); return ok && m == target })
		// Unpin, so later failovers are not followed by a switch back.
		if uerr := patchGroup(func(rg *replnodev1alpha1.ReplicationGroup) { rg.Spec.Master = "" }); err == nil {
			err = uerr
		}
		return err
	}},
	{name: "kill-master", run: func(r *round) error {
		_, err := faults.KillPod(r.ctx, namespace, r.master, "")
		return err
	}},
	{name: "delete-master-pod", run: func(r *round) error {
		return kube.Delete(r.ctx, r.pods[r.master])
	}},
	{name: "pause-master", run: func(r *round) error {
		if _, err := faults.PausePod(r.ctx, namespace, r.master); err != nil {
			return err
		}
		hold(pastDetection)
		return resumePod(r, r.master)
	}},
	{name: "cut-master-from-pods", run: func(r *round) error {
		id, _, err := faults.Cut(r.ctx, cluster.CutSpec{Namespace: namespace, Pod: r.master, From: podnet.Cut{Pods: true}})
		if err != nil {
			return err
		}
		hold(pastDetection)
		_, err = faults.HealCut(r.ctx, id)
		return err
	}},
	{name: "minority-partition", run: func(r *round) error {
		// {operator, r1} | {master, r2, clients}: r1 cut from the master,
		// r2 and the client pod; the master and r2 cut from the host,
		// where the operator runs. The API server stays reachable.
		r1, r2 := r.replicas[0], r.replicas[1]
		cuts := []cluster.CutSpec{
			{Namespace: namespace, Pod: r1, Peers: []string{r.master, r2, clientPod}},
			{Namespace: namespace, Pod: r.master, From: podnet.Cut{Host: true}},
			{Namespace: namespace, Pod: r2, From: podnet.Cut{Host: true}},
		}
		for _, c := range cuts {
			if _, _, err := faults.Cut(r.ctx, c); err != nil {
				return err
			}
		}
		hold(pastDetection)
		_, err := faults.HealAll(r.ctx)
		return err
	}},
	{name: "operator-cut-off", keepsMaster: true, run: func(r *round) error {
		for name := range r.pods {
			if _, _, err := faults.Cut(r.ctx, cluster.CutSpec{Namespace: namespace, Pod: name, From: podnet.Cut{Host: true}}); err != nil {
				return err
			}
		}
		hold(pastDetection)
		_, err := faults.HealAll(r.ctx)
		return err
	}},
	{name: "node-stop", run: func(r *round) error {
		node := r.pods[r.master].Spec.NodeName
		if _, err := faults.StopNode(r.ctx, node); err != nil {
			return err
		}
		err := waitStatus(2*time.Minute, "a new master while "+node+" is stopped", func(st replnodev1alpha1.ReplicationGroupStatus) bool {
			return st.CurrentMaster != "" && st.CurrentMaster != r.master
		})
		if _, rerr := faults.ResumeNode(r.ctx, node); err == nil {
			err = rerr
		}
		return err
	}},
	{name: "operator-killed-mid-failover", run: func(r *round) error {
		if _, err := faults.PausePod(r.ctx, namespace, r.master); err != nil {
			return err
		}
		err := waitStatus(2*time.Minute, "a failover under way", func(st replnodev1alpha1.ReplicationGroupStatus) bool {
			return (st.TargetMaster != "" && st.TargetMaster != r.master) || (st.CurrentMaster != "" && st.CurrentMaster != r.master)
		})
		operators.kill(0)
		hold(5 * time.Second)
		if serr := operators.start(1); err == nil {
			err = serr
		}
		hold(5 * time.Second)
		if rerr := resumePod(r, r.master); err == nil {
			err = rerr
		}
		return err
	}},
	{name: "operator-killed-mid-switchover", switchover: true, run: func(r *round) error {
		target := r.replicas[0]
		if err := patchGroup(func(rg *replnodev1alpha1.ReplicationGroup) { rg.Spec.Master = target }); err != nil {
			return err
		}
		err := poll(2*time.Minute, "the switchover under way", func() bool {
			rg, err := getGroup()
			return err == nil && (rg.Status.TargetMaster == target || rg.Status.CurrentMaster == target)
		})
		operators.kill(0)
		hold(5 * time.Second)
		if serr := operators.start(1); err == nil {
			err = serr
		}
		if werr := poll(3*time.Minute, "switchover to "+target, func() bool { m, ok := settled(); return ok && m == target }); err == nil {
			err = werr
		}
		if uerr := patchGroup(func(rg *replnodev1alpha1.ReplicationGroup) { rg.Spec.Master = "" }); err == nil {
			err = uerr
		}
		return err
	}},
	{name: "switchover-target-dies", switchover: true, run: func(r *round) error {
		target := r.replicas[0]
		if err := patchGroup(func(rg *replnodev1alpha1.ReplicationGroup) { rg.Spec.Master = target }); err != nil {
			return err
		}
		err := waitStatus(3*time.Minute, target+" promoted", func(st replnodev1alpha1.ReplicationGroupStatus) bool { return st.CurrentMaster == target })
		if err == nil {
			r.crashedMaster = target
			_, err = faults.KillPod(r.ctx, namespace, target, "")
		}
		hold(pastDetection)
		if uerr := patchGroup(func(rg *replnodev1alpha1.ReplicationGroup) { rg.Spec.Master = "" }); err == nil {
			err = uerr
		}
		return err
	}},
	{name: "leader-paused", run: func(r *round) error {
		// Two operators; the leader is frozen past its lease while the
		// master is frozen too, so the new leader fails over; then both
		// come back, the old leader with its stale view.
		if err := operators.start(2); err != nil {
			return err
		}
		var leader int
		if err := poll(2*time.Minute, "a leader", func() bool { leader = operators.leader(); return leader >= 0 }); err != nil {
			return err
		}
		hold(3 * time.Second)
		operators.signal(leader, syscall.SIGSTOP)
		if _, err := faults.PausePod(r.ctx, namespace, r.master); err != nil {
			return err
		}
		// controller-runtime's lease: 15s duration; then detection.
		err := waitStatus(2*time.Minute, "a failover by the new leader", func(st replnodev1alpha1.ReplicationGroupStatus) bool {
			return st.CurrentMaster != "" && st.CurrentMaster != r.master
		})
		rerr := resumePod(r, r.master)
		operators.signal(leader, syscall.SIGCONT)
		hold(pastDetection)
		if err == nil {
			err = rerr
		}
		return err
	}},
	// The master may move here: the killed master restarts from an older
	// dump, and R1 (docs/failover.md) promotes the replica that holds more
	// rather than let the behind member wipe it, failover disabled or not.
	{name: "failover-disabled-kill-master", run: func(r *round) error {
		disabled := false
		if err := patchGroup(func(rg *replnodev1alpha1.ReplicationGroup) { rg.Spec.Failover.Enabled = &disabled }); err != nil {
			return err
		}
		hold(2 * time.Second)
		_, err := faults.KillPod(r.ctx, namespace, r.master, "")
		hold(pastDetection)
		enabled := true
		if perr := patchGroup(func(rg *replnodev1alpha1.ReplicationGroup) { rg.Spec.Failover.Enabled = &enabled }); err == nil {
			err = perr
		}
		return err
	}},
	{name: "delete-all-pods", run: func(r *round) error {
		for _, p := range r.pods {
			if err := kube.Delete(r.ctx, p); err != nil {
				return err
			}
		}
		return nil
	}},
}

// scenarioNames returns the names of every scenario.
func scenarioNames() []string {
	var names []string
	for _, s := range scenarios {
		names = append(names, s.name)
	}
	return names
}

// shortList is what go test ./test/chaos (and so make test) runs by
// default: scenarios that pass reliably on today's operator (docs/chaos.md).
const shortList = "switchover,kill-master,delete-master-pod"

// selected returns the scenarios CHAOS_SCENARIOS names ("all" for every one).
func selected() []scenario {
	want := envOr("CHAOS_SCENARIOS", shortList)
	if want == "all" {
		return scenarios
	}
	var out []scenario
	for _, name := range strings.Split(want, ",") {
		for _, s := range scenarios {
			if s.name == strings.TrimSpace(name) {
				out = append(out, s)
			}
		}
	}
	return out
}

// rounds returns CHAOS_ROUNDS (default 1; make chaos sets 5).
func rounds() int {
	n, err := strconv.Atoi(envOr("CHAOS_ROUNDS", "1"))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// Ordered keeps the scenarios in their list order (gentlest first);
// ContinueOnFailure runs the rest after a failing one.
var _ = ginkgo.Describe("chaos", ginkgo.Ordered, ginkgo.ContinueOnFailure, func() {
	for _, sc := range selected() {
		ginkgo.It(sc.name, func() {
			var failed []string
			for i := 1; i <= rounds(); i++ {
				res := runRound(sc, i)
				if !res.ok {
					failed = append(failed, res.line)
				}
			}
			if len(failed) > 0 {
				ginkgo.Fail(strings.Join(failed, "\n"))
			}
		})
	}
})

// ------ ONE ROUND ------

// result is one round's verdict.
type result struct {
	ok   bool
	line string
}

var (
	resultsMu sync.Mutex
	results   []string
	// rtos are each scenario's round RTOs and verdicts, for the summary.
	rtos     = map[string][]time.Duration{}
	oks      = map[string]int{}
	roundSeq int
)

// runRound runs one round of sc and returns its verdict; the summary line
// is printed and kept for docs/chaos.md.
func runRound(sc scenario, n int) result {
	roundSeq++
	id := roundSeq
	ctx := context.Background()
	started := time.Now()
	var problems []string
	// Start from a healthy group with one operator.
	_, _ = faults.HealAll(ctx)
	if len(operators.procs) != 1 || operators.procs[0].ProcessState != nil {
		_ = operators.start(1)
	}
	master, err := waitSettled(5 * time.Minute)
	if err == nil {
		// A fresh operator may still wait for the lease a replaced one
		// held (15s): a fault injected before it leads measures the
		// election, not the failover (a pause-master round after
		// leader-paused took 16s so).
		err = poll(time.Minute, "an operator holding the lease", func() bool { return operators.leader() >= 0 })
	}
	if err != nil {
		return report(sc, n, nil, "no master", []string{"the group never settled before the fault: " + err.Error()}, 0, 0, 0, 0)
	}
	pods := memberPods()
	var replicas []string
	for name := range pods {
		if name != master {
			replicas = append(replicas, name)
		}
	}
	sort.Strings(replicas)
	h := NewHistory()
	names := &memberNames{}
	names.refresh()
	smp := startSampler(h, names)
	cl := startClients(h, names, 4, id)
	_ = poll(time.Minute, "acknowledged writes before the fault", func() bool {
		for _, o := range h.Ops() {
			if o.Acked {
				return true
			}
		}
		return false
	})
	hold(2 * time.Second)
	faultAt := h.Now()
	// The wall clock places the fault against the operator's log.
	logf("round %s #%d: fault at %s (master %s, replicas %v)", sc.name, n, time.Now().UTC().Format(time.RFC3339Nano), master, replicas)
	rd := &round{master: master, pods: pods, replicas: replicas, ctx: ctx}
	if err := sc.run(rd); err != nil {
		problems = append(problems, "fault: "+err.Error())
	}
	_, _ = faults.HealAll(ctx)
	if len(operators.procs) != 1 {
		_ = operators.start(1)
	}
	final, err := waitSettled(5 * time.Minute)
	if err != nil {
		problems = append(problems, "not settled after healing: "+err.Error())
	}
	// Writes after settling show the group writable again.
	hold(3 * time.Second)
	cl.finish()
	end := h.Now()
	samples, endpoints := smp.finish()
	ops := h.Ops()
	if sc.keepsMaster && final != "" && final != master {
		problems = append(problems, fmt.Sprintf("the master moved %s -> %s, which this fault must not cause", master, final))
	}
	ackedLost, okLost, dual := 0, 0, 0
	var fin Final
	var finalReads []Op
	if final != "" {
		fin, finalReads, err = readFinal(h, final, ops)
		if err != nil {
			problems = append(problems, "read back: "+err.Error())
		}
	}
	lostA := AckedLost(ops, fin)
	lostO := OKLost(ops, fin)
	if rd.crashedMaster != "" {
		var kept []Op
		crashLost := 0
		for _, o := range lostO {
			if o.Member == rd.crashedMaster {
				crashLost++
				continue
			}
			kept = append(kept, o)
		}
		if crashLost > 0 {
			logf("round %s #%d: %d OK (not WAIT-acknowledged) writes that %s answered as the new master were lost with its crash; not counted as switchover losses", sc.name, n, crashLost, rd.crashedMaster)
		}
		lostO = kept
	}
	witnesses := DualWritable(ops, samples)
	drops := FullSyncDrops(samples)
	ackedLost, okLost, dual = len(lostA), len(lostO), len(witnesses)
	if fin.Values == nil {
		ackedLost, okLost = -1, -1
	}
	if ackedLost != 0 {
		problems = append(problems, fmt.Sprintf("%d WAIT-acknowledged writes lost, e.g. %s", ackedLost, describeOps(lostA)))
	}
	if sc.switchover && okLost != 0 {
		problems = append(problems, fmt.Sprintf("%d OK writes lost in a switchover, e.g. %s", okLost, describeOps(lostO)))
	}
	if dual > 0 {
		problems = append(problems, fmt.Sprintf("%d dual-writable witnesses, e.g. %s", dual, describeOps(witnesses)))
	}
	for _, d := range drops {
		problems = append(problems, fmt.Sprintf("%s lost %d keys (%d -> %d) between %s and %s without restarting (full sync seen: %v)",
			d.Member, d.LostKeys, d.From.Keys, d.To.Keys, d.From.At.Round(time.Millisecond), d.To.At.Round(time.Millisecond), d.SyncFullSeen))
	}
	if div := Diverged(fin); len(div) > 0 {
		for r, keys := range div {
			problems = append(problems, fmt.Sprintf("replica %s differs from the master on %d keys, e.g. %s", r, len(keys), keys[0]))
		}
	}
	if stale := staleLeaderActions(started); len(stale) > 0 {
		e := stale[0]
		problems = append(problems, fmt.Sprintf("%d operator actions after another operator took the lease, e.g. %s at %s: %s",
			len(stale), e.Operator, e.At.Format("15:04:05"), e.Action))
	}
	lin, badKeys := Linearizable(ops, finalReads, time.Minute)
	if len(badKeys) > 0 {
		problems = append(problems, fmt.Sprintf("not linearizable: keys %v", badKeys))
	}
	rto := WriteGap(ops, faultAt, end)
	res := report(sc, n, ops, fmt.Sprintf("master %s -> %s", master, final), problems, ackedLost, okLost, dual, rto)
	saveEvidence(sc, n, timing{start: h.Wall(0), fault: faultAt, end: end, rto: rto}, ops, samples, endpoints, fin, problems, string(lin))
	return res
}

// staleLeaderActions reads every operator's log and returns the actions
// since the round started that an operator took after another took the
// lease (StaleLeaderActions).
func staleLeaderActions(since time.Time) []OperatorEvent {
	var events []OperatorEvent
	for _, path := range operators.allLogs {
		log, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		for _, e := range ParseOperatorLog(filepath.Base(path), log) {
			if !e.At.Before(since.Truncate(time.Second)) {
				events = append(events, e)
			}
		}
	}
	return StaleLeaderActions(events)
}

// readFinal reads every key of the round back from the final master and
// the replicas (until they converge or 30s pass), and returns the final
// reads of the register and counter keys as ops for the linearizability
// check.
func readFinal(h *History, master string, ops []Op) (Final, []Op, error) {
	keySet := map[string]bool{}
	for _, o := range ops {
		keySet[o.Key] = true
	}
	keys := make([]string, 0, len(keySet))
	for k := range keySet {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pods := memberPods()
	mp := pods[master]
	if mp == nil || mp.Status.PodIP == "" {
		return Final{}, nil, fmt.Errorf("the master %s has no pod address", master)
	}
	invoke := h.Now()
	vals, err := readBack(mp.Status.PodIP+":6379", keys)
	if err != nil {
		return Final{}, nil, err
	}
	complete := h.Now()
	fin := Final{Master: master, Values: vals, Replicas: map[string]map[string]string{}}
	_ = poll(30*time.Second, "the replicas converged", func() bool {
		for name, p := range pods {
			if name == master || p.Status.PodIP == "" {
				continue
			}
			if rv, err := readBack(p.Status.PodIP+":6379", keys); err == nil {
				fin.Replicas[name] = rv
			}
		}
		return len(Diverged(fin)) == 0
	})
	var reads []Op
	for _, k := range keys {
		if strings.HasSuffix(k, ":reg") || strings.HasSuffix(k, ":ctr") {
			v, _ := strconv.ParseInt(vals[k], 10, 64)
			reads = append(reads, Op{Client: -1, Kind: Get, Key: k, Value: v, Invoke: invoke, Complete: complete, Outcome: OK, Member: master})
		}
	}
	return fin, reads, nil
}

// describeOps describes up to three ops for a summary.
func describeOps(ops []Op) string {
	var parts []string
	for i, o := range ops {
		if i == 3 {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %s=%d on %s [%s..%s]", o.Kind, o.Key, o.Value, o.Member, o.Invoke.Round(time.Millisecond), o.Complete.Round(time.Millisecond)))
	}
	return strings.Join(parts, "; ")
}

// report prints and records the round's summary line.
func report(sc scenario, n int, ops []Op, masters string, problems []string, ackedLost, okLost, dual int, rto time.Duration) result {
	verdict := "ok"
	if len(problems) > 0 {
		verdict = "FAIL"
	}
	counts := map[Outcome]int{}
	acked := 0
	for _, o := range ops {
		counts[o.Outcome]++
		if o.Acked {
			acked++
		}
	}
	line := fmt.Sprintf("chaos: %s %s, acked lost %d, switchover ok-lost %d, dual-writable %d, rto %.1fs", sc.name, verdict, ackedLost, okLost, dual, rto.Seconds())
	detail := fmt.Sprintf("round %d: %s, ops ok %d fail %d unknown %d, WAIT-acked %d, load %s", n, masters, counts[OK], counts[Fail], counts[Unknown], acked, loadAverage())
	if len(problems) > 0 {
		detail += "; " + strings.Join(problems, "; ")
	}
	fmt.Fprintln(os.Stderr, line)
	fmt.Fprintln(os.Stderr, "  "+detail)
	resultsMu.Lock()
	results = append(results, line+"\n  "+detail)
	rtos[sc.name] = append(rtos[sc.name], rto)
	if len(problems) == 0 {
		oks[sc.name]++
	}
	resultsMu.Unlock()
	return result{ok: len(problems) == 0, line: line + " — " + detail}
}

// timing places a round on the clock: the wall time of the history's zero
// (to read the operators' logs against), the fault's and the round end's
// offsets, and the rto measured.
type timing struct {
	start      time.Time
	fault, end time.Duration
	rto        time.Duration
}

// saveEvidence writes the round's history, samples, master endpoint changes
// and final read to CHAOS_EVIDENCE_DIR (default /tmp/replnode-chaos-evidence)
// for a look after the run (go run ./test/chaos/timeline prints a round's
// failover timeline from it).
func saveEvidence(sc scenario, n int, t timing, ops []Op, samples []Sample, endpoints []EndpointChange, fin Final, problems []string, lin string) {
	dir := envOr("CHAOS_EVIDENCE_DIR", filepath.Join(os.TempDir(), "replnode-chaos-evidence"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return
	}
	b, _ := json.MarshalIndent(map[string]any{
		"scenario": sc.name, "round": n, "problems": problems, "linearizability": lin,
		"ops": ops, "samples": samples, "endpoints": endpoints, "finalMaster": fin.Master, "operatorLogs": operators.allLogs,
		"startWall": t.start.UTC().Format(time.RFC3339Nano), "faultAt": t.fault, "endAt": t.end, "rto": t.rto,
	}, "", " ")
	_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.json", sc.name, n)), b, 0o644)
	// The operators' logs so far: the cluster's state directory goes with
	// the cluster.
	for _, path := range operators.allLogs {
		if log, err := os.ReadFile(path); err == nil {
			_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.%s", sc.name, n, filepath.Base(path))), log, 0o644)
		}
	}
}

// startLoad is the load average when the suite started; builtFrom the
// commit the suite built its binaries from.
var (
	startLoad = loadAverage()
	builtFrom = "unknown"
)

// loadAverage is the host's 1-minute load average (/proc/loadavg), recorded
// with each round: the RTOs depend on how busy the 2-CPU machine was.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}

// summaryLines renders one line per scenario: rounds ok, and the RTO p99
// over its rounds (nearest rank: with fewer than 100 rounds, the largest).
func summaryLines() []string {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	names := make([]string, 0, len(rtos))
	for name := range rtos {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []string
	for _, name := range names {
		r := append([]time.Duration(nil), rtos[name]...)
		sort.Slice(r, func(i, j int) bool { return r[i] < r[j] })
		p99 := r[(len(r)*99+99)/100-1]
		out = append(out, fmt.Sprintf("summary: %s %d/%d rounds ok, rto p99 %.1fs, median %.1fs", name, oks[name], len(r), p99.Seconds(), r[len(r)/2].Seconds()))
	}
	return out
}

// writeResults writes the results to CHAOS_REPORT when it is set (make
// chaos: docs/chaos.md): the header, this run, then the runs the file
// already held (newest first), so runs of different scenario lists add up.
func writeResults() {
	path := os.Getenv("CHAOS_REPORT")
	if path == "" || len(results) == 0 {
		return
	}
	older := ""
	if prev, err := os.ReadFile(path); err == nil {
		if i := strings.Index(string(prev), "\n## "); i >= 0 {
			older = string(prev[i+1:])
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n## Run of %s\n\n", chaosDocHeader, time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Commit %s, %d CPUs (%s/%s), %s; CHAOS_ROUNDS=%d, CHAOS_SCENARIOS=%s; load average at the start %s.\n\n```\n", builtFrom, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), rounds(), envOr("CHAOS_SCENARIOS", shortList), startLoad)
	for _, l := range results {
		b.WriteString(l + "\n")
	}
	for _, l := range summaryLines() {
		b.WriteString(l + "\n")
	}
	b.WriteString("```\n")
	if older != "" {
		b.WriteString("\n" + older)
	}
	_ = os.WriteFile(path, []byte(b.String()), 0o644)
}

// chaosDocHeader opens docs/chaos.md: what the suite does and what each
// check means.
const chaosDocHeader = `# Chaos suite results (test/chaos)

Written by ` + "`make chaos`" + ` (test/chaos). A local cluster of its own
(hack/localcluster, 3 nodes, bridge lcchaos0), the real operator
(bin/manager, a host process; two with leader election in leader-paused),
real replnode pods, test/chaos/testdata/replicationgroup.yaml (the shape of
config/samples without its maxmemory: master + 2 replicas,
minReplicasToWrite 1, minReplicasMaxLag 2, masterDownAfter 3s). Four clients, from a pod of their own
(chaos-client), cycle through a WAIT-acknowledged SET of a fresh key (SET
then WAIT 1 1000), SET of their register key, INCR of their counter key and
GET of the register, each as MULTI; op; CLIENT INFO; EXEC through the master
Service's endpoint, so every answer names the member that gave it (laddr).
An error reply is fail, a timeout or dropped connection after EXEC was sent
is unknown. A sampler reads DBSIZE, role, run_id and sync_full of every
member every 100ms.

Checks, after healing and settling (test/chaos/checkers.go):

- acked lost: WAIT-acknowledged writes whose value the final master lacks.
- switchover ok-lost: OK writes (acknowledged or not) the final master
  lacks; a FAIL only in switchover scenarios.
- dual-writable: ok writes on member A lying strictly between two
  consecutive ok writes of another member B (B's write completed before A's
  was invoked, B's next was invoked after A's completed), with B's
  mastership not seen interrupted in between (no sample of B as a replica
  or with another run_id there).
- full-sync drops: a member's DBSIZE falling between two samples of the same
  run_id (clients never delete).
- replicas converge with the final master on every key.
- per-key linearizability (porcupine): register and counter models, unknown
  writes as possibly applied, final reads included.
- rto: the longest span from the fault to the end of the round with no ok
  write from any client (a write counts when its OK arrived, not when the
  WAIT after it ended).
- keepsMaster scenarios (operator-cut-off)
  also fail when the master moved.
- one active operator (from the operators' logs): no operator acts on the
  group after another has acquired the leader lease.

Evidence of each round (history, samples, operator logs) is written to
CHAOS_EVIDENCE_DIR (default /tmp/replnode-chaos-evidence). ` + "`go test ./test/chaos`" + `
(and so make test) runs one round of the short list (` + shortList + `):
scenarios that pass on today's operator; CHAOS_SCENARIOS=all or a
comma-separated list picks others.
`
