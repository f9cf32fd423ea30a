package failover

import (
	"testing"
	"time"
)

// TestStepFor checks which executed actions are record milestones.
func TestStepFor(t *testing.T) {
	cases := []struct {
		action Action
		want   StepKind
		ok     bool
	}{
		{pauseWrites("g-0", time.Second), StepFenced, true},
		{Action{Kind: ActDeletePod, Member: "g-0"}, StepFenced, true},
		{Action{Kind: ActMarkFenced, Member: "g-0", Target: "g-1"}, StepFenced, true},
		{verifyMaster("g-1"), StepPromoted, true},
		{Action{Kind: ActVerifyRole, Member: "g-1", Role: RoleReplica}, "", false},
		{Action{Kind: ActMoveMasterLabel, Target: "g-1"}, StepEndpointSwitched, true},
		{promote("g-1"), "", false},
		{replicaOf("g-2", "g-1"), "", false},
	}
	for _, c := range cases {
		s, ok := StepFor(c.action, t0)
		if ok != c.ok || s.Kind != c.want || (ok && !s.At.Equal(t0)) {
			t.Fatalf("StepFor(%s) = %+v %v, want %s %v", c.action, s, ok, c.want, c.ok)
		}
	}
}

// TestBuildRecord checks the record fields computed from milestones, including repeated ones.
func TestBuildRecord(t *testing.T) {
	sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	cases := []struct {
		name  string
		steps []Step
		want  Record
	}{
		{"complete failover", []Step{
			{Kind: StepDetected, At: sec(0), Offset: 1500},
			{Kind: StepFenced, At: sec(1), Member: "g-0"},
			{Kind: StepPromoted, At: sec(2), Member: "g-1", Offset: 1200},
			{Kind: StepResynced, At: sec(3), Member: "g-2"},
			{Kind: StepResynced, At: sec(3), Member: "g-0", Full: true},
			{Kind: StepEndpointSwitched, At: sec(4), Member: "g-1"},
		}, Record{From: "g-0", To: "g-1", Reason: "ReplicasLostMaster", DetectedAt: sec(0), FencedAt: sec(1), PromotedAt: sec(2),
			EndpointSwitchedAt: sec(4), DurationMs: 4000, OffsetGapBytes: 300, FullResyncs: 1}},
		{"resumed plan repeats steps: first times count, full resyncs once per member", []Step{
			{Kind: StepDetected, At: sec(0), Offset: 1000},
			{Kind: StepFenced, At: sec(1)},
			{Kind: StepFenced, At: sec(5)},
			{Kind: StepPromoted, At: sec(6), Offset: 1000},
			{Kind: StepPromoted, At: sec(2), Offset: 1000},
			{Kind: StepResynced, At: sec(7), Member: "g-2", Full: true},
			{Kind: StepResynced, At: sec(8), Member: "g-2", Full: true},
			{Kind: StepEndpointSwitched, At: sec(9)},
		}, Record{From: "g-0", To: "g-1", Reason: "ReplicasLostMaster", DetectedAt: sec(0), FencedAt: sec(1), PromotedAt: sec(2),
			EndpointSwitchedAt: sec(9), DurationMs: 9000, FullResyncs: 1}},
		{"promoted replica ahead of the last seen offset: no negative gap", []Step{
			{Kind: StepDetected, At: sec(0), Offset: 900},
			{Kind: StepPromoted, At: sec(2), Offset: 1000},
		}, Record{From: "g-0", To: "g-1", Reason: "ReplicasLostMaster", DetectedAt: sec(0), PromotedAt: sec(2)}},
		{"not finished: no duration", []Step{
			{Kind: StepDetected, At: sec(0), Offset: 900},
			{Kind: StepFenced, At: sec(1)},
		}, Record{From: "g-0", To: "g-1", Reason: "ReplicasLostMaster", DetectedAt: sec(0), FencedAt: sec(1)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := BuildRecord("g-0", "g-1", "ReplicasLostMaster", c.steps); got != c.want {
				t.Fatalf("BuildRecord =\n%+v\nwant\n%+v", got, c.want)
			}
		})
	}
}

// TestPredictedResyncSteps checks predictions become sorted resync milestones.
func TestPredictedResyncSteps(t *testing.T) {
	steps := PredictedResyncSteps(map[string]ResyncPrediction{
		"g-2": {Mode: ResyncPartial}, "g-0": {Mode: ResyncFull}, "g-1": {Mode: ResyncFull}}, t0)
	want := []Step{{Kind: StepResynced, At: t0, Member: "g-0", Full: true},
		{Kind: StepResynced, At: t0, Member: "g-1", Full: true}, {Kind: StepResynced, At: t0, Member: "g-2"}}
	if len(steps) != len(want) {
		t.Fatalf("steps %+v", steps)
	}
	for i := range want {
		if steps[i] != want[i] {
			t.Fatalf("step %d = %+v, want %+v", i, steps[i], want[i])
		}
	}
	if r := BuildRecord("g-0", "g-1", "x", steps); r.FullResyncs != 2 {
		t.Fatalf("record counts %d full resyncs", r.FullResyncs)
	}
}
