package server

import (
	"strconv"

	"github.com/replnode/replnode/replnode/aof"
	"github.com/replnode/replnode/replnode/rdb"
	"github.com/replnode/replnode/replnode/replication"
	"github.com/replnode/replnode/replnode/resp"
)

// ------ REPLICATION INFO IN RDB AND AOF FILES ------
//
// The persistence code writes these AUX fields on every save, and the AOF
// its position annotations (package aof, position.go), and hands them back
// after loading at startup, so a restarted node continues its history
// with a partial resync instead of a full one, and the operator can tell
// which member holds the most of it.

// ReplicationAuxInfo fills the replication part of an RDB's AUX fields as
// Redis's rdbPopulateSaveInfo: a master with a backlog saves its own
// replid/offset; a replica saves its master's replid and its applied
// offset (connected or cached); otherwise nothing. Runs on the executor.
func (s *Server) ReplicationAuxInfo(info *rdb.AuxInfo) {
	r := s.repl()
	if r == nil {
		return
	}
	switch {
	case !s.IsReplica() && r.backlog != nil:
		info.HasRepl, info.ReplID, info.ReplOffset = true, r.id.ReplID, r.id.Offset
		info.ReplStreamDB = max(r.slaveSelDB, 0)
	case s.IsReplica() && r.masterCli != nil:
		info.HasRepl, info.ReplID, info.ReplOffset = true, r.id.ReplID, r.id.Offset
		info.ReplStreamDB = r.masterCli.DBNum
	case s.IsReplica():
		if id, off, ok := r.link.Cached(); ok {
			info.HasRepl, info.ReplID, info.ReplOffset = true, id, off
			info.ReplStreamDB = r.streamDB
		}
	}
}

// replPosition is the position of the dataset now, decided as for an
// RDB's AUX fields (ReplicationAuxInfo): the head of a new AOF file, whose
// base snapshot is taken at the same moment. Runs on the executor.
func (s *Server) replPosition() aof.Position {
	var info rdb.AuxInfo
	s.ReplicationAuxInfo(&info)
	if !info.HasRepl {
		return aof.Position{}
	}
	return aof.Position{ReplID: info.ReplID, Offset: info.ReplOffset, DB: info.ReplStreamDB, Known: true}
}

// replPositionAfter is the position once the change being propagated (n
// bytes of stream, on database db) is applied. The AOF is fed before the
// stream (emitPropagated), so a master counts what propagate is about to
// feed: the SELECT it adds when the stream's database differs, then the
// command, encoded as the AOF encodes it. A replica is applying a command
// of its master's stream: the position is where that command ends
// (applyingEnd). Anything else changing a replica's data (a write with
// replica-read-only no) is in no history: unknown. Runs on the executor.
func (s *Server) replPositionAfter(db int, n int64) aof.Position {
	r := s.repl()
	if r == nil {
		return aof.Position{}
	}
	if s.IsReplica() {
		if r.applyingEnd < 0 || r.masterCli == nil {
			return aof.Position{}
		}
		return aof.Position{ReplID: r.id.ReplID, Offset: r.applyingEnd, DB: r.masterCli.DBNum, Known: true}
	}
	// A master without a backlog keeps no position, as ReplicationAuxInfo.
	if r.backlog == nil {
		return aof.Position{}
	}
	off := r.id.Offset + n
	if db != r.slaveSelDB {
		off += int64(len(resp.AppendCommandStrings(nil, "SELECT", strconv.Itoa(db))))
	}
	return aof.Position{ReplID: r.id.ReplID, Offset: off, DB: db, Known: true}
}

// RestoreReplicationInfo applies repl-id/repl-offset/repl-stream-db read
// from the RDB (or the position read from the AOF) at startup, as Redis 7.0's loadDataFromDisk: a replica takes
// them as its own position and caches itself as the master, so its first
// PSYNC continues partially; a master keeps them as replid2 (valid up to
// offset+1) and continues the offset, so its old replicas can continue.
// Invalid values are ignored, as is a stream db of -1 (missing, or the
// -1 older versions wrote). Runs on the executor, before Serve.
func (s *Server) RestoreReplicationInfo(replID string, offset int64, streamDB int) {
	r := s.repl()
	if r == nil || !replication.ValidReplID(replID) || offset < 0 || streamDB < 0 {
		return
	}
	if s.IsReplica() {
		r.id.ReplID = replID
		r.id.Offset = offset
		r.streamDB = streamDB
		s.Log.Noticef("Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.")
		r.link.CacheFromIdentity()
		return
	}
	r.id.ReplID2 = replID
	r.id.SecondOffset = offset + 1
	r.id.Offset = offset
	r.backlog = replication.NewBacklog(int(s.Config.Int("repl-backlog-size")), offset)
	r.noReplicasSince = s.clock()
}
