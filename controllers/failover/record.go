package failover

import (
	"sort"
	"time"
)

// ------ FAILOVER RECORD ------

// Record is status.lastFailover: what happened during the last failover or switchover.
type Record struct {
	From, To, Reason   string
	DetectedAt         time.Time
	FencedAt           time.Time
	PromotedAt         time.Time
	EndpointSwitchedAt time.Time
	// DurationMs is from detection to the endpoint switch; 0 until both happened.
	DurationMs int64
	// OffsetGapBytes is how far the old master was ahead of the promoted
	// replica when it was replaced: the writes lost by the failover.
	OffsetGapBytes int64
	// FullResyncs counts members that needed a full resync afterwards.
	FullResyncs int32
}

// StepKind names a milestone of a failover.
type StepKind string

const (
	// StepDetected: the master was declared failed (or a switchover began).
	// Offset is the old master's last known offset.
	StepDetected StepKind = "Detected"
	// StepFenced: the old master was paused, or its pod deleted / marked fenced.
	StepFenced StepKind = "Fenced"
	// StepPromoted: the new master answered ROLE master. Offset is its offset then.
	StepPromoted StepKind = "Promoted"
	// StepEndpointSwitched: the role=master label (and so the Service) moved.
	StepEndpointSwitched StepKind = "EndpointSwitched"
	// StepResynced: Member started replicating from the new master; Full says how.
	StepResynced StepKind = "Resynced"
)

// Step is one milestone, recorded by the caller as it executes actions.
type Step struct {
	Kind   StepKind
	At     time.Time
	Member string
	// Offset is the replication offset the milestone refers to (see StepKind).
	Offset int64
	// Full marks a full resync (StepResynced only).
	Full bool
}

// StepFor maps an executed action to the milestone it completes, if any:
// fencing actions → Fenced, VerifyRole master → Promoted, MoveMasterLabel →
// EndpointSwitched. The caller fills Offset for Promoted from the ROLE reply.
func StepFor(a Action, at time.Time) (Step, bool) {
	switch a.Kind {
	case ActPauseWrites, ActDeletePod, ActMarkFenced:
		return Step{Kind: StepFenced, At: at, Member: a.Member}, true
	case ActVerifyRole:
		if a.Role == RoleMaster {
			return Step{Kind: StepPromoted, At: at, Member: a.Member}, true
		}
	case ActMoveMasterLabel:
		return Step{Kind: StepEndpointSwitched, At: at, Member: a.Target}, true
	}
	return Step{}, false
}

// BuildRecord fills a failover record from its milestones. Each timestamp is
// the first occurrence of its kind (a resumed plan repeats steps; the first
// time is when it really happened). The duration runs from detection to the
// endpoint switch; the gap is the old master's last known offset minus the
// promoted replica's offset, never negative; full resyncs are counted once
// per member.
func BuildRecord(from, to, reason string, steps []Step) Record {
	r := Record{From: from, To: to, Reason: reason}
	var detectedOffset, promotedOffset int64
	var haveDetected, havePromoted bool
	full := map[string]bool{}
	first := func(t *time.Time, at time.Time) bool {
		if t.IsZero() || at.Before(*t) {
			*t = at
			return true
		}
		return false
	}
	for _, s := range steps {
		switch s.Kind {
		case StepDetected:
			if first(&r.DetectedAt, s.At) {
				detectedOffset, haveDetected = s.Offset, true
			}
		case StepFenced:
			first(&r.FencedAt, s.At)
		case StepPromoted:
			if first(&r.PromotedAt, s.At) {
				promotedOffset, havePromoted = s.Offset, true
			}
		case StepEndpointSwitched:
			first(&r.EndpointSwitchedAt, s.At)
		case StepResynced:
			if s.Full {
				full[s.Member] = true
			}
		}
	}
	if !r.DetectedAt.IsZero() && !r.EndpointSwitchedAt.IsZero() {
		r.DurationMs = max(0, r.EndpointSwitchedAt.Sub(r.DetectedAt).Milliseconds())
	}
	if haveDetected && havePromoted {
		r.OffsetGapBytes = max(0, detectedOffset-promotedOffset)
	}
	r.FullResyncs = int32(len(full))
	return r
}

// PredictedResyncSteps turns a plan's resync predictions into StepResynced
// milestones stamped at, sorted by member, so a caller that cannot observe
// each member's actual resync can still fill fullResyncs.
func PredictedResyncSteps(resyncs map[string]ResyncPrediction, at time.Time) []Step {
	names := make([]string, 0, len(resyncs))
	for name := range resyncs {
		names = append(names, name)
	}
	sort.Strings(names)
	steps := make([]Step, 0, len(names))
	for _, name := range names {
		steps = append(steps, Step{Kind: StepResynced, At: at, Member: name, Full: resyncs[name].Mode == ResyncFull})
	}
	return steps
}
