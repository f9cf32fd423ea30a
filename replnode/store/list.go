package store

// ---------------------------------------------------------------- lists

// List is a Redis list: a ring-buffer deque, so pushes and pops at both ends
// are O(1) (amortised) and access by index is O(1). Insertion and removal in
// the middle move the shorter side.
//
// Positions in this API are 0-based from the head and must be in range;
// translating Redis's negative indexes is the caller's job (see
// NormalizeIndex).
type List struct {
	buf  [][]byte // capacity is 0 or a power of two
	head int      // position of element 0 in buf
	n    int
}

// NewList returns an empty list.
func NewList() *List { return &List{} }

// Kind reports KindList.
func (*List) Kind() Kind { return KindList }

// Encoding is always "quicklist" in Redis 7.0.
func (*List) Encoding() string { return "quicklist" }

// Clone returns a deep copy.
func (l *List) Clone() Value {
	c := &List{}
	c.grow(l.n)
	for i := 0; i < l.n; i++ {
		c.buf[i] = append([]byte(nil), l.at(i)...)
	}
	c.n = l.n
	return c
}

// Len is the number of elements.
func (l *List) Len() int { return l.n }

// slot maps logical position i to its index in buf.
func (l *List) slot(i int) int { return (l.head + i) & (len(l.buf) - 1) }

func (l *List) at(i int) []byte { return l.buf[l.slot(i)] }

// grow makes room for at least need elements, unrolling the ring.
func (l *List) grow(need int) {
	if need <= len(l.buf) {
		return
	}
	size := 8
	for size < need {
		size <<= 1
	}
	l.resize(size)
}

// resize moves the elements into a fresh buffer of size slots.
func (l *List) resize(size int) {
	nb := make([][]byte, size)
	for i := 0; i < l.n; i++ {
		nb[i] = l.at(i)
	}
	l.buf, l.head = nb, 0
}

// shrink releases memory after a list got much smaller.
func (l *List) shrink() {
	if len(l.buf) > 64 && l.n < len(l.buf)/4 {
		l.resize(len(l.buf) / 2)
	}
}

// PushBack appends elem at the tail.
func (l *List) PushBack(elem []byte) {
	l.grow(l.n + 1)
	l.buf[l.slot(l.n)] = elem
	l.n++
}

// PushFront inserts elem at the head.
func (l *List) PushFront(elem []byte) {
	l.grow(l.n + 1)
	l.head = (l.head - 1) & (len(l.buf) - 1)
	l.buf[l.head] = elem
	l.n++
}

// PopFront removes and returns the head element; ok is false on an empty
// list.
func (l *List) PopFront() (elem []byte, ok bool) {
	if l.n == 0 {
		return nil, false
	}
	elem = l.buf[l.head]
	l.buf[l.head] = nil
	l.head = (l.head + 1) & (len(l.buf) - 1)
	l.n--
	l.shrink()
	return elem, true
}

// PopBack removes and returns the tail element; ok is false on an empty
// list.
func (l *List) PopBack() (elem []byte, ok bool) {
	if l.n == 0 {
		return nil, false
	}
	s := l.slot(l.n - 1)
	elem = l.buf[s]
	l.buf[s] = nil
	l.n--
	l.shrink()
	return elem, true
}

// Index returns the element at position i (0 ≤ i < Len).
func (l *List) Index(i int) []byte { return l.at(i) }

// Set replaces the element at position i (0 ≤ i < Len).
func (l *List) Set(i int, elem []byte) { l.buf[l.slot(i)] = elem }

// Insert puts elem at position i (0 ≤ i ≤ Len), shifting the shorter side.
func (l *List) Insert(i int, elem []byte) {
	if i == 0 {
		l.PushFront(elem)
		return
	}
	if i == l.n {
		l.PushBack(elem)
		return
	}
	l.grow(l.n + 1)
	if i < l.n/2 {
		// Move elements [0, i) one step towards the head.
		l.head = (l.head - 1) & (len(l.buf) - 1)
		for j := 0; j < i; j++ {
			l.buf[l.slot(j)] = l.buf[l.slot(j+1)]
		}
	} else {
		// Move elements [i, n) one step towards the tail.
		for j := l.n; j > i; j-- {
			l.buf[l.slot(j)] = l.buf[l.slot(j-1)]
		}
	}
	l.buf[l.slot(i)] = elem
	l.n++
}

// RemoveAt deletes the element at position i (0 ≤ i < Len).
func (l *List) RemoveAt(i int) {
	if i < l.n/2 {
		for j := i; j > 0; j-- {
			l.buf[l.slot(j)] = l.buf[l.slot(j-1)]
		}
		l.buf[l.head] = nil
		l.head = (l.head + 1) & (len(l.buf) - 1)
	} else {
		for j := i; j < l.n-1; j++ {
			l.buf[l.slot(j)] = l.buf[l.slot(j+1)]
		}
		l.buf[l.slot(l.n-1)] = nil
	}
	l.n--
	l.shrink()
}

// Trim keeps only positions [start, stop] (already normalised and clamped
// by the caller, as LTRIM does); start > stop empties the list.
func (l *List) Trim(start, stop int) {
	if start < 0 {
		start = 0
	}
	if stop >= l.n {
		stop = l.n - 1
	}
	if start > stop {
		for i := 0; i < l.n; i++ {
			l.buf[l.slot(i)] = nil
		}
		l.head, l.n = 0, 0
		l.shrink()
		return
	}
	for i := 0; i < start; i++ {
		l.buf[l.slot(i)] = nil
	}
	for i := stop + 1; i < l.n; i++ {
		l.buf[l.slot(i)] = nil
	}
	l.head = l.slot(start)
	l.n = stop - start + 1
	l.shrink()
}

// Range calls fn for each element from head to tail until fn returns false.
func (l *List) Range(fn func(elem []byte) bool) {
	for i := 0; i < l.n; i++ {
		if !fn(l.at(i)) {
			return
		}
	}
}

// Elements returns positions [start, stop] (clamped to the list) as a new
// slice sharing the element bytes; callers must not modify them.
func (l *List) Elements(start, stop int) [][]byte {
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
func (l *List) Find(pivot []byte) int {
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
func (l *List) Remove(elem []byte, count int64) int64 {
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
func (l *List) compact(keep []bool) {
	w := 0
	for i := 0; i < l.n; i++ {
		if keep[i] {
			l.buf[l.slot(w)] = l.at(i)
			w++
		}
	}
	for i := w; i < l.n; i++ {
		l.buf[l.slot(i)] = nil
	}
	l.n = w
	l.shrink()
}

// Positions implements LPOS: the positions of elements equal to elem,
// scanning from the head when rank > 0 or from the tail when rank < 0,
// skipping the first |rank|-1 matches, returning at most count matches
// (0 = all) and comparing at most maxlen elements (0 = all). rank must not
// be 0.
func (l *List) Positions(elem []byte, rank, count, maxlen int64) []int {
	var out []int
	step, i := 1, 0
	if rank < 0 {
		// For rank = LONG_MIN the negation stays negative, so every match
		// qualifies, exactly as Redis's "matches >= rank" test behaves.
		rank = -rank
		step, i = -1, l.n-1
	}
	var matches int64
	for compared := int64(0); i >= 0 && i < l.n; i += step {
		if maxlen != 0 && compared >= maxlen {
			break
		}
		compared++
		if string(l.at(i)) != string(elem) {
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
