package store

import (
	"bytes"
	"encoding/binary"
)

// ---------------------------------------------------------------- lists

// List is a Redis list (always "quicklist" in Redis 7.0).
//
// While its elements fit in listPackedMax bytes (the 8 KiB node that
// list-max-listpack-size -2 gives a quicklist) it is packed into one byte
// slice, as a single-node quicklist is one listpack: each element is a
// packed entry followed by a back-length (see appendListEntry), so both ends
// are reachable without a scan. Pushes and pops at the head move the slice's
// bytes, as listpack inserts do; access by position walks from the nearer
// end. Beyond that size it becomes a deque of separately allocated
// elements, for good (while the key lives).
//
// Positions in this API are 0-based from the head and must be in range;
// translating Redis's negative indexes is the caller's job (see
// NormalizeIndex).
type List struct {
	lp []byte // packed form
	n  int    // elements in lp
	dq *deque // deque form; nil while packed
}

// listPackedMax is the size up to which a list stays packed: Redis's
// default quicklist node size (list-max-listpack-size -2, 8 KiB).
const listPackedMax = 8 << 10

// NewList returns an empty list.
func NewList() *List { return &List{} }

// Kind reports KindList.
func (*List) Kind() Kind { return KindList }

// Encoding is always "quicklist" in Redis 7.0.
func (*List) Encoding() string { return "quicklist" }

// Clone returns a deep copy.
func (l *List) Clone() Value {
	c := &List{n: l.n}
	if l.dq != nil {
		c.dq = &deque{}
		l.dq.Range(func(e []byte) bool {
			c.dq.PushBack(bytes.Clone(e))
			return true
		})
	} else if len(l.lp) > 0 {
		c.lp = append(make([]byte, 0, len(l.lp)), l.lp...)
	}
	return c
}

// Len is the number of elements.
func (l *List) Len() int {
	if l.dq != nil {
		return l.dq.n
	}
	return l.n
}

// listEntrySize is the packed size of an element of n bytes: its length,
// its bytes, and the back-length.
func listEntrySize(n int) int {
	fwd := uvarintLen(n) + n
	return fwd + uvarintLen(fwd)
}

// putListEntry writes elem at the start of dst, which must have
// listEntrySize(len(elem)) bytes: the packed entry, then the back-length,
// which is the entry's size as a uvarint written back to front, so that it
// can be read from the entry's end (as listpack's backlen).
func putListEntry(dst, elem []byte) {
	writePacked(dst, elem)
	fwd := packedSize(elem)
	var tmp [binary.MaxVarintLen64]byte
	w := binary.PutUvarint(tmp[:], uint64(fwd))
	for i := 0; i < w; i++ {
		dst[fwd+w-1-i] = tmp[i]
	}
}

// listEntryBefore returns the element whose entry ends at end and where
// that entry starts.
func listEntryBefore(p []byte, end int) (elem []byte, start int) {
	var fwd, shift uint64
	pos := end - 1
	for {
		b := p[pos]
		fwd |= uint64(b&0x7f) << shift
		pos--
		if b&0x80 == 0 {
			break
		}
		shift += 7
	}
	start = pos + 1 - int(fwd)
	elem, _ = packedEntry(p, start)
	return elem, start
}

// listEntryAt returns the element at off and the offset past its entry.
func listEntryAt(p []byte, off int) ([]byte, int) {
	elem, next := packedEntry(p, off)
	return elem, next + uvarintLen(next-off)
}

// offsetOf returns where the entry of position i (0 ≤ i ≤ n) starts in lp,
// walking from the nearer end.
func (l *List) offsetOf(i int) int {
	if i <= l.n/2 {
		off := 0
		for ; i > 0; i-- {
			_, off = listEntryAt(l.lp, off)
		}
		return off
	}
	off := len(l.lp)
	for ; i < l.n; i++ {
		_, off = listEntryBefore(l.lp, off)
	}
	return off
}

// insertAt puts elem at position i (0 ≤ i ≤ n) of the packed form, or
// converts to the deque when the list would outgrow listPackedMax.
func (l *List) insertAt(i int, elem []byte) {
	size := listEntrySize(len(elem))
	if len(l.lp)+size > listPackedMax {
		l.toDeque()
		l.dq.Insert(i, bytes.Clone(elem))
		return
	}
	off := len(l.lp)
	if i < l.n {
		off = l.offsetOf(i)
	}
	if off == len(l.lp) {
		l.lp = reservePacked(l.lp, size)[:len(l.lp)+size]
	} else {
		l.lp = replaceRange(l.lp, off, off, size)
	}
	putListEntry(l.lp[off:], elem)
	l.n++
}

// removeRange deletes packed bytes [from, to) holding k elements.
func (l *List) removeRange(from, to, k int) {
	l.lp = trimPacked(replaceRange(l.lp, from, to, 0))
	l.n -= k
	if l.n == 0 {
		l.lp = nil
	}
}

// toDeque switches to the deque form for good.
func (l *List) toDeque() {
	dq := &deque{}
	l.Range(func(e []byte) bool {
		dq.PushBack(bytes.Clone(e))
		return true
	})
	l.dq, l.lp, l.n = dq, nil, 0
}

// PushBack appends a copy of elem at the tail.
func (l *List) PushBack(elem []byte) {
	if l.dq != nil {
		l.dq.PushBack(bytes.Clone(elem))
		return
	}
	l.insertAt(l.n, elem)
}

// PushFront inserts a copy of elem at the head.
func (l *List) PushFront(elem []byte) {
	if l.dq != nil {
		l.dq.PushFront(bytes.Clone(elem))
		return
	}
	l.insertAt(0, elem)
}

// PopFront removes and returns the head element; ok is false on an empty
// list. The element is the caller's.
func (l *List) PopFront() (elem []byte, ok bool) {
	if l.dq != nil {
		return l.dq.PopFront()
	}
	if l.n == 0 {
		return nil, false
	}
	e, next := listEntryAt(l.lp, 0)
	elem = bytes.Clone(e)
	l.removeRange(0, next, 1)
	return elem, true
}

// PopBack removes and returns the tail element; ok is false on an empty
// list. The element is the caller's.
func (l *List) PopBack() (elem []byte, ok bool) {
	if l.dq != nil {
		return l.dq.PopBack()
	}
	if l.n == 0 {
		return nil, false
	}
	e, start := listEntryBefore(l.lp, len(l.lp))
	elem = bytes.Clone(e)
	l.removeRange(start, len(l.lp), 1)
	return elem, true
}

// Index returns the element at position i (0 ≤ i < Len). It shares the
// list's memory: valid until the list is next modified.
func (l *List) Index(i int) []byte {
	if l.dq != nil {
		return l.dq.Index(i)
	}
	e, _ := listEntryAt(l.lp, l.offsetOf(i))
	return e
}

// Set replaces the element at position i (0 ≤ i < Len) with a copy of elem.
func (l *List) Set(i int, elem []byte) {
	if l.dq != nil {
		l.dq.Set(i, bytes.Clone(elem))
		return
	}
	off := l.offsetOf(i)
	_, next := listEntryAt(l.lp, off)
	l.removeRange(off, next, 1)
	l.insertAt(i, elem)
}

// Insert puts a copy of elem at position i (0 ≤ i ≤ Len).
func (l *List) Insert(i int, elem []byte) {
	if l.dq != nil {
		l.dq.Insert(i, bytes.Clone(elem))
		return
	}
	l.insertAt(i, elem)
}

// RemoveAt deletes the element at position i (0 ≤ i < Len).
func (l *List) RemoveAt(i int) {
	if l.dq != nil {
		l.dq.RemoveAt(i)
		return
	}
	off := l.offsetOf(i)
	_, next := listEntryAt(l.lp, off)
	l.removeRange(off, next, 1)
}

// Trim keeps only positions [start, stop] (already normalised and clamped
// by the caller, as LTRIM does); start > stop empties the list.
func (l *List) Trim(start, stop int) {
	if l.dq != nil {
		l.dq.Trim(start, stop)
		return
	}
	start, stop = max(start, 0), min(stop, l.n-1)
	if start > stop {
		l.lp, l.n = nil, 0
		return
	}
	from, to := l.offsetOf(start), l.offsetOf(stop+1)
	l.lp = trimPacked(append(l.lp[:0], l.lp[from:to]...))
	l.n = stop - start + 1
}

// Range calls fn for each element from head to tail until fn returns false.
// Elements share the list's memory.
func (l *List) Range(fn func(elem []byte) bool) {
	if l.dq != nil {
		l.dq.Range(fn)
		return
	}
	l.RangeFrom(0, l.n-1, fn)
}

// RangeFrom calls fn for positions [from, to] (0 ≤ from ≤ to < Len) in
// order until fn returns false.
func (l *List) RangeFrom(from, to int, fn func(elem []byte) bool) {
	c := l.CursorAt(from)
	for i := from; i <= to; i++ {
		if !fn(c.Next()) {
			return
		}
	}
}

// ListCursor walks a list forward, one element per Next, as LRANGE does: one
// pass, not a lookup per position, and no callback per element.
type ListCursor struct {
	l   *List
	off int // packed form: offset of the next entry
	i   int // deque form: next position
}

// CursorAt returns a cursor whose first Next is position i (0 ≤ i ≤ Len).
func (l *List) CursorAt(i int) ListCursor {
	if l.dq != nil {
		return ListCursor{l: l, i: i}
	}
	return ListCursor{l: l, off: l.offsetOf(i)}
}

// Next returns the element under the cursor and moves past it; the caller
// must not call it past the last element. The element shares the list's
// memory: valid until the list is next modified.
func (c *ListCursor) Next() []byte {
	if c.l.dq != nil {
		c.i++
		return c.l.dq.at(c.i - 1)
	}
	e, next := packedEntry(c.l.lp, c.off)
	c.off = next + uvarintLen(next-c.off) // past the back-length
	return e
}

// Elements returns positions [start, stop] (clamped to the list) as a new
// slice sharing the element bytes; callers must not modify them.
func (l *List) Elements(start, stop int) [][]byte {
	start, stop = max(start, 0), min(stop, l.Len()-1)
	if start > stop {
		return nil
	}
	out := make([][]byte, 0, stop-start+1)
	l.RangeFrom(start, stop, func(e []byte) bool { out = append(out, e); return true })
	return out
}

// Find returns the position of the first element equal to pivot, or -1, as
// LINSERT looks its pivot up.
func (l *List) Find(pivot []byte) int {
	i, found := 0, -1
	l.Range(func(e []byte) bool {
		if bytes.Equal(e, pivot) {
			found = i
			return false
		}
		i++
		return true
	})
	return found
}

// Remove deletes elements equal to elem with LREM's semantics: count > 0
// removes the first count from the head, count < 0 the first -count from
// the tail, count == 0 all of them. It returns how many were removed.
func (l *List) Remove(elem []byte, count int64) int64 {
	if l.dq != nil {
		return l.dq.Remove(elem, count)
	}
	var removed int64
	if count < 0 {
		limit := CountMagnitude(count)
		for end := len(l.lp); end > 0 && uint64(removed) < limit; {
			e, start := listEntryBefore(l.lp, end)
			if bytes.Equal(e, elem) {
				l.removeRange(start, end, 1)
				removed++
			}
			end = start
		}
		return removed
	}
	for off := 0; off < len(l.lp) && (count == 0 || removed < count); {
		e, next := listEntryAt(l.lp, off)
		if bytes.Equal(e, elem) {
			l.removeRange(off, next, 1)
			removed++
			continue
		}
		off = next
	}
	return removed
}

// Positions implements LPOS: the positions of elements equal to elem,
// scanning from the head when rank > 0 or from the tail when rank < 0,
// skipping the first |rank|-1 matches, returning at most count matches
// (0 = all) and comparing at most maxlen elements (0 = all). rank must not
// be 0.
func (l *List) Positions(elem []byte, rank, count, maxlen int64) []int {
	if l.dq != nil {
		return l.dq.Positions(elem, rank, count, maxlen)
	}
	// The packed form is at most listPackedMax bytes: a view by position
	// costs one small allocation and keeps one walk for both directions.
	es := l.Elements(0, l.n-1)
	return positions(len(es), func(i int) []byte { return es[i] }, elem, rank, count, maxlen)
}

// deque is the form of a list too big to pack: a ring of fixed-size blocks
// of element slots, so pushes and pops at both ends are O(1) and access by
// index is O(1). Growing adds one block and, now and then, doubles the
// ring of block pointers: it never copies the elements themselves, so no
// single push stalls on a big list (a flat ring buffer copying every slot
// at each doubling stalled several milliseconds at 500k elements).
// Insertion and removal in the middle move the shorter side.
type deque struct {
	blocks []*dequeBlock // ring of blocks; length is 0 or a power of two
	first  int           // index in blocks of the block holding element 0
	used   int           // blocks in use, from first on
	head   int           // slot of element 0 in its block
	n      int
}

const (
	dequeBlockShift = 10
	dequeBlockSize  = 1 << dequeBlockShift // element slots per block
)

type dequeBlock [dequeBlockSize][]byte

// ref returns the slot of logical position i.
func (l *deque) ref(i int) *[]byte {
	j := l.head + i
	b := l.blocks[(l.first+j>>dequeBlockShift)&(len(l.blocks)-1)]
	return &b[j&(dequeBlockSize-1)]
}

func (l *deque) at(i int) []byte { return *l.ref(i) }

// setAt stores elem at logical position i.
func (l *deque) setAt(i int, elem []byte) { *l.ref(i) = elem }

// growRing doubles the ring of block pointers (pointers only), keeping
// the blocks in use in order from index 0.
func (l *deque) growRing() {
	nb := make([]*dequeBlock, max(8, 2*len(l.blocks)))
	for k := 0; k < l.used; k++ {
		nb[k] = l.blocks[(l.first+k)&(len(l.blocks)-1)]
	}
	l.blocks, l.first = nb, 0
}

// shrinkRing halves the ring of block pointers once it is mostly empty.
func (l *deque) shrinkRing() {
	if len(l.blocks) <= 8 || l.used >= len(l.blocks)/4 {
		return
	}
	nb := make([]*dequeBlock, len(l.blocks)/2)
	for k := 0; k < l.used; k++ {
		nb[k] = l.blocks[(l.first+k)&(len(l.blocks)-1)]
	}
	l.blocks, l.first = nb, 0
}

// PushBack appends elem at the tail.
func (l *deque) PushBack(elem []byte) {
	if l.head+l.n == l.used*dequeBlockSize {
		if l.used == len(l.blocks) {
			l.growRing()
		}
		l.blocks[(l.first+l.used)&(len(l.blocks)-1)] = new(dequeBlock)
		l.used++
	}
	l.n++
	l.setAt(l.n-1, elem)
}

// PushFront inserts elem at the head.
func (l *deque) PushFront(elem []byte) {
	if l.head == 0 {
		if l.used == len(l.blocks) {
			l.growRing()
		}
		l.first = (l.first - 1) & (len(l.blocks) - 1)
		l.blocks[l.first] = new(dequeBlock)
		l.used++
		l.head = dequeBlockSize
	}
	l.head--
	l.n++
	l.setAt(0, elem)
}

// dropFront removes element 0 (whose slot the caller has read), freeing
// its block once the block is empty.
func (l *deque) dropFront() {
	l.setAt(0, nil)
	l.head++
	l.n--
	if l.head == dequeBlockSize || l.n == 0 {
		l.blocks[l.first] = nil
		l.first = (l.first + 1) & (len(l.blocks) - 1)
		l.used--
		l.head = 0
	}
	l.releaseTail()
}

// dropBack removes the last element (whose slot the caller has read).
func (l *deque) dropBack() {
	l.setAt(l.n-1, nil)
	l.n--
	l.releaseTail()
}

// releaseTail frees the blocks past the last element, and resets an empty
// deque to no blocks at all.
func (l *deque) releaseTail() {
	if l.n == 0 {
		for k := 0; k < l.used; k++ {
			l.blocks[(l.first+k)&(len(l.blocks)-1)] = nil
		}
		l.used, l.head, l.first = 0, 0, 0
		l.shrinkRing()
		return
	}
	need := (l.head + l.n + dequeBlockSize - 1) >> dequeBlockShift
	for l.used > need {
		l.used--
		l.blocks[(l.first+l.used)&(len(l.blocks)-1)] = nil
	}
	l.shrinkRing()
}

// PopFront removes and returns the head element; ok is false on an empty
// list.
func (l *deque) PopFront() (elem []byte, ok bool) {
	if l.n == 0 {
		return nil, false
	}
	elem = l.at(0)
	l.dropFront()
	return elem, true
}

// PopBack removes and returns the tail element; ok is false on an empty
// list.
func (l *deque) PopBack() (elem []byte, ok bool) {
	if l.n == 0 {
		return nil, false
	}
	elem = l.at(l.n - 1)
	l.dropBack()
	return elem, true
}

// Index returns the element at position i (0 ≤ i < Len).
func (l *deque) Index(i int) []byte { return l.at(i) }

// Set replaces the element at position i (0 ≤ i < Len).
func (l *deque) Set(i int, elem []byte) { l.setAt(i, elem) }

// Insert puts elem at position i (0 ≤ i ≤ Len), shifting the shorter side.
func (l *deque) Insert(i int, elem []byte) {
	if i < l.n/2 {
		// Open a slot at the head, then move [0, i) one step towards it.
		l.PushFront(nil)
		for j := 0; j < i; j++ {
			l.setAt(j, l.at(j+1))
		}
	} else {
		// Open a slot at the tail, then move [i, n) one step towards it.
		l.PushBack(nil)
		for j := l.n - 1; j > i; j-- {
			l.setAt(j, l.at(j-1))
		}
	}
	l.setAt(i, elem)
}

// RemoveAt deletes the element at position i (0 ≤ i < Len).
func (l *deque) RemoveAt(i int) {
	if i < l.n/2 {
		for j := i; j > 0; j-- {
			l.setAt(j, l.at(j-1))
		}
		l.dropFront()
	} else {
		for j := i; j < l.n-1; j++ {
			l.setAt(j, l.at(j+1))
		}
		l.dropBack()
	}
}

// Trim keeps only positions [start, stop] (already normalised and clamped
// by the caller, as LTRIM does); start > stop empties the list.
func (l *deque) Trim(start, stop int) {
	start, stop = max(start, 0), min(stop, l.n-1)
	if start > stop {
		start, stop = l.n, l.n-1 // drop everything from the tail
	}
	for l.n > stop+1 {
		l.dropBack()
	}
	for ; start > 0; start-- {
		l.dropFront()
	}
}

// Range calls fn for each element from head to tail until fn returns false.
func (l *deque) Range(fn func(elem []byte) bool) {
	for i := 0; i < l.n; i++ {
		if !fn(l.at(i)) {
			return
		}
	}
}

// Elements returns positions [start, stop] (clamped to the list) as a new
// slice sharing the element bytes; callers must not modify them.
func (l *deque) Elements(start, stop int) [][]byte {
	if start < 0 {
		start = 0
	}
	if stop >= l.n {
		stop = l.n - 1
	}
	if start > stop {
		return nil
	}
	out := make([][]byte, 0, stop-start+1)
	for i := start; i <= stop; i++ {
		out = append(out, l.at(i))
	}
	return out
}

// Find returns the position of the first element equal to pivot, or -1, as
// LINSERT looks its pivot up.
func (l *deque) Find(pivot []byte) int {
	for i := 0; i < l.n; i++ {
		if string(l.at(i)) == string(pivot) {
			return i
		}
	}
	return -1
}

// Remove deletes elements equal to elem with LREM's semantics: count > 0
// removes the first count from the head, count < 0 the first -count from
// the tail, count == 0 all of them. It returns how many were removed.
func (l *deque) Remove(elem []byte, count int64) int64 {
	var removed int64
	if count < 0 {
		// Walk from the tail, then compact once.
		limit := CountMagnitude(count)
		keep := make([]bool, l.n)
		for i := range keep {
			keep[i] = true
		}
		for i := l.n - 1; i >= 0 && uint64(removed) < limit; i-- {
			if string(l.at(i)) == string(elem) {
				keep[i] = false
				removed++
			}
		}
		l.compact(keep)
		return removed
	}
	keep := make([]bool, l.n)
	for i := 0; i < l.n; i++ {
		if (count == 0 || removed < count) && string(l.at(i)) == string(elem) {
			removed++
			continue
		}
		keep[i] = true
	}
	if removed > 0 {
		l.compact(keep)
	}
	return removed
}

// compact keeps the elements whose keep flag is set, in order.
func (l *deque) compact(keep []bool) {
	w := 0
	for i := 0; i < l.n; i++ {
		if keep[i] {
			l.setAt(w, l.at(i))
			w++
		}
	}
	for l.n > w {
		l.dropBack()
	}
}

// Positions implements LPOS: the positions of elements equal to elem,
// scanning from the head when rank > 0 or from the tail when rank < 0,
// skipping the first |rank|-1 matches, returning at most count matches
// (0 = all) and comparing at most maxlen elements (0 = all). rank must not
// be 0.
func (l *deque) Positions(elem []byte, rank, count, maxlen int64) []int {
	return positions(l.n, l.at, elem, rank, count, maxlen)
}

// positions is LPOS over n elements read with at.
func positions(n int, at func(int) []byte, elem []byte, rank, count, maxlen int64) []int {
	var out []int
	step, i := 1, 0
	if rank < 0 {
		// For rank = LONG_MIN the negation stays negative, so every match
		// qualifies, exactly as Redis's "matches >= rank" test behaves.
		rank = -rank
		step, i = -1, n-1
	}
	var matches int64
	for compared := int64(0); i >= 0 && i < n; i += step {
		if maxlen != 0 && compared >= maxlen {
			break
		}
		compared++
		if string(at(i)) != string(elem) {
			continue
		}
		matches++
		if matches < rank {
			continue
		}
		out = append(out, i)
		if count != 0 && int64(len(out)) >= count {
			break
		}
	}
	return out
}

// NormalizeIndex turns a Redis index (negative counts from the tail) into a
// position and reports whether it is inside a sequence of length n.
func NormalizeIndex(index int64, n int) (int, bool) {
	if index < 0 {
		index += int64(n)
	}
	if index < 0 || index >= int64(n) {
		return 0, false
	}
	return int(index), true
}

// NormalizeRange turns Redis start/stop indexes (inclusive, negative from
// the tail) into clamped positions for a sequence of length n, as LRANGE,
// LTRIM, ZRANGE and GETRANGE do. empty is true when nothing is selected.
func NormalizeRange(start, stop int64, n int) (from, to int, empty bool) {
	ln := int64(n)
	if start < 0 {
		start += ln
	}
	if stop < 0 {
		stop += ln
	}
	if start < 0 {
		start = 0
	}
	if start > stop || start >= ln {
		return 0, -1, true
	}
	if stop >= ln {
		stop = ln - 1
	}
	return int(start), int(stop), false
}
