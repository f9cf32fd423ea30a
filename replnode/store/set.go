package store

import (
	"math/rand/v2"
	"slices"
	"strconv"
)

// ---------------------------------------------------------------- sets

// Set is a Redis set. While every member is an integer in canonical form
// (see ParseCanonicalInt) and there are at most SetMaxIntsetEntries (see Limits) of
// them, it is "intset" encoded: a sorted slice of int64, walked in ascending
// order as Redis does. Otherwise it converts, for good, to "hashtable".
type Set struct {
	ints []int64         // intset members, ascending; used while !ht
	t    table[struct{}] // hashtable members; always indexed once ht
	ht   bool
	lim  *Limits // nil: DefaultLimits
}

// NewSet returns an empty, intset-encoded set with DefaultLimits; a node
// creates its sets with its own Limits.NewSet.
func NewSet() *Set { return &Set{} }

// Kind reports KindSet.
func (*Set) Kind() Kind { return KindSet }

// Encoding is "intset" or "hashtable" (see Set).
func (s *Set) Encoding() string {
	if s.ht {
		return "hashtable"
	}
	return "intset"
}

// IsIntset reports whether the set is intset encoded.
func (s *Set) IsIntset() bool { return !s.ht }

// Clone returns a deep copy with the same encoding.
func (s *Set) Clone() Value {
	if !s.ht {
		return &Set{ints: slices.Clone(s.ints), lim: s.lim}
	}
	return &Set{t: s.t.clone(func(v struct{}) struct{} { return v }), ht: true, lim: s.lim}
}

// Len is the number of members.
func (s *Set) Len() int {
	if s.ht {
		return s.t.len()
	}
	return len(s.ints)
}

// convert moves an intset to the hashtable encoding.
func (s *Set) convert() {
	if s.ht {
		return
	}
	s.t = table[struct{}]{entries: make([]tableEntry[struct{}], 0, len(s.ints))}
	s.t.buildIndex()
	for _, n := range s.ints {
		s.t.set(strconv.FormatInt(n, 10), struct{}{})
	}
	s.ints, s.ht = nil, true
}

// Add adds member and reports whether it was new.
func (s *Set) Add(member []byte) bool {
	if !s.ht {
		if n, ok := ParseCanonicalInt(member); ok {
			i, found := slices.BinarySearch(s.ints, n)
			if found {
				return false
			}
			s.ints = slices.Insert(s.ints, i, n)
			if len(s.ints) > s.lim.get().SetMaxIntsetEntries {
				s.convert()
			}
			return true
		}
		s.convert()
	}
	return s.t.set(string(member), struct{}{})
}

// Remove deletes member and reports whether it existed.
func (s *Set) Remove(member []byte) bool {
	if !s.ht {
		n, ok := ParseCanonicalInt(member)
		if !ok {
			return false
		}
		i, found := slices.BinarySearch(s.ints, n)
		if !found {
			return false
		}
		s.ints = slices.Delete(s.ints, i, i+1)
		return true
	}
	return s.t.remove(string(member))
}

// Contains reports whether member is in the set.
func (s *Set) Contains(member []byte) bool {
	if !s.ht {
		n, ok := ParseCanonicalInt(member)
		if !ok {
			return false
		}
		_, found := slices.BinarySearch(s.ints, n)
		return found
	}
	return s.t.find(string(member)) >= 0
}

// memberAt returns the member at position i of the encoding's order.
func (s *Set) memberAt(i int) []byte {
	if !s.ht {
		return strconv.AppendInt(nil, s.ints[i], 10)
	}
	return []byte(s.t.entries[i].key)
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
	if !s.ht {
		s.Range(func(m []byte) bool { fn(m); return true })
		return 0
	}
	return s.t.scan(cursor, count, func(k string, _ struct{}) { fn([]byte(k)) })
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
		if !s.ht {
			s.ints = slices.Delete(s.ints, i, i+1)
		} else {
			s.t.removeAt(i)
		}
		out = append(out, m)
	}
	return out
}
