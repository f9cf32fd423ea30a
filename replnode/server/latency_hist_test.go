package server

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// TestLatencyHistogramPercentiles checks the bucket layout against values
// redis-server 7.0 printed: a 1 us call reports 1.003, a 3 us call 3.007,
// a 0 us call (clamped to 1 ns) 0.001.
func TestLatencyHistogramPercentiles(t *testing.T) {
	for _, c := range []struct {
		usec []int64
		p    float64
		want int64
	}{
		{[]int64{1}, 50, 1003},
		{[]int64{3}, 99, 3007},
		{[]int64{0}, 50, 1},
		{[]int64{1, 1, 1, 3}, 50, 1003},
		{[]int64{1, 1, 1, 3}, 99.9, 3007},
		{[]int64{1, 1, 1, 3}, 100, 3007},
		{[]int64{2_000_000}, 50, 238<<22 + 1<<22 - 1}, // clamped to 1 s: its bucket
	} {
		var h latencyHistogram
		for _, u := range c.usec {
			h.record(u * 1000)
		}
		if got := h.valueAtPercentile(c.p); got != c.want {
			t.Errorf("%v p%v = %d, want %d", c.usec, c.p, got, c.want)
		}
	}
}

// TestInfoLatencystats checks the section's lines, the configured
// percentiles, CONFIG RESETSTAT and latency-tracking no.
func TestInfoLatencystats(t *testing.T) {
	n := newCoreNode(t)
	n.do("SET", "a", "1")
	n.do("CONFIG", "GET", "maxmemory")
	info := n.do("INFO", "latencystats")
	for _, cmd := range []string{"set", "config|get"} {
		re := regexp.MustCompile(`latency_percentiles_usec_` + regexp.QuoteMeta(cmd) + `:p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}\\r\\n`)
		if !re.MatchString(info) {
			t.Errorf("no %s line in %s", cmd, info)
		}
	}
	n.do("CONFIG", "SET", "latency-tracking-info-percentiles", "50 99.99")
	if info := n.do("INFO", "latencystats"); !regexp.MustCompile(`latency_percentiles_usec_set:p50=\d+\.\d{3},p99\.99=\d+\.\d{3}\\r\\n`).MatchString(info) {
		t.Errorf("percentiles not applied: %s", info)
	}
	n.do("CONFIG", "RESETSTAT")
	n.do("CONFIG", "SET", "latency-tracking", "no")
	n.do("SET", "a", "2")
	if info := n.do("INFO", "latencystats"); strings.Contains(info, "latency_percentiles_usec_set") {
		t.Errorf("latency-tracking no still recorded: %s", info)
	}
}

// TestLatencyHistogramCDF checks LATENCY HISTOGRAM's buckets: power-of-two
// levels from 1024 ns, keyed by their highest equivalent value in usec
// (1, 2, 4, 8, 16, 33, 66... as redis-server prints), cumulative counts,
// levels that add nothing left out.
func TestLatencyHistogramCDF(t *testing.T) {
	var h latencyHistogram
	for _, us := range []int64{1, 1, 1, 3, 40, 40} {
		h.record(us * 1000)
	}
	got := fmt.Sprint(h.logCDF())
	if want := "[[1 3] [4 4] [66 6]]"; got != want {
		t.Errorf("logCDF = %s, want %s", got, want)
	}
}

// TestLatencyMonitor checks LATENCY LATEST/HISTORY/RESET over the
// "command" event: off at threshold 0, one sample per second keeping the
// highest, the maximum kept.
func TestLatencyMonitor(t *testing.T) {
	n := newCoreNode(t)
	n.run(transcript{
		{cmd("LATENCY", "LATEST"), "[]"},
		{cmd("LATENCY", "HISTORY", "command"), "[]"},
		{cmd("LATENCY", "RESET"), "(integer) 0"},
	})
	n.s.addLatencySample("command", 1000, 5)
	n.s.addLatencySample("command", 1000, 3)
	n.s.addLatencySample("command", 1001, 2)
	n.run(transcript{
		{cmd("LATENCY", "LATEST"), `[["command", (integer) 1001, (integer) 2, (integer) 5]]`},
		{cmd("LATENCY", "HISTORY", "command"), `[[(integer) 1000, (integer) 5], [(integer) 1001, (integer) 2]]`},
		{cmd("LATENCY", "RESET", "nope", "command"), "(integer) 1"},
		{cmd("LATENCY", "LATEST"), "[]"},
	})
}
