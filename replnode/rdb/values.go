package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/replnode/replnode/replnode/store"
)

// This file turns the value bodies of every RDB type code into store values.
// Aggregates are rebuilt through the store API, so the loaded value takes
// the encoding the current limits give it, as Redis converts on load.

// value reads the body of a value of type t. It returns nil for an empty
// aggregate.
func (d *decoder) value(start int64, t byte) (store.Value, error) {
	switch t {
	case typeString:
		if d.h.Transient {
			b, err := d.stringInto(&d.valBuf)
			if err != nil {
				return nil, err
			}
			d.str = store.String{B: b}
			return &d.str, nil
		}
		b, err := d.string()
		if err != nil {
			return nil, err
		}
		return store.NewString(b), nil
	case typeList:
		return d.plainList()
	case typeListZiplist:
		blob, err := d.blob(start, "ziplist", parseZiplist)
		if err != nil {
			return nil, err
		}
		return listOf(blob), nil
	case typeListQuicklist, typeListQuicklist2:
		return d.quicklist(start, t == typeListQuicklist2)
	case typeSet:
		return d.plainSet(start)
	case typeSetIntset:
		return d.intsetSet(start)
	case typeZSet, typeZSet2:
		return d.plainZSet(start, t == typeZSet2)
	case typeZSetZiplist:
		pairs, err := d.blob(start, "ziplist", parseZiplist)
		if err != nil {
			return nil, err
		}
		return d.zsetOf(start, pairs)
	case typeZSetListpack:
		pairs, err := d.blob(start, "listpack", parseListpack)
		if err != nil {
			return nil, err
		}
		return d.zsetOf(start, pairs)
	case typeHash:
		return d.plainHash(start)
	case typeHashZipmap:
		pairs, err := d.blob(start, "zipmap", parseZipmap)
		if err != nil {
			return nil, err
		}
		return d.hashOf(start, pairs)
	case typeHashZiplist:
		pairs, err := d.blob(start, "ziplist", parseZiplist)
		if err != nil {
			return nil, err
		}
		return d.hashOf(start, pairs)
	case typeHashListpack:
		pairs, err := d.blob(start, "listpack", parseListpack)
		if err != nil {
			return nil, err
		}
		return d.hashOf(start, pairs)
	case typeModule, typeModule2:
		return nil, d.fail(start, "module values are not supported (value type %d needs a Redis module)", t)
	case typeStreamListpacks, typeStreamListpacks2:
		return d.stream(start, t == typeStreamListpacks2)
	}
	return nil, d.fail(start, "unknown value type %d", t)
}

// blob reads a string holding a packed encoding and parses it.
func (d *decoder) blob(start int64, what string, parse func([]byte) ([][]byte, error)) ([][]byte, error) {
	off := d.off
	b, err := d.string()
	if err != nil {
		return nil, err
	}
	out, err := parse(b)
	if err != nil {
		return nil, d.fail(off, "corrupt %s: %v", what, err)
	}
	return out, nil
}

// ---------------------------------------------------------------- lists

// listOf builds a list from elements; nil if there are none.
func listOf(elems [][]byte) store.Value {
	if len(elems) == 0 {
		return nil
	}
	l := store.NewList()
	for _, e := range elems {
		l.PushBack(e)
	}
	return l
}

// plainList reads the old linked-list encoding: a count and strings.
func (d *decoder) plainList() (store.Value, error) {
	n, err := d.count()
	if err != nil {
		return nil, err
	}
	l := store.NewList()
	for i := 0; i < n; i++ {
		b, err := d.string()
		if err != nil {
			return nil, err
		}
		l.PushBack(b)
	}
	if n == 0 {
		return nil, nil
	}
	return l, nil
}

// quicklist reads a quicklist: v1 nodes are ziplists, v2 nodes carry a
// container kind (a packed listpack or one plain element).
func (d *decoder) quicklist(start int64, v2 bool) (store.Value, error) {
	nodes, err := d.count()
	if err != nil {
		return nil, err
	}
	l := store.NewList()
	for i := 0; i < nodes; i++ {
		container := uint64(quicklistNodePacked)
		if v2 {
			off := d.off
			if container, err = d.plainLength(); err != nil {
				return nil, err
			}
			if container != quicklistNodePacked && container != quicklistNodePlain {
				return nil, d.fail(off, "quicklist node %d has unknown container %d", i, container)
			}
		}
		if container == quicklistNodePlain {
			b, err := d.string()
			if err != nil {
				return nil, err
			}
			l.PushBack(b)
			continue
		}
		var elems [][]byte
		if v2 {
			elems, err = d.blob(start, "listpack", parseListpack)
		} else {
			elems, err = d.blob(start, "ziplist", parseZiplist)
		}
		if err != nil {
			return nil, err
		}
		// Empty nodes are skipped silently, as Redis 7.0 does; a list left
		// empty is then skipped as an empty key.
		for _, e := range elems {
			l.PushBack(e)
		}
	}
	if l.Len() == 0 {
		return nil, nil
	}
	return l, nil
}

// ---------------------------------------------------------------- sets

// plainSet reads a count and member strings.
func (d *decoder) plainSet(start int64) (store.Value, error) {
	n, err := d.count()
	if err != nil {
		return nil, err
	}
	s := d.h.Limits.NewSet()
	for i := 0; i < n; i++ {
		off := d.off
		m, err := d.string()
		if err != nil {
			return nil, err
		}
		if !s.Add(m) {
			return nil, d.fail(off, "duplicate set member %q", m)
		}
	}
	if n == 0 {
		return nil, nil
	}
	return s, nil
}

// intsetSet reads an intset blob.
func (d *decoder) intsetSet(start int64) (store.Value, error) {
	off := d.off
	b, err := d.string()
	if err != nil {
		return nil, err
	}
	ints, err := parseIntset(b)
	if err != nil {
		return nil, d.fail(off, "corrupt intset: %v", err)
	}
	if len(ints) == 0 {
		return nil, nil
	}
	s := d.h.Limits.NewSet()
	for _, n := range ints {
		s.Add(strconv.AppendInt(nil, n, 10))
	}
	return s, nil
}

// setOf builds a set from members, refusing duplicates.
func (d *decoder) setOf(start int64, members [][]byte) (store.Value, error) {
	if len(members) == 0 {
		return nil, nil
	}
	s := d.h.Limits.NewSet()
	for _, m := range members {
		if !s.Add(m) {
			return nil, d.fail(start, "duplicate set member %q", m)
		}
	}
	return s, nil
}

// ---------------------------------------------------------------- sorted sets

// plainZSet reads a count and member/score pairs; zset2 scores are binary
// doubles, older ones are strings.
func (d *decoder) plainZSet(start int64, binaryScores bool) (store.Value, error) {
	n, err := d.count()
	if err != nil {
		return nil, err
	}
	z := d.h.Limits.NewZSetSized(n, 0)
	for i := 0; i < n; i++ {
		off := d.off
		m, err := d.string()
		if err != nil {
			return nil, err
		}
		var score float64
		if binaryScores {
			var b [8]byte
			if err := d.read(b[:]); err != nil {
				return nil, err
			}
			score = math.Float64frombits(binary.LittleEndian.Uint64(b[:]))
		} else if score, err = d.stringDouble(); err != nil {
			return nil, err
		}
		if math.IsNaN(score) {
			return nil, d.fail(off, "sorted set member %q has a NaN score", m)
		}
		if !z.Add(m, score) {
			return nil, d.fail(off, "duplicate sorted set member %q", m)
		}
	}
	if n == 0 {
		return nil, nil
	}
	z.ShrinkIfSmall()
	return z, nil
}

// stringDouble reads a double in the old string form: one length byte
// (253 NaN, 254 +inf, 255 -inf) then ASCII.
func (d *decoder) stringDouble() (float64, error) {
	off := d.off
	l, err := d.byte()
	if err != nil {
		return 0, err
	}
	switch l {
	case doubleNaN:
		return math.NaN(), nil
	case doublePosInf:
		return math.Inf(1), nil
	case doubleNegInf:
		return math.Inf(-1), nil
	}
	b := make([]byte, l)
	if err := d.read(b); err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, d.fail(off, "bad double value %q", b)
	}
	return f, nil
}

// zsetOf builds a sorted set from alternating member and score entries.
func (d *decoder) zsetOf(start int64, pairs [][]byte) (store.Value, error) {
	if len(pairs)%2 != 0 {
		return nil, d.fail(start, "sorted set blob has an odd number of entries (%d)", len(pairs))
	}
	if len(pairs) == 0 {
		return nil, nil
	}
	z := d.h.Limits.NewZSet()
	for i := 0; i < len(pairs); i += 2 {
		score, err := parseScore(pairs[i+1])
		if err != nil {
			return nil, d.fail(start, "member %q: %v", pairs[i], err)
		}
		if !z.Add(pairs[i], score) {
			return nil, d.fail(start, "duplicate sorted set member %q", pairs[i])
		}
	}
	return z, nil
}

// parseScore reads a score as stored in a listpack or ziplist the way
// Redis's zzlStrtod does: strtod on at most 127 bytes, which takes the
// longest numeric prefix ("1.5abc" is 1.5) and 0 when there is none. A NaN
// is refused: it would break the order of the set.
func parseScore(b []byte) (float64, error) {
	if len(b) > 127 {
		b = b[:127]
	}
	f, err := strconv.ParseFloat(strtodPrefix(b), 64)
	if err != nil && !isRangeErr(err) || math.IsNaN(f) {
		return 0, fmt.Errorf("bad score %q", b)
	}
	return f, nil
}

// strtodPrefix returns the prefix of b that C's strtod would convert
// (leading white space skipped, sign, digits, fraction, exponent, inf,
// infinity, nan, hexadecimal), spelled so strconv.ParseFloat reads it; "0"
// when strtod converts nothing.
func strtodPrefix(b []byte) string {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] >= '\t' && b[i] <= '\r') {
		i++
	}
	b = b[i:]
	sign := ""
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		sign, b = string(b[0]), b[1:]
	}
	lower := strings.ToLower(string(b[:min(len(b), 8)]))
	switch {
	case strings.HasPrefix(lower, "inf"):
		return sign + "inf"
	case strings.HasPrefix(lower, "nan"):
		return "nan"
	}
	hex := len(b) > 2 && b[0] == '0' && (b[1] == 'x' || b[1] == 'X')
	digit := func(c byte) bool {
		return c >= '0' && c <= '9' || hex && (c|0x20 >= 'a' && c|0x20 <= 'f')
	}
	n, start, digits := 0, 0, 0
	if hex {
		n, start = 2, 2
	}
	for n < len(b) && digit(b[n]) {
		n, digits = n+1, digits+1
	}
	if n < len(b) && b[n] == '.' {
		n++
		for n < len(b) && digit(b[n]) {
			n, digits = n+1, digits+1
		}
	}
	if digits == 0 {
		if hex {
			return sign + "0" // "0x" alone: strtod reads the 0
		}
		return "0"
	}
	mant := string(b[start:n])
	exp := ""
	if n < len(b) && (hex && (b[n]|0x20) == 'p' || !hex && (b[n]|0x20) == 'e') {
		e := n + 1
		if e < len(b) && (b[e] == '+' || b[e] == '-') {
			e++
		}
		if e < len(b) && b[e] >= '0' && b[e] <= '9' {
			for e < len(b) && b[e] >= '0' && b[e] <= '9' {
				e++
			}
			exp = string(b[n:e])
		}
	}
	if hex {
		if exp == "" {
			exp = "p0"
		}
		return sign + "0x" + mant + exp
	}
	return sign + mant + exp
}

// isRangeErr reports a ParseFloat overflow, which strtod turns into ±inf
// just as ParseFloat does.
func isRangeErr(err error) bool {
	// *strconv.NumError unwraps to its cause, so errors.Is sees ErrRange.
	return errors.Is(err, strconv.ErrRange)
}

// ---------------------------------------------------------------- hashes

// plainHash reads a count and field/value pairs.
func (d *decoder) plainHash(start int64) (store.Value, error) {
	n, err := d.count()
	if err != nil {
		return nil, err
	}
	h := d.h.Limits.NewHash()
	for i := 0; i < n; i++ {
		off := d.off
		f, err := d.string()
		if err != nil {
			return nil, err
		}
		v, err := d.string()
		if err != nil {
			return nil, err
		}
		if !h.Set(f, v) {
			return nil, d.fail(off, "duplicate hash field %q", f)
		}
	}
	if n == 0 {
		return nil, nil
	}
	return h, nil
}

// hashOf builds a hash from alternating field and value entries.
func (d *decoder) hashOf(start int64, pairs [][]byte) (store.Value, error) {
	if len(pairs)%2 != 0 {
		return nil, d.fail(start, "hash blob has an odd number of entries (%d)", len(pairs))
	}
	if len(pairs) == 0 {
		return nil, nil
	}
	h := d.h.Limits.NewHash()
	for i := 0; i < len(pairs); i += 2 {
		if !h.Set(pairs[i], pairs[i+1]) {
			return nil, d.fail(start, "duplicate hash field %q", pairs[i])
		}
	}
	return h, nil
}

// ---------------------------------------------------------------- streams

// stream reads RDB_TYPE_STREAM_LISTPACKS (v2 false: Redis 5 and 6, whose
// counters 7.0 derives on load) or RDB_TYPE_STREAM_LISTPACKS_2 (7.0), with
// the checks rdbLoadObject makes.
func (d *decoder) stream(start int64, v2 bool) (store.Value, error) {
	s := store.NewStream()
	nodes, err := d.plainLength()
	if err != nil {
		return nil, err
	}
	for ; nodes > 0; nodes-- {
		off := d.off
		key, err := d.string()
		if err != nil {
			return nil, err
		}
		if len(key) != 16 {
			return nil, d.fail(off, "stream node key entry is not the size of a stream ID")
		}
		off = d.off
		elems, err := d.blob(off, "listpack", parseListpack)
		if err != nil {
			return nil, err
		}
		if len(elems) == 0 {
			return nil, d.fail(off, "empty listpack inside stream")
		}
		if _, err := s.AppendRawNode(store.DecodeStreamID(key), elems); err != nil {
			return nil, d.fail(off, "stream node: %v", err)
		}
	}
	var n [8]uint64
	count := 3
	if v2 {
		count = 8
	}
	for i := 0; i < count; i++ {
		if n[i], err = d.plainLength(); err != nil {
			return nil, err
		}
	}
	s.SetLength(n[0])
	s.LastID = store.StreamID{Ms: n[1], Seq: n[2]}
	if v2 {
		s.FirstID = store.StreamID{Ms: n[3], Seq: n[4]}
		s.MaxDeletedID = store.StreamID{Ms: n[5], Seq: n[6]}
		s.EntriesAdded = n[7]
	} else {
		s.EntriesAdded = n[0]
		s.FirstID = s.EdgeID(true, true)
	}
	if s.Len() != 0 && s.NodeCount() == 0 {
		return nil, d.fail(start, "stream length inconsistent with rax entries")
	}
	groups, err := d.plainLength()
	if err != nil {
		return nil, err
	}
	for ; groups > 0; groups-- {
		off := d.off
		name, err := d.string()
		if err != nil {
			return nil, err
		}
		var id store.StreamID
		if id.Ms, err = d.plainLength(); err != nil {
			return nil, err
		}
		if id.Seq, err = d.plainLength(); err != nil {
			return nil, err
		}
		var entriesRead int64
		if v2 {
			v, err := d.plainLength()
			if err != nil {
				return nil, err
			}
			entriesRead = int64(v)
		} else {
			entriesRead = s.EstimateDistance(id)
		}
		g := s.CreateGroup(name, id, entriesRead)
		if g == nil {
			return nil, d.fail(off, "duplicated consumer group name %q", name)
		}
		pel, err := d.plainLength()
		if err != nil {
			return nil, err
		}
		for ; pel > 0; pel-- {
			off := d.off
			raw, err := d.bytes(16)
			if err != nil {
				return nil, err
			}
			var t [8]byte
			if err := d.read(t[:]); err != nil {
				return nil, err
			}
			cnt, err := d.plainLength()
			if err != nil {
				return nil, err
			}
			nack := &store.PendingEntry{DeliveryTime: int64(binary.LittleEndian.Uint64(t[:])), DeliveryCount: cnt}
			if !g.PEL.Insert(store.DecodeStreamID(raw), nack) {
				return nil, d.fail(off, "duplicated global PEL entry loading stream consumer group")
			}
		}
		consumers, err := d.plainLength()
		if err != nil {
			return nil, err
		}
		for ; consumers > 0; consumers-- {
			off := d.off
			cname, err := d.string()
			if err != nil {
				return nil, err
			}
			var t [8]byte
			if err := d.read(t[:]); err != nil {
				return nil, err
			}
			c := g.CreateConsumer(cname, int64(binary.LittleEndian.Uint64(t[:])))
			if c == nil {
				return nil, d.fail(off, "duplicate stream consumer detected")
			}
			npel, err := d.plainLength()
			if err != nil {
				return nil, err
			}
			for ; npel > 0; npel-- {
				off := d.off
				raw, err := d.bytes(16)
				if err != nil {
					return nil, err
				}
				id := store.DecodeStreamID(raw)
				nack, ok := g.PEL.Get(id)
				if !ok {
					return nil, d.fail(off, "consumer entry not found in group global PEL")
				}
				if !c.PEL.Insert(id, nack) || nack.Consumer != nil {
					return nil, d.fail(off, "duplicated consumer PEL entry loading a stream consumer group")
				}
				nack.Consumer = c
			}
		}
		orphan := false
		g.PEL.Ascend(func(_ store.StreamID, nack *store.PendingEntry) bool {
			orphan = nack.Consumer == nil
			return !orphan
		})
		if orphan {
			return nil, d.fail(off, "stream group PEL entry without a consumer")
		}
	}
	return s, nil
}
