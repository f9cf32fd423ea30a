package store

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
)

// ---------------------------------------------------------------- sorted sets

// ZSet is a Redis sorted set: members ordered by (score, member bytes).
//
// While the set stays within ZSetMaxListpackEntries members of at most
// ZSetMaxListpackValue bytes (see Limits) it is "listpack" encoded, as in
// Redis: its members and scores packed into one byte slice in (score,
// member) order (see packed and zsetEntry), searched linearly. Once it
// outgrows them it converts, for good unless a store command shrinks its
// result (ShrinkIfSmall), to "skiplist": as in Redis's t_zset.c a skiplist
// whose links carry spans (so rank lookups and rank ranges are O(log n))
// plus a member→score table (O(1) ZSCORE, and the ZSCAN walk).
// While "listpack", ZSCAN returns the whole set in score order, as Redis.
type ZSet struct {
	lp  []byte        // listpack form: zsetEntry after zsetEntry, sorted
	n   int           // members in lp
	sk  *zsetSkiplist // skiplist form; nil while listpack
	lim *Limits       // nil: DefaultLimits
}

// zsetSkiplist is the "skiplist" encoding: Redis's zset struct.
type zsetSkiplist struct {
	zsl    skiplist
	scores table[float64]
}

// A zsetEntry in ZSet.lp is the member as a packed entry followed by the
// score as a uvarint x: an even x is an integral score, zigzag-encoded in
// x>>1 (scores up to 2^53 in magnitude, which float64 holds exactly); an odd
// x (always 1) is followed by the score's 8 IEEE 754 bytes, little-endian.
// Redis's listpack likewise keeps integral scores as integers.

// zsetScoreSize is the number of bytes putZSetScore writes for s.
func zsetScoreSize(s float64) int {
	if x, ok := zsetIntScore(s); ok {
		return uvarintLen64(x)
	}
	return 9
}

// zsetIntScore returns the uvarint of an integral score.
func zsetIntScore(s float64) (uint64, bool) {
	if s != math.Trunc(s) || s >= 1<<53 || s <= -(1<<53) {
		return 0, false
	}
	i := int64(s)
	return (uint64(i<<1) ^ uint64(i>>63)) << 1, true
}

// putZSetScore writes s at the start of dst, which must have
// zsetScoreSize(s) bytes.
func putZSetScore(dst []byte, s float64) {
	if x, ok := zsetIntScore(s); ok {
		binary.PutUvarint(dst, x)
		return
	}
	dst[0] = 1
	binary.LittleEndian.PutUint64(dst[1:], math.Float64bits(s))
}

// zsetScoreAt reads the score at off and returns the offset past it.
func zsetScoreAt(p []byte, off int) (float64, int) {
	x, w := binary.Uvarint(p[off:])
	if x&1 == 0 {
		z := x >> 1
		return float64(int64(z>>1) ^ -int64(z&1)), off + w
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(p[off+1:])), off + 9
}

// uvarintLen64 is uvarintLen for a uint64.
func uvarintLen64(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// zsetEntryAt reads the entry at off: member, score, and the offset past it.
func zsetEntryAt(p []byte, off int) (member []byte, score float64, next int) {
	member, next = packedEntry(p, off)
	score, next = zsetScoreAt(p, next)
	return member, score, next
}

// zEntry is one member of a listpack set, decoded for the operations that
// address members by position; member shares the set's memory.
type zEntry struct {
	member []byte
	score  float64
}

// entries appends the listpack members to dst in order.
func (z *ZSet) entries(dst []zEntry) []zEntry {
	for off := 0; off < len(z.lp); {
		var e zEntry
		e.member, e.score, off = zsetEntryAt(z.lp, off)
		dst = append(dst, e)
	}
	return dst
}

// skipZSetScore returns the offset past the score at off, without
// decoding it.
func skipZSetScore(p []byte, off int) int {
	if p[off]&1 == 1 {
		return off + 9
	}
	for p[off] >= 0x80 {
		off++
	}
	return off + 1
}

// lpFind returns where member's entry starts and ends in lp, and its score.
// Like zzlFind it is a linear scan; only the match's score is decoded.
func (z *ZSet) lpFind(member []byte) (off, end int, score float64, ok bool) {
	p := z.lp
	for off < len(p) {
		m, next := packedEntry(p, off)
		if sameBytes(m, member) {
			score, end = zsetScoreAt(p, next)
			return off, end, score, true
		}
		off = skipZSetScore(p, next)
	}
	return 0, 0, 0, false
}

// lpInsert adds member, which must not be present, at its sorted place.
func (z *ZSet) lpInsert(member []byte, score float64) {
	pos := 0
	for pos < len(z.lp) {
		m, s, next := zsetEntryAt(z.lp, pos)
		if score < s || score == s && bytes.Compare(member, m) < 0 {
			break
		}
		pos = next
	}
	size := packedSize(member) + zsetScoreSize(score)
	if z.lp == nil {
		z.lp = make([]byte, 0, 2*size)
	}
	z.lp = replaceRange(z.lp, pos, pos, size)
	writePacked(z.lp[pos:], member)
	putZSetScore(z.lp[pos+packedSize(member):], score)
	z.n++
}

// lpRemoveAt deletes the entry at [off, end).
func (z *ZSet) lpRemoveAt(off, end int) {
	z.lp = trimPacked(replaceRange(z.lp, off, end, 0))
	z.n--
	if z.n == 0 {
		z.lp = nil
	}
}

// toSkiplist switches to the skiplist encoding (zsetConvert).
func (z *ZSet) toSkiplist() {
	if z.sk != nil {
		return
	}
	sk := &zsetSkiplist{}
	sk.zsl.init()
	sk.scores = newTable[float64](z.n)
	z.Range(func(m []byte, s float64) bool {
		sk.add(string(m), s)
		return true
	})
	z.sk, z.lp, z.n = sk, nil, 0
}

// NewZSet returns an empty, listpack-encoded sorted set with DefaultLimits;
// a node creates its sorted sets with its own Limits.NewZSet.
func NewZSet() *ZSet { return (*Limits)(nil).NewZSet() }

// NewZSetSized is Limits.NewZSetSized with DefaultLimits.
func NewZSetSized(sizeHint, valLenHint int) *ZSet {
	return (*Limits)(nil).NewZSetSized(sizeHint, valLenHint)
}

// Kind reports KindZSet.
func (*ZSet) Kind() Kind { return KindZSet }

// Encoding is "listpack" or "skiplist" (see ZSet).
func (z *ZSet) Encoding() string {
	if z.sk != nil {
		return "skiplist"
	}
	return "listpack"
}

// MaybeConvert switches to the skiplist encoding when a command is about to
// add sizeHint members or a member of valLenHint bytes beyond the listpack
// limits, as Redis's zsetTypeMaybeConvert does ahead of ZADD.
func (z *ZSet) MaybeConvert(sizeHint, valLenHint int) {
	lim := z.lim.get()
	if sizeHint > lim.ZSetMaxListpackEntries || valLenHint > lim.ZSetMaxListpackValue {
		z.toSkiplist()
	}
}

// ToSkiplist switches to the skiplist encoding whatever the size, as
// zsetConvert(zobj, OBJ_ENCODING_SKIPLIST) does for SORT.
func (z *ZSet) ToSkiplist() { z.toSkiplist() }

// ShrinkIfSmall gives a freshly built set (the result of ZRANGESTORE,
// ZUNIONSTORE...) the listpack encoding if it fits, as Redis's
// zsetConvertToListpackIfNeeded does for store destinations.
func (z *ZSet) ShrinkIfSmall() {
	lim := z.lim.get()
	if z.sk == nil || z.Len() > lim.ZSetMaxListpackEntries {
		return
	}
	size := 0
	for _, e := range z.sk.scores.entries {
		if len(e.key) > lim.ZSetMaxListpackValue {
			return
		}
		size += uvarintLen(len(e.key)) + len(e.key) + zsetScoreSize(listpackScore(e.val))
	}
	lp := make([]byte, 0, size)
	for x := z.sk.zsl.header.level[0].forward; x != nil; x = x.level[0].forward {
		lp = binary.AppendUvarint(lp, uint64(len(x.member)))
		lp = append(lp, x.member...)
		s := listpackScore(x.score)
		lp = lp[:len(lp)+zsetScoreSize(s)]
		putZSetScore(lp[len(lp)-zsetScoreSize(s):], s)
	}
	z.lp, z.n, z.sk = lp, z.sk.zsl.length, nil
	if z.n == 0 {
		z.lp = nil
	}
}

// listpackScore is the score a listpack-encoded set keeps: zzlInsertAt
// stores a score that double2ll accepts as an integer, so -0 becomes 0.
func listpackScore(score float64) float64 {
	if score == 0 {
		return 0
	}
	return score
}

// Clone returns a deep copy with the same encoding. Member strings are
// immutable in Go, so only the skiplist's structure is rebuilt.
func (z *ZSet) Clone() Value {
	c := &ZSet{n: z.n, lim: z.lim}
	if z.sk != nil {
		c.sk = &zsetSkiplist{}
		c.sk.zsl.init()
		c.sk.zsl.appendSorted(&z.sk.zsl)
		c.sk.scores = z.sk.scores.clone(func(v float64) float64 { return v })
	} else if len(z.lp) > 0 {
		c.lp = append(make([]byte, 0, len(z.lp)), z.lp...)
	}
	return c
}

// Len is the number of members.
func (z *ZSet) Len() int {
	if z.sk != nil {
		return z.sk.zsl.length
	}
	return z.n
}

// Add sets member's score and reports whether the member was new. The score
// must not be NaN (the caller rejects it with Redis's error).
func (z *ZSet) Add(member []byte, score float64) bool {
	if z.sk == nil {
		lpScore := listpackScore(score)
		if off, end, old, ok := z.lpFind(member); ok {
			if old != lpScore {
				// zsetAdd: delete and re-insert at the new place.
				z.lpRemoveAt(off, end)
				z.lpInsert(member, lpScore)
			}
			return false
		}
		if lim := z.lim.get(); z.n+1 <= lim.ZSetMaxListpackEntries && len(member) <= lim.ZSetMaxListpackValue {
			z.lpInsert(member, lpScore)
			return true
		}
		z.toSkiplist() // the new member keeps its -0: it goes to the skiplist
	}
	return z.sk.add(string(member), score)
}

// add is Add on the skiplist encoding.
func (s *zsetSkiplist) add(m string, score float64) bool {
	if old, ok := s.scores.get(m); ok {
		if old != score {
			s.zsl.updateScore(old, m, score)
			s.scores.set(m, score)
		}
		return false
	}
	s.zsl.insert(score, m)
	s.scores.set(m, score)
	return true
}

// Remove deletes member and reports whether it existed.
func (z *ZSet) Remove(member []byte) bool {
	if z.sk == nil {
		off, end, _, ok := z.lpFind(member)
		if ok {
			z.lpRemoveAt(off, end)
		}
		return ok
	}
	m := string(member)
	score, ok := z.sk.scores.get(m)
	if !ok {
		return false
	}
	z.sk.zsl.delete(score, m)
	z.sk.scores.remove(m)
	return true
}

// Score returns member's score.
func (z *ZSet) Score(member []byte) (float64, bool) {
	if z.sk == nil {
		_, _, s, ok := z.lpFind(member)
		return s, ok
	}
	return z.sk.scores.get(string(member))
}

// Rank returns member's 0-based rank, counted from the lowest score, or from
// the highest when reverse is set.
func (z *ZSet) Rank(member []byte, reverse bool) (int, bool) {
	r := -1
	if z.sk == nil {
		i := 0
		for off := 0; off < len(z.lp); i++ {
			m, next := packedEntry(z.lp, off)
			if sameBytes(m, member) {
				r = i
				break
			}
			off = skipZSetScore(z.lp, next)
		}
	} else {
		m := string(member) // one conversion for both lookups
		if score, ok := z.sk.scores.get(m); ok {
			r = z.sk.zsl.rank(score, m) - 1
		}
	}
	if r < 0 {
		return 0, false
	}
	if reverse {
		r = z.Len() - 1 - r
	}
	return r, true
}

// Range calls fn for each member in ascending (score, member) order until fn
// returns false. Members of a listpack set share its memory.
func (z *ZSet) Range(fn func(member []byte, score float64) bool) {
	if z.sk == nil {
		for off := 0; off < len(z.lp); {
			m, s, next := zsetEntryAt(z.lp, off)
			if !fn(m, s) {
				return
			}
			off = next
		}
		return
	}
	for x := z.sk.zsl.header.level[0].forward; x != nil; x = x.level[0].forward {
		if !fn([]byte(x.member), x.score) {
			return
		}
	}
}

// RangeByRank calls fn for ranks [start, stop] (0-based, already clamped to
// the set), walking ascending or, with reverse, from the highest score down,
// until fn returns false.
func (z *ZSet) RangeByRank(start, stop int, reverse bool, fn func(member []byte, score float64) bool) {
	if start > stop || start < 0 || stop >= z.Len() {
		return
	}
	if z.sk == nil {
		var buf [32]zEntry
		es := z.entries(buf[:0])
		for i := start; i <= stop; i++ {
			e := es[i]
			if reverse {
				e = es[len(es)-1-i]
			}
			if !fn(e.member, e.score) {
				return
			}
		}
		return
	}
	zsl := &z.sk.zsl
	if !reverse {
		for x, i := zsl.byRank(start+1), start; x != nil && i <= stop; x, i = x.level[0].forward, i+1 {
			if !fn([]byte(x.member), x.score) {
				return
			}
		}
		return
	}
	for x, i := zsl.byRank(z.Len()-start), start; x != nil && i <= stop; x, i = x.backward, i+1 {
		if !fn([]byte(x.member), x.score) {
			return
		}
	}
}

// ScoreRange is a score interval as ZRANGEBYSCORE parses it: bounds may be
// ±Inf and either end may be exclusive.
type ScoreRange struct {
	Min, Max     float64
	MinEx, MaxEx bool
}

// gteMin reports whether v is at or above the lower bound.
func (r ScoreRange) gteMin(v float64) bool {
	if r.MinEx {
		return v > r.Min
	}
	return v >= r.Min
}

// lteMax reports whether v is at or below the upper bound.
func (r ScoreRange) lteMax(v float64) bool {
	if r.MaxEx {
		return v < r.Max
	}
	return v <= r.Max
}

// empty reports whether no score can be inside the range.
func (r ScoreRange) empty() bool {
	return r.Min > r.Max || (r.Min == r.Max && (r.MinEx || r.MaxEx))
}

// walkEntries is the listpack side of the range walks: starting at position
// first (-1: nothing in range), it skips offset entries in the walk's
// direction, then calls fn for up to limit (negative = no limit) entries
// while inRange holds and fn returns true.
func walkEntries(es []zEntry, first int, reverse bool, offset, limit int, inRange func(zEntry) bool, fn func(member []byte, score float64) bool) {
	if first < 0 {
		return
	}
	step := 1
	if reverse {
		step = -1
	}
	for i := first + offset*step; i >= 0 && i < len(es) && limit != 0; i, limit = i+step, limit-1 {
		if !inRange(es[i]) || !fn(es[i].member, es[i].score) {
			return
		}
	}
}

// firstInScoreRange is the position of the first entry in r (zzlFirstInRange), or -1.
func firstInScoreRange(es []zEntry, r ScoreRange) int {
	for i, e := range es {
		if r.gteMin(e.score) {
			if r.lteMax(e.score) {
				return i
			}
			return -1
		}
	}
	return -1
}

// lastInScoreRange is the position of the last entry in r (zzlLastInRange), or -1.
func lastInScoreRange(es []zEntry, r ScoreRange) int {
	for i := len(es) - 1; i >= 0; i-- {
		if r.lteMax(es[i].score) {
			if r.gteMin(es[i].score) {
				return i
			}
			return -1
		}
	}
	return -1
}

// RangeByScore calls fn for the members whose score is in r, ascending, or
// descending with reverse, skipping the first offset of them and stopping
// after limit (negative = no limit) or when fn returns false.
func (z *ZSet) RangeByScore(r ScoreRange, reverse bool, offset, limit int, fn func(member []byte, score float64) bool) {
	if r.empty() || limit == 0 {
		return
	}
	if z.sk == nil {
		var buf [32]zEntry
		es := z.entries(buf[:0])
		first := firstInScoreRange(es, r)
		inRange := func(e zEntry) bool { return r.lteMax(e.score) }
		if reverse {
			first = lastInScoreRange(es, r)
			inRange = func(e zEntry) bool { return r.gteMin(e.score) }
		}
		walkEntries(es, first, reverse, offset, limit, inRange, fn)
		return
	}
	zsl := &z.sk.zsl
	var x *zslNode
	if reverse {
		x = zsl.lastInScoreRange(r)
	} else {
		x = zsl.firstInScoreRange(r)
	}
	for ; x != nil && offset > 0; offset-- {
		x = zsl.step(x, reverse)
	}
	for ; x != nil && limit != 0; limit-- {
		if reverse && !r.gteMin(x.score) || !reverse && !r.lteMax(x.score) {
			return
		}
		if !fn([]byte(x.member), x.score) {
			return
		}
		x = zsl.step(x, reverse)
	}
}

// CountByScore is the number of members whose score is in r (ZCOUNT), in
// O(log n) for the skiplist encoding.
func (z *ZSet) CountByScore(r ScoreRange) int {
	if r.empty() {
		return 0
	}
	if z.sk == nil {
		n := 0
		z.Range(func(_ []byte, s float64) bool {
			if r.gteMin(s) && r.lteMax(s) {
				n++
			}
			return true
		})
		return n
	}
	zsl := &z.sk.zsl
	first := zsl.firstInScoreRange(r)
	if first == nil {
		return 0
	}
	last := zsl.lastInScoreRange(r)
	return zsl.rank(last.score, last.member) - zsl.rank(first.score, first.member) + 1
}

// LexBound is one end of a ZRANGEBYLEX interval: "-" (NegInf), "+" (PosInf),
// "[value" or "(value" (Exclusive).
type LexBound struct {
	NegInf, PosInf bool
	Exclusive      bool
	Value          []byte
}

// LexRange is a member interval as ZRANGEBYLEX parses it. It is meaningful
// when all members share one score; otherwise, as in Redis, the result
// follows the encoding's walk and is unspecified.
type LexRange struct{ Min, Max LexBound }

// cmpBound compares member with a bound: "-" is below and "+" above
// everything.
func cmpBound(member string, b LexBound) int {
	switch {
	case b.NegInf:
		return 1
	case b.PosInf:
		return -1
	}
	switch {
	case member < string(b.Value):
		return -1
	case member > string(b.Value):
		return 1
	}
	return 0
}

// gteMin reports whether member is at or above the lower bound.
func (r LexRange) gteMin(member string) bool {
	c := cmpBound(member, r.Min)
	if r.Min.Exclusive {
		return c > 0
	}
	return c >= 0
}

// lteMax reports whether member is at or below the upper bound.
func (r LexRange) lteMax(member string) bool {
	c := cmpBound(member, r.Max)
	if r.Max.Exclusive {
		return c < 0
	}
	return c <= 0
}

// empty reports whether the bounds select nothing, as zslIsInLexRange's
// first check does.
func (r LexRange) empty() bool {
	if r.Min.PosInf || r.Max.NegInf {
		return true
	}
	if r.Min.NegInf || r.Max.PosInf {
		return false
	}
	c := string(r.Min.Value)
	d := string(r.Max.Value)
	return c > d || (c == d && (r.Min.Exclusive || r.Max.Exclusive))
}

// inLexRange is zzlIsInLexRange: whether any entry can be in r, judged by
// the first and last entries.
func inLexRange(es []zEntry, r LexRange) bool {
	return !r.empty() && len(es) > 0 &&
		r.gteMin(string(es[len(es)-1].member)) && r.lteMax(string(es[0].member))
}

// firstInLex is the position where a forward lex walk of a listpack set
// starts (zzlFirstInLexRange), or -1. With members of mixed scores the answer
// depends on how Redis searches, so it searches the same way: linearly here,
// by the skiplist descent for the skiplist encoding.
func firstInLex(es []zEntry, r LexRange) int {
	if !inLexRange(es, r) {
		return -1
	}
	for i, e := range es {
		if r.gteMin(string(e.member)) {
			if r.lteMax(string(e.member)) {
				return i
			}
			return -1
		}
	}
	return -1
}

// lastInLex is firstInLex for a backward walk (zzlLastInLexRange).
func lastInLex(es []zEntry, r LexRange) int {
	if !inLexRange(es, r) {
		return -1
	}
	for i := len(es) - 1; i >= 0; i-- {
		if r.lteMax(string(es[i].member)) {
			if r.gteMin(string(es[i].member)) {
				return i
			}
			return -1
		}
	}
	return -1
}

// RangeByLex is RangeByScore for a lexicographic interval.
func (z *ZSet) RangeByLex(r LexRange, reverse bool, offset, limit int, fn func(member []byte, score float64) bool) {
	if r.empty() || limit == 0 {
		return
	}
	if z.sk == nil {
		var buf [32]zEntry
		es := z.entries(buf[:0])
		first := firstInLex(es, r)
		inRange := func(e zEntry) bool { return r.lteMax(string(e.member)) }
		if reverse {
			first = lastInLex(es, r)
			inRange = func(e zEntry) bool { return r.gteMin(string(e.member)) }
		}
		walkEntries(es, first, reverse, offset, limit, inRange, fn)
		return
	}
	zsl := &z.sk.zsl
	var x *zslNode
	if reverse {
		x = zsl.lastInLexRange(r)
	} else {
		x = zsl.firstInLexRange(r)
	}
	for ; x != nil && offset > 0; offset-- {
		x = zsl.step(x, reverse)
	}
	for ; x != nil && limit != 0; limit-- {
		if reverse && !r.gteMin(x.member) || !reverse && !r.lteMax(x.member) {
			return
		}
		if !fn([]byte(x.member), x.score) {
			return
		}
		x = zsl.step(x, reverse)
	}
}

// CountByLex is the number of members in r (ZLEXCOUNT): for the listpack
// encoding the members walked forward from the first one in range while
// within the upper bound, for the skiplist the rank distance between the
// first and last, as Redis counts them.
func (z *ZSet) CountByLex(r LexRange) int {
	if r.empty() {
		return 0
	}
	if z.sk == nil {
		var buf [32]zEntry
		es := z.entries(buf[:0])
		first := firstInLex(es, r)
		if first < 0 {
			return 0
		}
		n := 0
		for i := first; i < len(es) && r.lteMax(string(es[i].member)); i++ {
			n++
		}
		return n
	}
	zsl := &z.sk.zsl
	first := zsl.firstInLexRange(r)
	if first == nil {
		return 0
	}
	last := zsl.lastInLexRange(r)
	if last == nil {
		return 0
	}
	n := zsl.rank(last.score, last.member) - zsl.rank(first.score, first.member) + 1
	if n < 0 {
		return 0
	}
	return n
}

// RemoveRangeByRank deletes ranks [start, stop] (0-based, clamped by the
// caller) and returns how many were removed.
func (z *ZSet) RemoveRangeByRank(start, stop int) int {
	var victims []string
	z.RangeByRank(start, stop, false, func(m []byte, _ float64) bool {
		victims = append(victims, string(m))
		return true
	})
	return z.removeAll(victims)
}

// RemoveRangeByScore deletes the members whose score is in r.
func (z *ZSet) RemoveRangeByScore(r ScoreRange) int {
	var victims []string
	z.RangeByScore(r, false, 0, -1, func(m []byte, _ float64) bool {
		victims = append(victims, string(m))
		return true
	})
	return z.removeAll(victims)
}

// RemoveRangeByLex deletes the members in r.
func (z *ZSet) RemoveRangeByLex(r LexRange) int {
	var victims []string
	z.RangeByLex(r, false, 0, -1, func(m []byte, _ float64) bool {
		victims = append(victims, string(m))
		return true
	})
	return z.removeAll(victims)
}

func (z *ZSet) removeAll(members []string) int {
	for _, m := range members {
		z.Remove([]byte(m))
	}
	return len(members)
}

// Pop removes up to count members from the low end (or the high end with
// max) and returns them in pop order, as ZPOPMIN/ZPOPMAX do.
func (z *ZSet) Pop(count int, max bool) (members [][]byte, scores []float64) {
	for ; count > 0 && z.Len() > 0; count-- {
		rank := 0
		if max {
			rank = z.Len() - 1
		}
		z.RangeByRank(rank, rank, false, func(m []byte, s float64) bool {
			members = append(members, bytes.Clone(m))
			scores = append(scores, s)
			return false
		})
		z.Remove(members[len(members)-1])
	}
	return members, scores
}

// Scan implements ZSCAN's walk: a listpack-encoded set is returned whole, in
// score order, with next cursor 0; a skiplist-encoded one visits about count
// members per call with the guarantees described at table.scan.
func (z *ZSet) Scan(cursor uint64, count int, fn func(member []byte, score float64)) uint64 {
	if z.sk == nil {
		z.Range(func(m []byte, s float64) bool { fn(m, s); return true })
		return 0
	}
	return z.sk.scores.scan(cursor, count, func(k string, s float64) { fn([]byte(k), s) })
}

// Random returns members for ZRANDMEMBER with count (see RandomPositions for
// the meaning of its sign). A count covering the whole set returns it from
// the highest score down, as Redis's reply walks it with zuiNext (whose
// iterators start at the tail); members of a listpack set share its memory.
func (z *ZSet) Random(r *rand.Rand, count int64) (members [][]byte, scores []float64) {
	if n := z.Len(); count >= int64(n) && n > 0 {
		z.RangeByRank(0, n-1, true, func(m []byte, s float64) bool {
			members, scores = append(members, m), append(scores, s)
			return true
		})
		return members, scores
	}
	picks := RandomPositions(r, z.Len(), count)
	if z.sk == nil {
		es := z.entries(nil)
		for _, p := range picks {
			members = append(members, es[p].member)
			scores = append(scores, es[p].score)
		}
		return members, scores
	}
	for _, p := range picks {
		e := z.sk.scores.entries[p]
		members = append(members, []byte(e.key))
		scores = append(scores, e.val)
	}
	return members, scores
}

// ---------------------------------------------------------------- skiplist

// The skiplist follows Redis's zskiplist: up to 32 levels, p = 1/4, a header
// node without a member, backward links on level 0, and per-link spans
// (number of level-0 steps the link jumps) so ranks are sums of spans.

const (
	zslMaxLevel = 32
	zslP        = 0.25
)

type zslNode struct {
	member   string
	score    float64
	backward *zslNode
	level    []zslLevel
}

type zslLevel struct {
	forward *zslNode
	span    int
}

type skiplist struct {
	header *zslNode
	tail   *zslNode
	length int
	level  int
}

func (l *skiplist) init() {
	l.header = &zslNode{level: make([]zslLevel, zslMaxLevel)}
	l.tail, l.length, l.level = nil, 0, 1
}

// randomLevel returns a level in [1, 32] with a geometric distribution.
func randomLevel() int {
	level := 1
	for level < zslMaxLevel && float64(rand.Uint32()&0xFFFF) < zslP*0xFFFF {
		level++
	}
	return level
}

// less reports whether (s1, m1) sorts before (s2, m2).
func less(s1 float64, m1 string, s2 float64, m2 string) bool {
	return s1 < s2 || (s1 == s2 && m1 < m2)
}

// insert adds a node; the member must not be present.
func (l *skiplist) insert(score float64, member string) *zslNode {
	var update [zslMaxLevel]*zslNode
	var rank [zslMaxLevel]int
	x := l.header
	for i := l.level - 1; i >= 0; i-- {
		if i != l.level-1 {
			rank[i] = rank[i+1]
		}
		for f := x.level[i].forward; f != nil && less(f.score, f.member, score, member); f = x.level[i].forward {
			rank[i] += x.level[i].span
			x = f
		}
		update[i] = x
	}
	level := randomLevel()
	if level > l.level {
		for i := l.level; i < level; i++ {
			rank[i] = 0
			update[i] = l.header
			update[i].level[i].span = l.length
		}
		l.level = level
	}
	x = &zslNode{member: member, score: score, level: make([]zslLevel, level)}
	for i := 0; i < level; i++ {
		x.level[i].forward = update[i].level[i].forward
		update[i].level[i].forward = x
		x.level[i].span = update[i].level[i].span - (rank[0] - rank[i])
		update[i].level[i].span = rank[0] - rank[i] + 1
	}
	for i := level; i < l.level; i++ {
		update[i].level[i].span++
	}
	if update[0] != l.header {
		x.backward = update[0]
	}
	if x.level[0].forward != nil {
		x.level[0].forward.backward = x
	} else {
		l.tail = x
	}
	l.length++
	return x
}

// unlink removes x given the predecessors at each level.
func (l *skiplist) unlink(x *zslNode, update *[zslMaxLevel]*zslNode) {
	for i := 0; i < l.level; i++ {
		if update[i].level[i].forward == x {
			update[i].level[i].span += x.level[i].span - 1
			update[i].level[i].forward = x.level[i].forward
		} else {
			update[i].level[i].span--
		}
	}
	if x.level[0].forward != nil {
		x.level[0].forward.backward = x.backward
	} else {
		l.tail = x.backward
	}
	for l.level > 1 && l.header.level[l.level-1].forward == nil {
		l.level--
	}
	l.length--
}

// delete removes the node (score, member) and reports whether it was found.
func (l *skiplist) delete(score float64, member string) bool {
	var update [zslMaxLevel]*zslNode
	x := l.header
	for i := l.level - 1; i >= 0; i-- {
		for f := x.level[i].forward; f != nil && less(f.score, f.member, score, member); f = x.level[i].forward {
			x = f
		}
		update[i] = x
	}
	x = x.level[0].forward
	if x != nil && x.score == score && x.member == member {
		l.unlink(x, &update)
		return true
	}
	return false
}

// updateScore moves member from score old to score new, in place when the
// order does not change, as zslUpdateScore does.
func (l *skiplist) updateScore(old float64, member string, score float64) {
	var update [zslMaxLevel]*zslNode
	x := l.header
	for i := l.level - 1; i >= 0; i-- {
		for f := x.level[i].forward; f != nil && less(f.score, f.member, old, member); f = x.level[i].forward {
			x = f
		}
		update[i] = x
	}
	x = x.level[0].forward
	if (x.backward == nil || less(x.backward.score, x.backward.member, score, member)) &&
		(x.level[0].forward == nil || less(score, member, x.level[0].forward.score, x.level[0].forward.member)) {
		x.score = score
		return
	}
	l.unlink(x, &update)
	l.insert(score, member)
}

// rank returns the 1-based rank of (score, member), or 0 if absent.
func (l *skiplist) rank(score float64, member string) int {
	r := 0
	x := l.header
	for i := l.level - 1; i >= 0; i-- {
		for f := x.level[i].forward; f != nil && (less(f.score, f.member, score, member) || (f.score == score && f.member == member)); f = x.level[i].forward {
			r += x.level[i].span
			x = f
		}
		if x != l.header && x.member == member && x.score == score {
			return r
		}
	}
	return 0
}

// byRank returns the node at 1-based rank, or nil.
func (l *skiplist) byRank(rank int) *zslNode {
	traversed := 0
	x := l.header
	for i := l.level - 1; i >= 0; i-- {
		for x.level[i].forward != nil && traversed+x.level[i].span <= rank {
			traversed += x.level[i].span
			x = x.level[i].forward
		}
		if traversed == rank {
			return x
		}
	}
	return nil
}

// step moves one node forward, or backward with reverse.
func (l *skiplist) step(x *zslNode, reverse bool) *zslNode {
	if reverse {
		return x.backward
	}
	return x.level[0].forward
}

// inScoreRange reports whether any node can be in r (zslIsInRange).
func (l *skiplist) inScoreRange(r ScoreRange) bool {
	if r.empty() {
		return false
	}
	x := l.tail
	if x == nil || !r.gteMin(x.score) {
		return false
	}
	x = l.header.level[0].forward
	return x != nil && r.lteMax(x.score)
}

// firstInScoreRange returns the lowest node in r, or nil.
func (l *skiplist) firstInScoreRange(r ScoreRange) *zslNode {
	if !l.inScoreRange(r) {
		return nil
	}
	x := l.header
	for i := l.level - 1; i >= 0; i-- {
		for x.level[i].forward != nil && !r.gteMin(x.level[i].forward.score) {
			x = x.level[i].forward
		}
	}
	x = x.level[0].forward
	if x == nil || !r.lteMax(x.score) {
		return nil
	}
	return x
}

// lastInScoreRange returns the highest node in r, or nil.
func (l *skiplist) lastInScoreRange(r ScoreRange) *zslNode {
	if !l.inScoreRange(r) {
		return nil
	}
	x := l.header
	for i := l.level - 1; i >= 0; i-- {
		for x.level[i].forward != nil && r.lteMax(x.level[i].forward.score) {
			x = x.level[i].forward
		}
	}
	if x == l.header || !r.gteMin(x.score) {
		return nil
	}
	return x
}

// inLexRange reports whether any node can be in r (zslIsInLexRange).
func (l *skiplist) inLexRange(r LexRange) bool {
	if r.empty() {
		return false
	}
	x := l.tail
	if x == nil || !r.gteMin(x.member) {
		return false
	}
	x = l.header.level[0].forward
	return x != nil && r.lteMax(x.member)
}

// firstInLexRange returns the first node in r, or nil.
func (l *skiplist) firstInLexRange(r LexRange) *zslNode {
	if !l.inLexRange(r) {
		return nil
	}
	x := l.header
	for i := l.level - 1; i >= 0; i-- {
		for x.level[i].forward != nil && !r.gteMin(x.level[i].forward.member) {
			x = x.level[i].forward
		}
	}
	x = x.level[0].forward
	if x == nil || !r.lteMax(x.member) {
		return nil
	}
	return x
}

// lastInLexRange returns the last node in r, or nil.
func (l *skiplist) lastInLexRange(r LexRange) *zslNode {
	if !l.inLexRange(r) {
		return nil
	}
	x := l.header
	for i := l.level - 1; i >= 0; i-- {
		for x.level[i].forward != nil && r.lteMax(x.level[i].forward.member) {
			x = x.level[i].forward
		}
	}
	if x == l.header || !r.gteMin(x.member) {
		return nil
	}
	return x
}

// appendSorted copies src's nodes, already in order, onto the end of an
// empty list in O(n).
func (l *skiplist) appendSorted(src *skiplist) {
	var last [zslMaxLevel]*zslNode
	for i := range last {
		last[i] = l.header
	}
	var prev *zslNode
	pos := 0
	var lastPos [zslMaxLevel]int
	for x := src.header.level[0].forward; x != nil; x = x.level[0].forward {
		pos++
		n := &zslNode{member: x.member, score: x.score, backward: prev, level: make([]zslLevel, len(x.level))}
		for i := range n.level {
			last[i].level[i].forward = n
			last[i].level[i].span = pos - lastPos[i]
			last[i], lastPos[i] = n, pos
		}
		prev = n
	}
	// Spans of the final links count the steps to the end of the list, as
	// Redis keeps them for the header's unused levels.
	for i := 0; i < zslMaxLevel; i++ {
		if last[i] != l.header || i < src.level {
			last[i].level[i].span = src.length - lastPos[i]
		}
	}
	l.tail, l.length, l.level = prev, src.length, src.level
}

// IsFiniteOrInf reports whether a score is acceptable (not NaN); ZADD and
// ZINCRBY reject NaN results.
func IsFiniteOrInf(score float64) bool { return !math.IsNaN(score) }
