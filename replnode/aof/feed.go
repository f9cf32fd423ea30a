package aof

import (
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
// deterministic: replication and the AOF get the same stream).
type Feed struct {
	// Timestamps is aof-timestamp-enabled.
	Timestamps  bool
	selectedDB  int
	lastStampTS int64
}

// NewFeed returns a Feed whose first command is preceded by SELECT.
func NewFeed() *Feed { return &Feed{selectedDB: -1} }

// Reset forces a SELECT before the next command (a new incremental file).
func (f *Feed) Reset() { f.selectedDB = -1 }

// Append appends the bytes for one command on database db at unix second
// now.
func (f *Feed) Append(dst []byte, db int, args [][]byte, now int64) []byte {
	if f.Timestamps && f.lastStampTS < now {
		f.lastStampTS = now
		dst = AppendTimestamp(dst, now)
	}
	if db != f.selectedDB {
		n := strconv.Itoa(db)
		dst = append(dst, "*2\r\n$6\r\nSELECT\r\n$"...)
		dst = strconv.AppendInt(dst, int64(len(n)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, n...)
		dst = append(dst, '\r', '\n')
		f.selectedDB = db
	}
	return resp.AppendCommand(dst, args...)
}
