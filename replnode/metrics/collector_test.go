package metrics

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// masterInfo is INFO of a master with one replica, two databases in use
// and a few commands run (abridged to the fields the test reads).
const masterInfo = "# Server\r\n" +
	"redis_version:7.0.15\r\nredis_build_id:replnode\r\nredis_mode:standalone\r\nos:Linux 6.1 x86_64\r\n" +
	"process_id:42\r\nrun_id:abc\r\ntcp_port:6379\r\nuptime_in_seconds:100\r\nhz:10\r\nconfigured_hz:10\r\n" +
	"\r\n# Clients\r\nconnected_clients:3\r\nmaxclients:10000\r\nblocked_clients:1\r\n" +
	"\r\n# Memory\r\nused_memory:1048576\r\nmaxmemory:0\r\nmaxmemory_policy:noeviction\r\nmem_fragmentation_ratio:1.25\r\n" +
	"\r\n# Persistence\r\nloading:0\r\nrdb_last_save_time:1700000000\r\nrdb_last_bgsave_status:ok\r\n" +
	"\r\n# Stats\r\ntotal_commands_processed:17\r\nexpired_keys:2\r\nevicted_keys:3\r\nkeyspace_hits:5\r\nkeyspace_misses:7\r\n" +
	"latest_fork_usec:1500\r\n" +
	"command_panics:1\r\n" +
	"\r\n# Replication\r\nrole:master\r\nconnected_slaves:1\r\n" +
	"slave0:ip=10.0.0.2,port=6380,state=online,offset=1200,lag=1\r\n" +
	"master_replid:0123456789abcdef0123456789abcdef01234567\r\nmaster_repl_offset:1234\r\n" +
	"repl_backlog_active:1\r\nrepl_backlog_size:1048576\r\n" +
	"\r\n# CPU\r\nused_cpu_sys:1.500000\r\n" +
	"\r\n# Commandstats\r\ncmdstat_set:calls=10,usec=2500000,usec_per_call=250000.00,rejected_calls=1,failed_calls=2\r\n" +
	"cmdstat_config|get:calls=4,usec=40,usec_per_call=10.00,rejected_calls=0,failed_calls=0\r\n" +
	"\r\n# Errorstats\r\nerrorstat_WRONGTYPE:count=3\r\n" +
	"\r\n# Latencystats\r\nlatency_percentiles_usec_set:p50=1.003,p99=250000.000,p99.9=300000.000\r\n" +
	"\r\n# Keyspace\r\ndb0:keys=5,expires=2\r\ndb3:keys=1,expires=0,avg_ttl=1500\r\n"

const replicaInfo = "# Replication\r\nrole:slave\r\nmaster_host:10.0.0.1\r\nmaster_port:6379\r\n" +
	"master_link_status:down\r\nmaster_last_io_seconds_ago:-1\r\nmaster_sync_in_progress:0\r\n" +
	"slave_read_only:1\r\nslave_repl_offset:999\r\nmaster_repl_offset:999\r\n"

func collect(t *testing.T, snap Snapshot, err error) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(func() (Snapshot, error) { return snap, err }))
	return reg
}

// TestExportMaster checks each kind of mapping on a master's INFO: plain
// gauges and counters under redis_exporter's names, unit conversion
// (usec and ms to seconds), labelled per-command, per-error, per-database
// and per-replica metrics, per-command latency summaries, zeros for empty
// databases and instance_info's labels.
func TestExportMaster(t *testing.T) {
	now := time.Unix(1_700_000_100, 0)
	reg := collect(t, Snapshot{Info: masterInfo, Databases: 4, Now: now}, nil)
	want := `
# HELP redis_up Information about the Redis instance
# TYPE redis_up gauge
redis_up 1
# HELP redis_connected_clients connected_clients metric
# TYPE redis_connected_clients gauge
redis_connected_clients 3
# HELP redis_config_maxclients maxclients metric
# TYPE redis_config_maxclients gauge
redis_config_maxclients 10000
# HELP redis_memory_used_bytes used_memory metric
# TYPE redis_memory_used_bytes gauge
redis_memory_used_bytes 1.048576e+06
# HELP redis_memory_max_bytes maxmemory metric
# TYPE redis_memory_max_bytes gauge
redis_memory_max_bytes 0
# HELP redis_commands_processed_total total_commands_processed metric
# TYPE redis_commands_processed_total counter
redis_commands_processed_total 17
# HELP redis_evicted_keys_total evicted_keys metric
# TYPE redis_evicted_keys_total counter
redis_evicted_keys_total 3
# HELP redis_expired_keys_total expired_keys metric
# TYPE redis_expired_keys_total counter
redis_expired_keys_total 2
# HELP redis_keyspace_hits_total keyspace_hits metric
# TYPE redis_keyspace_hits_total counter
redis_keyspace_hits_total 5
# HELP redis_keyspace_misses_total keyspace_misses metric
# TYPE redis_keyspace_misses_total counter
redis_keyspace_misses_total 7
# HELP redis_uptime_in_seconds uptime_in_seconds metric
# TYPE redis_uptime_in_seconds gauge
redis_uptime_in_seconds 100
# HELP redis_start_time_seconds Start time of the Redis instance since unix epoch in seconds.
# TYPE redis_start_time_seconds gauge
redis_start_time_seconds 1.7e+09
# HELP redis_rdb_last_save_timestamp_seconds rdb_last_save_time metric
# TYPE redis_rdb_last_save_timestamp_seconds gauge
redis_rdb_last_save_timestamp_seconds 1.7e+09
# HELP redis_rdb_last_bgsave_status rdb_last_bgsave_status metric
# TYPE redis_rdb_last_bgsave_status gauge
redis_rdb_last_bgsave_status 1
# HELP redis_master_repl_offset master_repl_offset metric
# TYPE redis_master_repl_offset gauge
redis_master_repl_offset 1234
# HELP redis_connected_slaves connected_slaves metric
# TYPE redis_connected_slaves gauge
redis_connected_slaves 1
# HELP redis_replication_backlog_bytes repl_backlog_size metric
# TYPE redis_replication_backlog_bytes gauge
redis_replication_backlog_bytes 1.048576e+06
# HELP redis_connected_slave_lag_seconds Lag of connected slave
# TYPE redis_connected_slave_lag_seconds gauge
redis_connected_slave_lag_seconds{slave_ip="10.0.0.2",slave_port="6380",slave_state="online"} 1
# HELP redis_connected_slave_offset_bytes Offset of connected slave
# TYPE redis_connected_slave_offset_bytes gauge
redis_connected_slave_offset_bytes{slave_ip="10.0.0.2",slave_port="6380",slave_state="online"} 1200
# HELP redis_cpu_sys_seconds_total used_cpu_sys metric
# TYPE redis_cpu_sys_seconds_total counter
redis_cpu_sys_seconds_total 1.5
# HELP redis_commands_total Total number of calls per command
# TYPE redis_commands_total counter
redis_commands_total{cmd="config|get"} 4
redis_commands_total{cmd="set"} 10
# HELP redis_commands_duration_seconds_total Total amount of time in seconds spent per command
# TYPE redis_commands_duration_seconds_total counter
redis_commands_duration_seconds_total{cmd="config|get"} 4e-05
redis_commands_duration_seconds_total{cmd="set"} 2.5
# HELP redis_commands_failed_calls_total Total number of errors within command execution per command
# TYPE redis_commands_failed_calls_total counter
redis_commands_failed_calls_total{cmd="config|get"} 0
redis_commands_failed_calls_total{cmd="set"} 2
# HELP redis_errors_total Total number of errors per error type
# TYPE redis_errors_total counter
redis_errors_total{err="WRONGTYPE"} 3
# HELP redis_db_keys Total number of keys by DB
# TYPE redis_db_keys gauge
redis_db_keys{db="db0"} 5
redis_db_keys{db="db1"} 0
redis_db_keys{db="db2"} 0
redis_db_keys{db="db3"} 1
# HELP redis_db_keys_expiring Total number of expiring keys by DB
# TYPE redis_db_keys_expiring gauge
redis_db_keys_expiring{db="db0"} 2
redis_db_keys_expiring{db="db1"} 0
redis_db_keys_expiring{db="db2"} 0
redis_db_keys_expiring{db="db3"} 0
# HELP redis_db_avg_ttl_seconds Avg TTL in seconds
# TYPE redis_db_avg_ttl_seconds gauge
redis_db_avg_ttl_seconds{db="db3"} 1.5
# HELP redis_instance_info Information about the Redis instance
# TYPE redis_instance_info gauge
redis_instance_info{master_replid="0123456789abcdef0123456789abcdef01234567",maxmemory_policy="noeviction",os="Linux 6.1 x86_64",process_id="42",redis_build_id="replnode",redis_mode="standalone",redis_version="7.0.15",role="master",run_id="abc",tcp_port="6379"} 1
# HELP redis_latency_percentiles_usec A summary of latency percentile distribution per command
# TYPE redis_latency_percentiles_usec summary
redis_latency_percentiles_usec{cmd="set",quantile="50"} 1.003
redis_latency_percentiles_usec{cmd="set",quantile="99"} 250000
redis_latency_percentiles_usec{cmd="set",quantile="99.9"} 300000
redis_latency_percentiles_usec_sum{cmd="set"} 2.5e+06
redis_latency_percentiles_usec_count{cmd="set"} 10
# HELP redis_latest_fork_seconds latest_fork_usec metric, in seconds
# TYPE redis_latest_fork_seconds gauge
redis_latest_fork_seconds 0.0015
# HELP replnode_command_panics_total INFO command_panics (replnode only).
# TYPE replnode_command_panics_total counter
replnode_command_panics_total 1
`
	names := []string{"redis_up", "redis_connected_clients", "redis_config_maxclients", "redis_memory_used_bytes",
		"redis_memory_max_bytes", "redis_commands_processed_total", "redis_evicted_keys_total", "redis_expired_keys_total",
		"redis_keyspace_hits_total", "redis_keyspace_misses_total", "redis_uptime_in_seconds", "redis_start_time_seconds",
		"redis_rdb_last_save_timestamp_seconds", "redis_rdb_last_bgsave_status", "redis_master_repl_offset",
		"redis_connected_slaves", "redis_replication_backlog_bytes", "redis_connected_slave_lag_seconds",
		"redis_connected_slave_offset_bytes", "redis_cpu_sys_seconds_total", "redis_commands_total",
		"redis_commands_duration_seconds_total", "redis_commands_failed_calls_total", "redis_errors_total",
		"redis_db_keys", "redis_db_keys_expiring", "redis_db_avg_ttl_seconds", "redis_instance_info",
		"redis_latency_percentiles_usec", "redis_latest_fork_seconds", "replnode_command_panics_total"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	// A master has no link to a master.
	if n, err := testutil.GatherAndCount(reg, "redis_master_link_up", "redis_slave_info"); err != nil || n != 0 {
		t.Errorf("master exports %d master link metrics (err %v)", n, err)
	}
}

// TestExportReplica: the link to the master is labelled with its address,
// down is 0, and slave_info carries read_only.
func TestExportReplica(t *testing.T) {
	reg := collect(t, Snapshot{Info: replicaInfo, Now: time.Unix(0, 0)}, nil)
	want := `
# HELP redis_master_link_up Master link status on Redis slave
# TYPE redis_master_link_up gauge
redis_master_link_up{master_host="10.0.0.1",master_port="6379"} 0
# HELP redis_master_last_io_seconds_ago INFO master_last_io_seconds_ago
# TYPE redis_master_last_io_seconds_ago gauge
redis_master_last_io_seconds_ago{master_host="10.0.0.1",master_port="6379"} -1
# HELP redis_slave_repl_offset INFO slave_repl_offset
# TYPE redis_slave_repl_offset gauge
redis_slave_repl_offset{master_host="10.0.0.1",master_port="6379"} 999
# HELP redis_slave_info Information about the Redis slave
# TYPE redis_slave_info gauge
redis_slave_info{master_host="10.0.0.1",master_port="6379",read_only="1"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"redis_master_link_up", "redis_master_last_io_seconds_ago", "redis_slave_repl_offset", "redis_slave_info"); err != nil {
		t.Error(err)
	}
}

// TestSnapshotErrorIsDown: a failed snapshot exports redis_up 0 alone.
func TestSnapshotErrorIsDown(t *testing.T) {
	reg := collect(t, Snapshot{}, errors.New("shutting down"))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 1 || mfs[0].GetName() != "redis_up" || mfs[0].GetMetric()[0].GetGauge().GetValue() != 0 {
		t.Errorf("got %v, want redis_up 0 only", mfs)
	}
}
