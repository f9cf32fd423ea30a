package store

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// TestHashListpackAgainstModel drives a listpack hash with random sets,
// overwrites of other lengths and deletes, and checks it against an ordered
// model after every step: contents, insertion order (Redis's listpack
// order), and that a clone taken midway neither sees later writes nor
// disturbs the original. Values up to 300 bytes cross the one-byte length
// prefix; the limits are raised so the hash stays listpack throughout.
func TestHashListpackAgainstModel(t *testing.T) {
	lim := NewLimits(EncodingLimits{HashMaxListpackEntries: 64, HashMaxListpackValue: 300})
	r := rand.New(rand.NewPCG(1, 2))
	h := lim.NewHash()
	var model []struct{ f, v string }
	find := func(f string) int {
		for i, e := range model {
			if e.f == f {
				return i
			}
		}
		return -1
	}
	var clone *Hash
	var cloneModel []struct{ f, v string }
	for step := 0; step < 20000; step++ {
		f := "f" + strconv.Itoa(r.IntN(60))
		switch r.IntN(3) {
		case 0, 1:
			v := bytes.Repeat([]byte{byte('a' + r.IntN(26))}, r.IntN(300))
			buf := append([]byte(nil), v...)
			added := h.Set([]byte(f), buf)
			for i := range buf {
				buf[i] = '!'
			}
			i := find(f)
			if added != (i < 0) {
				t.Fatalf("step %d: Set(%s) added=%v, model has it at %d", step, f, added, i)
			}
			if i < 0 {
				model = append(model, struct{ f, v string }{f, string(v)})
			} else {
				model[i].v = string(v)
			}
		case 2:
			i := find(f)
			if h.Delete([]byte(f)) != (i >= 0) {
				t.Fatalf("step %d: Delete(%s) disagrees with model", step, f)
			}
			if i >= 0 {
				model = append(model[:i], model[i+1:]...)
			}
		}
		if step == 5000 {
			clone = h.Clone().(*Hash)
			cloneModel = append([]struct{ f, v string }(nil), model...)
		}
		if h.Encoding() != "listpack" || h.Len() != len(model) {
			t.Fatalf("step %d: encoding %s len %d, model %d", step, h.Encoding(), h.Len(), len(model))
		}
		checkHashOrder(t, h, model)
		if clone != nil && step%1000 == 0 {
			checkHashOrder(t, clone, cloneModel)
		}
	}
}

func checkHashOrder(t *testing.T, h *Hash, model []struct{ f, v string }) {
	t.Helper()
	i := 0
	h.Range(func(f, v []byte) bool {
		if i >= len(model) || string(f) != model[i].f || string(v) != model[i].v {
			t.Fatalf("entry %d is %q=%.10q..., model %v", i, f, v, i < len(model))
		}
		i++
		return true
	})
	for _, e := range model {
		if v, ok := h.Get([]byte(e.f)); !ok || string(v) != e.v {
			t.Fatalf("Get(%s) = %.10q %v", e.f, v, ok)
		}
	}
}

// TestHashConvertsWhereRedisDoes checks the listpack -> hashtable switch at
// both thresholds and that contents survive it.
func TestHashConvertsWhereRedisDoes(t *testing.T) {
	lim := NewLimits(EncodingLimits{HashMaxListpackEntries: 4, HashMaxListpackValue: 8})
	h := lim.NewHash()
	for i := 0; i < 4; i++ {
		h.Set([]byte("f"+strconv.Itoa(i)), []byte("12345678"))
	}
	if h.Encoding() != "listpack" {
		t.Fatalf("4 entries of 8 bytes: %s", h.Encoding())
	}
	h.Set([]byte("f4"), []byte("x"))
	if h.Encoding() != "hashtable" || h.Len() != 5 {
		t.Fatalf("5th entry: %s len %d", h.Encoding(), h.Len())
	}
	for i := 0; i < 4; i++ {
		if v, _ := h.Get([]byte("f" + strconv.Itoa(i))); string(v) != "12345678" {
			t.Fatalf("f%d lost in conversion: %q", i, v)
		}
	}
	h2 := lim.NewHash()
	h2.Set([]byte("a"), []byte("1"))
	h2.Set([]byte("a"), []byte("123456789"))
	if h2.Encoding() != "hashtable" || h2.Len() != 1 {
		t.Fatalf("9-byte value: %s len %d", h2.Encoding(), h2.Len())
	}
}

// TestZSetListpackMatchesSkiplist drives a listpack sorted set with random
// adds (integral, fractional, huge and infinite scores, -0) and removes, and
// after each step compares every read against the same set converted to the
// skiplist encoding, whose implementation is independent: order, scores,
// ranks both ways, rank ranges, score ranges with offsets and limits both
// ways, counts, and (all scores equal, where the two walks must agree) lex
// ranges.
func TestZSetListpackMatchesSkiplist(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	scores := []float64{0, math.Copysign(0, -1), 1, -1, 2.5, -7.25, 1 << 53, -(1 << 53), 1<<53 + 2, 1e300, math.Inf(1), math.Inf(-1), 123456789, 0.1}
	for _, sameScore := range []bool{false, true} {
		z := NewZSet()
		for step := 0; step < 4000; step++ {
			m := []byte("m" + strconv.Itoa(r.IntN(40)))
			if r.IntN(4) == 0 {
				z.Remove(m)
			} else {
				s := scores[r.IntN(len(scores))]
				if sameScore {
					s = 5
				}
				z.Add(m, s)
			}
			if z.Encoding() != "listpack" {
				t.Fatalf("step %d: %s", step, z.Encoding())
			}
			sk := z.Clone().(*ZSet)
			sk.ToSkiplist()
			compareZSets(t, step, z, sk, r, sameScore)
		}
	}
}

func zsetDump(fn func(func([]byte, float64) bool)) string {
	var b []byte
	fn(func(m []byte, s float64) bool {
		b = append(b, m...)
		b = append(b, ':')
		b = strconv.AppendFloat(b, s, 'g', -1, 64)
		if s == 0 && math.Signbit(s) {
			b = append(b, '!')
		}
		b = append(b, ' ')
		return true
	})
	return string(b)
}

func compareZSets(t *testing.T, step int, lp, sk *ZSet, r *rand.Rand, lex bool) {
	t.Helper()
	fail := func(what, a, b string) {
		t.Helper()
		t.Fatalf("step %d: %s: listpack %q, skiplist %q", step, what, a, b)
	}
	if a, b := zsetDump(lp.Range), zsetDump(sk.Range); a != b || lp.Len() != sk.Len() {
		fail("Range", a, b)
	}
	for i := 0; i < 40; i++ {
		m := []byte("m" + strconv.Itoa(i))
		s1, ok1 := lp.Score(m)
		s2, ok2 := sk.Score(m)
		r1, _ := lp.Rank(m, i%2 == 0)
		r2, _ := sk.Rank(m, i%2 == 0)
		if ok1 != ok2 || s1 != s2 || r1 != r2 {
			fail("Score/Rank "+string(m), strconv.Itoa(r1), strconv.Itoa(r2))
		}
	}
	n := lp.Len()
	if n == 0 {
		return
	}
	start, stop, rev := r.IntN(n), r.IntN(n), r.IntN(2) == 0
	a := zsetDump(func(f func([]byte, float64) bool) { lp.RangeByRank(start, stop, rev, f) })
	b := zsetDump(func(f func([]byte, float64) bool) { sk.RangeByRank(start, stop, rev, f) })
	if a != b {
		fail("RangeByRank", a, b)
	}
	bounds := []float64{math.Inf(-1), -7.25, -1, 0, 1, 2.5, 1 << 53, math.Inf(1)}
	sr := ScoreRange{Min: bounds[r.IntN(len(bounds))], Max: bounds[r.IntN(len(bounds))], MinEx: r.IntN(2) == 0, MaxEx: r.IntN(2) == 0}
	off, limit := r.IntN(3), r.IntN(5)-1
	a = zsetDump(func(f func([]byte, float64) bool) { lp.RangeByScore(sr, rev, off, limit, f) })
	b = zsetDump(func(f func([]byte, float64) bool) { sk.RangeByScore(sr, rev, off, limit, f) })
	if a != b || lp.CountByScore(sr) != sk.CountByScore(sr) {
		fail("RangeByScore/CountByScore", a, b)
	}
	if lex {
		bound := func() LexBound {
			switch r.IntN(6) {
			case 0:
				return LexBound{NegInf: true}
			case 1:
				return LexBound{PosInf: true}
			}
			return LexBound{Exclusive: r.IntN(2) == 0, Value: []byte("m" + strconv.Itoa(r.IntN(40)))}
		}
		lr := LexRange{Min: bound(), Max: bound()}
		a = zsetDump(func(f func([]byte, float64) bool) { lp.RangeByLex(lr, rev, off, limit, f) })
		b = zsetDump(func(f func([]byte, float64) bool) { sk.RangeByLex(lr, rev, off, limit, f) })
		if a != b || lp.CountByLex(lr) != sk.CountByLex(lr) {
			fail("RangeByLex/CountByLex", a, b)
		}
	}
}

// TestZSetShrinkAndConvert checks the conversions at both limits and back
// (ShrinkIfSmall), with -0 normalised as zzlInsertAt does.
func TestZSetShrinkAndConvert(t *testing.T) {
	lim := NewLimits(EncodingLimits{ZSetMaxListpackEntries: 3, ZSetMaxListpackValue: 4})
	z := lim.NewZSet()
	z.Add([]byte("a"), math.Copysign(0, -1))
	z.Add([]byte("b"), 1.5)
	z.Add([]byte("c"), -3)
	if z.Encoding() != "listpack" {
		t.Fatal(z.Encoding())
	}
	if s, _ := z.Score([]byte("a")); math.Signbit(s) {
		t.Fatal("listpack kept -0")
	}
	z.Add([]byte("d"), 2)
	if z.Encoding() != "skiplist" || zsetDump(z.Range) != "c:-3 a:0 b:1.5 d:2 " {
		t.Fatalf("%s %q", z.Encoding(), zsetDump(z.Range))
	}
	z.Remove([]byte("d"))
	z.Add([]byte("a"), math.Copysign(0, -1))
	z.ShrinkIfSmall()
	if z.Encoding() != "listpack" || zsetDump(z.Range) != "c:-3 a:0 b:1.5 " {
		t.Fatalf("%s %q", z.Encoding(), zsetDump(z.Range))
	}
	z.Add([]byte("long!"), math.Copysign(0, -1))
	if s, _ := z.Score([]byte("long!")); z.Encoding() != "skiplist" || z.Len() != 4 || !math.Signbit(s) {
		t.Fatalf("5-byte member with score -0: %s, score %v", z.Encoding(), s)
	}
}

// TestListPackedAgainstModel drives lists with random pushes, pops, inserts,
// sets, removals, LREMs and LTRIMs, with elements from empty to 300 bytes
// (one- and two-byte length prefixes and back-lengths), and checks every
// read against a slice model after each step. The element sizes let a list
// cross listPackedMax and continue as a deque; a clone taken midway must
// not change. Popped elements must stay intact when the list is modified
// afterwards (LMOVE pushes a popped element back into the same list).
func TestListPackedAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for round := 0; round < 6; round++ {
		l := NewList()
		var model [][]byte
		maxElem := []int{3, 20, 300}[round%3]
		var clone *List
		var cloneModel [][]byte
		sawDeque := false
		for step := 0; step < 3000; step++ {
			elem := bytes.Repeat([]byte{byte('a' + r.IntN(3))}, r.IntN(maxElem+1))
			n := len(model)
			switch op := r.IntN(10); {
			case op < 3 || n == 0 || step%1000 < 300 && op < 8: // growth phases
				if r.IntN(2) == 0 {
					l.PushFront(elem)
					model = append([][]byte{bytes.Clone(elem)}, model...)
				} else {
					l.PushBack(elem)
					model = append(model, bytes.Clone(elem))
				}
				for i := range elem {
					elem[i] = '!' // the list copied it
				}
			case op == 3:
				e, _ := l.PopFront()
				l.PushBack(e) // LMOVE l l LEFT RIGHT
				model = append(model[1:], model[0])
			case op == 4:
				e, _ := l.PopBack()
				want := model[n-1]
				model = model[:n-1]
				l.PushFront(e)
				model = append([][]byte{want}, model...)
			case op == 5:
				i := r.IntN(n + 1)
				l.Insert(i, elem)
				model = append(model[:i], append([][]byte{bytes.Clone(elem)}, model[i:]...)...)
			case op == 6:
				i := r.IntN(n)
				l.Set(i, elem)
				model[i] = bytes.Clone(elem)
			case op == 7:
				i := r.IntN(n)
				l.RemoveAt(i)
				model = append(model[:i], model[i+1:]...)
			case op == 8:
				count := int64(r.IntN(5) - 2)
				target := model[r.IntN(n)]
				got := l.Remove(bytes.Clone(target), count)
				var want int64
				if count < 0 {
					for i := n - 1; i >= 0 && want < -count; i-- {
						if bytes.Equal(model[i], target) {
							model = append(model[:i], model[i+1:]...)
							want++
						}
					}
				} else {
					kept := model[:0:0]
					for _, e := range model {
						if bytes.Equal(e, target) && (count == 0 || want < count) {
							want++
							continue
						}
						kept = append(kept, e)
					}
					model = kept
				}
				if got != want {
					t.Fatalf("round %d step %d: LREM %d removed %d, model %d", round, step, count, got, want)
				}
			default:
				if r.IntN(4) == 0 {
					start, stop := r.IntN(n), r.IntN(n)
					l.Trim(start, stop)
					if start > stop {
						model = nil
					} else {
						model = model[start : stop+1]
					}
				} else {
					e, _ := l.PopBack()
					if !bytes.Equal(e, model[n-1]) {
						t.Fatalf("round %d step %d: PopBack %q, model %q", round, step, e, model[n-1])
					}
					model = model[:n-1]
				}
			}
			if step == 1500 {
				clone = l.Clone().(*List)
				cloneModel = append([][]byte(nil), model...)
			}
			checkList(t, l, model)
			if clone != nil && step%500 == 0 {
				checkList(t, clone, cloneModel)
			}
			sawDeque = sawDeque || l.dq != nil
		}
		if sawDeque != (maxElem == 300) {
			t.Fatalf("round %d (elements up to %d bytes): deque form used %v", round, maxElem, sawDeque)
		}
	}
}

func checkList(t *testing.T, l *List, model [][]byte) {
	t.Helper()
	if l.Len() != len(model) {
		t.Fatalf("Len %d, model %d", l.Len(), len(model))
	}
	i := 0
	l.Range(func(e []byte) bool {
		if !bytes.Equal(e, model[i]) {
			t.Fatalf("Range[%d] = %q, model %q", i, e, model[i])
		}
		i++
		return true
	})
	for i := range model {
		if !bytes.Equal(l.Index(i), model[i]) {
			t.Fatalf("Index(%d) = %q, model %q", i, l.Index(i), model[i])
		}
	}
	if n := len(model); n > 0 {
		from, to := n/3, n-1-n/4
		if got := l.Elements(from, to); len(got) != to-from+1 || (len(got) > 0 && !bytes.Equal(got[len(got)-1], model[to])) {
			t.Fatalf("Elements(%d, %d) has %d", from, to, len(got))
		}
		want := 0
		for _, e := range model {
			if bytes.Equal(e, model[0]) {
				want++
			}
		}
		if got := l.Positions(model[0], -1, 0, 0); len(got) != want || got[len(got)-1] != 0 {
			t.Fatalf("LPOS of the head from the tail: %v, %d matches", got, want)
		}
	}
}

// TestIntsetAgainstModel adds and removes integers of every width (and the
// int64 extremes) at random and checks the intset against a sorted model:
// members in ascending order, membership, and a width that grows with the
// widest member ever added and never shrinks (so MEMORY USAGE matches
// Redis's intset after removals).
func TestIntsetAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	pool := []int64{0, 1, -1, 32767, -32768, 32768, -32769, 1 << 31, -(1 << 31), -(1 << 31) - 1, math.MaxInt64, math.MinInt64, 12345678901}
	for i := 0; i < 40; i++ {
		pool = append(pool, int64(r.IntN(200)-100))
	}
	lim := NewLimits(EncodingLimits{SetMaxIntsetEntries: 1000})
	for round := 0; round < 20; round++ {
		s := lim.NewSet()
		model := map[int64]bool{}
		widest := 2
		for step := 0; step < 300; step++ {
			n := pool[r.IntN(len(pool))]
			if round < 5 {
				n = pool[13+r.IntN(40)] // small members only: width 2
			}
			m := []byte(strconv.FormatInt(n, 10))
			if r.IntN(3) == 0 {
				if s.Remove(m) != model[n] {
					t.Fatalf("Remove(%d) disagrees", n)
				}
				delete(model, n)
			} else {
				if s.Add(m) == model[n] {
					t.Fatalf("Add(%d) disagrees", n)
				}
				model[n] = true
				widest = max(widest, intsetWidth(n))
			}
			want := make([]int64, 0, len(model))
			for k := range model {
				want = append(want, k)
			}
			slices.Sort(want)
			var got []int64
			s.Range(func(b []byte) bool {
				v, _ := ParseCanonicalInt(b)
				got = append(got, v)
				return true
			})
			if s.Encoding() != "intset" || !slices.Equal(got, want) || s.width() != widest {
				t.Fatalf("round %d step %d: %s width %d (want %d)\n got %v\nwant %v", round, step, s.Encoding(), s.width(), widest, got, want)
			}
			if !s.Contains(m) != !model[n] {
				t.Fatalf("Contains(%d) disagrees", n)
			}
		}
	}
	s := lim.NewSet()
	s.Add([]byte("5"))
	s.Add([]byte("05"))
	if s.Encoding() != "hashtable" || s.Len() != 2 || !s.Contains([]byte("5")) {
		t.Fatalf("non-canonical member: %s len %d", s.Encoding(), s.Len())
	}
}
