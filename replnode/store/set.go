package store

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
)

// ---------------------------------------------------------------- sets

// Set is a Redis set. While every member is an integer in canonical form
// (see ParseCanonicalInt) and there are at most SetMaxIntsetEntries (see Limits) of
// them, it is "intset" encoded as in Redis's intset.c: the members ascending
// in one pointer-free byte slice, each 2, 4 or 8 bytes wide (the width the
// largest member ever added needed: it grows, never shrinks), walked in
// ascending order as Redis does. Otherwise it converts, for good, to
// "hashtable".
type Set struct {
	is  []byte           // intset members, ascending, little-endian; used while ht == nil
	w   uint8            // intset member width in bytes; 0 stands for 2
	ht  *table[struct{}] // hashtable members, indexed; nil while intset
	lim *Limits          // nil: DefaultLimits
}

// NewSet returns an empty, intset-encoded set with DefaultLimits; a node
// creates its sets with its own Limits.NewSet.
func NewSet() *Set { return &Set{} }

// Kind reports KindSet.
func (*Set) Kind() Kind { return KindSet }

// Encoding is "intset" or "hashtable" (see Set).
func (s *Set) Encoding() string {
	if s.ht != nil {
		return "hashtable"
	}
	return "intset"
}

// IsIntset reports whether the set is intset encoded.
func (s *Set) IsIntset() bool { return s.ht == nil }

// Clone returns a deep copy with the same encoding.
func (s *Set) Clone() Value {
	if s.ht == nil {
		return &Set{is: slices.Clip(slices.Clone(s.is)), w: s.w, lim: s.lim}
	}
	t := s.ht.clone(func(v struct{}) struct{} { return v })
	return &Set{ht: &t, lim: s.lim}
}

// Len is the number of members.
func (s *Set) Len() int {
	if s.ht != nil {
		return s.ht.len()
	}
	return len(s.is) / s.width()
}

// width is the intset's member width (intsetEncoding).
func (s *Set) width() int {
	if s.w == 0 {
		return 2
	}
	return int(s.w)
}

// intsetWidth is the width Redis's _intsetValueEncoding picks for n.
func intsetWidth(n int64) int {
	switch {
	case n < math.MinInt32 || n > math.MaxInt32:
		return 8
	case n < math.MinInt16 || n > math.MaxInt16:
		return 4
	}
	return 2
}

// intAt returns the intset member at position i.
func (s *Set) intAt(i int) int64 { return intsetGet(s.is, s.width(), i) }

// intsetGet decodes position i of intset bytes is of width w.
func intsetGet(is []byte, w, i int) int64 {
	switch w {
	case 2:
		return int64(int16(binary.LittleEndian.Uint16(is[i*2:])))
	case 4:
		return int64(int32(binary.LittleEndian.Uint32(is[i*4:])))
	default:
		return int64(binary.LittleEndian.Uint64(is[i*8:]))
	}
}

// putInt writes n at intset position i.
func (s *Set) putInt(i int, n int64) {
	switch w := s.width(); w {
	case 2:
		binary.LittleEndian.PutUint16(s.is[i*w:], uint16(n))
	case 4:
		binary.LittleEndian.PutUint32(s.is[i*w:], uint32(n))
	default:
		binary.LittleEndian.PutUint64(s.is[i*w:], uint64(n))
	}
}

// intSearch returns n's position in the intset, or where it would go.
func (s *Set) intSearch(n int64) (int, bool) {
	w := s.width()
	size := len(s.is) / w
	lo, hi := 0, size
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if intsetGet(s.is, w, mid) < n {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, lo < size && intsetGet(s.is, w, lo) == n
}

// intInsert adds n, which must not be present, at position i (from
// intSearch), widening the intset first when n needs it
// (intsetUpgradeAndAdd: n then goes at one end).
func (s *Set) intInsert(i int, n int64) {
	if w := intsetWidth(n); w > s.width() {
		old := *s
		s.w = uint8(w)
		s.is = newPacked(old.Len() * w)
		for j := 0; j < old.Len(); j++ {
			s.putInt(j, old.intAt(j))
		}
	}
	w := s.width()
	s.is = replaceRange(s.is, i*w, i*w, w)
	s.putInt(i, n)
}

// intDeleteAt removes the intset member at position i.
func (s *Set) intDeleteAt(i int) {
	w := s.width()
	s.is = trimPacked(replaceRange(s.is, i*w, (i+1)*w, 0))
}

// convert moves an intset to the hashtable encoding.
func (s *Set) convert() {
	if s.ht != nil {
		return
	}
	t := newTable[struct{}](s.Len())
	for i := 0; i < s.Len(); i++ {
		t.set(strconv.FormatInt(s.intAt(i), 10), struct{}{})
	}
	s.ht, s.is, s.w = &t, nil, 0
}

// Add adds a copy of member and reports whether it was new.
func (s *Set) Add(member []byte) bool {
	if s.ht == nil {
		if n, ok := ParseCanonicalInt(member); ok {
			i, found := s.intSearch(n)
			if found {
				return false
			}
			s.intInsert(i, n)
			if s.Len() > s.lim.get().SetMaxIntsetEntries {
				s.convert()
			}
			return true
		}
		s.convert()
	}
	// Look up before copying: re-adding a member (SADD of one that is
	// there) allocates nothing.
	if s.ht.findBytes(member) >= 0 {
		return false
	}
	s.ht.insert(string(member), struct{}{})
	return true
}

// Remove deletes member and reports whether it existed.
func (s *Set) Remove(member []byte) bool {
	if s.ht == nil {
		n, ok := ParseCanonicalInt(member)
		if !ok {
			return false
		}
		i, found := s.intSearch(n)
		if found {
			s.intDeleteAt(i)
		}
		return found
	}
	return s.ht.remove(string(member))
}

// Contains reports whether member is in the set.
func (s *Set) Contains(member []byte) bool {
	if s.ht == nil {
		n, ok := ParseCanonicalInt(member)
		if !ok {
			return false
		}
		_, found := s.intSearch(n)
		return found
	}
	return s.ht.findBytes(member) >= 0
}

// memberAt returns the member at position i of the encoding's order.
func (s *Set) memberAt(i int) []byte {
	if s.ht == nil {
		return strconv.AppendInt(nil, s.intAt(i), 10)
	}
	return []byte(s.ht.entries[i].key)
}

// Range calls fn for each member until fn returns false. An intset is walked
// in ascending numeric order, as Redis does.
func (s *Set) Range(fn func(member []byte) bool) {
	for i := 0; i < s.Len(); i++ {
		if !fn(s.memberAt(i)) {
			return
		}
	}
}

// Members returns every member in Range order.
func (s *Set) Members() [][]byte {
	out := make([][]byte, 0, s.Len())
	s.Range(func(m []byte) bool { out = append(out, m); return true })
	return out
}

// Scan implements SSCAN's walk: an intset is returned whole with next
// cursor 0, as Redis does; a hashtable visits about count members per call
// with the guarantees described at table.scan.
func (s *Set) Scan(cursor uint64, count int, fn func(member []byte)) uint64 {
	if s.ht == nil {
		s.Range(func(m []byte) bool { fn(m); return true })
		return 0
	}
	return s.ht.scan(cursor, count, func(k string, _ struct{}) { fn([]byte(k)) })
}

// Random returns members for SRANDMEMBER with count (see RandomPositions for
// the meaning of its sign).
func (s *Set) Random(r *rand.Rand, count int64) [][]byte {
	var out [][]byte
	for _, p := range RandomPositions(r, s.Len(), count) {
		out = append(out, s.memberAt(p))
	}
	return out
}

// Pop removes up to count distinct random members and returns them, as SPOP
// with a count does.
func (s *Set) Pop(r *rand.Rand, count int) [][]byte {
	var out [][]byte
	for len(out) < count && s.Len() > 0 {
		i := r.IntN(s.Len())
		m := s.memberAt(i)
		if s.ht == nil {
			s.intDeleteAt(i)
		} else {
			s.ht.removeAt(i)
		}
		out = append(out, m)
	}
	return out
}
