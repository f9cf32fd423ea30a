package replication

import "testing"

func TestDecideFailover(t *testing.T) {
	a := &Replica{IP: "10.0.0.1", ListeningPort: 6379, AckOffset: 90}
	b := &Replica{IP: "10.0.0.2", ListeningPort: 6379, AckOffset: 100}
	c := &Replica{IP: "10.0.0.3", ListeningPort: 6380, AckOffset: 100}
	all := []*Replica{a, b, c}
	tests := []struct {
		name     string
		now      int64
		w        FailoverWait
		replicas []*Replica
		step     FailoverStep
		host     string
		port     int
	}{
		{"any: the first caught-up replica", 0, FailoverWait{}, all, FailoverStart, "10.0.0.2", 6379},
		{"any: none caught up", 0, FailoverWait{}, []*Replica{a}, FailoverKeepWaiting, "", 0},
		{"designated, caught up", 0, FailoverWait{Host: "10.0.0.3", Port: 6380}, all, FailoverStart, "10.0.0.3", 6380},
		{"designated host matches case-insensitively", 0, FailoverWait{Host: "Replica.Example", Port: 7000},
			[]*Replica{{IP: "replica.example", ListeningPort: 7000, AckOffset: 100}}, FailoverStart, "replica.example", 7000},
		{"designated, behind: wait even if another is caught up", 0, FailoverWait{Host: "10.0.0.1", Port: 6379}, all, FailoverKeepWaiting, "10.0.0.1", 6379},
		{"designated, gone", 0, FailoverWait{Host: "10.0.0.9", Port: 1}, all, FailoverKeepWaiting, "10.0.0.9", 1},
		{"timeout without force aborts", 1000, FailoverWait{Host: "10.0.0.2", Port: 6379, EndMs: 1000}, all, FailoverAbort, "10.0.0.2", 6379},
		{"timeout with force fails over to the behind target", 1000, FailoverWait{Host: "10.0.0.1", Port: 6379, EndMs: 1000, Force: true}, all, FailoverStart, "10.0.0.1", 6379},
		{"before the timeout the check goes on", 999, FailoverWait{Host: "10.0.0.1", Port: 6379, EndMs: 1000, Force: true}, all, FailoverKeepWaiting, "10.0.0.1", 6379},
	}
	for _, tc := range tests {
		step, host, port := DecideFailover(tc.now, tc.w, tc.replicas, 100)
		if step != tc.step || host != tc.host || port != tc.port {
			t.Errorf("%s: got %v %s:%d, want %v %s:%d", tc.name, step, host, port, tc.step, tc.host, tc.port)
		}
	}
	if r := FindReplica(all, "10.0.0.2", 6379); r != b {
		t.Errorf("FindReplica = %v", r)
	}
	if r := FindReplica(all, "10.0.0.2", 6380); r != nil {
		t.Errorf("FindReplica on the wrong port = %v", r)
	}
}
