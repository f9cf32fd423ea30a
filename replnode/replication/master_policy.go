package replication

import (
	"strconv"
	"strings"
)

// ------ MASTER-SIDE POLICIES ------
//
// Decisions the master's cron makes about its replicas, kept pure so they
// are tested with tables: when to start a snapshot for waiting replicas, and
// when a replica's output has outgrown client-output-buffer-limit.

// WaitingReplica is a replica waiting for a snapshot to start.
type WaitingReplica struct {
	CapaEOF     bool  // it announced capa eof (can take a diskless payload)
	WaitSinceMs int64 // when it asked for a full sync
}

// SyncPolicy is repl-diskless-sync, repl-diskless-sync-delay (in ms) and
// repl-diskless-sync-max-replicas.
type SyncPolicy struct {
	Diskless    bool
	DelayMs     int64
	MaxReplicas int
}

// DecideSyncStart says whether a snapshot starts now for the waiting
// replicas and whether it goes to their sockets (diskless) or through a
// whole payload (disk form). Diskless needs every waiting replica to accept
// EOF payloads; it waits DelayMs after the oldest request so that replicas
// arriving together share one snapshot, unless MaxReplicas are already
// waiting. The disk form starts at once.
func DecideSyncStart(nowMs int64, waiting []WaitingReplica, p SyncPolicy) (start, diskless bool) {
	if len(waiting) == 0 {
		return false, false
	}
	diskless = p.Diskless
	oldest := waiting[0].WaitSinceMs
	for _, w := range waiting {
		diskless = diskless && w.CapaEOF
		oldest = min(oldest, w.WaitSinceMs)
	}
	if !diskless {
		return true, false
	}
	if p.MaxReplicas > 0 && len(waiting) >= p.MaxReplicas {
		return true, true
	}
	return nowMs-oldest >= p.DelayMs, true
}

// BufferLimit is the replica class of client-output-buffer-limit.
type BufferLimit struct {
	Hard, Soft  int64 // bytes; 0 disables
	SoftSeconds int64
}

// ParseReplicaBufferLimit reads the replica ("slave"/"replica") class from
// the directive's canonical value ("normal 0 0 0 slave 268435456 67108864
// 60 pubsub ..."); a missing or malformed class means no limit.
func ParseReplicaBufferLimit(value string) BufferLimit {
	f := strings.Fields(value)
	for i := 0; i+3 < len(f); i += 4 {
		if f[i] != "slave" && f[i] != "replica" {
			continue
		}
		hard, err1 := strconv.ParseInt(f[i+1], 10, 64)
		soft, err2 := strconv.ParseInt(f[i+2], 10, 64)
		secs, err3 := strconv.ParseInt(f[i+3], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return BufferLimit{}
		}
		return BufferLimit{Hard: hard, Soft: soft, SoftSeconds: secs}
	}
	return BufferLimit{}
}

// Check decides about a replica whose output holds used bytes: close it
// when over the hard limit, or over the soft limit continuously for more
// than SoftSeconds (softSinceMs is when it first went over; 0 when it was
// not).
// It returns the new softSinceMs to keep.
func (l BufferLimit) Check(used, softSinceMs, nowMs int64) (closeNow bool, newSoftSinceMs int64) {
	if l.Hard > 0 && used >= l.Hard {
		return true, softSinceMs
	}
	if l.Soft > 0 && used >= l.Soft {
		if softSinceMs == 0 {
			// The first time over the soft limit only starts the clock.
			return false, nowMs
		}
		// Whole seconds, strictly more than SoftSeconds, as Redis's
		// checkClientOutputBufferLimits counts with server.unixtime.
		return nowMs/1000-softSinceMs/1000 > l.SoftSeconds, softSinceMs
	}
	return false, 0
}
