package store

import (
	"bytes"
	"testing"
)

// TestHashOverwriteInPlace overwrites fields of a hashtable-encoded hash
// with values of the same, smaller and larger sizes (the same size reuses
// the old value's buffer) and checks that no other holder of the old bytes
// sees the change: a clone taken before (as a snapshot's copy-on-write
// makes), another field, and a value read before the overwrite only
// changes as documented (valid until the hash is next modified).
func TestHashOverwriteInPlace(t *testing.T) {
	h := NewHash()
	a, b := bytes.Repeat([]byte("a"), 1024), bytes.Repeat([]byte("b"), 1024)
	h.Set([]byte("f"), a)
	h.Set([]byte("g"), a)
	if h.Encoding() != "hashtable" {
		t.Fatalf("a 1 KiB value must make a hashtable, got %s", h.Encoding())
	}
	clone := h.Clone().(*Hash)
	a[0] = 'X' // the hash copied the caller's buffer
	for i, want := range [][]byte{b, bytes.Repeat([]byte("c"), 1000), []byte("d"), bytes.Repeat([]byte("e"), 3000), b} {
		if h.Set([]byte("f"), want) {
			t.Fatalf("overwrite %d reported a new field", i)
		}
		if got, _ := h.Get([]byte("f")); !bytes.Equal(got, want) {
			t.Fatalf("overwrite %d: got %d bytes %.8q, want %d bytes %.8q", i, len(got), got, len(want), want)
		}
		if got, _ := h.Get([]byte("g")); !bytes.Equal(got, bytes.Repeat([]byte("a"), 1024)) {
			t.Fatalf("overwrite %d of f changed g", i)
		}
		if got, _ := clone.Get([]byte("f")); !bytes.Equal(got, bytes.Repeat([]byte("a"), 1024)) {
			t.Fatalf("overwrite %d changed a clone", i)
		}
	}
	if h.Len() != 2 {
		t.Fatalf("Len %d after overwrites, want 2", h.Len())
	}
	// A much smaller value must not keep the big buffer alive.
	h.Set([]byte("f"), []byte("tiny"))
	if v, _ := h.Get([]byte("f")); cap(v) > 64 {
		t.Fatalf("a 4-byte value kept a %d-byte buffer", cap(v))
	}
}
