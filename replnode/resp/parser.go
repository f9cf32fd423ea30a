package resp

import (
	"bytes"
	"errors"
)

// ---------------------------------------------------------------- limits

// Limits bound what a request may announce before anything is allocated for
// it. They mirror the checks of Redis 7.0's processMultibulkBuffer and
// processInlineBuffer.
type Limits struct {
	// MaxBulkLen is proto-max-bulk-len: the largest bulk argument accepted.
	MaxBulkLen int64
	// Unauthenticated applies the stricter limits Redis uses for clients
	// that still have to AUTH: at most 10 arguments of at most 16384 bytes.
	Unauthenticated bool
	// Master lifts MaxBulkLen, as Redis does for its master link.
	Master bool
}

// DefaultLimits are Redis 7.0's defaults (proto-max-bulk-len 512mb).
var DefaultLimits = Limits{MaxBulkLen: 512 << 20}

const (
	// InlineMaxSize is PROTO_INLINE_MAX_SIZE: an inline request or a
	// multibulk/bulk header line must end within this many bytes.
	InlineMaxSize = 64 * 1024
	// maxMultibulkLen is INT_MAX, the largest argument count Redis takes.
	maxMultibulkLen = 1<<31 - 1
	// preallocArgs caps how many argument slots are reserved up front from
	// an announced count; the rest grow as arguments actually arrive.
	preallocArgs = 1024
)

// ---------------------------------------------------------------- errors

// ProtocolError is a malformed request. Its text is Redis's, and the server
// replies "-ERR " + text and closes the connection, as Redis does.
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return e.Msg }

func protoErr(msg string) error { return &ProtocolError{Msg: msg} }

var (
	errTooBigInline      = protoErr("Protocol error: too big inline request")
	errUnbalancedQuotes  = protoErr("Protocol error: unbalanced quotes in request")
	errTooBigMbulkCount  = protoErr("Protocol error: too big mbulk count string")
	errInvalidMbulkLen   = protoErr("Protocol error: invalid multibulk length")
	errUnauthMbulkLen    = protoErr("Protocol error: unauthenticated multibulk length")
	errTooBigBulkCount   = protoErr("Protocol error: too big bulk count string")
	errInvalidBulkLen    = protoErr("Protocol error: invalid bulk length")
	errUnauthBulkLen     = protoErr("Protocol error: unauthenticated bulk length")
	errUnexpectedDollarX = "Protocol error: expected '$', got '"
)

// IsProtocolError reports whether err is a ProtocolError.
func IsProtocolError(err error) bool {
	var pe *ProtocolError
	return errors.As(err, &pe)
}

// ---------------------------------------------------------------- parser

// Parser turns request bytes into argument vectors. It does no I/O and keeps
// only a reusable argument slice, so parsing a command in the common case
// allocates nothing.
type Parser struct {
	args [][]byte
}

// ReadCommand parses one request from the start of buf.
//
// It returns the arguments, the number of bytes consumed, and an error. When
// buf does not yet hold a whole request it returns (nil, 0, nil): read more
// and call again with the bytes kept. An empty request (a blank inline line
// or a multibulk count <= 0) is consumed with zero-length args. On a protocol
// error the connection must be closed: nothing after it can be trusted.
//
// Multibulk arguments alias buf and are valid until buf is reused; inline
// arguments are unquoted into a fresh buffer. The returned slice of
// arguments itself is reused by the next call: copy the headers to keep
// them.
func (p *Parser) ReadCommand(buf []byte, lim Limits) (args [][]byte, consumed int, err error) {
	if len(buf) == 0 {
		return nil, 0, nil
	}
	if buf[0] == '*' {
		return p.readMultibulk(buf, lim)
	}
	return p.readInline(buf)
}

// readMultibulk parses "*<n>\r\n" followed by n "$<len>\r\n<data>\r\n".
func (p *Parser) readMultibulk(buf []byte, lim Limits) ([][]byte, int, error) {
	// Redis looks for '\r' and treats the line as ending there; the
	// following byte, whatever it is, is taken for the '\n'. Until both
	// are there (a "\n" alone does not end the line) it waits for more
	// input, up to the 64k limit.
	lineEnd := bytes.IndexByte(buf, '\r')
	if lineEnd < 0 || lineEnd+1 >= len(buf) {
		if len(buf) > InlineMaxSize {
			return nil, 0, errTooBigMbulkCount
		}
		return nil, 0, nil
	}
	if lineEnd > InlineMaxSize {
		return nil, 0, errTooBigMbulkCount
	}
	count, ok := parseInt(buf[1:lineEnd])
	if !ok || count > maxMultibulkLen {
		return nil, 0, errInvalidMbulkLen
	}
	if count > 10 && lim.Unauthenticated {
		return nil, 0, errUnauthMbulkLen
	}
	pos := lineEnd + 2
	if count <= 0 {
		if pos > len(buf) {
			return nil, 0, nil
		}
		return p.args[:0], pos, nil
	}
	if pos > len(buf) {
		return nil, 0, nil
	}
	args := p.args[:0]
	if cap(args) < int(min(count, preallocArgs)) {
		args = make([][]byte, 0, min(count, preallocArgs))
	}
	for i := int64(0); i < count; i++ {
		if pos >= len(buf) {
			p.args = args
			return nil, 0, nil
		}
		if buf[pos] != '$' {
			return nil, 0, protoErr(errUnexpectedDollarX + string(buf[pos:pos+1]) + "'")
		}
		rel := bytes.IndexByte(buf[pos:], '\r')
		if rel < 0 {
			if len(buf)-pos > InlineMaxSize {
				return nil, 0, errTooBigBulkCount
			}
			p.args = args
			return nil, 0, nil
		}
		if rel > InlineMaxSize {
			return nil, 0, errTooBigBulkCount
		}
		n, ok := parseInt(buf[pos+1 : pos+rel])
		if !ok || n < 0 || (!lim.Master && n > lim.MaxBulkLen) {
			return nil, 0, errInvalidBulkLen
		}
		if n > 16384 && lim.Unauthenticated {
			return nil, 0, errUnauthBulkLen
		}
		start := pos + rel + 2
		end := start + int(n)
		if end+2 > len(buf) {
			p.args = args
			return nil, 0, nil
		}
		args = append(args, buf[start:end:end])
		pos = end + 2
	}
	p.args = args
	return args, pos, nil
}

// readInline parses a space separated line, with Redis's sdssplitargs
// quoting rules.
func (p *Parser) readInline(buf []byte) ([][]byte, int, error) {
	nl := bytes.IndexByte(buf, '\n')
	if z := bytes.IndexByte(buf, 0); z >= 0 && (nl < 0 || z < nl) {
		// Redis looks for the newline with strchr, which stops at a
		// NUL: the line never ends, the client waits until its
		// request is too big.
		nl = -1
	}
	if nl < 0 {
		if len(buf) > InlineMaxSize {
			return nil, 0, errTooBigInline
		}
		return nil, 0, nil
	}
	line := buf[:nl]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	// A fresh arena per line: earlier inline commands of the same batch
	// must stay intact (inline requests are rare; the allocation is fine).
	args, _, ok := SplitArgs(line, p.args[:0], nil)
	if !ok {
		return nil, 0, errUnbalancedQuotes
	}
	p.args = args
	return args, nl + 1, nil
}

// SplitArgs splits line into arguments as Redis's sdssplitargs does: blanks
// separate, "double quotes" support \n \r \t \b \a \\ \" and \xHH escapes,
// 'single quotes' support \'. A closing quote must be followed by a blank or
// the end of line. Unquoted text is copied into arena, which is returned
// grown; args point into it. ok is false on unbalanced quotes.
func SplitArgs(line []byte, args [][]byte, arena []byte) (_ [][]byte, _ []byte, ok bool) {
	// Reserve the arena up front so appends never move earlier arguments.
	if cap(arena) < len(line) {
		arena = make([]byte, 0, len(line))
	}
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		// sdssplitargs reads a C string: a NUL outside quotes ends the
		// input, one inside quotes leaves them unterminated.
		if i >= len(line) || line[i] == 0 {
			return args, arena, true
		}
		start := len(arena)
		inDq, inSq, done := false, false, false
		for !done {
			if inDq {
				if i >= len(line) || line[i] == 0 {
					return nil, arena, false
				}
				c := line[i]
				if c == '\\' && i+3 < len(line) && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]) {
					arena = append(arena, unhex(line[i+2])<<4|unhex(line[i+3]))
					i += 3
				} else if c == '\\' && i+1 < len(line) {
					i++
					switch line[i] {
					case 'n':
						c = '\n'
					case 'r':
						c = '\r'
					case 't':
						c = '\t'
					case 'b':
						c = '\b'
					case 'a':
						c = '\a'
					default:
						c = line[i]
					}
					arena = append(arena, c)
				} else if c == '"' {
					if i+1 < len(line) && line[i+1] != 0 && !isSpace(line[i+1]) {
						return nil, arena, false
					}
					done = true
				} else {
					arena = append(arena, c)
				}
			} else if inSq {
				if i >= len(line) || line[i] == 0 {
					return nil, arena, false
				}
				c := line[i]
				if c == '\\' && i+1 < len(line) && line[i+1] == '\'' {
					i++
					arena = append(arena, '\'')
				} else if c == '\'' {
					if i+1 < len(line) && line[i+1] != 0 && !isSpace(line[i+1]) {
						return nil, arena, false
					}
					done = true
				} else {
					arena = append(arena, c)
				}
			} else {
				if i >= len(line) {
					done = true
					break
				}
				switch c := line[i]; c {
				case 0:
					done = true
					continue // stay on the NUL: it ends the input
				case ' ', '\n', '\r', '\t':
					done = true
				case '"':
					inDq = true
				case '\'':
					inSq = true
				default:
					arena = append(arena, c)
				}
			}
			if i < len(line) {
				i++
			}
		}
		args = append(args, arena[start:len(arena):len(arena)])
	}
}

// AppendRepr appends s quoted as Redis's sdscatrepr does, the form
// SplitArgs reads back: in double quotes, with \n \r \t \a \b \\ \"
// escaped and other bytes outside printable ASCII as \xHH.
func AppendRepr(dst, s []byte) []byte {
	dst = append(dst, '"')
	for _, c := range s {
		switch c {
		case '\\', '"':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\a':
			dst = append(dst, '\\', 'a')
		case '\b':
			dst = append(dst, '\\', 'b')
		default:
			if c < 0x20 || c > 0x7e {
				const hex = "0123456789abcdef"
				dst = append(dst, '\\', 'x', hex[c>>4], hex[c&0xf])
			} else {
				dst = append(dst, c)
			}
		}
	}
	return append(dst, '"')
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f'
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// parseInt parses a decimal integer as Redis's string2ll does: optional
// '-', no '+', no spaces, no leading zeros, fits in int64.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	neg := false
	i := 0
	if b[0] == '-' {
		neg = true
		i = 1
		if len(b) == 1 {
			return 0, false
		}
	}
	if b[i] < '1' || b[i] > '9' {
		return 0, false
	}
	var v uint64
	for ; i < len(b); i++ {
		c := b[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > (1<<64-1)/10 {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
		if v < uint64(c-'0') {
			return 0, false
		}
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return -int64(v), true
	}
	if v > 1<<63-1 {
		return 0, false
	}
	return int64(v), true
}

// ParseInt exposes Redis's string2ll rules to command handlers.
func ParseInt(b []byte) (int64, bool) { return parseInt(b) }
