package rdb

import "errors"

// LZF is the compression Redis uses for long strings (lzf_c.c, lzf_d.c). The
// stream is a sequence of chunks, each opened by a control byte:
//
//	000LLLLL                      literal run of L+1 bytes
//	LLLooooo oooooooo             back reference of L+2 bytes (L < 7)
//	111ooooo LLLLLLLL oooooooo    back reference of L+9 bytes
//
// where the offset o+1 counts back from the current output position.

const (
	lzfMaxLiteral = 1 << 5              // longest literal run
	lzfMaxOffset  = 1 << 13             // farthest back reference
	lzfMaxRef     = (1 << 8) + (1 << 3) // longest back reference
	lzfHashLog    = 14
)

var errLZFCorrupt = errors.New("corrupt LZF data")

// lzfCompress compresses in and returns the compressed bytes, or nil when
// the result would not be shorter than maxOut bytes (Redis then stores the
// string uncompressed).
func lzfCompress(in []byte, maxOut int) []byte {
	var c lzfCompressor
	return c.compress(in, maxOut)
}

// lzfCompressor keeps the match table between calls, so compressing many
// short strings does not allocate and clear a full table each time.
type lzfCompressor struct {
	table []int32 // position+1 of the last 3-byte sequence per hash
	out   []byte
}

// compress is lzfCompress using c's scratch memory. The returned slice is
// only valid until the next call.
func (c *lzfCompressor) compress(in []byte, maxOut int) []byte {
	if len(in) < 4 || maxOut <= 0 {
		return nil
	}
	// A table about twice the input's length is as good as a full one
	// and much cheaper to clear for short strings.
	hashLog := 8
	for hashLog < lzfHashLog && 1<<hashLog < 2*len(in) {
		hashLog++
	}
	if len(c.table) < 1<<hashLog {
		c.table = make([]int32, 1<<lzfHashLog)
	}
	table := c.table[:1<<hashLog]
	clear(table)
	out := c.out[:0]
	if cap(out) < maxOut {
		out = make([]byte, 0, maxOut)
	}
	defer func() { c.out = out[:0] }()
	hash := func(p int) uint32 {
		v := uint32(in[p])<<16 | uint32(in[p+1])<<8 | uint32(in[p+2])
		return (v * 2654435761) >> (32 - hashLog)
	}
	litStart := 0 // start of the pending literal run
	flushLiterals := func(end int) bool {
		for litStart < end {
			n := min(end-litStart, lzfMaxLiteral)
			if len(out)+1+n > maxOut {
				return false
			}
			out = append(out, byte(n-1))
			out = append(out, in[litStart:litStart+n]...)
			litStart += n
		}
		return true
	}
	ip := 0
	for ip+2 < len(in) {
		h := hash(ip)
		ref := int(table[h]) - 1
		table[h] = int32(ip + 1)
		off := ip - ref - 1
		if ref >= 0 && off < lzfMaxOffset && in[ref] == in[ip] && in[ref+1] == in[ip+1] && in[ref+2] == in[ip+2] {
			length := 3
			maxLen := min(len(in)-ip, lzfMaxRef)
			for length < maxLen && in[ref+length] == in[ip+length] {
				length++
			}
			if !flushLiterals(ip) {
				return nil
			}
			l := length - 2
			if l < 7 {
				if len(out)+2 > maxOut {
					return nil
				}
				out = append(out, byte(l<<5|off>>8), byte(off))
			} else {
				if len(out)+3 > maxOut {
					return nil
				}
				out = append(out, byte(7<<5|off>>8), byte(l-7), byte(off))
			}
			ip += length
			litStart = ip
			continue
		}
		ip++
	}
	if !flushLiterals(len(in)) {
		return nil
	}
	return out
}

// lzfDecompress expands in, which must decode to exactly outLen bytes.
func lzfDecompress(in []byte, outLen int) ([]byte, error) {
	out := make([]byte, 0, outLen)
	ip := 0
	for ip < len(in) {
		ctrl := int(in[ip])
		ip++
		if ctrl < lzfMaxLiteral {
			n := ctrl + 1
			if ip+n > len(in) || len(out)+n > outLen {
				return nil, errLZFCorrupt
			}
			out = append(out, in[ip:ip+n]...)
			ip += n
			continue
		}
		length := ctrl >> 5
		if length == 7 {
			if ip >= len(in) {
				return nil, errLZFCorrupt
			}
			length += int(in[ip])
			ip++
		}
		if ip >= len(in) {
			return nil, errLZFCorrupt
		}
		ref := len(out) - ((ctrl&0x1f)<<8 | int(in[ip])) - 1
		ip++
		length += 2
		if ref < 0 || len(out)+length > outLen {
			return nil, errLZFCorrupt
		}
		for i := 0; i < length; i++ { // byte by byte: the ranges may overlap
			out = append(out, out[ref+i])
		}
	}
	if len(out) != outLen {
		return nil, errLZFCorrupt
	}
	return out, nil
}
