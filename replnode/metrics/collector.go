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
// (without the namespace): its metricMapGauges and metricMapCounters
// (exporter/exporter.go at cd5941f, August 2026), the Redis entries only
// (not Tile38, KeyDB, modules or Valkey). A field INFO does not show is
// simply not exported, so the tables may list more than replnode has.
var gauges = map[string]string{
	"uptime_in_seconds":                          "uptime_in_seconds",
	"process_id":                                 "process_id",
	"io_threads_active":                          "io_threads_active",
	"connected_clients":                          "connected_clients",
	"blocked_clients":                            "blocked_clients",
	"maxclients":                                 "max_clients",
	"tracking_clients":                           "tracking_clients",
	"clients_in_timeout_table":                   "clients_in_timeout_table",
	"pubsub_clients":                             "pubsub_clients",
	"watching_clients":                           "watching_clients",
	"total_watched_keys":                         "total_watched_keys",
	"total_blocking_keys":                        "total_blocking_keys",
	"total_blocking_keys_on_nokey":               "total_blocking_keys_on_nokey",
	"client_longest_output_list":                 "client_longest_output_list",
	"client_biggest_input_buf":                   "client_biggest_input_buf",
	"client_recent_max_output_buffer":            "client_recent_max_output_buffer_bytes",
	"client_recent_max_input_buffer":             "client_recent_max_input_buffer_bytes",
	"allocator_active":                           "allocator_active_bytes",
	"allocator_allocated":                        "allocator_allocated_bytes",
	"allocator_resident":                         "allocator_resident_bytes",
	"allocator_frag_ratio":                       "allocator_frag_ratio",
	"allocator_frag_bytes":                       "allocator_frag_bytes",
	"allocator_muzzy":                            "allocator_muzzy_bytes",
	"allocator_rss_ratio":                        "allocator_rss_ratio",
	"allocator_rss_bytes":                        "allocator_rss_bytes",
	"used_memory":                                "memory_used_bytes",
	"used_memory_rss":                            "memory_used_rss_bytes",
	"used_memory_peak":                           "memory_used_peak_bytes",
	"used_memory_lua":                            "memory_used_lua_bytes",
	"used_memory_vm_eval":                        "memory_used_vm_eval_bytes",
	"used_memory_scripts_eval":                   "memory_used_scripts_eval_bytes",
	"used_memory_overhead":                       "memory_used_overhead_bytes",
	"used_memory_startup":                        "memory_used_startup_bytes",
	"used_memory_dataset":                        "memory_used_dataset_bytes",
	"number_of_cached_scripts":                   "number_of_cached_scripts",
	"number_of_functions":                        "number_of_functions",
	"number_of_libraries":                        "number_of_libraries",
	"used_memory_vm_functions":                   "memory_used_vm_functions_bytes",
	"used_memory_scripts":                        "memory_used_scripts_bytes",
	"used_memory_functions":                      "memory_used_functions_bytes",
	"used_memory_vm_total":                       "memory_used_vm_total",
	"maxmemory":                                  "memory_max_bytes",
	"maxmemory_reservation":                      "memory_max_reservation_bytes",
	"maxmemory_desired_reservation":              "memory_max_reservation_desired_bytes",
	"maxfragmentationmemory_reservation":         "memory_max_fragmentation_reservation_bytes",
	"maxfragmentationmemory_desired_reservation": "memory_max_fragmentation_reservation_desired_bytes",
	"mem_fragmentation_ratio":                    "mem_fragmentation_ratio",
	"mem_fragmentation_bytes":                    "mem_fragmentation_bytes",
	"mem_clients_slaves":                         "mem_clients_slaves",
	"mem_clients_normal":                         "mem_clients_normal",
	"mem_cluster_links":                          "mem_cluster_links_bytes",
	"mem_aof_buffer":                             "mem_aof_buffer_bytes",
	"mem_replication_backlog":                    "mem_replication_backlog_bytes",
	"expired_stale_perc":                         "expired_stale_percentage",
	"mem_not_counted_for_evict":                  "mem_not_counted_for_eviction_bytes",
	"mem_total_replication_buffers":              "mem_total_replication_buffers_bytes",
	"mem_overhead_db_hashtable_rehashing":        "mem_overhead_db_hashtable_rehashing_bytes",
	"lazyfree_pending_objects":                   "lazyfree_pending_objects",
	"lazyfreed_objects":                          "lazyfreed_objects",
	"active_defrag_running":                      "active_defrag_running",
	"migrate_cached_sockets":                     "migrate_cached_sockets_total",
	"active_defrag_hits":                         "defrag_hits",
	"active_defrag_misses":                       "defrag_misses",
	"active_defrag_key_hits":                     "defrag_key_hits",
	"active_defrag_key_misses":                   "defrag_key_misses",
	"loading":                                    "loading_dump_file",
	"async_loading":                              "async_loading",
	"rdb_changes_since_last_save":                "rdb_changes_since_last_save",
	"rdb_bgsave_in_progress":                     "rdb_bgsave_in_progress",
	"rdb_last_save_time":                         "rdb_last_save_timestamp_seconds",
	"rdb_last_bgsave_status":                     "rdb_last_bgsave_status",
	"rdb_last_bgsave_time_sec":                   "rdb_last_bgsave_duration_sec",
	"rdb_current_bgsave_time_sec":                "rdb_current_bgsave_duration_sec",
	"rdb_saves":                                  "rdb_saves_total",
	"rdb_last_cow_size":                          "rdb_last_cow_size_bytes",
	"rdb_last_load_keys_expired":                 "rdb_last_load_expired_keys",
	"rdb_last_load_keys_loaded":                  "rdb_last_load_loaded_keys",
	"aof_enabled":                                "aof_enabled",
	"aof_rewrite_in_progress":                    "aof_rewrite_in_progress",
	"aof_rewrite_scheduled":                      "aof_rewrite_scheduled",
	"aof_last_rewrite_time_sec":                  "aof_last_rewrite_duration_sec",
	"aof_current_rewrite_time_sec":               "aof_current_rewrite_duration_sec",
	"aof_last_cow_size":                          "aof_last_cow_size_bytes",
	"aof_current_size":                           "aof_current_size_bytes",
	"aof_base_size":                              "aof_base_size_bytes",
	"aof_pending_rewrite":                        "aof_pending_rewrite",
	"aof_buffer_length":                          "aof_buffer_length",
	"aof_rewrite_buffer_length":                  "aof_rewrite_buffer_length",
	"aof_pending_bio_fsync":                      "aof_pending_bio_fsync",
	"aof_delayed_fsync":                          "aof_delayed_fsync",
	"aof_last_bgrewrite_status":                  "aof_last_bgrewrite_status",
	"aof_last_write_status":                      "aof_last_write_status",
	"module_fork_in_progress":                    "module_fork_in_progress",
	"module_fork_last_cow_size":                  "module_fork_last_cow_size",
	"current_eviction_exceeded_time":             "current_eviction_exceeded_time_ms",
	"pubsub_channels":                            "pubsub_channels",
	"pubsub_patterns":                            "pubsub_patterns",
	"pubsubshard_channels":                       "pubsubshard_channels",
	"latest_fork_usec":                           "latest_fork_usec",
	"tracking_total_keys":                        "tracking_total_keys",
	"tracking_total_items":                       "tracking_total_items",
	"tracking_total_prefixes":                    "tracking_total_prefixes",
	"instantaneous_eventloop_cycles_per_sec":     "instantaneous_eventloop_cycles_per_sec",
	"instantaneous_eventloop_duration_usec":      "instantaneous_eventloop_duration_usec",
	"connected_slaves":                           "connected_slaves",
	"repl_backlog_size":                          "replication_backlog_bytes",
	"repl_backlog_active":                        "repl_backlog_is_active",
	"repl_backlog_first_byte_offset":             "repl_backlog_first_byte_offset",
	"repl_backlog_histlen":                       "repl_backlog_history_bytes",
	"master_repl_offset":                         "master_repl_offset",
	"second_repl_offset":                         "second_repl_offset",
	"slave_expires_tracked_keys":                 "slave_expires_tracked_keys",
	"slave_priority":                             "slave_priority",
	"sync_full":                                  "replica_resyncs_full",
	"sync_partial_ok":                            "replica_partial_resync_accepted",
	"sync_partial_err":                           "replica_partial_resync_denied",
	"cluster_stats_messages_sent":                "cluster_messages_sent_total",
	"cluster_stats_messages_received":            "cluster_messages_received_total",
}

var counters = map[string]string{
	"total_connections_received":                "connections_received_total",
	"total_commands_processed":                  "commands_processed_total",
	"rejected_connections":                      "rejected_connections_total",
	"total_net_input_bytes":                     "net_input_bytes_total",
	"total_net_output_bytes":                    "net_output_bytes_total",
	"total_net_repl_input_bytes":                "net_repl_input_bytes_total",
	"total_net_repl_output_bytes":               "net_repl_output_bytes_total",
	"expired_subkeys":                           "expired_subkeys_total",
	"expired_keys":                              "expired_keys_total",
	"expired_time_cap_reached_count":            "expired_time_cap_reached_total",
	"expire_cycle_cpu_milliseconds":             "expire_cycle_cpu_time_ms_total",
	"evicted_keys":                              "evicted_keys_total",
	"evicted_clients":                           "evicted_clients_total",
	"evicted_scripts":                           "evicted_scripts_total",
	"total_eviction_exceeded_time":              "eviction_exceeded_time_ms_total",
	"keyspace_hits":                             "keyspace_hits_total",
	"keyspace_misses":                           "keyspace_misses_total",
	"eventloop_cycles":                          "eventloop_cycles_total",
	"eventloop_duration_sum":                    "eventloop_duration_sum_usec_total",
	"eventloop_duration_cmd_sum":                "eventloop_duration_cmd_sum_usec_total",
	"used_cpu_sys":                              "cpu_sys_seconds_total",
	"used_cpu_user":                             "cpu_user_seconds_total",
	"used_cpu_sys_children":                     "cpu_sys_children_seconds_total",
	"used_cpu_user_children":                    "cpu_user_children_seconds_total",
	"used_cpu_sys_main_thread":                  "cpu_sys_main_thread_seconds_total",
	"used_cpu_user_main_thread":                 "cpu_user_main_thread_seconds_total",
	"unexpected_error_replies":                  "unexpected_error_replies",
	"total_error_replies":                       "total_error_replies",
	"dump_payload_sanitizations":                "dump_payload_sanitizations",
	"total_reads_processed":                     "total_reads_processed",
	"total_writes_processed":                    "total_writes_processed",
	"io_threaded_reads_processed":               "io_threaded_reads_processed",
	"io_threaded_writes_processed":              "io_threaded_writes_processed",
	"client_query_buffer_limit_disconnections":  "client_query_buffer_limit_disconnections_total",
	"client_output_buffer_limit_disconnections": "client_output_buffer_limit_disconnections_total",
	"reply_buffer_shrinks":                      "reply_buffer_shrinks_total",
	"reply_buffer_expands":                      "reply_buffer_expands_total",
	"acl_access_denied_auth":                    "acl_access_denied_auth_total",
	"acl_access_denied_cmd":                     "acl_access_denied_cmd_total",
	"acl_access_denied_key":                     "acl_access_denied_key_total",
	"acl_access_denied_channel":                 "acl_access_denied_channel_total",
}

// configFromInfo are redis_exporter's config_* gauges (from CONFIG GET
// there) that INFO also shows.
var configFromInfo = map[string]string{
	"maxclients":        "config_maxclients",
	"maxmemory":         "config_maxmemory",
	"repl_backlog_size": "config_repl_backlog_size",
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
	cmdStats := map[string][2]float64{} // cmd -> calls, usec
	latency := map[string]string{}      // cmd -> p50=..,p99=..
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
		case "Replication":
			if exportReplication(e, key, value, masterHost, masterPort) {
				continue
			}
		case "Commandstats":
			if cmd, calls, usec, ok := exportCommandStat(e, key, value); ok {
				cmdStats[cmd] = [2]float64{calls, usec}
			}
			continue
		case "Latencystats":
			if cmd, ok := strings.CutPrefix(key, "latency_percentiles_usec_"); ok {
				latency[cmd] = value
			}
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
		// redis_exporter reads these from CONFIG GET; INFO has the same values.
		if name, ok := configFromInfo[key]; ok {
			e.field(name, key, prometheus.GaugeValue, value)
		}
		if key == "latest_fork_usec" { // redis_exporter's one unit change
			if v, ok := parseValue(value); ok {
				e.gauge("latest_fork_seconds", "latest_fork_usec metric, in seconds", v/1e6)
			}
		} else if name, ok := gauges[key]; ok {
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
	exportLatency(e, latency, cmdStats)
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

// exportCommandStat handles
// cmdstat_<cmd>:calls=..,usec=..,usec_per_call=..,rejected_calls=..,failed_calls=..
// and returns the command's calls and usec for its latency summary.
func exportCommandStat(e emitter, key, value string) (cmd string, calls, usec float64, ok bool) {
	cmd, ok = strings.CutPrefix(key, "cmdstat_")
	if !ok {
		return "", 0, 0, false
	}
	calls, ok1 := kvFloat(value, "calls")
	usec, ok2 := kvFloat(value, "usec")
	if !ok1 || !ok2 {
		return "", 0, 0, false
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
	return cmd, calls, usec, true
}

// exportLatency turns latency_percentiles_usec_<cmd>:p50=..,p99=..,p99.9=..
// into redis_exporter's summary redis_latency_percentiles_usec{cmd}: the
// quantile label is the percentile as INFO names it (50, 99, 99.9), count
// and sum are the command's calls and usec from Commandstats.
func exportLatency(e emitter, latency map[string]string, cmdStats map[string][2]float64) {
	desc := prometheus.NewDesc(Namespace+"_latency_percentiles_usec", "A summary of latency percentile distribution per command", []string{"cmd"}, nil)
	for cmd, list := range latency {
		st, ok := cmdStats[cmd]
		if !ok {
			continue
		}
		quantiles := map[float64]float64{}
		for _, part := range strings.Split(list, ",") {
			k, v, ok := strings.Cut(part, "=")
			if !ok || len(k) < 2 || k[0] != 'p' {
				continue
			}
			p, err1 := strconv.ParseFloat(k[1:], 64)
			val, err2 := strconv.ParseFloat(v, 64)
			if err1 == nil && err2 == nil {
				quantiles[p] = val
			}
		}
		e.ch <- prometheus.MustNewConstSummary(desc, uint64(st[0]), st[1], quantiles, cmd)
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
