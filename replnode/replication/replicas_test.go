package replication

import (
	"reflect"
	"testing"
)

func TestReplicasInfoAndGoodCount(t *testing.T) {
	rs := NewReplicas()
	rs.Add(&Replica{ClientID: 7, IP: "127.0.0.1", ListeningPort: 6380, State: ReplicaOnline, AckOffset: 100, AckTimeMs: 10_000})
	rs.Add(&Replica{ClientID: 9, IP: "127.0.0.1", ListeningPort: 6381, State: ReplicaWaitBgsaveEnd})
	rs.Add(&Replica{ClientID: 11, IP: "10.0.0.2", ListeningPort: 6382, State: ReplicaOnline, AckOffset: 90, AckTimeMs: 12_500})
	if !rs.Ack(7, 80, 13_000) || rs.Ack(99, 1, 0) {
		t.Fatal("Ack on known/unknown replica")
	}
	got := rs.InfoLines(14_200)
	want := []string{
		"slave0:ip=127.0.0.1,port=6380,state=online,offset=100,lag=1",
		"slave1:ip=127.0.0.1,port=6381,state=wait_bgsave,offset=0,lag=0",
		"slave2:ip=10.0.0.2,port=6382,state=online,offset=90,lag=2",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("InfoLines:\n%q\nwant\n%q", got, want)
	}
	rs.CaughtUp(7, 13_000)
	rs.CaughtUp(7, 12_000) // never back
	rs.CaughtUp(11, 12_500)
	if n := rs.GoodCount(14_200, 1500); n != 1 {
		t.Fatalf("GoodCount(maxlag 1.5s) = %d", n)
	}
	if n := rs.GoodCount(14_200, 10_000); n != 2 {
		t.Fatalf("GoodCount(maxlag 10) = %d, the wait_bgsave replica must not count", n)
	}
	if !rs.Remove(9) || rs.Remove(9) || rs.Len() != 2 || rs.List()[1].ClientID != 11 {
		t.Fatal("Remove keeps order")
	}
	for _, c := range []struct {
		toWrite, maxLag int64
		good            int
		ok              bool
	}{{0, 10, 0, true}, {2, 0, 0, true}, {2, 10, 1, false}, {2, 10, 2, true}} {
		if WritesAllowed(c.toWrite, c.maxLag, c.good) != c.ok {
			t.Fatalf("WritesAllowed(%+v)", c)
		}
	}
}

func TestWaits(t *testing.T) {
	rs := NewReplicas()
	rs.Add(&Replica{ClientID: 1, State: ReplicaOnline, AckOffset: 50})
	rs.Add(&Replica{ClientID: 2, State: ReplicaOnline, AckOffset: 40})
	rs.Add(&Replica{ClientID: 3, State: ReplicaSendBulk, AckOffset: 100})
	var w Waits
	if n, done := w.Begin(Waiter{ClientID: 10, Offset: 45, NumReplicas: 1}, rs); !done || n != 1 {
		t.Fatalf("immediate WAIT: %d %v", n, done)
	}
	if _, done := w.Begin(Waiter{ClientID: 11, Offset: 60, NumReplicas: 2, DeadlineMs: 5000}, rs); done {
		t.Fatal("WAIT 2 at offset 60 must block")
	}
	if _, done := w.Begin(Waiter{ClientID: 12, Offset: 60, NumReplicas: 1}, rs); done {
		t.Fatal("WAIT 1 at offset 60 must block")
	}
	if r := w.Process(1000, rs); len(r) != 0 {
		t.Fatalf("nothing acked yet: %+v", r)
	}
	rs.Ack(1, 60, 1100)
	if r := w.Process(1100, rs); !reflect.DeepEqual(r, []WaitResult{{12, 1}}) {
		t.Fatalf("after one ack: %+v", r)
	}
	if r := w.Process(5000, rs); !reflect.DeepEqual(r, []WaitResult{{11, 1}}) {
		t.Fatalf("timeout: %+v", r)
	}
	_, _ = w.Begin(Waiter{ClientID: 13, Offset: 999, NumReplicas: 3}, rs)
	w.Cancel(13)
	if w.Len() != 0 {
		t.Fatal("Cancel")
	}
	_, _ = w.Begin(Waiter{ClientID: 14, Offset: 999, NumReplicas: 3}, rs)
	_, _ = w.Begin(Waiter{ClientID: 15, Offset: 999, NumReplicas: 3, DeadlineMs: 1}, rs)
	if ids := w.DrainAll(); !reflect.DeepEqual(ids, []int64{14, 15}) || w.Len() != 0 {
		t.Fatalf("DrainAll = %v", ids)
	}
}
