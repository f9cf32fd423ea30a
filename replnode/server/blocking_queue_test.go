package server

import (
	"math"
	"slices"
	"testing"
)

// fakeLists is a tiny keyspace of list lengths for driving blockQueues.
type fakeLists map[string]int

func (f fakeLists) kindOf(_ int, key string) blockKind {
	if f[key] > 0 {
		return blockOnList
	}
	return 0
}

// waiterFor builds a list waiter that pops one element and logs who got it.
func waiterFor(name string, keys []string, data fakeLists, log *[]string) *blockedWaiter {
	return &blockedWaiter{
		owner: name, keys: keys, kind: blockOnList,
		serve: func(key string) bool {
			if data[key] == 0 {
				return false
			}
			data[key]--
			*log = append(*log, name+"<-"+key)
			return true
		},
	}
}

func TestBlockQueuesFIFOPerKey(t *testing.T) {
	data := fakeLists{}
	var log []string
	q := newBlockQueues()
	q.add(waiterFor("c1", []string{"a"}, data, &log))
	q.add(waiterFor("c2", []string{"b", "a"}, data, &log))
	q.add(waiterFor("c3", []string{"a"}, data, &log))

	// Two elements arrive on a: the two oldest waiters on a get them.
	data["a"] = 2
	q.signal(0, "a")
	q.signal(0, "a") // signalled once only
	q.serveReady(data.kindOf)
	if want := []string{"c1<-a", "c2<-a"}; !slices.Equal(log, want) {
		t.Fatalf("served %v want %v", log, want)
	}
	if q.count() != 1 || !q.waiting("c3") || q.waiting("c2") {
		t.Fatal("c2 must be gone from every key, c3 still waiting")
	}
	// c2 was removed from b as well.
	data["b"] = 1
	q.signal(0, "b")
	if q.hasReady() {
		t.Fatal("nobody waits on b any more")
	}
	q.serveReady(data.kindOf)
	if len(log) != 2 {
		t.Fatal("b served someone")
	}
}

func TestBlockQueuesKeysServedInSignalOrder(t *testing.T) {
	data := fakeLists{}
	var log []string
	q := newBlockQueues()
	q.add(waiterFor("c1", []string{"x", "y"}, data, &log))
	q.add(waiterFor("c2", []string{"y"}, data, &log))
	data["y"], data["x"] = 1, 1
	q.signal(0, "y")
	q.signal(0, "x")
	q.serveReady(data.kindOf)
	// y is ready first: c1 (older) takes it; then x has no waiter left.
	if want := []string{"c1<-y"}; !slices.Equal(log, want) {
		t.Fatalf("served %v want %v", log, want)
	}
	if !q.waiting("c2") {
		t.Fatal("c2 keeps waiting")
	}
}

func TestBlockQueuesWrongTypeStaysBlocked(t *testing.T) {
	var log []string
	data := fakeLists{"k": 1}
	q := newBlockQueues()
	z := waiterFor("z", []string{"k"}, data, &log)
	z.kind = blockOnZSet
	q.add(z)
	q.add(waiterFor("l", []string{"k"}, data, &log))
	q.signal(0, "k")
	q.serveReady(data.kindOf)
	if !slices.Equal(log, []string{"l<-k"}) || !q.waiting("z") {
		t.Fatalf("served %v", log)
	}
}

func TestBlockQueuesChainedReady(t *testing.T) {
	// A served waiter pushes to another key (BLMOVE): it is served in the
	// same round.
	data := fakeLists{}
	var log []string
	q := newBlockQueues()
	mover := waiterFor("mover", []string{"src"}, data, &log)
	inner := mover.serve
	mover.serve = func(key string) bool {
		if !inner(key) {
			return false
		}
		data["dst"]++
		q.signal(0, "dst")
		return true
	}
	q.add(mover)
	q.add(waiterFor("popper", []string{"dst"}, data, &log))
	data["src"] = 1
	q.signal(0, "src")
	q.serveReady(data.kindOf)
	if want := []string{"mover<-src", "popper<-dst"}; !slices.Equal(log, want) {
		t.Fatalf("served %v want %v", log, want)
	}
	if q.count() != 0 || q.keyCount() != 0 {
		t.Fatal("registry not empty")
	}
}

func TestBlockQueuesDatabasesAreSeparate(t *testing.T) {
	data := fakeLists{"k": 1}
	var log []string
	q := newBlockQueues()
	w := waiterFor("c", []string{"k"}, data, &log)
	w.db = 1
	q.add(w)
	q.signal(0, "k")
	if q.hasReady() {
		t.Fatal("db 0 key must not wake a db 1 waiter")
	}
	q.signal(1, "k")
	q.serveReady(data.kindOf)
	if len(log) != 1 {
		t.Fatal("not served")
	}
}

func TestBlockQueuesTimeouts(t *testing.T) {
	data := fakeLists{}
	var log []string
	q := newBlockQueues()
	a := waiterFor("a", []string{"k"}, data, &log)
	a.deadlineMs = 2000
	b := waiterFor("b", []string{"k"}, data, &log)
	b.deadlineMs = 1000
	forever := waiterFor("f", []string{"k"}, data, &log)
	q.add(a)
	q.add(b)
	q.add(forever)
	if q.nextDeadline() != 1000 {
		t.Fatal(q.nextDeadline())
	}
	if got := q.expired(999); len(got) != 0 {
		t.Fatal("early expiry")
	}
	got := q.expired(2000)
	if len(got) != 2 || got[0].owner != "a" || got[1].owner != "b" {
		t.Fatalf("expired %v", got)
	}
	if q.count() != 1 || q.nextDeadline() != 0 {
		t.Fatal("forever waiter must remain")
	}
	if !q.remove("f") || q.remove("f") {
		t.Fatal("remove")
	}
}

func TestBlockTimeoutMs(t *testing.T) {
	cases := []struct {
		sec  float64
		now  int64
		want int64
		err  string
	}{
		{0, 100, 0, ""},
		{1.5, 100, 1600, ""},
		{0.0001, 100, 101, ""},
		{-0.0001, 100, 0, ""},
		{-1, 100, 0, "timeout is negative"},
		{math.Inf(1), 100, 0, "timeout is negative"},
		{math.Inf(-1), 100, 0, "timeout is negative"},
		{1e300, 100, 0, "timeout is negative"},
		{math.NaN(), 100, 0, "timeout is not a float or out of range"},
		{9.2e15, 1e17, math.MaxInt64, ""},
	}
	for _, c := range cases {
		got, err := blockTimeoutMs(c.sec, c.now)
		if got != c.want || err != c.err {
			t.Errorf("blockTimeoutMs(%v) = %d,%q want %d,%q", c.sec, got, err, c.want, c.err)
		}
	}
}
