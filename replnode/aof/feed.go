package aof

import (
	"slices"
	"strconv"

	"github.com/replnode/replnode/replnode/resp"
)

// AppendTimestamp appends the annotation "#TS:<unix seconds>\r\n".
func AppendTimestamp(dst []byte, unix int64) []byte {
	dst = append(dst, "#TS:"...)
	dst = strconv.AppendInt(dst, unix, 10)
	return append(dst, '\r', '\n')
}

// Feed turns propagated commands into the bytes appended to the current
// incremental file, as feedAppendOnlyFile: a #TS: annotation when
// timestamps are on and the second changed, SELECT when the database
// differs from the last command's, then the command as propagated (already
// deterministic: replication and the AOF get the same stream). It also
// writes the replication position annotations (position.go) where a later
// load would otherwise compute a position other than the one handed in.
type Feed struct {
	// Timestamps is aof-timestamp-enabled.
	Timestamps  bool
	selectedDB  int
	lastStampTS int64
	track       Tracker // what a load of the current file computes
}

// NewFeed returns a Feed whose first command is preceded by SELECT.
func NewFeed() *Feed { return &Feed{selectedDB: -1} }

// Reset starts a new incremental file (or reopens one after a load): a
// SELECT before the next command, and no position until one is written.
func (f *Feed) Reset() {
	f.selectedDB = -1
	f.track.StartFile()
}

// Here appends the annotation saying the dataset stands at p at this
// point of the file: the head of a new incremental file (p is the
// position of the base snapshot taken with it) or where a restarted node
// reopens its last file.
func (f *Feed) Here(dst []byte, p Position) []byte {
	start := len(dst)
	dst = AppendHere(dst, p)
	f.track.Annotation(dst[start:])
	return dst
}

// Append appends the bytes for one command on database db at unix second
// now. When the command completes a change, after(n) is the replication
// position once it is applied (Known false when the node has none), n
// being the command's length as encoded here, which is its length in the
// replication stream too; when a load would not arrive at that position
// by counting bytes, an RPNEXT annotation naming it goes right before the
// command's own bytes. after is not called for SELECT, MULTI and the
// commands inside a transaction.
func (f *Feed) Append(dst []byte, db int, args [][]byte, now int64, after func(n int64) Position) []byte {
	if f.Timestamps && f.lastStampTS < now {
		f.lastStampTS = now
		dst = AppendTimestamp(dst, now)
	}
	if db != f.selectedDB {
		if f.track.mark.Known || f.track.next != nil {
			// Without it a load would take this SELECT for another
			// server's and drop the position (position.go).
			dst = append(dst, selectTag...)
			f.track.Annotation([]byte(selectTag))
		}
		n := strconv.Itoa(db)
		start := len(dst)
		dst = append(dst, "*2\r\n$6\r\nSELECT\r\n$"...)
		dst = strconv.AppendInt(dst, int64(len(n)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, n...)
		dst = append(dst, '\r', '\n')
		f.selectedDB = db
		f.track.Command([][]byte{[]byte("SELECT"), []byte(n)}, int64(len(dst)-start))
	}
	start := len(dst)
	dst = resp.AppendCommand(dst, args...)
	n := int64(len(dst) - start)
	if !f.track.completesChange(args) {
		f.track.Command(args, n)
		return dst
	}
	if pos := after(n); !samePosition(f.track.predict(n), pos) {
		ann := appendNext(nil, pos)
		f.track.Annotation(ann)
		dst = slices.Insert(dst, start, ann...)
	}
	f.track.Command(args, n)
	return dst
}
