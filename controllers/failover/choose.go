package failover

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/replnode/replnode/replnode/replication"
)

// ------ REFERENCE HISTORY ------

// Reference is the history candidates are measured against.
type Reference struct {
	// ReplID names the history; "" when none could be established.
	ReplID string
	// Source says where it came from: "master", "status" or "replicas".
	Source string
	// Lineage maps a history to the one it moved on from and how many of
	// that one's bytes it provably shares, as the answering members'
	// replid2 and second_repl_offset show (the largest such point: every
	// node that moved on reports at most the promotion point).
	Lineage map[string]Fork
	// Branches are the forks the group's recorded chain proves
	// (historyForks), abandoned branches included: a member on one of
	// them is placed through its fork (Position).
	Branches map[string]Fork
}

// Fork says which history another one moved on from, and where.
type Fork struct {
	Parent string
	Shared int64
}

// Position returns how many bytes of the reference history r holds, and
// whether that is known: r is on it, or moved on from it (r's replid2), or
// is on (or moved on from) a history the reference descends from, walking
// the lineage down. The lineage only gives a lower bound of each switch
// point (a replica that moved on while behind reports less than the
// promotion point), so a member on an older history is placed only when it
// holds no more than that bound; beyond it, it may hold more of the
// reference than can be shown, or a diverged tail, and stays unknown.
//
// A member on a branch the reference does not descend from (a history the
// group abandoned, e.g. a master that came back on an older history and
// was promoted from it) is placed through that branch's own fork: holding
// no more of it than the branch shares with its parent, it holds that much
// of the parent (fault-model seed 165934).
func (ref Reference) Position(r Replication) (int64, bool) {
	best, known := ref.positionOnLine(r)
	for i := 0; i < MaxHistoryLinks; i++ {
		f, ok := ref.Branches[r.ReplID]
		if !ok || !hasReplID(f.Parent) || f.Parent == r.ReplID || r.Offset > f.Shared {
			break
		}
		// All of r's data is on the parent: placed there, r holds its
		// whole offset, which no replid2 bound can beat.
		r = Replication{ReplID: f.Parent, Offset: r.Offset}
		if pos, ok := ref.positionOnLine(r); ok && (!known || pos > best) {
			best, known = pos, true
		}
	}
	return best, known
}

// positionOnLine is Position for a member on the reference's own line of
// descent (its history, or one it descends from).
func (ref Reference) positionOnLine(r Replication) (int64, bool) {
	cur, limit := ref.ReplID, int64(-1)
	within := func(v int64) (int64, bool) { return v, limit < 0 || v <= limit }
	for i := 0; i <= MaxHistoryLinks && hasReplID(cur); i++ {
		if r.ReplID == cur {
			return within(r.Offset)
		}
		if r.ReplID2 == cur && r.SecondReplOffset > 0 {
			return within(r.SecondReplOffset - 1)
		}
		f, ok := ref.Lineage[cur]
		if !ok {
			break
		}
		cur = f.Parent
		if limit < 0 || f.Shared < limit {
			limit = f.Shared
		}
	}
	return 0, false
}

// Contains reports whether a node holding the first upTo bytes of the
// reference history provably holds all of r's data: r is placed in the
// reference (Position) and holds nothing past that place. A node that moved
// on to a later history (its replid2 is on the reference) holds bytes past
// its switch point whose relation to the reference is unknown — they may be
// writes of a master promoted from it — so it is contained only when it
// holds nothing past the switch. A node without data (Empty, not merely
// at offset 0) is always contained.
func (ref Reference) Contains(r Replication, upTo int64) bool {
	if r.Offset == 0 && r.Empty {
		return true
	}
	pos, ok := ref.Position(r)
	return ok && pos == r.Offset && pos <= upTo
}

// SourceContains reports whether source's data provably holds all of r's,
// so that a full sync from source replacing r's data loses nothing (R1): r
// is on source's history, or on the one source moved on from up to the
// switch, with nothing past what source holds — the rule the nodes' guard
// (replica-keep-newer-data) applies, replication.Identity.ContainsDataOf. A
// member without data (Empty) is always contained; one at offset 0 that
// holds data is contained only on source's own history. The topology
// applies it before pointing a member at the master, the failover plans
// before a member may lose data without a grant, and bootstrap before
// choosing a source.
func SourceContains(source, r Replication) bool {
	if r.Offset == 0 && r.Empty {
		return true
	}
	return source.identity().ContainsDataOf(r.identity())
}

// refusesFullSyncFrom predicts a replnode node's guard
// (replica-keep-newer-data, replication.Link): a member holding replicated
// data (offset above 0) refuses a full sync from source unless source's
// history provably contains it (SourceContains), or the operator granted
// the loss in the node's epoch (Action.DiscardData).
func refusesFullSyncFrom(source, r Replication) bool {
	return r.Offset > 0 && !SourceContains(source, r)
}

// identity is the node's replication identity, as package replication
// (and the node's own guard) sees it.
func (r Replication) identity() replication.Identity {
	return replication.Identity{ReplID: r.ReplID, ReplID2: r.ReplID2, SecondOffset: r.SecondReplOffset, Offset: r.Offset}
}

// lineage collects the history switches the answering members report,
// and those of the recorded chain (timeline.go) that reach further back
// than a node's single replid2.
func lineage(obs Observation) map[string]Fork {
	out := map[string]Fork{}
	for _, m := range obs.Members {
		r := m.Repl
		if !m.Reachable || !hasReplID(r.ReplID) || !hasReplID(r.ReplID2) || r.SecondReplOffset <= 0 || r.ReplID == r.ReplID2 {
			continue
		}
		if f, ok := out[r.ReplID]; !ok || (f.Parent == r.ReplID2 && f.Shared < r.SecondReplOffset-1) {
			out[r.ReplID] = Fork{Parent: r.ReplID2, Shared: r.SecondReplOffset - 1}
		}
	}
	for id, rec := range historyForks(obs.Status.History) {
		if f, ok := out[id]; !ok || (f.Parent == rec.Parent && f.Shared < rec.Shared) {
			out[id] = rec
		}
	}
	return out
}

// switches maps each history to every history the reachable members report
// it moved on from (the recorded chain included), with the most bytes a
// report shows shared (not lineage's one per history), so answers built on
// it do not depend on member order even when the reports disagree.
func switches(obs Observation) map[string]map[string]int64 {
	parents := map[string]map[string]int64{}
	for _, m := range obs.Members {
		r := m.Repl
		if !m.Reachable || !hasReplID(r.ReplID) || !hasReplID(r.ReplID2) || r.SecondReplOffset <= 0 || r.ReplID == r.ReplID2 {
			continue
		}
		if parents[r.ReplID] == nil {
			parents[r.ReplID] = map[string]int64{}
		}
		parents[r.ReplID][r.ReplID2] = max(parents[r.ReplID][r.ReplID2], r.SecondReplOffset-1)
	}
	for id, f := range historyForks(obs.Status.History) {
		if parents[id] == nil {
			parents[id] = map[string]int64{}
		}
		parents[id][f.Parent] = max(parents[id][f.Parent], f.Shared)
	}
	return parents
}

// ReferenceHistory picks the history the master's data follows: the master's
// own replid when it answers; else the replid recorded in status when the
// master was last seen — unless reachable replicas moved on from it to a
// later history, which a master promoted after that sighting wrote (status
// never recorded it, or has not seen it answer yet); else, and then among
// those later histories, the latest: of the histories reachable replicas
// report that no other reported one moved on from (with bytes past the
// switch), the one most replicas
// report (ties go to the history holding the most bytes, then the smaller
// replid so the answer never depends on member order).
//
// A history a replica moved on from is never the master's latest: its
// writes past the switch, possibly WAIT-acknowledged, are on the later
// history only, and measured against the older one that replica would be
// placed at its switch point and lose its newer bytes to a candidate that
// merely ties it there (fault-model seeds 60761, 63784, 79487).
func ReferenceHistory(obs Observation) Reference {
	lin := lineage(obs)
	if m := obs.member(obs.Status.CurrentMaster); m != nil && m.Reachable && m.Repl.Role == RoleMaster && hasReplID(m.Repl.ReplID) {
		return Reference{ReplID: m.Repl.ReplID, Source: "master", Lineage: lin, Branches: historyForks(obs.Status.History)}
	}
	type tally struct {
		count int
		best  int64
	}
	tallies := map[string]*tally{}
	for _, m := range obs.Members {
		if m.Name == obs.Status.CurrentMaster || !m.Reachable || m.Repl.Role != RoleReplica ||
			m.Repl.SyncInProgress || m.Repl.Loading || !hasReplID(m.Repl.ReplID) {
			continue
		}
		t := tallies[m.Repl.ReplID]
		if t == nil {
			t = &tally{}
			tallies[m.Repl.ReplID] = t
		}
		t.count++
		t.best = max(t.best, m.Repl.Offset)
	}
	parents := switches(obs)
	// movedOnFrom lists the histories a replica holding best bytes of id
	// provably moved on from with bytes of its own past the switch.
	movedOnFrom := func(id string, best int64) map[string]bool {
		out := map[string]bool{}
		var walk func(id string, depth int)
		walk = func(id string, depth int) {
			for p := range parents[id] {
				if depth <= MaxHistoryLinks && !out[p] {
					out[p] = true
					walk(p, depth+1)
				}
			}
		}
		for p, shared := range parents[id] {
			if best > shared && !out[p] {
				out[p] = true
				walk(p, 1)
			}
		}
		return out
	}
	superseded := map[string]bool{}
	later := map[string]map[string]bool{}
	for id, t := range tallies {
		later[id] = movedOnFrom(id, t.best)
		for p := range later[id] {
			superseded[p] = true
		}
	}
	for id := range superseded {
		delete(tallies, id)
	}
	if id := obs.Status.LastMasterReplID; hasReplID(id) {
		for l := range tallies {
			if !later[l][id] {
				delete(tallies, l)
			}
		}
		if len(tallies) == 0 {
			return Reference{ReplID: id, Source: "status", Lineage: lin, Branches: historyForks(obs.Status.History)}
		}
	}
	ref := Reference{Lineage: lin, Branches: historyForks(obs.Status.History)}
	var bestTally *tally
	for id, t := range tallies {
		if bestTally == nil || t.count > bestTally.count ||
			(t.count == bestTally.count && (t.best > bestTally.best ||
				(t.best == bestTally.best && id < ref.ReplID))) {
			ref, bestTally = Reference{ReplID: id, Source: "replicas", Lineage: lin, Branches: ref.Branches}, t
		}
	}
	return ref
}

// ------ CANDIDATE CHOICE ------

// Candidate is a replica that may be promoted.
type Candidate struct {
	// Name and Ordinal identify the member.
	Name    string
	Ordinal int
	// Position is how many bytes of the reference history it holds.
	Position int64
}

// Rejection says why a member cannot be promoted.
type Rejection struct {
	Name   string
	Reason string
}

// Choice is the result of ChooseCandidate.
type Choice struct {
	// Reference is the history candidates were measured against.
	Reference Reference
	// Best is the chosen candidate; nil when no member is eligible.
	Best *Candidate
	// Ranked are all eligible candidates, best first.
	Ranked []Candidate
	// Rejected are the other members with the reason each was skipped, by ordinal.
	Rejected []Rejection
}

// ChooseCandidate ranks the members that may become master in place of
// exclude (the failed or departing master): reachable, pod running and ready,
// not being deleted, not fenced by hand, not fenced by the operator (unless
// it already resynced into the reference history), reporting ROLE slave, not loading a full sync, and
// holding part of the reference history (Reference.Position). The most advanced one
// (largest position in the reference history) wins; ties go to the lowest
// ordinal. Offsets on other histories are never compared.
func ChooseCandidate(obs Observation, exclude string) Choice {
	ch := Choice{Reference: ReferenceHistory(obs)}
	members := sortedMembers(obs.Members)
	for _, m := range members {
		if m.Name == exclude {
			continue
		}
		reason := ""
		switch {
		case m.Phase == PodMissing:
			reason = "has no pod"
		case m.Deleted:
			reason = "pod is being deleted"
		case m.Phase != PodRunning:
			reason = fmt.Sprintf("pod is %s", m.Phase)
		case !m.Reachable:
			reason = "is unreachable"
		case !m.Ready:
			reason = "pod is not ready"
		case m.FencedByHand:
			reason = "is fenced by hand (replnode.io/fencedInstances)"
		case m.Fenced && !m.rejoined(ch.Reference):
			// A fenced old master may hold a diverged tail; once it has
			// synced into the master's history it is a replica like any other.
			reason = "is fenced and has not rejoined the master's history"
		case m.Repl.Role != RoleReplica:
			reason = fmt.Sprintf("reports role %q, not slave", string(m.Repl.Role))
		case m.Repl.SyncInProgress:
			reason = "is loading a full sync"
		case m.Repl.Loading:
			reason = "is still loading its data from disk"
		case !hasReplID(ch.Reference.ReplID):
			reason = "no reference history is known to compare it with"
		}
		if reason == "" {
			pos, ok := ch.Reference.Position(m.Repl)
			if !ok {
				reason = fmt.Sprintf("history %s does not contain the master's history %s",
					shortID(m.Repl.ReplID), shortID(ch.Reference.ReplID))
			} else {
				ch.Ranked = append(ch.Ranked, Candidate{Name: m.Name, Ordinal: m.Ordinal, Position: pos})
				continue
			}
		}
		ch.Rejected = append(ch.Rejected, Rejection{Name: m.Name, Reason: reason})
	}
	sort.SliceStable(ch.Ranked, func(i, j int) bool {
		if ch.Ranked[i].Position != ch.Ranked[j].Position {
			return ch.Ranked[i].Position > ch.Ranked[j].Position
		}
		return ch.Ranked[i].Ordinal < ch.Ranked[j].Ordinal
	})
	if len(ch.Ranked) > 0 {
		ch.Best = &ch.Ranked[0]
	}
	return ch
}

// rejoined reports whether a fenced member has synced into the reference
// history: it follows it (replid) or moved on from it (replid2), or all of
// its data lies on a history the reference provably continues (the
// recorded chain, timeline.go), so none of its bytes are a diverged tail of
// an old master.
func (m Member) rejoined(ref Reference) bool {
	_, ok := m.Repl.PositionIn(ref.ReplID)
	return (ok || ref.Contains(m.Repl, math.MaxInt64)) && m.Repl.Role == RoleReplica
}

// RejectionSummary renders the rejections as "a: reason; b: reason" for messages.
func (c Choice) RejectionSummary() string {
	if len(c.Rejected) == 0 {
		return "no other members"
	}
	parts := make([]string, 0, len(c.Rejected))
	for _, r := range c.Rejected {
		parts = append(parts, r.Name+": "+r.Reason)
	}
	return strings.Join(parts, "; ")
}

// sortedMembers returns a copy of members ordered by ordinal then name, so
// every decision is independent of the order the caller listed them in.
func sortedMembers(members []Member) []Member {
	out := append([]Member(nil), members...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Ordinal != out[j].Ordinal {
			return out[i].Ordinal < out[j].Ordinal
		}
		return out[i].Name < out[j].Name
	})
	return out
}
