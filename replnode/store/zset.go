package store

import (
	"math"
	"math/rand/v2"
)

// ---------------------------------------------------------------- sorted sets

// ZSet is a Redis sorted set: members ordered by (score, member bytes). As in
// Redis's t_zset.c it is a skiplist whose links carry spans (so rank lookups
// and rank ranges are O(log n)) plus a member→score table (O(1) ZSCORE, and
// the ZSCAN walk).
//
// The encoding name follows Redis: "listpack" while the set stays within
// ZSetMaxListpackEntries members of at most ZSetMaxListpackValue bytes (see
// Limits), "skiplist" after it outgrew them once.
// While "listpack", ZSCAN returns the whole set in score order, as Redis.
type ZSet struct {
	zsl    skiplist
	scores table[float64]
	big    bool    // skiplist encoding
	lim    *Limits // nil: DefaultLimits
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
	if z.big {
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
		z.big = true
	}
}

// ToSkiplist switches to the skiplist encoding whatever the size, as
// zsetConvert(zobj, OBJ_ENCODING_SKIPLIST) does for SORT.
func (z *ZSet) ToSkiplist() { z.big = true }

// ShrinkIfSmall gives a freshly built set (the result of ZRANGESTORE,
// ZUNIONSTORE...) the listpack encoding if it fits, as Redis's
// zsetConvertToListpackIfNeeded does for store destinations.
func (z *ZSet) ShrinkIfSmall() {
	lim := z.lim.get()
	if !z.big || z.Len() > lim.ZSetMaxListpackEntries {
		return
	}
	for _, e := range z.scores.entries {
		if len(e.key) > lim.ZSetMaxListpackValue {
			return
		}
	}
	z.big = false
	for x := z.zsl.header.level[0].forward; x != nil; x = x.level[0].forward {
		if x.score == 0 && math.Signbit(x.score) {
			x.score = 0
			z.scores.set(x.member, 0)
		}
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
// immutable in Go, so only the structure is rebuilt.
func (z *ZSet) Clone() Value {
	c := z.lim.NewZSet()
	c.big = z.big
	c.zsl.appendSorted(&z.zsl)
	c.scores = z.scores.clone(func(v float64) float64 { return v })
	return c
}

// Len is the number of members.
func (z *ZSet) Len() int { return z.zsl.length }

// Add sets member's score and reports whether the member was new. The score
// must not be NaN (the caller rejects it with Redis's error).
func (z *ZSet) Add(member []byte, score float64) bool {
	m := string(member)
	if old, ok := z.scores.get(m); ok {
		if !z.big {
			score = listpackScore(score)
		}
		if old != score {
			z.zsl.updateScore(old, m, score)
			z.scores.set(m, score)
		}
		return false
	}
	if !z.big {
		if lim := z.lim.get(); z.Len()+1 > lim.ZSetMaxListpackEntries || len(m) > lim.ZSetMaxListpackValue {
			z.big = true
		}
	}
	if !z.big {
		score = listpackScore(score)
	}
	z.zsl.insert(score, m)
	z.scores.set(m, score)
	return true
}

// Remove deletes member and reports whether it existed.
func (z *ZSet) Remove(member []byte) bool {
	m := string(member)
	score, ok := z.scores.get(m)
	if !ok {
		return false
	}
	z.zsl.delete(score, m)
	z.scores.remove(m)
	return true
}

// Score returns member's score.
func (z *ZSet) Score(member []byte) (float64, bool) { return z.scores.get(string(member)) }

// Rank returns member's 0-based rank, counted from the lowest score, or from
// the highest when reverse is set.
func (z *ZSet) Rank(member []byte, reverse bool) (int, bool) {
	m := string(member)
	score, ok := z.scores.get(m)
	if !ok {
		return 0, false
	}
	r := z.zsl.rank(score, m) - 1
	if reverse {
		r = z.Len() - 1 - r
	}
	return r, true
}

// Range calls fn for each member in ascending (score, member) order until fn
// returns false.
func (z *ZSet) Range(fn func(member []byte, score float64) bool) {
	for x := z.zsl.header.level[0].forward; x != nil; x = x.level[0].forward {
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
	if !reverse {
		for x, i := z.zsl.byRank(start+1), start; x != nil && i <= stop; x, i = x.level[0].forward, i+1 {
			if !fn([]byte(x.member), x.score) {
				return
			}
		}
		return
	}
	for x, i := z.zsl.byRank(z.Len()-start), start; x != nil && i <= stop; x, i = x.backward, i+1 {
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

// RangeByScore calls fn for the members whose score is in r, ascending, or
// descending with reverse, skipping the first offset of them and stopping
// after limit (negative = no limit) or when fn returns false.
func (z *ZSet) RangeByScore(r ScoreRange, reverse bool, offset, limit int, fn func(member []byte, score float64) bool) {
	if r.empty() || limit == 0 {
		return
	}
	var x *zslNode
	if reverse {
		x = z.zsl.lastInScoreRange(r)
	} else {
		x = z.zsl.firstInScoreRange(r)
	}
	for ; x != nil && offset > 0; offset-- {
		x = z.zsl.step(x, reverse)
	}
	for ; x != nil && limit != 0; limit-- {
		if reverse && !r.gteMin(x.score) || !reverse && !r.lteMax(x.score) {
			return
		}
		if !fn([]byte(x.member), x.score) {
			return
		}
		x = z.zsl.step(x, reverse)
	}
}

// CountByScore is the number of members whose score is in r (ZCOUNT), in
// O(log n).
func (z *ZSet) CountByScore(r ScoreRange) int {
	if r.empty() {
		return 0
	}
	first := z.zsl.firstInScoreRange(r)
	if first == nil {
		return 0
	}
	last := z.zsl.lastInScoreRange(r)
	return z.zsl.rank(last.score, last.member) - z.zsl.rank(first.score, first.member) + 1
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
// follows the skiplist walk and is unspecified.
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

// RangeByLex is RangeByScore for a lexicographic interval.
func (z *ZSet) RangeByLex(r LexRange, reverse bool, offset, limit int, fn func(member []byte, score float64) bool) {
	if r.empty() || limit == 0 {
		return
	}
	var x *zslNode
	if reverse {
		x = z.lastInLex(r)
	} else {
		x = z.firstInLex(r)
	}
	for ; x != nil && offset > 0; offset-- {
		x = z.zsl.step(x, reverse)
	}
	for ; x != nil && limit != 0; limit-- {
		if reverse && !r.gteMin(x.member) || !reverse && !r.lteMax(x.member) {
			return
		}
		if !fn([]byte(x.member), x.score) {
			return
		}
		x = z.zsl.step(x, reverse)
	}
}

// firstInLex finds where a forward lex walk starts. With members of mixed
// scores the answer depends on how Redis searches, so it searches the same
// way: a linear scan for the listpack encoding (zzlFirstInLexRange), the
// skiplist descent otherwise (zslFirstInLexRange).
func (z *ZSet) firstInLex(r LexRange) *zslNode {
	if z.big {
		return z.zsl.firstInLexRange(r)
	}
	if !z.zsl.inLexRange(r) {
		return nil
	}
	for x := z.zsl.header.level[0].forward; x != nil; x = x.level[0].forward {
		if r.gteMin(x.member) {
			if r.lteMax(x.member) {
				return x
			}
			return nil
		}
	}
	return nil
}

// lastInLex is firstInLex for a backward walk (zzlLastInLexRange).
func (z *ZSet) lastInLex(r LexRange) *zslNode {
	if z.big {
		return z.zsl.lastInLexRange(r)
	}
	if !z.zsl.inLexRange(r) {
		return nil
	}
	for x := z.zsl.tail; x != nil; x = x.backward {
		if r.lteMax(x.member) {
			if r.gteMin(x.member) {
				return x
			}
			return nil
		}
	}
	return nil
}

// CountByLex is the number of members in r (ZLEXCOUNT): for the listpack
// encoding the members walked forward from the first one in range while
// within the upper bound, for the skiplist the rank distance between the
// first and last, as Redis counts them.
func (z *ZSet) CountByLex(r LexRange) int {
	if r.empty() {
		return 0
	}
	first := z.firstInLex(r)
	if first == nil {
		return 0
	}
	if !z.big {
		n := 0
		for x := first; x != nil && r.lteMax(x.member); x = x.level[0].forward {
			n++
		}
		return n
	}
	last := z.zsl.lastInLexRange(r)
	if last == nil {
		return 0
	}
	n := z.zsl.rank(last.score, last.member) - z.zsl.rank(first.score, first.member) + 1
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
		x := z.zsl.header.level[0].forward
		if max {
			x = z.zsl.tail
		}
		members = append(members, []byte(x.member))
		scores = append(scores, x.score)
		z.Remove([]byte(x.member))
	}
	return members, scores
}

// Scan implements ZSCAN's walk: a listpack-encoded set is returned whole, in
// score order, with next cursor 0; a skiplist-encoded one visits about count
// members per call with the guarantees described at table.scan.
func (z *ZSet) Scan(cursor uint64, count int, fn func(member []byte, score float64)) uint64 {
	if !z.big {
		z.Range(func(m []byte, s float64) bool { fn(m, s); return true })
		return 0
	}
	return z.scores.scan(cursor, count, func(k string, s float64) { fn([]byte(k), s) })
}

// Random returns members for ZRANDMEMBER with count (see RandomPositions for
// the meaning of its sign).
func (z *ZSet) Random(r *rand.Rand, count int64) (members [][]byte, scores []float64) {
	for _, p := range RandomPositions(r, z.scores.len(), count) {
		e := z.scores.entries[p]
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
