package store

import (
	"bytes"
	"math"
	"math/rand/v2"
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
	z.Add([]byte("long!"), 1)
	if z.Encoding() != "skiplist" || z.Len() != 4 {
		t.Fatalf("5-byte member: %s", z.Encoding())
	}
}
