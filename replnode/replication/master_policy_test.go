package replication

import "testing"

func TestDecideSyncStart(t *testing.T) {
	eof := func(since int64) WaitingReplica { return WaitingReplica{CapaEOF: true, WaitSinceMs: since} }
	cases := []struct {
		name     string
		now      int64
		waiting  []WaitingReplica
		policy   SyncPolicy
		start    bool
		diskless bool
	}{
		{"nobody waits", 100, nil, SyncPolicy{Diskless: true}, false, false},
		{"disk starts at once", 100, []WaitingReplica{{WaitSinceMs: 100}}, SyncPolicy{Diskless: false, DelayMs: 5000}, true, false},
		{"diskless waits for the delay", 4000, []WaitingReplica{eof(0)}, SyncPolicy{Diskless: true, DelayMs: 5000}, false, true},
		{"diskless after the delay", 5000, []WaitingReplica{eof(0), eof(4900)}, SyncPolicy{Diskless: true, DelayMs: 5000}, true, true},
		{"delay 0", 7, []WaitingReplica{eof(7)}, SyncPolicy{Diskless: true}, true, true},
		{"max replicas reached early", 10, []WaitingReplica{eof(0), eof(5)}, SyncPolicy{Diskless: true, DelayMs: 60000, MaxReplicas: 2}, true, true},
		{"max replicas not reached", 10, []WaitingReplica{eof(0)}, SyncPolicy{Diskless: true, DelayMs: 60000, MaxReplicas: 2}, false, true},
		{"one replica without capa eof forces disk", 10, []WaitingReplica{eof(0), {WaitSinceMs: 5}}, SyncPolicy{Diskless: true, DelayMs: 60000}, true, false},
	}
	for _, c := range cases {
		start, diskless := DecideSyncStart(c.now, c.waiting, c.policy)
		if start != c.start || (start && diskless != c.diskless) {
			t.Errorf("%s: start=%v diskless=%v, want %v %v", c.name, start, diskless, c.start, c.diskless)
		}
	}
}

func TestBufferLimit(t *testing.T) {
	def := ParseReplicaBufferLimit("normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60")
	if def != (BufferLimit{Hard: 268435456, Soft: 67108864, SoftSeconds: 60}) {
		t.Fatalf("default parsed as %+v", def)
	}
	if l := ParseReplicaBufferLimit("normal 0 0 0 pubsub 1 1 1"); l != (BufferLimit{}) {
		t.Fatalf("no replica class: %+v", l)
	}
	if l := ParseReplicaBufferLimit("replica x 0 0"); l != (BufferLimit{}) {
		t.Fatalf("malformed: %+v", l)
	}
	l := BufferLimit{Hard: 1000, Soft: 500, SoftSeconds: 10}
	steps := []struct {
		used, since, now int64
		close            bool
		newSince         int64
	}{
		{100, 0, 1000, false, 0},        // under both
		{600, 0, 1000, false, 1000},     // over soft: the clock starts
		{700, 1000, 11999, false, 1000}, // 10 whole seconds: not more than 10
		{700, 1000, 12000, true, 1000},  // 11 s over soft
		{400, 1000, 12500, false, 0},    // back under: the clock resets
		{1000, 0, 13000, true, 0},       // hard limit at once
	}
	for i, s := range steps {
		closeNow, since := l.Check(s.used, s.since, s.now)
		if closeNow != s.close || since != s.newSince {
			t.Errorf("step %d: close=%v since=%d, want %v %d", i, closeNow, since, s.close, s.newSince)
		}
	}
	if closeNow, _ := (BufferLimit{Soft: 10}).Check(20, 0, 5); closeNow {
		t.Error("the first time over a 0-second soft limit only starts the clock")
	}
	if closeNow, _ := (BufferLimit{Soft: 10}).Check(20, 5, 1000); !closeNow {
		t.Error("a 0-second soft limit closes a second later")
	}
	if closeNow, _ := (BufferLimit{}).Check(1<<40, 0, 5); closeNow {
		t.Error("no limit never closes")
	}
}
