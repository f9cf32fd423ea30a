package store

import (
	"bytes"
	"math/rand/v2"
)

// ---------------------------------------------------------------- hashes

// Hash is a Redis hash. While small (HashMaxListpackEntries fields, each field
// and value within HashMaxListpackValue bytes, see Limits) it is
// "listpack" encoded: the fields and values are packed into one byte slice
// (see packed) in insertion order (an overwritten field keeps its place, a
// deleted one closes the gap), so HGETALL and HSCAN answer in the same order
// as Redis. Beyond that it converts, for good, to "hashtable", whose order is
// unspecified, as in Redis.
type Hash struct {
	lp  []byte         // listpack form: field, value, field, value, ...
	n   int            // fields in lp
	ht  *table[[]byte] // hashtable form; nil while listpack
	lim *Limits        // nil: DefaultLimits
}

// NewHash returns an empty, listpack-encoded hash with DefaultLimits; a node
// creates its hashes with its own Limits.NewHash.
func NewHash() *Hash { return &Hash{} }

// Kind reports KindHash.
func (*Hash) Kind() Kind { return KindHash }

// Encoding is "listpack" or "hashtable" (see Hash).
func (h *Hash) Encoding() string {
	if h.ht != nil {
		return "hashtable"
	}
	return "listpack"
}

// Clone returns a deep copy with the same encoding and order.
func (h *Hash) Clone() Value {
	c := &Hash{n: h.n, lim: h.lim}
	if h.ht != nil {
		t := h.ht.clone(func(v []byte) []byte { return append([]byte(nil), v...) })
		c.ht = &t
	} else if len(h.lp) > 0 {
		c.lp = append(make([]byte, 0, len(h.lp)), h.lp...)
	}
	return c
}

// Len is the number of fields.
func (h *Hash) Len() int {
	if h.ht != nil {
		return h.ht.len()
	}
	return h.n
}

// Set sets field to value and reports whether the field is new. Both are
// copied: the caller may reuse its buffers.
func (h *Hash) Set(field, value []byte) bool {
	if h.ht == nil {
		lim := h.lim.get()
		if len(field) > lim.HashMaxListpackValue || len(value) > lim.HashMaxListpackValue {
			h.convert()
		} else if _, vOff, vEnd := h.find(field); vOff >= 0 {
			h.lp = replaceRange(h.lp, vOff, vEnd, packedSize(value))
			writePacked(h.lp[vOff:], value)
			return false
		} else if h.n+1 > lim.HashMaxListpackEntries {
			h.convert()
		} else {
			h.lp = reservePacked(h.lp, packedSize(field)+packedSize(value))
			h.lp = appendPacked(appendPacked(h.lp, field), value)
			h.n++
			return true
		}
	}
	if i := h.ht.findBytes(field); i >= 0 {
		e := &h.ht.entries[i]
		e.val = overwriteValue(e.val, value)
		return false
	}
	h.ht.insert(string(field), bytes.Clone(value))
	return true
}

// overwriteValue returns value's bytes in old's buffer when they fit without
// wasting more than a quarter of it (HSET overwriting a field with a value
// of the same size, as redis-benchmark's HSET does, then allocates nothing),
// else in a fresh copy. It is safe because every value in a table owns its
// buffer (Set, convert and Clone all copy), and readers only hold a value
// until the hash is next modified (see Get).
func overwriteValue(old, value []byte) []byte {
	if len(value) <= cap(old) && cap(old)-len(value) <= cap(old)/4 {
		return append(old[:0], value...)
	}
	return bytes.Clone(value)
}

// find returns where field's entry starts and where its value's entry starts
// and ends in lp, or -1s.
func (h *Hash) find(field []byte) (fOff, vOff, vEnd int) {
	p := h.lp
	for off := 0; off < len(p); {
		f, next := packedEntry(p, off)
		_, end := packedEntry(p, next)
		if sameBytes(f, field) {
			return off, next, end
		}
		off = end
	}
	return -1, -1, -1
}

// convert switches to the hashtable encoding for good, as Redis's
// hashTypeConvert does.
func (h *Hash) convert() {
	t := newTable[[]byte](h.n)
	h.Range(func(f, v []byte) bool {
		t.set(string(f), bytes.Clone(v))
		return true
	})
	h.ht, h.lp, h.n = &t, nil, 0
}

// ConvertIfNeeded converts to hashtable ahead of adding fields, as Redis's
// hashTypeTryConversion does when a command brings arguments longer than
// hash-max-listpack-value: a command that fails afterwards still leaves the
// hash converted.
func (h *Hash) ConvertIfNeeded(args [][]byte) {
	if h.ht != nil {
		return
	}
	maxLen := h.lim.get().HashMaxListpackValue
	for _, a := range args {
		if len(a) > maxLen {
			h.convert()
			return
		}
	}
}

// Get returns the value of field. The result shares the hash's memory: it is
// valid until the hash is next modified.
func (h *Hash) Get(field []byte) ([]byte, bool) {
	if h.ht != nil {
		return h.ht.get(string(field))
	}
	_, vOff, _ := h.find(field)
	if vOff < 0 {
		return nil, false
	}
	v, _ := packedEntry(h.lp, vOff)
	return v, true
}

// Delete removes field and reports whether it existed.
func (h *Hash) Delete(field []byte) bool {
	if h.ht != nil {
		return h.ht.remove(string(field))
	}
	fOff, _, vEnd := h.find(field)
	if fOff < 0 {
		return false
	}
	h.lp = trimPacked(replaceRange(h.lp, fOff, vEnd, 0))
	h.n--
	return true
}

// Range calls fn for each field and value, in the encoding's order, until fn
// returns false. The slices share the hash's memory and must not be kept
// past a modification.
func (h *Hash) Range(fn func(field, value []byte) bool) {
	if h.ht != nil {
		for _, e := range h.ht.entries {
			if !fn([]byte(e.key), e.val) {
				return
			}
		}
		return
	}
	for off := 0; off < len(h.lp); {
		f, next := packedEntry(h.lp, off)
		v, end := packedEntry(h.lp, next)
		if !fn(f, v) {
			return
		}
		off = end
	}
}

// Scan implements HSCAN's walk: a listpack hash is returned whole with next
// cursor 0, as Redis does; a hashtable visits about count fields per call
// with the guarantees described at table.scan.
func (h *Hash) Scan(cursor uint64, count int, fn func(field, value []byte)) uint64 {
	if h.ht == nil {
		h.Range(func(f, v []byte) bool { fn(f, v); return true })
		return 0
	}
	return h.ht.scan(cursor, count, func(k string, v []byte) { fn([]byte(k), v) })
}

// Random returns fields for HRANDFIELD with count (see RandomPositions for
// the meaning of its sign). The returned slices share the hash's memory.
func (h *Hash) Random(r *rand.Rand, count int64) (fields, values [][]byte) {
	picks := RandomPositions(r, h.Len(), count)
	if len(picks) == 0 {
		return nil, nil
	}
	if h.ht != nil {
		for _, p := range picks {
			e := h.ht.entries[p]
			fields = append(fields, []byte(e.key))
			values = append(values, e.val)
		}
		return fields, values
	}
	allF := make([][]byte, 0, h.n)
	allV := make([][]byte, 0, h.n)
	h.Range(func(f, v []byte) bool {
		allF, allV = append(allF, f), append(allV, v)
		return true
	})
	for _, p := range picks {
		fields = append(fields, allF[p])
		values = append(values, allV[p])
	}
	return fields, values
}
