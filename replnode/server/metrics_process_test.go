package server_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	nodemetrics "github.com/replnode/replnode/replnode/metrics"
	"github.com/replnode/replnode/replnode/redistest"
)

// scrape fetches http://addr/metrics and parses it with Prometheus's own
// text parser.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %s\n%s", resp.Status, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return mfs
}

// subField reads name=value from a field such as cmdstat_set or slave0.
func subField(t *testing.T, value, name string) float64 {
	t.Helper()
	for _, part := range strings.Split(value, ",") {
		if k, v, ok := strings.Cut(part, "="); ok && k == name {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s in %q: %v", name, value, err)
			}
			return f
		}
	}
	t.Fatalf("no %s in %q", name, value)
	return 0
}

// metricValue finds the sample of family name whose labels include want.
func metricValue(t *testing.T, mfs map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	t.Helper()
	mf, ok := mfs[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Untyped != nil:
			return m.GetUntyped().GetValue(), true
		case m.Summary != nil:
			return float64(m.GetSummary().GetSampleCount()), true
		}
	}
	return 0, false
}

// bracket is an INFO value read before and after a scrape: the scraped
// value must lie between them (counters and offsets only grow; a stable
// gauge reads the same twice).
type bracket struct {
	metric string
	labels map[string]string
	before float64
	after  float64
}

func checkBrackets(t *testing.T, node string, mfs map[string]*dto.MetricFamily, bs []bracket) {
	t.Helper()
	for _, b := range bs {
		got, ok := metricValue(t, mfs, b.metric, b.labels)
		if !ok {
			t.Errorf("%s: no %s%v in /metrics", node, b.metric, b.labels)
			continue
		}
		lo, hi := min(b.before, b.after), max(b.before, b.after)
		if got < lo-1e-9 || got > hi+1e-9 {
			t.Errorf("%s: %s%v = %v, INFO said %v then %v", node, b.metric, b.labels, got, b.before, b.after)
		}
	}
}

// TestMetricsEndpointAgreesWithInfo starts a replnode master and replica
// processes with metrics-port set, gives them keys in two databases,
// expiring keys, hits, misses and an error, then scrapes both endpoints
// between two INFO ALL and checks redis_exporter's names, labels and
// values against INFO.
func TestMetricsEndpointAgreesWithInfo(t *testing.T) {
	masterMetrics, replicaMetrics := redistest.FreePort(t), redistest.FreePort(t)
	master := redistest.StartBinary(t, "metrics-port "+strconv.Itoa(masterMetrics), "metrics-bind 127.0.0.1",
		"maxmemory 100mb", "repl-diskless-sync-delay 0")
	replica := redistest.StartBinary(t, "metrics-port "+strconv.Itoa(replicaMetrics), "metrics-bind 127.0.0.1",
		"replicaof 127.0.0.1 "+strconv.Itoa(master.Port))
	c := master.Dial(t)
	for i := 0; i < 5; i++ {
		c.MustDo(t, "SET", fmt.Sprintf("k%d", i), "v")
	}
	c.MustDo(t, "EXPIRE", "k0", "1000")
	for i := 0; i < 3; i++ { // hits and misses differ
		c.MustDo(t, "GET", "k1")
	}
	c.MustDo(t, "GET", "missing")
	c.MustDo(t, "LPUSH", "k2", "x") // WRONGTYPE
	c.MustDo(t, "SELECT", "2")
	c.MustDo(t, "SET", "other", "v")
	waitInfo(t, c, "connected_slaves:1")
	rc := replica.Dial(t)
	waitInfo(t, rc, "master_link_status:up")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		m := infoFields(t, c, "replication")
		if strings.Contains(m["slave0"], "offset="+m["master_repl_offset"]+",") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica never caught up: %v", m)
		}
	}

	before := infoFields(t, c, "all")
	mfs := scrape(t, "127.0.0.1:"+strconv.Itoa(masterMetrics))
	after := infoFields(t, c, "all")
	num := func(m map[string]string, field string) float64 {
		f, err := strconv.ParseFloat(m[field], 64)
		if err != nil {
			t.Fatalf("INFO %s = %q", field, m[field])
		}
		return f
	}
	plain := func(metric, field string) bracket {
		return bracket{metric: metric, before: num(before, field), after: num(after, field)}
	}
	sub := func(metric string, labels map[string]string, field, name string, scale float64) bracket {
		return bracket{metric: metric, labels: labels,
			before: subField(t, before[field], name) * scale, after: subField(t, after[field], name) * scale}
	}
	slave := map[string]string{"slave_ip": "127.0.0.1", "slave_port": strconv.Itoa(replica.Port), "slave_state": "online"}
	checkBrackets(t, "master", mfs, []bracket{
		{metric: "redis_up", before: 1, after: 1},
		plain("redis_connected_clients", "connected_clients"),
		plain("redis_commands_processed_total", "total_commands_processed"),
		plain("redis_memory_max_bytes", "maxmemory"),
		plain("redis_master_repl_offset", "master_repl_offset"),
		plain("redis_connected_slaves", "connected_slaves"),
		plain("redis_evicted_keys_total", "evicted_keys"),
		plain("redis_expired_keys_total", "expired_keys"),
		plain("redis_keyspace_hits_total", "keyspace_hits"),
		plain("redis_keyspace_misses_total", "keyspace_misses"),
		plain("redis_uptime_in_seconds", "uptime_in_seconds"),
		plain("redis_rdb_last_save_timestamp_seconds", "rdb_last_save_time"),
		plain("redis_replication_backlog_bytes", "repl_backlog_size"),
		plain("redis_connections_received_total", "total_connections_received"),
		sub("redis_commands_total", map[string]string{"cmd": "set"}, "cmdstat_set", "calls", 1),
		sub("redis_commands_duration_seconds_total", map[string]string{"cmd": "set"}, "cmdstat_set", "usec", 1e-6),
		sub("redis_latency_percentiles_usec", map[string]string{"cmd": "set"}, "cmdstat_set", "calls", 1), // the summary's count
		sub("redis_commands_failed_calls_total", map[string]string{"cmd": "lpush"}, "cmdstat_lpush", "failed_calls", 1),
		sub("redis_errors_total", map[string]string{"err": "WRONGTYPE"}, "errorstat_WRONGTYPE", "count", 1),
		sub("redis_db_keys", map[string]string{"db": "db0"}, "db0", "keys", 1),
		sub("redis_db_keys_expiring", map[string]string{"db": "db0"}, "db0", "expires", 1),
		sub("redis_db_keys", map[string]string{"db": "db2"}, "db2", "keys", 1),
		{metric: "redis_db_keys", labels: map[string]string{"db": "db1"}, before: 0, after: 0},
		sub("redis_connected_slave_offset_bytes", slave, "slave0", "offset", 1),
		sub("redis_connected_slave_lag_seconds", slave, "slave0", "lag", 1),
		{metric: "redis_instance_info", labels: map[string]string{"role": "master", "redis_version": before["redis_version"],
			"run_id": before["run_id"], "tcp_port": strconv.Itoa(master.Port), "master_replid": before["master_replid"],
			"maxmemory_policy": "noeviction", "redis_mode": "standalone"}, before: 1, after: 1},
	})
	if used, ok := metricValue(t, mfs, "redis_memory_used_bytes", nil); !ok || used <= 0 {
		t.Errorf("redis_memory_used_bytes = %v (present %v)", used, ok)
	}
	if _, ok := mfs["redis_master_link_up"]; ok {
		t.Errorf("a master exports redis_master_link_up")
	}
	// The scrape is served beside the node's own collectors.
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := mfs[name]; !ok {
			t.Errorf("no %s", name)
		}
	}

	rbefore := infoFields(t, rc, "all")
	rmfs := scrape(t, "127.0.0.1:"+strconv.Itoa(replicaMetrics))
	rafter := infoFields(t, rc, "all")
	link := map[string]string{"master_host": "127.0.0.1", "master_port": strconv.Itoa(master.Port)}
	checkBrackets(t, "replica", rmfs, []bracket{
		{metric: "redis_up", before: 1, after: 1},
		{metric: "redis_master_link_up", labels: link, before: 1, after: 1},
		{metric: "redis_slave_repl_offset", labels: link, before: num(rbefore, "slave_repl_offset"), after: num(rafter, "slave_repl_offset")},
		{metric: "redis_db_keys", labels: map[string]string{"db": "db0"}, before: subField(t, before["db0"], "keys"), after: subField(t, after["db0"], "keys")},
		{metric: "redis_connected_slaves", before: 0, after: 0},
		{metric: "redis_instance_info", labels: map[string]string{"role": "slave", "run_id": rbefore["run_id"]}, before: 1, after: 1},
		{metric: "redis_slave_info", labels: map[string]string{"master_host": "127.0.0.1", "master_port": strconv.Itoa(master.Port), "read_only": "1"}, before: 1, after: 1},
	})

	// Every series the Grafana dashboard of the replnode-group chart
	// queries is served by a master or a replica.
	for _, name := range dashboardMetricNames(t, "redis_") {
		if mfs[name] == nil && rmfs[name] == nil {
			t.Errorf("the dashboard queries %s, which neither node serves", name)
		}
	}
}

// TestMetricsOffByDefault: without metrics-port nothing listens for HTTP,
// and the node starts as before.
func TestMetricsOffByDefault(t *testing.T) {
	in := redistest.StartInProcess(t)
	if err := in.Server.ListenMetrics(); err != nil {
		t.Fatal(err)
	}
	if addr := in.Server.MetricsAddr(); addr != nil {
		t.Errorf("metrics listening on %v without metrics-port", addr)
	}
}

// metricNames are the metric names Export makes from INFO text.
func metricNames(t *testing.T, info string) map[string]bool {
	t.Helper()
	ch := make(chan prometheus.Metric, 4096)
	nodemetrics.Export(ch, nodemetrics.Snapshot{Info: info, Databases: 16, Now: time.Now()})
	close(ch)
	names := map[string]bool{}
	for m := range ch {
		d := m.Desc().String() // Desc{fqName: "redis_up", ...}
		_, rest, _ := strings.Cut(d, `fqName: "`)
		name, _, _ := strings.Cut(rest, `"`)
		names[name] = true
	}
	return names
}

// TestDifferentialMetricNames: the same workload on a redis-server 7.0
// master with a replica and on a replnode master with a replica gives the
// same metric names, for the masters (redis-server's INFO ALL against
// replnode's scrape snapshot) and for the replicas (redis-server's INFO ALL
// against replnode's /metrics endpoint), but for the ones listed here with
// the reason. A dashboard made for Redis finds every series it knows.
func TestDifferentialMetricNames(t *testing.T) {
	redisOnly := map[string]string{
		// INFO keyspace's avg_ttl is a walk of every expiring key in
		// replnode (Redis keeps a running estimate), too long to hold the
		// executor for on every scrape; the snapshot leaves it out.
		"redis_db_avg_ttl_seconds": "avg_ttl",
	}
	workload := func(c *redistest.Client) {
		c.MustDo(t, "SET", "a", "1")
		c.MustDo(t, "SET", "b", "2", "EX", "100")
		c.MustDo(t, "GET", "a")
		c.MustDo(t, "GET", "nope")
		c.MustDo(t, "LPUSH", "a", "x")
	}
	real, ours := redistest.StartRedis(t), redistest.StartInProcess(t, "repl-diskless-sync-delay 0")
	realReplica := redistest.StartRedis(t, "replicaof 127.0.0.1 "+strconv.Itoa(real.Port))
	replicaMetrics := redistest.FreePort(t)
	ourReplica := redistest.StartBinary(t, "replicaof 127.0.0.1 "+strconv.Itoa(ours.Port),
		"metrics-port "+strconv.Itoa(replicaMetrics), "metrics-bind 127.0.0.1")
	rc, oc := real.Dial(t), ours.Dial(t)
	workload(rc)
	workload(oc)
	rrc, orc := realReplica.Dial(t), ourReplica.Dial(t)
	for _, c := range []*redistest.Client{rrc, orc} {
		waitInfo(t, c, "master_link_status:up")
		waitUntil(t, 20*time.Second, "the replica has the keys", func() bool { return c.MustDo(t, "DBSIZE").Int == 2 })
	}
	for _, c := range []*redistest.Client{rc, oc} {
		waitInfo(t, c, "connected_slaves:1")
	}
	// A read both replicas refuse (WRONGTYPE), so both keep error
	// statistics and export redis_errors_total: whether one of them also
	// refused a command while it loaded the sync (LOADING, more likely on
	// a loaded machine) then changes no metric name.
	for name, c := range map[string]*redistest.Client{"redis-server": rrc, "replnode": orc} {
		if stats := strings.TrimSpace(c.MustDo(t, "INFO", "errorstats").Str); strings.Contains(stats, "errorstat_") {
			t.Logf("%s replica refused commands before the test's own error:\n%s", name, stats)
		}
		if r := c.MustDo(t, "LLEN", "a"); !r.IsError() {
			t.Fatalf("LLEN of a string on a replica answered %+v, want WRONGTYPE", r)
		}
	}

	compare := func(role string, realNames, ourNames map[string]bool) {
		var missing, extra []string
		for n := range realNames {
			if !ourNames[n] && redisOnly[n] == "" {
				missing = append(missing, n)
			}
		}
		for n := range ourNames {
			if !realNames[n] && !strings.HasPrefix(n, "replnode_") {
				extra = append(extra, n)
			}
		}
		sort.Strings(missing)
		sort.Strings(extra)
		if len(missing) > 0 {
			t.Errorf("%s: metrics from redis-server's INFO that replnode's lacks: %v", role, missing)
		}
		if len(extra) > 0 {
			t.Errorf("%s: metrics only replnode has: %v", role, extra)
		}
	}
	snap, err := ours.Server.MetricsSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	compare("master", metricNames(t, rc.MustDo(t, "INFO", "all").Str), metricNames(t, snap.Info))
	scraped := map[string]bool{}
	for name := range scrape(t, "127.0.0.1:"+strconv.Itoa(replicaMetrics)) {
		if strings.HasPrefix(name, "redis_") || strings.HasPrefix(name, "replnode_") {
			scraped[name] = true
		}
	}
	realReplicaNames := metricNames(t, rrc.MustDo(t, "INFO", "all").Str)
	realReplicaNames["redis_up"] = true // Collect's, not Export's
	compare("replica", realReplicaNames, scraped)
	for _, name := range []string{"redis_master_link_up", "redis_slave_repl_offset", "redis_slave_info", "redis_master_last_io_seconds_ago"} {
		if !scraped[name] {
			t.Errorf("the replica's /metrics lacks %s", name)
		}
	}
}

// TestMetricsDirectivesAreReplnodeOnly: metrics-port and metrics-bind are
// replnode's own directives. CONFIG GET with a pattern lists Redis's
// directives only (a tool comparing with redis-server sees no extra
// names); asked by name they answer; they are set at startup only.
func TestMetricsDirectivesAreReplnodeOnly(t *testing.T) {
	in := redistest.StartInProcess(t, "metrics-bind 127.0.0.1")
	c := in.Dial(t)
	all := c.MustDo(t, "CONFIG", "GET", "*").String()
	for _, name := range []string{"metrics-port", "metrics-bind"} {
		if strings.Contains(all, name) {
			t.Errorf("CONFIG GET * lists %s", name)
		}
	}
	if got := c.MustDo(t, "CONFIG", "GET", "metrics-*").String(); strings.Contains(got, "metrics") {
		t.Errorf("CONFIG GET metrics-* = %s", got)
	}
	if got, want := c.MustDo(t, "CONFIG", "GET", "metrics-bind").String(), `["metrics-bind", "127.0.0.1"]`; got != want {
		t.Errorf("CONFIG GET metrics-bind = %q, want %q", got, want)
	}
	if got := c.MustDo(t, "CONFIG", "SET", "metrics-port", "9121").String(); !strings.Contains(got, "can't set immutable config") {
		t.Errorf("CONFIG SET metrics-port = %s", got)
	}
}

// dashboardMetricNames are the metric names the replnode-group chart's
// Grafana dashboard queries, by prefix.
func dashboardMetricNames(t *testing.T, prefix string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "charts", "replnode-group", "dashboards", "replnode-group.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Targets []struct{ Expr string } `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	seen := map[string]bool{}
	re := regexp.MustCompile(`\b` + prefix + `[a-z_]+`)
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, name := range re.FindAllString(tg.Expr, -1) {
				seen[name] = true
			}
		}
	}
	if len(seen) == 0 {
		t.Fatalf("the dashboard queries no %s* metric", prefix)
	}
	return slices.Sorted(maps.Keys(seen))
}

// TestMetricsPortInUseStopsStartup: a metrics port that cannot be bound
// stops the node at startup with a message, as a busy Redis port does,
// rather than running without the metrics it was asked to serve.
func TestMetricsPortInUseStopsStartup(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	cmd := exec.Command(redistest.BuildBinary(t), "--port", strconv.Itoa(redistest.FreePort(t)), "--bind", "127.0.0.1",
		"--save", "", "--dir", t.TempDir(), "--metrics-port", strconv.Itoa(busyPort), "--metrics-bind", "127.0.0.1")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Errorf("exit: %v, want status 1", err)
		}
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("the node kept running with its metrics port in use:\n%s", out.String())
	}
	if want := "Failed listening on metrics port " + strconv.Itoa(busyPort); !strings.Contains(out.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, out.String())
	}
}
