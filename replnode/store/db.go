package store

import (
	"encoding/binary"
	"hash/maphash"
	"maps"
	"slices"
	"unsafe"
)

// DB is one numbered database: a dictionary of keys to values, plus the
// absolute expiry time (unix ms) of the keys that have one.
//
// A DB is used by one goroutine at a time (the server's executor). Snapshots
// taken with Snapshot may be read from another goroutine while the executor
// keeps mutating the DB: Mutable clones shared values first.
//
// Layout (docs/benchmarks.md has the bytes per key). Nothing here is a
// per-key Go object unless the value needs one:
//   - ents holds one pointer-free entry per key, densely: positions
//     0..n-1 are the keys, which is what SCAN's cursor and RANDOMKEY index.
//     Deleting moves the last entry into the hole.
//   - index is an open-addressing hash table of entry positions, in
//     segments that grow one at a time (keyindex.go); the entry keeps its
//     key's hash, so probing and resizing never read the key.
//   - the key's bytes live in a record in the arena (size-class slabs in
//     big pointer-free chunks). A string value set through SetString or
//     Adopt is stored in the same record, after the key: Peek hands out a
//     copy as a *String, PeekString the bytes themselves.
//   - any other value (and a string the caller keeps, or one Mutable
//     handed out) is a Go object in objs, referenced by index.
//   - expires maps entry positions to expiry times, only for keys with one,
//     one map per entry page (nil for a page without one).
//
// A snapshot shares the entry pages and their expiry maps (copy-on-write,
// as a fork shares memory pages): ent, the accessor for any change to an
// entry, copies a page and its map the first time it is written after a
// snapshot that is still live. Every change to an expiry goes through ent
// for that position first.
type DB struct {
	seed  maphash.Seed
	index keyIndex
	ents  [][]entry // pages of entPage entries
	// pageGen[p] is the gen when page p was last made the DB's own (see
	// ent): a page with an older gen may be shared with a live snapshot,
	// and the flagFresh bits of its entries are stale.
	pageGen []uint64
	n       int

	objs    []objSlot
	objFree []uint32

	expires  []map[uint32]int64
	nExpires int
	// expiresFrom is the page SampleExpires starts at, moving on each
	// call; sampleBuf is its scratch memory.
	expiresFrom int
	sampleBuf   []uint32
	arena       arena

	// hint is the position + 1 of the key the last search found (0:
	// none). A command usually looks its key up more than once (the
	// read or type check, then the write), and comparing the key at the
	// hinted position is cheaper than hashing it again. It is a guess,
	// checked against the key every time; ResetLookupHint drops it.
	hint uint32

	// gen counts snapshots taken. An object whose gen is older than
	// frozenGen may be shared with a live snapshot and is cloned on its
	// first mutation.
	gen       uint64
	frozenGen uint64
	liveSnaps int

	// snapBytes estimates the memory live snapshots hold beyond the
	// dataset: their own copies of the entry pages and object list, and the
	// values and records the dataset let go (overwritten, cloned, deleted)
	// while a snapshot still refers to them. It is Redis's fork
	// copy-on-write, which maxmemory does not count (see SnapshotBytes).
	snapBytes    int64
	snapRetained int64
}

// entry is one key. It holds no pointers, so the garbage collector never
// looks at the entry pages.
type entry struct {
	hash uint32
	// rec is the arena address of the key's record.
	rec uint32
	// obj is the objs index + 1 of the value, 0 when the value is a string
	// stored in the record after the key.
	obj   uint32
	flags uint8
	// atime is the unix ms of the last access (OBJECT IDLETIME).
	atime int64
}

const (
	flagExpire = 1 << iota
	// flagFresh marks a record allocated after the newest snapshot: no
	// snapshot can read it, so it may be overwritten or freed at once.
	// It is only meaningful in a page whose pageGen is the current gen
	// (ent clears the bits of a page when it takes the page over).
	flagFresh
	flagCopied
	flagEncShift = 3 // String.Enc, in the bits from here
)

type objSlot struct {
	v   Value
	gen uint64
}

const (
	entPageShift = 12
	entPage      = 1 << entPageShift
	entPageBytes = entPage * int64(unsafe.Sizeof(entry{}))
)

// NewDB returns an empty database.
func NewDB() *DB {
	return &DB{seed: maphash.MakeSeed()}
}

// Len is the number of keys, including keys that are logically expired but
// not yet removed (as DBSIZE counts them in Redis).
func (db *DB) Len() int { return db.n }

// ExpiresLen is the number of keys with an expiry time.
func (db *DB) ExpiresLen() int { return db.nExpires }

// expiryIn is the expiry time of position i in a page-split expiry table.
func expiryIn(expires []map[uint32]int64, i int) int64 {
	return expires[i>>entPageShift][uint32(i)]
}

// setExpiry records t as the expiry of position i (its page owned: ent(i)
// was called).
func (db *DB) setExpiry(i int, t int64) {
	p := i >> entPageShift
	for len(db.expires) <= p {
		db.expires = append(db.expires, nil)
	}
	m := db.expires[p]
	if m == nil {
		m = make(map[uint32]int64)
		db.expires[p] = m
	}
	if _, had := m[uint32(i)]; !had {
		db.nExpires++
	}
	m[uint32(i)] = t
}

// clearExpiry removes the expiry of position i, if any (its page owned).
func (db *DB) clearExpiry(i int) {
	p := i >> entPageShift
	if p >= len(db.expires) || db.expires[p] == nil {
		return
	}
	m := db.expires[p]
	if _, had := m[uint32(i)]; had {
		delete(m, uint32(i))
		db.nExpires--
	}
	if len(m) == 0 {
		db.expires[p] = nil
	}
}

// ---------------------------------------------------------------- table

// ent returns entry i for reading or writing: a page a live snapshot may
// share is copied first. Paths that only read use readEnt.
func (db *DB) ent(i int) *entry {
	p := i >> entPageShift
	if db.pageGen[p] != db.gen {
		db.ownPage(p)
	}
	return &db.ents[p][i&(entPage-1)]
}

// readEnt returns entry i for reading only (it may be shared with a
// snapshot).
func (db *DB) readEnt(i int) *entry { return &db.ents[i>>entPageShift][i&(entPage-1)] }

// ownPage makes entry page p the DB's own for the current gen: copied when
// a live snapshot may read it, and with its flagFresh bits cleared, since
// every record it points at predates the newest snapshot.
func (db *DB) ownPage(p int) {
	page := db.ents[p]
	if db.liveSnaps > 0 {
		page = slices.Clone(page)
		db.ents[p] = page
		db.snapRetained += entPageBytes
		if p < len(db.expires) && db.expires[p] != nil {
			db.expires[p] = maps.Clone(db.expires[p])
			db.snapRetained += int64(len(db.expires[p])) * 16
		}
	}
	for i := range page {
		page[i].flags &^= flagFresh
	}
	db.pageGen[p] = db.gen
}

func hashOf[K ~string | ~[]byte](seed maphash.Seed, key K) uint32 {
	h := maphash.String(seed, string(key))
	return uint32(h) ^ uint32(h>>32)
}

// recordKey splits a record into its key and what follows it.
func recordKey(r []byte) (key, rest []byte) {
	k, n := recordUvarint(r)
	return r[n : n+k], r[n+k:]
}

// recordValue is the inline string value that rest (after the key) holds.
func recordValue(rest []byte) []byte {
	v, n := recordUvarint(rest)
	return rest[n : n+v]
}

func recordUvarint(b []byte) (int, int) {
	if b[0] < 0x80 {
		return int(b[0]), 1
	}
	v, n := binary.Uvarint(b)
	return int(v), n
}

// recordLen is the size of a record of a key of klen bytes followed, when
// inline, by a value of vlen bytes.
func recordLen(klen, vlen int, inline bool) int {
	n := uvarintLen(klen) + klen
	if inline {
		n += uvarintLen(vlen) + vlen
	}
	return n
}

func uvarintLen(x int) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// keyOf returns the key bytes of e (valid until the next change of the DB).
func (db *DB) keyOf(e *entry) []byte {
	k, _ := recordKey(db.arena.at(e.rec))
	return k
}

// recordSize is the size of e's record.
func (db *DB) recordSize(e *entry) int {
	k, rest := recordKey(db.arena.at(e.rec))
	if e.obj != 0 {
		return recordLen(len(k), 0, false)
	}
	return recordLen(len(k), len(recordValue(rest)), true)
}

// find returns the slot and entry position of key, or -1 as position.
func find[K ~string | ~[]byte](db *DB, key K) (slotRef, int) {
	if db.n == 0 {
		return slotRef{}, -1
	}
	h := hashOf(db.seed, key)
	pos := -1
	r, ok := db.index.probe(h, func(p int) bool {
		e := db.readEnt(p)
		if e.hash == h && string(db.keyOf(e)) == string(key) {
			pos = p
			return true
		}
		return false
	})
	if !ok {
		return slotRef{}, -1
	}
	return r, pos
}

// position returns the entry position of key, -1 if missing, trying the
// hinted position first (see DB.hint).
func position[K ~string | ~[]byte](db *DB, key K) int {
	if p := int(db.hint) - 1; p >= 0 && p < db.n && string(db.keyOf(db.readEnt(p))) == string(key) {
		return p
	}
	_, i := find(db, key)
	db.hint = uint32(i + 1)
	return i
}

// ResetLookupHint forgets which key was found last. The server calls it
// before each command, so that a command's first lookup always searches:
// the hint only spares the repeated lookups of one command, never a
// command the lookup of the previous one (a benchmark hitting one key
// over and over would otherwise look cheaper than real traffic).
func (db *DB) ResetLookupHint() { db.hint = 0 }

// lookup returns the entry of key to read or write, nil if missing.
func lookup[K ~string | ~[]byte](db *DB, key K) *entry {
	i := position(db, key)
	if i < 0 {
		return nil
	}
	return db.ent(i)
}

// lookupRead is lookup for reading only.
func lookupRead[K ~string | ~[]byte](db *DB, key K) *entry {
	i := position(db, key)
	if i < 0 {
		return nil
	}
	return db.readEnt(i)
}

// hashAt is the hash of the key at position i (keyIndex reads it).
func (db *DB) hashAt(i int) uint32 { return db.readEnt(i).hash }

// insertNew appends an entry for key (known to be missing) and returns it.
func insertNew[K ~string | ~[]byte](db *DB, key K) *entry {
	i := db.n
	if i>>entPageShift == len(db.ents) {
		db.ents = append(db.ents, make([]entry, entPage))
		db.pageGen = append(db.pageGen, db.gen)
	}
	db.n++
	e := db.ent(i)
	*e = entry{hash: hashOf(db.seed, key)}
	db.index.insert(e.hash, i, db.hashAt)
	return e
}

// removeAt deletes the entry at position i, found in slot s: the last
// entry moves into its place (see Scan for why).
func (db *DB) removeAt(s slotRef, i int) {
	e := db.ent(i)
	size := db.recordSize(e)
	db.dropObj(e) // reads the key: before the record goes
	db.freeRecord(e, size)
	if e.flags&flagExpire != 0 {
		db.clearExpiry(i)
	}
	db.index.remove(s, db.hashAt)
	last := db.n - 1
	if i != last {
		le := db.ent(last)
		db.index.renumber(le.hash, last, i)
		if le.flags&flagExpire != 0 {
			db.setExpiry(i, expiryIn(db.expires, last))
			db.clearExpiry(last)
		}
		*e = *le
	}
	*db.ent(last) = entry{}
	db.n--
	if db.n&(entPage-1) == 0 && db.n>>entPageShift < len(db.ents) {
		db.ents[len(db.ents)-1] = nil
		db.ents = db.ents[:len(db.ents)-1]
		db.pageGen = db.pageGen[:len(db.ents)]
		if len(db.expires) > len(db.ents) {
			db.expires = db.expires[:len(db.ents)] // their maps are empty (nil)
		}
	}
}

// ---------------------------------------------------------------- records and objects

// writeRecord stores key (and val when inline) as e's record. oldSize is
// the size of e's current record, -1 for a new entry: that record is reused
// in place when no snapshot can read it and the size class is the same.
func writeRecord[K ~string | ~[]byte](db *DB, e *entry, key K, val []byte, inline bool, oldSize int) {
	n := recordLen(len(key), len(val), inline)
	var b []byte
	if oldSize >= 0 {
		if (db.liveSnaps == 0 || e.flags&flagFresh != 0) && slotSize(oldSize) == slotSize(n) && e.rec&bigBit == 0 {
			b = db.arena.at(e.rec)[:n:n]
		} else {
			db.freeRecord(e, oldSize)
		}
	}
	if b == nil {
		e.rec, b = db.arena.alloc(n)
		if db.liveSnaps > 0 {
			e.flags |= flagFresh
		}
	}
	w := binary.PutUvarint(b, uint64(len(key)))
	w += copy(b[w:], key)
	if inline {
		w += binary.PutUvarint(b[w:], uint64(len(val)))
		copy(b[w:], val)
	}
}

// freeRecord lets e's record of n bytes go, later if a snapshot may read
// it.
func (db *DB) freeRecord(e *entry, n int) {
	if db.liveSnaps > 0 && e.flags&flagFresh == 0 {
		db.snapRetained += int64(slotSize(n))
		db.arena.freeLater(e.rec, n)
		return
	}
	db.arena.free(e.rec, n)
}

// dropObj releases e's object slot, counting the value as held by the
// snapshots alone if one may share it.
func (db *DB) dropObj(e *entry) {
	if e.obj == 0 {
		return
	}
	o := &db.objs[e.obj-1]
	if db.liveSnaps > 0 && o.gen < db.frozenGen {
		db.snapRetained += MemoryUsage(string(db.keyOf(e)), o.v, 5)
	}
	*o = objSlot{}
	db.objFree = append(db.objFree, e.obj-1)
	e.obj = 0
}

// putObj stores v in a free object slot and points e at it.
func (db *DB) putObj(e *entry, v Value, gen uint64) {
	if k := len(db.objFree); k > 0 {
		e.obj = db.objFree[k-1] + 1
		db.objFree = db.objFree[:k-1]
		db.objs[e.obj-1] = objSlot{v, gen}
		return
	}
	db.objs = append(db.objs, objSlot{v, gen})
	e.obj = uint32(len(db.objs))
}

// inlineString is the flags that carry a string's encoding history.
func inlineFlags(enc StringEnc, copied bool) uint8 {
	f := uint8(enc) << flagEncShift
	if copied {
		f |= flagCopied
	}
	return f
}

// valueOf returns e's value; an inline string is copied out.
func (db *DB) valueOf(e *entry) Value {
	if e.obj != 0 {
		return db.objs[e.obj-1].v
	}
	_, rest := recordKey(db.arena.at(e.rec))
	return stringFromRecord(recordValue(rest), e.flags)
}

func stringFromRecord(b []byte, flags uint8) *String {
	return &String{
		B:      append(make([]byte, 0, len(b)), b...),
		Enc:    StringEnc(flags >> flagEncShift),
		Copied: flags&flagCopied != 0,
	}
}

// ---------------------------------------------------------------- reads

// Peek returns the value under key without looking at its expiry time.
// The value must not be mutated; use Mutable for that. A string stored
// inline is returned as a fresh copy.
func (db *DB) Peek(key string) (Value, bool) {
	e := lookupRead(db, key)
	if e == nil {
		return nil, false
	}
	return db.valueOf(e), true
}

// Contains reports whether key exists, without looking at its expiry time.
func (db *DB) Contains(key []byte) bool { return lookupRead(db, key) != nil }

// Touch is Contains that also records nowMs as the key's access time, as
// PeekTouch does, without building the value.
func (db *DB) Touch(key []byte, nowMs int64) bool {
	return lookupTouch(db, key, nowMs) != nil
}

// lookupTouch is lookup for reading that records nowMs as the key's
// access time, except while a snapshot is live: Redis does not update the
// LRU clock while a child saves ("copy on write madness", lookupKey), and
// neither do we, so that reads copy no entry page.
func lookupTouch[K ~string | ~[]byte](db *DB, key K, nowMs int64) *entry {
	if db.liveSnaps > 0 {
		return lookupRead(db, key)
	}
	e := lookup(db, key)
	if e != nil {
		e.atime = nowMs
	}
	return e
}

// PeekStringTouch is GET's path: it returns the bytes of the string under
// key without building a Value (they alias the DB's storage and are valid
// only until the DB next changes: copy them out at once), records nowMs as
// the access time, and reports the key's kind. For a key of another kind
// b is nil; ok is false for a missing key.
func (db *DB) PeekStringTouch(key []byte, nowMs int64) (b []byte, kind Kind, ok bool) {
	e := lookupTouch(db, key, nowMs)
	if e == nil {
		return nil, 0, false
	}
	if e.obj == 0 {
		_, rest := recordKey(db.arena.at(e.rec))
		return recordValue(rest), KindString, true
	}
	v := db.objs[e.obj-1].v
	if s, isString := v.(*String); isString {
		return s.B, KindString, true
	}
	return nil, v.Kind(), true
}

// ExpireAt returns the key's absolute expiry time in unix ms, and whether it
// has one.
func (db *DB) ExpireAt(key string) (int64, bool) {
	if db.nExpires == 0 {
		return 0, false
	}
	i := position(db, key)
	if i < 0 || db.readEnt(i).flags&flagExpire == 0 {
		return 0, false
	}
	return expiryIn(db.expires, i), true
}

// IsExpired reports whether key exists and its expiry time is at or before
// nowMs. The caller decides what to do: a master deletes the key and
// propagates a DEL; a replica hides it from reads but keeps it.
func (db *DB) IsExpired(key string, nowMs int64) bool {
	t, ok := db.ExpireAt(key)
	return ok && t <= nowMs
}

// ---------------------------------------------------------------- writes

// Mutable returns the value under key in a form the caller may modify in
// place. If a live snapshot may still share the value, it is cloned first
// and the clone replaces it. A string stored inline becomes a Go object
// from here on (as Redis turns a string it modifies in place into raw).
func (db *DB) Mutable(key string) (Value, bool) {
	e := lookup(db, key)
	if e == nil {
		return nil, false
	}
	if e.obj == 0 {
		s := db.valueOf(e)
		writeRecord(db, e, key, nil, false, db.recordSize(e))
		db.putObj(e, s, db.gen)
		return s, true
	}
	o := &db.objs[e.obj-1]
	if db.liveSnaps > 0 && o.gen < db.frozenGen {
		db.snapRetained += MemoryUsage(key, o.v, 5)
		o.v, o.gen = o.v.Clone(), db.gen
	}
	return o.v, true
}

// set is every store of a value: v as an object, or with v nil the string
// val inline with flags.
func set[K ~string | ~[]byte](db *DB, key K, v Value, val []byte, sflags uint8, keepTTL bool, gen uint64, atime int64) {
	i := position(db, key)
	setFound(db, i, key, v, val, sflags, keepTTL, gen, atime)
}

// setFound is set for a key find placed at position i (-1: missing).
func setFound[K ~string | ~[]byte](db *DB, i int, key K, v Value, val []byte, sflags uint8, keepTTL bool, gen uint64, atime int64) {
	inline := v == nil
	if inline && recordLen(len(key), len(val), true) > maxSlabRecord {
		// Strings too big for a slab stay Go objects: Peek then copies
		// nothing (an inline string is copied out).
		v = &String{B: append([]byte(nil), val...), Enc: StringEnc(sflags >> flagEncShift), Copied: sflags&flagCopied != 0}
		inline = false
	}
	var e *entry
	oldSize := -1
	if i >= 0 {
		e = db.ent(i)
		oldSize = db.recordSize(e)
		db.dropObj(e)
		if !keepTTL && e.flags&flagExpire != 0 {
			db.clearExpiry(i)
			e.flags &^= flagExpire
		}
	} else {
		e = insertNew(db, key)
		db.hint = uint32(db.n) // its position + 1
	}
	writeRecord(db, e, key, val, inline, oldSize)
	e.flags = e.flags&(flagExpire|flagFresh) | sflags
	e.atime = atime
	if !inline {
		db.putObj(e, v, gen)
	}
}

// Set stores v under key. It keeps the key's expiry time only if keepTTL is
// true, as SET ... KEEPTTL does; otherwise any expiry is removed, as a plain
// SET does in Redis. v itself is stored (the caller may still modify it as
// the key's value); use Adopt or SetString to have a string stored compactly.
func (db *DB) Set(key string, v Value, keepTTL bool) {
	set(db, key, v, nil, 0, keepTTL, db.gen, 0)
}

// Adopt is Set for a value the caller lets go of (RDB load, full sync): a
// string is copied into the DB's compact storage and v is not kept.
func (db *DB) Adopt(key string, v Value, keepTTL bool) {
	if s, ok := v.(*String); ok {
		set(db, key, nil, s.B, inlineFlags(s.Enc, s.Copied), keepTTL, db.gen, 0)
		return
	}
	set(db, key, v, nil, 0, keepTTL, db.gen, 0)
}

// SetString stores a copy of val as a string (encoded as enc) under key
// with access time atime: SET's path, which allocates nothing for a key
// that exists or a small string.
func (db *DB) SetString(key, val []byte, enc StringEnc, keepTTL bool, atime int64) {
	set(db, key, nil, val, inlineFlags(enc, false), keepTTL, db.gen, atime)
}

// SetMoved stores a value taken from another key (RENAME, MOVE), keeping
// its access time at atime: such a value may be shared with a live
// snapshot, so it is marked as older than any snapshot and Mutable
// clones it before the first change, as for the key it came from. A
// string is copied into compact storage (the caller must not keep it).
func (db *DB) SetMoved(key string, v Value, atime int64) {
	if s, ok := v.(*String); ok {
		// Copying the bytes shares nothing: stored compactly.
		set(db, key, nil, s.B, inlineFlags(s.Enc, s.Copied), false, db.gen, atime)
		return
	}
	set(db, key, v, nil, 0, false, 0, atime)
}

// SetAt is Set with the key as bytes and its access time (OBJECT IDLETIME)
// in unix ms: overwriting an existing key allocates nothing.
func (db *DB) SetAt(key []byte, v Value, keepTTL bool, atime int64) {
	set(db, key, v, nil, 0, keepTTL, db.gen, atime)
}

// Reserve prepares an empty DB for about n keys (an RDB's RESIZEDB hint):
// the index is sized so that loading them never rehashes. On a DB holding
// keys it does nothing.
func (db *DB) Reserve(n int) {
	if db.n == 0 {
		db.index.reserve(n)
		db.ents = slices.Grow(db.ents, (min(n, maxReserveKeys)+entPage-1)/entPage)
	}
}

// AdoptNew is Adopt for a key that must not exist yet (loading a dump,
// where a key present twice means a corrupt file): it reports false and
// changes nothing when key exists.
func (db *DB) AdoptNew(key string, v Value) bool {
	_, i := find(db, key)
	if i >= 0 {
		return false
	}
	if s, ok := v.(*String); ok {
		setFound(db, -1, key, nil, s.B, inlineFlags(s.Enc, s.Copied), false, db.gen, 0)
	} else {
		setFound(db, -1, key, v, nil, 0, false, db.gen, 0)
	}
	return true
}

// Delete removes key and its expiry. It reports whether the key existed.
func (db *DB) Delete(key string) bool {
	s, i := find(db, key)
	if i < 0 {
		return false
	}
	db.removeAt(s, i)
	return true
}

// SetExpireAt sets the absolute expiry time of an existing key. It reports
// false, and does nothing, if the key does not exist.
func (db *DB) SetExpireAt(key string, unixMs int64) bool {
	i := position(db, key)
	if i < 0 {
		return false
	}
	db.ent(i).flags |= flagExpire
	db.setExpiry(i, unixMs)
	return true
}

// Persist removes the key's expiry time and reports whether it had one.
func (db *DB) Persist(key string) bool {
	i := position(db, key)
	if i < 0 || db.readEnt(i).flags&flagExpire == 0 {
		return false
	}
	db.ent(i).flags &^= flagExpire
	db.clearExpiry(i)
	return true
}

// Flush removes every key. Live snapshots keep their own view (they hold
// the old arena's chunks).
func (db *DB) Flush() {
	db.index, db.ents, db.pageGen, db.n = keyIndex{}, nil, nil, 0
	db.objs, db.objFree = nil, nil
	db.expires, db.nExpires = nil, 0
	db.arena = arena{}
}

// ForEach calls fn for every key in unspecified order until fn returns
// false. It must not be used to mutate the DB.
func (db *DB) ForEach(fn func(key string, v Value, expireAt int64, hasExpire bool) bool) {
	for i := range db.n {
		e := db.readEnt(i)
		t, ok := db.expiryOf(i, e)
		if !fn(string(db.keyOf(e)), db.valueOf(e), t, ok) {
			return
		}
	}
}

func (db *DB) expiryOf(i int, e *entry) (int64, bool) {
	if e.flags&flagExpire == 0 {
		return 0, false
	}
	return expiryIn(db.expires, i), true
}

// ---------------------------------------------------------------- snapshots

// Snapshot is a frozen, read-only view of a DB, taken at one instant, that
// stays valid while the DB keeps changing. It may be read from another
// goroutine. Release must be called when the reader is done, so the DB can
// stop cloning values on write.
type Snapshot struct {
	db      *DB
	ents    [][]entry
	n       int
	objs    []Value
	chunks  [][]byte
	big     [][]byte
	expires []map[uint32]int64
	nExp    int
	done    bool
	// overhead is what the snapshot's own lists cost (DB.snapBytes).
	overhead int64
}

// Snapshot freezes the DB's current content. It shares the entry pages,
// which the DB copies one at a time when it first writes them (ent), and
// copies the object list; the records are then kept from reuse and the
// objects shared copy-on-write. So taking it costs the executor a copy of
// the lists, not of the keyspace, and memory grows only with the pages
// written while it is live.
func (db *DB) Snapshot() *Snapshot {
	s := &Snapshot{
		db:      db,
		n:       db.n,
		ents:    slices.Clone(db.ents),
		objs:    make([]Value, len(db.objs)),
		chunks:  slices.Clone(db.arena.chunks),
		big:     slices.Clone(db.arena.big),
		expires: slices.Clone(db.expires),
		nExp:    db.nExpires,
	}
	for i, o := range db.objs {
		s.objs[i] = o.v
	}
	// Every page now has an older gen: shared, and its fresh bits stale.
	db.gen++
	db.frozenGen = db.gen
	db.liveSnaps++
	s.overhead = int64(len(s.ents))*24 + int64(len(s.objs))*16 +
		int64(len(s.chunks)+len(s.big)+len(s.expires))*24
	db.snapBytes += s.overhead
	return s
}

// IdleBytes is the memory the DB's slabs hold from the Go heap with no
// record in it: slots freed by deletes and overwrites, kept for the next
// records as jemalloc keeps freed regions (Redis's used_memory does not
// count those either). A delete adds its record's slot at once; the entry
// pages and hash table are counted as used, as Redis counts its dict
// tables.
func (db *DB) IdleBytes() int64 { return db.arena.idle() }

// IsCompact reports whether key's value is stored in the DB's own slabs (a
// small string set as bytes): deleting the key then frees nothing to the Go
// heap, only slab slots (IdleBytes).
func (db *DB) IsCompact(key string) bool {
	e := lookupRead(db, key)
	return e != nil && e.obj == 0
}

// SnapshotBytes estimates the memory the live snapshots hold beyond the
// dataset (see DB.snapBytes): eviction does not count it, as Redis does
// not count the copy-on-write of its fork.
func (db *DB) SnapshotBytes() int64 { return db.snapBytes + db.snapRetained }

// Len is the number of keys in the snapshot.
func (s *Snapshot) Len() int { return s.n }

// ExpiresLen is the number of keys with an expiry time in the snapshot.
func (s *Snapshot) ExpiresLen() int { return s.nExp }

// ForEach calls fn for every key of the snapshot, stopping at the first error,
// which it returns. key and v are valid only until fn returns, and fn must
// not modify them: a string stored inline is handed out in place, through
// one String reused for every key, so that encoding a snapshot (BGSAVE, a
// full sync, an AOF rewrite) allocates nothing per key.
func (s *Snapshot) ForEach(fn func(key string, v Value, expireAt int64, hasExpire bool) error) error {
	inline := &String{}
	for i := range s.n {
		e := &s.ents[i>>entPageShift][i&(entPage-1)]
		k, rest := recordKey(arenaAt(s.chunks, s.big, e.rec))
		var v Value
		if e.obj != 0 {
			v = s.objs[e.obj-1]
		} else {
			b := recordValue(rest)
			*inline = String{B: b[:len(b):len(b)], Enc: StringEnc(e.flags >> flagEncShift), Copied: e.flags&flagCopied != 0}
			v = inline
		}
		var t int64
		ok := e.flags&flagExpire != 0
		if ok {
			t = expiryIn(s.expires, i)
		}
		// The record cannot change while the snapshot is live (its frees
		// wait for Release), so the key needs no copy.
		if err := fn(unsafe.String(unsafe.SliceData(k), len(k)), v, t, ok); err != nil {
			return err
		}
	}
	return nil
}

// Release ends the snapshot. It must be called on the DB's goroutine (the
// executor), because it changes DB state; calling it twice is harmless.
func (s *Snapshot) Release() {
	if s.done {
		return
	}
	s.done = true
	s.db.liveSnaps--
	s.db.snapBytes -= s.overhead
	if s.db.liveSnaps == 0 {
		s.db.snapRetained = 0
		s.db.arena.flushPending()
	}
}

// ---------------------------------------------------------------- sampling for active expiry

// SampleExpires calls fn for up to n keys that have an expiry time, the
// way Redis's activeExpireCycle walks its expires dictionary with a
// cursor: each call starts at the entry page after the one the previous
// call started at, and takes each page's keys in random order (Go
// randomises map iteration); n = ExpiresLen visits every one. fn may
// delete the key it is given.
func (db *DB) SampleExpires(n int, fn func(key string, expireAt int64)) {
	pages := len(db.expires)
	if n <= 0 || db.nExpires == 0 || pages == 0 {
		return
	}
	db.expiresFrom = (db.expiresFrom + 1) % pages
	batch := db.sampleBuf
	defer func() { db.sampleBuf = batch[:0] }()
	for k := range pages {
		p := (db.expiresFrom + k) % pages
		if p >= len(db.expires) || db.expires[p] == nil {
			continue
		}
		// The page's positions first: fn may delete keys, which changes
		// (or, under a snapshot, replaces) the map.
		batch = batch[:0]
		for i := range db.expires[p] {
			batch = append(batch, i)
			if len(batch) == n {
				break
			}
		}
		for _, i := range batch {
			if int(i) >= db.n || p >= len(db.expires) || db.readEnt(int(i)).flags&flagExpire == 0 {
				continue // moved or removed by a deletion fn made
			}
			t, ok := db.expires[p][i]
			if !ok {
				continue
			}
			fn(string(db.keyOf(db.readEnt(int(i)))), t)
			n--
			if n == 0 {
				return
			}
		}
	}
}

// ---------------------------------------------------------------- scan, random keys, access times

// Scan visits about count keys starting at cursor and returns the cursor
// for the next call, 0 when the walk is complete; cursor 0 starts a walk.
//
// Keys sit at dense positions 0..Len-1; the walk goes from the last
// position down to the first and the cursor is the number of positions not
// yet visited. New keys are appended above the cursor (SCAN may miss keys
// added during the walk), and Delete moves the last key, which is either
// visited already or still below the cursor, into the hole. So a key
// present for the whole walk is returned at least once, which is Redis's
// SCAN guarantee; a key may be returned twice.
func (db *DB) Scan(cursor uint64, count int, fn func(key string)) uint64 {
	if count < 1 {
		count = 1
	}
	n := uint64(db.n)
	if cursor == 0 || cursor > n {
		cursor = n
	}
	for visited := 0; cursor > 0 && visited < count; visited++ {
		cursor--
		fn(db.KeyAt(int(cursor)))
	}
	return cursor
}

// KeyAt returns the key at position i (0 <= i < Len) of the scan order;
// with a random i it picks a random key (RANDOMKEY).
func (db *DB) KeyAt(i int) string { return string(db.keyOf(db.readEnt(i))) }

// PeekTouch is Peek that also records nowMs as the key's access time, as
// Redis's lookupKey updates the LRU clock.
func (db *DB) PeekTouch(key string, nowMs int64) (Value, bool) {
	e := lookupTouch(db, key, nowMs)
	if e == nil {
		return nil, false
	}
	return db.valueOf(e), true
}

// AccessTime returns the unix ms of the key's last access through
// PeekTouch (0 if never), for OBJECT IDLETIME.
func (db *DB) AccessTime(key string) (int64, bool) {
	e := lookupRead(db, key)
	if e == nil {
		return 0, false
	}
	return e.atime, true
}

// SetAccessTime sets the access time (a new key, or RESTORE IDLETIME).
func (db *DB) SetAccessTime(key string, unixMs int64) {
	if e := lookup(db, key); e != nil {
		e.atime = unixMs
	}
}
