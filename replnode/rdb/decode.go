package rdb

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"unsafe"

	"github.com/replnode/replnode/replnode/store"
)

// ---------------------------------------------------------------- errors

// FormatError is a decoding failure: what was wrong and the byte offset in
// the stream where the offending item starts.
type FormatError struct {
	Offset int64
	Key    string // the key being loaded, if any
	Msg    string
	// Err is the Handler's error when a callback refused the item, or
	// ErrTruncated, or a *ChecksumError: the cases Redis reports with their
	// own log lines.
	Err error
}

// ErrTruncated is the Err of a FormatError for a stream that ended before
// its end (Redis's "Short read").
var ErrTruncated = errors.New("rdb: unexpected end of file")

// ChecksumError is the Err of a FormatError for a CRC64 trailer that does
// not match the content.
type ChecksumError struct {
	Computed, Stored uint64
}

// Error names both values.
func (e *ChecksumError) Error() string {
	return fmt.Sprintf("wrong RDB checksum: file has %016x, content hashes to %016x", e.Stored, e.Computed)
}

// Unwrap returns the Handler's error, if any.
func (e *FormatError) Unwrap() error { return e.Err }

// Error formats the offset, the key being loaded (if any) and the problem.
func (e *FormatError) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("rdb: offset %d (key %q): %s", e.Offset, e.Key, e.Msg)
	}
	return fmt.Sprintf("rdb: offset %d: %s", e.Offset, e.Msg)
}

// ErrStop may be returned by a Handler callback to end loading early
// without an error (ReadAux uses it).
var ErrStop = errors.New("rdb: stop")

// maxStringLength bounds a single string, as proto-max-bulk-len does in
// Redis (512 MB).
const maxStringLength = 512 << 20

// scratchMax is the longest string read into Handler.Transient's scratch
// memory; longer ones get their own.
const scratchMax = 1 << 20

// LoadBufferSize is the read buffer Load uses.
const LoadBufferSize = 64 << 10

// ---------------------------------------------------------------- handler

// Entry is one key loaded from a stream.
type Entry struct {
	DB        int
	Key       string
	Value     store.Value
	ExpireAt  int64 // unix ms, meaningful when HasExpire
	HasExpire bool
	// LRU idle seconds and LFU frequency, when the file carried them.
	Idle    int64
	HasIdle bool
	Freq    int
	HasFreq bool
}

// Handler receives what a stream holds, in order. Nil callbacks ignore
// their items. A callback error stops loading; it is returned wrapped in a
// *FormatError that gives the offset of the refused item.
type Handler struct {
	Aux      func(key, value string) error
	SelectDB func(db int) error
	ResizeDB func(db int, keys, expires uint64) error
	Entry    func(e *Entry) error
	// Function receives function library code (FUNCTION2). When nil the
	// library is skipped and reported to Notice.
	Function func(code []byte) error
	// Notice receives a line about something loaded partially or skipped
	// (module aux data, functions, empty keys), for the server's log.
	Notice func(msg string)
	// Limits are the encoding thresholds the loaded hashes, sets and sorted
	// sets get, as Redis converts by its own config while loading (nil:
	// store.DefaultLimits).
	Limits *store.Limits
	// Transient says Entry copies what it keeps of e.Key and of a string
	// e.Value (as store.DB.Adopt does): both may then alias the decoder's
	// scratch memory, reused for the next key, so that loading a string
	// key allocates nothing.
	Transient bool
}

// Result describes a completed load.
type Result struct {
	Version int
	Bytes   int64 // bytes consumed, trailer included
	Keys    int64
	// Checksum is the trailer's value; Checked is false when the version
	// has none or the trailer was zero (written with rdbchecksum no).
	Checksum uint64
	Checked  bool
}

// ---------------------------------------------------------------- decoder

// decoder reads an RDB stream, tracking its offset and running checksum.
type decoder struct {
	r       *bufio.Reader
	off     int64
	crc     uint64
	version int
	key     []byte // key being loaded, for errors
	h       *Handler
	// keyBuf, valBuf and str are the scratch memory of Handler.Transient.
	keyBuf, valBuf []byte
	str            store.String
}

// Load decodes a complete RDB stream from r (header through checksum),
// reporting its content to h. It reads through a buffer: pass a
// *bufio.Reader of at least LoadBufferSize bytes (it is then used as is) when
// the bytes after the checksum must stay unread, as on a replication link.
func Load(r io.Reader, h Handler) (Result, error) {
	d := &decoder{r: bufio.NewReaderSize(r, LoadBufferSize), h: &h}
	res, err := d.load()
	if errors.Is(err, ErrStop) {
		err = nil
	}
	res.Bytes = d.off
	return res, err
}

// ReadAux returns the AUX fields at the top of an RDB stream (repl-id,
// repl-offset, ...), reading no further than the first other item.
func ReadAux(r io.Reader) (map[string]string, error) {
	aux := map[string]string{}
	d := &decoder{r: bufio.NewReaderSize(r, 4<<10), h: &Handler{}}
	if err := d.header(); err != nil {
		return nil, err
	}
	for {
		op, err := d.byte()
		if err != nil {
			return nil, err
		}
		if op != opAux {
			return aux, nil
		}
		k, err := d.string()
		if err != nil {
			return nil, err
		}
		v, err := d.string()
		if err != nil {
			return nil, err
		}
		aux[string(k)] = string(v)
	}
}

// fail builds a FormatError at offset off.
func (d *decoder) fail(off int64, format string, args ...any) error {
	return &FormatError{Offset: off, Key: string(d.key), Msg: fmt.Sprintf(format, args...)}
}

// handlerErr places a Handler callback's refusal at offset off. ErrStop
// passes through unchanged.
func (d *decoder) handlerErr(off int64, err error) error {
	if errors.Is(err, ErrStop) {
		return err
	}
	return &FormatError{Offset: off, Msg: err.Error(), Err: err}
}

// notice reports a skipped item.
func (d *decoder) notice(format string, args ...any) {
	if d.h.Notice != nil {
		d.h.Notice(fmt.Sprintf(format, args...))
	}
}

// read fills p from the stream, hashing it.
func (d *decoder) read(p []byte) error {
	// Copied out of the buffer (Peek, Discard) rather than through
	// io.ReadFull: p never reaches an interface, so the callers' small
	// arrays stay on the stack.
	for len(p) > 0 {
		buf, err := d.r.Peek(min(len(p), d.r.Size()))
		n := copy(p, buf)
		_, _ = d.r.Discard(n)
		d.crc = CRC64(d.crc, p[:n])
		d.off += int64(n)
		p = p[n:]
		if len(p) > 0 && err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				// Built here rather than by fail so that errors.Is(err,
				// ErrTruncated) holds: callers tell a short file from a bad one.
				return &FormatError{Offset: d.off, Key: string(d.key), Err: ErrTruncated,
					Msg: fmt.Sprintf("unexpected end of file (truncated: %d more bytes needed)", len(p))}
			}
			return d.fail(d.off, "read error: %v", err)
		}
	}
	return nil
}

// byte reads one byte.
func (d *decoder) byte() (byte, error) {
	var b [1]byte
	err := d.read(b[:])
	return b[0], err
}

// bytes reads n bytes, growing the buffer as data arrives so that a lying
// length on a short stream cannot force a large allocation.
func (d *decoder) bytes(n uint64) ([]byte, error) {
	if n > maxStringLength {
		return nil, d.fail(d.off, "string length %d exceeds the %d byte limit", n, maxStringLength)
	}
	const chunk = 1 << 20
	if n <= chunk {
		b := make([]byte, n)
		return b, d.read(b)
	}
	b := make([]byte, 0, chunk)
	for uint64(len(b)) < n {
		step := min(n-uint64(len(b)), chunk)
		b = append(b, make([]byte, step)...)
		if err := d.read(b[uint64(len(b))-step:]); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// header reads and checks the magic and version.
func (d *decoder) header() error {
	var b [9]byte
	if err := d.read(b[:]); err != nil {
		return err
	}
	if string(b[:5]) != magic {
		return d.fail(0, "wrong signature trying to load DB from file (not an RDB file)")
	}
	v, err := strconv.Atoi(string(b[5:]))
	if err != nil || v < MinVersion || v > Version {
		return d.fail(5, "can't handle RDB format version %q", b[5:])
	}
	d.version = v
	return nil
}

// length reads a length; encoded reports a special string encoding, whose
// kind is then the returned value.
func (d *decoder) length() (n uint64, encoded bool, err error) {
	start := d.off
	c, err := d.byte()
	if err != nil {
		return 0, false, err
	}
	switch c >> 6 {
	case len6Bit:
		return uint64(c & 0x3f), false, nil
	case len14Bit:
		b, err := d.byte()
		return uint64(c&0x3f)<<8 | uint64(b), false, err
	case lenEncVal:
		return uint64(c & 0x3f), true, nil
	}
	switch c {
	case len32Bit:
		var b [4]byte
		err := d.read(b[:])
		return uint64(binary.BigEndian.Uint32(b[:])), false, err
	case len64Bit:
		var b [8]byte
		err := d.read(b[:])
		return binary.BigEndian.Uint64(b[:]), false, err
	}
	return 0, false, d.fail(start, "unknown length encoding byte 0x%02x", c)
}

// plainLength reads a length that must not be a string encoding.
func (d *decoder) plainLength() (uint64, error) {
	start := d.off
	n, enc, err := d.length()
	if err == nil && enc {
		err = d.fail(start, "string encoding where a length was expected")
	}
	return n, err
}

// count reads an element count, which must be at least 1 when nonEmpty.
func (d *decoder) count() (int, error) {
	start := d.off
	n, err := d.plainLength()
	if err != nil {
		return 0, err
	}
	if n > math.MaxInt32 {
		return 0, d.fail(start, "element count %d is not plausible", n)
	}
	return int(n), nil
}

// string reads a string in any of its encodings.
func (d *decoder) string() ([]byte, error) { return d.stringInto(nil) }

// stringInto is string that, with scratch not nil, reads a plain string of
// up to scratchMax bytes into *scratch (grown as needed) rather than new
// memory: the result is then valid until the next use of scratch.
func (d *decoder) stringInto(scratch *[]byte) ([]byte, error) {
	start := d.off
	n, enc, err := d.length()
	if err != nil {
		return nil, err
	}
	if !enc {
		if scratch != nil && n <= scratchMax {
			b := slices.Grow((*scratch)[:0], int(n))[:n]
			*scratch = b
			return b, d.read(b)
		}
		return d.bytes(n)
	}
	switch n {
	case encInt8:
		b, err := d.byte()
		return strconv.AppendInt(nil, int64(int8(b)), 10), err
	case encInt16:
		var b [2]byte
		err := d.read(b[:])
		return strconv.AppendInt(nil, int64(int16(binary.LittleEndian.Uint16(b[:]))), 10), err
	case encInt32:
		var b [4]byte
		err := d.read(b[:])
		return strconv.AppendInt(nil, int64(int32(binary.LittleEndian.Uint32(b[:]))), 10), err
	case encLZF:
		clen, err := d.plainLength()
		if err != nil {
			return nil, err
		}
		ulen, err := d.plainLength()
		if err != nil {
			return nil, err
		}
		// A back reference of 3 bytes expands to at most 264.
		if ulen > maxStringLength || clen == 0 || ulen/88 > clen {
			return nil, d.fail(start, "LZF string of %d bytes cannot expand to %d", clen, ulen)
		}
		c, err := d.bytes(clen)
		if err != nil {
			return nil, err
		}
		out, err := lzfDecompress(c, int(ulen))
		if err != nil {
			return nil, d.fail(start, "%v", err)
		}
		return out, nil
	}
	return nil, d.fail(start, "unknown string encoding %d", n)
}

// ---------------------------------------------------------------- top level

// load reads the whole stream.
func (d *decoder) load() (Result, error) {
	res := Result{}
	if err := d.header(); err != nil {
		return res, err
	}
	res.Version = d.version
	db := 0
	var e Entry
	for {
		start := d.off
		op, err := d.byte()
		if err != nil {
			return res, err
		}
		switch op {
		case opEOF:
			return res, d.trailer(&res)
		case opSelectDB:
			n, err := d.plainLength()
			if err != nil {
				return res, err
			}
			if n > math.MaxInt32 {
				return res, d.fail(start, "database number %d out of range", n)
			}
			db = int(n)
			if d.h.SelectDB != nil {
				if err := d.h.SelectDB(db); err != nil {
					return res, d.handlerErr(start, err)
				}
			}
		case opResizeDB:
			keys, err := d.plainLength()
			if err != nil {
				return res, err
			}
			exp, err := d.plainLength()
			if err != nil {
				return res, err
			}
			if d.h.ResizeDB != nil {
				if err := d.h.ResizeDB(db, keys, exp); err != nil {
					return res, d.handlerErr(start, err)
				}
			}
		case opAux:
			k, err := d.string()
			if err != nil {
				return res, err
			}
			v, err := d.string()
			if err != nil {
				return res, err
			}
			if d.h.Aux != nil {
				if err := d.h.Aux(string(k), string(v)); err != nil {
					return res, d.handlerErr(start, err)
				}
			}
		case opModuleAux:
			if err := d.skipModuleAux(start); err != nil {
				return res, err
			}
		case opFunction2:
			code, err := d.string()
			if err != nil {
				return res, err
			}
			if d.h.Function != nil {
				if err := d.h.Function(code); err != nil {
					return res, d.handlerErr(start, err)
				}
			} else {
				d.notice("skipped a function library at offset %d (%d bytes): functions are not supported", start, len(code))
			}
		case opFunction:
			return res, d.fail(start, "pre-release function format not supported")
		case opExpireTimeMs:
			var b [8]byte
			if err := d.read(b[:]); err != nil {
				return res, err
			}
			e.ExpireAt, e.HasExpire = int64(binary.LittleEndian.Uint64(b[:])), true
		case opExpireTimeSec:
			var b [4]byte
			if err := d.read(b[:]); err != nil {
				return res, err
			}
			e.ExpireAt, e.HasExpire = int64(int32(binary.LittleEndian.Uint32(b[:])))*1000, true
		case opIdle:
			n, err := d.plainLength()
			if err != nil {
				return res, err
			}
			e.Idle, e.HasIdle = int64(n), true
		case opFreq:
			b, err := d.byte()
			if err != nil {
				return res, err
			}
			e.Freq, e.HasFreq = int(b), true
		default:
			if err := d.entry(start, op, db, &e); err != nil {
				return res, err
			}
			if e.Value != nil {
				res.Keys++
				if d.h.Entry != nil {
					if err := d.h.Entry(&e); err != nil {
						return res, d.handlerErr(start, err)
					}
				}
			}
			e = Entry{}
		}
	}
}

// entry reads one key and value of type op into e. An empty aggregate is
// skipped (e.Value stays nil) as Redis does.
func (d *decoder) entry(start int64, op byte, db int, e *Entry) error {
	if !isValueType(op) {
		return d.fail(start, "unknown opcode or value type %d", op)
	}
	var key []byte
	var err error
	if d.h.Transient {
		key, err = d.stringInto(&d.keyBuf)
	} else {
		key, err = d.string()
	}
	if err != nil {
		return err
	}
	d.key = key
	v, err := d.value(start, op)
	d.key = nil
	if err != nil {
		return err
	}
	e.DB, e.Value = db, v
	if d.h.Transient {
		e.Key = unsafe.String(unsafe.SliceData(key), len(key))
	} else {
		e.Key = string(key)
	}
	if v == nil {
		d.notice("skipped empty key %q at offset %d", key, start)
	}
	return nil
}

// isValueType reports whether op is an RDB value type code.
func isValueType(op byte) bool {
	return op <= maxKnownType && op != 8
}

// trailer checks the CRC64 that follows EOF.
func (d *decoder) trailer(res *Result) error {
	if d.version < checksumSinceVersion {
		return nil
	}
	want := d.crc
	start := d.off
	var b [8]byte
	if err := d.read(b[:]); err != nil {
		return err
	}
	res.Checksum = binary.LittleEndian.Uint64(b[:])
	if res.Checksum == 0 {
		return nil
	}
	if res.Checksum != want {
		ce := &ChecksumError{Computed: want, Stored: res.Checksum}
		return &FormatError{Offset: start, Msg: ce.Error(), Err: ce}
	}
	res.Checked = true
	return nil
}

// skipModuleAux reads past a module AUX record, which needs the module to
// be understood, and reports it.
func (d *decoder) skipModuleAux(start int64) error {
	id, err := d.plainLength()
	if err != nil {
		return err
	}
	whenOp, err := d.plainLength()
	if err != nil {
		return err
	}
	if _, err := d.plainLength(); err != nil {
		return err
	}
	if whenOp != moduleOpUInt {
		return d.fail(start, "bad when_opcode %d in module aux data", whenOp)
	}
	if err := d.skipModuleValue(); err != nil {
		return err
	}
	d.notice("skipped AUX data of module %q at offset %d: modules are not supported", moduleName(id), start)
	return nil
}

// skipModuleValue reads past a module value stored with opcodes.
func (d *decoder) skipModuleValue() error {
	for {
		start := d.off
		op, err := d.plainLength()
		if err != nil {
			return err
		}
		switch op {
		case moduleOpEOF:
			return nil
		case moduleOpSInt, moduleOpUInt:
			_, err = d.plainLength()
		case moduleOpFloat:
			err = d.read(make([]byte, 4))
		case moduleOpDouble:
			err = d.read(make([]byte, 8))
		case moduleOpString:
			_, err = d.string()
		default:
			return d.fail(start, "unknown module value opcode %d", op)
		}
		if err != nil {
			return err
		}
	}
}

// moduleName decodes the 9-character type name packed in a module ID
// (moduleTypeNameByID).
func moduleName(id uint64) string {
	const charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var name [9]byte
	id >>= 10
	for j := 8; j >= 0; j-- {
		name[j] = charset[id&63]
		id >>= 6
	}
	return string(name[:])
}
