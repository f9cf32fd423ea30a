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
	// EndOffset is the first offset of ReplID that the newest history
	// forked from it does not contain (that history's second_repl_offset).
	// 0 on the newest link, which is still open.
	EndOffset int64
	// Parent is the history ReplID moved on from (its master's replid2
	// when the operator first saw it), and StartOffset the first offset
	// not shared with Parent (that master's second_repl_offset). Both are
	// empty when the master reported no previous history. Each link keeps
	// its own fork, so a branch the group abandoned later (a master back
	// on an older history) still places the members left on it up to the
	// point where it forked (fault-model seed 165934).
	Parent      string
	StartOffset int64
	// PromotedMember is the member that was master when the operator
	// first saw this history ("" when it learnt the history only as a
	// later master's replid2).
	PromotedMember string
	// Epoch is the group's failover epoch at that sighting.
	Epoch int64
}

// MaxHistoryLinks bounds the recorded chain. A position on a history older
// than the oldest kept link cannot be placed and waits, as without a chain.
const MaxHistoryLinks = 128

// ExtendHistory returns the chain after the operator saw member answer as
// master with replication state r at the failover epoch epoch (after a
// promotion, or on any pass that reached the master). A master still on
// the newest link changes nothing. A master on a history that moved on from
// another (its replid2) closes that link at its second_repl_offset and is
// appended with that fork. A master back on an older recorded history
// reopens that link as the newest. Links are never dropped for being on an
// abandoned branch: every fork a link records is a fact a master reported
// and stays true; only the bound drops the oldest. The input is not
// modified.
func ExtendHistory(chain []HistoryLink, r Replication, member string, epoch int64) []HistoryLink {
	if r.Role != RoleMaster || !hasReplID(r.ReplID) {
		return chain
	}
	if n := len(chain); n > 0 && chain[n-1].ReplID == r.ReplID {
		return chain
	}
	out := withExplicitForks(chain)
	if i := lastLink(out, r.ReplID); i >= 0 {
		reopened := out[i]
		reopened.EndOffset = 0
		out = append(append(out[:i:i], out[i+1:]...), reopened)
		return boundHistory(out)
	}
	own := HistoryLink{ReplID: r.ReplID, PromotedMember: member, Epoch: epoch}
	if hasReplID(r.ReplID2) && r.ReplID2 != r.ReplID && r.SecondReplOffset > 0 {
		own.Parent, own.StartOffset = r.ReplID2, r.SecondReplOffset
		if i := lastLink(out, r.ReplID2); i >= 0 {
			out[i].EndOffset = r.SecondReplOffset
		} else {
			out = append(out, HistoryLink{ReplID: r.ReplID2, EndOffset: r.SecondReplOffset})
		}
	}
	return boundHistory(append(out, own))
}

// boundHistory keeps the newest MaxHistoryLinks links.
func boundHistory(chain []HistoryLink) []HistoryLink {
	if len(chain) > MaxHistoryLinks {
		return append([]HistoryLink(nil), chain[len(chain)-MaxHistoryLinks:]...)
	}
	return chain
}

// withExplicitForks returns a copy of chain in which every link names its
// own fork. A chain written before links carried their fork (no link has a
// Parent) was linear: each link forked from the one before it at that
// one's EndOffset. A chain with any explicit fork is read as written:
// adjacency means nothing there, since reopened links move.
func withExplicitForks(chain []HistoryLink) []HistoryLink {
	out := append([]HistoryLink(nil), chain...)
	for _, l := range out {
		if l.Parent != "" {
			return out
		}
	}
	for i := 1; i < len(out); i++ {
		prev, cur := out[i-1], &out[i]
		if hasReplID(prev.ReplID) && hasReplID(cur.ReplID) && prev.ReplID != cur.ReplID && prev.EndOffset > 0 {
			cur.Parent, cur.StartOffset = prev.ReplID, prev.EndOffset
		}
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
// reports them: each link that moved on from a parent shares the parent's
// bytes below its start offset.
func historyForks(chain []HistoryLink) map[string]Fork {
	out := map[string]Fork{}
	for _, l := range withExplicitForks(chain) {
		if !hasReplID(l.Parent) || !hasReplID(l.ReplID) || l.Parent == l.ReplID || l.StartOffset <= 0 {
			continue
		}
		if f, ok := out[l.ReplID]; !ok || (f.Parent == l.Parent && f.Shared < l.StartOffset-1) {
			out[l.ReplID] = Fork{Parent: l.Parent, Shared: l.StartOffset - 1}
		}
	}
	return out
}
