package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// modelValue is what a key should hold in the model the DB is checked
// against: a string's bytes or a list's length, and the expiry.
type modelValue struct {
	str    string
	isList bool
	list   int
	exp    int64
}

// checkDB compares every key, value and expiry of db with want, through
// Peek, PeekStringTouch, ExpireAt, ForEach and a full Scan.
func checkDB(t *testing.T, db *DB, want map[string]modelValue) {
	t.Helper()
	if db.Len() != len(want) {
		t.Fatalf("Len %d, want %d", db.Len(), len(want))
	}
	nexp := 0
	for k, w := range want {
		v, ok := db.Peek(k)
		if !ok {
			t.Fatalf("key %q missing", k)
		}
		if w.isList {
			if l, isList := v.(*List); !isList || l.Len() != w.list {
				t.Fatalf("key %q: got %#v, want a list of %d", k, v, w.list)
			}
		} else {
			s, isString := v.(*String)
			if !isString || string(s.B) != w.str {
				t.Fatalf("key %q: got %#v, want %q", k, v, w.str)
			}
			b, kind, ok := db.PeekStringTouch([]byte(k), 0)
			if !ok || kind != KindString || string(b) != w.str {
				t.Fatalf("PeekStringTouch %q: %q %v %v", k, b, kind, ok)
			}
		}
		at, has := db.ExpireAt(k)
		if has != (w.exp != 0) || at != w.exp {
			t.Fatalf("key %q: expiry %d %v, want %d", k, at, has, w.exp)
		}
		if has {
			nexp++
		}
	}
	if db.ExpiresLen() != nexp {
		t.Fatalf("ExpiresLen %d, want %d", db.ExpiresLen(), nexp)
	}
	seen := map[string]bool{}
	db.ForEach(func(k string, _ Value, at int64, has bool) bool {
		if seen[k] {
			t.Fatalf("ForEach returned %q twice", k)
		}
		seen[k] = true
		if w, ok := want[k]; !ok || has != (w.exp != 0) || at != w.exp {
			t.Fatalf("ForEach: %q expiry %d %v, model %+v %v", k, at, has, w, ok)
		}
		return true
	})
	scanned := map[string]bool{}
	for c := db.Scan(0, 7, func(k string) { scanned[k] = true }); c != 0; {
		c = db.Scan(c, 7, func(k string) { scanned[k] = true })
	}
	if len(scanned) != len(want) {
		t.Fatalf("Scan saw %d keys, want %d", len(scanned), len(want))
	}
}

// snapContent reads a snapshot into the model's form.
func snapContent(t *testing.T, s *Snapshot) map[string]modelValue {
	t.Helper()
	got, err := readSnapshot(s)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// readSnapshot is snapContent for any goroutine.
func readSnapshot(s *Snapshot) (map[string]modelValue, error) {
	got := map[string]modelValue{}
	if err := s.ForEach(func(k string, v Value, at int64, has bool) error {
		if _, dup := got[k]; dup {
			return fmt.Errorf("snapshot returned %q twice", k)
		}
		m := modelValue{}
		if has {
			m.exp = at
		}
		switch x := v.(type) {
		case *String:
			m.str = string(x.B)
		case *List:
			m.isList, m.list = true, x.Len()
		}
		got[strings.Clone(k)] = m // k is valid only during the call
		return nil
	}); err != nil {
		return nil, err
	}
	if len(got) != s.Len() {
		return nil, fmt.Errorf("snapshot Len %d, ForEach saw %d", s.Len(), len(got))
	}
	return got, nil
}

func sameModel(a, b map[string]modelValue) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestDBMatchesModelUnderSnapshots drives a DB with random sets (inline
// strings of every size class, big strings, objects), overwrites, deletes,
// expiries, in-place mutations and flushes while snapshots come and go, and
// checks after every step batch that the DB holds what a plain map holds
// and that every live snapshot still holds what the DB held when it was
// taken: records a snapshot can read are never reused under it.
func TestDBMatchesModelUnderSnapshots(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 17))
			db := NewDB()
			want := map[string]modelValue{}
			type liveSnap struct {
				s    *Snapshot
				want map[string]modelValue
			}
			var snaps []liveSnap
			keyOf := func() string {
				n := r.IntN(300)
				if n%50 == 0 {
					return strings.Repeat("long-key-", 460) + fmt.Sprint(n) // beyond a slab
				}
				return fmt.Sprint("k", n)
			}
			for step := range 6000 {
				k := keyOf()
				switch op := r.IntN(100); {
				case op < 40:
					size := r.IntN(700)
					if r.IntN(4) == 0 {
						// The classes of a few KiB and past the last one.
						size = r.IntN(maxSlabRecord + 300)
					}
					v := strings.Repeat("v", size) + fmt.Sprint(step)
					db.SetString([]byte(k), []byte(v), EncTried, false, int64(step))
					want[k] = modelValue{str: v}
				case op < 48:
					keep := r.IntN(2) == 0
					v := fmt.Sprint("kept", step)
					db.SetString([]byte(k), []byte(v), EncTried, keep, 0)
					m := want[k]
					if !keep {
						m.exp = 0
					}
					m.str, m.isList, m.list = v, false, 0
					want[k] = m
				case op < 55:
					l := NewList()
					l.PushBack([]byte("x"))
					db.Set(k, l, false)
					want[k] = modelValue{isList: true, list: 1}
				case op < 65:
					if v, ok := db.Mutable(k); ok {
						m := want[k]
						switch x := v.(type) {
						case *List:
							x.PushBack([]byte("y"))
							m.list++
						case *String:
							x.B = append(x.B, 'z')
							m.str += "z"
						}
						want[k] = m
					}
				case op < 80:
					_, had := want[k]
					if db.Delete(k) != had {
						t.Fatalf("step %d: Delete(%q) disagrees with the model", step, k)
					}
					delete(want, k)
				case op < 90:
					at := int64(1000 + step)
					_, had := want[k]
					if db.SetExpireAt(k, at) != had {
						t.Fatalf("step %d: SetExpireAt(%q) disagrees with the model", step, k)
					}
					if had {
						m := want[k]
						m.exp = at
						want[k] = m
					}
				case op < 93:
					_, had := want[k]
					hadExp := had && want[k].exp != 0
					if db.Persist(k) != hadExp {
						t.Fatalf("step %d: Persist(%q) disagrees with the model", step, k)
					}
					if hadExp {
						m := want[k]
						m.exp = 0
						want[k] = m
					}
				case op < 96:
					if len(snaps) < 3 {
						snaps = append(snaps, liveSnap{db.Snapshot(), copyModel(want)})
					}
				case op < 99:
					if len(snaps) > 0 {
						i := r.IntN(len(snaps))
						snaps[i].s.Release()
						snaps = append(snaps[:i], snaps[i+1:]...)
					}
				default:
					if r.IntN(10) == 0 {
						db.Flush()
						want = map[string]modelValue{}
					}
				}
				if step%500 == 0 || step == 5999 {
					checkDB(t, db, want)
					for _, s := range snaps {
						if got := snapContent(t, s.s); !sameModel(got, s.want) {
							t.Fatalf("step %d: a snapshot changed under the DB's writes", step)
						}
					}
				}
			}
			for _, s := range snaps {
				s.s.Release()
			}
			if db.SnapshotBytes() != 0 {
				t.Errorf("SnapshotBytes %d with no live snapshot", db.SnapshotBytes())
			}
			checkDB(t, db, want)
		})
	}
}

func copyModel(m map[string]modelValue) map[string]modelValue {
	c := make(map[string]modelValue, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// TestScanReturnsEveryStableKey: keys present for a whole SCAN walk are
// returned at least once while other keys are added and deleted between
// the calls (Redis's SCAN guarantee), including across table resizes.
func TestScanReturnsEveryStableKey(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	db := NewDB()
	for i := range 2000 {
		db.SetString([]byte(fmt.Sprint("stable", i)), []byte("v"), EncTried, false, 0)
	}
	churn := 0
	seen := map[string]bool{}
	cursor := uint64(0)
	for first := true; first || cursor != 0; first = false {
		cursor = db.Scan(cursor, 10, func(k string) { seen[k] = true })
		for range 20 {
			if r.IntN(2) == 0 {
				db.SetString([]byte(fmt.Sprint("churn", churn)), []byte("v"), EncTried, false, 0)
				churn++
			} else if churn > 0 {
				db.Delete(fmt.Sprint("churn", r.IntN(churn)))
			}
		}
	}
	for i := range 2000 {
		if !seen[fmt.Sprint("stable", i)] {
			t.Fatalf("stable%d never returned by SCAN", i)
		}
	}
}

// TestStringPathsAllocateNothing: SET over an existing string of up to a
// few KiB (a 1 KiB value is redis-benchmark -d 1024's) and GET's
// PeekStringTouch allocate nothing, whatever the key count; a new key with
// such a value allocates nothing either once the slab has room.
func TestStringPathsAllocateNothing(t *testing.T) {
	db := NewDB()
	for i := range 10000 {
		db.SetString([]byte(fmt.Sprint("key:", i)), []byte(fmt.Sprint("value:", i)), EncTried, false, 0)
	}
	for _, size := range []int{10, 1024, maxSlabRecord - 20} {
		key, val := []byte("key:1234"), bytes.Repeat([]byte("v"), size)
		db.SetString(key, val, EncTried, false, 5)
		if n := testing.AllocsPerRun(1000, func() { db.SetString(key, val, EncTried, false, 5) }); n != 0 {
			t.Errorf("SetString overwrite with %d bytes: %v allocations", size, n)
		}
		if n := testing.AllocsPerRun(1000, func() {
			if b, _, _ := db.PeekStringTouch(key, 6); !bytes.Equal(b, val) {
				t.Fatalf("got %q", b)
			}
		}); n != 0 {
			t.Errorf("PeekStringTouch of %d bytes: %v allocations", size, n)
		}
		if !db.IsCompact(string(key)) {
			t.Errorf("a %d-byte value is not in the slabs", size)
		}
	}
	// New keys with 1 KiB values: after the first few fill a chunk's worth
	// of the class, the rest share the chunks (no allocation per key but
	// the chunks and the table's growth).
	val := bytes.Repeat([]byte("w"), 1024)
	keys := make([][]byte, 2000)
	for i := range keys {
		keys[i] = []byte(fmt.Sprint("new:", i))
	}
	i := 0
	if n := testing.AllocsPerRun(len(keys)-1, func() {
		db.SetString(keys[i], val, EncTried, false, 7)
		i++
	}); n > 0.1 {
		t.Errorf("SetString of new keys with 1 KiB values: %v allocations per key", n)
	}
}

// TestArenaReusesFreedRecords: overwriting and deleting keys with values of
// changing sizes over and over keeps the arena at its peak, not growing
// with the number of writes.
func TestArenaReusesFreedRecords(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	db := NewDB()
	round := func() {
		for range 50000 {
			k := []byte(fmt.Sprint("k", r.IntN(5000)))
			if r.IntN(4) == 0 {
				db.Delete(string(k))
				continue
			}
			db.SetString(k, bytes.Repeat([]byte("x"), r.IntN(400)), EncTried, false, 0)
		}
	}
	round()
	peak := db.arena.footprint()
	for range 5 {
		round()
	}
	if got := db.arena.footprint(); got > peak*5/4 {
		t.Errorf("arena grew from %d to %d bytes over rounds of the same load", peak, got)
	}
	// Freed records went back: what is in use is what the keys need.
	var need int64
	for i := range db.n {
		need += int64(slotSize(db.recordSize(db.ent(i))))
	}
	if db.arena.bytes != need {
		t.Errorf("arena counts %d bytes in use, the keys' records take %d", db.arena.bytes, need)
	}
	// What the chunks hold beyond the records is idle, and deleting a key
	// makes its record's slot idle at once (used_memory drops by it).
	if idle := db.arena.idle(); idle != int64(len(db.arena.chunks))*arenaChunkBytes-need {
		t.Errorf("idle %d bytes, want %d", idle, int64(len(db.arena.chunks))*arenaChunkBytes-need)
	}
	idleBefore := db.IdleBytes()
	var victim string
	for i := range 5000 {
		if victim = fmt.Sprint("k", i); db.Contains([]byte(victim)) {
			break
		}
	}
	size := slotSize(db.recordSize(lookup(db, victim)))
	db.Delete(victim)
	if got := db.IdleBytes() - idleBefore; got < int64(size) {
		t.Errorf("deleting a key made %d bytes idle, its record took %d", got, size)
	}
	// Deleting everything shrinks the hash table back.
	for i := range 5000 {
		db.Delete(fmt.Sprint("k", i))
	}
	if db.Len() != 0 || db.index.slotCount() > len(db.index.segs)*segMinSlots*2 || len(db.ents) != 0 {
		t.Errorf("after deleting every key: %d keys, %d slots, %d entry pages", db.Len(), db.index.slotCount(), len(db.ents))
	}
}

// TestInlineStringKeepsEncoding: OBJECT ENCODING and the COPY flag survive
// the compact storage, and Mutable turns the string into an object the
// caller's changes reach.
func TestInlineStringKeepsEncoding(t *testing.T) {
	db := NewDB()
	db.SetString([]byte("i"), []byte("12345"), EncTried, false, 0)
	db.SetString([]byte("f"), []byte("1.5"), EncNoInt, false, 0)
	db.Adopt("c", &String{B: []byte("777"), Copied: true}, false)
	db.Adopt("r", NewRawString([]byte("abc")), false)
	for k, enc := range map[string]string{"i": "int", "f": "embstr", "c": "int", "r": "raw"} {
		v, _ := db.Peek(k)
		if got := v.Encoding(); got != enc {
			t.Errorf("%s: encoding %s, want %s", k, got, enc)
		}
	}
	if v, _ := db.Peek("c"); !v.(*String).Copied {
		t.Error("Copied lost")
	}
	m, _ := db.Mutable("i")
	m.(*String).B = append(m.(*String).B, '6')
	if v, _ := db.Peek("i"); string(v.(*String).B) != "123456" {
		t.Errorf("mutation lost: %q", v.(*String).B)
	}
}

// TestSnapshotReadWhileWriting reads a snapshot on another goroutine while
// this one overwrites, deletes and adds keys (BGSAVE during traffic): under
// -race this checks that no record the snapshot reads is written, and the
// snapshot must see exactly the content it froze.
func TestSnapshotReadWhileWriting(t *testing.T) {
	db := NewDB()
	want := map[string]modelValue{}
	for i := range 20000 {
		k, v := fmt.Sprint("k", i), fmt.Sprint("v", i)
		db.SetString([]byte(k), []byte(v), EncTried, false, 0)
		want[k] = modelValue{str: v}
	}
	snap := db.Snapshot()
	got := make(chan map[string]modelValue)
	errs := make(chan error, 1)
	go func() {
		m, err := readSnapshot(snap)
		if err != nil {
			errs <- err
			m = map[string]modelValue{}
		}
		got <- m
	}()
	r := rand.New(rand.NewPCG(5, 6))
	var content map[string]modelValue
	for step := 0; content == nil; step++ {
		k := []byte(fmt.Sprint("k", r.IntN(40000)))
		switch r.IntN(3) {
		case 0:
			db.Delete(string(k))
		default:
			db.SetString(k, bytes.Repeat([]byte{'x'}, r.IntN(100)), EncTried, false, 0)
		}
		select {
		case content = <-got:
		default:
		}
	}
	snap.Release()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	if !sameModel(content, want) {
		t.Fatal("the snapshot read on another goroutine differs from the frozen content")
	}
}

// TestKeyIndexSplitsAndShrinks grows the index through many segment
// splits and directory doublings, deletes most keys (segments shrink) and
// grows it again, checking every key is found at each stage, and that no
// segment ever exceeds its maximum (the bound on a SET's rehash pause).
func TestKeyIndexSplitsAndShrinks(t *testing.T) {
	db := NewDB()
	const n = 120_000
	key := func(i int) []byte { return []byte(fmt.Sprint("key:", i)) }
	check := func(stage string, present func(i int) bool) {
		t.Helper()
		for i := range n {
			if got := db.Contains(key(i)); got != present(i) {
				t.Fatalf("%s: key %d present %v, want %v", stage, i, got, present(i))
			}
		}
		count := 0
		for _, s := range db.index.segs {
			if len(s.slots) > segMaxSlots {
				t.Fatalf("%s: a segment of %d slots", stage, len(s.slots))
			}
			count += s.count
		}
		if count != db.Len() {
			t.Fatalf("%s: segments count %d positions, DB has %d keys", stage, count, db.Len())
		}
	}
	for i := range n {
		db.SetString(key(i), []byte("v"), EncTried, false, 0)
	}
	if len(db.index.segs) < 8 || db.index.depth < 3 {
		t.Fatalf("%d segments, depth %d: the index did not split", len(db.index.segs), db.index.depth)
	}
	check("filled", func(int) bool { return true })
	full := db.index.slotCount()
	for i := range n {
		if i%10 != 0 {
			db.Delete(string(key(i)))
		}
	}
	check("thinned", func(i int) bool { return i%10 == 0 })
	if got := db.index.slotCount(); got > full/4 {
		t.Errorf("%d slots after deleting 90%% of the keys, %d before", got, full)
	}
	for i := range n {
		if i%10 != 0 && i%3 == 0 {
			db.SetString(key(i), []byte("w"), EncTried, false, 0)
		}
	}
	check("refilled", func(i int) bool { return i%10 == 0 || i%3 == 0 })
}

// TestSnapshotSharesEntryPages: a snapshot copies no entry page when it
// is taken, reads copy none, and the first write to a page copies that
// page alone (as a fork's copy-on-write); the snapshot keeps its content
// through writes to every page. A record rewritten after one snapshot is
// not reused in place under a newer one (the page's fresh bits are stale
// once another snapshot is taken).
func TestSnapshotSharesEntryPages(t *testing.T) {
	db := NewDB()
	want := map[string]modelValue{}
	const keys = 5 * entPage
	for i := range keys {
		k, v := fmt.Sprint("k", i), fmt.Sprint("v", i)
		db.SetString([]byte(k), []byte(v), EncTried, false, 0)
		want[k] = modelValue{str: v}
	}
	older := db.Snapshot()
	taken := db.SnapshotBytes()
	if taken >= entPageBytes {
		t.Fatalf("taking a snapshot of %d pages costs %d bytes, more than one page", len(db.ents), taken)
	}
	for i := range keys {
		k := fmt.Sprint("k", i)
		db.Peek(k)
		db.Contains([]byte(k))
		db.ExpireAt(k)
		db.AccessTime(k)
		db.IsCompact(k)
		db.KeyAt(i)
	}
	if got := db.SnapshotBytes(); got != taken {
		t.Fatalf("reads changed SnapshotBytes from %d to %d: a page was copied", taken, got)
	}
	// Reads that touch do not record the access time while a snapshot
	// is live (Redis's lookupKey with a saving child): no page copied.
	pos := func(k string) int { _, i := find(db, k); return i }
	var samePage []string
	for i := range keys {
		if k := fmt.Sprint("k", i); pos(k)>>entPageShift == 2 {
			samePage = append(samePage, k)
		}
	}
	for _, k := range samePage {
		db.PeekStringTouch([]byte(k), 42)
		db.PeekTouch(k, 42)
		db.Touch([]byte(k), 42)
	}
	if got := db.SnapshotBytes(); got != taken {
		t.Fatalf("touching reads under a snapshot: SnapshotBytes %d, want %d", got, taken)
	}
	if at, _ := db.AccessTime(samePage[0]); at != 0 {
		t.Fatalf("access time %d recorded under a snapshot, want 0", at)
	}
	// Changing keys of one page copies that page once.
	db.SetAccessTime(samePage[0], 42)
	db.SetAccessTime(samePage[1], 43)
	if got := db.SnapshotBytes(); got != taken+entPageBytes {
		t.Fatalf("writing two keys of one page: SnapshotBytes %d, want %d", got, taken+entPageBytes)
	}
	if at, _ := db.AccessTime(samePage[0]); at != 42 {
		t.Fatalf("access time %d after the page copy, want 42", at)
	}

	// Rewrite a key after the older snapshot (its new record is fresh),
	// take a newer one, rewrite it again with a value of the same size.
	k := samePage[2]
	db.SetString([]byte(k), []byte("second"), EncTried, false, 0)
	newer := db.Snapshot()
	db.SetString([]byte(k), []byte("third!"), EncTried, false, 0)
	newerWant := copyModel(want)
	newerWant[k] = modelValue{str: "second"}

	// Writes over every page: overwrites, deletes, new keys, expiries.
	r := rand.New(rand.NewPCG(3, 4))
	cur := copyModel(want)
	cur[k] = modelValue{str: "third!"}
	for step := range 3 * keys {
		k := fmt.Sprint("k", r.IntN(keys+2000))
		switch r.IntN(4) {
		case 0:
			db.Delete(k)
			delete(cur, k)
		case 1:
			if db.SetExpireAt(k, int64(step+1)) {
				m := cur[k]
				m.exp = int64(step + 1)
				cur[k] = m
			}
		default:
			v := fmt.Sprint("w", step)
			db.SetString([]byte(k), []byte(v), EncTried, false, int64(step))
			cur[k] = modelValue{str: v}
		}
	}
	if got := snapContent(t, older); !sameModel(got, want) {
		t.Fatal("the older snapshot changed under writes to its shared pages")
	}
	if got := snapContent(t, newer); !sameModel(got, newerWant) {
		t.Fatal("the newer snapshot changed: a record rewritten before it was reused in place")
	}
	older.Release()
	newer.Release()
	if db.SnapshotBytes() != 0 {
		t.Errorf("SnapshotBytes %d with no live snapshot", db.SnapshotBytes())
	}
	checkDB(t, db, cur)
	db.SetString([]byte("touched"), []byte("v"), EncTried, false, 0)
	db.PeekStringTouch([]byte("touched"), 77)
	if at, _ := db.AccessTime("touched"); at != 77 {
		t.Fatalf("access time %d with no snapshot live, want 77", at)
	}
}

// TestReserveAvoidsRehash: a DB reserved for n keys takes them without
// splitting or growing a segment, finds every one, and keeps working
// past the reservation; Reserve on a DB with keys changes nothing.
func TestReserveAvoidsRehash(t *testing.T) {
	const n = 50000
	db := NewDB()
	db.Reserve(n)
	segs := len(db.index.segs)
	if segs < 2 {
		t.Fatalf("Reserve(%d) made %d segments", n, segs)
	}
	for i := range n {
		db.SetString([]byte(fmt.Sprint("k", i)), []byte("v"), EncTried, false, 0)
	}
	if len(db.index.segs) != segs || db.index.slotCount() != segs*segMaxSlots {
		t.Fatalf("loading the reserved %d keys changed the index from %d to %d segments (%d slots)", n, segs, len(db.index.segs), db.index.slotCount())
	}
	db.Reserve(10 * n) // has keys: ignored
	if len(db.index.segs) != segs {
		t.Fatalf("Reserve on a DB with keys rebuilt its index")
	}
	for i := range 2 * n {
		db.SetString([]byte(fmt.Sprint("x", i)), []byte("v"), EncTried, false, 0)
	}
	for i := range n {
		if !db.Contains([]byte(fmt.Sprint("k", i))) || !db.Contains([]byte(fmt.Sprint("x", i))) {
			t.Fatalf("key %d missing after growing past the reservation", i)
		}
	}
	if db.Len() != 3*n {
		t.Fatalf("Len %d, want %d", db.Len(), 3*n)
	}
	if !db.AdoptNew("new", NewString([]byte("1"))) || db.AdoptNew("k7", NewString([]byte("2"))) {
		t.Fatal("AdoptNew must add a missing key and refuse an existing one")
	}
	if v, _ := db.Peek("k7"); string(v.(*String).B) != "v" {
		t.Fatal("a refused AdoptNew changed the existing key")
	}
}

// TestSampleExpiresWalksEveryPage: sampling ExpiresLen keys visits each key
// with an expiry once, with its time; small samples move on from page to
// page; samples whose fn deletes the keys it is given (active expiry)
// remove exactly the keys with an expiry, under a live snapshot that
// keeps them and their expiry times.
func TestSampleExpiresWalksEveryPage(t *testing.T) {
	db := NewDB()
	want := map[string]modelValue{}
	const keys = 3*entPage + 100
	for i := range keys {
		k := fmt.Sprint("k", i)
		db.SetString([]byte(k), []byte("v"), EncTried, false, 0)
		m := modelValue{str: "v"}
		if i%2 == 0 {
			m.exp = int64(1000 + i)
			db.SetExpireAt(k, m.exp)
		}
		want[k] = m
	}
	seen := map[string]int{}
	db.SampleExpires(db.ExpiresLen(), func(k string, at int64) {
		seen[k]++
		if want[k].exp != at {
			t.Fatalf("%s sampled with expiry %d, want %d", k, at, want[k].exp)
		}
	})
	if len(seen) != db.ExpiresLen() || db.ExpiresLen() != (keys+1)/2 {
		t.Fatalf("sampled %d distinct keys of %d with an expiry", len(seen), db.ExpiresLen())
	}
	for k, n := range seen {
		if n != 1 {
			t.Fatalf("%s sampled %d times", k, n)
		}
	}
	pages := map[int]bool{}
	for range 8 {
		db.SampleExpires(3, func(k string, _ int64) {
			_, i := find(db, k)
			pages[i>>entPageShift] = true
		})
	}
	if len(pages) != 4 {
		t.Fatalf("small samples reached %d of the 4 pages", len(pages))
	}

	// Deleting moves the last key into the hole, possibly into a page
	// already walked: as with Redis's cursor, what one walk misses the
	// next ones take.
	snap := db.Snapshot()
	deleted := 0
	for walk := 0; db.ExpiresLen() > 0; walk++ {
		if walk == 100 {
			t.Fatalf("%d keys with an expiry left after 100 walks", db.ExpiresLen())
		}
		db.SampleExpires(db.ExpiresLen(), func(k string, _ int64) {
			if want[k].exp == 0 {
				t.Fatalf("sampled %s, which has no expiry", k)
			}
			if !db.Delete(k) {
				t.Fatalf("sampled key %s not found", k)
			}
			deleted++
		})
	}
	if deleted != (keys+1)/2 || db.ExpiresLen() != 0 || db.Len() != keys/2 {
		t.Fatalf("deleted %d, %d expiries and %d keys left", deleted, db.ExpiresLen(), db.Len())
	}
	if got := snapContent(t, snap); !sameModel(got, want) {
		t.Fatal("the snapshot lost keys or expiry times deleted after it")
	}
	if snap.ExpiresLen() != (keys+1)/2 {
		t.Fatalf("snapshot ExpiresLen %d", snap.ExpiresLen())
	}
	snap.Release()
	for k, m := range want {
		if m.exp != 0 {
			delete(want, k)
		}
	}
	checkDB(t, db, want)
}
