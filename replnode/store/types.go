package store

import (
	"sort"
	"strconv"
)

// This file holds the in-memory value types and the small API that package
// rdb and the command handlers use to build and walk them. Their internals
// (deques, ordered small hashes, intsets, skiplists) may change freely as long
// as this API and its ordering guarantees hold.

// ---------------------------------------------------------------- strings

// String is a Redis string value: a byte sequence.
type String struct{ B []byte }

// NewString returns a string value holding b (not copied).
func NewString(b []byte) *String { return &String{B: b} }

func (*String) Kind() Kind { return KindString }

// Encoding follows Redis 7.0: "int" for a value that is a 64-bit integer in
// canonical form, "embstr" up to 44 bytes, "raw" beyond.
func (s *String) Encoding() string {
	if len(s.B) <= 20 && len(s.B) > 0 {
		if n, err := strconv.ParseInt(string(s.B), 10, 64); err == nil && strconv.FormatInt(n, 10) == string(s.B) {
			return "int"
		}
	}
	if len(s.B) <= 44 {
		return "embstr"
	}
	return "raw"
}

func (s *String) Clone() Value { return &String{B: append([]byte(nil), s.B...)} }

// ---------------------------------------------------------------- lists

// List is a Redis list. Elements keep their order; pushes and pops at both
// ends are O(1).
type List struct{ elems [][]byte }

// NewList returns an empty list.
func NewList() *List { return &List{} }

func (*List) Kind() Kind { return KindList }

// Encoding is always "quicklist" in Redis 7.0.
func (*List) Encoding() string { return "quicklist" }

func (l *List) Clone() Value {
	c := &List{elems: make([][]byte, len(l.elems))}
	for i, e := range l.elems {
		c.elems[i] = append([]byte(nil), e...)
	}
	return c
}

// Len is the number of elements.
func (l *List) Len() int { return len(l.elems) }

// PushBack appends elem at the tail.
func (l *List) PushBack(elem []byte) { l.elems = append(l.elems, elem) }

// Range calls fn for each element from head to tail until fn returns false.
func (l *List) Range(fn func(elem []byte) bool) {
	for _, e := range l.elems {
		if !fn(e) {
			return
		}
	}
}

// ---------------------------------------------------------------- hashes

// Hash is a Redis hash. While small (see the listpack thresholds) it keeps
// fields in insertion order, as Redis's listpack encoding does, so HGETALL
// answers in the same order as Redis.
type Hash struct {
	fields map[string][]byte
	order  []string
}

// NewHash returns an empty hash.
func NewHash() *Hash { return &Hash{fields: make(map[string][]byte)} }

func (*Hash) Kind() Kind { return KindHash }

// Encoding is "listpack" while the hash is within hash-max-listpack-entries
// (128) and hash-max-listpack-value (64), "hashtable" otherwise.
func (h *Hash) Encoding() string {
	if len(h.order) > 128 {
		return "hashtable"
	}
	for _, f := range h.order {
		if len(f) > 64 || len(h.fields[f]) > 64 {
			return "hashtable"
		}
	}
	return "listpack"
}

func (h *Hash) Clone() Value {
	c := NewHash()
	h.Range(func(f, v []byte) bool { c.Set(f, append([]byte(nil), v...)); return true })
	return c
}

// Len is the number of fields.
func (h *Hash) Len() int { return len(h.order) }

// Set sets field to value and reports whether the field is new.
func (h *Hash) Set(field, value []byte) bool {
	f := string(field)
	_, exists := h.fields[f]
	h.fields[f] = value
	if !exists {
		h.order = append(h.order, f)
	}
	return !exists
}

// Get returns the value of field.
func (h *Hash) Get(field []byte) ([]byte, bool) {
	v, ok := h.fields[string(field)]
	return v, ok
}

// Range calls fn for each field and value until fn returns false.
func (h *Hash) Range(fn func(field, value []byte) bool) {
	for _, f := range h.order {
		if !fn([]byte(f), h.fields[f]) {
			return
		}
	}
}

// ---------------------------------------------------------------- sets

// Set is a Redis set.
type Set struct{ members map[string]struct{} }

// NewSet returns an empty set.
func NewSet() *Set { return &Set{members: make(map[string]struct{})} }

func (*Set) Kind() Kind { return KindSet }

// Encoding is "intset" while every member is an integer and the set is within
// set-max-intset-entries (512), "hashtable" otherwise.
func (s *Set) Encoding() string {
	if s.IsIntset() {
		return "intset"
	}
	return "hashtable"
}

// IsIntset reports whether Redis would keep this set as an intset.
func (s *Set) IsIntset() bool {
	if len(s.members) > 512 {
		return false
	}
	for m := range s.members {
		if n, err := strconv.ParseInt(m, 10, 64); err != nil || strconv.FormatInt(n, 10) != m {
			return false
		}
	}
	return true
}

func (s *Set) Clone() Value {
	c := NewSet()
	for m := range s.members {
		c.members[m] = struct{}{}
	}
	return c
}

// Len is the number of members.
func (s *Set) Len() int { return len(s.members) }

// Add adds member and reports whether it was new.
func (s *Set) Add(member []byte) bool {
	m := string(member)
	if _, ok := s.members[m]; ok {
		return false
	}
	s.members[m] = struct{}{}
	return true
}

// Range calls fn for each member until fn returns false. An intset is walked
// in ascending numeric order, as Redis does.
func (s *Set) Range(fn func(member []byte) bool) {
	keys := make([]string, 0, len(s.members))
	for m := range s.members {
		keys = append(keys, m)
	}
	if s.IsIntset() {
		sort.Slice(keys, func(i, j int) bool {
			a, _ := strconv.ParseInt(keys[i], 10, 64)
			b, _ := strconv.ParseInt(keys[j], 10, 64)
			return a < b
		})
	}
	for _, m := range keys {
		if !fn([]byte(m)) {
			return
		}
	}
}

// ---------------------------------------------------------------- sorted sets

// ZSet is a Redis sorted set: members ordered by (score, member).
type ZSet struct{ scores map[string]float64 }

// NewZSet returns an empty sorted set.
func NewZSet() *ZSet { return &ZSet{scores: make(map[string]float64)} }

func (*ZSet) Kind() Kind { return KindZSet }

// Encoding is "listpack" while within zset-max-listpack-entries (128) and
// zset-max-listpack-value (64), "skiplist" otherwise.
func (z *ZSet) Encoding() string {
	if len(z.scores) > 128 {
		return "skiplist"
	}
	for m := range z.scores {
		if len(m) > 64 {
			return "skiplist"
		}
	}
	return "listpack"
}

func (z *ZSet) Clone() Value {
	c := NewZSet()
	for m, s := range z.scores {
		c.scores[m] = s
	}
	return c
}

// Len is the number of members.
func (z *ZSet) Len() int { return len(z.scores) }

// Add sets member's score and reports whether the member was new.
func (z *ZSet) Add(member []byte, score float64) bool {
	m := string(member)
	_, exists := z.scores[m]
	z.scores[m] = score
	return !exists
}

// Score returns member's score.
func (z *ZSet) Score(member []byte) (float64, bool) {
	s, ok := z.scores[string(member)]
	return s, ok
}

// Range calls fn for each member in ascending (score, member) order until fn
// returns false.
func (z *ZSet) Range(fn func(member []byte, score float64) bool) {
	keys := make([]string, 0, len(z.scores))
	for m := range z.scores {
		keys = append(keys, m)
	}
	sort.Slice(keys, func(i, j int) bool {
		si, sj := z.scores[keys[i]], z.scores[keys[j]]
		if si != sj {
			return si < sj
		}
		return keys[i] < keys[j]
	})
	for _, m := range keys {
		if !fn([]byte(m), z.scores[m]) {
			return
		}
	}
}
