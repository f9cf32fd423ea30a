package store

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
)

// ids builds a stream with entries <ms>-1 for each ms, one field each, in
// nodes of at most perNode entries.
func streamOf(perNode int64, ms ...uint64) *Stream {
	s := NewStream()
	for _, m := range ms {
		s.Append(StreamID{m, 1}, [][]byte{[]byte("f"), []byte(fmt.Sprint(m))}, StreamLimits{NodeMaxBytes: 4096, NodeMaxEntries: perNode})
	}
	return s
}

func liveIDs(s *Stream) []uint64 {
	var out []uint64
	s.Range(StreamID{}, MaxStreamID, false, func(id StreamID, _ [][]byte) bool {
		out = append(out, id.Ms)
		return true
	})
	return out
}

// TestStreamTrim is streamTrim's table: exact trimming flags entries inside
// the first node it cannot drop whole; approximate trimming drops whole
// nodes only; LIMIT stops before a node that would exceed it.
func TestStreamTrim(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    TrimArgs
		deleted int64
		left    string
		nodes   int
	}{
		{"maxlen exact", TrimArgs{Strategy: TrimMaxLen, MaxLen: 7}, 3, "[4 5 6 7 8 9 10]", 3},
		{"maxlen approx keeps a partial node", TrimArgs{Strategy: TrimMaxLen, MaxLen: 7, Approx: true}, 0, "[1 2 3 4 5 6 7 8 9 10]", 3},
		{"maxlen approx drops whole nodes", TrimArgs{Strategy: TrimMaxLen, MaxLen: 5, Approx: true}, 4, "[5 6 7 8 9 10]", 2},
		{"maxlen approx limited", TrimArgs{Strategy: TrimMaxLen, MaxLen: 1, Approx: true, Limit: 6}, 4, "[5 6 7 8 9 10]", 2},
		{"maxlen 0 exact", TrimArgs{Strategy: TrimMaxLen}, 10, "[]", 0},
		{"minid exact", TrimArgs{Strategy: TrimMinID, MinID: StreamID{6, 0}}, 5, "[6 7 8 9 10]", 2},
		{"minid approx", TrimArgs{Strategy: TrimMinID, MinID: StreamID{6, 0}, Approx: true}, 4, "[5 6 7 8 9 10]", 2},
		{"minid below the first", TrimArgs{Strategy: TrimMinID, MinID: StreamID{1, 1}}, 0, "[1 2 3 4 5 6 7 8 9 10]", 3},
		{"none", TrimArgs{}, 0, "[1 2 3 4 5 6 7 8 9 10]", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := streamOf(4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
			if got := s.Trim(tc.args); got != tc.deleted {
				t.Errorf("deleted %d, want %d", got, tc.deleted)
			}
			if got := fmt.Sprint(liveIDs(s)); got != tc.left {
				t.Errorf("left %s, want %s", got, tc.left)
			}
			if s.NodeCount() != tc.nodes {
				t.Errorf("%d nodes, want %d", s.NodeCount(), tc.nodes)
			}
			if want := uint64(len(liveIDs(s))); s.Len() != want {
				t.Errorf("length %d, want %d", s.Len(), want)
			}
			if s.Len() > 0 && s.FirstID != s.EdgeID(true, true) {
				t.Errorf("first ID %v, first entry %v", s.FirstID, s.EdgeID(true, true))
			}
		})
	}
}

// TestStreamDeleteDropsEmptyNodes: XDEL flags entries, and the node goes
// when its last live entry does, tombstones and all.
func TestStreamDeleteDropsEmptyNodes(t *testing.T) {
	s := streamOf(3, 1, 2, 3, 4, 5)
	for _, ms := range []uint64{2, 1} {
		if !s.Delete(StreamID{ms, 1}) {
			t.Fatalf("delete %d failed", ms)
		}
	}
	if s.Delete(StreamID{2, 1}) || s.Delete(StreamID{9, 1}) {
		t.Fatal("deleted a tombstone or a missing entry")
	}
	if s.NodeCount() != 2 {
		t.Fatalf("%d nodes", s.NodeCount())
	}
	s.Delete(StreamID{3, 1})
	if s.NodeCount() != 1 || fmt.Sprint(liveIDs(s)) != "[4 5]" || s.Len() != 2 {
		t.Fatalf("nodes %d, live %v, len %d", s.NodeCount(), liveIDs(s), s.Len())
	}
}

// TestEstimateDistance walks streamEstimateDistanceFromFirstEverEntry's
// cases.
func TestEstimateDistance(t *testing.T) {
	s := streamOf(100, 1, 2, 3, 4)
	for _, tc := range []struct {
		id   StreamID
		want int64
	}{
		{StreamID{4, 1}, 4},                  // last ID: exact
		{StreamID{5, 0}, InvalidEntriesRead}, // future
		{StreamID{1, 1}, 1},                  // first entry, no tombstones
		{StreamID{0, 5}, 0},                  // before the first
		{StreamID{2, 1}, InvalidEntriesRead}, // in the middle
	} {
		if got := s.EstimateDistance(tc.id); got != tc.want {
			t.Errorf("%v: %d, want %d", tc.id, got, tc.want)
		}
	}
	s.Delete(StreamID{2, 1})
	s.MaxDeletedID = StreamID{2, 1}
	if got := s.EstimateDistance(StreamID{0, 5}); got != InvalidEntriesRead {
		t.Errorf("with a tombstone after the first entry: %d", got)
	}
	if !s.RangeHasTombstones(StreamID{1, 0}, nil) || s.RangeHasTombstones(StreamID{3, 0}, nil) {
		t.Error("RangeHasTombstones")
	}
}

// TestRaxNodeCount checks the radix tree shape model on counts redis-server
// 7.0 reports (XINFO STREAM radix-tree-nodes): one key is a compressed node
// and its leaf; keys diverging at a byte share a compressed prefix and a
// branching node, and each keeps a compressed tail and a leaf.
func TestRaxNodeCount(t *testing.T) {
	k := func(ms uint64) []byte { return EncodeStreamID(StreamID{ms, 0}) }
	for _, tc := range []struct {
		keys [][]byte
		want int
	}{
		{nil, 1},
		{[][]byte{k(1)}, 2},
		{[][]byte{k(1), k(2)}, 6},       // prefix, branch, two tails and leaves (redis: 6)
		{[][]byte{k(1), k(2), k(3)}, 8}, // one branch of three
		{[][]byte{k(1), k(1 << 8)}, 6},  // diverging one byte earlier: same shape
	} {
		if got := RaxNodeCount(tc.keys); got != tc.want {
			t.Errorf("%d keys: %d nodes, want %d", len(tc.keys), got, tc.want)
		}
	}
}

// TestStreamCloneIsDeep: a clone shares nothing mutable (copy-on-write
// snapshots rely on it): groups, consumers and PEL entries included.
func TestStreamCloneIsDeep(t *testing.T) {
	s := streamOf(2, 1, 2, 3)
	g := s.CreateGroup([]byte("g"), StreamID{}, 0)
	c := g.CreateConsumer([]byte("c"), 5)
	nack := &PendingEntry{DeliveryTime: 7, DeliveryCount: 1, Consumer: c}
	g.PEL.Insert(StreamID{1, 1}, nack)
	c.PEL.Insert(StreamID{1, 1}, nack)
	cl := s.Clone().(*Stream)
	cl.Delete(StreamID{1, 1})
	cg := cl.Group([]byte("g"))
	cn, _ := cg.PEL.Get(StreamID{1, 1})
	cn.DeliveryCount = 99
	if cn.Consumer != cg.Consumer([]byte("c")) || cn.Consumer == c {
		t.Fatal("clone's NACK does not point at the clone's consumer")
	}
	if nack.DeliveryCount != 1 || s.Len() != 3 || !s.Exists(StreamID{1, 1}) {
		t.Fatal("changing the clone changed the original")
	}
}

// TestPELOrder checks the chunked PEL against a sorted slice through
// inserts and removals in random order, across chunk splits and empty
// chunks: Len, Next from any point, First, Last and Ascend.
func TestPELOrder(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	var p PEL
	want := map[StreamID]bool{}
	check := func() {
		t.Helper()
		var ids []StreamID
		for id := range want {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i].Less(ids[j]) })
		if p.Len() != len(ids) {
			t.Fatalf("Len %d, want %d", p.Len(), len(ids))
		}
		var got []StreamID
		p.Ascend(func(id StreamID, _ *PendingEntry) bool { got = append(got, id); return true })
		if fmt.Sprint(got) != fmt.Sprint(ids) {
			t.Fatalf("Ascend out of order")
		}
		if len(ids) > 0 && (p.First() != ids[0] || p.Last() != ids[len(ids)-1]) {
			t.Fatalf("First/Last")
		}
		for k := 0; k < 20; k++ {
			from := StreamID{uint64(rnd.IntN(3000)), uint64(rnd.IntN(3))}
			i := sort.Search(len(ids), func(i int) bool { return !ids[i].Less(from) })
			id, _, ok := p.Next(from)
			if ok != (i < len(ids)) || (ok && id != ids[i]) {
				t.Fatalf("Next(%v) = %v %v", from, id, ok)
			}
		}
	}
	for round := 0; round < 6; round++ {
		for i := 0; i < 1500; i++ {
			id := StreamID{uint64(rnd.IntN(3000)), uint64(rnd.IntN(3))}
			if p.Insert(id, &PendingEntry{}) == want[id] {
				t.Fatalf("Insert(%v) reported wrongly", id)
			}
			want[id] = true
		}
		check()
		for id := range want {
			if rnd.IntN(3) > 0 {
				if !p.Remove(id) {
					t.Fatalf("Remove(%v) failed", id)
				}
				delete(want, id)
			}
		}
		check()
	}
}
