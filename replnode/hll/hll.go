package hll

import (
	"errors"
	"math"
)

// Sizes and limits of Redis's HLL (HLL_P = 14, HLL_BITS = 6).
const (
	HeaderSize  = 16
	P           = 14
	Q           = 64 - P
	Registers   = 1 << P
	pMask       = Registers - 1
	regBits     = 6
	registerMax = 1<<regBits - 1
	// DenseSize is the exact length of a dense HLL string.
	DenseSize = HeaderSize + (Registers*regBits+7)/8

	encDense  = 0
	encSparse = 1
	maxEnc    = encSparse

	sparseXZeroBit   = 0x40
	sparseValBit     = 0x80
	sparseValMaxVal  = 32
	sparseValMaxLen  = 4
	sparseZeroMaxLen = 64
	sparseXZeroMax   = 16384

	alphaInf = 0.721347520444481703680 // 0.5/ln(2)
)

// ErrCorrupt is Redis's invalid_hll_err: the registers are not a valid
// encoding (a sparse HLL that does not cover exactly 16384 registers).
var ErrCorrupt = errors.New("INVALIDOBJ Corrupted HLL object detected")

// overflow: a VAL opcode running past the last register makes the HLL
// corrupt even when the registers before it add up to 16384. The 7.0.15
// source merely stops there, but 7.0.15 as shipped with the CVE-2025-32023
// fix (the redis-server our differential tests run) reports the HLL
// corrupt, and that is the safer rule.

// murmurHash64A is Redis's endian-neutral MurmurHash2, 64-bit version.
func murmurHash64A(key []byte, seed uint64) uint64 {
	const m = 0xc6a4a7935bd1e995
	const r = 47
	n := len(key)
	h := seed ^ (uint64(n) * m)
	i := 0
	for ; i+8 <= n; i += 8 {
		k := uint64(key[i]) | uint64(key[i+1])<<8 | uint64(key[i+2])<<16 | uint64(key[i+3])<<24 |
			uint64(key[i+4])<<32 | uint64(key[i+5])<<40 | uint64(key[i+6])<<48 | uint64(key[i+7])<<56
		k *= m
		k ^= k >> r
		k *= m
		h ^= k
		h *= m
	}
	rest := key[i:]
	switch len(rest) {
	case 7:
		h ^= uint64(rest[6]) << 48
		fallthrough
	case 6:
		h ^= uint64(rest[5]) << 40
		fallthrough
	case 5:
		h ^= uint64(rest[4]) << 32
		fallthrough
	case 4:
		h ^= uint64(rest[3]) << 24
		fallthrough
	case 3:
		h ^= uint64(rest[2]) << 16
		fallthrough
	case 2:
		h ^= uint64(rest[1]) << 8
		fallthrough
	case 1:
		h ^= uint64(rest[0])
		h *= m
	}
	h ^= h >> r
	h *= m
	h ^= h >> r
	return h
}

// patLen returns the register an element hashes to and the length of the
// 000..1 pattern of the rest of its hash (hllPatLen).
func patLen(ele []byte) (index int, count uint8) {
	hash := murmurHash64A(ele, 0xadc83b19)
	index = int(hash & pMask)
	hash >>= P
	hash |= 1 << Q
	bit := uint64(1)
	count = 1
	for hash&bit == 0 {
		count++
		bit <<= 1
	}
	return index, count
}

// ---------------------------------------------------------------- header

// New returns an empty HLL: sparse, all registers in XZERO opcodes
// (createHLLObject).
func New() []byte {
	n := (Registers + sparseXZeroMax - 1) / sparseXZeroMax
	b := make([]byte, HeaderSize+2*n, HeaderSize+64)
	copy(b, "HYLL")
	b[4] = encSparse
	p := HeaderSize
	for aux := Registers; aux > 0; {
		x := min(sparseXZeroMax, aux)
		setXZero(b[p:], x)
		p += 2
		aux -= x
	}
	return b
}

// Valid reports whether b passes Redis's isHLLObjectOrReply checks: magic,
// a known encoding, and the exact length if dense. Sparse opcodes are
// checked only when used (ErrCorrupt).
func Valid(b []byte) bool {
	if len(b) < HeaderSize || string(b[:4]) != "HYLL" || b[4] > maxEnc {
		return false
	}
	return b[4] != encDense || len(b) == DenseSize
}

// IsSparse reports whether a valid HLL uses the sparse encoding.
func IsSparse(b []byte) bool { return b[4] == encSparse }

// InvalidateCache marks the cached cardinality stale (HLL_INVALIDATE_CACHE).
func InvalidateCache(b []byte) { b[15] |= 1 << 7 }

func validCache(b []byte) bool { return b[15]&(1<<7) == 0 }

// ---------------------------------------------------------------- dense

// denseGet reads register regnum. The byte after the last one is never
// needed: register 16383 ends exactly at the end of the string.
func denseGet(r []byte, regnum int) uint8 {
	byteIdx := regnum * regBits / 8
	fb := uint(regnum * regBits & 7)
	b0 := uint(r[byteIdx])
	var b1 uint
	if byteIdx+1 < len(r) {
		b1 = uint(r[byteIdx+1])
	}
	return uint8((b0>>fb | b1<<(8-fb)) & registerMax)
}

func denseSetRegister(r []byte, regnum int, val uint8) {
	byteIdx := regnum * regBits / 8
	fb := uint(regnum * regBits & 7)
	fb8 := 8 - fb
	v := uint(val)
	r[byteIdx] &^= byte(registerMax << fb)
	r[byteIdx] |= byte(v << fb)
	if byteIdx+1 < len(r) {
		r[byteIdx+1] &^= byte(registerMax >> fb8)
		r[byteIdx+1] |= byte(v >> fb8)
	}
}

// denseSet raises register index to count; true if it changed.
func denseSet(r []byte, index int, count uint8) bool {
	if count > denseGet(r, index) {
		denseSetRegister(r, index, count)
		return true
	}
	return false
}

// ---------------------------------------------------------------- sparse opcodes

func isZero(c byte) bool  { return c&0xc0 == 0 }
func isXZero(c byte) bool { return c&0xc0 == sparseXZeroBit }
func isVal(c byte) bool   { return c&sparseValBit != 0 }
func zeroLen(c byte) int  { return int(c&0x3f) + 1 }
func valValue(c byte) int { return int(c>>2&0x1f) + 1 }
func valLen(c byte) int   { return int(c&0x3) + 1 }

// xzeroLen reads a two-byte XZERO; a truncated one reads the missing byte
// as 0, as Redis reads the sds terminator.
func xzeroLen(s []byte, p int) int {
	var lo byte
	if p+1 < len(s) {
		lo = s[p+1]
	}
	return (int(s[p]&0x3f)<<8 | int(lo)) + 1
}

func valByte(val, n int) byte { return byte((val-1)<<2|(n-1)) | sparseValBit }

func setXZero(p []byte, n int) {
	l := n - 1
	p[0] = byte(l>>8) | sparseXZeroBit
	p[1] = byte(l)
}

// SparseToDense converts a sparse HLL to a dense one keeping the header
// (cached cardinality included); a dense one is returned as is.
func SparseToDense(b []byte) ([]byte, error) {
	if b[4] == encDense {
		return b, nil
	}
	dense := make([]byte, DenseSize)
	copy(dense, b[:HeaderSize])
	dense[4] = encDense
	regs := dense[HeaderSize:]
	idx := 0
	for p := HeaderSize; p < len(b); {
		c := b[p]
		switch {
		case isZero(c):
			idx += zeroLen(c)
			p++
		case isXZero(c):
			idx += xzeroLen(b, p)
			p += 2
		default:
			runlen, regval := valLen(c), valValue(c)
			if runlen+idx > Registers {
				return nil, ErrCorrupt // see overflow
			}
			for ; runlen > 0; runlen-- {
				denseSetRegister(regs, idx, uint8(regval))
				idx++
			}
			p++
		}
	}
	if idx != Registers {
		return nil, ErrCorrupt
	}
	return dense, nil
}

// sparseSet raises register index to count in a sparse HLL
// (hllSparseSet), promoting it to dense when count does not fit a VAL
// opcode or the string would outgrow sparseMaxBytes. It returns the
// (possibly new) string and whether a register changed.
func sparseSet(b []byte, index int, count uint8, sparseMaxBytes int) ([]byte, bool, error) {
	if count > sparseValMaxVal {
		return promote(b, index, count)
	}
	end := len(b)
	p := HeaderSize
	first, span := 0, 0
	prev := -1
	for p < end {
		oplen := 1
		c := b[p]
		if isZero(c) {
			span = zeroLen(c)
		} else if isVal(c) {
			span = valLen(c)
		} else {
			span = xzeroLen(b, p)
			oplen = 2
		}
		if index <= first+span-1 {
			break
		}
		prev = p
		p += oplen
		first += span
	}
	if span == 0 || p >= end {
		return b, false, ErrCorrupt
	}
	next := p + 1
	if isXZero(b[p]) {
		next = p + 2
	}
	if next >= end {
		next = -1
	}
	c := b[p]
	var isZ, isXZ, isV bool
	var runlen int
	switch {
	case isZero(c):
		isZ, runlen = true, zeroLen(c)
	case isXZero(c):
		isXZ, runlen = true, xzeroLen(b, p)
	default:
		isV, runlen = true, valLen(c)
	}

	updated := false
	if isV {
		if valValue(c) >= int(count) {
			return b, false, nil
		}
		if runlen == 1 {
			b[p] = valByte(int(count), 1)
			updated = true
		}
	}
	if !updated && isZ && runlen == 1 {
		b[p] = valByte(int(count), 1)
		updated = true
	}
	if !updated {
		// General case: split the opcode into up to three.
		var seq [5]byte
		n := 0
		last := first + span - 1
		if isZ || isXZ {
			if index != first {
				l := index - first
				if l > sparseZeroMaxLen {
					setXZero(seq[n:], l)
					n += 2
				} else {
					seq[n] = byte(l - 1)
					n++
				}
			}
			seq[n] = valByte(int(count), 1)
			n++
			if index != last {
				l := last - index
				if l > sparseZeroMaxLen {
					setXZero(seq[n:], l)
					n += 2
				} else {
					seq[n] = byte(l - 1)
					n++
				}
			}
		} else {
			curval := valValue(c)
			if index != first {
				seq[n] = valByte(curval, index-first)
				n++
			}
			seq[n] = valByte(int(count), 1)
			n++
			if index != last {
				seq[n] = valByte(curval, last-index)
				n++
			}
		}
		oldlen := 1
		if isXZ {
			oldlen = 2
		}
		delta := n - oldlen
		if delta > 0 && len(b)+delta > sparseMaxBytes {
			return promote(b, index, count)
		}
		if delta > 0 {
			b = append(b, make([]byte, delta)...)
		}
		if delta != 0 && next >= 0 {
			copy(b[next+delta:], b[next:end])
		}
		if delta < 0 {
			b = b[:len(b)+delta]
		}
		copy(b[p:], seq[:n])
		end += delta
	}

	// Merge adjacent VAL opcodes with the same value, scanning up to 5
	// opcodes from prev.
	p = HeaderSize
	if prev >= 0 {
		p = prev
	}
	for scan := 5; p < end && scan > 0; scan-- {
		if isXZero(b[p]) {
			p += 2
			continue
		} else if isZero(b[p]) {
			p++
			continue
		}
		if p+1 < end && isVal(b[p+1]) {
			v1, v2 := valValue(b[p]), valValue(b[p+1])
			if v1 == v2 {
				l := valLen(b[p]) + valLen(b[p+1])
				if l <= sparseValMaxLen {
					b[p+1] = valByte(v1, l)
					copy(b[p:], b[p+1:end])
					b = b[:len(b)-1]
					end--
					continue
				}
			}
		}
		p++
	}
	InvalidateCache(b)
	return b, true, nil
}

func promote(b []byte, index int, count uint8) ([]byte, bool, error) {
	dense, err := SparseToDense(b)
	if err != nil {
		return b, false, err
	}
	changed := denseSet(dense[HeaderSize:], index, count)
	return dense, changed, nil
}

// Set raises register index to count (at most 63), as PFMERGE writes a
// merged register, and reports whether it changed.
func Set(b []byte, index int, count uint8, sparseMaxBytes int) ([]byte, bool, error) {
	if b[4] == encDense {
		return b, denseSet(b[HeaderSize:], index, count), nil
	}
	return sparseSet(b, index, count, sparseMaxBytes)
}

// Add adds an element (hllAdd) and reports whether a register changed.
// The cached cardinality is left to the caller (PFADD invalidates it once).
func Add(b []byte, ele []byte, sparseMaxBytes int) ([]byte, bool, error) {
	index, count := patLen(ele)
	switch b[4] {
	case encDense:
		return b, denseSet(b[HeaderSize:], index, count), nil
	case encSparse:
		return sparseSet(b, index, count, sparseMaxBytes)
	}
	return b, false, ErrCorrupt
}

// ---------------------------------------------------------------- counting

func denseHisto(r []byte, histo *[64]int) {
	for j := 0; j < Registers; j++ {
		histo[denseGet(r, j)]++
	}
}

// sparseHisto fills histo; false if the opcodes do not cover exactly
// 16384 registers.
func sparseHisto(s []byte, histo *[64]int) bool {
	idx := 0
	for p := 0; p < len(s); {
		c := s[p]
		switch {
		case isZero(c):
			n := zeroLen(c)
			idx += n
			histo[0] += n
			p++
		case isXZero(c):
			n := xzeroLen(s, p)
			idx += n
			histo[0] += n
			p += 2
		default:
			n := valLen(c)
			idx += n
			histo[valValue(c)] += n
			p++
		}
	}
	return idx == Registers
}

func sigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y := 1.0
	z := x
	for {
		x *= x
		zPrime := z
		z += float64(x * y)
		y += y
		if zPrime == z {
			return z
		}
	}
}

func tau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y := 1.0
	z := 1 - x
	for {
		x = math.Sqrt(x)
		zPrime := z
		y *= 0.5
		d := 1 - x
		z -= float64(float64(d*d) * y)
		if zPrime == z {
			return z / 3
		}
	}
}

// estimate is hllCount's cardinality from a register histogram (Ertl's
// improved estimator).
func estimate(histo *[64]int) uint64 {
	const m = float64(Registers)
	z := m * tau((m-float64(histo[Q+1]))/m)
	for j := Q; j >= 1; j-- {
		z += float64(histo[j])
		z *= 0.5
	}
	z += m * sigma(float64(histo[0])/m)
	e := math.Round(float64(alphaInf*m*m) / z)
	return uint64(int64(e))
}

// count computes the cardinality of a valid HLL; invalid is true for a
// sparse HLL that does not cover all registers (the estimate is still
// computed, as Redis does, and should be discarded).
func count(b []byte) (card uint64, invalid bool) {
	var histo [64]int
	if b[4] == encDense {
		denseHisto(b[HeaderSize:], &histo)
	} else if !sparseHisto(b[HeaderSize:], &histo) {
		invalid = true
	}
	return estimate(&histo), invalid
}

// Count is PFCOUNT of one key: the cached cardinality if valid, otherwise
// it is computed and stored in the header in place (rewrote true: the
// string changed and must be propagated).
func Count(b []byte) (card uint64, rewrote bool, err error) {
	if validCache(b) {
		for i := 7; i >= 0; i-- {
			card = card<<8 | uint64(b[8+i])
		}
		return card, false, nil
	}
	card, invalid := count(b)
	if invalid {
		return 0, false, ErrCorrupt
	}
	for i := 0; i < 8; i++ {
		b[8+i] = byte(card >> (8 * i))
	}
	return card, true, nil
}

// Merge raises each max[i] to register i of the valid HLL b (hllMerge).
func Merge(max *[Registers]uint8, b []byte) error {
	if b[4] == encDense {
		r := b[HeaderSize:]
		for i := 0; i < Registers; i++ {
			if v := denseGet(r, i); v > max[i] {
				max[i] = v
			}
		}
		return nil
	}
	i := 0
	for p := HeaderSize; p < len(b); {
		c := b[p]
		switch {
		case isZero(c):
			i += zeroLen(c)
			p++
		case isXZero(c):
			i += xzeroLen(b, p)
			p += 2
		default:
			runlen, regval := valLen(c), uint8(valValue(c))
			if runlen+i > Registers {
				return ErrCorrupt // see overflow
			}
			for ; runlen > 0; runlen-- {
				if regval > max[i] {
					max[i] = regval
				}
				i++
			}
			p++
		}
	}
	if i != Registers {
		return ErrCorrupt
	}
	return nil
}

// CountRegisters is the cardinality of raw byte registers, as PFCOUNT of
// several keys estimates their union (HLL_RAW).
func CountRegisters(max *[Registers]uint8) uint64 {
	var histo [64]int
	for _, v := range max {
		histo[v&63]++
	}
	return estimate(&histo)
}

// DenseRegisters returns the 16384 registers of a dense HLL (PFDEBUG GETREG).
func DenseRegisters(b []byte) []uint8 {
	out := make([]uint8, Registers)
	for i := range out {
		out[i] = denseGet(b[HeaderSize:], i)
	}
	return out
}

// DecodeSparse lists the opcodes of a sparse HLL as PFDEBUG DECODE does:
// "z:len", "Z:len" and "v:value,len", separated by spaces.
func DecodeSparse(b []byte) string {
	out := make([]byte, 0, 4*len(b))
	for p := HeaderSize; p < len(b); {
		c := b[p]
		switch {
		case isZero(c):
			out = appendf(out, "z:", zeroLen(c))
			p++
		case isXZero(c):
			out = appendf(out, "Z:", xzeroLen(b, p))
			p += 2
		default:
			out = appendf(out, "v:", valValue(c))
			out = append(out, ',')
			out = appendInt(out, valLen(c))
			out = append(out, ' ')
			p++
		}
	}
	if len(out) > 0 && out[len(out)-1] == ' ' {
		out = out[:len(out)-1]
	}
	return string(out)
}
