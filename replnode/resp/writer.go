package resp

import (
	"math"
	"strconv"
)

// Writer encodes replies for one protocol version into a growing buffer. It
// never touches a socket: the server flushes Bytes and calls Reset. In tests
// it is the recorder: call Bytes (or Replies) after running a handler.
//
// Aggregates are written as a header with the element count followed by the
// elements (ArrayLen(2); Bulk(a); Bulk(b)), so nesting costs nothing.
type Writer struct {
	buf   []byte
	proto int
}

// NewWriter returns a writer for protocol 2 or 3.
func NewWriter(proto int) *Writer {
	w := &Writer{}
	w.SetProto(proto)
	return w
}

// SetProto switches between RESP2 and RESP3 for the replies written next.
// Anything other than 3 means RESP2.
func (w *Writer) SetProto(proto int) {
	if proto != 3 {
		proto = 2
	}
	w.proto = proto
}

// Proto is the protocol version in force (2 or 3).
func (w *Writer) Proto() int { return w.proto }

// Bytes is the encoded output so far. It aliases the writer's buffer.
func (w *Writer) Bytes() []byte { return w.buf }

// Len is the number of encoded bytes so far.
func (w *Writer) Len() int { return len(w.buf) }

// Reset empties the buffer and keeps its memory.
func (w *Writer) Reset() { w.buf = w.buf[:0] }

// Truncate drops everything written after the first n bytes; handlers use
// it to take back a partial reply (n comes from Len).
func (w *Writer) Truncate(n int) { w.buf = w.buf[:n] }

// Raw appends already encoded protocol bytes.
func (w *Writer) Raw(b []byte) { w.buf = append(w.buf, b...) }

// header writes "<prefix><n>\r\n".
//
// Values under 100 (bulk lengths of elements, members and fields, array
// lengths, the 0 and 1 of HSET, SADD and ZADD) are written digit by digit
// instead of through strconv, as Redis keeps shared headers and integers
// for them (OBJ_SHARED_BULKHDR_LEN, OBJ_SHARED_INTEGERS): strconv was about
// a fifth of a pipelined LRANGE_100's CPU.
func (w *Writer) header(prefix byte, n int64) {
	switch {
	case n >= 0 && n < 10:
		w.buf = append(w.buf, prefix, byte('0'+n), '\r', '\n')
	case n >= 10 && n < 100:
		w.buf = append(w.buf, prefix, byte('0'+n/10), byte('0'+n%10), '\r', '\n')
	default:
		w.buf = append(w.buf, prefix)
		w.buf = strconv.AppendInt(w.buf, n, 10)
		w.buf = append(w.buf, '\r', '\n')
	}
}

// ---------------------------------------------------------------- scalars

// SimpleString writes "+s". s must not contain CR or LF.
func (w *Writer) SimpleString(s string) {
	w.buf = append(w.buf, '+')
	w.buf = append(w.buf, s...)
	w.buf = append(w.buf, '\r', '\n')
}

// OK writes "+OK".
func (w *Writer) OK() { w.buf = append(w.buf, "+OK\r\n"...) }

// Error writes "-msg". msg carries its own code ("ERR syntax error",
// "WRONGTYPE ..."). CR and LF are replaced by spaces, as Redis does, so an
// error can never break the stream.
func (w *Writer) Error(msg string) {
	w.buf = append(w.buf, '-')
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		w.buf = append(w.buf, c)
	}
	w.buf = append(w.buf, '\r', '\n')
}

// Int writes ":n".
func (w *Writer) Int(n int64) { w.header(':', n) }

// Bulk writes "$len\r\nb\r\n".
func (w *Writer) Bulk(b []byte) {
	w.header('$', int64(len(b)))
	w.buf = append(w.buf, b...)
	w.buf = append(w.buf, '\r', '\n')
}

// BulkString is Bulk for a string.
func (w *Writer) BulkString(s string) {
	w.header('$', int64(len(s)))
	w.buf = append(w.buf, s...)
	w.buf = append(w.buf, '\r', '\n')
}

// BulkInt writes n as a bulk string, as Redis's addReplyBulkLongLong.
func (w *Writer) BulkInt(n int64) {
	var tmp [24]byte
	w.Bulk(strconv.AppendInt(tmp[:0], n, 10))
}

// Null writes the null bulk string: "$-1" in RESP2, "_" in RESP3.
func (w *Writer) Null() {
	if w.proto == 3 {
		w.buf = append(w.buf, "_\r\n"...)
		return
	}
	w.buf = append(w.buf, "$-1\r\n"...)
}

// NullArray writes the null array: "*-1" in RESP2, "_" in RESP3.
func (w *Writer) NullArray() {
	if w.proto == 3 {
		w.buf = append(w.buf, "_\r\n"...)
		return
	}
	w.buf = append(w.buf, "*-1\r\n"...)
}

// Double writes a floating point number: in RESP3 ",<d>", in RESP2 a bulk
// string. Both use C's "%.17g" as Redis 7.0's addReplyDouble, with "inf" and
// "-inf" for infinities.
func (w *Writer) Double(d float64) {
	var tmp [40]byte
	s := AppendDouble(tmp[:0], d)
	if w.proto == 3 {
		w.buf = append(w.buf, ',')
		w.buf = append(w.buf, s...)
		w.buf = append(w.buf, '\r', '\n')
		return
	}
	w.Bulk(s)
}

// AppendDouble formats d as C's printf("%.17g") does, with Redis's "inf",
// "-inf" and "nan".
func AppendDouble(dst []byte, d float64) []byte {
	switch {
	case math.IsInf(d, 1):
		return append(dst, "inf"...)
	case math.IsInf(d, -1):
		return append(dst, "-inf"...)
	case math.IsNaN(d):
		return append(dst, "nan"...)
	}
	return strconv.AppendFloat(dst, d, 'g', 17, 64)
}

// Bool writes "#t"/"#f" in RESP3 and ":1"/":0" in RESP2.
func (w *Writer) Bool(b bool) {
	switch {
	case w.proto == 3 && b:
		w.buf = append(w.buf, "#t\r\n"...)
	case w.proto == 3:
		w.buf = append(w.buf, "#f\r\n"...)
	case b:
		w.buf = append(w.buf, ":1\r\n"...)
	default:
		w.buf = append(w.buf, ":0\r\n"...)
	}
}

// Verbatim writes a verbatim string with a three letter format ("txt",
// "mkd") in RESP3, and a plain bulk string in RESP2.
func (w *Writer) Verbatim(format, s string) {
	if w.proto != 3 {
		w.BulkString(s)
		return
	}
	w.header('=', int64(len(s)+4))
	w.buf = append(w.buf, format...)
	w.buf = append(w.buf, ':')
	w.buf = append(w.buf, s...)
	w.buf = append(w.buf, '\r', '\n')
}

// BigNumber writes "(n" in RESP3 and a bulk string in RESP2; n is the
// decimal text of the number.
func (w *Writer) BigNumber(n string) {
	if w.proto != 3 {
		w.BulkString(n)
		return
	}
	w.buf = append(w.buf, '(')
	w.buf = append(w.buf, n...)
	w.buf = append(w.buf, '\r', '\n')
}

// ---------------------------------------------------------------- aggregates

// ArrayLen starts an array of n elements.
func (w *Writer) ArrayLen(n int) { w.header('*', int64(n)) }

// MapLen starts a map of n key/value pairs: "%n" in RESP3, a flat array of
// 2n elements in RESP2.
func (w *Writer) MapLen(n int) {
	if w.proto == 3 {
		w.header('%', int64(n))
		return
	}
	w.header('*', int64(2*n))
}

// SetLen starts a set of n elements: "~n" in RESP3, an array in RESP2.
func (w *Writer) SetLen(n int) {
	if w.proto == 3 {
		w.header('~', int64(n))
		return
	}
	w.header('*', int64(n))
}

// PushLen starts an out-of-band push of n elements: ">n" in RESP3, an array
// in RESP2 (pub/sub messages).
func (w *Writer) PushLen(n int) {
	if w.proto == 3 {
		w.header('>', int64(n))
		return
	}
	w.header('*', int64(n))
}

// ---------------------------------------------------------------- deferred lengths

// DeferredLen marks an aggregate whose count is not known yet (Redis's
// addReplyDeferredLen). Finish it with SetArrayLen / SetMapLen.
type DeferredLen struct{ pos int }

// deferredPad is the room a deferred header takes: prefix, up to 19
// digits, CRLF.
const deferredPad = 22

// Deferred reserves room for an aggregate header to be filled in later.
func (w *Writer) Deferred() DeferredLen {
	d := DeferredLen{pos: len(w.buf)}
	for i := 0; i < deferredPad; i++ {
		w.buf = append(w.buf, 0)
	}
	return d
}

// SetArrayLen fills a deferred header as an array of n elements.
func (w *Writer) SetArrayLen(d DeferredLen, n int) { w.fill(d, '*', int64(n)) }

// SetMapLen fills a deferred header as a map of n pairs.
func (w *Writer) SetMapLen(d DeferredLen, n int) {
	if w.proto == 3 {
		w.fill(d, '%', int64(n))
		return
	}
	w.fill(d, '*', int64(2*n))
}

// SetSetLen fills a deferred header as a set of n elements.
func (w *Writer) SetSetLen(d DeferredLen, n int) {
	if w.proto == 3 {
		w.fill(d, '~', int64(n))
		return
	}
	w.fill(d, '*', int64(n))
}

// fill writes the header into the reserved room and closes the gap.
func (w *Writer) fill(d DeferredLen, prefix byte, n int64) {
	var tmp [deferredPad]byte
	h := append(tmp[:0], prefix)
	h = strconv.AppendInt(h, n, 10)
	h = append(h, '\r', '\n')
	copy(w.buf[d.pos:], h)
	w.buf = append(w.buf[:d.pos+len(h)], w.buf[d.pos+deferredPad:]...)
}
