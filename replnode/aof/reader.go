package aof

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// lineMax is AOF_ANNOTATION_LINE_MAX_LEN, the fgets buffer of the loader:
// a line is read in pieces of at most lineMax-1 bytes.
const lineMax = 1024

// ErrTruncated is an AOF that ends in the middle of a command.
var ErrTruncated = errors.New("unexpected end of file")

// FormatError is an AOF that is not a sequence of RESP commands: what
// redis-server calls "Bad file format reading the append only file".
type FormatError struct {
	Offset int64 // where the offending line starts
	Msg    string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("bad file format at offset %d: %s", e.Offset, e.Msg)
}

// Reader reads the commands of an AOF one by one with the rules of
// loadSingleAppendOnlyFile: '#' lines are annotations and skipped, a
// command is "*<argc>" then argc times "$<len>", len bytes and two more.
type Reader struct {
	br    *bufio.Reader
	off   int64 // bytes consumed
	end   int64 // offset just past the last complete command
	start int64 // offset of the last command's first byte

	// OnAnnotation, when set, gets every complete annotation line
	// (ending in '\n'), in order with the commands.
	OnAnnotation func(line []byte)
}

// NewReader reads commands from r; offsets count from base (the bytes of
// the file already consumed, e.g. by an RDB preamble).
func NewReader(r io.Reader, base int64) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), off: base, end: base}
}

// Offset is the offset just past the last complete command read.
func (r *Reader) Offset() int64 { return r.end }

// CommandLen is the length in the file of the last command read, without
// the annotations before it.
func (r *Reader) CommandLen() int64 { return r.end - r.start }

// fgets is C's fgets with a lineMax buffer: up to and including '\n', or
// lineMax-1 bytes, or what is left at end of file. It returns nil at end
// of file with nothing read.
func (r *Reader) fgets() ([]byte, error) {
	var line []byte
	for len(line) < lineMax-1 {
		c, err := r.br.ReadByte()
		if err != nil {
			if err == io.EOF && len(line) > 0 {
				return line, nil
			}
			return nil, err
		}
		r.off++
		line = append(line, c)
		if c == '\n' {
			break
		}
	}
	return line, nil
}

// Next returns the next command. At the end of the file after a complete
// command it returns io.EOF; in the middle of one ErrTruncated; on bytes
// that are not a command a *FormatError; other errors are the reader's.
func (r *Reader) Next() ([][]byte, error) {
	for {
		start := r.off
		line, err := r.fgets()
		if line == nil {
			return nil, err
		}
		if line[0] == '#' {
			if r.OnAnnotation != nil && line[len(line)-1] == '\n' {
				r.OnAnnotation(line)
			}
			continue
		}
		if line[0] != '*' {
			return nil, &FormatError{Offset: start, Msg: "expected '*'"}
		}
		if len(line) == 1 {
			return nil, ErrTruncated // fgets stopped at end of file
		}
		argc := atoll(line[1:])
		if argc < 1 {
			return nil, &FormatError{Offset: start, Msg: "invalid multibulk length"}
		}
		args := make([][]byte, 0, min(argc, 1024))
		for j := int64(0); j < argc; j++ {
			lstart := r.off
			line, err = r.fgets()
			if line == nil {
				return nil, truncatedOr(err)
			}
			if line[0] != '$' {
				return nil, &FormatError{Offset: lstart, Msg: "expected '$'"}
			}
			n := atoll(line[1:])
			if n < 0 {
				return nil, &FormatError{Offset: lstart, Msg: "invalid bulk length"}
			}
			arg, err := r.readN(n)
			if err != nil {
				return nil, truncatedOr(err)
			}
			// The two bytes after the argument are skipped unchecked, as
			// fread(buf,2,1) does.
			if _, err := r.readN(2); err != nil {
				return nil, truncatedOr(err)
			}
			args = append(args, arg)
		}
		r.start, r.end = start, r.off
		return args, nil
	}
}

// readN reads exactly n bytes, growing the buffer as data arrives so that
// a corrupt huge length costs no more memory than the file holds.
func (r *Reader) readN(n int64) ([]byte, error) {
	const chunk = 1 << 20
	buf := make([]byte, 0, min(n, chunk))
	for int64(len(buf)) < n {
		want := min(n-int64(len(buf)), chunk)
		if int64(cap(buf)-len(buf)) < want {
			nb := make([]byte, len(buf), int64(len(buf))+max(want, int64(len(buf))))
			copy(nb, buf)
			buf = nb
		}
		k, err := io.ReadFull(r.br, buf[len(buf):int64(len(buf))+want])
		r.off += int64(k)
		buf = buf[:len(buf)+k]
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// truncatedOr maps end of file inside a command to ErrTruncated.
func truncatedOr(err error) error {
	if err == nil || err == io.EOF || err == io.ErrUnexpectedEOF {
		return ErrTruncated
	}
	return err
}

// Status is the verdict on one file.
type Status int

const (
	Loaded    Status = iota // every command read and applied
	Truncated               // a torn tail (or unfinished MULTI) to cut at ValidUpTo
	Failed                  // refuse to start: Err says why
)

// Result is what Load decided about one file.
type Result struct {
	Status    Status
	ValidUpTo int64 // Truncated: the length to truncate the file to
	Commands  int64 // commands applied
	// RevertedMulti is set when the file ended inside MULTI: the queued
	// commands were never executed and ValidUpTo is before the MULTI.
	RevertedMulti bool
	Err           error
}

// Load reads every command of r (starting at offset base) and hands it to
// apply, deciding as loadSingleAppendOnlyFile does: a clean end is Loaded;
// an end in the middle of a command, or inside MULTI, is Truncated at the
// end of the last complete command (before the MULTI) when loadTruncated
// (aof-load-truncated) is set, Failed otherwise; a format error, a read
// error or an error from apply (an unknown command) is Failed. When t is
// not nil it follows the replication position through the file: a torn
// command never reaches it and it takes no position inside a MULTI, so
// after a Truncated verdict it stands where the kept part of the file ends.
func Load(r io.Reader, base int64, loadTruncated bool, t *Tracker, apply func(args [][]byte) error) Result {
	rd := NewReader(r, base)
	if t != nil {
		rd.OnAnnotation = t.Annotation
	}
	res := Result{}
	validUpTo, validBeforeMulti := base, base
	inMulti := false
	for {
		args, err := rd.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, ErrTruncated) {
			return truncated(res, validUpTo, loadTruncated)
		}
		if err != nil {
			res.Status, res.Err = Failed, err
			return res
		}
		name := strings.ToLower(string(args[0]))
		switch name {
		case "multi":
			validBeforeMulti, inMulti = validUpTo, true
		case "exec", "discard":
			inMulti = false
		}
		if err := apply(args); err != nil {
			res.Status, res.Err = Failed, err
			return res
		}
		if t != nil {
			t.Command(args, rd.CommandLen())
		}
		res.Commands++
		validUpTo = rd.Offset()
	}
	if inMulti {
		res.RevertedMulti = true
		return truncated(res, validBeforeMulti, loadTruncated)
	}
	res.Status = Loaded
	return res
}

func truncated(res Result, validUpTo int64, loadTruncated bool) Result {
	if !loadTruncated {
		res.Status, res.Err = Failed, ErrTruncated
		return res
	}
	res.Status, res.ValidUpTo = Truncated, validUpTo
	return res
}
