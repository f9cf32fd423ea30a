package resp

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"strings"
)

// Reply is a decoded reply, RESP2 or RESP3. Tests read a Writer's output
// back with ReadReply; the test client in package redistest reads a
// server's. Type is the RESP type byte: '+' '-' ':' '$' '*' '%' '~' '>' '_'
// ',' '#' '=' '('.
type Reply struct {
	Type  byte
	Str   string  // simple, error, bulk, verbatim (without "txt:"), big number, double text
	Int   int64   // integer, bool (1/0)
	Elems []Reply // array, set, push; map as k1 v1 k2 v2...
	Null  bool    // $-1, *-1 or _
}

// ErrIncomplete means the buffer ends inside a reply.
var ErrIncomplete = errors.New("resp: incomplete reply")

// ReadReply decodes one reply from the start of buf and returns it with the
// number of bytes used. It returns ErrIncomplete if buf ends early.
func ReadReply(buf []byte) (Reply, int, error) {
	nl := bytes.Index(buf, []byte("\r\n"))
	if nl < 0 {
		return Reply{}, 0, ErrIncomplete
	}
	if nl == 0 {
		return Reply{}, 0, errors.New("resp: empty reply line")
	}
	t, line := buf[0], string(buf[1:nl])
	pos := nl + 2
	r := Reply{Type: t}
	switch t {
	case '+', '-', ',', '(':
		r.Str = line
		return r, pos, nil
	case ':':
		n, err := strconv.ParseInt(line, 10, 64)
		if err != nil {
			return r, 0, errors.New("resp: bad integer " + strconv.Quote(line))
		}
		r.Int = n
		return r, pos, nil
	case '#':
		r.Int = 0
		if line == "t" {
			r.Int = 1
		}
		return r, pos, nil
	case '_':
		r.Null = true
		return r, pos, nil
	case '$', '=':
		n, err := strconv.Atoi(line)
		if err != nil {
			return r, 0, errors.New("resp: bad bulk length " + strconv.Quote(line))
		}
		if n < 0 {
			r.Null = true
			return r, pos, nil
		}
		if n > len(buf)-pos-2 { // not pos+n+2: n may be near MaxInt
			return r, 0, ErrIncomplete
		}
		r.Str = string(buf[pos : pos+n])
		if t == '=' && len(r.Str) >= 4 {
			r.Str = r.Str[4:]
		}
		return r, pos + n + 2, nil
	case '*', '%', '~', '>', '|':
		n, err := strconv.Atoi(line)
		if err != nil {
			return r, 0, errors.New("resp: bad aggregate length " + strconv.Quote(line))
		}
		if n < 0 {
			r.Null = true
			return r, pos, nil
		}
		if t == '%' || t == '|' {
			if n > math.MaxInt/2 {
				return r, 0, errors.New("resp: bad aggregate length " + strconv.Quote(line))
			}
			n *= 2
		}
		r.Elems = make([]Reply, 0, min(n, 1024))
		for i := 0; i < n; i++ {
			e, used, err := ReadReply(buf[pos:])
			if err != nil {
				return r, 0, err
			}
			r.Elems = append(r.Elems, e)
			pos += used
		}
		if t == '|' {
			// An attribute precedes the real reply; keep the reply.
			next, used, err := ReadReply(buf[pos:])
			if err != nil {
				return r, 0, err
			}
			return next, pos + used, nil
		}
		return r, pos, nil
	}
	return r, 0, errors.New("resp: unknown reply type " + strconv.Quote(string(t)))
}

// ReadAll decodes every reply in buf; it fails if buf ends inside one.
func ReadAll(buf []byte) ([]Reply, error) {
	var out []Reply
	for len(buf) > 0 {
		r, n, err := ReadReply(buf)
		if err != nil {
			return out, err
		}
		out = append(out, r)
		buf = buf[n:]
	}
	return out, nil
}

// IsError reports whether the reply is an error.
func (r Reply) IsError() bool { return r.Type == '-' }

// String renders the reply on one line, in the spirit of redis-cli, so test
// tables can compare replies as text:
//
//	OK  (error) ERR x  (integer) 1  "bulk"  (nil)  [a, b]  {k: v}
//	~[set]  >[push]  (double) 1.5  (true)  (big) 123
func (r Reply) String() string {
	var b strings.Builder
	r.format(&b)
	return b.String()
}

func (r Reply) format(b *strings.Builder) {
	if r.Null {
		b.WriteString("(nil)")
		return
	}
	switch r.Type {
	case '+':
		b.WriteString(r.Str)
	case '-':
		b.WriteString("(error) ")
		b.WriteString(r.Str)
	case ':':
		b.WriteString("(integer) ")
		b.WriteString(strconv.FormatInt(r.Int, 10))
	case '$', '=':
		b.WriteString(strconv.Quote(r.Str))
	case ',':
		b.WriteString("(double) ")
		b.WriteString(r.Str)
	case '(':
		b.WriteString("(big) ")
		b.WriteString(r.Str)
	case '#':
		if r.Int == 1 {
			b.WriteString("(true)")
		} else {
			b.WriteString("(false)")
		}
	case '%':
		b.WriteByte('{')
		for i := 0; i+1 < len(r.Elems); i += 2 {
			if i > 0 {
				b.WriteString(", ")
			}
			r.Elems[i].format(b)
			b.WriteString(": ")
			r.Elems[i+1].format(b)
		}
		b.WriteByte('}')
	case '*', '~', '>':
		if r.Type != '*' {
			b.WriteByte(r.Type)
		}
		b.WriteByte('[')
		for i, e := range r.Elems {
			if i > 0 {
				b.WriteString(", ")
			}
			e.format(b)
		}
		b.WriteByte(']')
	}
}

// AppendCommand encodes args as a multibulk request.
func AppendCommand(dst []byte, args ...[]byte) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(len(args)), 10)
	dst = append(dst, '\r', '\n')
	for _, a := range args {
		dst = append(dst, '$')
		dst = strconv.AppendInt(dst, int64(len(a)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, a...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// AppendCommandStrings is AppendCommand for string arguments.
func AppendCommandStrings(dst []byte, args ...string) []byte {
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	return AppendCommand(dst, bs...)
}
