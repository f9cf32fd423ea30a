package store

import "math/rand/v2"

// ---------------------------------------------------------------- hashes

// Hash is a Redis hash. While small (HashMaxListpackEntries fields, each field
// and value within HashMaxListpackValue bytes, see Limits) it is
// "listpack" encoded: fields keep insertion order (an overwritten field keeps
// its place, a deleted one closes the gap), so HGETALL and HSCAN answer in
// the same order as Redis. Beyond that it converts, for good, to
// "hashtable", whose order is unspecified, as in Redis.
type Hash struct {
	t   table[[]byte]
	lim *Limits // nil: DefaultLimits
}

// NewHash returns an empty, listpack-encoded hash with DefaultLimits; a node
// creates its hashes with its own Limits.NewHash.
func NewHash() *Hash { return &Hash{} }

// Kind reports KindHash.
func (*Hash) Kind() Kind { return KindHash }

// Encoding is "listpack" or "hashtable" (see Hash).
func (h *Hash) Encoding() string {
	if h.t.indexed() {
		return "hashtable"
	}
	return "listpack"
}

// Clone returns a deep copy with the same encoding and order.
func (h *Hash) Clone() Value {
	return &Hash{t: h.t.clone(func(v []byte) []byte { return append([]byte(nil), v...) }), lim: h.lim}
}

// Len is the number of fields.
func (h *Hash) Len() int { return h.t.len() }

// Set sets field to value and reports whether the field is new. value is kept
// without copying.
func (h *Hash) Set(field, value []byte) bool {
	if h.t.indexed() {
		return h.t.set(string(field), value)
	}
	lim := h.lim.get()
	if len(field) > lim.HashMaxListpackValue || len(value) > lim.HashMaxListpackValue {
		h.t.buildIndex()
	}
	added := h.t.set(string(field), value)
	if !h.t.indexed() && h.t.len() > lim.HashMaxListpackEntries {
		h.t.buildIndex()
	}
	return added
}

// ConvertIfNeeded converts to hashtable ahead of adding fields, as Redis's
// hashTypeTryConversion does when a command brings arguments longer than
// hash-max-listpack-value: a command that fails afterwards still leaves the
// hash converted.
func (h *Hash) ConvertIfNeeded(args [][]byte) {
	if h.t.indexed() {
		return
	}
	maxLen := h.lim.get().HashMaxListpackValue
	for _, a := range args {
		if len(a) > maxLen {
			h.t.buildIndex()
			return
		}
	}
}

// Get returns the value of field.
func (h *Hash) Get(field []byte) ([]byte, bool) { return h.t.get(string(field)) }

// Delete removes field and reports whether it existed.
func (h *Hash) Delete(field []byte) bool { return h.t.remove(string(field)) }

// Range calls fn for each field and value, in the encoding's order, until fn
// returns false.
func (h *Hash) Range(fn func(field, value []byte) bool) {
	for _, e := range h.t.entries {
		if !fn([]byte(e.key), e.val) {
			return
		}
	}
}

// Scan implements HSCAN's walk: a listpack hash is returned whole with next
// cursor 0, as Redis does; a hashtable visits about count fields per call
// with the guarantees described at table.scan.
func (h *Hash) Scan(cursor uint64, count int, fn func(field, value []byte)) uint64 {
	if !h.t.indexed() {
		h.Range(func(f, v []byte) bool { fn(f, v); return true })
		return 0
	}
	return h.t.scan(cursor, count, func(k string, v []byte) { fn([]byte(k), v) })
}

// Random returns fields for HRANDFIELD with count (see RandomPositions for
// the meaning of its sign). The returned slices share the hash's memory.
func (h *Hash) Random(r *rand.Rand, count int64) (fields, values [][]byte) {
	for _, p := range RandomPositions(r, h.t.len(), count) {
		e := h.t.entries[p]
		fields = append(fields, []byte(e.key))
		values = append(values, e.val)
	}
	return fields, values
}
