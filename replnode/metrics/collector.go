package metrics

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Namespace prefixes every metric, as redis_exporter's default.
const Namespace = "redis"

// Snapshot is what one scrape reads from the node.
type Snapshot struct {
	// Info is INFO's text for the sections to export ("# Section" headers,
	// CRLF or LF lines), taken at one instant.
	Info string
	// Databases is the databases directive: redis_db_keys and
	// redis_db_keys_expiring are exported for every database, 0 for an
	// empty one (which INFO keyspace leaves out), as redis_exporter's
	// default --include-metrics-for-empty-databases does.
	Databases int
	// Now is when the snapshot was taken (for redis_start_time_seconds).
	Now time.Time
}

// Collector is a prometheus.Collector that exports a node's INFO. It is
// unchecked (Describe sends nothing): which metrics exist depends on the
// node's state (a replica has master_link_up, a master its replicas).
type Collector struct {
	snapshot func() (Snapshot, error)
}

// NewCollector returns a collector that calls snapshot once per scrape. A
// snapshot error exports redis_up 0 and nothing else, as redis_exporter
// does for a node it cannot reach.
func NewCollector(snapshot func() (Snapshot, error)) *Collector {
	return &Collector{snapshot: snapshot}
}

// Describe sends nothing: the collector is unchecked.
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

// Collect takes one snapshot and sends its metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	snap, err := c.snapshot()
	e := emitter{ch: ch}
	if err != nil {
		e.gauge("up", "Information about the Redis instance", 0)
		return
	}
	e.gauge("up", "Information about the Redis instance", 1)
	Export(ch, snap)
}

// gauges and counters map INFO fields to redis_exporter's metric names
// (without the namespace). Only fields replnode's INFO can show are
// listed; the names are redis_exporter's metricMapGauges and
// metricMapCounters.
var gauges = map[string]string{
	// Server
	"uptime_in_seconds": "uptime_in_seconds",
	"process_id":        "process_id",
	// Clients
	"connected_clients":               "connected_clients",
	"blocked_clients":                 "blocked_clients",
	"tracking_clients":                "tracking_clients",
	"client_recent_max_output_buffer": "client_recent_max_output_buffer_bytes",
	"client_recent_max_input_buffer":  "client_recent_max_input_buffer_bytes",
	// Memory
	"allocator_active":          "allocator_active_bytes",
	"allocator_allocated":       "allocator_allocated_bytes",
	"allocator_resident":        "allocator_resident_bytes",
	"allocator_frag_ratio":      "allocator_frag_ratio",
	"allocator_frag_bytes":      "allocator_frag_bytes",
	"allocator_rss_ratio":       "allocator_rss_ratio",
	"allocator_rss_bytes":       "allocator_rss_bytes",
	"used_memory":               "memory_used_bytes",
	"used_memory_rss":           "memory_used_rss_bytes",
	"used_memory_peak":          "memory_used_peak_bytes",
	"used_memory_lua":           "memory_used_lua_bytes",
	"used_memory_overhead":      "memory_used_overhead_bytes",
	"used_memory_startup":       "memory_used_startup_bytes",
	"used_memory_dataset":       "memory_used_dataset_bytes",
	"used_memory_scripts":       "memory_used_scripts_bytes",
	"maxmemory":                 "memory_max_bytes",
	"mem_fragmentation_ratio":   "mem_fragmentation_ratio",
	"mem_fragmentation_bytes":   "mem_fragmentation_bytes",
	"mem_clients_slaves":        "mem_clients_slaves",
	"mem_clients_normal":        "mem_clients_normal",
	"expired_stale_perc":        "expired_stale_percentage",
	"mem_not_counted_for_evict": "mem_not_counted_for_eviction_bytes",
	"lazyfree_pending_objects":  "lazyfree_pending_objects",
	"active_defrag_running":     "active_defrag_running",
	"migrate_cached_sockets":    "migrate_cached_sockets_total",
	"active_defrag_hits":        "defrag_hits",
	"active_defrag_misses":      "defrag_misses",
	"active_defrag_key_hits":    "defrag_key_hits",
	"active_defrag_key_misses":  "defrag_key_misses",
	// Stats
	"expired_time_cap_reached_count": "expired_time_cap_reached_total",
	"pubsub_channels":                "pubsub_channels",
	"pubsub_patterns":                "pubsub_patterns",
	"latest_fork_usec":               "latest_fork_usec",
	// Persistence
	"loading":                      "loading_dump_file",
	"rdb_changes_since_last_save":  "rdb_changes_since_last_save",
	"rdb_bgsave_in_progress":       "rdb_bgsave_in_progress",
	"rdb_last_save_time":           "rdb_last_save_timestamp_seconds",
	"rdb_last_bgsave_status":       "rdb_last_bgsave_status",
	"rdb_last_bgsave_time_sec":     "rdb_last_bgsave_duration_sec",
	"rdb_current_bgsave_time_sec":  "rdb_current_bgsave_duration_sec",
	"rdb_last_cow_size":            "rdb_last_cow_size_bytes",
	"aof_enabled":                  "aof_enabled",
	"aof_rewrite_in_progress":      "aof_rewrite_in_progress",
	"aof_rewrite_scheduled":        "aof_rewrite_scheduled",
	"aof_last_rewrite_time_sec":    "aof_last_rewrite_duration_sec",
	"aof_current_rewrite_time_sec": "aof_current_rewrite_duration_sec",
	"aof_last_cow_size":            "aof_last_cow_size_bytes",
	"aof_last_bgrewrite_status":    "aof_last_bgrewrite_status",
	"aof_last_write_status":        "aof_last_write_status",
	"module_fork_in_progress":      "module_fork_in_progress",
	"module_fork_last_cow_size":    "module_fork_last_cow_size",
	// Replication
	"connected_slaves":               "connected_slaves",
	"repl_backlog_size":              "replication_backlog_bytes",
	"repl_backlog_active":            "repl_backlog_is_active",
	"repl_backlog_first_byte_offset": "repl_backlog_first_byte_offset",
	"repl_backlog_histlen":           "repl_backlog_history_bytes",
	"master_repl_offset":             "master_repl_offset",
	"second_repl_offset":             "second_repl_offset",
	"slave_expires_tracked_keys":     "slave_expires_tracked_keys",
	"slave_priority":                 "slave_priority",
	"sync_full":                      "replica_resyncs_full",
	"sync_partial_ok":                "replica_partial_resync_accepted",
	"sync_partial_err":               "replica_partial_resync_denied",
}

var counters = map[string]string{
	"total_connections_received": "connections_received_total",
	"total_commands_processed":   "commands_processed_total",
	"rejected_connections":       "rejected_connections_total",
	"total_net_input_bytes":      "net_input_bytes_total",
	"total_net_output_bytes":     "net_output_bytes_total",
	"expired_keys":               "expired_keys_total",
	"evicted_keys":               "evicted_keys_total",
	"keyspace_hits":              "keyspace_hits_total",
	"keyspace_misses":            "keyspace_misses_total",
	"used_cpu_sys":               "cpu_sys_seconds_total",
	"used_cpu_user":              "cpu_user_seconds_total",
	"used_cpu_sys_children":      "cpu_sys_children_seconds_total",
	"used_cpu_user_children":     "cpu_user_children_seconds_total",
}

// replnodeCounters are INFO fields only replnode has (recovered handler
// panics, see package server), exported under the replnode namespace so
// they never collide with a redis_exporter name.
var replnodeCounters = map[string]string{
	"command_panics":       "command_panics_total",
	"write_command_panics": "write_command_panics_total",
}

// instanceInfoLabels are redis_instance_info's labels, each an INFO field
// of the same name (redis_mode falls back to server_mode).
var instanceInfoLabels = []string{"role", "redis_version", "redis_build_id", "redis_mode", "os", "maxmemory_policy", "tcp_port", "run_id", "process_id", "master_replid"}

// Export sends the metrics of one snapshot, all but redis_up. It is the
// whole mapping from INFO to metrics.
func Export(ch chan<- prometheus.Metric, snap Snapshot) {
	e := emitter{ch: ch}
	fields := map[string]string{}
	section := ""
	dbsSeen := map[string]bool{}
	masterHost, masterPort := "", ""
	for _, line := range strings.Split(snap.Info, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "# ") {
			section = line[2:]
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok || key == "" {
			continue
		}
		fields[key] = value
		switch key {
		case "master_host":
			masterHost = value
		case "master_port":
			masterPort = value
		}
		switch section {
		case "Server":
			switch key {
			case "uptime_in_seconds":
				if up, err := strconv.ParseFloat(value, 64); err == nil {
					e.gauge("start_time_seconds", "Start time of the Redis instance since unix epoch in seconds.", float64(snap.Now.Unix())-up)
				}
			case "hz", "configured_hz":
				e.field(key, key, prometheus.GaugeValue, value)
			}
		case "Clients":
			if key == "maxclients" {
				e.field("config_maxclients", key, prometheus.GaugeValue, value)
			}
		case "Memory":
			if key == "maxmemory" {
				e.field("config_maxmemory", key, prometheus.GaugeValue, value)
			}
		case "Replication":
			if exportReplication(e, key, value, masterHost, masterPort) {
				continue
			}
		case "Commandstats":
			exportCommandStat(e, key, value)
			continue
		case "Errorstats":
			if code, ok := strings.CutPrefix(key, "errorstat_"); ok {
				if n, ok := kvFloat(value, "count"); ok {
					e.emit("errors_total", "Total number of errors per error type", prometheus.CounterValue, n, []string{"err"}, code)
				}
			}
			continue
		case "Keyspace":
			if exportKeyspace(e, key, value) {
				dbsSeen[key] = true
			}
			continue
		}
		if name, ok := gauges[key]; ok {
			e.field(name, key, prometheus.GaugeValue, value)
		} else if name, ok := counters[key]; ok {
			e.field(name, key, prometheus.CounterValue, value)
		} else if name, ok := replnodeCounters[key]; ok {
			if v, ok := parseValue(value); ok {
				e.ch <- prometheus.MustNewConstMetric(
					prometheus.NewDesc("replnode_"+name, "INFO "+key+" (replnode only).", nil, nil),
					prometheus.CounterValue, v)
			}
		}
	}
	for i := 0; i < snap.Databases; i++ {
		db := "db" + strconv.Itoa(i)
		if !dbsSeen[db] {
			e.emit("db_keys", "Total number of keys by DB", prometheus.GaugeValue, 0, []string{"db"}, db)
			e.emit("db_keys_expiring", "Total number of expiring keys by DB", prometheus.GaugeValue, 0, []string{"db"}, db)
		}
	}
	mode := fields["redis_mode"]
	if mode == "" {
		mode = fields["server_mode"]
	}
	values := make([]string, len(instanceInfoLabels))
	for i, l := range instanceInfoLabels {
		values[i] = fields[l]
	}
	values[3] = mode
	e.emit("instance_info", "Information about the Redis instance", prometheus.GaugeValue, 1, instanceInfoLabels, values...)
	if fields["role"] == "slave" {
		e.emit("slave_info", "Information about the Redis slave", prometheus.GaugeValue, 1,
			[]string{"master_host", "master_port", "read_only"}, fields["master_host"], fields["master_port"], fields["slave_read_only"])
	}
}

// exportReplication handles the replication fields with labels: the link
// to our master and each connected replica. It reports whether the field
// is done; the others are plain gauges.
func exportReplication(e emitter, key, value, masterHost, masterPort string) bool {
	masterLabels := []string{"master_host", "master_port"}
	switch key {
	case "master_link_status":
		up := 0.0
		if value == "up" {
			up = 1
		}
		e.emit("master_link_up", "Master link status on Redis slave", prometheus.GaugeValue, up, masterLabels, masterHost, masterPort)
		return true
	case "master_last_io_seconds_ago", "master_sync_in_progress", "slave_repl_offset":
		n, _ := strconv.Atoi(value)
		e.emit(key, "INFO "+key, prometheus.GaugeValue, float64(n), masterLabels, masterHost, masterPort)
		return true
	}
	if len(key) <= len("slave") || !strings.HasPrefix(key, "slave") || !isDigits(key[len("slave"):]) {
		return false
	}
	kv := map[string]string{}
	for _, part := range strings.Split(value, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return true
		}
		kv[k] = v
	}
	offset, err := strconv.ParseFloat(kv["offset"], 64)
	if err != nil {
		return true
	}
	labels := []string{"slave_ip", "slave_port", "slave_state"}
	e.emit("connected_slave_offset_bytes", "Offset of connected slave", prometheus.GaugeValue, offset, labels, kv["ip"], kv["port"], kv["state"])
	if lag, err := strconv.ParseFloat(kv["lag"], 64); err == nil {
		e.emit("connected_slave_lag_seconds", "Lag of connected slave", prometheus.GaugeValue, lag, labels, kv["ip"], kv["port"], kv["state"])
	}
	return true
}

// exportCommandStat handles cmdstat_<cmd>:calls=..,usec=..,usec_per_call=..,rejected_calls=..,failed_calls=..
func exportCommandStat(e emitter, key, value string) {
	cmd, ok := strings.CutPrefix(key, "cmdstat_")
	if !ok {
		return
	}
	calls, ok1 := kvFloat(value, "calls")
	usec, ok2 := kvFloat(value, "usec")
	if !ok1 || !ok2 {
		return
	}
	labels := []string{"cmd"}
	e.emit("commands_total", "Total number of calls per command", prometheus.CounterValue, calls, labels, cmd)
	e.emit("commands_duration_seconds_total", "Total amount of time in seconds spent per command", prometheus.CounterValue, usec/1e6, labels, cmd)
	if rejected, ok := kvFloat(value, "rejected_calls"); ok {
		e.emit("commands_rejected_calls_total", "Total number of errors prior command execution per command", prometheus.CounterValue, rejected, labels, cmd)
	}
	if failed, ok := kvFloat(value, "failed_calls"); ok {
		e.emit("commands_failed_calls_total", "Total number of errors within command execution per command", prometheus.CounterValue, failed, labels, cmd)
	}
}

// exportKeyspace handles db<n>:keys=..,expires=..[,avg_ttl=..] and reports
// whether the line was a database's.
func exportKeyspace(e emitter, key, value string) bool {
	if !strings.HasPrefix(key, "db") || !isDigits(key[2:]) {
		return false
	}
	keys, ok1 := kvFloat(value, "keys")
	expires, ok2 := kvFloat(value, "expires")
	if !ok1 || !ok2 {
		return false
	}
	labels := []string{"db"}
	e.emit("db_keys", "Total number of keys by DB", prometheus.GaugeValue, keys, labels, key)
	e.emit("db_keys_expiring", "Total number of expiring keys by DB", prometheus.GaugeValue, expires, labels, key)
	if ttl, ok := kvFloat(value, "avg_ttl"); ok {
		e.emit("db_avg_ttl_seconds", "Avg TTL in seconds", prometheus.GaugeValue, ttl/1000, labels, key)
	}
	return true
}

// kvFloat finds name=value in a comma separated list and parses it.
func kvFloat(list, name string) (float64, bool) {
	for _, part := range strings.Split(list, ",") {
		if k, v, ok := strings.Cut(part, "="); ok && k == name {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

// parseValue reads an INFO value as redis_exporter does: ok/true are 1,
// err/fail/false are 0, anything else must be a number.
func parseValue(s string) (float64, bool) {
	switch s {
	case "ok", "true":
		return 1, true
	case "err", "fail", "false":
		return 0, true
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// emitter builds constant metrics under the redis namespace.
type emitter struct{ ch chan<- prometheus.Metric }

func (e emitter) emit(name, help string, t prometheus.ValueType, v float64, labels []string, values ...string) {
	desc := prometheus.NewDesc(Namespace+"_"+name, help, labels, nil)
	e.ch <- prometheus.MustNewConstMetric(desc, t, v, values...)
}

func (e emitter) gauge(name, help string, v float64) {
	e.emit(name, help, prometheus.GaugeValue, v, nil)
}

// field exports one INFO field as name, skipping a value that is no number.
func (e emitter) field(name, infoKey string, t prometheus.ValueType, value string) {
	if v, ok := parseValue(value); ok {
		e.emit(name, infoKey+" metric", t, v, nil)
	}
}
