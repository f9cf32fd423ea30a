// Package rdb owns the RDB snapshot format of Redis 7.0 (RDB version 10) and
// the older versions it loads (6–9): length and string encodings, LZF,
// listpack, ziplist, zipmap, intset and quicklist forms, streams (type 19,
// RDB_TYPE_STREAM_LISTPACKS_2, written as 7.0 writes it: the nodes'
// listpacks byte for byte, groups, PELs and consumers; type 15 of Redis 5
// and 6 read with the counters 7.0 derives; 7.2's type 21 refused), AUX
// fields, and the CRC64 trailer.
//
// One encoder writes to any io.Writer (a file, a replica socket, a DUMP
// payload) in large buffered writes, without allocating per key; one
// decoder reads from any io.Reader. The on-disk codes live in
// format.go and are never mixed with the in-memory types of package store.
// It must not open files, touch sockets or decide when to save.
//
// # API
//
//   - WriteSnapshot writes a whole file from store snapshots; Encoder writes
//     one piece at a time (Header, Aux, Function, SelectDB, ResizeDB, Entry,
//     Finish) for callers that need to interleave work.
//   - Load decodes a stream and reports AUX fields, keys, functions and
//     skipped items to a Handler; LoadKeyspace loads into a fresh
//     store.Keyspace (the one path of dump files, AOF preambles and a
//     replica's full sync: sized from RESIZEDB, a duplicate key refused, no
//     allocation per string key); ReadAux reads only the AUX fields
//     (repl-id, ...).
//   - DumpPayload and ParseDumpPayload are DUMP and RESTORE's format.
//
// Files: format.go (codes), encode.go, decode.go (stream and errors),
// values.go (value bodies to store values, streams included), blobs.go (listpack, ziplist,
// intset, zipmap parsers), lzf.go, crc64.go, dump.go (DUMP payloads and
// keyspace loading).
//
// Every error from the decoder is a *FormatError carrying the byte offset
// of the offending item; a length read from the input is checked before
// anything is allocated for it.
package rdb
