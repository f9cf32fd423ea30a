package aof

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/replnode/replnode/replnode/resp"
)

// FileType is the type letter of a manifest line.
type FileType byte

const (
	TypeBase    FileType = 'b' // the snapshot of the last rewrite
	TypeHistory FileType = 'h' // replaced by a rewrite, to be deleted
	TypeIncr    FileType = 'i' // commands after the base, in seq order
)

// Name suffixes and prefixes of aof.c.
const (
	baseSuffix     = ".base"
	incrSuffix     = ".incr"
	rdbSuffix      = ".rdb"
	aofSuffix      = ".aof"
	manifestSuffix = ".manifest"
	tempPrefix     = "temp-"
)

// manifestMaxLine is MANIFEST_MAX_LINE: longer lines are refused.
const manifestMaxLine = 1024

// FileInfo is one file of the manifest.
type FileInfo struct {
	Name string
	Seq  int64
	Type FileType
}

// Manifest is the list of files making up an AOF, as aofManifest.
type Manifest struct {
	Base       *FileInfo
	History    []FileInfo
	Incr       []FileInfo
	CurBaseSeq int64 // seq of the newest base ever named
	CurIncrSeq int64 // seq of the newest incr ever named
}

// ManifestName is <appendfilename>.manifest.
func ManifestName(appendFilename string) string { return appendFilename + manifestSuffix }

// TempManifestName is temp-<appendfilename>.manifest, written then renamed.
func TempManifestName(appendFilename string) string {
	return tempPrefix + appendFilename + manifestSuffix
}

// TempIncrName is temp-<appendfilename>.incr, the incremental file
// collecting writes while the first rewrite after CONFIG SET appendonly yes
// runs (AOF_WAIT_REWRITE).
func TempIncrName(appendFilename string) string { return tempPrefix + appendFilename + incrSuffix }

// Empty reports whether the manifest lists no base and no incr file.
func (m *Manifest) Empty() bool { return m.Base == nil && len(m.Incr) == 0 }

// Clone returns a deep copy, to be changed and then swapped in only once it
// is persisted (aofManifestDup).
func (m *Manifest) Clone() *Manifest {
	c := &Manifest{CurBaseSeq: m.CurBaseSeq, CurIncrSeq: m.CurIncrSeq}
	if m.Base != nil {
		b := *m.Base
		c.Base = &b
	}
	c.History = append([]FileInfo(nil), m.History...)
	c.Incr = append([]FileInfo(nil), m.Incr...)
	return c
}

// NewBase names the next base file and makes the current base history, as
// getNewBaseFileNameAndMarkPreAsHistory: <appendfilename>.<seq>.base.rdb
// with an RDB preamble, .base.aof without.
func (m *Manifest) NewBase(appendFilename string, rdbPreamble bool) string {
	if m.Base != nil {
		h := *m.Base
		h.Type = TypeHistory
		m.History = append([]FileInfo{h}, m.History...)
	}
	m.CurBaseSeq++
	format := aofSuffix
	if rdbPreamble {
		format = rdbSuffix
	}
	name := appendFilename + "." + strconv.FormatInt(m.CurBaseSeq, 10) + baseSuffix + format
	m.Base = &FileInfo{Name: name, Seq: m.CurBaseSeq, Type: TypeBase}
	return name
}

// NewIncr names the next incremental file and appends it to the list, as
// getNewIncrAofName: <appendfilename>.<seq>.incr.aof.
func (m *Manifest) NewIncr(appendFilename string) string {
	m.CurIncrSeq++
	name := appendFilename + "." + strconv.FormatInt(m.CurIncrSeq, 10) + incrSuffix + aofSuffix
	m.Incr = append(m.Incr, FileInfo{Name: name, Seq: m.CurIncrSeq, Type: TypeIncr})
	return name
}

// LastIncr is the incremental file to append to, a new one when there is
// none (getLastIncrAofName).
func (m *Manifest) LastIncr(appendFilename string) string {
	if len(m.Incr) == 0 {
		return m.NewIncr(appendFilename)
	}
	return m.Incr[len(m.Incr)-1].Name
}

// MarkRewrittenIncrAsHistory makes every incremental file a rewrite has
// covered history: all of them but the last when keepLast (AOF on: the last
// one is being written), as markRewrittenIncrAofAsHistory.
func (m *Manifest) MarkRewrittenIncrAsHistory(keepLast bool) {
	n := len(m.Incr)
	if keepLast && n > 0 {
		n--
	}
	for i := n - 1; i >= 0; i-- {
		h := m.Incr[i]
		h.Type = TypeHistory
		m.History = append([]FileInfo{h}, m.History...)
	}
	m.Incr = append([]FileInfo(nil), m.Incr[n:]...)
}

// Format is the manifest's text: base, history, then incr lines, as
// getAofManifestAsString.
func (m *Manifest) Format() []byte {
	var b []byte
	line := func(fi FileInfo) {
		b = append(b, "file "...)
		if needsRepr(fi.Name) {
			b = resp.AppendRepr(b, []byte(fi.Name))
		} else {
			b = append(b, fi.Name...)
		}
		b = append(b, " seq "...)
		b = strconv.AppendInt(b, fi.Seq, 10)
		b = append(b, " type "...)
		b = append(b, byte(fi.Type), '\n')
	}
	if m.Base != nil {
		line(*m.Base)
	}
	for _, fi := range m.History {
		line(fi)
	}
	for _, fi := range m.Incr {
		line(fi)
	}
	return b
}

// ManifestError is a manifest aof.c refuses to load: the line (0 when the
// error is about the whole file) and its text, with aof.c's message.
type ManifestError struct {
	Line int
	Text string
	Msg  string
}

func (e *ManifestError) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("%s (manifest line %d: '%s')", e.Msg, e.Line, e.Text)
}

// ParseManifest reads a manifest with aofLoadManifestFromFile's rules:
// '#' lines are comments, each other line is sdssplitargs fields in
// key/value pairs (unknown keys are ignored for forward compatibility), a
// file name must not be a path, one base at most, incr seqs increase.
func ParseManifest(data []byte) (*Manifest, error) {
	m := &Manifest{}
	var maxSeq int64
	lineNum := 0
	for len(data) > 0 {
		// fgets reads at most MANIFEST_MAX_LINE bytes per call.
		n := bytes.IndexByte(data, '\n')
		raw := data
		if n >= 0 {
			raw = data[:n+1]
		}
		if len(raw) > manifestMaxLine {
			raw = raw[:manifestMaxLine]
		}
		data = data[len(raw):]
		lineNum++
		if raw[0] == '#' {
			continue
		}
		if raw[len(raw)-1] != '\n' {
			return nil, &ManifestError{Line: lineNum, Text: string(raw), Msg: "The AOF manifest file contains too long line"}
		}
		line := strings.Trim(string(raw), " \t\r\n")
		fail := func(msg string) (*Manifest, error) {
			return nil, &ManifestError{Line: lineNum, Text: line, Msg: msg}
		}
		if line == "" {
			return fail("Invalid AOF manifest file format")
		}
		args, _, ok := resp.SplitArgs([]byte(line), nil, nil)
		if !ok || len(args) < 6 || len(args)%2 != 0 {
			return fail("Invalid AOF manifest file format")
		}
		var fi FileInfo
		hasName := false
		for i := 0; i < len(args); i += 2 {
			key, val := string(args[i]), args[i+1]
			switch {
			case strings.EqualFold(key, "file"):
				fi.Name, hasName = string(val), true
				if !isBaseName(fi.Name) {
					return fail("File can't be a path, just a filename")
				}
			case strings.EqualFold(key, "seq"):
				fi.Seq = atoll(val)
			case strings.EqualFold(key, "type"):
				if len(val) > 0 {
					fi.Type = FileType(val[0])
				} else {
					fi.Type = 0
				}
			}
		}
		if !hasName || fi.Name == "" || fi.Seq == 0 || fi.Type == 0 {
			return fail("Invalid AOF manifest file format")
		}
		switch fi.Type {
		case TypeBase:
			if m.Base != nil {
				return fail("Found duplicate base file information")
			}
			b := fi
			m.Base = &b
			m.CurBaseSeq = fi.Seq
		case TypeHistory:
			m.History = append(m.History, fi)
		case TypeIncr:
			if fi.Seq <= maxSeq {
				return fail("Found a non-monotonic sequence number")
			}
			m.Incr = append(m.Incr, fi)
			m.CurIncrSeq, maxSeq = fi.Seq, fi.Seq
		default:
			return fail("Unknown AOF file type")
		}
	}
	if lineNum == 0 {
		return nil, &ManifestError{Msg: "Found an empty AOF manifest"}
	}
	return m, nil
}

// isBaseName is pathIsBaseName: no '/' and no '\'.
func isBaseName(p string) bool { return !strings.ContainsAny(p, "/\\") }

// atoll is C's atoll: leading blanks, a sign, digits, anything after
// ignored, 0 when there are none.
func atoll(b []byte) int64 {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] >= '\t' && b[i] <= '\r') {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		neg = b[i] == '-'
		i++
	}
	var n int64
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		n = n*10 + int64(b[i]-'0')
	}
	if neg {
		return -n
	}
	return n
}

// needsRepr is sdsneedsrepr.
func needsRepr(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' || c == '"' || c == '\n' || c == '\r' || c == '\t' || c == '\a' || c == '\b' ||
			c < 0x20 || c > 0x7e || c == ' ' || c == '\v' || c == '\f' {
			return true
		}
	}
	return false
}
