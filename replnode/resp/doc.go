// Package resp owns the Redis serialization protocol, RESP2 and RESP3: a
// request parser that works on byte slices with no I/O (it reports whether a
// whole command is present and how many bytes it used) and a reply writer
// that encodes replies for either protocol version into a buffer.
//
// It must not read or write sockets, allocate from untrusted length prefixes
// before they are checked against the configured limits, or know about
// commands.
package resp
