package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// ------ CPU PER REQUEST ------
//
// Throughput on a shared 2-core machine swings with the background load;
// the server's own CPU time per request swings much less, and it is the
// figure the speed work changes. It is read from /proc/<pid>/stat (user +
// system, every thread) around each redis-benchmark run. Hardware cycles
// come from `perf stat -e cycles` when the machine has the counter (a VM
// often has not: then the summary estimates cycles as CPU time times the
// nominal clock, and says so).

// CPURun is one redis-benchmark run's CPU cost on the server.
type CPURun struct {
	Scenario, Server string
	Rep              int
	Requests         int64   // every request the run sent (helper rows included)
	CPUSeconds       float64 // server user+system CPU time during the run
	Cycles           float64 // perf stat cycles of the server during the run, 0 when not counted
}

// perOp is CPU microseconds per request.
func (r CPURun) perOp() float64 {
	if r.Requests == 0 {
		return 0
	}
	return r.CPUSeconds * 1e6 / float64(r.Requests)
}

// cpuHeader is the header of cpu-<stamp>.csv.
var cpuHeader = []string{"scenario", "server", "rep", "requests", "cpu_seconds", "cpu_us_per_request", "cycles"}

// writeCPUCSV writes one line per run.
func writeCPUCSV(path string, runs []CPURun) error {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(cpuHeader)
	for _, r := range runs {
		_ = w.Write([]string{r.Scenario, r.Server, strconv.Itoa(r.Rep), strconv.FormatInt(r.Requests, 10),
			strconv.FormatFloat(r.CPUSeconds, 'f', 2, 64), strconv.FormatFloat(r.perOp(), 'f', 3, 64),
			strconv.FormatFloat(r.Cycles, 'f', 0, 64)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// CPUComparison is one scenario's median CPU cost per request on both
// servers.
type CPUComparison struct {
	Scenario                string
	RedisUs, ReplnodeUs     float64 // median CPU µs per request
	RedisCycles, NodeCycles float64 // median perf cycles per request, 0 when not counted
	RedisRuns, ReplnodeRuns int
}

// compareCPU groups runs by scenario, in first-seen order.
func compareCPU(runs []CPURun) []CPUComparison {
	var order []string
	type acc struct{ us, cyc map[string][]float64 }
	by := map[string]*acc{}
	for _, r := range runs {
		a := by[r.Scenario]
		if a == nil {
			a = &acc{us: map[string][]float64{}, cyc: map[string][]float64{}}
			by[r.Scenario] = a
			order = append(order, r.Scenario)
		}
		a.us[r.Server] = append(a.us[r.Server], r.perOp())
		if r.Cycles > 0 && r.Requests > 0 {
			a.cyc[r.Server] = append(a.cyc[r.Server], r.Cycles/float64(r.Requests))
		}
	}
	out := make([]CPUComparison, 0, len(order))
	for _, sc := range order {
		a := by[sc]
		out = append(out, CPUComparison{
			Scenario: sc,
			RedisUs:  median(a.us[serverRedis]), ReplnodeUs: median(a.us[serverReplnode]),
			RedisCycles: median(a.cyc[serverRedis]), NodeCycles: median(a.cyc[serverReplnode]),
			RedisRuns: len(a.us[serverRedis]), ReplnodeRuns: len(a.us[serverReplnode]),
		})
	}
	return out
}

// cpuMHz is the first "cpu MHz" of /proc/cpuinfo, 0 when unknown.
func cpuMHz() float64 {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "cpu MHz" {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return 0
}

// perfCyclesSupported reports whether `perf stat -e cycles` counts on
// this machine (perf installed and the hardware counter exposed).
func perfCyclesSupported(ctx context.Context) bool {
	perf, err := exec.LookPath("perf")
	if err != nil {
		return false
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, perf, "stat", "-x,", "-e", "cycles", "--", "true").CombinedOutput()
	if err != nil {
		return false
	}
	_, err = parsePerfCycles(out)
	return err == nil
}

// startCycleCount counts pid's cycles with perf stat until the returned
// function is called, which returns the count.
func startCycleCount(ctx context.Context, pid int) func() (float64, error) {
	cmd := exec.CommandContext(ctx, "perf", "stat", "-x,", "-e", "cycles", "-p", strconv.Itoa(pid))
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		return func() (float64, error) { return 0, err }
	}
	return func() (float64, error) {
		stopPerf(cmd)
		return parsePerfCycles(errOut.Bytes())
	}
}

// parsePerfCycles reads the cycles count from `perf stat -x,` output
// ("123456,,cycles,..."); "<not supported>" or "<not counted>" is an error.
func parsePerfCycles(out []byte) (float64, error) {
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 3 || !strings.HasPrefix(f[2], "cycles") {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, fmt.Errorf("perf cycles %q", f[0])
		}
		return v, nil
	}
	return 0, fmt.Errorf("no cycles line in perf output %q", strings.TrimSpace(string(out)))
}

// stopPerf ends a perf run the way perf expects (SIGINT: it writes its
// report or data file and exits), killing it if it has not within 30 s.
func stopPerf(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}
