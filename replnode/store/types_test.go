package store

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"testing"
)

// ------ helpers

func bs(s string) []byte { return []byte(s) }

func strs(bb [][]byte) []string {
	out := make([]string, len(bb))
	for i, b := range bb {
		out[i] = string(b)
	}
	return out
}

func listContents(l *List) []string {
	var out []string
	l.Range(func(e []byte) bool { out = append(out, string(e)); return true })
	return out
}

// ------ STRINGS

func TestParseCanonicalInt(t *testing.T) {
	cases := []struct {
		in string
		ok bool
		n  int64
	}{
		{"0", true, 0}, {"-1", true, -1}, {"123", true, 123},
		{"9223372036854775807", true, math.MaxInt64},
		{"-9223372036854775808", true, math.MinInt64},
		{"9223372036854775808", false, 0}, {"-0", false, 0}, {"+1", false, 0},
		{"007", false, 0}, {" 1", false, 0}, {"", false, 0}, {"1.0", false, 0},
	}
	for _, c := range cases {
		n, ok := ParseCanonicalInt(bs(c.in))
		if ok != c.ok || n != c.n {
			t.Errorf("ParseCanonicalInt(%q) = %d,%v want %d,%v", c.in, n, ok, c.n, c.ok)
		}
	}
	enc := map[string]string{"12": "int", "012": "embstr", "": "embstr"}
	for in, want := range enc {
		if got := NewString(bs(in)).Encoding(); got != want {
			t.Errorf("encoding(%q) = %s want %s", in, got, want)
		}
	}
}

// ------ LISTS

// TestListAgainstModel drives a List and a plain slice with the same random
// operations and compares them after each step.
func TestListAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	l := NewList()
	var model []string
	for step := 0; step < 20000; step++ {
		v := strconv.Itoa(r.IntN(20))
		switch op := r.IntN(10); {
		case op < 2:
			l.PushBack(bs(v))
			model = append(model, v)
		case op < 4:
			l.PushFront(bs(v))
			model = append([]string{v}, model...)
		case op == 4:
			e, ok := l.PopFront()
			if ok != (len(model) > 0) {
				t.Fatalf("PopFront ok=%v", ok)
			}
			if ok {
				if string(e) != model[0] {
					t.Fatalf("PopFront %q want %q", e, model[0])
				}
				model = model[1:]
			}
		case op == 5:
			e, ok := l.PopBack()
			if ok {
				if string(e) != model[len(model)-1] {
					t.Fatalf("PopBack %q want %q", e, model[len(model)-1])
				}
				model = model[:len(model)-1]
			}
		case op == 6:
			i := r.IntN(len(model) + 1)
			l.Insert(i, bs(v))
			model = slices.Insert(model, i, v)
		case op == 7 && len(model) > 0:
			i := r.IntN(len(model))
			l.RemoveAt(i)
			model = slices.Delete(model, i, i+1)
		case op == 8 && len(model) > 0:
			i := r.IntN(len(model))
			l.Set(i, bs(v))
			model[i] = v
		case op == 9:
			cnt := int64(r.IntN(5) - 2)
			got := l.Remove(bs(v), cnt)
			want := modelRemove(&model, v, cnt)
			if got != want {
				t.Fatalf("Remove(%s,%d) = %d want %d", v, cnt, got, want)
			}
		}
		if l.Len() != len(model) {
			t.Fatalf("step %d: len %d want %d", step, l.Len(), len(model))
		}
		if step%97 == 0 && !slices.Equal(listContents(l), model) && (len(model) != 0 || l.Len() != 0) {
			t.Fatalf("step %d: %v want %v", step, listContents(l), model)
		}
	}
}

func modelRemove(model *[]string, v string, count int64) int64 {
	m := *model
	var removed int64
	if count >= 0 {
		var out []string
		for _, e := range m {
			if e == v && (count == 0 || removed < count) {
				removed++
				continue
			}
			out = append(out, e)
		}
		*model = out
		return removed
	}
	keep := make([]bool, len(m))
	for i := len(m) - 1; i >= 0; i-- {
		keep[i] = true
		if m[i] == v && removed < -count {
			keep[i] = false
			removed++
		}
	}
	var out []string
	for i, e := range m {
		if keep[i] {
			out = append(out, e)
		}
	}
	*model = out
	return removed
}

func TestListTrimAndRanges(t *testing.T) {
	mk := func() *List {
		l := NewList()
		for i := 0; i < 10; i++ {
			l.PushBack(bs(strconv.Itoa(i)))
		}
		return l
	}
	cases := []struct {
		start, stop int64
		want        []string
	}{
		{0, -1, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}},
		{2, 4, []string{"2", "3", "4"}},
		{-3, -1, []string{"7", "8", "9"}},
		{-100, 1, []string{"0", "1"}},
		{5, 100, []string{"5", "6", "7", "8", "9"}},
		{5, 2, nil},
		{10, 20, nil},
	}
	for _, c := range cases {
		l := mk()
		from, to, empty := NormalizeRange(c.start, c.stop, l.Len())
		var got []string
		if !empty {
			got = strs(l.Elements(from, to))
			l.Trim(from, to)
		} else {
			l.Trim(1, 0)
		}
		if !slices.Equal(got, c.want) || !slices.Equal(listContents(l), c.want) {
			t.Errorf("range %d..%d: got %v / trimmed %v want %v", c.start, c.stop, got, listContents(l), c.want)
		}
	}
}

func TestListPositions(t *testing.T) {
	l := NewList()
	for _, e := range []string{"a", "b", "c", "1", "2", "3", "c", "c"} {
		l.PushBack(bs(e))
	}
	cases := []struct {
		rank, count, maxlen int64
		want                []int
	}{
		{1, 1, 0, []int{2}},
		{1, 0, 0, []int{2, 6, 7}},
		{2, 0, 0, []int{6, 7}},
		{-1, 1, 0, []int{7}},
		{-1, 0, 0, []int{7, 6, 2}},
		{-2, 2, 0, []int{6, 2}},
		{1, 0, 3, []int{2}},
		{1, 0, 2, nil},
		{-1, 0, 1, []int{7}},
		{5, 0, 0, nil},
	}
	for _, c := range cases {
		if got := l.Positions(bs("c"), c.rank, c.count, c.maxlen); !slices.Equal(got, c.want) {
			t.Errorf("Positions(rank=%d count=%d maxlen=%d) = %v want %v", c.rank, c.count, c.maxlen, got, c.want)
		}
	}
	if got := l.Find(bs("1")); got != 3 {
		t.Errorf("Find = %d", got)
	}
}

func TestListCloneIsDeep(t *testing.T) {
	l := NewList()
	l.PushBack(bs("abc"))
	c := l.Clone().(*List)
	l.Index(0)[0] = 'X'
	l.PushBack(bs("more"))
	if got := listContents(c); !slices.Equal(got, []string{"abc"}) {
		t.Fatalf("clone changed: %v", got)
	}
}

// ------ HASHES

func TestHashOrderAndConversion(t *testing.T) {
	h := NewHash()
	for _, f := range []string{"c", "a", "b"} {
		h.Set(bs(f), bs("v"+f))
	}
	h.Set(bs("a"), bs("new")) // overwrite keeps position
	h.Delete(bs("c"))
	h.Set(bs("c"), bs("again")) // re-added goes last
	var order []string
	h.Range(func(f, v []byte) bool { order = append(order, string(f)+"="+string(v)); return true })
	if want := []string{"a=new", "b=vb", "c=again"}; !slices.Equal(order, want) {
		t.Fatalf("order %v want %v", order, want)
	}
	if h.Encoding() != "listpack" {
		t.Fatal(h.Encoding())
	}
	h.Set(bs("long"), make([]byte, 65))
	if h.Encoding() != "hashtable" {
		t.Fatal("value > 64 bytes must convert")
	}
	h.Delete(bs("long"))
	if h.Encoding() != "hashtable" {
		t.Fatal("conversion is one way")
	}

	h2 := NewHash()
	for i := 0; i < 128; i++ {
		h2.Set(bs(strconv.Itoa(i)), bs("x"))
	}
	if h2.Encoding() != "listpack" {
		t.Fatal("128 fields stay listpack")
	}
	h2.Set(bs("128"), bs("x"))
	if h2.Encoding() != "hashtable" || h2.Len() != 129 {
		t.Fatal("129 fields convert")
	}
	for i := 0; i <= 128; i++ {
		if v, ok := h2.Get(bs(strconv.Itoa(i))); !ok || string(v) != "x" {
			t.Fatalf("field %d lost after conversion", i)
		}
	}
}

func TestHashCloneIsDeep(t *testing.T) {
	h := NewHash()
	h.Set(bs("f"), bs("v"))
	c := h.Clone().(*Hash)
	v, _ := h.Get(bs("f"))
	v[0] = 'X'
	h.Set(bs("g"), bs("w"))
	if got, _ := c.Get(bs("f")); string(got) != "v" || c.Len() != 1 {
		t.Fatal("clone shares memory")
	}
}

// TestScanGuarantee checks SCAN's promise on a hashtable: every field present
// for the whole walk is returned, whatever happens between calls.
func TestScanGuarantee(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := 0; round < 50; round++ {
		h := NewHash()
		for i := 0; i < 500; i++ {
			h.Set(bs(fmt.Sprint("k", i)), bs("v"))
		}
		stable := map[string]bool{}
		for i := 0; i < 250; i++ { // the first half is never touched
			stable[fmt.Sprint("k", i)] = true
		}
		seen := map[string]bool{}
		cursor := uint64(0)
		for first := true; first || cursor != 0; first = false {
			cursor = h.Scan(cursor, 10, func(f, _ []byte) { seen[string(f)] = true })
			for j := 0; j < 5; j++ {
				if r.IntN(2) == 0 {
					h.Delete(bs(fmt.Sprint("k", 250+r.IntN(250))))
				} else {
					h.Set(bs(fmt.Sprint("n", r.IntN(1000))), bs("v"))
				}
			}
		}
		for k := range stable {
			if !seen[k] {
				t.Fatalf("round %d: %s missed by scan", round, k)
			}
		}
	}
}

func TestRandomPositions(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 5, 30, 100} {
		for _, count := range []int64{1, 3, 10, 29, 40, 200} {
			p := RandomPositions(r, n, count)
			want := min(int(count), n)
			if len(p) != want {
				t.Fatalf("n=%d count=%d: %d picks", n, count, len(p))
			}
			seen := map[int]bool{}
			for _, x := range p {
				if x < 0 || x >= n || seen[x] {
					t.Fatalf("n=%d count=%d: bad or repeated pick %d in %v", n, count, x, p)
				}
				seen[x] = true
			}
		}
		if p := RandomPositions(r, n, -7); len(p) != 7 {
			t.Fatalf("negative count: %d picks", len(p))
		}
	}
	if RandomPositions(r, 0, 5) != nil || RandomPositions(r, 5, 0) != nil {
		t.Fatal("empty cases")
	}
}

// ------ SETS

func TestSetIntsetAndConversion(t *testing.T) {
	s := NewSet()
	for _, m := range []string{"5", "-3", "100", "5", "0"} {
		s.Add(bs(m))
	}
	if got := strs(s.Members()); !slices.Equal(got, []string{"-3", "0", "5", "100"}) || s.Encoding() != "intset" {
		t.Fatalf("intset %v %s", got, s.Encoding())
	}
	if !s.Contains(bs("100")) || s.Contains(bs("0100")) || s.Contains(bs("x")) {
		t.Fatal("Contains")
	}
	if s.Remove(bs("x")) || !s.Remove(bs("0")) || s.Len() != 3 {
		t.Fatal("Remove")
	}
	s.Add(bs("007")) // not canonical: converts
	if s.Encoding() != "hashtable" || s.Len() != 4 || !s.Contains(bs("100")) || !s.Contains(bs("007")) {
		t.Fatal("conversion on non-integer member")
	}
	big := NewSet()
	for i := 0; i < 512; i++ {
		big.Add(bs(strconv.Itoa(i * 3)))
	}
	if big.Encoding() != "intset" {
		t.Fatal("512 ints stay intset")
	}
	big.Add(bs("1"))
	if big.Encoding() != "hashtable" || big.Len() != 513 {
		t.Fatal("513 ints convert")
	}
}

func TestSetPopAndRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, members := range [][]string{{"1", "2", "3", "4", "5"}, {"a", "b", "c", "d", "e"}} {
		s := NewSet()
		for _, m := range members {
			s.Add(bs(m))
		}
		if got := s.Random(r, 3); len(got) != 3 {
			t.Fatal("Random count")
		}
		popped := strs(s.Pop(r, 3))
		if len(popped) != 3 || s.Len() != 2 {
			t.Fatalf("Pop: %v left %d", popped, s.Len())
		}
		all := slices.Concat(popped, strs(s.Members()))
		sort.Strings(all)
		if !slices.Equal(all, members) {
			t.Fatalf("pop lost members: %v", all)
		}
		if got := s.Pop(r, 10); len(got) != 2 || s.Len() != 0 {
			t.Fatal("Pop beyond size")
		}
	}
}

func TestSetCloneIsIndependent(t *testing.T) {
	for _, m := range []string{"1", "x"} {
		s := NewSet()
		s.Add(bs(m))
		c := s.Clone().(*Set)
		s.Add(bs("2"))
		s.Remove(bs(m))
		if c.Len() != 1 || !c.Contains(bs(m)) {
			t.Fatalf("clone of %s changed", m)
		}
	}
}

// ------ SORTED SETS

type zent struct {
	m string
	s float64
}

func zModelSorted(model map[string]float64) []zent {
	out := make([]zent, 0, len(model))
	for m, s := range model {
		out = append(out, zent{m, s})
	}
	sort.Slice(out, func(i, j int) bool { return less(out[i].s, out[i].m, out[j].s, out[j].m) })
	return out
}

func zContents(z *ZSet) []zent {
	var out []zent
	z.Range(func(m []byte, s float64) bool { out = append(out, zent{string(m), s}); return true })
	return out
}

// TestZSetAgainstModel checks ranks, rank ranges, score ranges and counts
// against a sorted slice after random adds, updates and removals.
func TestZSetAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	z := NewZSet()
	model := map[string]float64{}
	for step := 0; step < 5000; step++ {
		m := fmt.Sprint("m", r.IntN(300))
		if r.IntN(3) == 0 {
			_, had := model[m]
			if z.Remove(bs(m)) != had {
				t.Fatal("Remove result")
			}
			delete(model, m)
		} else {
			s := float64(r.IntN(50))
			_, had := model[m]
			if z.Add(bs(m), s) == had {
				t.Fatal("Add result")
			}
			model[m] = s
		}
		if step%50 != 0 {
			continue
		}
		sorted := zModelSorted(model)
		if !slices.Equal(zContents(z), sorted) && len(sorted) > 0 {
			t.Fatalf("step %d: order differs", step)
		}
		for i, e := range sorted {
			if rk, ok := z.Rank(bs(e.m), false); !ok || rk != i {
				t.Fatalf("rank of %s = %d want %d", e.m, rk, i)
			}
			if rk, _ := z.Rank(bs(e.m), true); rk != len(sorted)-1-i {
				t.Fatalf("revrank of %s", e.m)
			}
		}
		if len(sorted) > 3 {
			var got []zent
			z.RangeByRank(1, 3, true, func(m []byte, s float64) bool { got = append(got, zent{string(m), s}); return true })
			want := []zent{sorted[len(sorted)-2], sorted[len(sorted)-3], sorted[len(sorted)-4]}
			if !slices.Equal(got, want) {
				t.Fatalf("rev rank range %v want %v", got, want)
			}
		}
		rg := ScoreRange{Min: 10, Max: 20, MinEx: step%100 == 0}
		var want []zent
		for _, e := range sorted {
			if rg.gteMin(e.s) && rg.lteMax(e.s) {
				want = append(want, e)
			}
		}
		if z.CountByScore(rg) != len(want) {
			t.Fatalf("count %d want %d", z.CountByScore(rg), len(want))
		}
		var got []zent
		z.RangeByScore(rg, false, 2, 5, func(m []byte, s float64) bool { got = append(got, zent{string(m), s}); return true })
		var wantLim []zent
		if len(want) > 2 {
			wantLim = want[2:min(len(want), 7)]
		}
		if !slices.Equal(got, wantLim) {
			t.Fatalf("score range limit %v want %v", got, wantLim)
		}
		got = nil
		z.RangeByScore(rg, true, 0, -1, func(m []byte, s float64) bool { got = append(got, zent{string(m), s}); return true })
		slices.Reverse(want)
		if !slices.Equal(got, want) && len(want) > 0 {
			t.Fatalf("rev score range %v want %v", got, want)
		}
		c := z.Clone().(*ZSet)
		if !slices.Equal(zContents(c), zContents(z)) || c.Len() != z.Len() {
			t.Fatal("clone differs")
		}
		if len(sorted) > 0 {
			if rk, _ := c.Rank(bs(sorted[len(sorted)-1].m), false); rk != len(sorted)-1 {
				t.Fatal("clone spans wrong")
			}
			c.Add(bs("zz-new"), -1)
			if _, ok := z.Score(bs("zz-new")); ok {
				t.Fatal("clone shares the table")
			}
		}
	}
}

func TestZSetLex(t *testing.T) {
	z := NewZSet()
	for _, m := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		z.Add(bs(m), 0)
	}
	lb := func(s string) LexBound {
		switch s {
		case "-":
			return LexBound{NegInf: true}
		case "+":
			return LexBound{PosInf: true}
		}
		return LexBound{Exclusive: s[0] == '(', Value: bs(s[1:])}
	}
	cases := []struct {
		min, max string
		want     string
	}{
		{"-", "+", "abcdefg"}, {"[b", "[d", "bcd"}, {"(b", "(d", "c"}, {"-", "(c", "ab"},
		{"[e", "+", "efg"}, {"+", "-", ""}, {"[d", "[b", ""}, {"(d", "[d", ""}, {"[aa", "[bb", "b"},
	}
	for _, c := range cases {
		rg := LexRange{Min: lb(c.min), Max: lb(c.max)}
		got := ""
		z.RangeByLex(rg, false, 0, -1, func(m []byte, _ float64) bool { got += string(m); return true })
		rev := ""
		z.RangeByLex(rg, true, 0, -1, func(m []byte, _ float64) bool { rev = string(m) + rev; return true })
		if got != c.want || rev != c.want || z.CountByLex(rg) != len(c.want) {
			t.Errorf("lex %s %s: %q rev %q count %d want %q", c.min, c.max, got, rev, z.CountByLex(rg), c.want)
		}
	}
	if n := z.RemoveRangeByLex(LexRange{Min: lb("[b"), Max: lb("[c")}); n != 2 || z.Len() != 5 {
		t.Fatal("RemoveRangeByLex")
	}
	if n := z.RemoveRangeByRank(0, 1); n != 2 || z.Len() != 3 {
		t.Fatal("RemoveRangeByRank")
	}
	ms, _ := z.Pop(2, true)
	if got := strs(ms); !slices.Equal(got, []string{"g", "f"}) {
		t.Fatalf("Pop max %v", got)
	}
}

func TestZSetEncoding(t *testing.T) {
	z := NewZSet()
	for i := 0; i < 128; i++ {
		z.Add(bs(strconv.Itoa(i)), float64(i))
	}
	if z.Encoding() != "listpack" {
		t.Fatal("128 stay listpack")
	}
	z.Add(bs("x"), 1)
	if z.Encoding() != "skiplist" {
		t.Fatal("129 convert")
	}
	z.RemoveRangeByRank(0, 100)
	if z.Encoding() != "skiplist" {
		t.Fatal("one way")
	}
	z.ShrinkIfSmall()
	if z.Encoding() != "listpack" {
		t.Fatal("ShrinkIfSmall")
	}
	long := NewZSet()
	long.Add(make([]byte, 65), 1)
	if long.Encoding() != "skiplist" {
		t.Fatal("long member converts")
	}
	if NewZSetSized(129, 1).Encoding() != "skiplist" || NewZSetSized(2, 65).Encoding() != "skiplist" || NewZSetSized(128, 64).Encoding() != "listpack" {
		t.Fatal("NewZSetSized")
	}
}

func TestZSetInfScores(t *testing.T) {
	z := NewZSet()
	z.Add(bs("lo"), math.Inf(-1))
	z.Add(bs("hi"), math.Inf(1))
	z.Add(bs("mid"), 0)
	if n := z.CountByScore(ScoreRange{Min: math.Inf(-1), Max: math.Inf(1)}); n != 3 {
		t.Fatal(n)
	}
	if n := z.CountByScore(ScoreRange{Min: math.Inf(-1), Max: math.Inf(1), MinEx: true, MaxEx: true}); n != 1 {
		t.Fatal(n)
	}
	z.Add(bs("lo"), 5) // move
	if rk, _ := z.Rank(bs("lo"), false); rk != 1 {
		t.Fatal(rk)
	}
}

// ------ BENCHMARKS

func BenchmarkListPushPop(b *testing.B) {
	l := NewList()
	v := bs("value")
	for i := 0; i < b.N; i++ {
		l.PushBack(v)
		l.PushFront(v)
		if l.Len() > 1000 {
			l.PopBack()
			l.PopFront()
		}
	}
}

func BenchmarkListIndex(b *testing.B) {
	l := NewList()
	for i := 0; i < 100000; i++ {
		l.PushBack(bs("v"))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = l.Index(i % 100000)
	}
}

func BenchmarkHashSetGet(b *testing.B) {
	h := NewHash()
	keys := make([][]byte, 10000)
	for i := range keys {
		keys[i] = bs(strconv.Itoa(i))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := keys[i%len(keys)]
		h.Set(k, k)
		h.Get(k)
	}
}

func BenchmarkZSetAddRank(b *testing.B) {
	z := NewZSet()
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < b.N; i++ {
		m := bs(strconv.Itoa(r.IntN(100000)))
		z.Add(m, float64(r.IntN(1000000)))
		z.Rank(m, false)
	}
}

func BenchmarkZSetRangeByScore(b *testing.B) {
	z := NewZSet()
	for i := 0; i < 100000; i++ {
		z.Add(bs(strconv.Itoa(i)), float64(i))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		lo := float64(i % 99000)
		z.RangeByScore(ScoreRange{Min: lo, Max: lo + 100}, false, 0, -1, func([]byte, float64) bool { return true })
	}
}
