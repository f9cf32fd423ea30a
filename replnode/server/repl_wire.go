package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ------ REPLICATION WIRE HELPERS ------
//
// The byte-level pieces of the replication protocol that need no server
// state: reading reply lines on the replica's synchronous handshake and
// framing the RDB payload in both of Redis's forms ("$<len>\r\n<rdb>" and
// diskless "$EOF:<40 bytes>\r\n<rdb><40 bytes>"). Stream commands are
// encoded by resp.AppendCommand, the same encoder the AOF uses.

// replEOFMarkLen is the length of the diskless transfer delimiter.
const replEOFMarkLen = 40

// readReplLine reads one CRLF (or LF) terminated line and returns it without
// the terminator. A bare "\n" keepalive yields "".
func readReplLine(br *bufio.Reader, maxLen int) (string, error) {
	var sb strings.Builder
	for {
		chunk, isPrefix, err := br.ReadLine()
		if err != nil {
			return "", err
		}
		sb.Write(chunk)
		if sb.Len() > maxLen {
			return "", fmt.Errorf("reply line longer than %d bytes", maxLen)
		}
		if !isPrefix {
			return strings.TrimSuffix(sb.String(), "\r"), nil
		}
	}
}

// readPayloadHeader reads the bulk header that precedes the RDB payload on
// a full sync, skipping the "\n" keepalives a master sends while it
// prepares the snapshot. It returns a reader that yields exactly the RDB
// bytes: the disk form is length-limited; the diskless form ends at the
// 40-byte EOF mark, which the reader checks and consumes.
func readPayloadHeader(br *bufio.Reader) (payload io.Reader, size int64, err error) {
	for {
		line, err := readReplLine(br, 1024)
		if err != nil {
			return nil, 0, err
		}
		if line == "" {
			continue
		}
		if line[0] == '-' {
			return nil, 0, fmt.Errorf("MASTER aborted replication with an error: %s", line[1:])
		}
		if line[0] != '$' {
			return nil, 0, fmt.Errorf("Bad protocol from MASTER, the first byte is not '$' (we received '%s'), are you sure the host and port are right?", line) //nolint:staticcheck // ST1005: Redis's exact text
		}
		if strings.HasPrefix(line, "$EOF:") {
			mark := line[5:]
			if len(mark) != replEOFMarkLen {
				return nil, 0, fmt.Errorf("bad EOF mark length %d", len(mark))
			}
			return &eofMarkReader{r: br, mark: []byte(mark)}, -1, nil
		}
		n, err := strconv.ParseInt(line[1:], 10, 64)
		if err != nil || n < 0 {
			return nil, 0, fmt.Errorf("bad payload length %q", line)
		}
		return io.LimitReader(br, n), n, nil
	}
}

// eofMarkReader yields the bytes of a diskless payload and stops at the
// mark that ends it. As in Redis, the payload ends when the bytes received
// so far end with the mark: the master sends nothing after the mark until
// the replica's first REPLCONF ACK, so the mark is always the tail of a
// read. The last 40 bytes are held back until they are known not to be it.
type eofMarkReader struct {
	r    io.Reader
	mark []byte
	buf  []byte // received, not yet returned
	done bool   // the mark was seen; buf holds the last payload bytes
}

// Read returns payload bytes; io.EOF after the mark, io.ErrUnexpectedEOF
// when the connection ends before it.
func (e *eofMarkReader) Read(p []byte) (int, error) {
	for {
		if e.done {
			if len(e.buf) == 0 {
				return 0, io.EOF
			}
			n := copy(p, e.buf)
			e.buf = e.buf[n:]
			return n, nil
		}
		if avail := len(e.buf) - replEOFMarkLen; avail > 0 {
			n := copy(p, e.buf[:avail])
			e.buf = e.buf[n:]
			return n, nil
		}
		var tmp [32 << 10]byte
		n, err := e.r.Read(tmp[:])
		e.buf = append(e.buf, tmp[:n]...)
		if n > 0 && bytes.HasSuffix(e.buf, e.mark) {
			e.buf = e.buf[:len(e.buf)-replEOFMarkLen]
			e.done = true
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, io.ErrUnexpectedEOF
			}
			return 0, err
		}
	}
}
