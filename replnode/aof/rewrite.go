package aof

import (
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/replnode/replnode/replnode/resp"
	"github.com/replnode/replnode/replnode/store"
)

// itemsPerCommand is AOF_REWRITE_ITEMS_PER_CMD: a collection is rewritten
// in commands of at most this many elements.
const itemsPerCommand = 64

// WriteCommands writes a snapshot as the plain-RESP base file of
// rewriteAppendOnlyFileRio (aof-use-rdb-preamble no): FUNCTION LOAD for
// every library, then per non-empty database SELECT and for each key SET,
// RPUSH, SADD, ZADD or HMSET (collections in batches of 64 elements),
// followed by PEXPIREAT when the key has a TTL. eachKey, when not nil, is
// called before each key and stops the rewrite with its error.
func WriteCommands(w io.Writer, dbs []*store.Snapshot, functions [][]byte, eachKey func() error) error {
	var b []byte
	flush := func() error {
		if len(b) == 0 {
			return nil
		}
		_, err := w.Write(b)
		b = b[:0]
		return err
	}
	for _, code := range functions {
		b = resp.AppendCommand(b, []byte("FUNCTION"), []byte("LOAD"), code)
	}
	for i, sn := range dbs {
		if sn == nil || sn.Len() == 0 {
			continue
		}
		b = resp.AppendCommand(b, []byte("SELECT"), []byte(strconv.Itoa(i)))
		err := sn.ForEach(func(key string, v store.Value, expireAt int64, hasExpire bool) error {
			if eachKey != nil {
				if err := eachKey(); err != nil {
					return err
				}
			}
			var ok bool
			if b, ok = appendValue(b, []byte(key), v); !ok {
				return fmt.Errorf("can't rewrite key %q: no command form for a %s value", key, v.Kind())
			}
			if hasExpire {
				b = resp.AppendCommand(b, []byte("PEXPIREAT"), []byte(key), strconv.AppendInt(nil, expireAt, 10))
			}
			if len(b) >= 64<<10 {
				return flush()
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return flush()
}

// appendValue appends the commands that rebuild v under key; ok is false
// for a kind it cannot rebuild, which must fail the rewrite rather than
// drop the key.
func appendValue(b []byte, key []byte, v store.Value) (_ []byte, ok bool) {
	var cmd []byte
	var items [][]byte
	perItem := 1
	switch x := v.(type) {
	case *store.String:
		return resp.AppendCommand(b, []byte("SET"), key, x.B), true
	case *store.List:
		cmd = []byte("RPUSH")
		x.Range(func(e []byte) bool { items = append(items, e); return true })
	case *store.Set:
		cmd = []byte("SADD")
		x.Range(func(m []byte) bool { items = append(items, m); return true })
	case *store.ZSet:
		cmd, perItem = []byte("ZADD"), 2
		x.Range(func(m []byte, score float64) bool { items = append(items, formatScore(score), m); return true })
	case *store.Hash:
		cmd, perItem = []byte("HMSET"), 2
		x.Range(func(f, val []byte) bool { items = append(items, f, val); return true })
	case *store.Stream:
		return appendStream(b, key, x), true
	default:
		return b, false
	}
	step := itemsPerCommand * perItem
	for i := 0; i < len(items); i += step {
		end := min(i+step, len(items))
		args := append([][]byte{cmd, key}, items[i:end]...)
		b = resp.AppendCommand(b, args...)
	}
	return b, true
}

// formatScore is rioWriteBulkDouble's "%.17g" (inf and -inf spelled so).
func formatScore(f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return []byte("inf")
	case math.IsInf(f, -1):
		return []byte("-inf")
	}
	return strconv.AppendFloat(nil, f, 'g', 17, 64)
}

// appendStream appends rewriteStreamObject's commands: XADD per entry (an
// empty stream through XADD MAXLEN 0), XSETID with the last ID, entries
// added and max deleted ID, then per group XGROUP CREATE ... ENTRIESREAD,
// and per consumer XCLAIM ... FORCE for each pending entry or XGROUP
// CREATECONSUMER when it has none.
func appendStream(b []byte, key []byte, s *store.Stream) []byte {
	id := func(x store.StreamID) []byte {
		return []byte(strconv.FormatUint(x.Ms, 10) + "-" + strconv.FormatUint(x.Seq, 10))
	}
	num := func(n int64) []byte { return strconv.AppendInt(nil, n, 10) }
	if s.Len() > 0 {
		s.Range(store.StreamID{}, store.MaxStreamID, false, func(eid store.StreamID, fv [][]byte) bool {
			args := append([][]byte{[]byte("XADD"), key, id(eid)}, fv...)
			b = resp.AppendCommand(b, args...)
			return true
		})
	} else {
		b = resp.AppendCommand(b, []byte("XADD"), key, []byte("MAXLEN"), []byte("0"), []byte("0-1"), []byte("x"), []byte("y"))
	}
	b = resp.AppendCommand(b, []byte("XSETID"), key, id(s.LastID), []byte("ENTRIESADDED"), num(int64(s.EntriesAdded)),
		[]byte("MAXDELETEDID"), id(s.MaxDeletedID))
	for _, g := range s.Groups() {
		b = resp.AppendCommand(b, []byte("XGROUP"), []byte("CREATE"), key, g.Name, id(g.LastID), []byte("ENTRIESREAD"), num(g.EntriesRead))
		for _, c := range g.Consumers() {
			if c.PEL.Len() == 0 {
				b = resp.AppendCommand(b, []byte("XGROUP"), []byte("CREATECONSUMER"), key, g.Name, c.Name)
				continue
			}
			c.PEL.Ascend(func(pid store.StreamID, e *store.PendingEntry) bool {
				b = resp.AppendCommand(b, []byte("XCLAIM"), key, g.Name, c.Name, []byte("0"), id(pid),
					[]byte("TIME"), num(e.DeliveryTime), []byte("RETRYCOUNT"), num(int64(e.DeliveryCount)),
					[]byte("JUSTID"), []byte("FORCE"))
				return true
			})
		}
	}
	return b
}
