package replication

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// stream returns n deterministic bytes whose value encodes their absolute
// offset, so any misplaced byte shows up in comparisons.
func stream(from int64, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = byte('a' + (from+int64(i))%26)
	}
	return out
}

func TestBacklogOffsets(t *testing.T) {
	cases := []struct {
		name       string
		size       int
		start      int64 // master_repl_offset when created
		appends    []int
		first      int64
		histlen    int64
		end        int64
		covered    []int64
		notCovered []int64
	}{
		{"fresh backlog covers only end+1", 8, 0, nil, 1, 0, 0, []int64{1}, []int64{0, 2}},
		{"fresh at offset 100", 8, 100, nil, 101, 0, 100, []int64{101}, []int64{100, 102}},
		{"partly filled", 8, 0, []int{5}, 1, 5, 5, []int64{1, 3, 6}, []int64{0, 7}},
		{"exactly full", 8, 0, []int{8}, 1, 8, 8, []int64{1, 9}, []int64{0, 10}},
		{"wrapped once", 8, 0, []int{5, 6}, 4, 8, 11, []int64{4, 11, 12}, []int64{3, 13}},
		{"one append larger than ring", 8, 10, []int{3, 20}, 26, 8, 33, []int64{26, 34}, []int64{25, 35}},
		{"many small wraps", 5, 0, []int{2, 2, 2, 2, 2, 2, 2}, 10, 5, 14, []int64{10, 15}, []int64{9, 16}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := NewBacklog(c.size, c.start)
			off := c.start + 1
			for _, n := range c.appends {
				b.Append(stream(off, n))
				off += int64(n)
			}
			if b.FirstByteOffset() != c.first || b.HistLen() != c.histlen || b.EndOffset() != c.end {
				t.Fatalf("first=%d histlen=%d end=%d, want %d %d %d", b.FirstByteOffset(), b.HistLen(), b.EndOffset(), c.first, c.histlen, c.end)
			}
			for _, o := range c.covered {
				got, err := b.ReadFrom(o)
				if err != nil {
					t.Fatalf("ReadFrom(%d): %v", o, err)
				}
				if want := stream(o, int(c.end-o+1)); !bytes.Equal(got, want) {
					t.Fatalf("ReadFrom(%d) = %q, want %q", o, got, want)
				}
			}
			for _, o := range c.notCovered {
				if _, err := b.ReadFrom(o); err == nil || b.Covers(o) {
					t.Fatalf("offset %d should not be covered", o)
				}
			}
		})
	}
}

func TestBacklogResizeKeepsNewest(t *testing.T) {
	b := NewBacklog(10, 0)
	b.Append(stream(1, 13)) // holds 4..13
	b.Resize(4)
	if b.FirstByteOffset() != 10 || b.HistLen() != 4 || b.EndOffset() != 13 {
		t.Fatalf("after shrink: first=%d histlen=%d end=%d", b.FirstByteOffset(), b.HistLen(), b.EndOffset())
	}
	got, _ := b.ReadFrom(10)
	if !bytes.Equal(got, stream(10, 4)) {
		t.Fatalf("after shrink read %q", got)
	}
	b.Resize(16)
	b.Append(stream(14, 3))
	got, _ = b.ReadFrom(10)
	if !bytes.Equal(got, stream(10, 7)) || b.HistLen() != 7 {
		t.Fatalf("after grow read %q histlen %d", got, b.HistLen())
	}
}

func TestShiftReplicationID(t *testing.T) {
	id := NewIdentity(strings.Repeat("a", 40))
	id.Offset = 1000
	line := id.ShiftReplicationID(strings.Repeat("b", 40))
	if id.ReplID2 != strings.Repeat("a", 40) || id.SecondOffset != 1001 || id.ReplID != strings.Repeat("b", 40) {
		t.Fatalf("identity after shift: %+v", id)
	}
	want := "Setting secondary replication ID to " + strings.Repeat("a", 40) + ", valid up to offset: 1001. New replication ID is " + strings.Repeat("b", 40)
	if line != want {
		t.Fatalf("log line %q", line)
	}
	id.ClearReplID2()
	if id.ReplID2 != ZeroReplID || id.SecondOffset != -1 {
		t.Fatalf("after clear: %+v", id)
	}
	r, err := NewReplID(bytes.NewReader(bytes.Repeat([]byte{0xab}, 20)))
	if err != nil || r != strings.Repeat("ab", 20) || !ValidReplID(r) {
		t.Fatalf("NewReplID = %q, %v", r, err)
	}
	if _, err := NewReplID(bytes.NewReader(nil)); err == nil {
		t.Fatal("NewReplID from an empty reader should fail")
	}
}

// The backlog grows with the stream instead of taking repl-backlog-size
// at once (that memory counts for maxmemory), and behaves as a ring of
// that size all along: checked against the plain stream over random feeds
// and resizes.
func TestBacklogGrowsLazilyAndMatchesTheStream(t *testing.T) {
	b := NewBacklog(1<<20, 100)
	if cap(b.buf) != 0 {
		t.Fatalf("a new backlog holds %d bytes", cap(b.buf))
	}
	b.Append([]byte("0123456789"))
	if cap(b.buf) > 4096 {
		t.Fatalf("10 bytes fed, backlog holds %d", cap(b.buf))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		size := 1 + rng.IntN(64)
		start := int64(rng.IntN(1000))
		b := NewBacklog(size, start)
		var stream []byte
		for step := 0; step < 50; step++ {
			if rng.IntN(10) == 0 {
				size = 1 + rng.IntN(64)
				b.Resize(size)
				if len(stream) > size {
					stream = stream[len(stream)-size:]
				}
				continue
			}
			p := make([]byte, rng.IntN(2*size+1))
			for i := range p {
				p[i] = byte(rng.IntN(256))
			}
			b.Append(p)
			stream = append(stream, p...)
			if len(stream) > size {
				stream = stream[len(stream)-size:]
			}
			if b.HistLen() != int64(len(stream)) || cap(b.buf) > size {
				t.Fatalf("trial %d: histlen %d (cap %d), want %d (size %d)", trial, b.HistLen(), cap(b.buf), len(stream), size)
			}
			got, err := b.ReadFrom(b.FirstByteOffset())
			if err != nil || !bytes.Equal(got, stream) {
				t.Fatalf("trial %d step %d: backlog %x, want %x (%v)", trial, step, got, stream, err)
			}
		}
	}
}
