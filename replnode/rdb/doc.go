// Package rdb owns the RDB snapshot format of Redis 7.0 (RDB version 10) and
// the older versions it loads (6–9): length and string encodings, LZF,
// listpack, ziplist, zipmap, intset and quicklist forms, AUX fields, and the
// CRC64 trailer.
//
// One encoder writes to any io.Writer (a file, a replica socket, a DUMP
// payload); one decoder reads from any io.Reader. The on-disk codes live in
// format.go and are never mixed with the in-memory types of package store.
// It must not open files, touch sockets or decide when to save.
package rdb
