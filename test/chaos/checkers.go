package chaos

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// ------ CHECKERS: PURE FUNCTIONS OVER HISTORIES ------

// Final is what the suite read back after healing and settling: every
// key's value on the final master and on each replica ("" = absent).
type Final struct {
	Master   string
	Values   map[string]string            // key -> value on the final master
	Replicas map[string]map[string]string // replica -> key -> value
}

// AckedLost returns the WAIT-acknowledged writes (ok and WAIT >= 1) whose
// value the final master does not hold. Every wset writes a fresh key once,
// so its value must be there exactly.
func AckedLost(ops []Op, f Final) []Op {
	var lost []Op
	for _, o := range ops {
		if o.Kind == WaitSet && o.Outcome == OK && o.Acked && f.Values[o.Key] != strconv.FormatInt(o.Value, 10) {
			lost = append(lost, o)
		}
	}
	return lost
}

// OKLost returns the writes of fresh keys (wset) the server answered OK,
// WAIT-acknowledged or not, that the final master does not hold. In a
// switchover (a planned, healthy handover) none may be lost: the old master
// stops taking writes and the target catches up before it is promoted.
func OKLost(ops []Op, f Final) []Op {
	var lost []Op
	for _, o := range ops {
		if o.Kind == WaitSet && o.Outcome == OK && f.Values[o.Key] != strconv.FormatInt(o.Value, 10) {
			lost = append(lost, o)
		}
	}
	return lost
}

// Diverged returns, per replica, the keys whose value differs from the
// final master's: after healing and settling every replica must converge.
func Diverged(f Final) map[string][]string {
	out := map[string][]string{}
	for r, vals := range f.Replicas {
		for k, v := range f.Values {
			if vals[k] != v {
				out[r] = append(out[r], k)
			}
		}
		for k, v := range vals {
			if _, ok := f.Values[k]; !ok && v != "" {
				out[r] = append(out[r], k)
			}
		}
		sort.Strings(out[r])
		if len(out[r]) == 0 {
			delete(out, r)
		}
	}
	return out
}

// DualWritable returns the ok writes that prove two writable members.
//
// Definition: an ok write a on member A is a dual-writable witness when
// some member B != A has two consecutive ok writes b1, b2 (consecutive in
// completion order among B's ok writes) with b1 completed before a was
// invoked and a completed before b2 was invoked, and nothing shows B's
// mastership interrupted in between: no sample of B within (b1 completed,
// b2 invoked) reports a role other than master or a process (run_id)
// other than the one sampled last before b1. Then B took a write before a
// began and another after a ended, none in between, and stayed master all
// along as far as anyone saw: B and A were both writable while a ran.
// Mastership moving B -> A -> B legitimately (a switchover whose target
// dies, then a switch back) shows up as B sampled as a replica or
// restarted in the gap. Overlapping intervals alone prove nothing (a write
// executes at some instant of its interval), which is why the definition
// uses strict real-time order on both sides.
func DualWritable(ops []Op, samples []Sample) []Op {
	byMember := map[string][]Op{}
	for _, o := range ops {
		if o.IsWrite() && o.Outcome == OK && o.Member != "" {
			byMember[o.Member] = append(byMember[o.Member], o)
		}
	}
	for m := range byMember {
		w := byMember[m]
		sort.Slice(w, func(i, j int) bool { return w[i].Complete < w[j].Complete })
	}
	sampled := map[string][]Sample{}
	for _, s := range samples {
		sampled[s.Member] = append(sampled[s.Member], s)
	}
	for m := range sampled {
		ss := sampled[m]
		sort.Slice(ss, func(i, j int) bool { return ss[i].At < ss[j].At })
	}
	var witnesses []Op
	for a, writes := range byMember {
		for _, op := range writes {
			for b, bw := range byMember {
				if b == a {
					continue
				}
				// The last of B's writes completed before op was invoked.
				i := sort.Search(len(bw), func(i int) bool { return bw[i].Complete >= op.Invoke }) - 1
				if i < 0 || i+1 >= len(bw) {
					continue
				}
				// Its successor must be invoked after op completed; any
				// later write of B with a later invoke serves as b2.
				for _, b2 := range bw[i+1:] {
					if b2.Invoke > op.Complete {
						if !interrupted(sampled[b], bw[i].Complete, b2.Invoke) {
							witnesses = append(witnesses, op)
						}
						break
					}
				}
				if len(witnesses) > 0 && witnesses[len(witnesses)-1] == op {
					break
				}
			}
		}
	}
	sort.Slice(witnesses, func(i, j int) bool { return witnesses[i].Invoke < witnesses[j].Invoke })
	return witnesses
}

// interrupted reports whether the samples of one member (sorted by time)
// show its mastership interrupted within (from, to): a sample there with a
// role other than master, or a run_id other than the last one sampled
// before from (or than an earlier one in the window).
func interrupted(samples []Sample, from, to time.Duration) bool {
	runID := ""
	for _, s := range samples {
		if s.At <= from {
			runID = s.RunID
			continue
		}
		if s.At >= to {
			break
		}
		if s.Role != "master" || (runID != "" && s.RunID != runID) {
			return true
		}
		runID = s.RunID
	}
	return false
}

// SyncDrop is a member whose key count fell between two samples of the
// same process: clients never delete keys, so only a full sync from a
// member that is behind (or a flush) can make that happen.
type SyncDrop struct {
	Member       string
	From, To     Sample
	LostKeys     int64
	SyncFullSeen bool // some member's sync_full rose between the two samples
}

// FullSyncDrops returns every drop of a member's DBSIZE between two
// consecutive samples with the same run_id (a restart reloads an older RDB
// legitimately and is not counted; what happens after it is).
func FullSyncDrops(samples []Sample) []SyncDrop {
	byMember := map[string][]Sample{}
	for _, s := range samples {
		byMember[s.Member] = append(byMember[s.Member], s)
	}
	var drops []SyncDrop
	for m, ss := range byMember {
		sort.Slice(ss, func(i, j int) bool { return ss[i].At < ss[j].At })
		for i := 1; i < len(ss); i++ {
			prev, cur := ss[i-1], ss[i]
			if prev.RunID == "" || prev.RunID != cur.RunID || cur.Keys >= prev.Keys {
				continue
			}
			drops = append(drops, SyncDrop{Member: m, From: prev, To: cur, LostKeys: prev.Keys - cur.Keys,
				SyncFullSeen: syncFullRose(samples, prev.At, cur.At)})
		}
	}
	sort.Slice(drops, func(i, j int) bool { return drops[i].To.At < drops[j].To.At })
	return drops
}

// syncFullRose reports whether any member's sync_full counter rose within
// (from, to]: evidence that a full sync happened then. A restarted member
// counts from 0, so any full sync its new process reports counts.
func syncFullRose(samples []Sample, from, to time.Duration) bool {
	last := map[string]Sample{}
	ordered := append([]Sample(nil), samples...)
	sort.Slice(ordered, func(i, j int) bool { return ordered[i].At < ordered[j].At })
	for _, s := range ordered {
		p, ok := last[s.Member]
		last[s.Member] = s
		if !ok || s.At <= from || s.At > to {
			continue
		}
		if (p.RunID == s.RunID && s.SyncFull > p.SyncFull) || (p.RunID != s.RunID && s.SyncFull > 0) {
			return true
		}
	}
	return false
}

// WriteGap returns the longest span within [from, end] in which no write
// was acknowledged (ok) by any member: the write unavailability a fault at
// from caused, the suite's RTO. A write counts when its OK arrived (OKAt),
// not when the WAIT after it ended: a write answered just before the fault
// whose WAIT then timed out (its replicas frozen or cut off with the
// master) completed 2s into the outage and hid those 2s.
func WriteGap(ops []Op, from, end time.Duration) time.Duration {
	var completes []time.Duration
	for _, o := range ops {
		if at := o.OKTime(); o.IsWrite() && o.Outcome == OK && at >= from && at <= end {
			completes = append(completes, at)
		}
	}
	sort.Slice(completes, func(i, j int) bool { return completes[i] < completes[j] })
	gap, prev := time.Duration(0), from
	for _, c := range completes {
		if c-prev > gap {
			gap = c - prev
		}
		prev = c
	}
	if end-prev > gap {
		gap = end - prev
	}
	return gap
}

// ------ LINEARIZABILITY (porcupine) ------

// linInput is one operation as the model sees it.
type linInput struct {
	Key     string
	Kind    Kind
	Value   int64 // set: the value written
	Unknown bool  // may or may not have been applied
}

// keyModel is the model of one key: a register (SET/GET) or a counter
// (INCR/GET), both an int64 whose absent value reads as 0 (register values
// start at 1). An unknown write may or may not have been applied, so the
// model is nondeterministic; an unknown read has no effect and is dropped.
var keyModel = (&porcupine.NondeterministicModel{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range history {
			k := op.Input.(linInput).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() []interface{} { return []interface{}{int64(0)} },
	Step: func(state, input, output interface{}) []interface{} {
		s, in := state.(int64), input.(linInput)
		switch in.Kind {
		case Set, WaitSet:
			if in.Unknown {
				return []interface{}{s, in.Value}
			}
			return []interface{}{in.Value}
		case Incr:
			if in.Unknown {
				return []interface{}{s, s + 1}
			}
			if output.(int64) == s+1 {
				return []interface{}{s + 1}
			}
		case Get:
			if output.(int64) == s {
				return []interface{}{s}
			}
		}
		return nil
	},
	DescribeOperation: func(input, output interface{}) string {
		in := input.(linInput)
		return fmt.Sprintf("%s %s %d -> %v (unknown %v)", in.Kind, in.Key, in.Value, output, in.Unknown)
	},
}).ToModel()

// Linearizable checks the register and counter keys' histories (wset keys
// are written once: AckedLost covers them) against keyModel: reads and
// WAIT-acknowledged writes must be linearizable; writes without a
// replica's acknowledgement count as possibly applied. finalReads
// are the reads of the final master after healing, appended as ops after
// everything else: without them a lost write would go unseen. It returns
// the porcupine verdict and the keys whose history is not linearizable.
func Linearizable(ops []Op, finalReads []Op, timeout time.Duration) (porcupine.CheckResult, []string) {
	var hist []porcupine.Operation
	for _, o := range append(append([]Op(nil), ops...), finalReads...) {
		if o.Kind == WaitSet || o.Outcome == Fail || (o.Kind == Get && o.Outcome != OK) {
			continue
		}
		// A write the server answered but no replica acknowledged may be
		// lost in a failover (replication is asynchronous): like an
		// unknown one, it may or may not have taken effect.
		unknown := o.Outcome == Unknown || (o.IsWrite() && !o.Acked)
		ret := int64(o.Complete)
		if unknown {
			ret = math.MaxInt64 // may take effect any time after its invocation
		}
		hist = append(hist, porcupine.Operation{
			ClientId: o.Client,
			Input:    linInput{Key: o.Key, Kind: o.Kind, Value: o.Value, Unknown: unknown},
			Call:     int64(o.Invoke), Output: o.Value, Return: ret,
		})
	}
	var bad []string
	verdict := porcupine.Ok
	for _, part := range keyModel.Partition(hist) {
		switch porcupine.CheckOperationsTimeout(keyModel, part, timeout) {
		case porcupine.Illegal:
			bad = append(bad, part[0].Input.(linInput).Key)
			verdict = porcupine.Illegal
		case porcupine.Unknown:
			if verdict == porcupine.Ok {
				verdict = porcupine.Unknown
			}
		}
	}
	return verdict, bad
}

// ------ OPERATOR LOGS: ONE ACTIVE OPERATOR ------

// OperatorEvent is one line of an operator's log that matters for who may
// act: a leader lease acquired, or an action on a group.
type OperatorEvent struct {
	Operator string
	At       time.Time
	Acquired bool   // "Successfully acquired lease"
	Action   string // a "failover action" line's action
}

// ParseOperatorLog returns the lease acquisitions and the actions of one
// operator's JSON log (controller-runtime's zap format), in order. Lines
// that are not JSON or lack a timestamp are skipped.
func ParseOperatorLog(operator string, log []byte) []OperatorEvent {
	var out []OperatorEvent
	for _, line := range strings.Split(string(log), "\n") {
		var entry struct {
			TS     string `json:"ts"`
			Msg    string `json:"msg"`
			Action string `json:"action"`
		}
		if json.Unmarshal([]byte(line), &entry) != nil {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, entry.TS)
		if err != nil {
			continue
		}
		switch {
		case strings.EqualFold(entry.Msg, "successfully acquired lease"):
			out = append(out, OperatorEvent{Operator: operator, At: at, Acquired: true})
		case entry.Msg == "failover action":
			out = append(out, OperatorEvent{Operator: operator, At: at, Action: entry.Action})
		}
	}
	return out
}

// statusOnlyActions are the plan actions that change nothing but the
// group's status (and events): a stale leader's status write is refused
// (it is made only at the resourceVersion the pass read), so logging one
// after losing the lease is not acting on the group.
var statusOnlyActions = map[string]bool{
	"SetTargetMaster": true, "ClearTargetMaster": true, "SetCurrentMaster": true,
	"MarkFenced": true, "ClearFenced": true, "Event": true,
}

// StaleLeaderActions returns the actions touching a node, a pod or a label
// that an operator took after another operator had acquired the lease
// (strictly later in the log's time resolution: an action in the same
// second as the other's acquisition is given the benefit of the doubt).
// Status-only actions are left out (statusOnlyActions). Operators that
// never acquired a lease (no leader election) are not judged.
func StaleLeaderActions(events []OperatorEvent) []OperatorEvent {
	ordered := append([]OperatorEvent(nil), events...)
	sort.SliceStable(ordered, func(i, j int) bool { return ordered[i].At.Before(ordered[j].At) })
	elected := map[string]bool{}
	for _, e := range ordered {
		if e.Acquired {
			elected[e.Operator] = true
		}
	}
	var leader string
	var since time.Time
	var stale []OperatorEvent
	for _, e := range ordered {
		if e.Acquired {
			leader, since = e.Operator, e.At
			continue
		}
		kind, _, _ := strings.Cut(e.Action, " ")
		if elected[e.Operator] && leader != "" && e.Operator != leader && e.At.After(since) && !statusOnlyActions[kind] {
			stale = append(stale, e)
		}
	}
	return stale
}
