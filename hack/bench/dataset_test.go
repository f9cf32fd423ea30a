package main

import (
	"math"
	"strings"
	"testing"
)

// benchText is redis-benchmark 7.0's human output for one helper and two
// commands, progress lines (ending in \r) included.
const benchText = "LPUSH: rps=1000.0 (overall: 1000.0) avg_msec=0.1\r" + `====== LPUSH (needed to benchmark LRANGE) ======
Latency by percentile distribution:
0.000% <= 0.100 milliseconds (cumulative count 1)
99.902% <= 9.000 milliseconds (cumulative count 2)

Summary:
  throughput summary: 5.00 requests per second
  latency summary (msec):
          avg       min       p50       p95       p99       max
        9.000     9.000     9.000     9.000     9.000     9.000
` + "SET: rps=0.0\r====== SET ======" + `
  20000 requests completed in 4.08 seconds
  50 parallel clients

Latency by percentile distribution:
0.000% <= 0.119 milliseconds (cumulative count 2)
50.000% <= 0.855 milliseconds (cumulative count 10076)
99.805% <= 2.823 milliseconds (cumulative count 19967)
99.902% <= 3.855 milliseconds (cumulative count 19982)
99.951% <= 4.191 milliseconds (cumulative count 19999)
100.000% <= 5.239 milliseconds (cumulative count 20000)

Cumulative distribution of latencies:
0.000% <= 0.103 milliseconds (cumulative count 0)
100.000% <= 6.103 milliseconds (cumulative count 20000)

Summary:
  throughput summary: 4902.96 requests per second
  latency summary (msec):
          avg       min       p50       p95       p99       max
        0.900     0.112     0.855     1.500     2.100     5.239
====== GET ======
Latency by percentile distribution:
0.000% <= 0.100 milliseconds (cumulative count 2)
99.999% <= 1.000 milliseconds (cumulative count 19999)
100.000% <= 1.500 milliseconds (cumulative count 20000)

Summary:
  throughput summary: 6000.00 requests per second
  latency summary (msec):
          avg       min       p50       p95       p99       max
        0.300     0.100     0.250     0.600     0.800     1.500
`

func TestParseBenchmarkText(t *testing.T) {
	got, err := parseBenchmarkText(strings.NewReader(benchText))
	if err != nil {
		t.Fatal(err)
	}
	want := []LoadedTest{
		{Test: "SET", RPS: 4902.96, P50: 0.855, P99: 2.1, P999: 3.855, Max: 5.239},
		{Test: "GET", RPS: 6000, P50: 0.25, P99: 0.8, P999: 1.0, Max: 1.5},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("test %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParseBenchmarkTextRejectsIncompleteSections(t *testing.T) {
	for name, text := range map[string]string{
		"empty":         "",
		"no percentile": "====== SET ======\nSummary:\n  throughput summary: 1.00 requests per second\n  latency summary (msec):\n avg min p50 p95 p99 max\n 1 1 1 1 1 1\n",
		"no summary":    "====== SET ======\nLatency by percentile distribution:\n99.902% <= 3.855 milliseconds (cumulative count 1)\n",
		"only helpers":  "====== LPUSH (needed to benchmark LRANGE) ======\n",
	} {
		if got, err := parseBenchmarkText(strings.NewReader(text)); err == nil {
			t.Errorf("%s: no error, got %+v", name, got)
		}
	}
}

const metricsText = `# TYPE go_sched_pauses_total_gc_seconds histogram
go_sched_pauses_total_gc_seconds_bucket{le="6.399999999999999e-08"} 0
go_sched_pauses_total_gc_seconds_bucket{le="7.167999999999999e-06"} 900
go_sched_pauses_total_gc_seconds_bucket{le="0.0009175039999999999"} 999
go_sched_pauses_total_gc_seconds_bucket{le="0.010485759999999998"} 1000
go_sched_pauses_total_gc_seconds_bucket{le="+Inf"} 1000
go_sched_pauses_total_gc_seconds_sum 0.01
go_sched_pauses_total_gc_seconds_count 1000
go_sched_pauses_total_other_seconds_bucket{le="+Inf"} 7
`

func TestGCHistogramQuantilesAndDifference(t *testing.T) {
	after, err := parseGCHistogram([]byte(metricsText))
	if err != nil {
		t.Fatal(err)
	}
	if after.count != 1000 || len(after.bounds) != 5 || !math.IsInf(after.bounds[4], 1) {
		t.Fatalf("parsed %+v", after)
	}
	// 999 of 1000 pauses are at most 0.917ms: p99.9 is that bucket,
	// the largest pause is in the next one.
	if q := after.quantile(0.999); q != 0.0009175039999999999 {
		t.Errorf("p99.9 = %v", q)
	}
	if q := after.quantile(1); q != 0.010485759999999998 {
		t.Errorf("max = %v", q)
	}
	if q := after.quantile(0.5); q != 7.167999999999999e-06 {
		t.Errorf("p50 = %v", q)
	}
	// The run's own pauses: the 900 small ones happened before it.
	before := gcHistogram{bounds: after.bounds, cum: []uint64{0, 900, 900, 900, 900}, count: 900}
	d := after.minus(before)
	if d.count != 100 || d.quantile(0.5) != 0.0009175039999999999 || d.quantile(1) != 0.010485759999999998 {
		t.Errorf("difference %+v: p50 %v max %v", d, d.quantile(0.5), d.quantile(1))
	}
	if (gcHistogram{}).quantile(0.999) != 0 || d.minus(d).quantile(1) != 0 {
		t.Error("an empty histogram must give 0")
	}
	// A pause past the last finite bound reports that bound, not +Inf.
	inf := gcHistogram{bounds: []float64{0.001, math.Inf(1)}, cum: []uint64{0, 1}, count: 1}
	if q := inf.quantile(1); q != 0.001 {
		t.Errorf("+Inf bucket quantile = %v, want the last finite bound", q)
	}
	if _, err := parseGCHistogram([]byte("go_gc_duration_seconds{quantile=\"1\"} 0.001\n")); err == nil {
		t.Error("missing histogram accepted")
	}
}

func TestParseProcStatCPU(t *testing.T) {
	// A command name with spaces and a ')' must not shift the fields.
	stat := []byte("1234 (redis ) srv) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 100 1000 200 18446744073709551615")
	got, err := parseProcStatCPU(stat)
	if err != nil {
		t.Fatal(err)
	}
	if got != 3.0 {
		t.Errorf("cpu = %v, want 3.0 s (250+50 ticks)", got)
	}
	for _, bad := range []string{"no paren", "1 (x) S 1 2", "1 (x) S 1 2 3 4 5 6 7 8 9 10 x y"} {
		if _, err := parseProcStatCPU([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParsePerfCycles(t *testing.T) {
	if v, err := parsePerfCycles([]byte("12345678,,cycles,1000000,100.00,,\n")); err != nil || v != 12345678 {
		t.Errorf("counted: %v %v", v, err)
	}
	for _, out := range []string{"<not supported>,,cycles,0,100.00,,\n", "<not counted>,,cycles,0,0.00,,\n", ""} {
		if v, err := parsePerfCycles([]byte(out)); err == nil {
			t.Errorf("%q gave %v, want an error", out, v)
		}
	}
}

func TestCompareCPUTakesMediansPerScenario(t *testing.T) {
	runs := []CPURun{
		{Scenario: "default", Server: serverRedis, Rep: 1, Requests: 1000, CPUSeconds: 0.002},
		{Scenario: "default", Server: serverRedis, Rep: 2, Requests: 1000, CPUSeconds: 0.004},
		{Scenario: "default", Server: serverRedis, Rep: 3, Requests: 1000, CPUSeconds: 0.009},
		{Scenario: "default", Server: serverReplnode, Rep: 1, Requests: 2000, CPUSeconds: 0.010, Cycles: 2e7},
		{Scenario: "pipeline-16", Server: serverRedis, Rep: 1, Requests: 0, CPUSeconds: 1},
	}
	got := compareCPU(runs)
	if len(got) != 2 || got[0].Scenario != "default" || got[1].Scenario != "pipeline-16" {
		t.Fatalf("got %+v", got)
	}
	d := got[0]
	if math.Abs(d.RedisUs-4) > 1e-9 || math.Abs(d.ReplnodeUs-5) > 1e-9 || d.NodeCycles != 1e4 || d.RedisCycles != 0 || d.RedisRuns != 3 || d.ReplnodeRuns != 1 {
		t.Errorf("default = %+v", d)
	}
	if got[1].RedisUs != 0 {
		t.Errorf("a run without requests must not divide by zero: %+v", got[1])
	}
}

func TestRunRequestCountFlags(t *testing.T) {
	if argInt([]string{"-t", "set", "-n", "500", "-c", "10"}, "-n", 100000) != 500 {
		t.Error("-n not read")
	}
	if argInt([]string{"-t", "set"}, "-n", 100000) != 100000 {
		t.Error("redis-benchmark's default -n not used")
	}
}

func TestParseOptionsParts(t *testing.T) {
	o, err := parseOptions([]string{"-parts", "throughput,gc", "-scenarios", "default,clients-200"})
	if err != nil {
		t.Fatal(err)
	}
	if !o.parts["throughput"] || !o.parts["gc"] || o.parts["memory"] || o.parts["gobench"] {
		t.Errorf("parts = %v", o.parts)
	}
	var names []string
	for _, sc := range scenarios(o) {
		names = append(names, sc.name)
	}
	if strings.Join(names, ",") != "default,clients-200" {
		t.Errorf("scenarios = %v", names)
	}
	all, err := parseOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.parts) != len(allParts) || len(scenarios(all)) != len(allScenarios(all)) {
		t.Errorf("defaults select %v and %d scenarios", all.parts, len(scenarios(all)))
	}
	for _, bad := range [][]string{{"-parts", "throughput,speed"}, {"-scenarios", "nope"}, {"-parts", "sync", "-keys", "0"}} {
		if _, err := parseOptions(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
