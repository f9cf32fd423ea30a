package store

import (
	"math"
	"strconv"
)

// ------ MEMORY USAGE MODEL ------
//
// MEMORY USAGE must answer what Redis 7.0 (x86-64, jemalloc) would answer
// for the same value, not what the Go heap holds: tools compare it across
// servers, and monitoring alerts on it. So the size is computed from the
// layout Redis would give the value — robj, sds headers, listpacks,
// quicklist nodes, dict tables and skiplist nodes — each allocation rounded
// up to jemalloc's size class, following objectComputeSize in object.c,
// including its sampling of the first N elements of big containers.

// Sizes of Redis 7.0's structs on x86-64.
const (
	robjSize          = 16 // robj: type/encoding/lru bits, refcount, ptr
	dictEntrySize     = 24 // key, value union, next
	dictSize          = 56 // type, ht_table[2], ht_used[2], rehashidx, pauserehash, ht_size_exp[2]
	quicklistSize     = 40 // head, tail, count, len, fill/compress/bookmark bits
	quicklistNodeSize = 40 // prev, next, entry, sz, count/encoding/... bits
	zsetStructSize    = 16 // dict *, zskiplist *
	zskiplistSize     = 32 // header, tail, length, level
	zslNodeBase       = 24 // ele, score, backward; plus 16 per level (the header has zslMaxLevel)
	listpackHeader    = 6  // total bytes + element count
	listpackEnd       = 1  // 0xFF terminator
	embstrLimit       = 44 // OBJ_ENCODING_EMBSTR_SIZE_LIMIT
	quicklistNodeMax  = 8192
	dictInitialSize   = 4
)

// jemallocSize is the usable size jemalloc gives a request of n bytes: its
// size classes are 8, then steps of 16 up to 128, then four classes per
// doubling (160, 192, 224, 256, 320, ...).
func jemallocSize(n int64) int64 {
	if n <= 8 {
		return 8
	}
	if n <= 128 {
		return (n + 15) &^ 15
	}
	lg := int64(63)
	for lg > 0 && (n-1)>>uint(lg) == 0 {
		lg--
	}
	step := int64(1) << uint(lg-2)
	return (n + step - 1) / step * step
}

// sdsAllocSize is sdsZmallocSize of an sds created with exactly n bytes
// (sdsnewlen/sdsdup): the smallest header type that holds n, the bytes and
// the terminating NUL.
func sdsAllocSize(n int) int64 {
	hdr := 17
	switch {
	case n < 1<<5:
		hdr = 1
	case n < 1<<8:
		hdr = 3
	case n < 1<<16:
		hdr = 5
	case n < 1<<32:
		hdr = 9
	}
	return jemallocSize(int64(hdr + n + 1))
}

// listpackEntrySize is the bytes one listpack element takes: encoding plus
// payload, then the backlen that lets listpacks be walked backwards.
// Strings that are canonical integers are stored as integers, as
// lpInsertString does.
func listpackEntrySize(b []byte) int {
	var enc int
	if v, ok := ParseCanonicalInt(b); ok {
		switch {
		case v >= 0 && v <= 127:
			enc = 1
		case v >= -4096 && v <= 4095:
			enc = 2
		case v >= math.MinInt16 && v <= math.MaxInt16:
			enc = 3
		case v >= -(1<<23) && v < 1<<23:
			enc = 4
		case v >= math.MinInt32 && v <= math.MaxInt32:
			enc = 5
		default:
			enc = 9
		}
	} else {
		switch n := len(b); {
		case n < 64:
			enc = 1 + n
		case n < 4096:
			enc = 2 + n
		default:
			enc = 5 + n
		}
	}
	switch {
	case enc <= 127:
		return enc + 1
	case enc < 16383:
		return enc + 2
	case enc < 2097151:
		return enc + 3
	case enc < 268435455:
		return enc + 4
	}
	return enc + 5
}

// scoreBytes is a score as zzlInsertAt stores it in a listpack: d2string's
// text, an integer when the score is integral within ±2^52.
func scoreBytes(score float64) []byte {
	if score == math.Trunc(score) && math.Abs(score) < 1<<52 {
		return strconv.AppendInt(nil, int64(score), 10)
	}
	if math.IsInf(score, 0) {
		if score > 0 {
			return []byte("inf")
		}
		return []byte("-inf")
	}
	return strconv.AppendFloat(nil, score, 'g', 17, 64)
}

// dictSlots is the bucket count of a dict holding n entries grown by
// inserts: the smallest power of two not below n, at least 4.
func dictSlots(n int) int64 {
	s := int64(dictInitialSize)
	for s < int64(n) {
		s <<= 1
	}
	return s
}

// sampledTotal adds to base the average of the sampled element sizes times
// count, truncated as Redis's size_t += double does.
func sampledTotal(base int64, sampled int64, samples int, count int) int64 {
	if samples == 0 {
		return base
	}
	return int64(float64(base) + float64(sampled)/float64(samples)*float64(count))
}

// MemoryUsage estimates the bytes Redis 7.0 would report with MEMORY USAGE
// for key holding v: the value as objectComputeSize measures it, plus the
// key's sds and its dict entry. Containers stored in a dict, skiplist or
// quicklist are measured on their first samples elements (samples <= 0
// means all of them) and extrapolated, as Redis does.
func MemoryUsage(key string, v Value, samples int) int64 {
	if samples <= 0 {
		samples = math.MaxInt
	}
	return valueMemory(v, samples) + sdsAllocSize(len(key)) + dictEntrySize
}

// valueMemory is objectComputeSize for one value.
func valueMemory(v Value, samples int) int64 {
	switch x := v.(type) {
	case *String:
		switch x.Encoding() {
		case "int":
			return robjSize
		case "embstr":
			return jemallocSize(int64(robjSize + 3 + len(x.B) + 1))
		}
		return robjSize + sdsAllocSize(len(x.B))
	case *List:
		return listMemory(x, samples)
	case *Stream:
		return x.memory(samples)
	case *Set:
		if x.ht == nil {
			return robjSize + jemallocSize(8+int64(len(x.is)))
		}
		base := robjSize + dictSize + 8*dictSlots(x.Len())
		var sampled int64
		n := 0
		x.Range(func(m []byte) bool {
			sampled += dictEntrySize + sdsAllocSize(len(m))
			n++
			return n < samples
		})
		return sampledTotal(base, sampled, n, x.Len())
	case *Hash:
		if x.ht == nil {
			lp := int64(listpackHeader + listpackEnd)
			x.Range(func(f, val []byte) bool {
				lp += int64(listpackEntrySize(f) + listpackEntrySize(val))
				return true
			})
			return robjSize + jemallocSize(lp)
		}
		base := robjSize + dictSize + 8*dictSlots(x.Len())
		var sampled int64
		n := 0
		x.Range(func(f, val []byte) bool {
			sampled += sdsAllocSize(len(f)) + sdsAllocSize(len(val)) + dictEntrySize
			n++
			return n < samples
		})
		return sampledTotal(base, sampled, n, x.Len())
	case *ZSet:
		if x.sk == nil {
			lp := int64(listpackHeader + listpackEnd)
			x.Range(func(m []byte, score float64) bool {
				lp += int64(listpackEntrySize(m) + listpackEntrySize(scoreBytes(score)))
				return true
			})
			return robjSize + jemallocSize(lp)
		}
		base := robjSize + zsetStructSize + zskiplistSize + dictSize + 8*dictSlots(x.Len()) +
			jemallocSize(zslNodeBase+16*zslMaxLevel)
		var sampled int64
		n := 0
		for node := x.sk.zsl.header.level[0].forward; node != nil && n < samples; node = node.level[0].forward {
			sampled += sdsAllocSize(len(node.member)) + dictEntrySize +
				jemallocSize(int64(zslNodeBase+16*len(node.level)))
			n++
		}
		return sampledTotal(base, sampled, n, x.Len())
	}
	return 0
}

// listMemory measures a list as the quicklist Redis would build with the
// default list-max-listpack-size -2: elements appended to listpack nodes of
// at most 8 KB each, the first samples nodes measured and extrapolated to
// the node count.
func listMemory(l *List, samples int) int64 {
	var nodes []int64 // listpack bytes per node
	cur := int64(0)
	l.Range(func(e []byte) bool {
		sz := int64(listpackEntrySize(e))
		if cur == 0 || cur+sz > quicklistNodeMax {
			if cur > 0 {
				nodes = append(nodes, cur)
			}
			cur = listpackHeader + listpackEnd
		}
		cur += sz
		return true
	})
	if cur > 0 {
		nodes = append(nodes, cur)
	}
	base := int64(robjSize + quicklistSize)
	var sampled int64
	n := 0
	for _, lp := range nodes {
		sampled += quicklistNodeSize + jemallocSize(lp)
		n++
		if n >= samples {
			break
		}
	}
	return sampledTotal(base, sampled, n, len(nodes))
}
