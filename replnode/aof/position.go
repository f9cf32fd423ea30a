package aof

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/replnode/replnode/replnode/replication"
)

// Redis 7.0's AOF carries no replication ID or offset, so a node that
// restarts from its AOF starts a fresh history at offset 0 and no member's
// history contains another's. An RDB carries them (repl-id / repl-offset
// AUX fields). These annotations give an AOF the same: Redis 7.0's loader
// and redis-check-aof skip every line that starts with '#'
// (loadSingleAppendOnlyFile, redis-check-aof's processAnnotations), so the
// files stay readable by both.
//
// Two annotations, both on one line shorter than lineMax:
//
//	#RP:<replid>:<offset>:<db>\r\n      the position HERE
//	#RPNEXT:<replid>:<offset>:<db>\r\n  the position at the end of the next
//	                                    command that completes a change
//	#RP:?\r\n                           position unknown from here on
//	#RPSEL\r\n                         the SELECT right after is ours
//
// Another server appending to our last incr file (redis-server started on
// the directory, or a replnode from before these annotations) would have
// its commands counted from our last annotation, into a stream they never
// were in. Every such session starts with a SELECT (its selected database
// is unknown at start), so while a position is known the feed vouches for
// each SELECT it writes with #RPSEL, and the loader takes a SELECT that no
// #RPSEL vouches for as the start of a foreign session: no position from
// there on.
//
// "Here" is written only where the dataset really stands at that offset:
// the head of every incremental file (the position of the base snapshot
// taken at the same moment) and where a restarted node reopens its last
// file. Between annotations each command adds its own length in the file,
// which is exact while the AOF's bytes are the replication stream's bytes
// (a master's own commands, a replica's copy of its master's stream). Where
// they differ (SELECT emitted by one and not the other, PING and REPLCONF
// GETACK in the stream only, a transaction), the writer puts RPNEXT right
// before the command's own bytes, naming exactly where the stream stands
// once it is applied. A torn tail cuts the file at the last complete
// command, so a position is only ever taken at the end of a complete
// change (a command outside MULTI, or EXEC): the offset restored is exact,
// never ahead of the data held and never behind it (behind would make a
// PSYNC apply again what the node holds; ahead would skip writes, and make
// the operator take the node for ahead of members that hold more).

// Position is where a dataset stands in a replication history: it holds
// Offset bytes of history ReplID, and the stream has DB selected there.
// Known false is a dataset whose position is not known.
type Position struct {
	ReplID string
	Offset int64
	DB     int
	Known  bool
}

const (
	hereTag   = "#RP:"
	nextTag   = "#RPNEXT:"
	selectTag = "#RPSEL\r\n"
)

// AppendHere appends the annotation saying the dataset stands at p here.
func AppendHere(dst []byte, p Position) []byte { return appendPosition(dst, hereTag, p) }

// appendNext appends the annotation naming p as the position at the end of
// the next complete change.
func appendNext(dst []byte, p Position) []byte { return appendPosition(dst, nextTag, p) }

func appendPosition(dst []byte, tag string, p Position) []byte {
	dst = append(dst, tag...)
	if !p.Known {
		return append(dst, "?\r\n"...)
	}
	dst = append(dst, p.ReplID...)
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, p.Offset, 10)
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, int64(p.DB), 10)
	return append(dst, '\r', '\n')
}

// parsePosition reads one annotation line. ok is false for a line that is
// not a position annotation (#TS:, a comment); a position annotation that
// does not parse is an unknown position, never a guessed one.
func parsePosition(line []byte) (p Position, next, ok bool) {
	var rest []byte
	switch {
	case bytes.HasPrefix(line, []byte(nextTag)):
		rest, next = line[len(nextTag):], true
	case bytes.HasPrefix(line, []byte(hereTag)):
		rest = line[len(hereTag):]
	default:
		return Position{}, false, false
	}
	body, complete := bytes.CutSuffix(rest, []byte("\r\n"))
	if !complete {
		return Position{}, next, true
	}
	parts := strings.Split(string(body), ":")
	if len(parts) != 3 || !replication.ValidReplID(parts[0]) {
		return Position{}, next, true
	}
	off, err1 := strconv.ParseInt(parts[1], 10, 64)
	db, err2 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil || off < 0 || db < 0 {
		return Position{}, next, true
	}
	return Position{ReplID: parts[0], Offset: off, DB: db, Known: true}, next, true
}

// Tracker follows the position through the files of an AOF as the loader
// reads them, and, inside Feed, predicts what a later load will compute so
// the writer knows when an annotation is needed. Both sides run the same
// rules, so what is written is what is read back.
type Tracker struct {
	vouched   bool      // the last line read was #RPSEL
	mark      Position  // the last position taken (Known false: none)
	since     int64     // command bytes after mark
	db        int       // the stream's db: mark's, then each SELECT's
	next      *Position // an RPNEXT waiting for its change to complete
	inMulti   bool
	committed Position // where the data read so far stands
}

// Position is where the data read so far stands.
func (t *Tracker) Position() Position { return t.committed }

// StartFile is the start of a file: what came before stays, but nothing
// in this file is attributed to a position until an annotation says one.
func (t *Tracker) StartFile() {
	t.mark, t.since, t.next, t.inMulti = Position{}, 0, nil, false
}

// Replaced is a dataset loaded whole from something without a position
// (an RDB base file): its position is unknown.
func (t *Tracker) Replaced() {
	t.StartFile()
	t.committed = Position{}
}

// Annotation takes one '#' line of the file.
func (t *Tracker) Annotation(line []byte) {
	t.vouched = string(line) == selectTag
	p, next, ok := parsePosition(line)
	switch {
	case !ok:
	case next:
		t.next = &p
	default:
		t.here(p)
	}
}

func (t *Tracker) here(p Position) {
	t.mark, t.since, t.db, t.next = p, 0, p.DB, nil
	if !t.inMulti {
		t.committed = p
	}
}

// Command takes one complete command of n bytes in the file.
func (t *Tracker) Command(args [][]byte, n int64) {
	t.since += n
	vouched := t.vouched
	t.vouched = false
	switch {
	case equalFold(args[0], "select"):
		if !vouched {
			// Another server's session starts here: nothing after it
			// is in our stream until an annotation says so.
			t.mark, t.next = Position{}, nil
		}
		if len(args) == 2 {
			if db, err := strconv.Atoi(string(args[1])); err == nil {
				t.db = db
			}
		}
		return
	case equalFold(args[0], "multi"):
		t.inMulti = true
		return
	case equalFold(args[0], "exec"), equalFold(args[0], "discard"):
		t.inMulti = false
	case t.inMulti:
		return
	}
	t.committed = t.commitAfter()
	if t.next != nil {
		t.mark, t.since, t.db, t.next = t.committed, 0, t.committed.DB, nil
	}
}

// commitAfter is the position at the end of a change whose last byte was
// just counted.
func (t *Tracker) commitAfter() Position {
	if t.next != nil {
		return *t.next
	}
	if !t.mark.Known {
		return Position{}
	}
	return Position{ReplID: t.mark.ReplID, Offset: t.mark.Offset + t.since, DB: t.db, Known: true}
}

// completesChange reports whether args, read now, ends a change: any
// command but SELECT and MULTI outside a transaction, or its EXEC.
func (t *Tracker) completesChange(args [][]byte) bool {
	switch {
	case equalFold(args[0], "select"), equalFold(args[0], "multi"):
		return false
	case equalFold(args[0], "exec"), equalFold(args[0], "discard"):
		return true
	}
	return !t.inMulti
}

// predict is the position a load would take after a command of n bytes
// that completes a change.
func (t *Tracker) predict(n int64) Position {
	if t.next != nil {
		return *t.next
	}
	if !t.mark.Known {
		return Position{}
	}
	return Position{ReplID: t.mark.ReplID, Offset: t.mark.Offset + t.since + n, DB: t.db, Known: true}
}

// samePosition compares positions; all unknown positions are the same.
func samePosition(a, b Position) bool {
	if !a.Known || !b.Known {
		return a.Known == b.Known
	}
	return a == b
}

func equalFold(b []byte, s string) bool { return strings.EqualFold(string(b), s) }
