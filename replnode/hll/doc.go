// Package hll is Redis 7.0's HyperLogLog (src/hyperloglog.c) over plain
// byte slices: an HLL is a Redis string whose bytes are a 16-byte header
// ("HYLL", encoding, 3 unused bytes, cached cardinality) followed by the
// sparse (run-length opcodes) or dense (16384 six-bit registers) register
// encoding. Every function produces the same bytes Redis would after the
// same operations, so HLLs move between replnode and redis-server through
// replication, RDB and DUMP/RESTORE unchanged.
//
// It must not do I/O or know about keys, clients or the wire protocol: the
// server layer looks the string up, calls in here and replies. Corrupt
// input is reported (ErrCorrupt, Valid), never trusted: no input makes a
// function panic or loop.
package hll
