package store

import (
	"encoding/binary"
	"slices"
)

// ---------------------------------------------------------------- packed

// packed is the listpack-like form of a small hash or sorted set: its
// entries back to back in one byte slice, each a byte string written as its
// length (uvarint) followed by its bytes. The slice holds no pointers, so
// the garbage collector never scans its contents, and a value costs one
// allocation instead of one per element plus a table. Lookups are linear
// scans, as in Redis's listpack; the types only keep this form while they
// are within the *-max-listpack-* limits (at most a few hundred entries of
// at most 64 bytes by default).
//
// The entry layout is private to this package: RDB encodes values through
// the types' Range methods, never these bytes.

// packedEntry returns the byte string at off and the offset just past it.
// The result shares p's memory. It is small enough to be inlined into the
// scans: it is their whole cost.
func packedEntry(p []byte, off int) (b []byte, next int) {
	n := 0
	for shift := 0; ; shift += 7 {
		c := p[off]
		off++
		n |= int(c&0x7f) << shift
		if c < 0x80 {
			break
		}
	}
	next = off + n
	return p[off:next:next], next
}

// sameBytes is a == b for the scans: it compares the last bytes before
// calling memequal, since keys that share a prefix ("field:1", "field:2")
// usually differ at the end and most entries a scan visits are not a match.
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || a[len(a)-1] == b[len(b)-1]) && string(a) == string(b)
}

// appendPacked appends b as one entry.
func appendPacked(p, b []byte) []byte {
	p = binary.AppendUvarint(p, uint64(len(b)))
	return append(p, b...)
}

// packedSize is the number of bytes appendPacked adds for b.
func packedSize(b []byte) int {
	return uvarintLen(len(b)) + len(b)
}

// replaceRange replaces p[from:to] with n bytes left for the caller to
// write, in place when the slice has room, and returns the result. The
// caller must own p (a value's packed bytes are never shared between values:
// Clone copies them).
func replaceRange(p []byte, from, to, n int) []byte {
	delta := n - (to - from)
	switch {
	case delta == 0:
	case delta < 0:
		copy(p[from+n:], p[to:])
		p = p[:len(p)+delta]
	case len(p)+delta <= cap(p):
		p = p[:len(p)+delta]
		copy(p[to+delta:], p[to:len(p)-delta])
	default:
		np := newPacked(len(p) + delta)
		copy(np, p[:from])
		copy(np[from+n:], p[to:])
		return np
	}
	return p
}

// writePacked writes b as one entry at the start of dst, which must have
// packedSize(b) bytes.
func writePacked(dst, b []byte) {
	w := binary.PutUvarint(dst, uint64(len(b)))
	copy(dst[w:], b)
}

// reservePacked returns p with room for n more bytes, growing it by
// newPacked rather than append's doubling: a small collection is built by
// appends and then kept, so the spare capacity is memory paid per key.
func reservePacked(p []byte, n int) []byte {
	if len(p)+n <= cap(p) {
		return p
	}
	np := newPacked(len(p) + n)
	copy(np, p)
	return np[:len(p)]
}

// newPacked allocates a packed slice of length n with room to grow: an
// eighth more, rounded up to the allocator's size class (which the
// allocation occupies anyway), so a run of small appends copies the slice
// every few entries rather than on each, while a value built once wastes
// little. Redis reallocates its listpacks on every insert.
func newPacked(n int) []byte { return slices.Grow([]byte(nil), n+n/8)[:n] }

// trimPacked returns p with its spare capacity released when that spare is
// more than half of it, after removals.
func trimPacked(p []byte) []byte {
	if cap(p)-len(p) > cap(p)/2 && cap(p) > 64 {
		return append([]byte(nil), p...)
	}
	return p
}
