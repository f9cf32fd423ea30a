package store

// Kind is the Redis type of a value, as TYPE reports it.
type Kind uint8

const (
	KindString Kind = iota
	KindList
	KindSet
	KindZSet
	KindHash
	// KindStream is OBJ_STREAM (6: 5 is Redis's module type).
	KindStream Kind = 6
)

// String returns the name TYPE replies with.
func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindList:
		return "list"
	case KindSet:
		return "set"
	case KindZSet:
		return "zset"
	case KindHash:
		return "hash"
	case KindStream:
		return "stream"
	}
	return "none"
}

// Value is a value stored under a key.
//
// Values are mutated in place by command handlers, but only after the handler
// got them through DB.Mutable, which clones a value that a live snapshot
// still shares. That is the whole copy-on-write contract: never mutate a
// value obtained from Lookup or Peek.
type Value interface {
	// Kind is the Redis type.
	Kind() Kind
	// Encoding is what OBJECT ENCODING reports for the value as it is now
	// ("embstr", "int", "raw", "quicklist", "listpack", "intset",
	// "hashtable", "skiplist"), following Redis 7.0's thresholds.
	Encoding() string
	// Clone returns a deep copy that shares no mutable memory with the
	// receiver.
	Clone() Value
}
