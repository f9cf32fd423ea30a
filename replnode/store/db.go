package store

// DB is one numbered database: a dictionary of keys to values, plus the
// absolute expiry time (unix ms) of the keys that have one.
//
// A DB is used by one goroutine at a time (the server's executor). Snapshots
// taken with Snapshot may be read from another goroutine while the executor
// keeps mutating the DB: Mutable clones shared values first.
type DB struct {
	dict    map[string]*entry
	expires map[string]int64
	// order lists the keys; entry.pos is a key's index in it. It backs
	// SCAN's cursor and RANDOMKEY (see Scan).
	order []string

	// gen counts snapshots taken. An entry whose gen is older than
	// frozenGen may be shared with a live snapshot and is cloned on its
	// first mutation.
	gen       uint64
	frozenGen uint64
	liveSnaps int

	// snapBytes estimates the memory live snapshots hold beyond the
	// dataset: their own key and value lists, and the values the dataset
	// let go (overwritten, cloned, deleted) while a snapshot still refers
	// to them. It is Redis's fork copy-on-write, which maxmemory does not
	// count (see SnapshotBytes).
	snapBytes    int64
	snapRetained int64
}

type entry struct {
	v   Value
	gen uint64
	pos int
	// atime is the unix ms of the last access (OBJECT IDLETIME).
	atime int64
}

// NewDB returns an empty database.
func NewDB() *DB {
	return &DB{dict: make(map[string]*entry), expires: make(map[string]int64)}
}

// Len is the number of keys, including keys that are logically expired but
// not yet removed (as DBSIZE counts them in Redis).
func (db *DB) Len() int { return len(db.dict) }

// ExpiresLen is the number of keys with an expiry time.
func (db *DB) ExpiresLen() int { return len(db.expires) }

// Peek returns the value under key without looking at its expiry time.
// The value must not be mutated; use Mutable for that.
func (db *DB) Peek(key string) (Value, bool) {
	e, ok := db.dict[key]
	if !ok {
		return nil, false
	}
	return e.v, true
}

// ExpireAt returns the key's absolute expiry time in unix ms, and whether it
// has one.
func (db *DB) ExpireAt(key string) (int64, bool) {
	t, ok := db.expires[key]
	return t, ok
}

// IsExpired reports whether key exists and its expiry time is at or before
// nowMs. The caller decides what to do: a master deletes the key and
// propagates a DEL; a replica hides it from reads but keeps it.
func (db *DB) IsExpired(key string, nowMs int64) bool {
	t, ok := db.expires[key]
	return ok && t <= nowMs
}

// Mutable returns the value under key in a form the caller may modify in
// place. If a live snapshot may still share the value, it is cloned first
// and the clone replaces it in the dictionary.
func (db *DB) Mutable(key string) (Value, bool) {
	e, ok := db.dict[key]
	if !ok {
		return nil, false
	}
	if db.liveSnaps > 0 && e.gen < db.frozenGen {
		db.retain(key, e)
		e = &entry{v: e.v.Clone(), gen: db.gen, pos: e.pos, atime: e.atime}
		db.dict[key] = e
	}
	return e.v, true
}

// Set stores v under key. It keeps the key's expiry time only if keepTTL is
// true, as SET ... KEEPTTL does; otherwise any expiry is removed, as a plain
// SET does in Redis.
func (db *DB) Set(key string, v Value, keepTTL bool) {
	if old, ok := db.dict[key]; ok {
		// Snapshots copy values, never entries: the entry is updated in
		// place (no allocation), the new value is unshared.
		db.retain(key, old)
		old.v, old.gen, old.atime = v, db.gen, 0
	} else {
		db.dict[key] = &entry{v: v, gen: db.gen, pos: len(db.order)}
		db.order = append(db.order, key)
	}
	if !keepTTL {
		delete(db.expires, key)
	}
}

// SetMoved stores a value taken from another key (RENAME, MOVE), keeping
// its access time at atime: such a value may be shared with a live
// snapshot, so its entry is marked as older than any snapshot and Mutable
// clones it before the first change, as for the key it came from.
func (db *DB) SetMoved(key string, v Value, atime int64) {
	db.Set(key, v, false)
	e := db.dict[key]
	e.gen, e.atime = 0, atime
}

// SetAt is Set with the key as bytes and its access time (OBJECT IDLETIME)
// in unix ms: overwriting an existing key allocates nothing, which is what
// SET and MSET do most in a pipeline.
func (db *DB) SetAt(key []byte, v Value, keepTTL bool, atime int64) {
	if old, ok := db.dict[string(key)]; ok {
		if db.liveSnaps > 0 {
			db.retain(string(key), old)
		}
		old.v, old.gen, old.atime = v, db.gen, atime
		if !keepTTL && len(db.expires) > 0 {
			delete(db.expires, string(key))
		}
		return
	}
	k := string(key)
	db.dict[k] = &entry{v: v, gen: db.gen, pos: len(db.order), atime: atime}
	db.order = append(db.order, k)
	if !keepTTL && len(db.expires) > 0 {
		delete(db.expires, k)
	}
}

// Delete removes key and its expiry. It reports whether the key existed.
func (db *DB) Delete(key string) bool {
	e, ok := db.dict[key]
	if !ok {
		return false
	}
	db.retain(key, e)
	// Move the last key into the hole (see Scan for why).
	last := len(db.order) - 1
	if e.pos != last {
		moved := db.order[last]
		db.order[e.pos] = moved
		db.dict[moved].pos = e.pos
	}
	db.order[last] = ""
	db.order = db.order[:last]
	if cap(db.order) > 1024 && len(db.order) < cap(db.order)/4 {
		db.order = append(make([]string, 0, cap(db.order)/2), db.order...)
	}
	delete(db.dict, key)
	delete(db.expires, key)
	return true
}

// SetExpireAt sets the absolute expiry time of an existing key. It reports
// false, and does nothing, if the key does not exist.
func (db *DB) SetExpireAt(key string, unixMs int64) bool {
	if _, ok := db.dict[key]; !ok {
		return false
	}
	db.expires[key] = unixMs
	return true
}

// Persist removes the key's expiry time and reports whether it had one.
func (db *DB) Persist(key string) bool {
	if _, ok := db.expires[key]; !ok {
		return false
	}
	delete(db.expires, key)
	return true
}

// Flush removes every key. Live snapshots keep their own view.
func (db *DB) Flush() {
	db.dict = make(map[string]*entry)
	db.expires = make(map[string]int64)
	db.order = nil
}

// ForEach calls fn for every key in unspecified order until fn returns
// false. It must not be used to mutate the DB.
func (db *DB) ForEach(fn func(key string, v Value, expireAt int64, hasExpire bool) bool) {
	for k, e := range db.dict {
		t, ok := db.expires[k]
		if !fn(k, e.v, t, ok) {
			return
		}
	}
}

// Snapshot is a frozen, read-only view of a DB, taken at one instant, that
// stays valid while the DB keeps changing. It may be read from another
// goroutine. Release must be called when the reader is done, so the DB can
// stop cloning values on write.
type Snapshot struct {
	db      *DB
	keys    []string
	values  []Value
	expires map[string]int64
	done    bool
	// overhead is what the snapshot's own lists cost (DB.snapBytes).
	overhead int64
}

// Snapshot freezes the DB's current content. It costs one pass over the key
// dictionary (copying pointers, not values); values are then shared
// copy-on-write.
func (db *DB) Snapshot() *Snapshot {
	s := &Snapshot{
		db:      db,
		keys:    make([]string, 0, len(db.dict)),
		values:  make([]Value, 0, len(db.dict)),
		expires: make(map[string]int64, len(db.expires)),
	}
	for k, e := range db.dict {
		s.keys = append(s.keys, k)
		s.values = append(s.values, e.v)
	}
	for k, t := range db.expires {
		s.expires[k] = t
	}
	db.gen++
	db.frozenGen = db.gen
	db.liveSnaps++
	// Two slices of one word pair per key, and the expires copy (a map
	// entry of key header, value and bucket overhead per key).
	s.overhead = int64(cap(s.keys))*16 + int64(cap(s.values))*16 + int64(len(s.expires))*48
	db.snapBytes += s.overhead
	return s
}

// retain counts e's value as held by the live snapshots alone when the
// dataset lets it go and it predates the newest snapshot.
func (db *DB) retain(key string, e *entry) {
	if db.liveSnaps > 0 && e.gen < db.frozenGen {
		db.snapRetained += MemoryUsage(key, e.v, 5)
	}
}

// SnapshotBytes estimates the memory the live snapshots hold beyond the
// dataset (see DB.snapBytes): eviction does not count it, as Redis does
// not count the copy-on-write of its fork.
func (db *DB) SnapshotBytes() int64 { return db.snapBytes + db.snapRetained }

// Len is the number of keys in the snapshot.
func (s *Snapshot) Len() int { return len(s.keys) }

// ExpiresLen is the number of keys with an expiry time in the snapshot.
func (s *Snapshot) ExpiresLen() int { return len(s.expires) }

// ForEach calls fn for every key of the snapshot, stopping at the first error,
// which it returns.
func (s *Snapshot) ForEach(fn func(key string, v Value, expireAt int64, hasExpire bool) error) error {
	for i, k := range s.keys {
		t, ok := s.expires[k]
		if err := fn(k, s.values[i], t, ok); err != nil {
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
	}
}

// ---------------------------------------------------------------- sampling for active expiry

// SampleExpires calls fn for up to n keys that have an expiry time, starting
// at a random point of the expires table (Go randomises map iteration), the
// way Redis's activeExpireCycle samples its expires dictionary. fn may
// delete the key it is given.
func (db *DB) SampleExpires(n int, fn func(key string, expireAt int64)) {
	if n <= 0 {
		return
	}
	for k, t := range db.expires {
		fn(k, t)
		n--
		if n == 0 {
			return
		}
	}
}

// ---------------------------------------------------------------- scan, random keys, access times

// Scan visits about count keys starting at cursor and returns the cursor
// for the next call, 0 when the walk is complete; cursor 0 starts a walk.
//
// Keys sit in a slice; the walk goes from the last position down to the
// first and the cursor is the number of positions not yet visited. New keys
// are appended above the cursor (SCAN may miss keys added during the
// walk), and Delete moves the last key, which is either visited already or
// still below the cursor, into the hole. So a key present for the whole walk
// is returned at least once, which is Redis's SCAN guarantee; a key may be
// returned twice.
func (db *DB) Scan(cursor uint64, count int, fn func(key string)) uint64 {
	if count < 1 {
		count = 1
	}
	n := uint64(len(db.order))
	if cursor == 0 || cursor > n {
		cursor = n
	}
	for visited := 0; cursor > 0 && visited < count; visited++ {
		cursor--
		fn(db.order[cursor])
	}
	return cursor
}

// KeyAt returns the key at position i (0 <= i < Len) of the scan order;
// with a random i it picks a random key (RANDOMKEY).
func (db *DB) KeyAt(i int) string { return db.order[i] }

// PeekTouch is Peek that also records nowMs as the key's access time, as
// Redis's lookupKey updates the LRU clock.
func (db *DB) PeekTouch(key string, nowMs int64) (Value, bool) {
	e, ok := db.dict[key]
	if !ok {
		return nil, false
	}
	e.atime = nowMs
	return e.v, true
}

// AccessTime returns the unix ms of the key's last access through
// PeekTouch (0 if never), for OBJECT IDLETIME.
func (db *DB) AccessTime(key string) (int64, bool) {
	e, ok := db.dict[key]
	if !ok {
		return 0, false
	}
	return e.atime, true
}

// SetAccessTime sets the access time (a new key, or RESTORE IDLETIME).
func (db *DB) SetAccessTime(key string, unixMs int64) {
	if e, ok := db.dict[key]; ok {
		e.atime = unixMs
	}
}
