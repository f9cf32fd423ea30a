package replication

// ------ HISTORY CONTAINMENT ------
//
// One rule decides whether a full sync from a source may replace a node's
// data without losing any of it (docs/failover.md, R1): the source's
// history provably contains the node's position. The node's guard
// (replica-keep-newer-data, Link) and the operator's policy and fault model
// (controllers/failover SourceContains) all ask it here, so the node and
// the operator never disagree on what "behind" means.
//
// Offsets are comparable only inside one history. A history proves that it
// contains a position of its own replid up to its offset, and of the
// history it moved on from (replid2) up to the switch (second_repl_offset
// - 1) — the two cases in which Redis's masterTryPartialResynchronization
// would continue a PSYNC. Anything else (another history, a later byte of
// replid2, an older history than replid2) is not provable from the
// source's identity: two branches of one history can both run past a fork
// point, and the one further ahead in offset still lacks the other's
// writes.

// Position is the first Offset bytes of the history named ReplID.
type Position struct {
	ReplID string
	Offset int64
}

// IsReplID reports whether id names a history: a syntactically valid
// replid that is not the all-zero one INFO shows for an unset replid2.
func IsReplID(id string) bool {
	return ValidReplID(id) && id != ZeroReplID
}

// Contains reports whether a node with identity id provably holds every
// byte of position p: p is on id's history at or before id's offset, or on
// the history id moved on from at or before the switch.
func (id Identity) Contains(p Position) bool {
	if !IsReplID(p.ReplID) || p.Offset < 0 {
		return false
	}
	if p.ReplID == id.ReplID {
		return p.Offset <= id.Offset
	}
	return id.SecondOffset > 0 && p.ReplID == id.ReplID2 && p.Offset <= min(id.SecondOffset-1, id.Offset)
}

// ContainsDataOf reports whether a node with identity id provably holds
// all the replicated data of a node with identity other: id contains
// other's position, or other has written nothing since it moved on from
// its replid2 and id contains that earlier position. It says nothing about
// a node whose data did not come from a history (offset 0): callers decide
// that case (an empty node loses nothing; one that loaded a dump without a
// replid cannot be placed).
func (id Identity) ContainsDataOf(other Identity) bool {
	if id.Contains(Position{other.ReplID, other.Offset}) {
		return true
	}
	return other.SecondOffset > 0 && other.Offset == other.SecondOffset-1 &&
		id.Contains(Position{other.ReplID2, other.Offset})
}
