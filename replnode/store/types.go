package store

import (
	"math/rand/v2"
	"strconv"
	"sync/atomic"
)

// This file holds the string value type and the pieces the aggregate types
// (list.go, hash.go, set.go, zset.go) share: the encoding limits, the
// scannable table behind large hashes, sets and sorted sets, and the random
// pickers behind HRANDFIELD, SRANDMEMBER, SPOP and ZRANDMEMBER.
//
// The internals of the value types (packed forms, deques, tables,
// skiplists) may change freely as long as their exported API and its
// ordering guarantees hold: package rdb and the command handlers build on
// them.

// ---------------------------------------------------------------- limits

// EncodingLimits are the redis.conf thresholds that decide when a small,
// compact encoding is converted to the general one. Conversion is one way, as
// in Redis: a value never goes back to the compact form by shrinking.
type EncodingLimits struct {
	HashMaxListpackEntries int // hash-max-listpack-entries
	HashMaxListpackValue   int // hash-max-listpack-value
	SetMaxIntsetEntries    int // set-max-intset-entries
	ZSetMaxListpackEntries int // zset-max-listpack-entries
	ZSetMaxListpackValue   int // zset-max-listpack-value
}

// DefaultLimits are Redis 7.0's defaults.
var DefaultLimits = EncodingLimits{
	HashMaxListpackEntries: 128,
	HashMaxListpackValue:   64,
	SetMaxIntsetEntries:    512,
	ZSetMaxListpackEntries: 128,
	ZSetMaxListpackValue:   64,
}

// Limits are one node's thresholds in force, shared by every hash, set and
// sorted set the node creates through them (Limits.NewHash, ...). They are
// per node, not per process, because several nodes may share a process
// (tests, a replica next to its master) with different settings. CONFIG SET
// on one node's executor swaps the thresholds atomically, so a value decoded
// on another goroutine (a replica's full sync) reads them without a race;
// the change applies to conversions decided afterwards, as in Redis.
type Limits struct {
	p atomic.Pointer[EncodingLimits]
}

// NewLimits returns thresholds holding l.
func NewLimits(l EncodingLimits) *Limits {
	lim := &Limits{}
	lim.Set(l)
	return lim
}

// Set replaces the thresholds; values created earlier see them too.
func (l *Limits) Set(v EncodingLimits) { l.p.Store(&v) }

// Get returns the thresholds; a nil *Limits stands for DefaultLimits.
func (l *Limits) Get() EncodingLimits { return *l.get() }

// get returns the thresholds without copying them.
func (l *Limits) get() *EncodingLimits {
	if l == nil {
		return &defaultLimits
	}
	if p := l.p.Load(); p != nil {
		return p
	}
	return &defaultLimits
}

// defaultLimits is read by values created without Limits (NewHash, ...):
// a private copy, so no caller can change what "default" means.
var defaultLimits = DefaultLimits

// NewHash returns an empty, listpack-encoded hash converting at l.
func (l *Limits) NewHash() *Hash { return &Hash{lim: l} }

// NewSet returns an empty, intset-encoded set converting at l.
func (l *Limits) NewSet() *Set { return &Set{lim: l} }

// NewZSet returns an empty, listpack-encoded sorted set converting at l.
func (l *Limits) NewZSet() *ZSet { return &ZSet{lim: l} }

// NewZSetSized is NewZSet encoded as Redis's zsetTypeCreate(sizeHint,
// valLenHint) would: skiplist from the start when the hints exceed l.
func (l *Limits) NewZSetSized(sizeHint, valLenHint int) *ZSet {
	z := l.NewZSet()
	z.MaybeConvert(sizeHint, valLenHint)
	return z
}

// ---------------------------------------------------------------- strings

// String is a Redis string value: a byte sequence.
type String struct {
	B []byte
	// Enc is how Redis would have created the object; it decides only
	// what OBJECT ENCODING reports.
	Enc StringEnc
	// Copied is set on copies (COPY): dupStringObject makes a private
	// object where Redis may have shared the integer (OBJECT REFCOUNT).
	Copied bool
}

// StringEnc says which of Redis's string constructors a value came from:
// OBJECT ENCODING depends on it, not only on the bytes.
type StringEnc uint8

const (
	// EncTried is tryObjectEncoding's choice (SET, RDB load): int when
	// the bytes are a canonical integer, else embstr or raw by length.
	EncTried StringEnc = iota
	// EncNoInt is createStringObject's (INCRBYFLOAT): embstr or raw by
	// length, never int.
	EncNoInt
	// EncRaw is a string modified in place (APPEND, SETRANGE, SETBIT,
	// BITOP's result): dbUnshareStringValue and createObject make raw.
	EncRaw
)

// NewString returns a string value holding b (not copied).
func NewString(b []byte) *String { return &String{B: b} }

// NewRawString returns a raw-encoded string value holding b (not copied).
func NewRawString(b []byte) *String { return &String{B: b, Enc: EncRaw} }

// Kind reports KindString.
func (*String) Kind() Kind { return KindString }

// Encoding follows Redis 7.0: "int" for a value that is a 64-bit integer in
// canonical form, "embstr" up to 44 bytes, "raw" beyond, unless Enc says
// the value was built another way.
func (s *String) Encoding() string {
	if s.Enc == EncRaw {
		return "raw"
	}
	if s.Enc == EncTried {
		if _, ok := ParseCanonicalInt(s.B); ok {
			return "int"
		}
	}
	if len(s.B) <= 44 {
		return "embstr"
	}
	return "raw"
}

// Clone returns a deep copy.
func (s *String) Clone() Value {
	return &String{B: append([]byte(nil), s.B...), Enc: s.Enc, Copied: true}
}

// ParseCanonicalInt reports whether b is a signed 64-bit integer written the
// way Redis's string2ll accepts it (no sign other than a leading '-', no
// leading zeros, no "-0", no spaces, at most 20 bytes) and returns its value.
// Such strings are the ones Redis stores as integers (intset members, "int"
// encoded strings).
func ParseCanonicalInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, false
	}
	// Reject "+1", "007", "-0": only the canonical spelling round-trips.
	if len(b) != canonicalLen(n) {
		return 0, false
	}
	return n, true
}

// canonicalLen is the length of strconv.FormatInt(n, 10) without allocating.
func canonicalLen(n int64) int {
	l := 1
	u := uint64(n)
	if n < 0 {
		l++
		u = uint64(-n)
	}
	for u >= 10 {
		u /= 10
		l++
	}
	return l
}

// ---------------------------------------------------------------- table

// table is the dictionary behind the "hashtable" and "skiplist" encodings of
// hashes, sets and sorted sets (their small encodings are packed, see
// packed.go): entries in a slice plus a map from key to slice position, so
// lookups are O(1) and removal moves the last entry into the hole, which
// keeps it O(1) and is what makes scan correct (see scan).
type table[V any] struct {
	entries []tableEntry[V]
	index   map[string]int
}

type tableEntry[V any] struct {
	key string
	val V
}

// newTable returns an empty table with room for capacity entries.
func newTable[V any](capacity int) table[V] {
	return table[V]{entries: make([]tableEntry[V], 0, capacity), index: make(map[string]int, capacity)}
}

// len is the number of entries.
func (t *table[V]) len() int { return len(t.entries) }

// find returns the position of key, or -1.
func (t *table[V]) find(key string) int {
	if i, ok := t.index[key]; ok {
		return i
	}
	return -1
}

// findBytes is find for a key held as bytes: the map lookup converts
// without allocating.
func (t *table[V]) findBytes(key []byte) int {
	if i, ok := t.index[string(key)]; ok {
		return i
	}
	return -1
}

// get returns the value under key.
func (t *table[V]) get(key string) (V, bool) {
	if i := t.find(key); i >= 0 {
		return t.entries[i].val, true
	}
	var zero V
	return zero, false
}

// set stores val under key, in place if the key exists (keeping its
// position) or appended otherwise. It reports whether the key is new.
func (t *table[V]) set(key string, val V) bool {
	if i := t.find(key); i >= 0 {
		t.entries[i].val = val
		return false
	}
	t.insert(key, val)
	return true
}

// insert appends key, which must not be in the table yet.
func (t *table[V]) insert(key string, val V) {
	t.entries = append(t.entries, tableEntry[V]{key: key, val: val})
	t.index[key] = len(t.entries) - 1
}

// remove deletes key and reports whether it existed.
func (t *table[V]) remove(key string) bool {
	i := t.find(key)
	if i < 0 {
		return false
	}
	t.removeAt(i)
	return true
}

// removeAt deletes the entry at position i, moving the last entry into it.
func (t *table[V]) removeAt(i int) {
	last := len(t.entries) - 1
	delete(t.index, t.entries[i].key)
	if i != last {
		t.entries[i] = t.entries[last]
		t.index[t.entries[i].key] = i
	}
	var zero tableEntry[V]
	t.entries[last] = zero // drop references for the GC
	t.entries = t.entries[:last]
	if cap(t.entries) > 64 && len(t.entries) < cap(t.entries)/4 {
		t.entries = append(make([]tableEntry[V], 0, cap(t.entries)/2), t.entries...)
	}
}

// clone returns a copy whose values are copied with cp.
func (t *table[V]) clone(cp func(V) V) table[V] {
	c := newTable[V](len(t.entries))
	for _, e := range t.entries {
		c.set(e.key, cp(e.val))
	}
	return c
}

// scan visits about count entries starting at cursor and returns the cursor
// of the next call, 0 when the walk is complete. Cursor 0 starts a walk.
//
// The walk goes from the last position down to the first: the cursor is the
// number of positions not yet visited. Appends land above the cursor (new
// entries, which SCAN may skip), and removal moves the last entry, which is
// either already visited or still below the cursor, into the hole. So every
// entry present for the whole walk is returned at least once, which is the
// guarantee Redis's SCAN gives.
func (t *table[V]) scan(cursor uint64, count int, fn func(key string, val V)) uint64 {
	if count < 1 {
		count = 1
	}
	n := uint64(len(t.entries))
	if cursor == 0 || cursor > n {
		cursor = n
	}
	for visited := 0; cursor > 0 && visited < count; visited++ {
		cursor--
		e := t.entries[cursor]
		fn(e.key, e.val)
	}
	return cursor
}

// ---------------------------------------------------------------- random picks

// RandomPositions returns count positions in [0, n) picked at random, as
// HRANDFIELD, SRANDMEMBER and ZRANDMEMBER need them.
//
// A negative count asks for -count independent picks (repetitions allowed).
// A positive count asks for distinct positions: all of them, in order, when
// count >= n (Redis then replies with the whole value in its own order);
// otherwise a random subset, choosing between a partial shuffle and
// rejection sampling the way Redis chooses between its "copy and remove" and
// "pick until enough" cases.
func RandomPositions(r *rand.Rand, n int, count int64) []int {
	if n <= 0 || count == 0 {
		return nil
	}
	if count < 0 {
		picks := make([]int, -count)
		for i := range picks {
			picks[i] = r.IntN(n)
		}
		return picks
	}
	if count >= int64(n) {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		return all
	}
	k := int(count)
	if k*3 > n {
		perm := make([]int, n)
		for i := range perm {
			perm[i] = i
		}
		for i := 0; i < k; i++ {
			j := i + r.IntN(n-i)
			perm[i], perm[j] = perm[j], perm[i]
		}
		return perm[:k]
	}
	seen := make(map[int]struct{}, k)
	picks := make([]int, 0, k)
	for len(picks) < k {
		p := r.IntN(n)
		if _, dup := seen[p]; dup {
			continue
		}
		seen[p] = struct{}{}
		picks = append(picks, p)
	}
	return picks
}
