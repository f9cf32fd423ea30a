package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ------ THE LOADED-DATASET PHASE ------
//
// One fresh master of each kind is loaded with the 1M keys once and then
// serves three measurements in turn: memory (the keys just loaded), full
// synchronisation of fresh replicas (the same keys, so every sync copies
// exactly -keys keys) and latency under load (random writes over the
// loaded keyspace, which is what makes the Go collector work at that heap
// size). Loading once keeps `make bench` within its time budget.

// datasetResults are what the loaded-dataset phase measured.
type datasetResults struct {
	mem    []MemoryResult
	syncs  []SyncResult
	loaded []LoadedResult
}

// syncPairs are the full synchronisations measured: master kind, replica
// kind. redis-server -> redis-server is the reference.
var syncPairs = [][2]string{
	{serverRedis, serverRedis},
	{serverReplnode, serverReplnode},
	{serverReplnode, serverRedis},
}

// runDataset runs the loaded-dataset phase for both server kinds, each
// part only when selected. Failures are reported through fail; what
// finished is returned.
func runDataset(ctx context.Context, o options, scratch string, fail func(string, ...any)) datasetResults {
	var out datasetResults
	bins := map[string]string{serverRedis: o.redisServer, serverReplnode: o.replnode}
	for _, name := range []string{serverRedis, serverReplnode} {
		if ctx.Err() != nil {
			return out
		}
		var extra []string
		metricsPort := 0
		if name == serverReplnode && o.parts["gc"] {
			// The GC pause histogram comes from replnode's /metrics
			// (runtime/metrics /sched/pauses/total/gc:seconds).
			p, err := freePort()
			if err != nil {
				fail("gc %s: %v", name, err)
			} else {
				metricsPort = p
				extra = []string{"--metrics-port", strconv.Itoa(p), "--metrics-bind", "127.0.0.1"}
			}
		}
		s, err := startServer(ctx, name, bins[name], scratch, extra...)
		if err != nil {
			fail("dataset %s: %v", name, err)
			continue
		}
		m, err := measureMemoryOn(ctx, s, o.keys)
		if err != nil {
			fail("memory %s: %v", name, err)
			s.Stop()
			continue
		}
		if o.parts["memory"] {
			out.mem = append(out.mem, m)
		}
		if o.parts["sync"] {
			for _, pair := range syncPairs {
				if pair[0] != name || ctx.Err() != nil {
					continue
				}
				r, err := measureFullSync(ctx, s, pair[1], bins[pair[1]], scratch)
				if err != nil {
					fail("full sync %s -> %s: %v", pair[0], pair[1], err)
					continue
				}
				out.syncs = append(out.syncs, r)
			}
		}
		if o.parts["gc"] && ctx.Err() == nil {
			r, err := measureLoaded(ctx, o, s, metricsPort)
			if err != nil {
				fail("latency at %d keys %s: %v", o.keys, name, err)
			} else {
				out.loaded = append(out.loaded, r)
			}
		}
		s.Stop()
	}
	return out
}

// ------ FULL SYNCHRONISATION ------

// SyncResult is one full synchronisation of a fresh replica from a loaded
// master: from REPLICAOF to master_link_status:up on the replica, and the
// master's memory meanwhile.
type SyncResult struct {
	Master, Replica string
	Keys            int64   // the master's DBSIZE, checked on the replica after
	Seconds         float64 // REPLICAOF sent to master_link_status:up seen (polled every 20ms)
	// PeakRSS is the highest VmRSS of the master process seen while
	// syncing; PeakPSS the highest proportional set size of the master
	// plus its children (redis-server forks a child for the RDB, whose
	// copy-on-write pages VmRSS of the parent does not show).
	PeakRSS, PeakPSS int64
	RSSBefore        int64
}

// measureFullSync starts a fresh replica of kind replicaName, points it at
// master and times the full synchronisation. The master's
// repl-diskless-sync-delay is set to 0 first (both servers default to 5
// seconds of waiting for more replicas, which would be most of the time).
func measureFullSync(ctx context.Context, master *Server, replicaName, replicaBin, scratch string) (SyncResult, error) {
	r := SyncResult{Master: master.Name, Replica: replicaName}
	mc, err := dial(master.Port)
	if err != nil {
		return r, err
	}
	defer mc.close()
	if _, err := mc.do("CONFIG", "SET", "repl-diskless-sync-delay", "0"); err != nil {
		return r, err
	}
	n, err := mc.do("DBSIZE")
	if err != nil {
		return r, err
	}
	if r.Keys, err = strconv.ParseInt(n, 10, 64); err != nil {
		return r, err
	}
	if r.RSSBefore, err = vmRSS(master.Pid()); err != nil {
		return r, err
	}
	replica, err := startServer(ctx, replicaName, replicaBin, scratch)
	if err != nil {
		return r, err
	}
	defer replica.Stop()
	rc, err := dial(replica.Port)
	if err != nil {
		return r, err
	}
	defer rc.close()

	sample := func() {
		if v, err := vmRSS(master.Pid()); err == nil && v > r.PeakRSS {
			r.PeakRSS = v
		}
		if v := treePSS(master.Pid()); v > r.PeakPSS {
			r.PeakPSS = v
		}
	}
	sample()
	started := time.Now()
	if _, err := rc.do("REPLICAOF", "127.0.0.1", strconv.Itoa(master.Port)); err != nil {
		return r, err
	}
	deadline := started.Add(3 * time.Minute)
	for {
		sample()
		info, err := rc.do("INFO", "replication")
		if err != nil {
			return r, err
		}
		if strings.Contains(info, "master_link_status:up") {
			r.Seconds = time.Since(started).Seconds()
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return r, fmt.Errorf("replica link not up after %s", time.Since(started).Round(time.Second))
		}
		time.Sleep(20 * time.Millisecond)
	}
	sample()
	got, err := rc.do("DBSIZE")
	if err != nil {
		return r, err
	}
	if got != strconv.FormatInt(r.Keys, 10) {
		return r, fmt.Errorf("replica DBSIZE %s after the sync, master has %d", got, r.Keys)
	}
	fmt.Fprintf(os.Stderr, "bench: full sync %-12s -> %-12s %d keys in %.2fs, master peak VmRSS %s\n",
		r.Master, r.Replica, r.Keys, r.Seconds, mib(r.PeakRSS))
	return r, nil
}

// treePSS is the proportional set size of pid and its direct children
// (smaps_rollup), 0 when unreadable: shared copy-on-write pages count
// once, split between the processes sharing them.
func treePSS(pid int) int64 {
	total := pss(pid)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return total
	}
	for _, f := range strings.Fields(string(b)) {
		if child, err := strconv.Atoi(f); err == nil {
			total += pss(child)
		}
	}
	return total
}

// pss reads Pss from /proc/<pid>/smaps_rollup, in bytes; 0 when unreadable.
func pss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0
	}
	v, _ := statusKB(b, "Pss:")
	return v
}

// ------ LATENCY AND GC AT THE LOADED SIZE ------

// LoadedResult is a redis-benchmark run of random SETs and GETs over the
// loaded keyspace, with the latency tail and (replnode) the garbage
// collector's pauses during it.
type LoadedResult struct {
	Server string
	Keys   int
	Tests  []LoadedTest
	// GCs is the number of collections during the run; PauseP999 and
	// PauseMax the 99.9th percentile and the largest stop-the-world GC
	// pause (upper bounds of their histogram buckets), seconds. HasGC is
	// false for redis-server, which has no collector.
	HasGC               bool
	GCs                 uint64
	PauseP999, PauseMax float64
	CPUPerOp            float64 // server CPU seconds per request over the run
}

// LoadedTest is one command of the loaded run.
type LoadedTest struct {
	Test                string
	RPS                 float64
	P50, P99, P999, Max float64 // milliseconds
}

// loadedArgs are the redis-benchmark arguments of the loaded run: random
// keys over the loaded range, so SETs replace values (garbage for the
// collector) and GETs hit a large keyspace.
func loadedArgs(o options) []string {
	return []string{"-t", "set,get", "-n", strconv.Itoa(o.loadedRequests), "-c", strconv.Itoa(o.clients),
		"-r", strconv.Itoa(max(o.keys, 1)), "-d", "16"}
}

// measureLoaded runs the loaded benchmark against s (already holding the
// keys) and reads the GC pause histogram from replnode's metrics endpoint
// before and after.
func measureLoaded(ctx context.Context, o options, s *Server, metricsPort int) (LoadedResult, error) {
	r := LoadedResult{Server: s.Name, Keys: o.keys}
	var before gcHistogram
	if metricsPort != 0 {
		h, err := scrapeGCPauses(ctx, metricsPort)
		if err != nil {
			return r, err
		}
		before, r.HasGC = h, true
	}
	cpu0, err := processCPUSeconds(s.Pid())
	if err != nil {
		return r, err
	}
	rctx, cancel := context.WithTimeout(ctx, o.runTimeout)
	defer cancel()
	args := append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(s.Port)}, loadedArgs(o)...)
	cmd := exec.CommandContext(rctx, o.redisBenchmark, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return r, fmt.Errorf("redis-benchmark %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	cpu1, err := processCPUSeconds(s.Pid())
	if err != nil {
		return r, err
	}
	if r.Tests, err = parseBenchmarkText(&out); err != nil {
		return r, err
	}
	r.CPUPerOp = (cpu1 - cpu0) / float64(o.loadedRequests*len(r.Tests))
	if r.HasGC {
		after, err := scrapeGCPauses(ctx, metricsPort)
		if err != nil {
			return r, err
		}
		d := after.minus(before)
		r.GCs = d.count
		r.PauseP999 = d.quantile(0.999)
		r.PauseMax = d.quantile(1)
	}
	for _, t := range r.Tests {
		fmt.Fprintf(os.Stderr, "bench: loaded      %-12s %d keys: %s %.0f rps, p99 %.3f ms, p99.9 <= %.3f ms; %d GCs, pause p99.9 <= %.3f ms\n",
			s.Name, o.keys, t.Test, t.RPS, t.P99, t.P999, r.GCs, r.PauseP999*1e3)
	}
	return r, nil
}

// parseBenchmarkText reads redis-benchmark's human output (not --csv,
// which has no percentile past p99): per command the throughput summary,
// the latency summary's p50 and p99, and from the percentile distribution
// the first line at or above 99.9% (redis-benchmark prints HDR histogram
// steps, 99.902% and so on, so this is an upper bound of p99.9) and 100%.
func parseBenchmarkText(r io.Reader) ([]LoadedTest, error) {
	var out []LoadedTest
	var cur *LoadedTest
	inPercentiles, inSummary := false, false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// Progress lines end in \r: keep what follows the last one.
		line := sc.Text()
		if i := strings.LastIndexByte(line, '\r'); i >= 0 {
			line = line[i+1:]
		}
		line = strings.TrimSpace(line)
		if m := benchHeader.FindStringSubmatch(line); m != nil {
			if strings.Contains(m[1], "needed to benchmark") {
				cur = nil
				continue
			}
			out = append(out, LoadedTest{Test: shortLabel(m[1]), P999: -1, Max: -1})
			cur = &out[len(out)-1]
			inPercentiles, inSummary = false, false
			continue
		}
		if cur == nil {
			continue
		}
		switch {
		case strings.HasPrefix(line, "Latency by percentile distribution"):
			inPercentiles = true
			continue
		case line == "":
			inPercentiles = false
			continue
		case strings.HasPrefix(line, "throughput summary:"):
			f := strings.Fields(strings.TrimPrefix(line, "throughput summary:"))
			if len(f) > 0 {
				cur.RPS, _ = strconv.ParseFloat(f[0], 64)
			}
			continue
		case strings.HasPrefix(line, "avg") && strings.Contains(line, "p99"):
			inSummary = true
			continue
		}
		if inPercentiles {
			m := percentileLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			pct, _ := strconv.ParseFloat(m[1], 64)
			ms, _ := strconv.ParseFloat(m[2], 64)
			if pct >= 99.9 && cur.P999 < 0 {
				cur.P999 = ms
			}
			if pct >= 100 {
				cur.Max = ms
			}
			continue
		}
		if inSummary {
			// avg min p50 p95 p99 max
			f := strings.Fields(line)
			if len(f) == 6 {
				cur.P50, _ = strconv.ParseFloat(f[2], 64)
				cur.P99, _ = strconv.ParseFloat(f[4], 64)
			}
			inSummary = false
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("redis-benchmark output: no command sections")
	}
	for _, t := range out {
		if t.RPS <= 0 || t.P999 < 0 || t.P99 <= 0 {
			return nil, fmt.Errorf("redis-benchmark output: incomplete section for %s: %+v", t.Test, t)
		}
	}
	return out, nil
}

var (
	benchHeader    = regexp.MustCompile(`^====== (.+) ======$`)
	percentileLine = regexp.MustCompile(`^([0-9.]+)% <= ([0-9.]+) milliseconds`)
)

// gcHistogram is a cumulative Prometheus histogram: upper bounds (seconds,
// ascending, the last +Inf) and cumulative counts.
type gcHistogram struct {
	bounds []float64
	cum    []uint64
	count  uint64
}

// gcPauseMetric is the runtime/metrics histogram of stop-the-world pauses
// for the collector (/sched/pauses/total/gc:seconds) as replnode's
// /metrics exports it.
const gcPauseMetric = "go_sched_pauses_total_gc_seconds"

// scrapeGCPauses reads the GC pause histogram from replnode's /metrics.
func scrapeGCPauses(ctx context.Context, port int) (gcHistogram, error) {
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/metrics", port), nil)
	if err != nil {
		return gcHistogram{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return gcHistogram{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return gcHistogram{}, err
	}
	return parseGCHistogram(body)
}

// parseGCHistogram extracts gcPauseMetric's buckets and count from a
// Prometheus text exposition.
func parseGCHistogram(text []byte) (gcHistogram, error) {
	var h gcHistogram
	type bucket struct {
		le  float64
		cum uint64
	}
	var bs []bucket
	found := false
	for _, line := range strings.Split(string(text), "\n") {
		switch {
		case strings.HasPrefix(line, gcPauseMetric+"_bucket{"):
			m := bucketLine.FindStringSubmatch(line)
			if m == nil {
				return h, fmt.Errorf("unparsable bucket line %q", line)
			}
			le := math.Inf(1)
			if m[1] != "+Inf" {
				v, err := strconv.ParseFloat(m[1], 64)
				if err != nil {
					return h, fmt.Errorf("bucket bound %q: %w", m[1], err)
				}
				le = v
			}
			c, err := strconv.ParseFloat(m[2], 64)
			if err != nil {
				return h, fmt.Errorf("bucket count %q: %w", m[2], err)
			}
			bs = append(bs, bucket{le, uint64(c)})
			found = true
		case strings.HasPrefix(line, gcPauseMetric+"_count "):
			c, err := strconv.ParseFloat(strings.TrimPrefix(line, gcPauseMetric+"_count "), 64)
			if err != nil {
				return h, fmt.Errorf("count line %q: %w", line, err)
			}
			h.count = uint64(c)
		}
	}
	if !found {
		return h, fmt.Errorf("no %s histogram in /metrics", gcPauseMetric)
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].le < bs[j].le })
	for _, b := range bs {
		h.bounds = append(h.bounds, b.le)
		h.cum = append(h.cum, b.cum)
	}
	return h, nil
}

var bucketLine = regexp.MustCompile(`le="([^"]+)"\}\s+(\S+)`)

// minus is the histogram of what happened between before and h (same
// buckets).
func (h gcHistogram) minus(before gcHistogram) gcHistogram {
	d := gcHistogram{bounds: h.bounds, cum: make([]uint64, len(h.cum)), count: h.count - before.count}
	for i := range h.cum {
		d.cum[i] = h.cum[i]
		if i < len(before.cum) {
			d.cum[i] -= before.cum[i]
		}
	}
	return d
}

// quantile is the upper bound of the bucket holding quantile q (q = 1: the
// largest pause's bucket), 0 with no observations. A +Inf bound reports
// the largest finite bound.
func (h gcHistogram) quantile(q float64) float64 {
	if len(h.cum) == 0 || h.cum[len(h.cum)-1] == 0 {
		return 0
	}
	total := h.cum[len(h.cum)-1]
	rank := uint64(math.Ceil(q * float64(total)))
	rank = max(rank, 1)
	for i, c := range h.cum {
		if c >= rank {
			if math.IsInf(h.bounds[i], 1) && i > 0 {
				return h.bounds[i-1]
			}
			return h.bounds[i]
		}
	}
	return h.bounds[len(h.bounds)-1]
}
