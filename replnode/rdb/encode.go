package rdb

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"unsafe"

	"github.com/replnode/replnode/replnode/store"
)

// ---------------------------------------------------------------- options

// Options are the redis.conf settings that change what the encoder writes.
type Options struct {
	// Compress is `rdbcompression`: LZF for strings longer than 20 bytes
	// when that saves space.
	Compress bool
	// Checksum is `rdbchecksum`: without it the trailer is 8 zero bytes,
	// which loaders take as "not checksummed".
	Checksum bool
}

// DefaultOptions are Redis 7.0's defaults.
var DefaultOptions = Options{Compress: true, Checksum: true}

// quicklistNodeBytes is the listpack size a quicklist node is filled to
// before a new one starts: Redis's default list-max-listpack-size -2 (8 kB).
const quicklistNodeBytes = 8192

// ---------------------------------------------------------------- encoder

// Encoder writes an RDB stream. Calls must come in the order of the format:
// Header, Aux fields, Function libraries, then per database SelectDB,
// ResizeDB and its entries, and finally Finish. The first write error is
// kept: later calls do nothing and Finish (or Err) returns it.
//
// Everything is appended to one buffer that goes to the writer (and
// through the checksum) encoderFlushBytes at a time: a full sync writes the
// socket in large pieces, and encoding a key costs no call per field and
// no allocation.
type Encoder struct {
	w   io.Writer
	buf []byte
	opt Options
	crc uint64
	n   int64 // bytes handed to w
	err error
	lzf lzfCompressor
	// lp, blob and num are scratch memory for building listpacks, reused
	// from one value to the next.
	lp        listpackBuilder
	blob, num []byte
}

// encoderFlushBytes is the size of the writes an Encoder makes.
const encoderFlushBytes = 256 << 10

// NewEncoder returns an encoder writing to w with the given options. The
// buffer grows as needed up to encoderFlushBytes, so a small payload
// (DUMP) does not pay for a large one.
func NewEncoder(w io.Writer, opt Options) *Encoder {
	return &Encoder{w: w, opt: opt}
}

// Err returns the first error met, if any.
func (e *Encoder) Err() error { return e.err }

// Written is the number of bytes produced so far (buffered or not).
func (e *Encoder) Written() int64 { return e.n + int64(len(e.buf)) }

// write appends p to the stream. A piece larger than the buffer goes to
// the writer directly after what is buffered.
func (e *Encoder) write(p []byte) {
	if len(p) >= encoderFlushBytes {
		e.flush()
		e.emit(p)
		return
	}
	e.buf = append(e.buf, p...)
	e.maybeFlush()
}

// writeByte appends one byte.
func (e *Encoder) writeByte(b byte) {
	e.buf = append(e.buf, b)
	e.maybeFlush()
}

// maybeFlush writes the buffer out once it is full.
func (e *Encoder) maybeFlush() {
	if len(e.buf) >= encoderFlushBytes {
		e.flush()
	}
}

// flush writes the buffered bytes out.
func (e *Encoder) flush() {
	e.emit(e.buf)
	e.buf = e.buf[:0]
}

// emit checksums p and writes it; after an error it does nothing.
func (e *Encoder) emit(p []byte) {
	if e.err != nil || len(p) == 0 {
		return
	}
	if e.opt.Checksum {
		e.crc = CRC64(e.crc, p)
	}
	_, e.err = e.w.Write(p)
	e.n += int64(len(p))
}

// Header writes the magic string and the RDB version.
func (e *Encoder) Header() {
	e.buf = fmt.Appendf(e.buf, "%s%04d", magic, Version)
}

// Aux writes one AUX field.
func (e *Encoder) Aux(key, value string) {
	e.writeByte(opAux)
	e.writeString([]byte(key))
	e.writeString([]byte(value))
}

// Function writes one function library (FUNCTION2 opcode) with its code.
func (e *Encoder) Function(code []byte) {
	e.writeByte(opFunction2)
	e.writeString(code)
}

// SelectDB starts database n.
func (e *Encoder) SelectDB(n int) {
	e.writeByte(opSelectDB)
	e.writeLen(uint64(n))
}

// ResizeDB writes the size hints of the current database.
func (e *Encoder) ResizeDB(keys, expires int) {
	e.writeByte(opResizeDB)
	e.writeLen(uint64(keys))
	e.writeLen(uint64(expires))
}

// Entry writes one key with its value and, if hasExpire, its absolute
// expiry time in unix ms.
func (e *Encoder) Entry(key string, v store.Value, expireAt int64, hasExpire bool) {
	if hasExpire {
		e.buf = append(e.buf, opExpireTimeMs)
		e.buf = binary.LittleEndian.AppendUint64(e.buf, uint64(expireAt))
	}
	e.buf = append(e.buf, valueType(v))
	// The key is only read: no copy of it is made.
	e.writeString(unsafe.Slice(unsafe.StringData(key), len(key)))
	e.writeValue(v)
}

// Finish writes the EOF opcode and the checksum trailer and flushes.
func (e *Encoder) Finish() error {
	e.writeByte(opEOF)
	e.flush() // the checksum covers everything up to here
	var b [8]byte
	if e.opt.Checksum {
		binary.LittleEndian.PutUint64(b[:], e.crc)
	}
	e.write(b[:])
	e.flush()
	return e.err
}

// ---------------------------------------------------------------- whole snapshots

// AuxInfo is the content of the AUX fields Redis 7.0 writes at the top of
// a snapshot.
type AuxInfo struct {
	RedisVer string // redis-ver
	CTime    int64  // ctime, unix seconds
	UsedMem  int64  // used-mem
	// Replication info, written only when HasRepl is set (as Redis does
	// when it has a replication ID to hand to replicas).
	HasRepl      bool
	ReplStreamDB int    // repl-stream-db
	ReplID       string // repl-id
	ReplOffset   int64  // repl-offset
	// AOFBase is set for the base file of an append-only file (aof-base 1).
	AOFBase bool
	// Functions are the FUNCTION libraries' codes, written after the AUX
	// fields (FUNCTION2), as Redis 7.0's rdbSaveFunctions.
	Functions [][]byte
}

// WriteAuxFields writes the AUX fields of info in Redis 7.0's order, then
// info's function libraries, which follow them in the format.
func (e *Encoder) WriteAuxFields(info AuxInfo) {
	e.Aux("redis-ver", info.RedisVer)
	e.Aux("redis-bits", "64")
	e.Aux("ctime", strconv.FormatInt(info.CTime, 10))
	e.Aux("used-mem", strconv.FormatInt(info.UsedMem, 10))
	if info.HasRepl {
		e.Aux("repl-stream-db", strconv.Itoa(info.ReplStreamDB))
		e.Aux("repl-id", info.ReplID)
		e.Aux("repl-offset", strconv.FormatInt(info.ReplOffset, 10))
	}
	if info.AOFBase {
		e.Aux("aof-base", "1")
	} else {
		e.Aux("aof-base", "0")
	}
	for _, code := range info.Functions {
		e.Function(code)
	}
}

// WriteSnapshot writes a complete RDB stream: header, the AUX fields of
// info, every non-empty database of dbs (index = database number; nil
// entries are skipped), EOF and checksum.
func WriteSnapshot(w io.Writer, dbs []*store.Snapshot, info AuxInfo, opt Options) error {
	return WriteSnapshotFunc(w, dbs, info, opt, nil)
}

// WriteSnapshotFunc is WriteSnapshot calling beforeKey, when not nil,
// before each key: its error (a cancelled save) stops the writing and is
// returned.
func WriteSnapshotFunc(w io.Writer, dbs []*store.Snapshot, info AuxInfo, opt Options, beforeKey func() error) error {
	e := NewEncoder(w, opt)
	e.Header()
	e.WriteAuxFields(info)
	for i, s := range dbs {
		if s == nil || s.Len() == 0 {
			continue
		}
		e.SelectDB(i)
		e.ResizeDB(s.Len(), s.ExpiresLen())
		err := s.ForEach(func(key string, v store.Value, expireAt int64, hasExpire bool) error {
			if beforeKey != nil {
				if err := beforeKey(); err != nil {
					return err
				}
			}
			e.Entry(key, v, expireAt, hasExpire)
			return e.err
		})
		if err != nil {
			return err
		}
	}
	return e.Finish()
}

// ---------------------------------------------------------------- DUMP payloads

// DumpPayload serialises v as DUMP does: the value's type byte and body,
// then the RDB version (2 bytes, little endian), then the CRC64 of all that
// (8 bytes, little endian).
func DumpPayload(v store.Value, opt Options) []byte {
	var buf sliceWriter
	e := NewEncoder(&buf, Options{Compress: opt.Compress})
	e.writeByte(valueType(v))
	e.writeValue(v)
	e.flush() // a sliceWriter never fails
	out := binary.LittleEndian.AppendUint16(buf.b, Version)
	return binary.LittleEndian.AppendUint64(out, CRC64(0, out))
}

// sliceWriter is an io.Writer appending to a slice.
type sliceWriter struct{ b []byte }

// Write appends p; it never fails.
func (s *sliceWriter) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

// ---------------------------------------------------------------- lengths and strings

// writeLen writes n in the RDB length encoding.
func (e *Encoder) writeLen(n uint64) {
	e.buf = appendLen(e.buf, n)
	e.maybeFlush()
}

// appendLen appends n in the RDB length encoding.
func appendLen(b []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(b, byte(n))
	case n < 1<<14:
		return append(b, byte(len14Bit<<6|n>>8), byte(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, len32Bit), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, len64Bit), n)
}

// writeString writes s as Redis's rdbSaveRawString does: short canonical
// integers in the integer encodings, long strings LZF-compressed when that
// is enabled and saves space, everything else length-prefixed.
func (e *Encoder) writeString(s []byte) {
	if len(s) <= intEncodeMaxLength {
		if n, ok := canonicalInt(s); ok && e.writeIntEncoded(n) {
			return
		}
	}
	if e.opt.Compress && len(s) > lzfMinLength {
		if c := e.lzf.compress(s, len(s)-4); c != nil {
			e.buf = append(e.buf, lenEncVal<<6|encLZF)
			e.buf = appendLen(e.buf, uint64(len(c)))
			e.buf = appendLen(e.buf, uint64(len(s)))
			e.write(c)
			return
		}
	}
	e.buf = appendLen(e.buf, uint64(len(s)))
	e.write(s)
}

// writeIntEncoded writes n in the smallest integer string encoding, or
// reports false if it does not fit 32 bits.
func (e *Encoder) writeIntEncoded(n int64) bool {
	switch {
	case n >= math.MinInt8 && n <= math.MaxInt8:
		e.buf = append(e.buf, lenEncVal<<6|encInt8, byte(n))
	case n >= math.MinInt16 && n <= math.MaxInt16:
		e.buf = append(e.buf, lenEncVal<<6|encInt16, byte(n), byte(n>>8))
	case n >= math.MinInt32 && n <= math.MaxInt32:
		e.buf = append(e.buf, lenEncVal<<6|encInt32, byte(n), byte(n>>8), byte(n>>16), byte(n>>24))
	default:
		return false
	}
	e.maybeFlush()
	return true
}

// canonicalInt is store.ParseCanonicalInt behind a cheap byte check, so
// the common non-numeric string costs no parse attempt.
func canonicalInt(s []byte) (int64, bool) {
	if len(s) == 0 || len(s) > 20 {
		return 0, false
	}
	for i, c := range s {
		if (c < '0' || c > '9') && (i != 0 || c != '-') {
			return 0, false
		}
	}
	return store.ParseCanonicalInt(s)
}

// ---------------------------------------------------------------- values

// valueType is the RDB type code the encoder uses for v: the one Redis 7.0
// writes for the same encoding.
func valueType(v store.Value) byte {
	switch v := v.(type) {
	case *store.String:
		return typeString
	case *store.List:
		return typeListQuicklist2
	case *store.Set:
		if v.IsIntset() {
			return typeSetIntset
		}
		return typeSet
	case *store.ZSet:
		if v.Encoding() == "listpack" {
			return typeZSetListpack
		}
		return typeZSet2
	case *store.Hash:
		if v.Encoding() == "listpack" {
			return typeHashListpack
		}
		return typeHash
	case *store.Stream:
		return typeStreamListpacks2
	}
	panic(fmt.Sprintf("rdb: no RDB type for %T", v))
}

// writeValue writes the body of v in the format valueType chose.
func (e *Encoder) writeValue(v store.Value) {
	switch v := v.(type) {
	case *store.Stream:
		e.writeStream(v)
	case *store.String:
		e.writeString(v.B)
	case *store.List:
		e.writeQuicklist(v)
	case *store.Set:
		if v.IsIntset() {
			ints := make([]int64, 0, v.Len())
			v.Range(func(m []byte) bool {
				n, _ := store.ParseCanonicalInt(m)
				ints = append(ints, n)
				return true
			})
			e.writeString(encodeIntset(ints))
			return
		}
		e.writeLen(uint64(v.Len()))
		v.Range(func(m []byte) bool { e.writeString(m); return e.err == nil })
	case *store.ZSet:
		if v.Encoding() == "listpack" {
			lp := e.listpack()
			v.Range(func(m []byte, score float64) bool {
				lp.append(m)
				e.num = appendScore(e.num[:0], score)
				lp.append(e.num)
				return true
			})
			e.writeListpack(lp)
			return
		}
		e.writeLen(uint64(v.Len()))
		var b [8]byte
		v.Range(func(m []byte, score float64) bool {
			e.writeString(m)
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(score))
			e.write(b[:])
			return e.err == nil
		})
	case *store.Hash:
		if v.Encoding() == "listpack" {
			lp := e.listpack()
			v.Range(func(f, val []byte) bool {
				lp.append(f)
				lp.append(val)
				return true
			})
			e.writeListpack(lp)
			return
		}
		e.writeLen(uint64(v.Len()))
		v.Range(func(f, val []byte) bool {
			e.writeString(f)
			e.writeString(val)
			return e.err == nil
		})
	}
}

// writeStream writes a stream as RDB_TYPE_STREAM_LISTPACKS_2: each node's
// 128-bit master ID and listpack, the stream's counters, then every group
// with its PEL (IDs, delivery times and counts) and its consumers with
// their own PELs (IDs only), as rdbSaveObject does.
func (e *Encoder) writeStream(s *store.Stream) {
	nodes := s.RawNodes()
	e.writeLen(uint64(len(nodes)))
	for _, n := range nodes {
		e.writeString(store.EncodeStreamID(n.Master))
		var lp listpackBuilder
		for _, el := range n.Elems {
			if el.IsInt {
				lp.appendInt(el.Int)
			} else {
				lp.append(el.Str)
			}
		}
		e.writeString(lp.finish())
	}
	e.writeLen(s.Len())
	e.writeLen(s.LastID.Ms)
	e.writeLen(s.LastID.Seq)
	e.writeLen(s.FirstID.Ms)
	e.writeLen(s.FirstID.Seq)
	e.writeLen(s.MaxDeletedID.Ms)
	e.writeLen(s.MaxDeletedID.Seq)
	e.writeLen(s.EntriesAdded)
	groups := s.Groups()
	e.writeLen(uint64(len(groups)))
	var b [8]byte
	for _, g := range groups {
		e.writeString(g.Name)
		e.writeLen(g.LastID.Ms)
		e.writeLen(g.LastID.Seq)
		e.writeLen(uint64(g.EntriesRead))
		e.writeLen(uint64(g.PEL.Len()))
		g.PEL.Ascend(func(id store.StreamID, nack *store.PendingEntry) bool {
			e.write(store.EncodeStreamID(id))
			binary.LittleEndian.PutUint64(b[:], uint64(nack.DeliveryTime))
			e.write(b[:])
			e.writeLen(nack.DeliveryCount)
			return true
		})
		consumers := g.Consumers()
		e.writeLen(uint64(len(consumers)))
		for _, c := range consumers {
			e.writeString(c.Name)
			binary.LittleEndian.PutUint64(b[:], uint64(c.SeenTime))
			e.write(b[:])
			e.writeLen(uint64(c.PEL.Len()))
			c.PEL.Ascend(func(id store.StreamID, _ *store.PendingEntry) bool {
				e.write(store.EncodeStreamID(id))
				return true
			})
		}
	}
}

// writeQuicklist writes a list as a quicklist v2: packed listpack nodes of
// up to quicklistNodeBytes each. An element that alone exceeds the node
// size gets a node of its own.
func (e *Encoder) writeQuicklist(l *store.List) {
	// Every node but the last is kept until the count is known; a list of
	// one node (the common short list) is built in scratch memory only.
	var full [][]byte
	lp := e.listpack()
	l.Range(func(elem []byte) bool {
		before := len(lp.body)
		lp.append(elem)
		if lp.count > 1 && lp.size() > quicklistNodeBytes {
			// elem overflows the node: the node ends before it.
			entry := append(e.num[:0], lp.body[before:]...)
			e.num = entry
			lp.body, lp.count = lp.body[:before], lp.count-1
			full = append(full, lp.finishTo(nil))
			lp.body, lp.count = append(lp.body[:0], entry...), 1
		}
		return true
	})
	nodes := len(full)
	if lp.count > 0 {
		nodes++
	}
	e.writeLen(uint64(nodes))
	for _, n := range full {
		e.writeLen(quicklistNodePacked)
		e.writeString(n)
	}
	if lp.count > 0 {
		e.writeLen(quicklistNodePacked)
		e.writeListpack(lp)
	}
}

// listpack returns the encoder's listpack builder, emptied.
func (e *Encoder) listpack() *listpackBuilder {
	e.lp.body, e.lp.count = e.lp.body[:0], 0
	return &e.lp
}

// writeListpack writes the finished listpack of lp as a string.
func (e *Encoder) writeListpack(lp *listpackBuilder) {
	e.blob = lp.finishTo(e.blob[:0])
	e.writeString(e.blob)
}

// formatScore spells a sorted-set score the way it is stored in a listpack:
// integral values as integers (which the listpack then stores as numbers),
// others in the shortest form that reads back exactly.
func formatScore(f float64) []byte { return appendScore(nil, f) }

// appendScore appends formatScore(f) to b.
func appendScore(b []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	case f == math.Trunc(f) && math.Abs(f) < 1<<53 && !(f == 0 && math.Signbit(f)):
		return strconv.AppendInt(b, int64(f), 10)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// ---------------------------------------------------------------- intset and listpack builders

// encodeIntset returns the intset blob for the ascending integers ints,
// using the narrowest width that holds them all.
func encodeIntset(ints []int64) []byte {
	width := intsetEnc16
	for _, n := range ints {
		if n < math.MinInt32 || n > math.MaxInt32 {
			width = intsetEnc64
			break
		}
		if n < math.MinInt16 || n > math.MaxInt16 {
			width = intsetEnc32
		}
	}
	b := make([]byte, 8, 8+width*len(ints))
	binary.LittleEndian.PutUint32(b[0:], uint32(width))
	binary.LittleEndian.PutUint32(b[4:], uint32(len(ints)))
	for _, n := range ints {
		switch width {
		case intsetEnc16:
			b = binary.LittleEndian.AppendUint16(b, uint16(n))
		case intsetEnc32:
			b = binary.LittleEndian.AppendUint32(b, uint32(n))
		default:
			b = binary.LittleEndian.AppendUint64(b, uint64(n))
		}
	}
	return b
}

// listpackBuilder accumulates listpack entries.
type listpackBuilder struct {
	body  []byte
	count int
}

// size is the listpack's size if finished now.
func (lp *listpackBuilder) size() int { return lpHdrSize + len(lp.body) + 1 }

// append adds one entry: canonical integers as numbers, as lpAppend does.
func (lp *listpackBuilder) append(s []byte) {
	lp.body = appendListpackEntry(lp.body, s)
	lp.count++
}

// appendInt adds an integer entry, as lpAppendInteger does.
func (lp *listpackBuilder) appendInt(n int64) {
	lp.body = appendListpackEntry(lp.body, strconv.AppendInt(nil, n, 10))
	lp.count++
}

// finish returns the complete listpack.
func (lp *listpackBuilder) finish() []byte { return lp.finishTo(make([]byte, 0, lp.size())) }

// finishTo appends the complete listpack to b.
func (lp *listpackBuilder) finishTo(b []byte) []byte {
	total := lp.size()
	n := lp.count
	if n > lpNumElemsUnknown {
		n = lpNumElemsUnknown
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(total))
	b = binary.LittleEndian.AppendUint16(b, uint16(n))
	b = append(b, lp.body...)
	return append(b, lpEOF)
}

// appendListpackEntry appends the encoding of s and its back length.
func appendListpackEntry(b []byte, s []byte) []byte {
	start := len(b)
	if n, ok := canonicalInt(s); ok {
		switch {
		case n >= 0 && n <= 127:
			b = append(b, byte(n))
		case n >= -4096 && n <= 4095:
			u := uint16(n) & 0x1fff
			b = append(b, lpEnc13BitInt|byte(u>>8), byte(u))
		case n >= math.MinInt16 && n <= math.MaxInt16:
			b = append(b, lpEnc16BitInt, byte(n), byte(n>>8))
		case n >= -(1<<23) && n < 1<<23:
			b = append(b, lpEnc24BitInt, byte(n), byte(n>>8), byte(n>>16))
		case n >= math.MinInt32 && n <= math.MaxInt32:
			b = append(b, lpEnc32BitInt, byte(n), byte(n>>8), byte(n>>16), byte(n>>24))
		default:
			b = append(b, lpEnc64BitInt)
			b = binary.LittleEndian.AppendUint64(b, uint64(n))
		}
	} else {
		switch l := len(s); {
		case l < 64:
			b = append(b, lpEnc6BitStr|byte(l))
		case l < 4096:
			b = append(b, lpEnc12BitStr|byte(l>>8), byte(l))
		default:
			b = append(b, lpEnc32BitStr)
			b = binary.LittleEndian.AppendUint32(b, uint32(l))
		}
		b = append(b, s...)
	}
	return appendBacklen(b, len(b)-start)
}

// appendBacklen appends the reverse-readable length l of the entry just
// written (lpEncodeBacklen).
func appendBacklen(b []byte, l int) []byte {
	switch {
	case l <= 127:
		return append(b, byte(l))
	case l < 16383:
		return append(b, byte(l>>7), byte(l&127)|128)
	case l < 2097151:
		return append(b, byte(l>>14), byte((l>>7)&127)|128, byte(l&127)|128)
	case l < 268435455:
		return append(b, byte(l>>21), byte((l>>14)&127)|128, byte((l>>7)&127)|128, byte(l&127)|128)
	}
	return append(b, byte(l>>28), byte((l>>21)&127)|128, byte((l>>14)&127)|128, byte((l>>7)&127)|128, byte(l&127)|128)
}

// backlenSize is the number of bytes appendBacklen uses for l.
func backlenSize(l int) int {
	switch {
	case l <= 127:
		return 1
	case l < 16383:
		return 2
	case l < 2097151:
		return 3
	case l < 268435455:
		return 4
	}
	return 5
}
