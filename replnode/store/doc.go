// Package store owns the keyspace: numbered databases mapping keys to typed
// values (string, list, hash, set, sorted set, stream), their expiry times, and the
// copy-on-write snapshots that let BGSAVE and full sync read a frozen view
// while clients keep writing. It also models how many bytes Redis 7.0 would
// spend on a value (MemoryUsage, for MEMORY USAGE).
//
// It owns the keyspace's memory layout too (db.go, arena.go): keys and
// strings of up to about 4 KiB live in pointer-free slabs and entry pages
// the garbage collector never walks, other values are Go objects
// referenced by index. Small hashes, sorted sets, lists and intsets keep
// their elements packed in one pointer-free byte slice each (packed.go, as
// Redis's listpack and intset), converting where Redis converts. Code
// outside sees only keys, Values and element bytes, never positions,
// records or packed layouts. A snapshot shares the entry pages and their
// expiry maps, which the DB copies one page at a time when it first writes
// them (a fork's copy-on-write): taking one costs no copy of the keyspace.
//
// It must not do I/O, start goroutines, read the wall clock or know about the
// wire protocol: time comes in as unix milliseconds from the caller, and
// decisions that need propagation (an expired key becomes a DEL in the
// replication stream) are reported to the caller, never acted on here.
package store
