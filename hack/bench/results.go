package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// ------ REDIS-BENCHMARK CSV ------

// Sample is one command's result from one redis-benchmark run.
type Sample struct {
	Test     string  // command label, shortened: "LRANGE_100", "MSET"
	RPS      float64 // requests per second
	AvgMs    float64 // mean latency, milliseconds
	P50Ms    float64 // median latency, milliseconds
	P99Ms    float64 // 99th percentile latency, milliseconds
	MaxMs    float64 // worst latency, milliseconds
	RawLabel string  // label as redis-benchmark printed it
}

// benchmarkColumns are the header fields redis-benchmark 7.0 prints with
// --csv; parseBenchmarkCSV requires them so a format change fails loudly
// instead of shifting numbers into the wrong columns.
var benchmarkColumns = []string{"test", "rps", "avg_latency_ms", "min_latency_ms",
	"p50_latency_ms", "p95_latency_ms", "p99_latency_ms", "max_latency_ms"}

// parseBenchmarkCSV reads redis-benchmark --csv output and returns one
// Sample per benchmarked command, in the order printed. Helper rows that only
// prepare data ("LPUSH (needed to benchmark LRANGE)") are dropped. It fails
// on a missing or unexpected header, a short row or a non-numeric field, and
// when no command row is present.
func parseBenchmarkCSV(r io.Reader) ([]Sample, error) {
	rd := csv.NewReader(r)
	rd.FieldsPerRecord = -1
	header, err := rd.Read()
	if err != nil {
		return nil, fmt.Errorf("redis-benchmark csv: reading header: %w", err)
	}
	if len(header) != len(benchmarkColumns) {
		return nil, fmt.Errorf("redis-benchmark csv: header %q, want %q", header, benchmarkColumns)
	}
	for i, name := range benchmarkColumns {
		if header[i] != name {
			return nil, fmt.Errorf("redis-benchmark csv: header %q, want %q", header, benchmarkColumns)
		}
	}
	var out []Sample
	for {
		rec, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("redis-benchmark csv: %w", err)
		}
		if len(rec) != len(benchmarkColumns) {
			return nil, fmt.Errorf("redis-benchmark csv: row %q has %d fields, want %d", rec, len(rec), len(benchmarkColumns))
		}
		if strings.Contains(rec[0], "needed to benchmark") {
			continue
		}
		var nums [7]float64
		for i := range nums {
			v, err := strconv.ParseFloat(rec[i+1], 64)
			if err != nil {
				return nil, fmt.Errorf("redis-benchmark csv: row %q field %s: %w", rec[0], benchmarkColumns[i+1], err)
			}
			nums[i] = v
		}
		out = append(out, Sample{
			Test: shortLabel(rec[0]), RawLabel: rec[0],
			RPS: nums[0], AvgMs: nums[1], P50Ms: nums[3], P99Ms: nums[5], MaxMs: nums[6],
		})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("redis-benchmark csv: no command rows")
	}
	return out, nil
}

// shortLabel cuts redis-benchmark's explanatory suffix: "MSET (10 keys)"
// becomes "MSET", "LRANGE_100 (first 100 elements)" becomes "LRANGE_100".
func shortLabel(label string) string {
	if i := strings.Index(label, " ("); i > 0 {
		return label[:i]
	}
	return label
}

// ------ RAW ROWS AND MEDIANS ------

// Row is one Sample tagged with where it came from; results-<stamp>.csv
// holds one Row per line.
type Row struct {
	Scenario string
	Server   string
	Rep      int
	Sample
}

// rawHeader is the header line of results-<stamp>.csv.
var rawHeader = []string{"scenario", "server", "rep", "test", "rps",
	"avg_latency_ms", "p50_latency_ms", "p99_latency_ms", "max_latency_ms"}

// record renders r as a results-<stamp>.csv line matching rawHeader.
func (r Row) record() []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	return []string{r.Scenario, r.Server, strconv.Itoa(r.Rep), r.Test,
		strconv.FormatFloat(r.RPS, 'f', 2, 64), f(r.AvgMs), f(r.P50Ms), f(r.P99Ms), f(r.MaxMs)}
}

// median returns the median of vs (the mean of the two middle values for
// an even count) without reordering the caller's slice; 0 for no values.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// minMax returns the smallest and largest of vs; 0, 0 for no values.
func minMax(vs []float64) (lo, hi float64) {
	for i, v := range vs {
		if i == 0 || v < lo {
			lo = v
		}
		if i == 0 || v > hi {
			hi = v
		}
	}
	return lo, hi
}

// Comparison is one command of one scenario: the medians of every repeat
// for both servers. Ratio is replnode rps / redis-server rps (above 1 means
// replnode is faster); 0 when either side has no sample.
type Comparison struct {
	Scenario, Test        string
	RedisRPS, ReplnodeRPS float64
	RedisP50, ReplnodeP50 float64
	RedisP99, ReplnodeP99 float64
	RedisRuns, NodeRuns   int
	Ratio                 float64
	// P99Ratio is replnode's median p99 latency / redis-server's (below
	// 1 means replnode's tail is shorter); 0 when either side has none.
	P99Ratio float64
	// Lowest and highest rps of the repeats: how noisy the machine was.
	RedisMin, RedisMax       float64
	ReplnodeMin, ReplnodeMax float64
}

// Server names used in Rows and in the summary.
const (
	serverRedis    = "redis-server"
	serverReplnode = "replnode"
)

// compare groups rows by scenario and command, in first-seen order, and
// returns the median comparison for each.
func compare(rows []Row) []Comparison {
	type key struct{ scenario, test string }
	type acc struct{ rps, p50, p99 map[string][]float64 }
	var order []key
	byKey := map[key]*acc{}
	for _, r := range rows {
		k := key{r.Scenario, r.Test}
		a := byKey[k]
		if a == nil {
			a = &acc{rps: map[string][]float64{}, p50: map[string][]float64{}, p99: map[string][]float64{}}
			byKey[k] = a
			order = append(order, k)
		}
		a.rps[r.Server] = append(a.rps[r.Server], r.RPS)
		a.p50[r.Server] = append(a.p50[r.Server], r.P50Ms)
		a.p99[r.Server] = append(a.p99[r.Server], r.P99Ms)
	}
	out := make([]Comparison, 0, len(order))
	for _, k := range order {
		a := byKey[k]
		c := Comparison{
			Scenario: k.scenario, Test: k.test,
			RedisRPS: median(a.rps[serverRedis]), ReplnodeRPS: median(a.rps[serverReplnode]),
			RedisP50: median(a.p50[serverRedis]), ReplnodeP50: median(a.p50[serverReplnode]),
			RedisP99: median(a.p99[serverRedis]), ReplnodeP99: median(a.p99[serverReplnode]),
			RedisRuns: len(a.rps[serverRedis]), NodeRuns: len(a.rps[serverReplnode]),
		}
		c.RedisMin, c.RedisMax = minMax(a.rps[serverRedis])
		c.ReplnodeMin, c.ReplnodeMax = minMax(a.rps[serverReplnode])
		if c.RedisRPS > 0 && c.ReplnodeRPS > 0 {
			c.Ratio = c.ReplnodeRPS / c.RedisRPS
		}
		if c.RedisP99 > 0 && c.ReplnodeP99 > 0 && c.RedisRuns > 0 && c.NodeRuns > 0 {
			c.P99Ratio = c.ReplnodeP99 / c.RedisP99
		}
		out = append(out, c)
	}
	return out
}

// ------ MEMORY ------

// MemoryResult is one server's memory after loading Keys keys, with the
// empty server's figures as the baseline.
type MemoryResult struct {
	Server                string
	Keys                  int
	UsedBefore, UsedAfter int64 // INFO memory used_memory, bytes
	RSSBefore, RSSAfter   int64 // /proc/<pid>/status VmRSS, bytes
	InfoRSSAfter          int64 // INFO memory used_memory_rss, bytes
	LoadSeconds           float64
	DBSize                int64
}

// bytesPerKey is the growth of used_memory per loaded key.
func (m MemoryResult) bytesPerKey() float64 {
	if m.Keys == 0 {
		return 0
	}
	return float64(m.UsedAfter-m.UsedBefore) / float64(m.Keys)
}

// rssPerKey is the growth of the process's resident set per loaded key.
func (m MemoryResult) rssPerKey() float64 {
	if m.Keys == 0 {
		return 0
	}
	return float64(m.RSSAfter-m.RSSBefore) / float64(m.Keys)
}

// ------ SUMMARY ------

// slowRatio is where the summary flags a command: replnode below 80% of
// redis-server's throughput.
const slowRatio = 0.8

// tailRatio is where the summary flags a command's latency tail: replnode's
// p99 above 1.5 times redis-server's (issue 17's goal).
const tailRatio = 1.5

// mib renders a byte count in MiB with one decimal.
func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// renderThroughput writes one Markdown table per scenario, in the order the
// comparisons come. Throughput ratios below slowRatio and p99 ratios above
// tailRatio are bold so they stand out; the range columns show the lowest
// and highest rps of the repeats.
func renderThroughput(w io.Writer, cmps []Comparison, scenarioInfo map[string]string) {
	last := ""
	for _, c := range cmps {
		if c.Scenario != last {
			if last != "" {
				fmt.Fprintln(w)
			}
			last = c.Scenario
			fmt.Fprintf(w, "#### %s\n\n", c.Scenario)
			if info := scenarioInfo[c.Scenario]; info != "" {
				fmt.Fprintf(w, "`%s`\n\n", info)
			}
			fmt.Fprintln(w, "| command | redis-server rps | replnode rps | ratio | redis-server p50 ms | replnode p50 ms | redis-server p99 ms | replnode p99 ms | p99 ratio | redis-server rps range | replnode rps range |")
			fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		}
		ratio := "n/a"
		if c.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f", c.Ratio)
			if c.Ratio < slowRatio {
				ratio = "**" + ratio + "**"
			}
		}
		p99 := "n/a"
		if c.P99Ratio > 0 {
			p99 = fmt.Sprintf("%.2f", c.P99Ratio)
			if c.P99Ratio > tailRatio {
				p99 = "**" + p99 + "**"
			}
		}
		fmt.Fprintf(w, "| %s | %.0f | %.0f | %s | %.3f | %.3f | %.3f | %.3f | %s | %.0f-%.0f | %.0f-%.0f |\n",
			c.Test, c.RedisRPS, c.ReplnodeRPS, ratio, c.RedisP50, c.ReplnodeP50, c.RedisP99, c.ReplnodeP99, p99,
			c.RedisMin, c.RedisMax, c.ReplnodeMin, c.ReplnodeMax)
	}
}

// renderMemory writes the memory table: baseline, after loading, and growth
// per key for both servers.
func renderMemory(w io.Writer, ms []MemoryResult) {
	fmt.Fprintln(w, "| server | keys | DBSIZE | load s | used_memory empty | used_memory loaded | bytes/key (used_memory) | VmRSS empty | VmRSS loaded | bytes/key (RSS) |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, m := range ms {
		fmt.Fprintf(w, "| %s | %d | %d | %.1f | %s | %s | %.0f | %s | %s | %.0f |\n",
			m.Server, m.Keys, m.DBSize, m.LoadSeconds, mib(m.UsedBefore), mib(m.UsedAfter), m.bytesPerKey(),
			mib(m.RSSBefore), mib(m.RSSAfter), m.rssPerKey())
	}
}

// slowCommands lists the comparisons below slowRatio, slowest first.
func slowCommands(cmps []Comparison) []Comparison {
	var out []Comparison
	for _, c := range cmps {
		if c.Ratio > 0 && c.Ratio < slowRatio {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Ratio < out[j].Ratio })
	return out
}

// longTails lists the comparisons whose p99 ratio is above tailRatio,
// worst first.
func longTails(cmps []Comparison) []Comparison {
	var out []Comparison
	for _, c := range cmps {
		if c.P99Ratio > tailRatio {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].P99Ratio > out[j].P99Ratio })
	return out
}

// renderCPU writes the CPU cost per request per scenario. Cycles are perf's
// count when it had one, else CPU time times the nominal clock (mhz),
// marked "~".
func renderCPU(w io.Writer, cmps []CPUComparison, mhz float64) {
	fmt.Fprintln(w, "| scenario | redis-server CPU µs/request | replnode CPU µs/request | replnode / redis-server | redis-server cycles/request | replnode cycles/request |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	cyc := func(perf, us float64) string {
		switch {
		case perf > 0:
			return fmt.Sprintf("%.0f", perf)
		case mhz > 0 && us > 0:
			return fmt.Sprintf("~%.0f", us*mhz)
		}
		return "n/a"
	}
	for _, c := range cmps {
		ratio := "n/a"
		if c.RedisUs > 0 && c.ReplnodeUs > 0 {
			ratio = fmt.Sprintf("%.2f", c.ReplnodeUs/c.RedisUs)
		}
		fmt.Fprintf(w, "| %s | %.2f | %.2f | %s | %s | %s |\n", c.Scenario, c.RedisUs, c.ReplnodeUs, ratio,
			cyc(c.RedisCycles, c.RedisUs), cyc(c.NodeCycles, c.ReplnodeUs))
	}
}

// renderSync writes the full synchronisation table.
func renderSync(w io.Writer, rs []SyncResult) {
	fmt.Fprintln(w, "| master -> replica | keys | REPLICAOF to link up, s | master VmRSS before | master peak VmRSS | peak PSS master + fork child |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %s -> %s | %d | %.2f | %s | %s | %s |\n", r.Master, r.Replica, r.Keys, r.Seconds,
			mib(r.RSSBefore), mib(r.PeakRSS), mib(r.PeakPSS))
	}
}

// renderLoaded writes the latency and GC table of the runs over the loaded
// keyspace.
func renderLoaded(w io.Writer, rs []LoadedResult) {
	fmt.Fprintln(w, "| server | command | rps | p50 ms | p99 ms | p99.9 ms (<=) | max ms | CPU µs/request | GCs | GC pause p99.9 (<=) | GC pause max (<=) |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rs {
		gcs, p999, pmax := "n/a (no GC)", "n/a", "n/a"
		if r.HasGC {
			gcs = strconv.FormatUint(r.GCs, 10)
			p999 = fmt.Sprintf("%.3f ms", r.PauseP999*1e3)
			pmax = fmt.Sprintf("%.3f ms", r.PauseMax*1e3)
		}
		for _, t := range r.Tests {
			fmt.Fprintf(w, "| %s | %s | %.0f | %.3f | %.3f | %.3f | %.3f | %.2f | %s | %s | %s |\n",
				r.Server, t.Test, t.RPS, t.P50, t.P99, t.P999, t.Max, r.CPUPerOp*1e6, gcs, p999, pmax)
		}
	}
}

// listOutliers writes one line naming each command of cmps with the ratio
// value picks (below target throughput, above target p99), after title;
// nothing when cmps is empty.
func listOutliers(w io.Writer, title string, cmps []Comparison, value func(Comparison) float64) {
	if len(cmps) == 0 {
		return
	}
	parts := make([]string, 0, len(cmps))
	for _, c := range cmps {
		parts = append(parts, fmt.Sprintf("%s %s %.2f", c.Scenario, c.Test, value(c)))
	}
	fmt.Fprintln(w, title+strings.Join(parts, ", "))
	fmt.Fprintln(w)
}
