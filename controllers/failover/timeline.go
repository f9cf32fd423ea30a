package failover

// ------ RECORDED REPLICATION HISTORY (TIMELINE) ------
//
// Redis keeps one previous history per node (replid2 and
// second_repl_offset), so from the members' INFO alone a position two
// promotions back cannot be placed: after f1 -> f2 -> f3 no node reports
// f1 any more, and a master that restarts from a dump taken on f1 looks
// unrelated to the replicas on f3 (issue 12, chaos
// failover-disabled-kill-master round 3). The operator therefore
// remembers the chain itself, in status, the way PostgreSQL keeps
// timeline history files: each link names a history and the first offset
// that is not carried into the next one. Every link is copied from a
// master's own INFO (its replid, replid2 and second_repl_offset), so the
// chain only ever states facts a node reported; a chain that was lost or
// lags (status not written before a crash) lacks links, and a position
// that needs a missing link stays unplaced, exactly as without the chain.

// HistoryLink is one history of the group's recorded chain
// (status.replicationHistory).
type HistoryLink struct {
	// ReplID names the history.
	ReplID string
	// EndOffset is the first offset of ReplID that the next link does not
	// contain: the next history's second_repl_offset. 0 on the newest
	// link, which is still open.
	EndOffset int64
	// PromotedMember is the member that was master when the operator
	// first saw this history ("" when it learnt the history only as a
	// later master's replid2).
	PromotedMember string
	// Epoch is the group's failover epoch at that sighting.
	Epoch int64
}

// MaxHistoryLinks bounds the recorded chain. A position on a history older
// than the oldest kept link cannot be placed and waits, as without a chain.
const MaxHistoryLinks = 16

// ExtendHistory returns the chain after the operator saw member answer as
// master with replication state r at the failover epoch epoch (after a
// promotion, or on any pass that reached the master). A master still on
// the newest link changes nothing. A master on a history that moved on from
// a recorded one (its replid2) closes that link at its second_repl_offset
// and appends its own; the links recorded after that one (a branch that
// was abandoned, e.g. a repaired second master's) are dropped, since the
// master's history does not contain them. A master back on an older
// recorded history reopens it and drops the later links. Anything else
// (the recorded chain was lost, or the master started a history without a
// replid2) starts a new chain from what the master reports. The input is
// not modified.
func ExtendHistory(chain []HistoryLink, r Replication, member string, epoch int64) []HistoryLink {
	if r.Role != RoleMaster || !hasReplID(r.ReplID) {
		return chain
	}
	if n := len(chain); n > 0 && chain[n-1].ReplID == r.ReplID {
		return chain
	}
	own := HistoryLink{ReplID: r.ReplID, PromotedMember: member, Epoch: epoch}
	if i := lastLink(chain, r.ReplID); i >= 0 {
		out := append([]HistoryLink(nil), chain[:i+1]...)
		out[i].EndOffset = 0
		return out
	}
	if !hasReplID(r.ReplID2) || r.ReplID2 == r.ReplID || r.SecondReplOffset <= 0 {
		return []HistoryLink{own}
	}
	var out []HistoryLink
	if i := lastLink(chain, r.ReplID2); i >= 0 {
		out = append(out, chain[:i+1]...)
	} else {
		out = []HistoryLink{{ReplID: r.ReplID2}}
	}
	out[len(out)-1].EndOffset = r.SecondReplOffset
	out = append(out, own)
	if len(out) > MaxHistoryLinks {
		out = append([]HistoryLink(nil), out[len(out)-MaxHistoryLinks:]...)
	}
	return out
}

// lastLink returns the index of the last link naming replid, or -1.
func lastLink(chain []HistoryLink, replid string) int {
	for i := len(chain) - 1; i >= 0; i-- {
		if chain[i].ReplID == replid {
			return i
		}
	}
	return -1
}

// historyForks returns the switches the recorded chain proves, as lineage
// reports them: each history after the first moved on from the one before
// it, sharing its bytes below that one's end offset.
func historyForks(chain []HistoryLink) map[string]Fork {
	out := map[string]Fork{}
	for i := 1; i < len(chain); i++ {
		prev, cur := chain[i-1], chain[i]
		if !hasReplID(prev.ReplID) || !hasReplID(cur.ReplID) || prev.ReplID == cur.ReplID || prev.EndOffset <= 0 {
			continue
		}
		out[cur.ReplID] = Fork{Parent: prev.ReplID, Shared: prev.EndOffset - 1}
	}
	return out
}
