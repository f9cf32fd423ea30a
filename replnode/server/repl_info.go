package server

import (
	"fmt"
	"strings"

	"github.com/replnode/replnode/replnode/replication"
)

// ------ INFO REPLICATION, INFO STATS (sync counters) ------

// ReplicationInfo returns the body of INFO's "# Replication" section (lines
// ending in CRLF, without the header), exactly in Redis 7.0's order. The
// core's INFO calls it. Runs on the executor.
func (s *Server) ReplicationInfo() string {
	r := s.repl()
	if r == nil {
		return ""
	}
	return r.info(s.clock())
}

// replicationBacklogMemory is the bytes the replication backlog holds
// allocated (INFO memory's mem_replication_backlog); 0 before the first
// replica attached. Runs on the executor.
func (s *Server) replicationBacklogMemory() int64 {
	r := s.repl()
	if r == nil || r.backlog == nil {
		return 0
	}
	return int64(r.backlog.Size())
}

// ReplicationSyncStats returns INFO stats' sync_full, sync_partial_ok and
// sync_partial_err. Runs on the executor.
func (s *Server) ReplicationSyncStats() (full, partialOK, partialErr int64) {
	r := s.repl()
	if r == nil {
		return 0, 0, 0
	}
	return r.syncFull, r.syncPartialOK, r.syncPartialErr
}

func (r *replState) info(now int64) string {
	var b strings.Builder
	line := func(f string, a ...any) {
		fmt.Fprintf(&b, f, a...)
		b.WriteString("\r\n")
	}
	cfg := r.s.Config
	if !r.s.IsReplica() {
		line("role:master")
	} else {
		line("role:slave")
		line("master_host:%s", r.s.MasterHost)
		line("master_port:%d", r.s.MasterPort)
		st := r.link.State()
		up := st == replication.StateConnected && r.s.MasterLinkUp
		if up {
			line("master_link_status:up")
		} else {
			line("master_link_status:down")
		}
		lastIO := int64(-1)
		if r.masterCli != nil {
			lastIO = (now - r.link.LastIOMs()) / 1000
		}
		line("master_last_io_seconds_ago:%d", lastIO)
		syncing := 0
		if st == replication.StateTransfer {
			syncing = 1
		}
		line("master_sync_in_progress:%d", syncing)
		line("slave_read_repl_offset:%d", r.id.Offset)
		line("slave_repl_offset:%d", r.id.Offset)
		if syncing == 1 {
			left, perc := int64(-1), 0.0
			if r.transferSize > 0 {
				left = r.transferSize - r.transferRead
				perc = float64(r.transferRead) * 100 / float64(r.transferSize)
			}
			line("master_sync_total_bytes:%d", r.transferSize)
			line("master_sync_read_bytes:%d", r.transferRead)
			line("master_sync_left_bytes:%d", left)
			line("master_sync_perc:%.2f", perc)
			line("master_sync_last_io_seconds_ago:%d", (now-r.link.LastIOMs())/1000)
		}
		if !up {
			down := int64(-1)
			if r.link.DownSinceMs() > 0 {
				down = (now - r.link.DownSinceMs()) / 1000
			}
			line("master_link_down_since_seconds:%d", down)
		}
		line("slave_priority:%d", cfg.Int("replica-priority"))
		line("slave_read_only:%d", boolInt(cfg.Bool("replica-read-only")))
		line("replica_announced:%d", boolInt(cfg.Bool("replica-announced")))
	}
	line("connected_slaves:%d", r.replicas.Len())
	if cfg.Int("min-replicas-to-write") > 0 && cfg.Int("min-replicas-max-lag") > 0 {
		line("min_slaves_good_slaves:%d", r.goodReplicas())
	}
	for _, l := range r.replicas.InfoLines(now) {
		line("%s", l)
	}
	line("master_failover_state:%s", r.fo.state)
	line("master_replid:%s", r.id.ReplID)
	line("master_replid2:%s", r.id.ReplID2)
	line("master_repl_offset:%d", r.id.Offset)
	line("second_repl_offset:%d", r.id.SecondOffset)
	if r.backlog != nil {
		line("repl_backlog_active:1")
		line("repl_backlog_size:%d", cfg.Int("repl-backlog-size"))
		line("repl_backlog_first_byte_offset:%d", r.backlog.FirstByteOffset())
		line("repl_backlog_histlen:%d", r.backlog.HistLen())
	} else {
		line("repl_backlog_active:0")
		line("repl_backlog_size:%d", cfg.Int("repl-backlog-size"))
		line("repl_backlog_first_byte_offset:0")
		line("repl_backlog_histlen:0")
	}
	r.preciseInfo(line, now)
	return b.String()
}

// preciseInfo appends replnode's own fields after Redis's (which stay
// identical, in Redis's order), for an operator that must time a failover
// to the millisecond (docs/failover.md):
//
//   - min_replicas_guard_ms:1 — this node's min-replicas guard counts a
//     replica as good while it caught up within min-replicas-max-lag
//     milliseconds of a monotonic clock (replication/guard.go), not whole
//     seconds since its last ACK; min_replicas_guard_to_write and
//     min_replicas_guard_max_lag_ms are the values it runs with (the
//     operator's spec may be ahead of a node not yet rolled);
//   - on a replica, master_last_io_ms_ago: master_last_io_seconds_ago in
//     milliseconds (-1 likewise), and master_no_contact_ms: how long the
//     master it follows cannot have heard from it — also when the link
//     never came up, where Redis shows master_link_down_since_seconds:-1.
func (r *replState) preciseInfo(line func(string, ...any), now int64) {
	line("min_replicas_guard_ms:1")
	line("min_replicas_guard_to_write:%d", r.s.Config.Int("min-replicas-to-write"))
	line("min_replicas_guard_max_lag_ms:%d", r.s.Config.Int("min-replicas-max-lag")*1000)
	if !r.s.IsReplica() {
		return
	}
	lastIO := int64(-1)
	if r.masterCli != nil {
		lastIO = now - r.link.LastIOMs()
	}
	line("master_last_io_ms_ago:%d", lastIO)
	line("master_no_contact_ms:%d", max(0, now-r.link.NoContactSinceMs()))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
