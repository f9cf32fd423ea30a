package store

// arena holds the keyspace's small byte records (a key, and a string value
// stored inline after it; see DB) in big pointer-free chunks, so that a
// million keys cost the garbage collector a few hundred chunks to skip
// rather than a million objects to mark, and no per-record object header.
//
// Records are grouped by size class (slab allocation): a chunk is carved
// into slots of one class, and a freed slot goes on its class's free list
// for the next record of that class. Overwrites and deletes therefore never
// fragment the arena beyond each class's peak use, as with jemalloc's bins.
// Records larger than the biggest class get their own []byte (big), still
// pointer-free.
//
// A record is addressed by a uint32: the offset in 8-byte units into the
// concatenation of the chunks, or, with bigBit set, an index into big.
//
// While a snapshot is live, a slot it may read is not reused: DB passes
// such frees to freeLater, and they join the free lists when the last
// snapshot is released (flushPending).
type arena struct {
	chunks  [][]byte
	classes [numSlabClasses]slabClass
	big     [][]byte
	bigFree []uint32
	pending []pendingFree
	// bytes is the size-class bytes of the records in use, those waiting
	// in pending included; bigBytes is the part of it in big.
	bytes, bigBytes int64
}

type slabClass struct {
	free []uint32
	// next and end delimit the unused tail of the class's newest chunk.
	next, end uint32
}

type pendingFree struct {
	addr uint32
	size int
}

const (
	arenaChunkShift = 18 // 256 KiB chunks: small enough for an idle class's unused tail not to matter
	arenaChunkBytes = 1 << arenaChunkShift
	arenaUnitShift  = 3 // addresses count 8-byte units
	unitsPerChunk   = arenaChunkBytes >> arenaUnitShift
	bigBit          = 1 << 31
	// maxSlabRecord is the largest record kept in a slab; bigger ones get
	// their own allocation. It covers a key with a value of a few KiB:
	// SET of a 1 KiB value (redis-benchmark -d 1024) then overwrites its
	// slot in place or takes a free one, and allocates nothing the garbage
	// collector has to track (as its own []byte plus a String object, the
	// value cost 2 allocations per SET, and the collections they caused
	// were about 15% of the server's CPU in a perf profile).
	maxSlabRecord = 4096
)

// slabSizes are the slot sizes: 8-byte steps to 64, 16-byte steps to 256,
// then 8 classes per doubling (32-byte steps to 512, 64 to 1024, 128 to
// 2048, 256 to 4096), so no record wastes more than about 1/8 of its slot
// beyond the first classes.
var slabSizes = func() []int {
	var s []int
	for n := 8; n <= maxSlabRecord; {
		s = append(s, n)
		switch {
		case n < 64:
			n += 8
		case n < 256:
			n += 16
		default:
			// 1/8 of the power of two at or below n.
			step := 32
			for step*16 <= n {
				step *= 2
			}
			n += step
		}
	}
	return s
}()

const numSlabClasses = 52

// slabClassOf maps a record size (rounded up to 8) to its class.
var slabClassOf = func() [maxSlabRecord/8 + 1]uint8 {
	var t [maxSlabRecord/8 + 1]uint8
	if len(slabSizes) != numSlabClasses {
		panic("store: numSlabClasses does not match slabSizes")
	}
	c := 0
	for i := range t {
		for slabSizes[c] < i*8 {
			c++
		}
		t[i] = uint8(c)
	}
	return t
}()

// slotSize is the bytes a record of n bytes occupies.
func slotSize(n int) int {
	if n > maxSlabRecord {
		return n
	}
	return slabSizes[slabClassOf[(n+7)>>3]]
}

// alloc returns the address of a new record of n bytes and its bytes.
func (a *arena) alloc(n int) (uint32, []byte) {
	if n > maxSlabRecord {
		b := make([]byte, n)
		a.bytes += int64(n)
		a.bigBytes += int64(n)
		if k := len(a.bigFree); k > 0 {
			i := a.bigFree[k-1]
			a.bigFree = a.bigFree[:k-1]
			a.big[i] = b
			return i | bigBit, b
		}
		a.big = append(a.big, b)
		return uint32(len(a.big)-1) | bigBit, b
	}
	c := &a.classes[slabClassOf[(n+7)>>3]]
	size := slabSizes[slabClassOf[(n+7)>>3]]
	a.bytes += int64(size)
	var addr uint32
	if k := len(c.free); k > 0 {
		addr = c.free[k-1]
		c.free = c.free[:k-1]
	} else {
		units := uint32(size >> arenaUnitShift)
		if c.next+units > c.end || c.end == 0 {
			if uint64(len(a.chunks)+1)*unitsPerChunk >= bigBit {
				panic("store: keyspace arena full (16 GiB of small records)")
			}
			a.chunks = append(a.chunks, make([]byte, arenaChunkBytes))
			c.next = uint32(len(a.chunks)-1) * unitsPerChunk
			c.end = c.next + unitsPerChunk
		}
		addr = c.next
		c.next += units
	}
	return addr, a.at(addr)[:n:n]
}

// at returns the bytes from the record at addr to the end of its chunk
// (or its big allocation): records carry their own lengths.
func (a *arena) at(addr uint32) []byte { return arenaAt(a.chunks, a.big, addr) }

// arenaAt is at over chunk and big lists that may be a snapshot's copies.
func arenaAt(chunks, big [][]byte, addr uint32) []byte {
	if addr&bigBit != 0 {
		return big[addr&^bigBit]
	}
	return chunks[addr/unitsPerChunk][(addr%unitsPerChunk)<<arenaUnitShift:]
}

// free returns the record of n bytes at addr to its class.
func (a *arena) free(addr uint32, n int) {
	a.bytes -= int64(slotSize(n))
	if addr&bigBit != 0 {
		a.bigBytes -= int64(n)
		i := addr &^ bigBit
		a.big[i] = nil
		a.bigFree = append(a.bigFree, i)
		return
	}
	c := &a.classes[slabClassOf[(n+7)>>3]]
	c.free = append(c.free, addr)
}

// freeLater is free for a record a live snapshot may still read.
func (a *arena) freeLater(addr uint32, n int) {
	if addr&bigBit != 0 {
		// The snapshot holds its own list of big records: dropping ours
		// cannot change what it reads.
		a.free(addr, n)
		return
	}
	a.pending = append(a.pending, pendingFree{addr, n})
}

// flushPending frees the records held back for snapshots.
func (a *arena) flushPending() {
	for _, p := range a.pending {
		a.free(p.addr, p.size)
	}
	a.pending = nil
}

// idle is the bytes of the chunks that hold no record: free slots kept for
// reuse and the unused tails of the chunks.
func (a *arena) idle() int64 {
	return int64(len(a.chunks))*arenaChunkBytes - (a.bytes - a.bigBytes)
}

// footprint is the bytes the arena holds from the Go heap.
func (a *arena) footprint() int64 {
	n := int64(len(a.chunks)) * arenaChunkBytes
	for _, c := range a.classes {
		n += int64(cap(c.free)) * 4
	}
	for _, b := range a.big {
		n += int64(cap(b))
	}
	return n
}
