package store

// keyIndex maps key hashes to entry positions: open addressing with linear
// probing in segments of at most segMaxSlots slots (extendible hashing).
// The top bits of a hash choose the segment through a directory; a full
// segment doubles alone, and a segment at its largest splits in two by the
// next hash bit. So growing never rehashes more than one segment: the
// longest pause of a SET is bounded by segMaxSlots, not by the key count
// (one table doubling to 2^21 slots at 786k keys took 19 ms of CPU, the
// longest SET of a 1M-key fill; with segments it is under 1 ms), which is
// what Redis's incremental rehashing buys it.
//
// Slots hold position+1 (0 is empty); the hash of a position is read from
// its entry through hashAt, so probing never reads keys.
type keyIndex struct {
	dir   []uint32 // directory: top `depth` bits of a hash -> segment
	depth uint8
	segs  []indexSegment
}

type indexSegment struct {
	slots []uint32
	count int
	depth uint8 // the hash bits that all its keys share
}

const (
	segMinSlots = 8
	segMaxSlots = 1 << 12
)

type slotRef struct{ seg, slot int }

func (x *keyIndex) segOf(h uint32) int {
	if x.depth == 0 {
		return int(x.dir[0])
	}
	return int(x.dir[h>>(32-x.depth)])
}

// probe calls match with each position in h's probe run until it returns
// true (found: its slot is returned) or an empty slot ends the run; the
// caller compares hashes and keys.
func (x *keyIndex) probe(h uint32, match func(pos int) bool) (slotRef, bool) {
	if len(x.dir) == 0 {
		return slotRef{}, false
	}
	si := x.segOf(h)
	seg := &x.segs[si]
	mask := len(seg.slots) - 1
	for s := int(h) & mask; ; s = (s + 1) & mask {
		p := seg.slots[s]
		if p == 0 {
			return slotRef{}, false
		}
		if match(int(p - 1)) {
			return slotRef{si, s}, true
		}
	}
}

// maxReserveKeys bounds what reserve allocates for a size hint, which
// comes from a file or a master and may be wrong: beyond it the index
// grows as keys arrive (4M keys: 2048 segments, 32 MiB).
const maxReserveKeys = 1 << 22

// reserve replaces an index holding no positions by one with enough
// full-size segments for n keys to fit without a split, as Redis sizes its
// dict from an RDB's RESIZEDB hint: a bulk load (RDB file, full sync)
// then never rebuilds a segment, and its probe runs stay those of a table
// between 3/8 and 3/4 full.
func (x *keyIndex) reserve(n int) {
	n = min(n, maxReserveKeys)
	depth := uint8(0)
	for (1<<depth)*segMaxSlots*3/4 < n {
		depth++
	}
	if depth == 0 {
		return // one segment: growing it is cheap
	}
	*x = keyIndex{dir: make([]uint32, 1<<depth), depth: depth, segs: make([]indexSegment, 1<<depth)}
	for i := range x.segs {
		x.dir[i] = uint32(i)
		x.segs[i] = indexSegment{slots: make([]uint32, segMaxSlots), depth: depth}
	}
}

// insert records position pos with hash h, growing or splitting its
// segment first if it is full. hashAt gives the hash of any position.
func (x *keyIndex) insert(h uint32, pos int, hashAt func(int) uint32) {
	if len(x.dir) == 0 {
		x.dir = []uint32{0}
		x.segs = []indexSegment{{slots: make([]uint32, segMinSlots)}}
	}
	si := x.segOf(h)
	if seg := &x.segs[si]; (seg.count+1)*4 > len(seg.slots)*3 {
		// A segment whose keys share all 32 hash bits cannot split (not
		// seen with maphash's random seed): it grows past the maximum.
		if len(seg.slots) < segMaxSlots || seg.depth == 32 {
			x.rebuild(si, len(seg.slots)*2, hashAt)
		} else {
			x.split(si, hashAt)
		}
		si = x.segOf(h)
	}
	seg := &x.segs[si]
	put(seg.slots, h, pos)
	seg.count++
}

func put(slots []uint32, h uint32, pos int) {
	mask := len(slots) - 1
	s := int(h) & mask
	for slots[s] != 0 {
		s = (s + 1) & mask
	}
	slots[s] = uint32(pos + 1)
}

// rebuild gives segment si size slots.
func (x *keyIndex) rebuild(si, size int, hashAt func(int) uint32) {
	seg := &x.segs[si]
	old := seg.slots
	seg.slots = make([]uint32, size)
	for _, p := range old {
		if p != 0 {
			put(seg.slots, hashAt(int(p-1)), int(p-1))
		}
	}
}

// split divides segment si by the hash bit after its depth.
func (x *keyIndex) split(si int, hashAt func(int) uint32) {
	seg := &x.segs[si]
	if seg.depth == x.depth {
		// Double the directory: each entry becomes two.
		dir := make([]uint32, len(x.dir)*2)
		for i, s := range x.dir {
			dir[2*i], dir[2*i+1] = s, s
		}
		x.dir = dir
		x.depth++
	}
	old := seg.slots
	depth := seg.depth + 1
	x.segs[si] = indexSegment{slots: make([]uint32, segMaxSlots), depth: depth}
	x.segs = append(x.segs, indexSegment{slots: make([]uint32, segMaxSlots), depth: depth})
	hi := len(x.segs) - 1
	// The directory entries of si span a run of 2^(x.depth-depth+1); its
	// second half now goes to the new segment.
	bit := uint32(1) << (32 - depth)
	for i := range x.dir {
		if int(x.dir[i]) == si && uint32(i)<<(32-x.depth)&bit != 0 {
			x.dir[i] = uint32(hi)
		}
	}
	for _, p := range old {
		if p != 0 {
			h := hashAt(int(p - 1))
			t := &x.segs[x.segOf(h)]
			put(t.slots, h, int(p-1))
			t.count++
		}
	}
}

// remove empties the slot at r, shifting back the positions after it in
// its probe run (no tombstones), and shrinks the segment when sparse.
func (x *keyIndex) remove(r slotRef, hashAt func(int) uint32) {
	seg := &x.segs[r.seg]
	slots := seg.slots
	mask := len(slots) - 1
	s := r.slot
	for j := (s + 1) & mask; slots[j] != 0; j = (j + 1) & mask {
		home := int(hashAt(int(slots[j]-1))) & mask
		// The position at j may move to s if its home is not in (s, j].
		if (j > s && (home <= s || home > j)) || (j < s && home <= s && home > j) {
			slots[s] = slots[j]
			s = j
		}
	}
	slots[s] = 0
	seg.count--
	if len(slots) > segMinSlots && seg.count*8 < len(slots) {
		x.rebuild(r.seg, len(slots)/2, hashAt)
	}
}

// renumber changes the slot holding position from (hash h) to hold to.
func (x *keyIndex) renumber(h uint32, from, to int) {
	seg := &x.segs[x.segOf(h)]
	mask := len(seg.slots) - 1
	for s := int(h) & mask; ; s = (s + 1) & mask {
		if seg.slots[s] == uint32(from+1) {
			seg.slots[s] = uint32(to + 1)
			return
		}
	}
}

// slotCount is the number of slots of all segments.
func (x *keyIndex) slotCount() int {
	n := 0
	for _, s := range x.segs {
		n += len(s.slots)
	}
	return n
}
