package main

import (
	"bytes"
	"strings"
	"testing"
)

// redisBenchmarkOutput is real redis-benchmark 7.0.15 --csv output (trimmed
// to three commands), including the helper LPUSH row LRANGE needs.
const redisBenchmarkOutput = `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"SET","16289.30","1.851","0.336","1.159","4.663","7.743","59.967"
"LPUSH (needed to benchmark LRANGE)","7525.02","4.483","0.216","2.351","12.591","48.319","218.623"
"LRANGE_100 (first 100 elements)","10168.80","3.386","0.248","1.895","8.255","26.383","162.815"
"MSET (10 keys)","24975.02","1.302","0.184","0.839","3.639","9.007","66.879"
`

func TestParseBenchmarkCSV(t *testing.T) {
	got, err := parseBenchmarkCSV(strings.NewReader(redisBenchmarkOutput))
	if err != nil {
		t.Fatal(err)
	}
	want := []Sample{
		{Test: "SET", RawLabel: "SET", RPS: 16289.30, AvgMs: 1.851, P50Ms: 1.159, P99Ms: 7.743, MaxMs: 59.967},
		{Test: "LRANGE_100", RawLabel: "LRANGE_100 (first 100 elements)", RPS: 10168.80, AvgMs: 3.386, P50Ms: 1.895, P99Ms: 26.383, MaxMs: 162.815},
		{Test: "MSET", RawLabel: "MSET (10 keys)", RPS: 24975.02, AvgMs: 1.302, P50Ms: 0.839, P99Ms: 9.007, MaxMs: 66.879},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d samples %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("sample %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParseBenchmarkCSVRejectsBadInput(t *testing.T) {
	header := `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"` + "\n"
	cases := map[string]string{
		"empty":          "",
		"quiet text":     "SET: 16289.30 requests per second\n",
		"other header":   `"test","rps"` + "\n" + `"SET","1"` + "\n",
		"renamed column": strings.Replace(header, "p99", "p999", 1) + `"SET","1","1","1","1","1","1","1"` + "\n",
		"short row":      header + `"SET","1","1"` + "\n",
		"not a number":   header + `"SET","fast","1","1","1","1","1","1"` + "\n",
		"no rows":        header,
		"only helper":    header + `"LPUSH (needed to benchmark LRANGE)","1","1","1","1","1","1","1"` + "\n",
	}
	for name, in := range cases {
		if got, err := parseBenchmarkCSV(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error, got %+v", name, got)
		}
	}
}

func TestMedian(t *testing.T) {
	cases := []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{5}, 5},
		{[]float64{3, 1, 2}, 2},
		{[]float64{10, 1, 4, 2}, 3},
		{[]float64{7, 7, 100}, 7},
	}
	for _, c := range cases {
		in := append([]float64(nil), c.in...)
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
		for i := range in {
			if in[i] != c.in[i] {
				t.Errorf("median reordered its input: %v, was %v", c.in, in)
				break
			}
		}
	}
}

func TestCompareTakesMediansPerScenarioAndCommand(t *testing.T) {
	row := func(sc, server string, rep int, test string, rps, p50 float64) Row {
		return Row{Scenario: sc, Server: server, Rep: rep, Sample: Sample{Test: test, RPS: rps, P50Ms: p50}}
	}
	rows := []Row{
		row("default", serverRedis, 1, "SET", 100, 1.0),
		row("default", serverReplnode, 1, "SET", 50, 2.0),
		row("default", serverRedis, 2, "SET", 300, 0.5),
		row("default", serverReplnode, 2, "SET", 90, 1.5),
		row("default", serverRedis, 3, "SET", 200, 0.7),
		row("default", serverReplnode, 3, "SET", 70, 1.0),
		row("default", serverRedis, 1, "GET", 100, 1.0),
		row("default", serverReplnode, 1, "GET", 120, 1.0),
		row("pipeline-16", serverRedis, 1, "SET", 1000, 1.0),
		// replnode failed every pipelined run: no sample, ratio n/a.
	}
	got := compare(rows)
	want := []Comparison{
		{Scenario: "default", Test: "SET", RedisRPS: 200, ReplnodeRPS: 70, RedisP50: 0.7, ReplnodeP50: 1.5, RedisRuns: 3, NodeRuns: 3, Ratio: 0.35,
			RedisMin: 100, RedisMax: 300, ReplnodeMin: 50, ReplnodeMax: 90},
		{Scenario: "default", Test: "GET", RedisRPS: 100, ReplnodeRPS: 120, RedisP50: 1, ReplnodeP50: 1, RedisRuns: 1, NodeRuns: 1, Ratio: 1.2,
			RedisMin: 100, RedisMax: 100, ReplnodeMin: 120, ReplnodeMax: 120},
		{Scenario: "pipeline-16", Test: "SET", RedisRPS: 1000, RedisP50: 1, RedisRuns: 1, RedisMin: 1000, RedisMax: 1000},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("comparison %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	slow := slowCommands(got)
	if len(slow) != 1 || slow[0].Test != "SET" || slow[0].Scenario != "default" {
		t.Errorf("slowCommands = %+v, want only default SET", slow)
	}

	var buf bytes.Buffer
	renderThroughput(&buf, got, map[string]string{"default": "redis-benchmark -t set,get"})
	out := buf.String()
	for _, wantLine := range []string{
		"#### default",
		"`redis-benchmark -t set,get`",
		"| SET | 200 | 70 | **0.35** | 0.700 | 1.500 | 0.000 | 0.000 | n/a | 100-300 | 50-90 |",
		"| GET | 100 | 120 | 1.20 | 1.000 | 1.000 | 0.000 | 0.000 | n/a | 100-100 | 120-120 |",
		"#### pipeline-16",
		"| SET | 1000 | 0 | n/a | 1.000 | 0.000 | 0.000 | 0.000 | n/a | 1000-1000 | 0-0 |",
	} {
		if !strings.Contains(out, wantLine+"\n") {
			t.Errorf("summary lacks line %q:\n%s", wantLine, out)
		}
	}
}

func TestRowRecordMatchesHeader(t *testing.T) {
	r := Row{Scenario: "value-1KiB", Server: serverReplnode, Rep: 2,
		Sample: Sample{Test: "GET", RPS: 12345.678, AvgMs: 1.5, P50Ms: 1.25, P99Ms: 9, MaxMs: 20}}
	got := r.record()
	want := []string{"value-1KiB", "replnode", "2", "GET", "12345.68", "1.500", "1.250", "9.000", "20.000"}
	if len(got) != len(rawHeader) || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("record = %q, want %q (header %q)", got, want, rawHeader)
	}
}

func TestMemoryPerKey(t *testing.T) {
	m := MemoryResult{Server: serverRedis, Keys: 1000, UsedBefore: 1 << 20, UsedAfter: 1<<20 + 80000,
		RSSBefore: 8 << 20, RSSAfter: 8<<20 + 120000, DBSize: 1000, LoadSeconds: 1.25}
	if got := m.bytesPerKey(); got != 80 {
		t.Errorf("bytesPerKey = %v, want 80", got)
	}
	if got := m.rssPerKey(); got != 120 {
		t.Errorf("rssPerKey = %v, want 120", got)
	}
	var buf bytes.Buffer
	renderMemory(&buf, []MemoryResult{m})
	if want := "| redis-server | 1000 | 1000 | 1.2 | 1.0 MiB | 1.1 MiB | 80 | 8.0 MiB | 8.1 MiB | 120 |\n"; !strings.Contains(buf.String(), want) {
		t.Errorf("memory table lacks %q:\n%s", want, buf.String())
	}
	if (MemoryResult{}).bytesPerKey() != 0 || (MemoryResult{}).rssPerKey() != 0 {
		t.Error("zero keys must give 0 per key, not a division by zero")
	}
}

func TestParseInfoAndVmRSS(t *testing.T) {
	f := parseInfo("# Memory\r\nused_memory:177984\r\nused_memory_human:173.81K\r\n\r\n")
	if n, err := infoInt(f, "used_memory"); err != nil || n != 177984 {
		t.Errorf("used_memory = %d, %v", n, err)
	}
	if _, err := infoInt(f, "used_memory_human"); err == nil {
		t.Error("non-numeric field parsed as integer")
	}
	if _, err := infoInt(f, "used_memory_rss"); err == nil {
		t.Error("missing field gave no error")
	}

	status := []byte("Name:\tredis-server\nVmPeak:\t  999 kB\nVmRSS:\t    8192 kB\nThreads:\t5\n")
	if n, err := parseVmRSS(status); err != nil || n != 8192*1024 {
		t.Errorf("VmRSS = %d, %v", n, err)
	}
	for _, bad := range []string{"Name:\tx\n", "VmRSS:\t12 MB\n", "VmRSS:\tlots kB\n"} {
		if _, err := parseVmRSS([]byte(bad)); err == nil {
			t.Errorf("parseVmRSS(%q): no error", bad)
		}
	}
}
