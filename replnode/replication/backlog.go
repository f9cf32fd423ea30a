package replication

import "fmt"

// ------ BACKLOG ------

// Backlog is the replication backlog: a bounded ring holding the most recent
// bytes of the replication stream, addressed by absolute stream offset.
//
// Offsets follow Redis: the stream's bytes are numbered from 1, EndOffset is
// master_repl_offset (the number of the last byte fed), FirstByteOffset is
// repl_backlog_first_byte_offset and HistLen is repl_backlog_histlen, with
// FirstByteOffset = EndOffset - HistLen + 1 at all times. A fresh backlog
// created at master_repl_offset N holds nothing and starts at N+1.
type Backlog struct {
	// buf grows as the stream is fed, up to size, as Redis's backlog does:
	// a replica attaching must not cost repl-backlog-size of memory at
	// once (memory that counts for maxmemory and would make the node
	// evict). While it grows, writeIdx is len(buf); once full it is a ring.
	buf       []byte
	size      int
	writeIdx  int   // next position in buf to write
	histLen   int64 // bytes of valid history in buf
	endOffset int64 // absolute offset of the last byte written
}

// NewBacklog returns an empty backlog of size bytes whose next byte will be
// stream offset masterReplOffset+1. size must be positive.
func NewBacklog(size int, masterReplOffset int64) *Backlog {
	if size <= 0 {
		panic(fmt.Sprintf("replication: backlog size %d must be positive", size))
	}
	return &Backlog{size: size, endOffset: masterReplOffset}
}

// Size returns the capacity (repl-backlog-size) in bytes.
func (b *Backlog) Size() int { return b.size }

// HistLen returns how many bytes of history the backlog holds.
func (b *Backlog) HistLen() int64 { return b.histLen }

// EndOffset returns the absolute offset of the last byte fed.
func (b *Backlog) EndOffset() int64 { return b.endOffset }

// FirstByteOffset returns the absolute offset of the oldest byte held (or
// EndOffset+1 when the backlog is empty), as INFO's
// repl_backlog_first_byte_offset.
func (b *Backlog) FirstByteOffset() int64 { return b.endOffset - b.histLen + 1 }

// Append feeds stream bytes; they take offsets EndOffset+1 onwards. When the
// ring is full the oldest bytes are overwritten.
func (b *Backlog) Append(p []byte) {
	if room := b.size - len(b.buf); room > 0 {
		// Still growing: the history is buf itself.
		n := min(room, len(p))
		if cap(b.buf)-len(b.buf) < n {
			grown := make([]byte, len(b.buf), min(b.size, max(2*cap(b.buf), len(b.buf)+n, 4096)))
			copy(grown, b.buf)
			b.buf = grown
		}
		b.buf = append(b.buf, p[:n]...)
		b.endOffset += int64(n)
		b.histLen += int64(n)
		b.writeIdx = len(b.buf) % b.size
		p = p[n:]
		if len(p) == 0 {
			return
		}
	}
	b.endOffset += int64(len(p))
	size := len(b.buf)
	if len(p) >= size {
		// Only the tail fits; it fills the ring exactly.
		copy(b.buf, p[len(p)-size:])
		b.writeIdx = 0
		b.histLen = int64(size)
		return
	}
	n := copy(b.buf[b.writeIdx:], p)
	if n < len(p) {
		copy(b.buf, p[n:])
	}
	b.writeIdx = (b.writeIdx + len(p)) % size
	b.histLen += int64(len(p))
	if b.histLen > int64(size) {
		b.histLen = int64(size)
	}
}

// Covers reports whether a replica whose next wanted byte is offset can be
// served from the backlog: FirstByteOffset <= offset <= EndOffset+1 (the
// upper bound means "nothing missing"), exactly Redis's PSYNC range check.
func (b *Backlog) Covers(offset int64) bool {
	return offset >= b.FirstByteOffset() && offset <= b.endOffset+1
}

// ReadFrom returns a copy of the bytes from absolute offset to EndOffset
// inclusive. It fails when Covers(offset) is false.
func (b *Backlog) ReadFrom(offset int64) ([]byte, error) {
	if !b.Covers(offset) {
		return nil, fmt.Errorf("replication: offset %d outside backlog [%d, %d]", offset, b.FirstByteOffset(), b.endOffset+1)
	}
	n := int(b.endOffset - offset + 1)
	out := make([]byte, n)
	size := len(b.buf)
	if n == 0 || size == 0 {
		return out, nil
	}
	start := ((b.writeIdx-n)%size + size) % size
	m := copy(out, b.buf[start:])
	if m < n {
		copy(out[m:], b.buf[:n-m])
	}
	return out, nil
}

// Resize changes the capacity, keeping the newest min(HistLen, size) bytes
// of history, so CONFIG SET repl-backlog-size does not force full resyncs
// on replicas that are only slightly behind.
func (b *Backlog) Resize(size int) {
	if size <= 0 || size == b.size {
		return
	}
	keep := b.histLen
	if keep > int64(size) {
		keep = int64(size)
	}
	data, _ := b.ReadFrom(b.endOffset - keep + 1)
	b.buf = data // full (a ring) if keep == size, else growing
	b.size = size
	b.writeIdx = int(keep) % size
	b.histLen = keep
}
