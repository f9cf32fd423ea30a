package config

// ---------------------------------------------------------------- directive table

// Kind is how a directive's value is parsed and printed.
type Kind uint8

const (
	KindBool    Kind = iota // yes|no
	KindInt                 // integer, within [Min, Max]
	KindMemory              // integer with k/kb/m/mb/g/gb units, printed in bytes
	KindString              // any single argument
	KindEnum                // one of Enum
	KindSpecial             // own syntax (save, bind, replicaof, ...), see special.go
)

// Directive describes one redis.conf directive.
type Directive struct {
	Name    string
	Aliases []string
	Kind    Kind
	Default string
	Min     int64
	Max     int64
	Enum    []string
	// Immutable directives can only be set at startup; CONFIG SET
	// refuses them.
	Immutable bool
	// Implemented directives change replnode's behaviour. The others are
	// accepted so a redis.conf loads unchanged, reported by CONFIG GET, and
	// logged once as ignored when set to something other than the default.
	Implemented bool
	// Extension directives are replnode's own, unknown to redis-server
	// (metrics-port, metrics-bind). They load from files and the command
	// line like any other, but CONFIG GET shows one only when asked for by
	// its exact name: a pattern such as * lists Redis's directives alone,
	// so tools comparing a node with redis-server see no difference.
	Extension bool
}

const (
	maxInt  = 1<<63 - 1
	maxUint = 1<<63 - 1 // Redis's unsigned configs are capped at LLONG_MAX here
	intMax  = 1<<31 - 1
	intMin  = -1 << 31
)

func boolD(name, def string, impl bool, aliases ...string) *Directive {
	return &Directive{Name: name, Kind: KindBool, Default: def, Implemented: impl, Aliases: aliases}
}

func intD(name string, def string, min, max int64, impl bool, aliases ...string) *Directive {
	return &Directive{Name: name, Kind: KindInt, Default: def, Min: min, Max: max, Implemented: impl, Aliases: aliases}
}

func memD(name string, def string, min, max int64, impl bool, aliases ...string) *Directive {
	return &Directive{Name: name, Kind: KindMemory, Default: def, Min: min, Max: max, Implemented: impl, Aliases: aliases}
}

func strD(name, def string, impl bool, aliases ...string) *Directive {
	return &Directive{Name: name, Kind: KindString, Default: def, Implemented: impl, Aliases: aliases}
}

func enumD(name, def string, impl bool, values ...string) *Directive {
	return &Directive{Name: name, Kind: KindEnum, Default: def, Enum: values, Implemented: impl}
}

func specialD(name, def string, impl bool, aliases ...string) *Directive {
	return &Directive{Name: name, Kind: KindSpecial, Default: def, Implemented: impl, Aliases: aliases}
}

func immutable(d *Directive) *Directive { d.Immutable = true; return d }

func extension(d *Directive) *Directive { d.Extension = true; return d }

// Directives is every directive Redis 7.0 knows, with its 7.0 default, then
// replnode's extensions.
var Directives = []*Directive{
	// ------ network
	specialD("bind", "* -::*", true),
	strD("bind-source-addr", "", false),
	boolD("protected-mode", "yes", true),
	intD("port", "6379", 0, 65535, true),
	immutable(intD("tcp-backlog", "511", 0, intMax, true)),
	immutable(strD("unixsocket", "", true)),
	immutable(specialD("unixsocketperm", "0", true)),
	intD("timeout", "0", 0, intMax, true),
	intD("tcp-keepalive", "300", 0, intMax, true),
	immutable(intD("socket-mark-id", "0", 0, intMax, false)),
	// ------ tls (package tlsconf; Go has no DHE suites, no cluster, and
	// picks TLS 1.3 suites and their order itself)
	intD("tls-port", "0", 0, 65535, true),
	strD("tls-cert-file", "", true),
	strD("tls-key-file", "", true),
	strD("tls-key-file-pass", "", true),
	strD("tls-client-cert-file", "", true),
	strD("tls-client-key-file", "", true),
	strD("tls-client-key-file-pass", "", true),
	strD("tls-dh-params-file", "", false),
	strD("tls-ca-cert-file", "", true),
	strD("tls-ca-cert-dir", "", true),
	enumD("tls-auth-clients", "yes", true, "no", "yes", "optional"),
	boolD("tls-replication", "no", true),
	boolD("tls-cluster", "no", false),
	strD("tls-protocols", "", true),
	strD("tls-ciphers", "", true),
	strD("tls-ciphersuites", "", false),
	boolD("tls-prefer-server-ciphers", "no", false),
	boolD("tls-session-caching", "yes", true),
	intD("tls-session-cache-size", "20480", 0, intMax, false),
	intD("tls-session-cache-timeout", "300", 0, intMax, false),
	// ------ general
	immutable(boolD("daemonize", "no", true)),
	immutable(enumD("supervised", "no", false, "upstart", "systemd", "auto", "no")),
	immutable(strD("pidfile", "", true)),
	enumD("loglevel", "notice", true, "debug", "verbose", "notice", "warning"),
	immutable(strD("logfile", "", true)),
	immutable(boolD("syslog-enabled", "no", false)),
	immutable(strD("syslog-ident", "redis", false)),
	immutable(enumD("syslog-facility", "local0", false, "user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7")),
	boolD("crash-log-enabled", "yes", false),
	boolD("crash-memcheck-enabled", "yes", false),
	immutable(intD("databases", "16", 1, intMax, true)),
	immutable(boolD("always-show-logo", "no", true)),
	immutable(boolD("set-proc-title", "yes", false)),
	strD("proc-title-template", "{title} {listen-addr} {server-mode}", false),
	// ------ snapshotting
	specialD("save", "3600 1 300 100 60 10000", true),
	boolD("stop-writes-on-bgsave-error", "yes", true),
	boolD("rdbcompression", "yes", true),
	immutable(boolD("rdbchecksum", "yes", true)),
	enumD("sanitize-dump-payload", "no", false, "no", "yes", "clients"),
	strD("dbfilename", "dump.rdb", true),
	boolD("rdb-del-sync-files", "no", false),
	specialD("dir", "", true),
	// ------ replication
	immutable(specialD("replicaof", "", true, "slaveof")),
	strD("masterauth", "", true),
	strD("masteruser", "", true),
	boolD("replica-serve-stale-data", "yes", true, "slave-serve-stale-data"),
	boolD("replica-read-only", "yes", true, "slave-read-only"),
	boolD("repl-diskless-sync", "yes", true),
	intD("repl-diskless-sync-delay", "5", 0, intMax, true),
	intD("repl-diskless-sync-max-replicas", "0", 0, intMax, true),
	enumD("repl-diskless-load", "disabled", true, "disabled", "on-empty-db", "swapdb"),
	intD("repl-ping-replica-period", "10", 1, intMax, true, "repl-ping-slave-period"),
	intD("repl-timeout", "60", 1, intMax, true),
	boolD("repl-disable-tcp-nodelay", "no", true),
	memD("repl-backlog-size", "1048576", 1, maxInt, true),
	intD("repl-backlog-ttl", "3600", 0, maxInt, true),
	intD("replica-priority", "100", 0, intMax, true, "slave-priority"),
	boolD("replica-announced", "yes", true),
	intD("min-replicas-to-write", "0", 0, intMax, true, "min-slaves-to-write"),
	intD("min-replicas-max-lag", "10", 0, intMax, true, "min-slaves-max-lag"),
	strD("replica-announce-ip", "", true, "slave-announce-ip"),
	intD("replica-announce-port", "0", 0, 65535, true, "slave-announce-port"),
	boolD("replica-ignore-disk-write-errors", "no", false),
	boolD("replica-lazy-flush", "no", true, "slave-lazy-flush"),
	enumD("propagation-error-behavior", "ignore", false, "ignore", "panic", "panic-on-replicas"),
	// ------ keys tracking
	intD("tracking-table-max-keys", "1000000", 0, maxInt, false),
	// ------ security
	intD("acllog-max-len", "128", 0, maxInt, true),
	immutable(strD("aclfile", "", true)),
	strD("requirepass", "", true),
	enumD("acl-pubsub-default", "resetchannels", true, "allchannels", "resetchannels"),
	// ------ clients
	intD("maxclients", "10000", 1, intMax, true),
	// ------ memory management
	memD("maxmemory", "0", 0, maxInt, true),
	enumD("maxmemory-policy", "noeviction", true, "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"),
	intD("maxmemory-samples", "5", 1, intMax, false),
	intD("maxmemory-eviction-tenacity", "10", 0, 100, false),
	boolD("replica-ignore-maxmemory", "yes", true, "slave-ignore-maxmemory"),
	intD("active-expire-effort", "1", 1, 10, true),
	specialD("maxmemory-clients", "0", false),
	// ------ lazy freeing
	boolD("lazyfree-lazy-eviction", "no", true),
	boolD("lazyfree-lazy-expire", "no", true),
	boolD("lazyfree-lazy-server-del", "no", true),
	boolD("lazyfree-lazy-user-del", "no", true),
	boolD("lazyfree-lazy-user-flush", "no", true),
	// ------ threaded I/O
	immutable(intD("io-threads", "1", 1, 128, false)),
	immutable(boolD("io-threads-do-reads", "no", false)),
	// ------ kernel
	enumD("oom-score-adj", "no", false, "no", "yes", "relative", "absolute"),
	specialD("oom-score-adj-values", "0 200 800", false),
	immutable(boolD("disable-thp", "yes", false)),
	// ------ append only
	boolD("appendonly", "no", true),
	immutable(strD("appendfilename", "appendonly.aof", true)),
	immutable(strD("appenddirname", "appendonlydir", true)),
	enumD("appendfsync", "everysec", true, "everysec", "always", "no"),
	boolD("no-appendfsync-on-rewrite", "no", true),
	intD("auto-aof-rewrite-percentage", "100", 0, intMax, true),
	memD("auto-aof-rewrite-min-size", "67108864", 0, maxInt, true),
	boolD("aof-load-truncated", "yes", true),
	boolD("aof-use-rdb-preamble", "yes", true),
	boolD("aof-timestamp-enabled", "no", true),
	boolD("aof-disable-auto-gc", "no", true),
	boolD("aof-rewrite-incremental-fsync", "yes", true),
	boolD("rdb-save-incremental-fsync", "yes", false),
	// ------ shutdown
	specialD("shutdown-on-sigint", "default", true),
	specialD("shutdown-on-sigterm", "default", true),
	intD("shutdown-timeout", "10", 0, intMax, true),
	// ------ long blocking commands
	intD("busy-reply-threshold", "5000", 0, maxInt, false, "lua-time-limit"),
	// ------ cluster
	immutable(boolD("cluster-enabled", "no", false)),
	immutable(strD("cluster-config-file", "nodes.conf", false)),
	intD("cluster-node-timeout", "15000", 0, maxInt, false),
	immutable(intD("cluster-port", "0", 0, 65535, false)),
	intD("cluster-replica-validity-factor", "10", 0, intMax, false, "cluster-slave-validity-factor"),
	intD("cluster-migration-barrier", "1", 0, intMax, false),
	boolD("cluster-allow-replica-migration", "yes", false),
	boolD("cluster-require-full-coverage", "yes", false),
	boolD("cluster-replica-no-failover", "no", false, "cluster-slave-no-failover"),
	boolD("cluster-allow-reads-when-down", "no", false),
	boolD("cluster-allow-pubsubshard-when-down", "yes", false),
	memD("cluster-link-sendbuf-limit", "0", 0, maxInt, false),
	specialD("cluster-announce-hostname", "", false),
	enumD("cluster-preferred-endpoint-type", "ip", false, "ip", "hostname", "unknown-endpoint"),
	strD("cluster-announce-ip", "", false),
	intD("cluster-announce-port", "0", 0, 65535, false),
	intD("cluster-announce-tls-port", "0", 0, 65535, false),
	intD("cluster-announce-bus-port", "0", 0, 65535, false),
	// ------ slow log, latency
	intD("slowlog-log-slower-than", "10000", -1, maxInt, true),
	intD("slowlog-max-len", "128", 0, maxInt, true),
	intD("latency-monitor-threshold", "0", 0, maxInt, false),
	boolD("latency-tracking", "yes", false),
	specialD("latency-tracking-info-percentiles", "50 99 99.9", false),
	// ------ event notification
	specialD("notify-keyspace-events", "", true),
	// ------ advanced
	intD("hash-max-listpack-entries", "512", 0, maxInt, true, "hash-max-ziplist-entries"),
	memD("hash-max-listpack-value", "64", 0, maxInt, true, "hash-max-ziplist-value"),
	intD("list-max-listpack-size", "-2", intMin, intMax, true, "list-max-ziplist-size"),
	intD("list-compress-depth", "0", 0, intMax, false),
	intD("set-max-intset-entries", "512", 0, maxInt, true),
	intD("zset-max-listpack-entries", "128", 0, maxInt, true, "zset-max-ziplist-entries"),
	memD("zset-max-listpack-value", "64", 0, maxInt, true, "zset-max-ziplist-value"),
	memD("hll-sparse-max-bytes", "3000", 0, maxInt, false),
	memD("stream-node-max-bytes", "4096", 0, maxInt, false),
	intD("stream-node-max-entries", "100", 0, maxInt, false),
	boolD("activerehashing", "yes", false),
	specialD("client-output-buffer-limit", "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", true),
	memD("client-query-buffer-limit", "1073741824", 1024*1024, maxInt, true),
	memD("proto-max-bulk-len", "536870912", 1024*1024, maxInt, true),
	intD("hz", "10", 0, intMax, true),
	boolD("dynamic-hz", "yes", false),
	intD("lfu-log-factor", "10", 0, intMax, false),
	intD("lfu-decay-time", "1", 0, intMax, false),
	boolD("activedefrag", "no", false),
	memD("active-defrag-ignore-bytes", "104857600", 1, maxInt, false),
	intD("active-defrag-threshold-lower", "10", 0, 1000, false),
	intD("active-defrag-threshold-upper", "100", 0, 1000, false),
	intD("active-defrag-cycle-min", "1", 1, 99, false),
	intD("active-defrag-cycle-max", "25", 1, 99, false),
	intD("active-defrag-max-scan-fields", "1000", 1, maxInt, false),
	boolD("jemalloc-bg-thread", "yes", false),
	immutable(strD("server_cpulist", "", false)),
	immutable(strD("bio_cpulist", "", false)),
	immutable(strD("aof_rewrite_cpulist", "", false)),
	immutable(strD("bgsave_cpulist", "", false)),
	strD("ignore-warnings", "", false),
	immutable(enumD("enable-protected-configs", "no", false, "no", "yes", "local")),
	immutable(enumD("enable-debug-command", "no", true, "no", "yes", "local")),
	immutable(enumD("enable-module-command", "no", false, "no", "yes", "local")),
	// ------ replnode extensions
	// metrics-port serves Prometheus /metrics over HTTP on that port (0,
	// the default, serves nothing); metrics-bind is the one address it
	// listens on ("" for every interface). See package metrics.
	immutable(extension(intD("metrics-port", "0", 0, 65535, true))),
	immutable(extension(strD("metrics-bind", "", true))),
	// replica-keep-newer-data: as a replica, refuse a full resync from a
	// master whose offset is below ours (it cannot contain our data),
	// unless the operator granted the loss (package fencing, "Keeping
	// newer data"). Off by default: redis-server's behaviour.
	extension(boolD("replica-keep-newer-data", "no", true)),
}

// fileOnly are directives valid in a file but not settable or gettable
// with CONFIG: they are accepted, logged as ignored, and kept by REWRITE.
var fileOnly = map[string]bool{
	"rename-command": true,
	"user":           true,
	"loadmodule":     true,
}

var byName = func() map[string]*Directive {
	m := make(map[string]*Directive)
	for _, d := range Directives {
		m[d.Name] = d
		for _, a := range d.Aliases {
			m[a] = d
		}
	}
	return m
}()

// Lookup returns the directive named name (or one of its aliases),
// case-insensitively.
func Lookup(name string) (*Directive, bool) {
	d, ok := byName[toLower(name)]
	return d, ok
}

func toLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
