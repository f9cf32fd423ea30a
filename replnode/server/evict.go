package server

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sort"

	"github.com/replnode/replnode/replnode/store"
)

// Eviction under maxmemory, after Redis 7.0's evict.c: before a command,
// while the used-memory figure is above maxmemory, keys chosen by
// maxmemory-policy are deleted (and a DEL propagated, as expiry does) until
// the memory they are estimated to hold covers the excess.
//
// Redis measures what an eviction frees with zmalloc; the Go heap does not
// shrink until the collector runs, so the bytes freed are estimated with
// the store's model of Redis's per-key memory (store.MemoryUsage, what
// MEMORY USAGE answers) and subtracted from the cached used figure, which
// the next memory sample of cron (every 1/hz s) replaces with the real heap.

// ------ POLICY ------

// evictionPolicy is maxmemory-policy parsed once per eviction run.
type evictionPolicy struct {
	volatile bool // only keys with a TTL are candidates
	random   bool // no pool: a random key of the round-robin db
	ttl      bool // score is the expiry time, soonest first
}

// parseEvictionPolicy returns the policy of name and false for noeviction
// (or an unknown name), which never evicts.
func parseEvictionPolicy(name string) (evictionPolicy, bool) {
	switch name {
	case "allkeys-lru", "allkeys-lfu":
		return evictionPolicy{}, true
	case "volatile-lru", "volatile-lfu":
		return evictionPolicy{volatile: true}, true
	case "allkeys-random":
		return evictionPolicy{random: true}, true
	case "volatile-random":
		return evictionPolicy{volatile: true, random: true}, true
	case "volatile-ttl":
		return evictionPolicy{volatile: true, ttl: true}, true
	}
	return evictionPolicy{}, false
}

// ------ EVICTION POOL ------

// evictionPoolSize is Redis's EVPOOL_SIZE.
const evictionPoolSize = 16

// evictionCandidate is a sampled key with its score: the higher the score
// the better it is to evict (idle ms for LRU/LFU, negated expiry for TTL).
type evictionCandidate struct {
	score int64
	db    int
	key   string
}

// evictionPool keeps the best candidates seen so far across samples and
// commands, sorted by ascending score, as Redis's EvictionPoolLRU.
type evictionPool struct {
	entries []evictionCandidate
}

// offer inserts c if the pool has room or c scores better than the worst
// entry; a key already pooled only has its score refreshed.
func (p *evictionPool) offer(c evictionCandidate) {
	for i := range p.entries {
		if p.entries[i].db == c.db && p.entries[i].key == c.key {
			p.entries[i].score = c.score
			p.sort()
			return
		}
	}
	if len(p.entries) < evictionPoolSize {
		p.entries = append(p.entries, c)
		p.sort()
		return
	}
	if c.score <= p.entries[0].score {
		return
	}
	p.entries[0] = c
	p.sort()
}

// sort restores ascending score order (stable, so equal scores keep their
// insertion order).
func (p *evictionPool) sort() {
	sort.SliceStable(p.entries, func(i, j int) bool { return p.entries[i].score < p.entries[j].score })
}

// popBest removes and returns the highest-scoring entry.
func (p *evictionPool) popBest() (evictionCandidate, bool) {
	n := len(p.entries)
	if n == 0 {
		return evictionCandidate{}, false
	}
	c := p.entries[n-1]
	p.entries = p.entries[:n-1]
	return c, true
}

// clear drops every entry: after a policy change the pooled scores mean
// something else. (Keys deleted or moved since they were pooled are
// skipped when popped.)
func (p *evictionPool) clear() { p.entries = p.entries[:0] }

// ------ PERFORM EVICTIONS ------

// evictForCommand is performEvictions: called before a command when
// maxmemory is set. It reports false when the used memory stays above
// maxmemory — noeviction, or nothing left to evict — so dispatch refuses a
// deny-oom command with -OOM; true when memory is (estimated) within the
// limit, or when eviction is not safe and Redis answers EVICT_OK: a replica
// with replica-ignore-maxmemory, or clients paused (WRITE or ALL).
func (s *Server) evictForCommand(nowMs int64) bool {
	maxmem := s.hot.maxmemory
	if maxmem <= 0 || s.usedMemory.Load() <= maxmem {
		return true
	}
	if s.IsReplica() && s.Config.Bool("replica-ignore-maxmemory") {
		return true
	}
	if s.clientsPaused() {
		return true
	}
	// The sampled heap counts garbage the collector has not swept yet:
	// evicting on it would empty the data set for bytes already free.
	// Eviction works from the live heap the last collection marked, less
	// what that collection may have marked that maxmemory does not count
	// (heldBy). Growth since that collection shows up at the next one,
	// which GOGC and the memory limit (applyMemoryLimit) bring about as
	// the heap grows.
	gc := s.heapLive()
	if gc.cycles == 0 {
		// No collection yet, so no live figure: make one (once).
		runtime.GC()
		gc = s.heapLive()
	}
	s.evictHeld.noteNotCounted(gc, s.notCountedMemory())
	used := max(gc.live-s.evictHeld.heldBy(gc.cycles)-s.keyspaceIdleMemory(), 0)
	if used <= maxmem {
		// The excess is garbage: no eviction until cron samples again.
		s.usedMemory.Store(used)
		return true
	}
	policyName := s.Config.String("maxmemory-policy")
	policy, ok := parseEvictionPolicy(policyName)
	if !ok {
		return false
	}
	if policyName != s.evictPoolPolicy {
		// Scores of another policy (idle time, expiry) do not compare.
		s.evictPool.clear()
		s.evictPoolPolicy = policyName
	}
	need := used - maxmem
	// Evicted keys free memory two ways: their records' slab slots become
	// idle at once (keyspaceIdleMemory, already left out of used), and
	// their Go objects are freed by a later collection (held).
	idleStart := s.keyspaceIdleMemory()
	var held, freed int64
	for freed < need {
		dbNum, key, found := s.nextEvictionVictim(policy, nowMs)
		if !found {
			break
		}
		held += s.evictKey(dbNum, key)
		freed = held + s.keyspaceIdleMemory() - idleStart
	}
	// The heap holds the evicted values until a collection that starts
	// after this loop, and what the loop allocated (deletion, propagation,
	// notifications) is garbage any collection marking meanwhile counts
	// live: both are remembered by the collection count (heldBy), and the
	// next commands are spared this check until cron samples the heap.
	after := s.heapLive()
	s.evictHeld.noteEvicted(gc, after, held)
	s.usedMemory.Store(used - freed)
	return freed >= need
}

// ------ MEMORY NOT COUNTED ------

// notCountedMemory is what maxmemory does not count, after evict.c's
// freeMemoryGetNotCountedMemory: the live snapshots' share (Redis's fork
// copy-on-write, store.DB.SnapshotBytes) and what the replication layer
// holds for replicas (their output, full-sync payloads). Eviction must not
// free the data set for it: a full sync would otherwise evict keys.
func (s *Server) notCountedMemory() int64 {
	var n int64
	for _, db := range s.Keyspace.DBs {
		n += db.SnapshotBytes()
	}
	if s.NotCountedMemory != nil {
		n += s.NotCountedMemory()
	}
	return n
}

// keyspaceIdleMemory is what the keyspace holds from the Go heap with no
// data in it (store.DB.IdleBytes: slab slots freed by deletes, evictions
// included, and kept for reuse). The live heap counts it, used_memory and
// maxmemory must not: evicting a key frees its slot to the keyspace, not
// to the heap.
func (s *Server) keyspaceIdleMemory() int64 {
	var n int64
	for _, db := range s.Keyspace.DBs {
		n += db.IdleBytes()
	}
	return n
}

// trackNotCounted records notCountedMemory under the current collection
// count (cron, and before a snapshot is released): memory released before
// eviction reads the next collection may still be in that collection's
// live heap.
func (s *Server) trackNotCounted() {
	if s.hot.maxmemory > 0 {
		s.evictHeld.noteNotCounted(s.heapLive(), s.notCountedMemory())
	}
}

// trackGarbage records the allocations since the reading begin, taken
// when work that makes only garbage began (a full sync's encoding): any
// collection marking meanwhile counted them live.
func (s *Server) trackGarbage(begin heapReading) {
	if s.hot.maxmemory > 0 {
		s.evictHeld.noteGarbage(begin, s.heapLive())
	}
}

// ------ WHAT A COLLECTION MAY STILL HAVE FOUND LIVE ------
//
// Go's collector marks what is reachable when its mark phase starts and
// everything allocated while it marks; the live figure is known only when
// it ends. So collection N counts memory let go at any time after
// collection N-1 ended (its mark may have started then), and garbage
// allocated before N ended. Under load, with the heap near the memory
// limit, marking runs almost all the time: evicted keys and the eviction's
// own garbage came back in the next collection's figure and were evicted
// for again, with no write in between. The only clock tying an event to
// the collections is their count: memory let go while the count was C may
// be in collections C and C+1, never in C+2, whose mark started after C+1
// ended.

// heldRecord is memory a range of collections may have found live that
// maxmemory does not count.
type heldRecord struct {
	from, to uint64 // the collection counts it applies to, both included
	bytes    int64
}

// heldMemory keeps those records for the collections eviction has yet to
// read: evicted data and eviction garbage add up; the snapshot and
// replication memory not counted (notCountedMemory) is a level sampled
// over time, of which the peak applies.
type heldMemory struct {
	evicted    []heldRecord
	notCounted []heldRecord
	// readings keeps the latest reading seen under each recent count,
	// to bound the garbage a collection can have counted (noteGarbage).
	readings []heapReading
}

// heldBy is what collection `cycles` may have found live that is not the
// data set's: the data evicted and garbage made since the previous
// collection ended, and the most memory not counted seen meanwhile.
func (h *heldMemory) heldBy(cycles uint64) int64 {
	h.evicted = dropHeldBefore(h.evicted, cycles)
	h.notCounted = dropHeldBefore(h.notCounted, cycles)
	var evicted, notCounted int64
	for _, r := range h.evicted {
		if r.from <= cycles {
			evicted += r.bytes
		}
	}
	for _, r := range h.notCounted {
		if r.from <= cycles {
			notCounted = max(notCounted, r.bytes)
		}
	}
	return evicted + notCounted
}

// noteNotCounted records n bytes not counted, seen at reading: the
// collections of its count and the next may count them.
func (h *heldMemory) noteNotCounted(reading heapReading, n int64) {
	h.noteReading(reading)
	cycles := reading.cycles
	h.notCounted = dropHeldBefore(h.notCounted, cycles)
	if n <= 0 {
		return
	}
	for i := range h.notCounted {
		if r := &h.notCounted[i]; r.from == cycles {
			r.bytes = max(r.bytes, n)
			return
		}
	}
	h.notCounted = append(h.notCounted, heldRecord{from: cycles, to: cycles + 1, bytes: n})
}

// noteEvicted records an eviction run that started with reading before
// and ended with reading after: the freed bytes were live data, so every
// collection up to the one that may have been marking at the end counts
// them, and what the run allocated is garbage (noteGarbage).
func (h *heldMemory) noteEvicted(before, after heapReading, freed int64) {
	h.evicted = dropHeldBefore(h.evicted, after.cycles)
	if freed > 0 {
		h.evicted = append(h.evicted, heldRecord{from: 0, to: after.cycles + 1, bytes: freed})
	}
	h.noteGarbage(before, after)
}

// noteGarbage records what was allocated between the readings begin and
// end as garbage the collections that ended after begin may have counted.
// Only the collection of end's count and the next are still to be read,
// and their marks began after collection end.cycles-1 ended, so after any
// reading whose count was end.cycles-2 or less: allocations before the
// latest such reading are left out. The figure is the process's, not the
// work's alone (data arriving meanwhile is counted from the collection
// after those two): it errs towards evicting later, never twice.
func (h *heldMemory) noteGarbage(begin, end heapReading) {
	h.noteReading(end)
	h.evicted = dropHeldBefore(h.evicted, end.cycles)
	from := begin.allocs
	for _, r := range h.readings {
		if r.cycles+2 <= end.cycles && r.allocs > from {
			from = r.allocs
		}
	}
	if end.allocs > from {
		h.evicted = append(h.evicted, heldRecord{from: begin.cycles + 1, to: end.cycles + 1, bytes: int64(end.allocs - from)})
	}
}

// noteReading keeps reading as the latest of its count, and the readings
// of the two counts before the current one.
func (h *heldMemory) noteReading(reading heapReading) {
	kept := h.readings[:0]
	replaced := false
	for _, r := range h.readings {
		switch {
		case r.cycles == reading.cycles:
			kept = append(kept, reading)
			replaced = true
		case r.cycles+2 >= reading.cycles:
			kept = append(kept, r)
		}
	}
	if !replaced {
		kept = append(kept, reading)
	}
	h.readings = kept
}

// dropHeldBefore removes the records no collection from cycles on counts
// (eviction never reads an older collection than the current count).
func dropHeldBefore(rs []heldRecord, cycles uint64) []heldRecord {
	kept := rs[:0]
	for _, r := range rs {
		if r.to >= cycles {
			kept = append(kept, r)
		}
	}
	return kept
}

// nextEvictionVictim chooses the key to evict under policy and reports
// false when no db holds a candidate (volatile-* with no TTL keys, or an
// empty keyspace).
func (s *Server) nextEvictionVictim(policy evictionPolicy, nowMs int64) (int, string, bool) {
	dbs := s.Keyspace.DBs
	if policy.random {
		// Redis's static next_db: successive evictions visit the dbs in
		// turn so one db is not emptied first.
		for range dbs {
			dbNum := s.evictNextDB % len(dbs)
			s.evictNextDB++
			db := dbs[dbNum]
			if key, ok := randomEvictionKey(db, policy.volatile, s.rand.IntN); ok {
				return dbNum, key, true
			}
		}
		return 0, "", false
	}
	samples := int(s.Config.Int("maxmemory-samples"))
	for {
		total := 0
		for dbNum, db := range dbs {
			n := db.Len()
			if policy.volatile {
				n = db.ExpiresLen()
			}
			if n == 0 {
				continue
			}
			total += n
			s.sampleEvictionCandidates(dbNum, db, policy, samples, nowMs)
		}
		if total == 0 {
			return 0, "", false
		}
		for {
			c, ok := s.evictPool.popBest()
			if !ok {
				break
			}
			db := dbs[c.db]
			// A pooled key may have been deleted, or lost its TTL, since
			// it was sampled: skip it as Redis's evictionPoolPopulate
			// consumer does.
			if _, exists := db.Peek(c.key); !exists {
				continue
			}
			if policy.volatile {
				if _, hasTTL := db.ExpireAt(c.key); !hasTTL {
					continue
				}
			}
			return c.db, c.key, true
		}
	}
}

// sampleEvictionCandidates offers up to samples keys of db (only keys with
// a TTL under a volatile policy) to the eviction pool.
func (s *Server) sampleEvictionCandidates(dbNum int, db *store.DB, policy evictionPolicy, samples int, nowMs int64) {
	offer := func(key string) {
		s.evictPool.offer(evictionCandidate{score: s.evictionScore(db, key, policy, nowMs), db: dbNum, key: key})
	}
	if policy.volatile {
		db.SampleExpires(samples, func(key string, _ int64) { offer(key) })
		return
	}
	n := db.Len()
	for i := 0; i < samples && i < n; i++ {
		offer(db.KeyAt(s.rand.IntN(n)))
	}
}

// evictionScore is how good a candidate key is: under volatile-ttl the
// sooner it expires the higher; otherwise its idle time in ms. replnode
// keeps one access time per key and no LFU counter (OBJECT FREQ reports
// the initial counter), so the LFU policies rank by idle time too: with
// every counter equal, Redis's LFU decay also favours the longest idle key.
func (s *Server) evictionScore(db *store.DB, key string, policy evictionPolicy, nowMs int64) int64 {
	if policy.ttl {
		at, _ := db.ExpireAt(key)
		return math.MaxInt64 - at
	}
	at, _ := db.AccessTime(key)
	if at == 0 {
		// Never looked up since written by a path that records no time:
		// OBJECT IDLETIME counts such a key idle since startup.
		at = s.startTime.UnixMilli()
	}
	return nowMs - at
}

// randomEvictionKey picks a random key of db (one with a TTL if volatile)
// and reports false when there is none.
func randomEvictionKey(db *store.DB, volatile bool, intN func(int) int) (string, bool) {
	if volatile {
		var key string
		found := false
		// Go starts each map iteration at a random position.
		db.SampleExpires(1, func(k string, _ int64) { key, found = k, true })
		return key, found
	}
	n := db.Len()
	if n == 0 {
		return "", false
	}
	return db.KeyAt(intN(n)), true
}

// evictKey deletes key as an eviction and returns the bytes its deletion is
// estimated to free to the Go heap at the next collection: none for a
// value kept in the keyspace's slabs, whose slot becomes idle at once
// (keyspaceIdleMemory). Like deleteExpiredKey it propagates a DEL (to
// replicas and the backlog), signals the key as modified (WATCH, client
// tracking) and fires the keyspace event, here `evicted` of class e.
func (s *Server) evictKey(dbNum int, key string) int64 {
	db := s.Keyspace.DBs[dbNum]
	var size int64
	if !db.IsCompact(key) {
		v, ok := db.Peek(key)
		if !ok {
			return 0
		}
		size = store.MemoryUsage(key, v, evictionSizeSamples)
		if _, has := db.ExpireAt(key); has {
			size += expireEntrySize
		}
	}
	kb := []byte(key)
	db.Delete(key)
	s.stats.EvictedKeys++
	s.notifyKeyspaceEvent(NotifyEvicted, "evicted", kb, dbNum)
	s.signalModifiedKey(dbNum, kb)
	s.propagate(dbNum, [][]byte{[]byte("DEL"), kb})
	s.Dirty++
	return size
}

const (
	// evictionSizeSamples is how many elements of a big container the
	// size estimate measures before extrapolating (MEMORY USAGE's default).
	evictionSizeSamples = 5
	// expireEntrySize is the expires dict entry a key with a TTL also
	// frees in Redis (a dictEntry of 24 bytes).
	expireEntrySize = 24
)

// ------ GO HEAP LIMIT ------

// applyMemoryLimit makes the Go collector keep the heap near the live data
// when maxmemory is set, so the sampled figure eviction works from is not
// mostly garbage: the runtime's soft limit is maxmemory plus a margin for
// what Redis does not count (buffers, runtime overhead). maxmemory 0 lifts
// the limit again.
func applyMemoryLimit(maxmem int64) {
	if maxmem <= 0 {
		debug.SetMemoryLimit(math.MaxInt64)
		return
	}
	limit := maxmem + maxmem/4 + memoryLimitMargin
	if limit < maxmem { // overflow
		limit = math.MaxInt64
	}
	debug.SetMemoryLimit(limit)
}

// memoryLimitMargin keeps a small maxmemory from making the collector run
// continuously on the runtime's own memory (stacks, metadata, buffers).
const memoryLimitMargin = 4 << 20

var heapLiveSamples = []metrics.Sample{
	{Name: "/gc/cycles/total:gc-cycles"},
	{Name: "/gc/heap/live:bytes"},
	{Name: "/gc/heap/allocs:bytes"},
}

// heapReading is what eviction reads of the collector at one moment.
type heapReading struct {
	cycles uint64 // collections completed
	live   int64  // heap bytes the last one found live
	allocs uint64 // heap bytes allocated since the process started
}

// readHeapLive reads the collector's counters (the Server's heapLive).
func readHeapLive() heapReading {
	metrics.Read(heapLiveSamples)
	var h heapReading
	if v := heapLiveSamples[0].Value; v.Kind() == metrics.KindUint64 {
		h.cycles = v.Uint64()
	}
	if v := heapLiveSamples[1].Value; v.Kind() == metrics.KindUint64 {
		h.live = int64(v.Uint64())
	}
	if v := heapLiveSamples[2].Value; v.Kind() == metrics.KindUint64 {
		h.allocs = v.Uint64()
	}
	return h
}
