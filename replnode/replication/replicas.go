package replication

import (
	"fmt"
)

// ------ REPLICAS SEEN FROM THE MASTER ------

// ReplicaState is a replica's state on its master, as Redis's SLAVE_STATE_*.
type ReplicaState int

// Replica states.
const (
	ReplicaWaitBgsaveStart ReplicaState = iota // waiting for a snapshot to start
	ReplicaWaitBgsaveEnd                       // the snapshot it will get is being produced
	ReplicaSendBulk                            // the payload is being sent
	ReplicaOnline                              // receiving the stream
)

// String returns the state as INFO replication shows it.
func (s ReplicaState) String() string {
	switch s {
	case ReplicaWaitBgsaveStart, ReplicaWaitBgsaveEnd:
		return "wait_bgsave"
	case ReplicaSendBulk:
		return "send_bulk"
	case ReplicaOnline:
		return "online"
	}
	return "unknown"
}

// Replica is what the master knows about one replica connection.
type Replica struct {
	ClientID      int64
	IP            string // announced ip-address, else the peer address
	ListeningPort int
	CapaEOF       bool
	CapaPSync2    bool
	State         ReplicaState
	AckOffset     int64
	AckTimeMs     int64
	// CaughtUpMs is the last monotonic time at which it held everything
	// the master had (guard.go); the min-replicas guard counts from it.
	// 0: not known to have caught up yet (not good).
	CaughtUpMs int64
}

// Name is the replica's name in log lines: "ip:port", as Redis's
// replicationGetSlaveName.
func (r *Replica) Name() string {
	if r.ListeningPort == 0 {
		return r.IP + ":<unknown-replica-port>"
	}
	return fmt.Sprintf("%s:%d", r.IP, r.ListeningPort)
}

// LagSeconds is the INFO lag: whole seconds since the last ACK.
func (r *Replica) LagSeconds(nowMs int64) int64 {
	return nowMs/1000 - r.AckTimeMs/1000
}

// Replicas is the master's table of replica connections, in attach order.
type Replicas struct {
	byID  map[int64]*Replica
	order []int64
}

// NewReplicas returns an empty table.
func NewReplicas() *Replicas { return &Replicas{byID: map[int64]*Replica{}} }

// Add registers a replica (on SYNC/PSYNC); a second Add for the same client
// replaces it.
func (rs *Replicas) Add(r *Replica) {
	if _, ok := rs.byID[r.ClientID]; !ok {
		rs.order = append(rs.order, r.ClientID)
	}
	rs.byID[r.ClientID] = r
}

// Remove forgets a replica; it reports whether it was known.
func (rs *Replicas) Remove(clientID int64) bool {
	if _, ok := rs.byID[clientID]; !ok {
		return false
	}
	delete(rs.byID, clientID)
	for i, id := range rs.order {
		if id == clientID {
			rs.order = append(rs.order[:i], rs.order[i+1:]...)
			break
		}
	}
	return true
}

// Get returns the replica for a client id.
func (rs *Replicas) Get(clientID int64) (*Replica, bool) {
	r, ok := rs.byID[clientID]
	return r, ok
}

// Len returns the number of replicas (INFO connected_slaves).
func (rs *Replicas) Len() int { return len(rs.order) }

// List returns the replicas in attach order.
func (rs *Replicas) List() []*Replica {
	out := make([]*Replica, 0, len(rs.order))
	for _, id := range rs.order {
		out = append(out, rs.byID[id])
	}
	return out
}

// Ack records REPLCONF ACK <offset>; offsets never move backwards, as in
// Redis. It reports whether the replica is known.
func (rs *Replicas) Ack(clientID, offset, nowMs int64) bool {
	r, ok := rs.byID[clientID]
	if !ok {
		return false
	}
	if offset > r.AckOffset {
		r.AckOffset = offset
	}
	r.AckTimeMs = nowMs
	return true
}

// CaughtUp records that the replica held everything the master had at
// monoMs (StreamClock.CaughtUpAt); it never moves back.
func (rs *Replicas) CaughtUp(clientID, monoMs int64) {
	if r, ok := rs.byID[clientID]; ok && monoMs > r.CaughtUpMs {
		r.CaughtUpMs = monoMs
	}
}

// CountAcked counts online replicas that acknowledged at least offset, as
// Redis's replicationCountAcksByOffset.
func (rs *Replicas) CountAcked(offset int64) int {
	n := 0
	for _, r := range rs.byID {
		if r.State == ReplicaOnline && r.AckOffset >= offset {
			n++
		}
	}
	return n
}

// GoodCount counts online replicas caught up within maxLagMs of monoMs
// (guard.go): the min-replicas guard, in milliseconds and by acknowledged
// offset, stricter than Redis's refreshGoodSlavesCount.
func (rs *Replicas) GoodCount(monoMs int64, maxLagMs int64) int {
	n := 0
	for _, r := range rs.byID {
		if r.State == ReplicaOnline && r.CaughtUpMs > 0 && monoMs-r.CaughtUpMs <= maxLagMs {
			n++
		}
	}
	return n
}

// InfoLines returns INFO replication's slaveN lines (lag only for online
// replicas):
// "slave0:ip=...,port=...,state=...,offset=...,lag=...".
func (rs *Replicas) InfoLines(nowMs int64) []string {
	var out []string
	for i, r := range rs.List() {
		// As Redis, only an online replica has a lag; others show 0.
		lag := int64(0)
		if r.State == ReplicaOnline {
			lag = r.LagSeconds(nowMs)
		}
		out = append(out, fmt.Sprintf("slave%d:ip=%s,port=%d,state=%s,offset=%d,lag=%d",
			i, r.IP, r.ListeningPort, r.State, r.AckOffset, lag))
	}
	return out
}

// ------ MIN-REPLICAS AND WAIT ------

// WritesAllowed is the min-replicas-to-write check a master makes before a
// write: it refuses (-NOREPLICAS) when both settings are on and fewer than
// toWrite replicas are good.
func WritesAllowed(toWrite, maxLagSeconds int64, good int) bool {
	return toWrite == 0 || maxLagSeconds == 0 || int64(good) >= toWrite
}

// Waiter is one client blocked in WAIT numreplicas timeout.
type Waiter struct {
	ClientID    int64
	Offset      int64 // the master offset after the client's last write
	NumReplicas int
	DeadlineMs  int64 // 0: wait forever
}

// WaitResult tells the caller to unblock a WAIT client with Acked as reply.
type WaitResult struct {
	ClientID int64
	Acked    int
}

// Waits is the set of blocked WAIT clients.
type Waits struct{ list []Waiter }

// Len returns how many clients are blocked in WAIT.
func (w *Waits) Len() int { return len(w.list) }

// Begin decides a new WAIT: when enough replicas already acknowledged it
// returns done=true and the count; otherwise the client is blocked and the
// caller must ask replicas for ACKs (REPLCONF GETACK *).
func (w *Waits) Begin(wt Waiter, rs *Replicas) (acked int, done bool) {
	acked = rs.CountAcked(wt.Offset)
	if acked >= wt.NumReplicas {
		return acked, true
	}
	w.list = append(w.list, wt)
	return acked, false
}

// Cancel removes a blocked client (it disconnected or was unblocked).
func (w *Waits) Cancel(clientID int64) {
	for i := range w.list {
		if w.list[i].ClientID == clientID {
			w.list = append(w.list[:i], w.list[i+1:]...)
			return
		}
	}
}

// Take removes a blocked client's wait and returns it (CLIENT UNBLOCK
// answers with the replicas that acknowledged its offset so far).
func (w *Waits) Take(clientID int64) (Waiter, bool) {
	for i := range w.list {
		if w.list[i].ClientID == clientID {
			wt := w.list[i]
			w.list = append(w.list[:i], w.list[i+1:]...)
			return wt, true
		}
	}
	return Waiter{}, false
}

// DrainAll removes every blocked client and returns their ids in blocking
// order (the node stops being a master: Redis unblocks them with an error).
func (w *Waits) DrainAll() []int64 {
	ids := make([]int64, 0, len(w.list))
	for _, wt := range w.list {
		ids = append(ids, wt.ClientID)
	}
	w.list = nil
	return ids
}

// Process releases the waiters that are satisfied or past their deadline,
// in the order they blocked, as Redis's processClientsWaitingReplicas and
// its timeout handling.
func (w *Waits) Process(nowMs int64, rs *Replicas) []WaitResult {
	var out []WaitResult
	kept := w.list[:0]
	for _, wt := range w.list {
		acked := rs.CountAcked(wt.Offset)
		if acked >= wt.NumReplicas || (wt.DeadlineMs > 0 && nowMs >= wt.DeadlineMs) {
			out = append(out, WaitResult{ClientID: wt.ClientID, Acked: acked})
			continue
		}
		kept = append(kept, wt)
	}
	w.list = kept
	return out
}
