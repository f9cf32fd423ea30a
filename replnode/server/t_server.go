package server

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/replnode/replnode/replnode/config"
	"github.com/replnode/replnode/replnode/resp"
	"github.com/replnode/replnode/replnode/store"
)

// ---------------------------------------------------------------- server commands
//
// INFO, CLIENT, COMMAND, CONFIG, TIME, SHUTDOWN, MONITOR, SLOWLOG and the
// core's DEBUG operations, as Redis 7.0's server.c, networking.c and
// config.c.

func init() {
	admin := FlagAdmin | FlagNoScript | FlagLoading | FlagStale
	register(
		&Command{Name: "info", Arity: -1, Flags: FlagLoading | FlagStale, Group: "server", Handler: infoCommand},
		&Command{Name: "time", Arity: 1, Flags: FlagLoading | FlagStale | FlagFast, Group: "server", Handler: timeCommand},
		&Command{Name: "shutdown", Arity: -1, Flags: admin | FlagNoMulti | FlagAllowBusy, Group: "server", Handler: shutdownCommand},
		&Command{Name: "monitor", Arity: 1, Flags: admin, Group: "server", Handler: monitorCommand},
		&Command{Name: "slowlog", Arity: -2, Group: "server", Subcommands: []*Command{
			{Name: "get", Arity: -2, Flags: FlagAdmin | FlagLoading | FlagStale, Handler: slowlogGetCommand},
			{Name: "len", Arity: 2, Flags: FlagAdmin | FlagLoading | FlagStale, Handler: func(ctx *Ctx) { ctx.W.Int(int64(len(ctx.S.slowlog.entries))) }},
			{Name: "reset", Arity: 2, Flags: FlagAdmin | FlagLoading | FlagStale, Handler: func(ctx *Ctx) { ctx.S.slowlog.entries = nil; ctx.W.OK() }},
			{Name: "help", Arity: 2, Flags: FlagLoading | FlagStale, Handler: slowlogHelpCommand},
		}},
		&Command{Name: "client", Arity: -2, Group: "connection", Subcommands: []*Command{
			{Name: "list", Arity: -2, Flags: admin, Handler: clientListCommand},
			{Name: "info", Arity: 2, Flags: FlagNoScript | FlagLoading | FlagStale, Handler: clientInfoCommand},
			{Name: "kill", Arity: -3, Flags: admin, Handler: clientKillCommand},
			{Name: "setname", Arity: 3, Flags: FlagNoScript | FlagLoading | FlagStale, Handler: clientSetnameCommand},
			{Name: "getname", Arity: 2, Flags: FlagNoScript | FlagLoading | FlagStale, Handler: clientGetnameCommand},
			{Name: "id", Arity: 2, Flags: FlagNoScript | FlagLoading | FlagStale, Handler: func(ctx *Ctx) { ctx.W.Int(int64(ctx.C.ID)) }},
			{Name: "pause", Arity: -3, Flags: admin, Handler: clientPauseCommand},
			{Name: "unblock", Arity: -3, Flags: admin, Handler: clientUnblockCommand},
			{Name: "unpause", Arity: 2, Flags: admin, Handler: clientUnpauseCommand},
			{Name: "no-evict", Arity: 3, Flags: admin, Handler: clientNoEvictCommand},
			{Name: "reply", Arity: 3, Flags: FlagNoScript | FlagLoading | FlagStale, Handler: clientReplyCommand},
			{Name: "tracking", Arity: -3, Flags: FlagNoScript | FlagLoading | FlagStale, Handler: clientTrackingCommand},
			{Name: "caching", Arity: 3, Flags: FlagNoScript | FlagLoading | FlagStale, Handler: clientCachingCommand},
			{Name: "getredir", Arity: 2, Flags: FlagNoScript | FlagLoading | FlagStale, Handler: clientGetredirCommand},
			{Name: "trackinginfo", Arity: 2, Flags: FlagNoScript | FlagLoading | FlagStale, Handler: clientTrackinginfoCommand},
			{Name: "help", Arity: 2, Flags: FlagLoading | FlagStale, Handler: clientHelpCommand},
		}},
		&Command{Name: "command", Arity: -1, Flags: FlagLoading | FlagStale, Group: "server", Handler: commandCommand, Subcommands: []*Command{
			{Name: "count", Arity: 2, Flags: FlagLoading | FlagStale, Handler: func(ctx *Ctx) { ctx.W.Int(int64(len(sortedCommands()))) }},
			{Name: "info", Arity: -2, Flags: FlagLoading | FlagStale, Handler: commandInfoCommand},
			{Name: "docs", Arity: -2, Flags: FlagLoading | FlagStale, Handler: commandDocsCommand},
			{Name: "getkeys", Arity: -4, Flags: FlagLoading | FlagStale, Handler: commandGetkeysCommand},
			{Name: "list", Arity: -2, Flags: FlagLoading | FlagStale, Handler: commandListCommand},
			{Name: "help", Arity: 2, Flags: FlagLoading | FlagStale, Handler: commandHelpCommand},
		}},
		&Command{Name: "config", Arity: -2, Group: "server", Subcommands: []*Command{
			{Name: "get", Arity: -3, Flags: admin, Handler: configGetCommand},
			{Name: "set", Arity: -4, Flags: admin, Handler: configSetCommand},
			{Name: "resetstat", Arity: 2, Flags: admin, Handler: configResetstatCommand},
			{Name: "rewrite", Arity: 2, Flags: admin, Handler: configRewriteCommand},
			{Name: "help", Arity: 2, Flags: FlagLoading | FlagStale, Handler: configHelpCommand},
		}},
	)
	registerDebug("sleep", debugSleepCommand)
	registerDebug("set-active-expire", debugSetActiveExpireCommand)
	registerDebug("object", debugObjectCommand)
	registerDebug("protocol", debugProtocolCommand)
	registerDebug("jmap", debugJmapCommand)
	registerDebug("change-repl-id", debugChangeReplIDCommand)
	registerDebug("help", debugHelpCommand)
}

// ---------------------------------------------------------------- INFO

// infoSections are the sections in Redis's order, and whether INFO
// without arguments ("default") includes them.
var infoSections = []struct {
	name    string
	deflt   bool
	collect func(s *Server, b *strings.Builder)
}{
	{"server", true, infoServer},
	{"clients", true, infoClients},
	{"memory", true, infoMemory},
	{"persistence", true, func(s *Server, b *strings.Builder) { b.WriteString(s.PersistenceInfo()) }},
	{"stats", true, infoStats},
	{"replication", true, func(s *Server, b *strings.Builder) { b.WriteString(s.ReplicationInfo()) }},
	{"cpu", true, infoCPU},
	{"modules", true, func(s *Server, b *strings.Builder) {}},
	{"commandstats", false, infoCommandstats},
	{"errorstats", true, infoErrorstats},
	{"latencystats", false, infoLatencystats},
	{"cluster", true, func(s *Server, b *strings.Builder) { b.WriteString("cluster_enabled:0\r\n") }},
	{"keyspace", true, infoKeyspace},
}

func infoCommand(ctx *Ctx) {
	ctx.W.Verbatim("txt", ctx.S.Info(ctx.Args[1:]...))
}

// Info renders INFO for the given section names ("default", "all",
// "everything" or section names, case-insensitive). Runs on the executor.
func (s *Server) Info(sections ...[]byte) string {
	want := map[string]bool{}
	everything, all := false, false
	if len(sections) == 0 {
		want["default"] = true
	}
	for _, a := range sections {
		name := strings.ToLower(string(a))
		switch name {
		case "everything":
			everything = true
		case "all":
			all = true
		default:
			want[name] = true
		}
	}
	var b strings.Builder
	for _, sec := range infoSections {
		include := everything || (all && sec.name != "modules") || want[sec.name] || (want["default"] && sec.deflt)
		if include {
			writeInfoSection(s, &b, sec.name, sec.collect)
		}
	}
	return b.String()
}

// writeInfoSection appends one section, its "# Title" header first.
func writeInfoSection(s *Server, b *strings.Builder, name string, collect func(*Server, *strings.Builder)) {
	if b.Len() > 0 {
		b.WriteString("\r\n")
	}
	title := strings.ToUpper(name[:1]) + name[1:]
	if name == "cpu" {
		title = "CPU"
	}
	b.WriteString("# " + title + "\r\n")
	collect(s, b)
}

func infoLine(b *strings.Builder, format string, args ...any) {
	fmt.Fprintf(b, format, args...)
	b.WriteString("\r\n")
}

func infoServer(s *Server, b *strings.Builder) {
	var uts syscall.Utsname
	osName := "Linux"
	if err := syscall.Uname(&uts); err == nil {
		osName = utsString(uts.Sysname[:]) + " " + utsString(uts.Release[:]) + " " + utsString(uts.Machine[:])
	}
	now := time.Now()
	uptime := int64(now.Sub(s.startTime).Seconds())
	exe, _ := os.Executable()
	infoLine(b, "redis_version:%s", Version)
	infoLine(b, "redis_git_sha1:00000000")
	infoLine(b, "redis_git_dirty:0")
	infoLine(b, "redis_build_id:replnode")
	infoLine(b, "redis_mode:standalone")
	infoLine(b, "os:%s", osName)
	infoLine(b, "arch_bits:64")
	infoLine(b, "monotonic_clock:POSIX clock_gettime")
	infoLine(b, "multiplexing_api:epoll")
	infoLine(b, "atomicvar_api:c11-builtin")
	infoLine(b, "gcc_version:0.0.0")
	infoLine(b, "process_id:%d", os.Getpid())
	infoLine(b, "process_supervised:no")
	infoLine(b, "run_id:%s", s.runID)
	infoLine(b, "tcp_port:%d", s.announcedPort())
	infoLine(b, "server_time_usec:%d", now.UnixMicro())
	infoLine(b, "uptime_in_seconds:%d", uptime)
	infoLine(b, "uptime_in_days:%d", uptime/86400)
	infoLine(b, "hz:%d", s.hz)
	infoLine(b, "configured_hz:%d", s.Config.Int("hz"))
	infoLine(b, "lru_clock:%d", (now.Unix())&((1<<24)-1))
	infoLine(b, "executable:%s", exe)
	infoLine(b, "config_file:%s", s.Config.File)
	infoLine(b, "io_threads_active:0")
}

func utsString(a []int8) string {
	var out []byte
	for _, c := range a {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}

func infoClients(s *Server, b *strings.Builder) {
	normal, blocked, maxIn, maxOut := 0, 0, 0, 0
	for _, c := range s.clients {
		if c.flags&(ClientReplica|ClientInternal) == 0 {
			normal++
		}
		if c.blocked || c.paused {
			blocked++
		}
		maxIn = max(maxIn, c.queryBufLen)
		maxOut = max(maxOut, c.PendingBytes())
	}
	infoLine(b, "connected_clients:%d", normal)
	infoLine(b, "cluster_connections:0")
	infoLine(b, "maxclients:%d", s.Config.Int("maxclients"))
	infoLine(b, "client_recent_max_input_buffer:%d", maxIn)
	infoLine(b, "client_recent_max_output_buffer:%d", maxOut)
	infoLine(b, "blocked_clients:%d", blocked)
	infoLine(b, "tracking_clients:%d", s.tracking.clients)
	infoLine(b, "clients_in_timeout_table:%d", blocked)
}

// bytesHuman formats like Redis's bytesToHuman.
func bytesHuman(n int64) string {
	f := float64(n)
	switch {
	case n < 1024:
		return fmt.Sprintf("%dB", n)
	case n < 1024*1024:
		return fmt.Sprintf("%.2fK", f/1024)
	case n < 1024*1024*1024:
		return fmt.Sprintf("%.2fM", f/(1024*1024))
	case n < 1024*1024*1024*1024:
		return fmt.Sprintf("%.2fG", f/(1024*1024*1024))
	}
	return fmt.Sprintf("%.2fT", f/(1024*1024*1024*1024))
}

// infoMemory writes INFO's "# Memory" fields in Redis 7.0's order. Go's heap
// statistics stand in for jemalloc's (allocated = HeapAlloc, active =
// HeapInuse, resident = HeapSys) and the ratios derive from them as Redis's
// do. replnode has no Lua or functions engine, no AOF buffer and no cluster
// links, so those fields are truthfully zero.
func infoMemory(s *Server, b *strings.Builder) {
	s.sampleMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	used := s.UsedMemory()
	rss := processMemory()
	if used > s.peakMemory {
		s.peakMemory = used
	}
	maxmem := s.Config.Int("maxmemory")
	overhead := int64(ms.StackInuse + ms.MSpanInuse + ms.MCacheInuse)
	dataset := max(used-overhead, 0)
	allocated, active, resident := int64(ms.HeapAlloc), int64(ms.HeapInuse), int64(ms.HeapSys)
	ratio := func(a, b int64) float64 { return float64(a) / float64(max(b, 1)) }
	var replicaBuffers, normalClients int64
	for _, c := range s.clients {
		if c.flags&ClientReplica != 0 && c.flags&ClientMonitor == 0 {
			replicaBuffers += int64(c.PendingBytes())
		} else if c.flags&(ClientMaster|ClientInternal) == 0 {
			normalClients += int64(c.PendingBytes() + c.queryBufLen)
		}
	}
	backlog := s.replicationBacklogMemory()
	infoLine(b, "used_memory:%d", used)
	infoLine(b, "used_memory_human:%s", bytesHuman(used))
	infoLine(b, "used_memory_rss:%d", rss)
	infoLine(b, "used_memory_rss_human:%s", bytesHuman(rss))
	infoLine(b, "used_memory_peak:%d", s.peakMemory)
	infoLine(b, "used_memory_peak_human:%s", bytesHuman(s.peakMemory))
	infoLine(b, "used_memory_peak_perc:%.2f%%", float64(used)*100/float64(max(s.peakMemory, 1)))
	infoLine(b, "used_memory_overhead:%d", overhead)
	infoLine(b, "used_memory_startup:0")
	infoLine(b, "used_memory_dataset:%d", dataset)
	infoLine(b, "used_memory_dataset_perc:%.2f%%", float64(dataset)*100/float64(max(used, 1)))
	infoLine(b, "allocator_allocated:%d", allocated)
	infoLine(b, "allocator_active:%d", active)
	infoLine(b, "allocator_resident:%d", resident)
	infoLine(b, "total_system_memory:%d", totalSystemMemory())
	infoLine(b, "total_system_memory_human:%s", bytesHuman(totalSystemMemory()))
	s.scriptingMemoryInfo(b)
	infoLine(b, "maxmemory:%d", maxmem)
	infoLine(b, "maxmemory_human:%s", bytesHuman(maxmem))
	infoLine(b, "maxmemory_policy:%s", s.Config.String("maxmemory-policy"))
	infoLine(b, "allocator_frag_ratio:%.2f", ratio(active, allocated))
	infoLine(b, "allocator_frag_bytes:%d", active-allocated)
	infoLine(b, "allocator_rss_ratio:%.2f", ratio(resident, active))
	infoLine(b, "allocator_rss_bytes:%d", resident-active)
	infoLine(b, "rss_overhead_ratio:%.2f", ratio(rss, resident))
	infoLine(b, "rss_overhead_bytes:%d", rss-resident)
	infoLine(b, "mem_fragmentation_ratio:%.2f", ratio(rss, used))
	infoLine(b, "mem_fragmentation_bytes:%d", rss-used)
	infoLine(b, "mem_not_counted_for_evict:%d", replicaBuffers)
	infoLine(b, "mem_replication_backlog:%d", backlog)
	infoLine(b, "mem_total_replication_buffers:%d", backlog+replicaBuffers)
	infoLine(b, "mem_clients_slaves:%d", replicaBuffers)
	infoLine(b, "mem_clients_normal:%d", normalClients)
	infoLine(b, "mem_cluster_links:0")
	infoLine(b, "mem_aof_buffer:0")
	infoLine(b, "mem_allocator:go-%s", runtime.Version())
	infoLine(b, "active_defrag_running:0")
	infoLine(b, "lazyfree_pending_objects:0")
	infoLine(b, "lazyfreed_objects:0")
}

// totalSystemMemory is /proc/meminfo's MemTotal, read once as Redis reads
// server.system_memory_size once at startup: INFO (and every metrics
// scrape) then does no file I/O under the executor.
var totalSystemMemory = sync.OnceValue(readTotalSystemMemory)

func readTotalSystemMemory() int64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "MemTotal:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				return n * 1024
			}
		}
	}
	return 0
}

func infoStats(s *Server, b *strings.Builder) {
	st := &s.stats
	full, pok, perr := s.ReplicationSyncStats()
	infoLine(b, "total_connections_received:%d", st.ConnectionsReceived)
	infoLine(b, "total_commands_processed:%d", st.CommandsProcessed)
	infoLine(b, "instantaneous_ops_per_sec:%d", s.opsPerSec())
	infoLine(b, "total_net_input_bytes:%d", st.NetInputBytes.Load())
	infoLine(b, "total_net_output_bytes:%d", st.NetOutputBytes.Load())
	infoLine(b, "total_net_repl_input_bytes:0")
	infoLine(b, "total_net_repl_output_bytes:0")
	infoLine(b, "instantaneous_input_kbps:0.00")
	infoLine(b, "instantaneous_output_kbps:0.00")
	infoLine(b, "instantaneous_input_repl_kbps:0.00")
	infoLine(b, "instantaneous_output_repl_kbps:0.00")
	infoLine(b, "rejected_connections:%d", st.RejectedConns)
	infoLine(b, "sync_full:%d", full)
	infoLine(b, "sync_partial_ok:%d", pok)
	infoLine(b, "sync_partial_err:%d", perr)
	infoLine(b, "expired_keys:%d", st.ExpiredKeys)
	infoLine(b, "expired_stale_perc:%.2f", st.ExpiredStalePerc*100)
	infoLine(b, "expired_time_cap_reached_count:0")
	infoLine(b, "expire_cycle_cpu_milliseconds:0")
	infoLine(b, "evicted_keys:%d", st.EvictedKeys)
	infoLine(b, "evicted_clients:0")
	infoLine(b, "total_eviction_exceeded_time:0")
	infoLine(b, "current_eviction_exceeded_time:0")
	infoLine(b, "keyspace_hits:%d", st.KeyspaceHits)
	infoLine(b, "keyspace_misses:%d", st.KeyspaceMisses)
	infoLine(b, "pubsub_channels:%d", len(s.pubsub.channels))
	infoLine(b, "pubsub_patterns:%d", len(s.pubsub.patterns))
	infoLine(b, "pubsubshard_channels:0")
	infoLine(b, "latest_fork_usec:0")
	infoLine(b, "total_forks:0")
	infoLine(b, "migrate_cached_sockets:0")
	infoLine(b, "slave_expires_tracked_keys:0")
	infoLine(b, "active_defrag_hits:0")
	infoLine(b, "active_defrag_misses:0")
	infoLine(b, "active_defrag_key_hits:0")
	infoLine(b, "active_defrag_key_misses:0")
	infoLine(b, "total_active_defrag_time:0")
	infoLine(b, "current_active_defrag_time:0")
	infoLine(b, "tracking_total_keys:%d", len(s.tracking.keys))
	infoLine(b, "tracking_total_items:%d", s.tracking.items)
	infoLine(b, "tracking_total_prefixes:%d", len(s.tracking.prefixes))
	infoLine(b, "unexpected_error_replies:0")
	infoLine(b, "total_error_replies:%d", st.ErrorReplies)
	infoLine(b, "dump_payload_sanitizations:0")
	infoLine(b, "total_reads_processed:%d", st.ReadsProcessed.Load())
	infoLine(b, "total_writes_processed:%d", st.WritesProcessed.Load())
	infoLine(b, "io_threaded_reads_processed:0")
	infoLine(b, "io_threaded_writes_processed:0")
	infoLine(b, "reply_buffer_shrinks:0")
	infoLine(b, "reply_buffer_expands:0")
	// Not in Redis (which dies on a crash): handler panics recovered.
	infoLine(b, "command_panics:%d", st.CommandPanics)
	infoLine(b, "write_command_panics:%d", st.WriteCommandPanics)
	infoLine(b, "internal_panics:%d", st.InternalPanics.Load())
}

// opsPerSec is the command rate over the last cron samples.
func (s *Server) opsPerSec() int64 {
	s.sampleOps()
	return s.opsRate
}

// sampleOps keeps instantaneous_ops_per_sec current (called from cron and
// INFO).
func (s *Server) sampleOps() {
	now := time.Now()
	if s.opsLastAt.IsZero() {
		s.opsLastAt, s.opsLastCount = now, s.stats.CommandsProcessed
		return
	}
	if d := now.Sub(s.opsLastAt); d >= 100*time.Millisecond {
		s.opsRate = int64(float64(s.stats.CommandsProcessed-s.opsLastCount) / d.Seconds())
		s.opsLastAt, s.opsLastCount = now, s.stats.CommandsProcessed
	}
}

func infoCPU(s *Server, b *strings.Builder) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	sys := float64(ru.Stime.Sec) + float64(ru.Stime.Usec)/1e6
	user := float64(ru.Utime.Sec) + float64(ru.Utime.Usec)/1e6
	infoLine(b, "used_cpu_sys:%.6f", sys)
	infoLine(b, "used_cpu_user:%.6f", user)
	infoLine(b, "used_cpu_sys_children:0.000000")
	infoLine(b, "used_cpu_user_children:0.000000")
	infoLine(b, "used_cpu_sys_main_thread:%.6f", sys)
	infoLine(b, "used_cpu_user_main_thread:%.6f", user)
}

func infoCommandstats(s *Server, b *strings.Builder) {
	var all []*Command
	for _, c := range sortedCommands() {
		all = append(all, c)
		all = append(all, c.Subcommands...)
	}
	for _, c := range all {
		st := *s.cmdStats(c)
		if st.calls == 0 && st.rejected == 0 && st.failed == 0 {
			continue
		}
		per := 0.0
		if st.calls > 0 {
			per = float64(st.usec) / float64(st.calls)
		}
		infoLine(b, "cmdstat_%s:calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,failed_calls=%d",
			c.FullName(), st.calls, st.usec, per, st.rejected, st.failed)
	}
}

func infoErrorstats(s *Server, b *strings.Builder) {
	var codes []string
	for code := range s.stats.ErrorCodes {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	for _, code := range codes {
		infoLine(b, "errorstat_%s:count=%d", code, s.stats.ErrorCodes[code])
	}
}

func infoKeyspace(s *Server, b *strings.Builder) {
	now := s.clock()
	for i, db := range s.Keyspace.DBs {
		if db.Len() == 0 {
			continue
		}
		// avg_ttl visits every expiring key (Redis keeps a running
		// estimate instead): infoKeyspaceCounts leaves it out for scrapes.
		var sum, n int64
		db.SampleExpires(db.ExpiresLen(), func(_ string, at int64) {
			if at > now {
				sum += at - now
				n++
			}
		})
		avg := int64(0)
		if n > 0 {
			avg = sum / n
		}
		infoLine(b, "db%d:keys=%d,expires=%d,avg_ttl=%d", i, db.Len(), db.ExpiresLen(), avg)
	}
}

// infoKeyspaceCounts is the keyspace section without avg_ttl, in O(databases).
func infoKeyspaceCounts(s *Server, b *strings.Builder) {
	for i, db := range s.Keyspace.DBs {
		if db.Len() > 0 {
			infoLine(b, "db%d:keys=%d,expires=%d", i, db.Len(), db.ExpiresLen())
		}
	}
}

// ---------------------------------------------------------------- TIME, SHUTDOWN, MONITOR, SLOWLOG

func timeCommand(ctx *Ctx) {
	now := time.Now()
	ctx.W.ArrayLen(2)
	ctx.W.BulkInt(now.Unix())
	ctx.W.BulkInt(int64(now.Nanosecond() / 1000))
}

func shutdownCommand(ctx *Ctx) {
	var f shutdownFlags
	for j := 1; j < len(ctx.Args); j++ {
		switch {
		case ctx.ArgIs(j, "nosave"):
			f.nosave, f.explicit = true, true
		case ctx.ArgIs(j, "save"):
			f.save, f.explicit = true, true
		case ctx.ArgIs(j, "now"):
			f.now = true
		case ctx.ArgIs(j, "force"):
			f.force = true
		case ctx.ArgIs(j, "abort"):
			f.abort = true
		default:
			ctx.Error(ErrSyntax)
			return
		}
	}
	if f.save && f.nosave || f.abort && (f.save || f.nosave || f.now || f.force) {
		ctx.Error(ErrSyntax)
		return
	}
	if f.abort {
		ctx.Error("ERR No shutdown in progress.")
		return
	}
	if !f.nosave && ctx.S.scripts.lent.Load() {
		// Past busy-reply-threshold only SHUTDOWN NOSAVE stops the
		// server (a save would catch half a script).
		ctx.Error(ctx.S.busyError())
		return
	}
	if err := ctx.S.prepareShutdown(f); err != nil {
		ctx.Error("ERR " + err.Error())
		return
	}
	if ctx.S.scripts.lent.Load() {
		// The busy script stops with the server (its client waits on it).
		ctx.S.scripts.engine.Kill()
		if ctx.S.scripts.functions != nil {
			ctx.S.scripts.functions.Kill()
		}
	}
	// Redis exits without replying; the connection just closes. No
	// command runs from here on (runBatch), though Close waits for the
	// executor.
	ctx.S.shuttingDown.Store(true)
	go ctx.S.Close()
}

func monitorCommand(ctx *Ctx) {
	c := ctx.C
	if c.flags&ClientMonitor != 0 {
		return
	}
	c.flags |= ClientMonitor
	ctx.S.monitors = append(ctx.S.monitors, c)
	ctx.W.OK()
}

func slowlogGetCommand(ctx *Ctx) {
	count := int64(10)
	if len(ctx.Args) > 3 {
		ctx.ArityError()
		return
	}
	if len(ctx.Args) == 3 {
		n, ok := resp.ParseInt(ctx.Args[2])
		if !ok || n < -1 {
			ctx.Error("ERR count should be greater than or equal to -1")
			return
		}
		if n == -1 {
			n = int64(len(ctx.S.slowlog.entries))
		}
		count = n
	}
	entries := ctx.S.slowlog.entries
	if int64(len(entries)) > count {
		entries = entries[:count]
	}
	ctx.W.ArrayLen(len(entries))
	for _, e := range entries {
		ctx.W.ArrayLen(6)
		ctx.W.Int(e.id)
		ctx.W.Int(e.unix)
		ctx.W.Int(e.usec)
		ctx.W.ArrayLen(len(e.args))
		for _, a := range e.args {
			ctx.W.Bulk(a)
		}
		ctx.W.BulkString(e.peer)
		ctx.W.BulkString(e.clientNm)
	}
}

func slowlogHelpCommand(ctx *Ctx) {
	replyHelp(ctx, "SLOWLOG",
		"GET [<count>]",
		"    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
		"    Entries are made of:",
		"    id, timestamp, time in microseconds, arguments array, client IP and port,",
		"    client name",
		"LEN",
		"    Return the length of the slowlog.",
		"RESET",
		"    Reset the slowlog.")
}

// ---------------------------------------------------------------- CLIENT

// clientFlagsString renders CLIENT LIST's flags field.
func clientFlagsString(c *Client) string {
	var f []byte
	if c.flags&ClientReplica != 0 {
		if c.flags&ClientMonitor != 0 {
			f = append(f, 'O')
		} else {
			f = append(f, 'S')
		}
	}
	if c.flags&ClientMaster != 0 {
		f = append(f, 'M')
	}
	if c.flags&ClientPubSub != 0 {
		f = append(f, 'P')
	}
	if c.multi.active {
		f = append(f, 'x')
	}
	if c.blocked || c.paused {
		f = append(f, 'b')
	}
	if c.trk.flags&trackOn != 0 {
		f = append(f, 't')
	}
	if c.trk.flags&trackBrokenRedir != 0 {
		f = append(f, 'R')
	}
	if c.trk.flags&trackBcast != 0 {
		f = append(f, 'B')
	}
	if c.multi.dirtyCAS {
		f = append(f, 'd')
	}
	if c.flags&ClientCloseAfterReply != 0 {
		f = append(f, 'c')
	}
	if c.flags&ClientNoEvict != 0 {
		f = append(f, 'e')
	}
	if c.flags&ClientMonitor != 0 && c.flags&ClientReplica == 0 {
		f = append(f, 'O')
	}
	if len(f) == 0 {
		f = append(f, 'N')
	}
	return string(f)
}

// clientInfoLine is c's line of CLIENT LIST; running is the client whose
// command asks (its arguments count as argv-mem), nil for none.
func (s *Server) clientInfoLine(c, running *Client, now int64) string {
	multi := -1
	if c.multi.active {
		multi = len(c.multi.cmds)
	}
	cmd := c.lastCmd
	if cmd == "" {
		cmd = "NULL"
	}
	pending := c.PendingBytes()
	// argv-mem is the argument bytes of the command being run: only the
	// client running CLIENT LIST/INFO has one (Redis frees argv after a
	// command).
	argvMem := 0
	if c == running {
		for _, a := range c.ctx.Args {
			argvMem += len(a)
		}
	}
	return fmt.Sprintf("id=%d addr=%s laddr=%s fd=%d name=%s age=%d idle=%d flags=%s db=%d sub=%d psub=%d ssub=%d multi=%d qbuf=%d qbuf-free=%d argv-mem=%d multi-mem=0 rbs=%d rbp=0 obl=%d oll=0 omem=%d tot-mem=%d events=r cmd=%s user=%s redir=%d resp=%d",
		c.ID, c.addr, c.laddr, c.fd(), c.Name, (now-c.createdMs)/1000, (now-c.lastInteraction)/1000, clientFlagsString(c),
		c.DBNum, len(c.channels), len(c.patterns), len(c.shardChannels), multi, c.queryBufLen, 16*1024, argvMem, cap(c.w.Bytes()), pending, pending,
		pending+c.queryBufLen, cmd, clientUserName(c), trackingRedirect(c), c.Proto())
}

// clientUserName is CLIENT LIST's user=: "(superuser)" for a client
// without a user (the master link), as Redis.
func clientUserName(c *Client) string {
	if c.user == nil {
		return "(superuser)"
	}
	return c.user.Name
}

// fd returns the socket's descriptor number for CLIENT LIST (-1 if none).
func (c *Client) fd() int {
	type syscallConn interface {
		SyscallConn() (syscall.RawConn, error)
	}
	sc, ok := netConn(c.conn).(syscallConn)
	if !ok {
		return -1
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	_ = rc.Control(func(x uintptr) { fd = int(x) })
	return fd
}

// clientType classifies a client for CLIENT LIST/KILL TYPE.
func clientType(c *Client) string {
	switch {
	case c.flags&ClientMaster != 0:
		return "master"
	case c.flags&ClientReplica != 0 && c.flags&ClientMonitor == 0:
		return "replica"
	case c.flags&ClientPubSub != 0:
		return "pubsub"
	}
	return "normal"
}

// sortedClients returns the connected clients by id.
func (s *Server) sortedClients() []*Client {
	out := make([]*Client, 0, len(s.clients))
	for _, c := range s.clients {
		if c.flags&ClientInternal != 0 && c.flags&ClientMaster == 0 {
			continue
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// clientListCommand is CLIENT LIST [TYPE type | ID id...] with
// networking.c's argument shapes: TYPE only as the sole option, IDs parsed
// as signed numbers and listed in the order given (repeats included).
func clientListCommand(ctx *Ctx) {
	var typ string
	switch {
	case len(ctx.Args) == 4 && ctx.ArgIs(2, "type"):
		typ = strings.ToLower(ctx.Arg(3))
		if typ == "slave" {
			typ = "replica"
		}
		if typ != "normal" && typ != "master" && typ != "replica" && typ != "pubsub" {
			ctx.Errorf("ERR Unknown client type '%s'", ctx.Args[3])
			return
		}
	case len(ctx.Args) > 3 && ctx.ArgIs(2, "id"):
		var b strings.Builder
		for j := 3; j < len(ctx.Args); j++ {
			id, ok := ctx.IntMsg(j, "ERR Invalid client ID")
			if !ok {
				return
			}
			if c := ctx.S.clients[uint64(id)]; c != nil && id > 0 {
				b.WriteString(ctx.S.clientInfoLine(c, ctx.C, ctx.NowMs))
				b.WriteByte('\n')
			}
		}
		ctx.W.Verbatim("txt", b.String())
		return
	case len(ctx.Args) != 2:
		ctx.Error(ErrSyntax)
		return
	}
	var b strings.Builder
	for _, c := range ctx.S.sortedClients() {
		if typ != "" && clientType(c) != typ {
			continue
		}
		b.WriteString(ctx.S.clientInfoLine(c, ctx.C, ctx.NowMs))
		b.WriteByte('\n')
	}
	ctx.W.Verbatim("txt", b.String())
}

func clientInfoCommand(ctx *Ctx) {
	ctx.W.Verbatim("txt", ctx.S.clientInfoLine(ctx.C, ctx.C, ctx.NowMs)+"\n")
}

// clientUnblockCommand is CLIENT UNBLOCK id [TIMEOUT|ERROR]: a client
// blocked on keys (BLPOP, BLMOVE, BZPOPMIN...) or in WAIT gets its timeout
// reply, or -UNBLOCKED with ERROR, and the caller gets 1; anything else
// (unknown id, a client not blocked, one held by CLIENT PAUSE) gets 0, as
// in Redis 7.0.
func clientUnblockCommand(ctx *Ctx) {
	if len(ctx.Args) > 4 {
		ctx.Error("ERR unknown subcommand or wrong number of arguments for '" + string(ctx.Args[1]) + "'. Try CLIENT HELP.")
		return
	}
	withError := false
	if len(ctx.Args) == 4 {
		switch {
		case ctx.ArgIs(3, "timeout"):
		case ctx.ArgIs(3, "error"):
			withError = true
		default:
			ctx.Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
			return
		}
	}
	id, ok := ctx.Int(2)
	if !ok {
		return
	}
	s := ctx.S
	target := s.clients[uint64(id)]
	if target == nil || target == ctx.C {
		ctx.W.Int(0)
		return
	}
	if s.UnblockKeyWaiter(target, withError) || s.repl().unblockWait(target, withError) {
		ctx.W.Int(1)
		return
	}
	ctx.W.Int(0)
}

func clientKillCommand(ctx *Ctx) {
	s := ctx.S
	if len(ctx.Args) == 3 {
		// Old form: CLIENT KILL addr:port.
		for _, c := range s.sortedClients() {
			if c.addr == ctx.Arg(2) {
				s.killClient(ctx, c)
				ctx.W.OK()
				return
			}
		}
		ctx.Error("ERR No such client")
		return
	}
	var id uint64
	var addr, laddr, typ, user string
	skipme := true
	if len(ctx.Args)%2 != 0 {
		ctx.Error(ErrSyntax)
		return
	}
	for j := 2; j+1 < len(ctx.Args); j += 2 {
		val := ctx.Arg(j + 1)
		switch {
		case ctx.ArgIs(j, "id"):
			n, err := strconv.ParseUint(val, 10, 64)
			if err != nil || n == 0 {
				ctx.Error("ERR client-id should be greater than 0")
				return
			}
			id = n
		case ctx.ArgIs(j, "type"):
			typ = strings.ToLower(val)
			if typ == "slave" {
				typ = "replica"
			}
			if typ != "normal" && typ != "master" && typ != "replica" && typ != "pubsub" {
				ctx.Errorf("ERR Unknown client type '%s'", val)
				return
			}
		case ctx.ArgIs(j, "addr"):
			addr = val
		case ctx.ArgIs(j, "laddr"):
			laddr = val
		case ctx.ArgIs(j, "user"):
			if ctx.S.acl.User(val) == nil {
				ctx.Errorf("ERR No such user '%s'", val)
				return
			}
			user = val
		case ctx.ArgIs(j, "skipme"):
			switch strings.ToLower(val) {
			case "yes":
				skipme = true
			case "no":
				skipme = false
			default:
				ctx.Error(ErrSyntax)
				return
			}
		default:
			ctx.Error(ErrSyntax)
			return
		}
	}
	killed := 0
	for _, c := range s.sortedClients() {
		if id != 0 && c.ID != id || addr != "" && c.addr != addr || laddr != "" && c.laddr != laddr ||
			typ != "" && clientType(c) != typ || skipme && c == ctx.C ||
			user != "" && (c.user == nil || c.user.Name != user) {
			continue
		}
		s.killClient(ctx, c)
		killed++
	}
	ctx.W.Int(int64(killed))
}

// killClient closes c; the calling client is closed after its reply.
func (s *Server) killClient(ctx *Ctx, c *Client) {
	if c == ctx.C {
		c.flags |= ClientCloseAfterReply
		return
	}
	for _, fn := range s.killHooks {
		fn(c)
	}
	c.Kill()
}

// OnClientKill registers fn to run when CLIENT KILL closes a client (the
// replication code drops its master link this way).
func (s *Server) OnClientKill(fn func(c *Client)) { s.killHooks = append(s.killHooks, fn) }

func clientSetnameCommand(ctx *Ctx) {
	if !validClientName(ctx.Args[2]) {
		ctx.Error("ERR Client names cannot contain spaces, newlines or special characters.")
		return
	}
	ctx.C.Name = ctx.Arg(2)
	ctx.W.OK()
}

func clientGetnameCommand(ctx *Ctx) {
	if ctx.C.Name == "" {
		ctx.W.Null()
		return
	}
	ctx.W.BulkString(ctx.C.Name)
}

func clientPauseCommand(ctx *Ctx) {
	ms, ok := resp.ParseInt(ctx.Args[2])
	if !ok || ms < 0 {
		ctx.Error("ERR timeout is not an integer or out of range")
		return
	}
	writes := false
	if len(ctx.Args) == 4 {
		switch {
		case ctx.ArgIs(3, "write"):
			writes = true
		case ctx.ArgIs(3, "all"):
		default:
			ctx.Error("ERR CLIENT PAUSE mode must be WRITE or ALL")
			return
		}
	} else if len(ctx.Args) > 4 {
		ctx.Error(ErrSyntax)
		return
	}
	s := ctx.S
	until := ctx.NowMs + ms
	// A new pause never shortens nor weakens one in force: the later end
	// and the stricter mode win, as Redis's pauseClients.
	if s.clientsPaused() {
		until = max(until, s.pausedUntilMs)
		writes = writes && s.pauseWrites
	}
	s.pausedUntilMs, s.pauseWrites = until, writes
	ctx.W.OK()
}

func clientUnpauseCommand(ctx *Ctx) {
	ctx.S.pausedUntilMs = 0
	ctx.S.pauseWrites = false
	ctx.W.OK()
}

func clientNoEvictCommand(ctx *Ctx) {
	switch {
	case ctx.ArgIs(2, "on"):
		ctx.C.flags |= ClientNoEvict
	case ctx.ArgIs(2, "off"):
		ctx.C.flags &^= ClientNoEvict
	default:
		ctx.Error(ErrSyntax)
		return
	}
	ctx.W.OK()
}

func clientReplyCommand(ctx *Ctx) {
	c := ctx.C
	switch {
	case ctx.ArgIs(2, "on"):
		c.flags &^= ClientNoReply | ClientSkipReply
		ctx.W.OK()
	case ctx.ArgIs(2, "off"):
		c.flags |= ClientNoReply
	case ctx.ArgIs(2, "skip"):
		if c.flags&ClientNoReply == 0 {
			c.flags |= ClientSkipReply
		}
	default:
		ctx.Error(ErrSyntax)
	}
}

func clientHelpCommand(ctx *Ctx) {
	replyHelp(ctx, "CLIENT",
		"CACHING (YES|NO)",
		"    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
		"GETREDIR",
		"    Return the client ID we are redirecting to when tracking is enabled.",
		"GETNAME",
		"    Return the name of the current connection.",
		"ID",
		"    Return the ID of the current connection.",
		"INFO",
		"    Return information about the current client connection.",
		"KILL <ip:port>",
		"    Kill connection made from <ip:port>.",
		"KILL <option> <value> [<option> <value> [...]]",
		"    Kill connections. Options are:",
		"    * ADDR (<ip:port>|<unixsocket>:0)",
		"      Kill connections made from the specified address",
		"    * LADDR (<ip:port>|<unixsocket>:0)",
		"      Kill connections made to specified local address",
		"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
		"      Kill connections by type.",
		"    * USER <username>",
		"      Kill connections authenticated by <username>.",
		"    * SKIPME (YES|NO)",
		"      Skip killing current connection (default: yes).",
		"LIST [options ...]",
		"    Return information about client connections. Options:",
		"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
		"      Return clients of specified type.",
		"UNPAUSE",
		"    Stop the current client pause, resuming traffic.",
		"PAUSE <timeout> [WRITE|ALL]",
		"    Suspend all, or just write, clients for <timeout> milliseconds.",
		"REPLY (ON|OFF|SKIP)",
		"    Control the replies sent to the current connection.",
		"SETNAME <name>",
		"    Assign the name <name> to the current connection.",
		"UNBLOCK <clientid> [TIMEOUT|ERROR]",
		"    Unblock the specified blocked client.",
		"TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
		"         [OPTIN] [OPTOUT] [NOLOOP]",
		"    Control server assisted client side caching.",
		"TRACKINGINFO",
		"    Report tracking status for the current connection.",
		"NO-EVICT (ON|OFF)",
		"    Protect current client connection from eviction.")
}

// ---------------------------------------------------------------- COMMAND

// aclCategories derives a command's ACL categories from its flags and
// group, as Redis's setImplicitACLCategories plus the group category.
func aclCategories(c *Command) []string {
	var out []string
	if c.Flags&FlagWrite != 0 {
		out = append(out, "@write")
	}
	if c.Flags&FlagReadOnly != 0 && c.Group != "scripting" {
		out = append(out, "@read")
	}
	if c.Flags&FlagAdmin != 0 {
		out = append(out, "@admin", "@dangerous")
	}
	if c.Flags&FlagPubSub != 0 {
		out = append(out, "@pubsub")
	}
	if c.Flags&FlagFast != 0 {
		out = append(out, "@fast")
	} else {
		out = append(out, "@slow")
	}
	if c.Flags&FlagBlocking != 0 {
		out = append(out, "@blocking")
	}
	switch c.Group {
	case "string", "list", "hash", "set", "bitmap", "keyspace", "connection", "transactions", "scripting", "hyperloglog", "geo", "stream":
		out = append(out, "@"+c.Group)
	case "sorted-set":
		out = append(out, "@sortedset")
	}
	return out
}

// writeCommandInfo writes one COMMAND INFO entry (Redis 7.0's 10 fields).
func writeCommandInfo(w *resp.Writer, c *Command) {
	w.ArrayLen(10)
	w.BulkString(c.FullName())
	w.Int(int64(c.Arity))
	flags := c.Flags.Names()
	w.SetLen(len(flags))
	for _, f := range flags {
		w.SimpleString(f)
	}
	w.Int(int64(c.FirstKey))
	w.Int(int64(c.LastKey))
	w.Int(int64(c.Step))
	attachCommandMeta()
	if m := c.meta; m != nil {
		// Redis 7.0's categories, tips and key specs, as data.
		m.ACL.write(w)
		m.Tips.write(w)
		m.KeySpecs.write(w)
	} else {
		writeDerivedCommandInfoTail(w, c)
	}
	// As Redis 7.0: an empty set without subcommands, an array of them
	// otherwise.
	if len(c.Subcommands) == 0 {
		w.SetLen(0)
		return
	}
	w.ArrayLen(len(c.Subcommands))
	for _, sub := range c.Subcommands {
		writeCommandInfo(w, sub)
	}
}

// writeDerivedCommandInfoTail writes categories, tips and key specs derived
// from the Go table, for a command command_meta.json does not describe.
func writeDerivedCommandInfoTail(w *resp.Writer, c *Command) {
	cats := aclCategories(c)
	w.SetLen(len(cats))
	for _, cat := range cats {
		w.SimpleString(cat)
	}
	w.SetLen(0)
	if c.FirstKey > 0 {
		w.ArrayLen(1)
		w.MapLen(3)
		w.BulkString("flags")
		kf := "RO"
		if c.Flags&FlagWrite != 0 {
			kf = "RW"
		}
		w.SetLen(1)
		w.SimpleString(kf)
		w.BulkString("begin_search")
		w.MapLen(2)
		w.BulkString("type")
		w.BulkString("index")
		w.BulkString("spec")
		w.MapLen(1)
		w.BulkString("index")
		w.Int(int64(c.FirstKey))
		w.BulkString("find_keys")
		w.MapLen(2)
		w.BulkString("type")
		w.BulkString("range")
		w.BulkString("spec")
		w.MapLen(3)
		w.BulkString("lastkey")
		last := c.LastKey
		if last > 0 {
			last -= c.FirstKey
		}
		w.Int(int64(last))
		w.BulkString("keystep")
		w.Int(int64(c.Step))
		w.BulkString("limit")
		w.Int(0)
	} else {
		w.ArrayLen(0)
	}
}

// lookupCommandPath finds "name" or "name|sub"; hidden commands too (see
// visibleCommandPath).
func lookupCommandPath(name string) *Command {
	parts := strings.SplitN(strings.ToLower(name), "|", 2)
	c := commandTable[parts[0]]
	if c == nil || len(parts) == 1 {
		return c
	}
	return c.subs[parts[1]]
}

// visibleCommandPath is lookupCommandPath for the commands that describe
// the table: a hidden command is unknown to them.
func visibleCommandPath(name string) *Command {
	c := lookupCommandPath(name)
	if c == nil || c.Hidden || (c.parent != nil && c.parent.Hidden) {
		return nil
	}
	return c
}

func commandCommand(ctx *Ctx) {
	if len(ctx.Args) > 1 {
		ctx.ArityError()
		return
	}
	cmds := sortedCommands()
	ctx.W.ArrayLen(len(cmds))
	for _, c := range cmds {
		writeCommandInfo(ctx.W, c)
	}
}

func commandInfoCommand(ctx *Ctx) {
	if len(ctx.Args) == 2 {
		commandCommand(&Ctx{S: ctx.S, C: ctx.C, W: ctx.W, Args: ctx.Args[:1]})
		return
	}
	ctx.W.ArrayLen(len(ctx.Args) - 2)
	for _, a := range ctx.Args[2:] {
		c := visibleCommandPath(string(a))
		if c == nil {
			ctx.W.NullArray()
			continue
		}
		writeCommandInfo(ctx.W, c)
	}
}

func commandDocsCommand(ctx *Ctx) {
	var cmds []*Command
	if len(ctx.Args) == 2 {
		cmds = sortedCommands()
	} else {
		for _, a := range ctx.Args[2:] {
			if c := visibleCommandPath(string(a)); c != nil {
				cmds = append(cmds, c)
			}
		}
	}
	ctx.W.MapLen(len(cmds))
	for _, c := range cmds {
		ctx.W.BulkString(c.FullName())
		writeCommandDocs(ctx.W, c)
	}
}

func commandGetkeysCommand(ctx *Ctx) {
	args := ctx.Args[2:]
	c := lookupCommandName(args[0])
	if c == nil || c.Hidden {
		ctx.Error("ERR Invalid command specified")
		return
	}
	// Redis's commandGetKeys: an unknown subcommand is an unknown command;
	// a command without key specs has no keys; one whose keys depend on
	// the arguments and finds none got invalid arguments (XREAD without
	// STREAMS), unless its keys are optional.
	if len(c.Subcommands) > 0 && len(args) >= 2 {
		sub := c.subcommand(args[1])
		if sub == nil {
			ctx.Error("ERR Invalid command specified")
			return
		}
		c = sub
	}
	if c.FirstKey == 0 && c.GetKeys == nil {
		ctx.Error("ERR The command has no key arguments")
		return
	}
	if (c.Arity > 0 && c.Arity != len(args)) || len(args) < -c.Arity {
		ctx.Error("ERR Invalid number of arguments specified for command")
		return
	}
	pos := c.keyPositions(args)
	if len(pos) == 0 {
		if c.Flags&FlagNoMandatoryKeys != 0 {
			ctx.W.ArrayLen(0)
			return
		}
		ctx.Error("ERR Invalid arguments specified for command")
		return
	}
	ctx.W.ArrayLen(len(pos))
	for _, p := range pos {
		ctx.W.Bulk(args[p])
	}
}

func commandListCommand(ctx *Ctx) {
	var filter func(c *Command) bool
	if len(ctx.Args) == 5 && ctx.ArgIs(2, "filterby") {
		val := ctx.Arg(4)
		switch {
		case ctx.ArgIs(3, "pattern"):
			filter = func(c *Command) bool { return globMatch([]byte(val), []byte(c.FullName()), true) }
		case ctx.ArgIs(3, "aclcat"):
			filter = func(c *Command) bool {
				for _, cat := range commandACLCategories(c) {
					if strings.EqualFold(cat[1:], val) {
						return true
					}
				}
				return false
			}
		case ctx.ArgIs(3, "module"):
			filter = func(c *Command) bool { return false }
		default:
			ctx.Error(ErrSyntax)
			return
		}
	} else if len(ctx.Args) != 2 {
		ctx.Error(ErrSyntax)
		return
	}
	var names []string
	for _, c := range sortedCommands() {
		for _, x := range append([]*Command{c}, c.Subcommands...) {
			if filter == nil || filter(x) {
				names = append(names, x.FullName())
			}
		}
	}
	ctx.W.ArrayLen(len(names))
	for _, n := range names {
		ctx.W.BulkString(n)
	}
}

func commandHelpCommand(ctx *Ctx) {
	replyHelp(ctx, "COMMAND",
		"(no subcommand)",
		"    Return details about all Redis commands.",
		"COUNT",
		"    Return the total number of commands in this Redis server.",
		"LIST",
		"    Return a list of all commands in this Redis server.",
		"INFO [<command-name> ...]",
		"    Return details about multiple Redis commands.",
		"    If no command names are given, documentation details for all",
		"    commands are returned.",
		"DOCS [<command-name> ...]",
		"    Return documentation details about multiple Redis commands.",
		"    If no command names are given, documentation details for all",
		"    commands are returned.",
		"GETKEYS <full-command>",
		"    Return the keys from a full Redis command.",
		"GETKEYSANDFLAGS <full-command>",
		"    Return the keys and the access flags from a full Redis command.")
}

// ---------------------------------------------------------------- CONFIG

// configValue is what CONFIG GET prints for a directive.
func (s *Server) configValue(name string) string {
	if d, ok := config.Lookup(name); ok && d.Name == "dir" {
		wd, _ := os.Getwd()
		return wd
	}
	v, _ := s.Config.Get(name)
	return v
}

func configGetCommand(ctx *Ctx) {
	seen := map[string]bool{}
	var pairs [][2]string
	for _, pat := range ctx.Args[2:] {
		for _, name := range config.Names() {
			if seen[name] || !globMatch(pat, []byte(name), true) {
				continue
			}
			if d, _ := config.Lookup(name); d.Extension && !strings.EqualFold(string(pat), name) {
				continue // replnode's own: only by its exact name
			}
			seen[name] = true
			pairs = append(pairs, [2]string{name, ctx.S.configValue(name)})
		}
	}
	ctx.W.MapLen(len(pairs))
	for _, p := range pairs {
		ctx.W.BulkString(p[0])
		ctx.W.BulkString(p[1])
	}
}

// clampAppliedConfig stores the value Redis's apply function settles on
// when CONFIG SET gives one out of its working range: updateHZ keeps hz in
// 1..500, resizeReplicationBacklog keeps the backlog at least 16kb.
func clampAppliedConfig(c *config.Config, name string) {
	clamp := func(lo, hi int64) {
		if v := c.Int(name); v < lo || v > hi {
			_ = c.Set(name, []string{strconv.FormatInt(min(max(v, lo), hi), 10)}, false)
		}
	}
	switch name {
	case "hz":
		clamp(1, 500)
	case "repl-backlog-size":
		clamp(16*1024, 1<<63-1)
	}
}

// protectedConfig are config.c's PROTECTED_CONFIG parameters: CONFIG SET
// refuses them unless enable-protected-configs allows the client.
var protectedConfig = map[string]bool{"dir": true, "dbfilename": true}

// sensitiveConfig are config.c's SENSITIVE_CONFIG parameters: CONFIG SET
// hides their values from the slow log and MONITOR.
var sensitiveConfig = map[string]bool{"masteruser": true, "masterauth": true, "requirepass": true}

func configSetCommand(ctx *Ctx) {
	args := ctx.Args[2:]
	if len(args)%2 != 0 {
		ctx.ArityError()
		return
	}
	// Every sensitive value is redacted, even when the command then fails.
	for i := 0; i < len(args); i += 2 {
		if d, ok := config.Lookup(string(args[i])); ok && sensitiveConfig[d.Name] {
			ctx.Redact(2 + i + 1)
		}
	}
	var pairs [][2]string
	seen := map[string]bool{}
	for i := 0; i < len(args); i += 2 {
		name := string(args[i])
		d, ok := config.Lookup(name)
		if !ok {
			ctx.Errorf("ERR Unknown option or number of arguments for CONFIG SET - '%s'", name)
			return
		}
		if protectedConfig[d.Name] && !ctx.S.protectedAllowed(ctx.C, "enable-protected-configs") {
			ctx.Errorf("ERR CONFIG SET failed (possibly related to argument '%s') - can't set protected config", name)
			return
		}
		if seen[d.Name] {
			ctx.Errorf("ERR CONFIG SET failed (possibly related to argument '%s') - duplicate parameter", name)
			return
		}
		seen[d.Name] = true
		pairs = append(pairs, [2]string{name, string(args[i+1])})
	}
	old := make([][2]string, len(pairs))
	for i, p := range pairs {
		v, _ := ctx.S.Config.Get(p[0])
		old[i] = [2]string{p[0], v}
	}
	// Validate the whole set first (all or nothing), then apply the
	// directives needing an action.
	if err := ctx.S.Config.SetMany(pairs); err != nil {
		bad := pairs[0][0]
		var se *config.SetError
		if errors.As(err, &se) {
			for _, p := range pairs {
				if d, _ := config.Lookup(p[0]); d != nil && d.Name == se.Name {
					bad = p[0]
				}
			}
		}
		ctx.Errorf("ERR CONFIG SET failed (possibly related to argument '%s') - %s", bad, err.Error())
		return
	}
	// dir is the one change that can fail when applied: do it first, and
	// on failure put every value back, as config.c's restore_backup.
	for _, p := range pairs {
		if d, _ := config.Lookup(p[0]); d.Name == "dir" {
			if err := os.Chdir(p[1]); err != nil {
				_ = ctx.S.Config.SetMany(old) // the old values were valid
				ctx.Errorf("ERR CONFIG SET failed (possibly related to argument '%s') - %s", p[0], errnoText(err))
				return
			}
		}
	}
	// A TLS reload that fails (a file missing or not matching) puts every
	// value back too, with applyTlsCfg's error.
	names := make([]string, len(pairs))
	for i, p := range pairs {
		d, _ := config.Lookup(p[0])
		names[i] = d.Name
	}
	if bad := ctx.S.reloadTLSAfterSet(names); bad != "" {
		_ = ctx.S.Config.SetMany(old)
		ctx.Errorf("ERR CONFIG SET failed (possibly related to argument '%s') - %s", bad, errTLSUpdate)
		return
	}
	for i, name := range names {
		if name != "tls-port" || ctx.S.Config.String(name) == old[i][1] {
			continue
		}
		oldPort, _ := strconv.ParseInt(old[i][1], 10, 64)
		if msg := ctx.S.changeTLSPort(oldPort); msg != "" {
			_ = ctx.S.Config.SetMany(old)
			// Certificates this CONFIG SET loaded go back too, as
			// restore_backup applies the old values again.
			ctx.S.reloadTLSAfterSet(names)
			ctx.Errorf("ERR CONFIG SET failed (possibly related to argument '%s') - %s", pairs[i][0], msg)
			return
		}
	}
	for _, p := range pairs {
		d, _ := config.Lookup(p[0])
		clampAppliedConfig(ctx.S.Config, d.Name)
		ctx.S.applyConfig(d.Name)
		for _, fn := range ctx.S.configHooks {
			fn(d.Name)
		}
	}
	ctx.W.OK()
}

// OnConfigSet registers fn to run on the executor after CONFIG SET changed
// a directive (canonical name).
func (s *Server) OnConfigSet(fn func(name string)) { s.configHooks = append(s.configHooks, fn) }

// errnoText is the C strerror text of an error.
func errnoText(err error) string {
	var pe *os.PathError
	var en syscall.Errno
	if errors.As(err, &pe) && errors.As(pe.Err, &en) {
		s := en.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}

func configResetstatCommand(ctx *Ctx) {
	s := ctx.S
	codes := s.stats.ErrorCodes
	for k := range codes {
		delete(codes, k)
	}
	s.stats.NetInputBytes.Store(0)
	s.stats.NetOutputBytes.Store(0)
	s.stats.ConnectionsReceived = 0
	s.stats.CommandsProcessed = 0
	s.stats.RejectedConns = 0
	s.stats.ExpiredKeys = 0
	s.stats.ExpiredStalePerc = 0
	s.stats.KeyspaceHits = 0
	s.stats.KeyspaceMisses = 0
	s.stats.ErrorReplies = 0
	s.stats.EvictedKeys = 0
	s.stats.PubsubChannelsSent = 0
	clear(s.commandStats)
	for _, fn := range s.resetStatHooks {
		fn()
	}
	ctx.W.OK()
}

// OnResetStat registers fn to run on CONFIG RESETSTAT (other areas reset
// their counters).
func (s *Server) OnResetStat(fn func()) { s.resetStatHooks = append(s.resetStatHooks, fn) }

func configRewriteCommand(ctx *Ctx) {
	if ctx.S.Config.File == "" {
		ctx.Error("ERR The server is running without a config file")
		return
	}
	ctx.S.Config.UserLines = nil
	if ctx.S.Config.String("aclfile") == "" {
		ctx.S.Config.UserLines = ctx.S.acl.UserLines()
	}
	if err := ctx.S.Config.Rewrite(); err != nil {
		ctx.S.Log.Warningf("CONFIG REWRITE failed: %v", err)
		ctx.Errorf("ERR Rewriting config file: %s", errnoText(err))
		return
	}
	ctx.S.Log.Noticef("CONFIG REWRITE executed with success.")
	ctx.W.OK()
}

func configHelpCommand(ctx *Ctx) {
	replyHelp(ctx, "CONFIG",
		"GET <pattern>",
		"    Return parameters matching the glob-like <pattern> and their values.",
		"SET <directive> <value>",
		"    Set the configuration <directive> to <value>.",
		"RESETSTAT",
		"    Reset statistics reported by the INFO command.",
		"REWRITE",
		"    Rewrite the configuration file.")
}

// ---------------------------------------------------------------- DEBUG

// debugArity replies the DEBUG arity error when args do not match.
func debugArity(ctx *Ctx, n int) bool {
	if len(ctx.Args) != n {
		ctx.Errorf("ERR unknown subcommand or wrong number of arguments for '%s'. Try DEBUG HELP.", ctx.Arg(1))
		return false
	}
	return true
}

// debugSleepCommand blocks the executor like Redis's DEBUG SLEEP blocks
// its only thread.
func debugSleepCommand(ctx *Ctx) {
	if !debugArity(ctx, 3) {
		return
	}
	secs, ok := ParseFloat(ctx.Args[2])
	if !ok {
		ctx.Error(ErrNotFloat)
		return
	}
	time.Sleep(time.Duration(secs * float64(time.Second)))
	ctx.W.OK()
}

func debugSetActiveExpireCommand(ctx *Ctx) {
	if !debugArity(ctx, 3) {
		return
	}
	n, ok := ctx.Int(2)
	if !ok {
		return
	}
	ctx.S.activeExpire = n != 0
	ctx.W.OK()
}

func debugObjectCommand(ctx *Ctx) {
	if !debugArity(ctx, 3) {
		return
	}
	v, ok := ctx.lookupNoTouch(ctx.Args[2])
	if !ok {
		ctx.Error(ErrNoSuchKey)
		return
	}
	at, _ := ctx.DB.AccessTime(ctx.Arg(2))
	idle := int64(0)
	if at > 0 {
		idle = (ctx.NowMs - at) / 1000
	}
	ctx.W.SimpleString(fmt.Sprintf("Value at:%p refcount:1 encoding:%s serializedlength:%d lru:%d lru_seconds_idle:%d",
		v, v.Encoding(), valueSize(v), (at/1000)&((1<<24)-1), idle))
}

func debugProtocolCommand(ctx *Ctx) {
	if !debugArity(ctx, 3) {
		return
	}
	w := ctx.W
	switch strings.ToLower(ctx.Arg(2)) {
	case "string":
		w.BulkString("Hello World")
	case "integer":
		w.Int(12345)
	case "double":
		w.Double(3.141)
	case "bignum":
		w.BigNumber("1234567999999999999999999999999999999")
	case "null":
		w.Null()
	case "array":
		w.ArrayLen(3)
		for i := 0; i < 3; i++ {
			w.Int(int64(i))
		}
	case "set":
		w.SetLen(3)
		for i := 0; i < 3; i++ {
			w.Int(int64(i))
		}
	case "map":
		w.MapLen(3)
		for i := 0; i < 3; i++ {
			w.Int(int64(i))
			w.Bool(i == 1)
		}
	case "attrib":
		if w.Proto() == 3 {
			w.Raw([]byte("|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n"))
		}
		w.BulkString("Some real reply following the attribute")
	case "push":
		w.PushLen(2)
		w.BulkString("server-cpu-usage")
		w.Int(42)
		w.BulkString("Some real reply following the push reply")
	case "true":
		w.Bool(true)
	case "false":
		w.Bool(false)
	case "verbatim":
		w.Verbatim("txt", "This is a verbatim\nstring")
	default:
		ctx.Error("ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false")
	}
}

// debugChangeReplIDCommand starts a new replication history, as Redis's
// changeReplicationId + clearReplicationId2: replicas of this node must
// then full-sync.
func debugChangeReplIDCommand(ctx *Ctx) {
	if !debugArity(ctx, 2) {
		return
	}
	ctx.S.Log.Noticef("Changing replication IDs after receiving DEBUG change-repl-id")
	if r := ctx.S.repl(); r != nil {
		r.id.ReplID = newReplID()
		r.id.ClearReplID2()
	}
	ctx.W.OK()
}

func debugJmapCommand(ctx *Ctx) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	ctx.S.Log.Noticef("DEBUG JMAP: heap_alloc=%d heap_sys=%d heap_objects=%d num_gc=%d", ms.HeapAlloc, ms.HeapSys, ms.HeapObjects, ms.NumGC)
	ctx.W.OK()
}

func debugHelpCommand(ctx *Ctx) {
	replyHelp(ctx, "DEBUG",
		"CHANGE-REPL-ID",
		"    Change the replication IDs of the instance.",
		"    Dangerous: should be used only for testing the replication subsystem.",
		"DIGEST",
		"    Output a hex signature representing the current DB content.",
		"DIGEST-VALUE <key> [<key> ...]",
		"    Output a hex signature of the values of all the specified keys.",
		"JMAP",
		"    Log the Go runtime's memory statistics.",
		"OBJECT <key>",
		"    Show low level info about the <key> and associated value.",
		"PROTOCOL <type>",
		"    Reply with a test value of the specified type. <type> can be: string,",
		"    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
		"    true, false.",
		"RELOAD [option ...]",
		"    Save the RDB on disk and reload it back to memory.",
		"SET-ACTIVE-EXPIRE <0|1>",
		"    Setting it to 0 disables expiring keys in background when they are not",
		"    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
		"    default.",
		"SLEEP <seconds>",
		"    Stop the server for <seconds>. Decimals allowed.")
}

// valueSize is the number of payload bytes a value holds (element bytes,
// plus 8 per sorted-set score): DEBUG OBJECT's serializedlength as an
// uncompressed estimate.
func valueSize(v store.Value) int64 {
	var n int64
	switch x := v.(type) {
	case *store.String:
		n = int64(len(x.B))
	case *store.List:
		x.Range(func(e []byte) bool { n += int64(len(e)); return true })
	case *store.Hash:
		x.Range(func(f, val []byte) bool { n += int64(len(f) + len(val)); return true })
	case *store.Set:
		x.Range(func(m []byte) bool { n += int64(len(m)); return true })
	case *store.ZSet:
		x.Range(func(m []byte, _ float64) bool { n += int64(len(m)) + 8; return true })
	case *store.Stream:
		x.Range(store.StreamID{}, store.MaxStreamID, false, func(_ store.StreamID, fv [][]byte) bool {
			for _, b := range fv {
				n += int64(len(b))
			}
			return true
		})
	}
	return n
}
