package store

import (
	"crypto/sha1"
	"encoding/binary"
	"math"
	"strconv"
)

// This file computes DEBUG DIGEST and DEBUG DIGEST-VALUE exactly as Redis
// 7.0's debug.c does, so a replnode node and a real redis-server holding the
// same data report the same 40 hex digits.
//
// Two primitives build every digest: xorDigest folds the SHA1 of some bytes
// into a 20-byte accumulator (order independent, for unordered members),
// mixDigest does the same and then replaces the accumulator with its own
// SHA1 (order dependent, for sequences).

// Digest is a 20-byte DEBUG DIGEST value.
type Digest [20]byte

// xor folds SHA1(p) into d.
func (d *Digest) xor(p []byte) {
	h := sha1.Sum(p)
	for i := range d {
		d[i] ^= h[i]
	}
}

// mix folds SHA1(p) into d, then hashes d itself.
func (d *Digest) mix(p []byte) {
	d.xor(p)
	*d = sha1.Sum(d[:])
}

// DatasetDigest is DEBUG DIGEST over every database of ks: all zeros when
// the keyspace is empty. Logically expired keys still present count, as in
// Redis (which computes the digest without expiring keys).
func DatasetDigest(ks *Keyspace) Digest {
	var final Digest
	for i, db := range ks.DBs {
		if db.Len() == 0 {
			continue
		}
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(i))
		final.mix(n[:])
		db.ForEach(func(key string, v Value, _ int64, hasExpire bool) bool {
			var d Digest
			d.mix([]byte(key))
			d.xorValue(v, hasExpire)
			final.xor(d[:])
			return true
		})
	}
	return final
}

// ValueDigest is DEBUG DIGEST-VALUE for one key: the digest of its type,
// content and whether it has an expiry, without the key name. A missing key
// gives all zeros.
func ValueDigest(db *DB, key string) Digest {
	var d Digest
	v, ok := db.Peek(key)
	if !ok {
		return d
	}
	_, hasExpire := db.ExpireAt(key)
	d.xorValue(v, hasExpire)
	return d
}

// xorValue folds a value into d as xorObjectDigest does.
func (d *Digest) xorValue(v Value, hasExpire bool) {
	var t [4]byte
	binary.BigEndian.PutUint32(t[:], uint32(v.Kind()))
	d.mix(t[:])
	switch v := v.(type) {
	case *String:
		d.mix(v.B)
	case *List:
		v.Range(func(elem []byte) bool { d.mix(elem); return true })
	case *Set:
		v.Range(func(m []byte) bool { d.xor(m); return true })
	case *ZSet:
		v.Range(func(m []byte, score float64) bool {
			var e Digest
			e.mix(m)
			e.mix(formatDigestScore(score))
			d.xor(e[:])
			return true
		})
	case *Hash:
		v.Range(func(f, val []byte) bool {
			var e Digest
			e.mix(f)
			e.mix(val)
			d.xor(e[:])
			return true
		})
	case *Stream:
		// debug.c mixes each entry's "<ms>.<seq>" then its fields and
		// values in order; groups do not count.
		v.Range(StreamID{}, MaxStreamID, false, func(id StreamID, fv [][]byte) bool {
			b := strconv.AppendUint(nil, id.Ms, 10)
			b = append(b, '.')
			b = strconv.AppendUint(b, id.Seq, 10)
			d.mix(b)
			for _, x := range fv {
				d.mix(x)
			}
			return true
		})
	}
	if hasExpire {
		d.xor([]byte("!!expire!!"))
	}
}

// formatDigestScore spells a score as C's printf("%.17g") does, which is
// what Redis 7.0 hashes.
func formatDigestScore(f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return []byte("inf")
	case math.IsInf(f, -1):
		return []byte("-inf")
	case math.IsNaN(f):
		return []byte("nan")
	}
	// strconv's 'g' with precision 17 matches C's %.17g: same switch to
	// exponent form, trailing zeros dropped, two-digit exponents.
	return strconv.AppendFloat(nil, f, 'g', 17, 64)
}

// String returns the digest in lowercase hex, as DEBUG DIGEST replies.
func (d Digest) String() string {
	const hex = "0123456789abcdef"
	out := make([]byte, 40)
	for i, c := range d {
		out[2*i], out[2*i+1] = hex[c>>4], hex[c&15]
	}
	return string(out)
}
