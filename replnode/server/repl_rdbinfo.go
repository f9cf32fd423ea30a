package server

import (
	"github.com/replnode/replnode/replnode/rdb"
	"github.com/replnode/replnode/replnode/replication"
)

// ------ REPLICATION INFO IN RDB FILES ------
//
// The persistence code writes these AUX fields on every save and hands them
// back after loading at startup, so a restarted node continues its history
// with a partial resync instead of a full one.

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

// RestoreReplicationInfo applies repl-id/repl-offset/repl-stream-db read
// from the RDB at startup, as Redis 7.0's loadDataFromDisk: a replica takes
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
