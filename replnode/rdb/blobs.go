package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// This file parses the packed encodings Redis embeds in RDB strings:
// listpack, ziplist, intset and zipmap. Every parser checks each length and
// offset against the blob before using it, so a corrupt blob is an error,
// never a panic or a huge allocation.

// ---------------------------------------------------------------- listpack

// parseListpack returns the entries of a listpack, integers spelled in
// decimal.
func parseListpack(b []byte) ([][]byte, error) {
	if len(b) < lpHdrSize+1 {
		return nil, errors.New("listpack shorter than its header")
	}
	if total := binary.LittleEndian.Uint32(b); int64(total) != int64(len(b)) {
		return nil, fmt.Errorf("listpack header says %d bytes, blob has %d", total, len(b))
	}
	count := int(binary.LittleEndian.Uint16(b[4:]))
	var out [][]byte
	if count != lpNumElemsUnknown {
		out = make([][]byte, 0, min(count, len(b)))
	}
	p := lpHdrSize
	for {
		if p >= len(b) {
			return nil, errors.New("listpack has no end marker")
		}
		if b[p] == lpEOF {
			break
		}
		entry, n, err := listpackEntry(b[p:])
		if err != nil {
			return nil, fmt.Errorf("listpack entry %d at byte %d: %w", len(out), p, err)
		}
		bl := backlenSize(n)
		if p+n+bl > len(b) {
			return nil, fmt.Errorf("listpack entry %d at byte %d: back length past the end", len(out), p)
		}
		if got, ok := readBacklen(b[p+n : p+n+bl]); !ok || got != n {
			return nil, fmt.Errorf("listpack entry %d at byte %d: back length does not match", len(out), p)
		}
		out = append(out, entry)
		p += n + bl
	}
	if p != len(b)-1 {
		return nil, errors.New("listpack end marker before the end of the blob")
	}
	if count != lpNumElemsUnknown && count != len(out) {
		return nil, fmt.Errorf("listpack header says %d entries, found %d", count, len(out))
	}
	return out, nil
}

// readBacklen decodes a back length written by appendBacklen: the first
// byte without the continuation bit, every later one with it, as
// lpDecodeBacklen reads them from the end. A lone byte with the bit set
// would make Redis read further back: it is corrupt, not the same length.
func readBacklen(b []byte) (int, bool) {
	v := 0
	for i, c := range b {
		if (i == 0) != (c&128 == 0) {
			return 0, false
		}
		v = v<<7 | int(c&127)
	}
	return v, true
}

// listpackEntry decodes the entry at the start of b and returns its value
// and the size of its encoding and data (without the back length).
func listpackEntry(b []byte) ([]byte, int, error) {
	c := b[0]
	need := func(n int) error {
		if n > len(b) {
			return errors.New("entry runs past the end")
		}
		return nil
	}
	str := func(hdr, l int) ([]byte, int, error) {
		if err := need(hdr + l); err != nil {
			return nil, 0, err
		}
		return b[hdr : hdr+l], hdr + l, nil
	}
	integer := func(v int64, n int) ([]byte, int, error) {
		return strconv.AppendInt(nil, v, 10), n, nil
	}
	switch {
	case c&lpEnc7BitMask == lpEnc7BitUint:
		return integer(int64(c), 1)
	case c&lpEnc6BitMask == lpEnc6BitStr:
		return str(1, int(c&0x3f))
	case c&lpEnc13BitMask == lpEnc13BitInt:
		if err := need(2); err != nil {
			return nil, 0, err
		}
		u := int64(c&0x1f)<<8 | int64(b[1])
		if u >= 1<<12 {
			u -= 1 << 13
		}
		return integer(u, 2)
	case c&lpEnc12BitMask == lpEnc12BitStr:
		if err := need(2); err != nil {
			return nil, 0, err
		}
		return str(2, int(c&0x0f)<<8|int(b[1]))
	}
	switch c {
	case lpEnc32BitStr:
		if err := need(5); err != nil {
			return nil, 0, err
		}
		l := binary.LittleEndian.Uint32(b[1:])
		if int64(l) > int64(len(b)) {
			return nil, 0, errors.New("string runs past the end")
		}
		return str(5, int(l))
	case lpEnc16BitInt:
		if err := need(3); err != nil {
			return nil, 0, err
		}
		return integer(int64(int16(binary.LittleEndian.Uint16(b[1:]))), 3)
	case lpEnc24BitInt:
		if err := need(4); err != nil {
			return nil, 0, err
		}
		u := int32(uint32(b[1])<<8|uint32(b[2])<<16|uint32(b[3])<<24) >> 8
		return integer(int64(u), 4)
	case lpEnc32BitInt:
		if err := need(5); err != nil {
			return nil, 0, err
		}
		return integer(int64(int32(binary.LittleEndian.Uint32(b[1:]))), 5)
	case lpEnc64BitInt:
		if err := need(9); err != nil {
			return nil, 0, err
		}
		return integer(int64(binary.LittleEndian.Uint64(b[1:])), 9)
	}
	return nil, 0, fmt.Errorf("unknown encoding byte 0x%02x", c)
}

// ---------------------------------------------------------------- ziplist

// parseZiplist returns the entries of a ziplist, integers spelled in
// decimal.
func parseZiplist(b []byte) ([][]byte, error) {
	if len(b) < ziplistHdrSize+1 {
		return nil, errors.New("ziplist shorter than its header")
	}
	if total := binary.LittleEndian.Uint32(b); int64(total) != int64(len(b)) {
		return nil, fmt.Errorf("ziplist header says %d bytes, blob has %d", total, len(b))
	}
	tail := int(binary.LittleEndian.Uint32(b[4:]))
	count := int(binary.LittleEndian.Uint16(b[8:]))
	var out [][]byte
	if count != math.MaxUint16 {
		out = make([][]byte, 0, min(count, len(b)))
	}
	p, prevLen, last := ziplistHdrSize, 0, ziplistHdrSize
	for {
		if p >= len(b) {
			return nil, errors.New("ziplist has no end marker")
		}
		if b[p] == zipEnd {
			break
		}
		start := p
		// previous entry length
		var pl int
		if b[p] < zipBigPrevLen {
			pl = int(b[p])
			p++
		} else {
			if p+5 > len(b) {
				return nil, fmt.Errorf("ziplist entry %d: truncated", len(out))
			}
			pl = int(binary.LittleEndian.Uint32(b[p+1:]))
			p += 5
		}
		if pl != prevLen {
			return nil, fmt.Errorf("ziplist entry %d: previous length %d, expected %d", len(out), pl, prevLen)
		}
		if p >= len(b) {
			return nil, fmt.Errorf("ziplist entry %d: truncated", len(out))
		}
		val, n, err := ziplistValue(b[p:])
		if err != nil {
			return nil, fmt.Errorf("ziplist entry %d: %w", len(out), err)
		}
		p += n
		out = append(out, val)
		prevLen, last = p-start, start
	}
	if p != len(b)-1 {
		return nil, errors.New("ziplist end marker before the end of the blob")
	}
	if len(out) > 0 && tail != last || len(out) == 0 && tail != ziplistHdrSize {
		return nil, fmt.Errorf("ziplist tail offset %d does not point at the last entry", tail)
	}
	if count != math.MaxUint16 && count != len(out) {
		return nil, fmt.Errorf("ziplist header says %d entries, found %d", count, len(out))
	}
	return out, nil
}

// ziplistValue decodes the encoding and data of one ziplist entry.
func ziplistValue(b []byte) ([]byte, int, error) {
	c := b[0]
	short := errors.New("entry runs past the end")
	str := func(hdr, l int) ([]byte, int, error) {
		if l < 0 || hdr+l > len(b) {
			return nil, 0, short
		}
		return b[hdr : hdr+l], hdr + l, nil
	}
	integer := func(v int64, n int) ([]byte, int, error) {
		if n > len(b) {
			return nil, 0, short
		}
		return strconv.AppendInt(nil, v, 10), n, nil
	}
	switch c & zipStrMask {
	case zipStr06B:
		return str(1, int(c&0x3f))
	case zipStr14B:
		if len(b) < 2 {
			return nil, 0, short
		}
		return str(2, int(c&0x3f)<<8|int(b[1]))
	case zipStr32B:
		if c != zipStr32B {
			break
		}
		if len(b) < 5 {
			return nil, 0, short
		}
		l := binary.BigEndian.Uint32(b[1:])
		if int64(l) > int64(len(b)) {
			return nil, 0, short
		}
		return str(5, int(l))
	}
	switch {
	case c == zipInt16B:
		if len(b) < 3 {
			return nil, 0, short
		}
		return integer(int64(int16(binary.LittleEndian.Uint16(b[1:]))), 3)
	case c == zipInt32B:
		if len(b) < 5 {
			return nil, 0, short
		}
		return integer(int64(int32(binary.LittleEndian.Uint32(b[1:]))), 5)
	case c == zipInt64B:
		if len(b) < 9 {
			return nil, 0, short
		}
		return integer(int64(binary.LittleEndian.Uint64(b[1:])), 9)
	case c == zipInt24B:
		if len(b) < 4 {
			return nil, 0, short
		}
		return integer(int64(int32(uint32(b[1])<<8|uint32(b[2])<<16|uint32(b[3])<<24)>>8), 4)
	case c == zipInt8B:
		if len(b) < 2 {
			return nil, 0, short
		}
		return integer(int64(int8(b[1])), 2)
	case c >= zipIntImmMin && c <= zipIntImmMax:
		return integer(int64(c&0x0f)-1, 1)
	}
	return nil, 0, fmt.Errorf("unknown encoding byte 0x%02x", c)
}

// ---------------------------------------------------------------- intset

// parseIntset returns the members of an intset, checked to be strictly
// ascending.
func parseIntset(b []byte) ([]int64, error) {
	if len(b) < 8 {
		return nil, errors.New("intset shorter than its header")
	}
	width := binary.LittleEndian.Uint32(b)
	if width != intsetEnc16 && width != intsetEnc32 && width != intsetEnc64 {
		return nil, fmt.Errorf("intset has bad width %d", width)
	}
	count := uint64(binary.LittleEndian.Uint32(b[4:]))
	if count*uint64(width)+8 != uint64(len(b)) {
		return nil, fmt.Errorf("intset of %d members of %d bytes does not fit a %d byte blob", count, width, len(b))
	}
	out := make([]int64, count)
	for i := range out {
		p := b[8+i*int(width):]
		switch width {
		case intsetEnc16:
			out[i] = int64(int16(binary.LittleEndian.Uint16(p)))
		case intsetEnc32:
			out[i] = int64(int32(binary.LittleEndian.Uint32(p)))
		default:
			out[i] = int64(binary.LittleEndian.Uint64(p))
		}
		if i > 0 && out[i] <= out[i-1] {
			return nil, errors.New("intset members are not strictly ascending")
		}
	}
	return out, nil
}

// ---------------------------------------------------------------- zipmap

// parseZipmap returns the alternating keys and values of a zipmap.
func parseZipmap(b []byte) ([][]byte, error) {
	if len(b) < 2 {
		return nil, errors.New("zipmap too short")
	}
	p := 1 // skip the (saturating) count byte
	var out [][]byte
	readLen := func() (int, error) {
		if p >= len(b) {
			return 0, errors.New("zipmap truncated")
		}
		if b[p] < zipmapBigLen {
			p++
			return int(b[p-1]), nil
		}
		if b[p] == zipmapEnd {
			return 0, errors.New("zipmap end inside an entry")
		}
		if p+5 > len(b) {
			return 0, errors.New("zipmap truncated")
		}
		l := binary.LittleEndian.Uint32(b[p+1:])
		p += 5
		if int64(l) > int64(len(b)) {
			return 0, errors.New("zipmap length past the end")
		}
		return int(l), nil
	}
	for {
		if p >= len(b) {
			return nil, errors.New("zipmap has no end marker")
		}
		if b[p] == zipmapEnd {
			break
		}
		kl, err := readLen()
		if err != nil {
			return nil, err
		}
		if p+kl > len(b) {
			return nil, errors.New("zipmap key past the end")
		}
		key := b[p : p+kl]
		p += kl
		vl, err := readLen()
		if err != nil {
			return nil, err
		}
		if p >= len(b) {
			return nil, errors.New("zipmap truncated")
		}
		free := int(b[p])
		p++
		if p+vl+free > len(b) {
			return nil, errors.New("zipmap value past the end")
		}
		out = append(out, key, b[p:p+vl])
		p += vl + free
	}
	if p != len(b)-1 {
		return nil, errors.New("zipmap end marker before the end of the blob")
	}
	return out, nil
}
