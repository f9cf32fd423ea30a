// Package metrics turns a node's INFO into Prometheus metrics with the
// names, labels and units of oliver006/redis_exporter (redis_up,
// redis_connected_clients, redis_commands_total{cmd}, redis_db_keys{db},
// redis_connected_slave_lag_seconds{slave_ip,slave_port,slave_state},
// redis_instance_info{role,redis_version,...}, ...), so dashboards and
// alerts made for Redis work unchanged on replnode's own /metrics.
//
// The input is INFO text, the one place the node's statistics are
// defined: a metric can never disagree with what INFO says. The package
// parses it and builds constant metrics for a scrape; it holds no state
// between scrapes (counters come straight from INFO's own totals).
//
// It must not do I/O, take the server's executor lock or start goroutines:
// package server renders the INFO snapshot under its lock, serves the HTTP
// endpoint (the metrics-port and metrics-bind directives, a replnode
// extension) and hands this package the text.
package metrics
