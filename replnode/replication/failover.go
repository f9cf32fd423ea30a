package replication

// ------ FAILOVER DECISION ------
//
// What a master running the FAILOVER command does on each check while it
// waits for a replica to catch up (Redis 7.0's updateFailoverStatus), kept
// pure: the server pauses writes, asks this, and acts.

// FailoverWait is a FAILOVER waiting for a replica: the designated target
// (Host "" for any replica), the deadline (0: none) and FORCE.
type FailoverWait struct {
	Host  string
	Port  int
	EndMs int64
	Force bool
}

// FailoverStep is what to do now.
type FailoverStep int

const (
	// FailoverKeepWaiting: no replica is caught up yet.
	FailoverKeepWaiting FailoverStep = iota
	// FailoverAbort: the timeout passed without FORCE.
	FailoverAbort
	// FailoverStart: become a replica of Host:Port with PSYNC FAILOVER
	// (the target is caught up, or the timeout passed with FORCE).
	FailoverStart
)

// DecideFailover says what a waiting FAILOVER does at nowMs, given the
// attached replicas and our offset. A designated target must have
// acknowledged the whole offset; without one, the first replica (in attach
// order) that has is chosen, known by its address and listening port. The
// returned host and port are the target to fail over to.
func DecideFailover(nowMs int64, w FailoverWait, replicas []*Replica, offset int64) (step FailoverStep, host string, port int) {
	if w.EndMs != 0 && w.EndMs <= nowMs {
		if w.Force {
			return FailoverStart, w.Host, w.Port
		}
		return FailoverAbort, w.Host, w.Port
	}
	for _, r := range replicas {
		if w.Host != "" && !sameReplica(r, w.Host, w.Port) {
			continue
		}
		if r.AckOffset == offset {
			return FailoverStart, r.IP, r.ListeningPort
		}
		if w.Host != "" {
			break
		}
	}
	return FailoverKeepWaiting, w.Host, w.Port
}

// FindReplica is the attached replica known as host:port (its announced or
// peer address, case-insensitively, and its listening port), nil if none.
func FindReplica(replicas []*Replica, host string, port int) *Replica {
	for _, r := range replicas {
		if sameReplica(r, host, port) {
			return r
		}
	}
	return nil
}

func sameReplica(r *Replica, host string, port int) bool {
	return r.ListeningPort == port && equalFoldASCII(r.IP, host)
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
