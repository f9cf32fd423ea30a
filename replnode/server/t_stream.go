package server

import (
	"bytes"
	"math"
	"strconv"

	"github.com/replnode/replnode/replnode/config"
	"github.com/replnode/replnode/replnode/resp"
	"github.com/replnode/replnode/replnode/store"
)

// The stream commands, after Redis 7.0's t_stream.c: XADD, XRANGE,
// XREVRANGE, XLEN, XDEL, XTRIM, XREAD, XREADGROUP, XSETID, XINFO, XGROUP,
// XACK, XPENDING, XCLAIM and XAUTOCLAIM. The data structure (nodes, groups,
// PELs) lives in store/stream.go; these handlers parse, reply, notify and
// propagate the way Redis does: XADD with an explicit ID, approximate
// trimming as an exact "=" to the resulting length or first ID, and
// consumer-group reads as the XCLAIM / XGROUP SETID / XGROUP
// CREATECONSUMER commands that rebuild the same state on a replica.

func init() {
	register(
		&Command{Name: "xadd", Arity: -5, Flags: FlagWrite | FlagDenyOOM | FlagFast, Group: "stream", FirstKey: 1, LastKey: 1, Step: 1, Handler: xaddCommand},
		&Command{Name: "xrange", Arity: -4, Flags: FlagReadOnly, Group: "stream", FirstKey: 1, LastKey: 1, Step: 1, Handler: xrangeCommand},
		&Command{Name: "xrevrange", Arity: -4, Flags: FlagReadOnly, Group: "stream", FirstKey: 1, LastKey: 1, Step: 1, Handler: xrevrangeCommand},
		&Command{Name: "xlen", Arity: 2, Flags: FlagReadOnly | FlagFast, Group: "stream", FirstKey: 1, LastKey: 1, Step: 1, Handler: xlenCommand},
		&Command{Name: "xdel", Arity: -3, Flags: FlagWrite | FlagFast, Group: "stream", FirstKey: 1, LastKey: 1, Step: 1, Handler: xdelCommand},
		&Command{Name: "xtrim", Arity: -4, Flags: FlagWrite, Group: "stream", FirstKey: 1, LastKey: 1, Step: 1, Handler: xtrimCommand},
		&Command{Name: "xread", Arity: -4, Flags: FlagReadOnly | FlagBlocking | FlagMovableKeys, Group: "stream", GetKeys: xreadGetKeys, Handler: xreadCommand},
		&Command{Name: "xreadgroup", Arity: -7, Flags: FlagWrite | FlagBlocking | FlagMovableKeys, Group: "stream", GetKeys: xreadGetKeys, Handler: xreadCommand},
		&Command{Name: "xsetid", Arity: -3, Flags: FlagWrite | FlagDenyOOM | FlagFast, Group: "stream", FirstKey: 1, LastKey: 1, Step: 1, Handler: xsetidCommand},
		&Command{Name: "xack", Arity: -4, Flags: FlagWrite | FlagFast, Group: "stream", FirstKey: 1, LastKey: 1, Step: 1, Handler: xackCommand},
		&Command{Name: "xpending", Arity: -3, Flags: FlagReadOnly, Group: "stream", FirstKey: 1, LastKey: 1, Step: 1, Handler: xpendingCommand},
		&Command{Name: "xclaim", Arity: -6, Flags: FlagWrite | FlagFast, Group: "stream", FirstKey: 1, LastKey: 1, Step: 1, Handler: xclaimCommand},
		&Command{Name: "xautoclaim", Arity: -6, Flags: FlagWrite | FlagFast, Group: "stream", FirstKey: 1, LastKey: 1, Step: 1, Handler: xautoclaimCommand},
		&Command{Name: "xinfo", Arity: -2, Group: "stream", Subcommands: []*Command{
			{Name: "stream", Arity: -3, Flags: FlagReadOnly, FirstKey: 2, LastKey: 2, Step: 1, Handler: xinfoCommand},
			{Name: "groups", Arity: 3, Flags: FlagReadOnly, FirstKey: 2, LastKey: 2, Step: 1, Handler: xinfoCommand},
			{Name: "consumers", Arity: 4, Flags: FlagReadOnly, FirstKey: 2, LastKey: 2, Step: 1, Handler: xinfoCommand},
			{Name: "help", Arity: 2, Flags: FlagLoading | FlagStale, Handler: xinfoCommand},
		}},
		&Command{Name: "xgroup", Arity: -2, Group: "stream", Subcommands: []*Command{
			{Name: "create", Arity: -5, Flags: FlagWrite | FlagDenyOOM, FirstKey: 2, LastKey: 2, Step: 1, Handler: xgroupCommand},
			{Name: "setid", Arity: -5, Flags: FlagWrite, FirstKey: 2, LastKey: 2, Step: 1, Handler: xgroupCommand},
			{Name: "destroy", Arity: 4, Flags: FlagWrite, FirstKey: 2, LastKey: 2, Step: 1, Handler: xgroupCommand},
			{Name: "createconsumer", Arity: 5, Flags: FlagWrite | FlagDenyOOM, FirstKey: 2, LastKey: 2, Step: 1, Handler: xgroupCommand},
			{Name: "delconsumer", Arity: 5, Flags: FlagWrite, FirstKey: 2, LastKey: 2, Step: 1, Handler: xgroupCommand},
			{Name: "help", Arity: 2, Flags: FlagLoading | FlagStale, Handler: xgroupCommand},
		}},
	)
}

// notifyStream is NOTIFY_STREAM ('t').
const notifyStream = config.NotifyStream

const (
	errInvalidStreamID = "ERR Invalid stream ID specified as stream command argument"
	// xreadBlockedDefaultCount is XREAD_BLOCKED_DEFAULT_COUNT.
	xreadBlockedDefaultCount = 1000
)

// streamLimits are the node limits in force.
func streamLimits(s *Server) store.StreamLimits {
	return store.StreamLimits{
		NodeMaxBytes:   s.Config.Int("stream-node-max-bytes"),
		NodeMaxEntries: s.Config.Int("stream-node-max-entries"),
	}
}

// mustObey reports whether ctx runs for our master (mustObeyClient).
func mustObey(ctx *Ctx) bool { return ctx.C.flags&ClientMaster != 0 }

// ---------------------------------------------------------------- IDs

// cString is b up to its first NUL, as C string functions see it.
func cString(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// parseULL is Redis's string2ull: string2ll when that works (negative is
// out of range), else strtoull's rules (leading spaces, a sign, leading
// zeros; a negative value wraps).
func parseULL(b []byte) (uint64, bool) {
	if n, ok := resp.ParseInt(b); ok {
		if n < 0 {
			return 0, false
		}
		return uint64(n), true
	}
	if len(b) == 0 {
		return 0, false
	}
	i := 0
	for i < len(b) && (b[i] == ' ' || (b[i] >= '\t' && b[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	if i == len(b) {
		return 0, false
	}
	var v uint64
	for ; i < len(b); i++ {
		c := b[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, false // ERANGE
		}
		v = v*10 + d
	}
	if neg {
		v = -v
	}
	return v, true
}

// parseStreamID is streamGenericParseIDOrReply without the reply: "-" and
// "+" unless strict, <ms>[-<seq>] with missingSeq for an absent sequence,
// and <ms>-* when seqStar (seqGiven false then).
func parseStreamID(arg []byte, missingSeq uint64, strict, seqStar bool) (id store.StreamID, seqGiven, ok bool) {
	if len(arg) > 127 {
		return id, false, false
	}
	buf := cString(arg)
	if strict && len(buf) == 1 && (buf[0] == '-' || buf[0] == '+') {
		return id, false, false
	}
	seqGiven = true
	if len(buf) == 1 && buf[0] == '-' {
		return store.StreamID{}, true, true
	}
	if len(buf) == 1 && buf[0] == '+' {
		return store.MaxStreamID, true, true
	}
	msPart, seqPart, hasDash := bytes.Cut(buf, []byte("-"))
	ms, ok := parseULL(msPart)
	if !ok {
		return id, false, false
	}
	seq := missingSeq
	if hasDash {
		if seqStar && len(seqPart) == 1 && seqPart[0] == '*' {
			seq, seqGiven = 0, false
		} else if seq, ok = parseULL(seqPart); !ok {
			return id, false, false
		}
	}
	return store.StreamID{Ms: ms, Seq: seq}, seqGiven, true
}

// streamIDArg parses a strict ID (no "-"/"+"), replying the error.
func streamIDArg(ctx *Ctx, arg []byte) (store.StreamID, bool) {
	id, _, ok := parseStreamID(arg, 0, true, false)
	if !ok {
		ctx.Error(errInvalidStreamID)
	}
	return id, ok
}

// streamIntervalArg is streamParseIntervalIDOrReply followed by the
// exclusive-bound adjustment of its callers: start bounds move up, end
// bounds down.
func streamIntervalArg(ctx *Ctx, arg []byte, missingSeq uint64, isStart bool) (store.StreamID, bool) {
	exclude := len(arg) > 1 && arg[0] == '('
	var id store.StreamID
	var ok bool
	if exclude {
		id, _, ok = parseStreamID(arg[1:], missingSeq, true, false)
	} else {
		id, _, ok = parseStreamID(arg, missingSeq, false, false)
	}
	if !ok {
		ctx.Error(errInvalidStreamID)
		return id, false
	}
	if exclude {
		if isStart {
			if id, ok = id.Incr(); !ok {
				ctx.Error("ERR invalid start ID for the interval")
				return id, false
			}
		} else if id, ok = id.Decr(); !ok {
			ctx.Error("ERR invalid end ID for the interval")
			return id, false
		}
	}
	return id, true
}

func idBytes(id store.StreamID) []byte { return id.Append(nil) }

// replyStreamID writes an ID as a bulk string.
func replyStreamID(ctx *Ctx, id store.StreamID) { ctx.W.Bulk(id.Append(nil)) }

// replyEntry writes [id, [f1, v1, ...]].
func replyEntry(ctx *Ctx, id store.StreamID, fv [][]byte) {
	ctx.W.ArrayLen(2)
	replyStreamID(ctx, id)
	ctx.W.ArrayLen(len(fv))
	for _, b := range fv {
		ctx.W.Bulk(b)
	}
}

// ---------------------------------------------------------------- lookups

// streamForRead returns the stream under key (nil if missing), replying
// WRONGTYPE for another type.
func streamForRead(ctx *Ctx, key []byte) (*store.Stream, bool) {
	return lookupAs[*store.Stream](ctx, key, store.KindStream)
}

// streamForWrite is streamForRead for modification.
func streamForWrite(ctx *Ctx, key []byte) (*store.Stream, bool) {
	return lookupWriteAs[*store.Stream](ctx, key, store.KindStream)
}

// ---------------------------------------------------------------- XADD XTRIM

// trimArgs are the parsed options of XADD and XTRIM
// (streamParseAddOrTrimArgsOrReply).
type trimArgs struct {
	store.TrimArgs
	id         store.StreamID
	idGiven    bool
	seqGiven   bool
	noMkstream bool
	argIdx     int // index of the MAXLEN/MINID value, for the rewrite
}

// parseAddOrTrim parses from argument 2 and returns the position of the ID
// (XADD), or -1 after replying an error.
func parseAddOrTrim(ctx *Ctx, a *trimArgs, xadd bool) int {
	args := ctx.Args
	i := 2
	limitGiven := false
	for ; i < len(args); i++ {
		more := len(args) - 1 - i
		opt := args[i]
		switch {
		case xadd && len(opt) == 1 && opt[0] == '*':
			goto done
		case equalFold(opt, "maxlen") && more > 0, equalFold(opt, "minid") && more > 0:
			if a.Strategy != store.TrimNone {
				ctx.Error("ERR syntax error, MAXLEN and MINID options at the same time are not compatible")
				return -1
			}
			a.Approx = false
			next := args[i+1]
			if more >= 2 && len(next) == 1 && next[0] == '~' {
				a.Approx = true
				i++
			} else if more >= 2 && len(next) == 1 && next[0] == '=' {
				i++
			}
			if equalFold(opt, "maxlen") {
				n, ok := ctx.Int(i + 1)
				if !ok {
					return -1
				}
				if n < 0 {
					ctx.Error("ERR The MAXLEN argument must be >= 0.")
					return -1
				}
				a.MaxLen = n
				a.Strategy = store.TrimMaxLen
			} else {
				id, ok := streamIDArg(ctx, args[i+1])
				if !ok {
					return -1
				}
				a.MinID = id
				a.Strategy = store.TrimMinID
			}
			i++
			a.argIdx = i
		case equalFold(opt, "limit") && more > 0:
			n, ok := ctx.Int(i + 1)
			if !ok {
				return -1
			}
			if n < 0 {
				ctx.Error("ERR The LIMIT argument must be >= 0.")
				return -1
			}
			a.Limit = n
			limitGiven = true
			i++
		case xadd && equalFold(opt, "nomkstream"):
			a.noMkstream = true
		case xadd:
			id, seqGiven, ok := parseStreamID(opt, 0, true, true)
			if !ok {
				ctx.Error(errInvalidStreamID)
				return -1
			}
			a.id, a.seqGiven, a.idGiven = id, seqGiven, true
			goto done
		default:
			ctx.Error(ErrSyntax)
			return -1
		}
	}
done:
	if a.Limit != 0 && a.Strategy == store.TrimNone {
		ctx.Error("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy")
		return -1
	}
	if !xadd && a.Strategy == store.TrimNone {
		ctx.Error("ERR syntax error, XTRIM must be called with a trimming strategy")
		return -1
	}
	if mustObey(ctx) {
		a.Limit = 0
	} else if limitGiven {
		if !a.Approx {
			ctx.Error("ERR syntax error, LIMIT cannot be used without the special ~ option")
			return -1
		}
	} else if a.Approx {
		a.Limit = 100 * ctx.S.Config.Int("stream-node-max-entries")
		if a.Limit <= 0 {
			a.Limit = 10000
		}
		if a.Limit > 1000000 {
			a.Limit = 1000000
		}
	} else {
		a.Limit = 0
	}
	return i
}

// rewriteTrim replaces "~ <arg>" by "= <exact>" in the propagated args
// (streamRewriteApproxSpecifier + streamRewriteTrimArgument).
func rewriteTrim(args [][]byte, s *store.Stream, a *trimArgs) {
	args[a.argIdx-1] = []byte("=")
	if a.Strategy == store.TrimMaxLen {
		args[a.argIdx] = strconv.AppendUint(nil, s.Len(), 10)
	} else {
		args[a.argIdx] = idBytes(s.EdgeID(true, false))
	}
}

func xaddCommand(ctx *Ctx) {
	var a trimArgs
	idpos := parseAddOrTrim(ctx, &a, true)
	if idpos < 0 {
		return
	}
	fieldPos := idpos + 1
	if n := len(ctx.Args) - fieldPos; n < 2 || n%2 == 1 {
		ctx.ArityError()
		return
	}
	if a.idGiven && a.seqGiven && a.id.IsZero() {
		ctx.Error("ERR The ID specified in XADD must be greater than 0-0")
		return
	}
	key := ctx.Args[1]
	s, ok := streamForWrite(ctx, key)
	if !ok {
		return
	}
	created := false
	if s == nil {
		if a.noMkstream {
			ctx.W.Null()
			return
		}
		s = store.NewStream()
		created = true
	}
	if s.LastID == store.MaxStreamID {
		ctx.Error("ERR The stream has exhausted the last possible ID, unable to add more items")
		return
	}
	// Choose the ID (streamAppendItem).
	var id store.StreamID
	if a.idGiven {
		if a.seqGiven {
			id = a.id
		} else if s.LastID.Ms == a.id.Ms {
			if s.LastID.Seq == math.MaxUint64 {
				xaddRefuse(ctx, key, s, created, "ERR The ID specified in XADD is equal or smaller than the target stream top item")
				return
			}
			id = store.StreamID{Ms: s.LastID.Ms, Seq: s.LastID.Seq + 1}
		} else {
			id = a.id
		}
	} else {
		ms := uint64(ctx.S.clock())
		if ms > s.LastID.Ms {
			id = store.StreamID{Ms: ms}
		} else {
			id, _ = s.LastID.Incr()
		}
	}
	if id.Compare(s.LastID) <= 0 {
		xaddRefuse(ctx, key, s, created, "ERR The ID specified in XADD is equal or smaller than the target stream top item")
		return
	}
	total := 0
	for _, b := range ctx.Args[fieldPos:] {
		total += len(b)
	}
	if total > store.StreamMaxPayload {
		xaddRefuse(ctx, key, s, created, "ERR Elements are too large to be stored")
		return
	}
	if created {
		ctx.SetKey(key, s, false)
	}
	fv := cloneArgs(ctx.Args[fieldPos:])
	s.Append(id, fv, streamLimits(ctx.S))
	replyStreamID(ctx, id)
	ctx.Touched(key)
	ctx.Notify(notifyStream, "xadd", key)

	rewritten := cloneArgs(ctx.Args)
	if a.Strategy != store.TrimNone {
		if s.Trim(a.TrimArgs) > 0 {
			ctx.Notify(notifyStream, "xtrim", key)
		}
		if a.Approx {
			rewriteTrim(rewritten, s, &a)
		}
	}
	if !a.idGiven || !a.seqGiven {
		rewritten[idpos] = idBytes(id)
	}
	ctx.Rewrite(rewritten...)
	ctx.S.SignalKeyAsReady(ctx.DBNum, key)
}

// xaddRefuse replies an XADD failure. Redis creates the key before
// streamAppendItem fails, so a new stream stays behind, empty.
func xaddRefuse(ctx *Ctx, key []byte, s *store.Stream, created bool, msg string) {
	if created {
		ctx.SetKey(key, s, false)
	}
	ctx.Error(msg)
}

func xtrimCommand(ctx *Ctx) {
	var a trimArgs
	if parseAddOrTrim(ctx, &a, false) < 0 {
		return
	}
	key := ctx.Args[1]
	s, ok := streamForWrite(ctx, key)
	if !ok {
		return
	}
	if s == nil {
		ctx.W.Int(0)
		return
	}
	deleted := s.Trim(a.TrimArgs)
	if deleted > 0 {
		ctx.Notify(notifyStream, "xtrim", key)
		if a.Approx {
			rewritten := cloneArgs(ctx.Args)
			rewriteTrim(rewritten, s, &a)
			ctx.Rewrite(rewritten...)
		}
		ctx.S.signalModifiedKey(ctx.DBNum, key)
		ctx.Modified(deleted)
	}
	ctx.W.Int(deleted)
}

// ---------------------------------------------------------------- XRANGE XLEN XDEL

func xrangeGeneric(ctx *Ctx, rev bool) {
	startArg, endArg := ctx.Args[2], ctx.Args[3]
	if rev {
		startArg, endArg = endArg, startArg
	}
	start, ok := streamIntervalArg(ctx, startArg, 0, true)
	if !ok {
		return
	}
	end, ok := streamIntervalArg(ctx, endArg, math.MaxUint64, false)
	if !ok {
		return
	}
	count := int64(-1)
	for j := 4; j < len(ctx.Args); j++ {
		if equalFold(ctx.Args[j], "count") && j+1 < len(ctx.Args) {
			n, ok := ctx.Int(j + 1)
			if !ok {
				return
			}
			if n < 0 {
				n = 0
			}
			count = n
			j++
		} else {
			ctx.Error(ErrSyntax)
			return
		}
	}
	s, ok := streamForRead(ctx, ctx.Args[1])
	if !ok {
		return
	}
	if s == nil {
		ctx.W.ArrayLen(0)
		return
	}
	if count == 0 {
		ctx.W.NullArray()
		return
	}
	if count == -1 {
		count = 0
	}
	replyRange(ctx, s, start, end, count, rev, nil, nil, 0, nil)
}

func xrangeCommand(ctx *Ctx)    { xrangeGeneric(ctx, false) }
func xrevrangeCommand(ctx *Ctx) { xrangeGeneric(ctx, true) }

func xlenCommand(ctx *Ctx) {
	replyLength(ctx, store.KindStream, func(s *store.Stream) int64 { return int64(s.Len()) })
}

func xdelCommand(ctx *Ctx) {
	key := ctx.Args[1]
	s, ok := streamForWrite(ctx, key)
	if !ok {
		return
	}
	if s == nil {
		ctx.W.Int(0)
		return
	}
	ids := make([]store.StreamID, 0, len(ctx.Args)-2)
	for _, arg := range ctx.Args[2:] {
		id, ok := streamIDArg(ctx, arg)
		if !ok {
			return
		}
		ids = append(ids, id)
	}
	deleted := 0
	firstEntry := false
	for _, id := range ids {
		if s.Delete(id) {
			if id == s.FirstID {
				firstEntry = true
			}
			if id.Compare(s.MaxDeletedID) > 0 {
				s.MaxDeletedID = id
			}
			deleted++
		}
	}
	if deleted > 0 {
		if s.Len() == 0 {
			s.FirstID = store.StreamID{}
		} else if firstEntry {
			s.FirstID = s.EdgeID(true, true)
		}
		ctx.S.signalModifiedKey(ctx.DBNum, key)
		ctx.Notify(notifyStream, "xdel", key)
		ctx.Modified(int64(deleted))
	}
	ctx.W.Int(int64(deleted))
}

// ---------------------------------------------------------------- reading with groups

// Flags of replyRange (STREAM_RWR_*).
const (
	rwrNoAck      = 1 << 0
	rwrRawEntries = 1 << 1
	rwrHistory    = 1 << 2
)

// streamPropInfo names the key and group that consumer-group reads
// propagate for.
type streamPropInfo struct {
	key, group []byte
}

// propagateXCLAIM emits the idempotent XCLAIM that recreates nack on a
// replica (streamPropagateXCLAIM).
func propagateXCLAIM(ctx *Ctx, key []byte, g *store.ConsumerGroup, groupName, id []byte, nack *store.PendingEntry) {
	ctx.Propagate([]byte("XCLAIM"), key, groupName, nack.Consumer.Name, []byte("0"), id,
		[]byte("TIME"), strconv.AppendInt(nil, nack.DeliveryTime, 10),
		[]byte("RETRYCOUNT"), strconv.AppendUint(nil, nack.DeliveryCount, 10),
		[]byte("FORCE"), []byte("JUSTID"), []byte("LASTID"), idBytes(g.LastID))
}

// propagateGroupID emits XGROUP SETID with ENTRIESREAD
// (streamPropagateGroupID).
func propagateGroupID(ctx *Ctx, key []byte, g *store.ConsumerGroup, groupName []byte) {
	ctx.Propagate([]byte("XGROUP"), []byte("SETID"), key, groupName, idBytes(g.LastID),
		[]byte("ENTRIESREAD"), strconv.AppendInt(nil, g.EntriesRead, 10))
}

// propagateConsumerCreation emits XGROUP CREATECONSUMER
// (streamPropagateConsumerCreation).
func propagateConsumerCreation(ctx *Ctx, key, groupName, consumer []byte) {
	ctx.Propagate([]byte("XGROUP"), []byte("CREATECONSUMER"), key, groupName, consumer)
}

// createConsumer is streamCreateConsumer with SCC_DEFAULT: dirty and the
// xgroup-createconsumer notification.
func createConsumer(ctx *Ctx, g *store.ConsumerGroup, name, key []byte) *store.Consumer {
	c := g.CreateConsumer(bytes.Clone(name), ctx.S.clock())
	if c == nil {
		return nil
	}
	ctx.Modified(1)
	ctx.Notify(notifyStream, "xgroup-createconsumer", key)
	return c
}

// lookupConsumer is streamLookupConsumer: it refreshes seen-time unless
// noRefresh.
func lookupConsumer(ctx *Ctx, g *store.ConsumerGroup, name []byte, noRefresh bool) *store.Consumer {
	c := g.Consumer(name)
	if c != nil && !noRefresh {
		c.SeenTime = ctx.S.clock()
	}
	return c
}

// replyRange is streamReplyWithRange: it replies the entries in [start,
// end] (count 0: all) and, for a group read, moves the group's last ID,
// fills the PELs and propagates. It returns the number of entries.
func replyRange(ctx *Ctx, s *store.Stream, start, end store.StreamID, count int64, rev bool,
	g *store.ConsumerGroup, consumer *store.Consumer, flags int, spi *streamPropInfo) int64 {
	noack := flags&rwrNoAck != 0
	if g != nil && flags&rwrHistory != 0 {
		return replyRangeFromConsumerPEL(ctx, s, start, count, consumer)
	}
	var d resp.DeferredLen
	if flags&rwrRawEntries == 0 {
		d = ctx.W.Deferred()
	}
	var n int64
	propagateLastID := false
	now := ctx.S.clock()
	s.Range(start, end, rev, func(id store.StreamID, fv [][]byte) bool {
		if g != nil && id.Compare(g.LastID) > 0 {
			if g.EntriesRead != store.InvalidEntriesRead && !s.RangeHasTombstones(id, nil) {
				g.EntriesRead++
			} else if s.EntriesAdded != 0 {
				g.EntriesRead = s.EstimateDistance(id)
			}
			g.LastID = id
			if noack {
				propagateLastID = true
			}
		}
		replyEntry(ctx, id, fv)
		if g != nil && !noack {
			nack := &store.PendingEntry{DeliveryTime: now, DeliveryCount: 1, Consumer: consumer}
			if g.PEL.Insert(id, nack) {
				consumer.PEL.Insert(id, nack)
			} else {
				nack, _ = g.PEL.Get(id)
				nack.Consumer.PEL.Remove(id)
				nack.Consumer = consumer
				nack.DeliveryTime = now
				nack.DeliveryCount = 1
				consumer.PEL.Insert(id, nack)
			}
			if spi != nil {
				propagateXCLAIM(ctx, spi.key, g, spi.group, idBytes(id), nack)
			}
		}
		n++
		return count == 0 || n != count
	})
	if spi != nil && propagateLastID {
		propagateGroupID(ctx, spi.key, g, spi.group)
	}
	if flags&rwrRawEntries == 0 {
		ctx.W.SetArrayLen(d, int(n))
	}
	return n
}

// replyRangeFromConsumerPEL serves a consumer's history from its PEL
// (streamReplyWithRangeFromConsumerPEL; end is always open here).
func replyRangeFromConsumerPEL(ctx *Ctx, s *store.Stream, start store.StreamID, count int64, c *store.Consumer) int64 {
	d := ctx.W.Deferred()
	var n int64
	now := ctx.S.clock()
	for cur := start; count == 0 || n < count; {
		id, nack, ok := c.PEL.Next(cur)
		if !ok {
			break
		}
		if replyRange(ctx, s, id, id, 1, false, nil, nil, rwrRawEntries, nil) == 0 {
			ctx.W.ArrayLen(2)
			replyStreamID(ctx, id)
			ctx.W.NullArray()
		} else {
			nack.DeliveryTime = now
			nack.DeliveryCount++
		}
		n++
		if cur, ok = id.Incr(); !ok {
			break
		}
	}
	ctx.W.SetArrayLen(d, int(n))
	return n
}

// ---------------------------------------------------------------- XREAD XREADGROUP

// xreadGetKeys is xreadGetKeys of db.c: the keys are the first half of
// what follows STREAMS.
func xreadGetKeys(args [][]byte) []int {
	streamsPos := -1
scan:
	for i := 1; i < len(args); i++ {
		switch a := args[i]; {
		case equalFold(a, "block"), equalFold(a, "count"):
			i++
		case equalFold(a, "group"):
			i += 2
		case equalFold(a, "noack"):
		case equalFold(a, "streams"):
			streamsPos = i
			break scan
		default:
			break scan
		}
	}
	if streamsPos < 0 {
		return nil
	}
	num := len(args) - streamsPos - 1
	if num == 0 || num%2 != 0 {
		return nil
	}
	out := make([]int, num/2)
	for j := range out {
		out[j] = streamsPos + 1 + j
	}
	return out
}

// parseXreadTimeout is getTimeoutFromObjectOrReply in milliseconds: an
// absolute deadline, 0 for forever.
func parseXreadTimeout(ctx *Ctx, i int) (int64, bool) {
	t, ok := resp.ParseInt(ctx.Args[i])
	if !ok {
		ctx.Error("ERR timeout is not an integer or out of range")
		return 0, false
	}
	if t < 0 {
		ctx.Error("ERR timeout is negative")
		return 0, false
	}
	if t > 0 {
		if t > math.MaxInt64-ctx.NowMs {
			return math.MaxInt64, true
		}
		t += ctx.NowMs
	}
	return t, true
}

// xreadRequest is a parsed XREAD / XREADGROUP.
type xreadRequest struct {
	count     int64
	noack     bool
	group     []byte
	consumer  []byte
	keys      [][]byte
	ids       []store.StreamID
	isGroup   bool
	streamArg int
}

func xreadCommand(ctx *Ctx) {
	isGroup := len(ctx.Args[0]) == 10
	req := xreadRequest{isGroup: isGroup}
	timeout := int64(-1)
	args := ctx.Args
	streamsArg := 0
	for i := 1; i < len(args); i++ {
		more := len(args) - i - 1
		o := args[i]
		switch {
		case equalFold(o, "block") && more > 0:
			if ctx.C == ctx.S.scripts.client {
				ctx.Errorf("ERR %s command is not allowed with BLOCK option from scripts", args[0])
				return
			}
			i++
			t, ok := parseXreadTimeout(ctx, i)
			if !ok {
				return
			}
			timeout = t
		case equalFold(o, "count") && more > 0:
			i++
			n, ok := ctx.Int(i)
			if !ok {
				return
			}
			if n < 0 {
				n = 0
			}
			req.count = n
		case equalFold(o, "streams") && more > 0:
			streamsArg = i + 1
			if (len(args)-streamsArg)%2 != 0 {
				ctx.Error("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.")
				return
			}
			i = len(args)
		case equalFold(o, "group") && more >= 2:
			if !isGroup {
				ctx.Error("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
				return
			}
			req.group, req.consumer = args[i+1], args[i+2]
			i += 2
		case equalFold(o, "noack"):
			if !isGroup {
				ctx.Error("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.")
				return
			}
			req.noack = true
		default:
			ctx.Error(ErrSyntax)
			return
		}
	}
	if streamsArg == 0 {
		ctx.Error(ErrSyntax)
		return
	}
	if isGroup && req.group == nil {
		ctx.Error("ERR Missing GROUP option for XREADGROUP")
		return
	}
	n := (len(args) - streamsArg) / 2
	req.streamArg = streamsArg
	req.keys = args[streamsArg : streamsArg+n]
	req.ids = make([]store.StreamID, n)
	groups := make([]*store.ConsumerGroup, n)
	for i := 0; i < n; i++ {
		key := req.keys[i]
		idArg := args[streamsArg+n+i]
		v := ctx.Lookup(key)
		if v != nil && v.Kind() != store.KindStream {
			ctx.Error(ErrWrongType)
			return
		}
		var s *store.Stream
		if v != nil {
			s = v.(*store.Stream)
		}
		if req.group != nil {
			var g *store.ConsumerGroup
			if s != nil {
				g = s.Group(req.group)
			}
			if g == nil {
				ctx.Errorf("NOGROUP No such key '%s' or consumer group '%s' in XREADGROUP with GROUP option", key, req.group)
				return
			}
			groups[i] = g
		}
		if bytes.Equal(cString(idArg), []byte("$")) {
			if isGroup {
				ctx.Error("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.")
				return
			}
			if s != nil {
				req.ids[i] = s.LastID
			}
			continue
		}
		if bytes.Equal(cString(idArg), []byte(">")) {
			if !isGroup {
				ctx.Error("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.")
				return
			}
			req.ids[i] = store.MaxStreamID
			continue
		}
		id, ok := streamIDArg(ctx, idArg)
		if !ok {
			return
		}
		req.ids[i] = id
	}
	// XREADGROUP propagates as the XCLAIMs and SETIDs it emits.
	if isGroup {
		ctx.NoPropagate()
	}
	resp3 := ctx.W.Proto() == 3
	served := 0
	var d resp.DeferredLen
	for i := 0; i < n; i++ {
		key := req.keys[i]
		v := ctx.Lookup(key)
		if v == nil {
			continue
		}
		s := v.(*store.Stream)
		if isGroup {
			// The group read changes the stream: take a private copy.
			if mv, _ := ctx.DB.Mutable(string(key)); mv != nil {
				s = mv.(*store.Stream)
				groups[i] = s.Group(req.group)
			}
		}
		gt := req.ids[i]
		serve, history := false, false
		if isGroup {
			if gt != store.MaxStreamID {
				serve, history = true, true
			} else if s.Len() > 0 {
				if s.LastValidID().Compare(groups[i].LastID) > 0 {
					serve = true
					gt = groups[i].LastID
				}
			}
		} else if s.Len() > 0 && s.LastValidID().Compare(gt) > 0 {
			serve = true
		}
		if !serve {
			continue
		}
		served++
		if served == 1 {
			d = ctx.W.Deferred()
		}
		start, _ := gt.Incr()
		if !resp3 {
			ctx.W.ArrayLen(2)
		}
		ctx.W.Bulk(key)
		var consumer *store.Consumer
		spi := &streamPropInfo{key: key, group: req.group}
		if isGroup {
			consumer = lookupConsumer(ctx, groups[i], req.consumer, false)
			if consumer == nil {
				consumer = createConsumer(ctx, groups[i], req.consumer, key)
				if req.noack {
					propagateConsumerCreation(ctx, key, req.group, consumer.Name)
				}
			}
		}
		flags := 0
		if req.noack {
			flags |= rwrNoAck
		}
		if history {
			flags |= rwrHistory
		}
		replyRange(ctx, s, start, store.MaxStreamID, req.count, false, groups[i], consumer, flags, spi)
		if isGroup {
			ctx.Modified(1)
		}
	}
	if served > 0 {
		if resp3 {
			ctx.W.SetMapLen(d, served)
		} else {
			ctx.W.SetArrayLen(d, served)
		}
		return
	}
	if timeout != -1 {
		if !canBlock(ctx) {
			ctx.W.NullArray()
			return
		}
		blockXread(ctx, &req, timeout)
		return
	}
	ctx.W.NullArray()
}

// blockXread parks an XREAD / XREADGROUP on its keys
// (blockForKeys with BLOCKED_STREAM).
func blockXread(ctx *Ctx, req *xreadRequest, deadline int64) {
	count := req.count
	if count == 0 {
		count = xreadBlockedDefaultCount
	}
	keys := make([][]byte, len(req.keys))
	waitIDs := make(map[string]store.StreamID, len(req.keys))
	for i, k := range req.keys {
		keys[i] = bytes.Clone(k)
		if _, dup := waitIDs[string(k)]; !dup {
			waitIDs[string(k)] = req.ids[i]
		}
	}
	group, consumer, noack := bytes.Clone(req.group), bytes.Clone(req.consumer), req.noack
	isGroup := req.group != nil
	w := block(ctx, keys, deadline, blockOnStream, func(sctx *Ctx, key []byte) bool {
		mv, ok := sctx.DB.Mutable(string(key))
		if !ok || mv.Kind() != store.KindStream {
			return false
		}
		s := mv.(*store.Stream)
		gt := waitIDs[string(key)]
		var g *store.ConsumerGroup
		if isGroup {
			g = s.Group(group)
			if g == nil {
				sctx.Error("NOGROUP the consumer group this client was blocked on no longer exists")
				return true
			}
			gt = g.LastID
		}
		if s.LastID.Compare(gt) <= 0 {
			return false
		}
		start, _ := gt.Incr()
		var c *store.Consumer
		if isGroup {
			sctx.NoPropagate()
			c = lookupConsumer(sctx, g, consumer, false)
			if c == nil {
				c = createConsumer(sctx, g, consumer, key)
				if noack {
					propagateConsumerCreation(sctx, key, group, c.Name)
				}
			}
		}
		if sctx.W.Proto() == 2 {
			sctx.W.ArrayLen(1)
			sctx.W.ArrayLen(2)
		} else {
			sctx.W.MapLen(1)
		}
		sctx.W.Bulk(key)
		flags := 0
		if noack {
			flags |= rwrNoAck
		}
		replyRange(sctx, s, start, store.MaxStreamID, count, false, g, c, flags, &streamPropInfo{key: key, group: group})
		return true
	}, func(sctx *Ctx) { sctx.W.NullArray() })
	if isGroup {
		// Redis 7.0's unblockDeletedStreamReadgroupClients.
		blockingOf(ctx.S).watchGone(w, goneHandler(ctx, func(sctx *Ctx) {
			sctx.Error("UNBLOCKED the stream key no longer exists")
		}))
	}
}

// ---------------------------------------------------------------- XGROUP

var xgroupHelp = []string{
	"CREATE <key> <groupname> <id|$> [option]",
	"    Create a new consumer group. Options are:",
	"    * MKSTREAM",
	"      Create the empty stream if it does not exist.",
	"    * ENTRIESREAD entries_read",
	"      Set the group's entries_read counter (internal use).",
	"CREATECONSUMER <key> <groupname> <consumer>",
	"    Create a new consumer in the specified group.",
	"DELCONSUMER <key> <groupname> <consumer>",
	"    Remove the specified consumer.",
	"DESTROY <key> <groupname>",
	"    Remove the specified group.",
	"SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
	"    Set the current group ID and entries_read counter.",
}

// subcommandSyntaxError is addReplySubcommandSyntaxError.
func subcommandSyntaxError(ctx *Ctx) {
	ctx.Errorf("ERR unknown subcommand or wrong number of arguments for '%s'. Try %s HELP.",
		truncate(ctx.Args[1], 128), string(bytes.ToUpper(ctx.Args[0])))
}

func xgroupCommand(ctx *Ctx) {
	args := ctx.Args
	opt := args[1]
	mkstream := false
	entriesRead := int64(store.InvalidEntriesRead)
	var s *store.Stream
	var g *store.ConsumerGroup
	var grp []byte
	if len(args) >= 4 {
		create, setid := equalFold(opt, "create"), equalFold(opt, "setid")
		for i := 5; i < len(args); {
			if create && equalFold(args[i], "mkstream") {
				mkstream = true
				i++
			} else if (create || setid) && equalFold(args[i], "entriesread") && i+1 < len(args) {
				n, ok := ctx.Int(i + 1)
				if !ok {
					return
				}
				if n < 0 && n != store.InvalidEntriesRead {
					ctx.Error("ERR value for ENTRIESREAD must be positive or -1")
					return
				}
				entriesRead = n
				i += 2
			} else {
				subcommandSyntaxError(ctx)
				return
			}
		}
		var ok bool
		if s, ok = streamForWrite(ctx, args[2]); !ok {
			return
		}
		grp = args[3]
	}
	if len(args) >= 4 && !mkstream {
		if s == nil {
			ctx.Error("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.")
			return
		}
		if g = s.Group(grp); g == nil && (equalFold(opt, "setid") || equalFold(opt, "createconsumer") || equalFold(opt, "delconsumer")) {
			ctx.Errorf("NOGROUP No such consumer group '%s' for key name '%s'", grp, args[2])
			return
		}
	}
	key := func() []byte { return args[2] }
	switch {
	case len(args) == 2 && equalFold(opt, "help"):
		replyHelp(ctx, "XGROUP", xgroupHelp...)
	case equalFold(opt, "create") && len(args) >= 5 && len(args) <= 8:
		var id store.StreamID
		if bytes.Equal(cString(args[4]), []byte("$")) {
			if s != nil {
				id = s.LastID
			}
		} else {
			var ok bool
			if id, ok = streamIDArg(ctx, args[4]); !ok {
				return
			}
		}
		if s == nil {
			s = store.NewStream()
			ctx.SetKey(key(), s, false)
		}
		if s.CreateGroup(bytes.Clone(grp), id, entriesRead) != nil {
			ctx.W.OK()
			ctx.Modified(1)
			ctx.Notify(notifyStream, "xgroup-create", key())
		} else {
			ctx.Error("BUSYGROUP Consumer Group name already exists")
		}
	case equalFold(opt, "setid") && (len(args) == 5 || len(args) == 7):
		var id store.StreamID
		if bytes.Equal(cString(args[4]), []byte("$")) {
			id = s.LastID
		} else {
			var ok bool
			id, _, ok = parseStreamID(args[4], 0, false, false)
			if !ok {
				ctx.Error(errInvalidStreamID)
				return
			}
		}
		g.LastID = id
		g.EntriesRead = entriesRead
		ctx.W.OK()
		ctx.Modified(1)
		ctx.Notify(notifyStream, "xgroup-setid", key())
	case equalFold(opt, "destroy") && len(args) == 4:
		if g != nil {
			s.DestroyGroup(grp)
			ctx.W.Int(1)
			ctx.Modified(1)
			ctx.Notify(notifyStream, "xgroup-destroy", key())
			ctx.S.SignalKeyAsReady(ctx.DBNum, key())
		} else {
			ctx.W.Int(0)
		}
	case equalFold(opt, "createconsumer") && len(args) == 5:
		if createConsumer(ctx, g, args[4], key()) != nil {
			ctx.W.Int(1)
		} else {
			ctx.W.Int(0)
		}
	case equalFold(opt, "delconsumer") && len(args) == 5:
		var pending int64
		if c := lookupConsumer(ctx, g, args[4], true); c != nil {
			pending = int64(c.PEL.Len())
			g.DeleteConsumer(c)
			ctx.Modified(1)
			ctx.Notify(notifyStream, "xgroup-delconsumer", key())
		}
		ctx.W.Int(pending)
	default:
		subcommandSyntaxError(ctx)
	}
}

// ---------------------------------------------------------------- XSETID

func xsetidCommand(ctx *Ctx) {
	args := ctx.Args
	id, ok := streamIDArg(ctx, args[2])
	if !ok {
		return
	}
	var maxDel store.StreamID
	entriesAdded := int64(-1)
	for i := 3; i < len(args); {
		more := len(args) - 1 - i
		switch {
		case equalFold(args[i], "entriesadded") && more > 0:
			n, ok := ctx.Int(i + 1)
			if !ok {
				return
			}
			if n < 0 {
				ctx.Error("ERR entries_added must be positive")
				return
			}
			entriesAdded = n
			i += 2
		case equalFold(args[i], "maxdeletedid") && more > 0:
			m, ok := streamIDArg(ctx, args[i+1])
			if !ok {
				return
			}
			if id.Less(m) {
				ctx.Error("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
				return
			}
			maxDel = m
			i += 2
		default:
			ctx.Error(ErrSyntax)
			return
		}
	}
	key := args[1]
	s, ok := streamForWrite(ctx, key)
	if !ok {
		return
	}
	if s == nil {
		ctx.Error("ERR no such key")
		return
	}
	if s.Len() > 0 {
		if id.Less(s.LastValidID()) {
			ctx.Error("ERR The ID specified in XSETID is smaller than the target stream top item")
			return
		}
		if entriesAdded != -1 && s.Len() > uint64(entriesAdded) {
			ctx.Error("ERR The entries_added specified in XSETID is smaller than the target stream length")
			return
		}
	}
	s.LastID = id
	if entriesAdded != -1 {
		s.EntriesAdded = uint64(entriesAdded)
	}
	if !maxDel.IsZero() {
		s.MaxDeletedID = maxDel
	}
	ctx.W.OK()
	ctx.Modified(1)
	ctx.Notify(notifyStream, "xsetid", key)
}

// ---------------------------------------------------------------- XACK XPENDING

func xackCommand(ctx *Ctx) {
	args := ctx.Args
	v, ok := ctx.LookupKind(args[1], store.KindStream)
	if !ok {
		return
	}
	var g *store.ConsumerGroup
	if v != nil {
		g = v.(*store.Stream).Group(args[2])
	}
	if g == nil {
		ctx.W.Int(0)
		return
	}
	ids := make([]store.StreamID, 0, len(args)-3)
	for _, a := range args[3:] {
		id, ok := streamIDArg(ctx, a)
		if !ok {
			return
		}
		ids = append(ids, id)
	}
	mv, _ := ctx.DB.Mutable(string(args[1]))
	g = mv.(*store.Stream).Group(args[2])
	acked := 0
	for _, id := range ids {
		if nack, ok := g.PEL.Get(id); ok {
			g.PEL.Remove(id)
			nack.Consumer.PEL.Remove(id)
			acked++
			ctx.Modified(1)
		}
	}
	ctx.W.Int(int64(acked))
}

func xpendingCommand(ctx *Ctx) {
	args := ctx.Args
	justInfo := len(args) == 3
	var start, end store.StreamID
	var count, minIdle int64
	var consumerName []byte
	if len(args) != 3 && (len(args) < 6 || len(args) > 9) {
		ctx.Error(ErrSyntax)
		return
	}
	if len(args) >= 6 {
		si := 3
		if equalFold(args[3], "idle") {
			n, ok := ctx.Int(4)
			if !ok {
				return
			}
			minIdle = n
			if len(args) < 8 {
				ctx.Error(ErrSyntax)
				return
			}
			si += 2
		}
		n, ok := ctx.Int(si + 2)
		if !ok {
			return
		}
		if n < 0 {
			n = 0
		}
		count = n
		if start, ok = streamIntervalArg(ctx, args[si], 0, true); !ok {
			return
		}
		if end, ok = streamIntervalArg(ctx, args[si+1], math.MaxUint64, false); !ok {
			return
		}
		if si+3 < len(args) {
			consumerName = args[si+3]
		}
	}
	v, ok := ctx.LookupKind(args[1], store.KindStream)
	if !ok {
		return
	}
	var g *store.ConsumerGroup
	if v != nil {
		g = v.(*store.Stream).Group(args[2])
	}
	if g == nil {
		ctx.Errorf("NOGROUP No such key '%s' or consumer group '%s'", args[1], args[2])
		return
	}
	if justInfo {
		ctx.W.ArrayLen(4)
		ctx.W.Int(int64(g.PEL.Len()))
		if g.PEL.Len() == 0 {
			ctx.W.Null()
			ctx.W.Null()
			ctx.W.NullArray()
			return
		}
		replyStreamID(ctx, g.PEL.First())
		replyStreamID(ctx, g.PEL.Last())
		d := ctx.W.Deferred()
		n := 0
		for _, c := range g.Consumers() {
			if c.PEL.Len() == 0 {
				continue
			}
			ctx.W.ArrayLen(2)
			ctx.W.Bulk(c.Name)
			ctx.W.BulkInt(int64(c.PEL.Len()))
			n++
		}
		ctx.W.SetArrayLen(d, n)
		return
	}
	pel := &g.PEL
	if consumerName != nil {
		c := lookupConsumer(ctx, g, consumerName, true)
		if c == nil {
			ctx.W.ArrayLen(0)
			return
		}
		pel = &c.PEL
	}
	now := ctx.S.clock()
	d := ctx.W.Deferred()
	n := 0
	for cur, more := start, true; count > 0 && more; {
		id, nack, ok := pel.Next(cur)
		if !ok || end.Less(id) {
			break
		}
		cur, more = id.Incr()
		if minIdle != 0 && now-nack.DeliveryTime < minIdle {
			continue
		}
		n++
		count--
		ctx.W.ArrayLen(4)
		replyStreamID(ctx, id)
		ctx.W.Bulk(nack.Consumer.Name)
		elapsed := now - nack.DeliveryTime
		if elapsed < 0 {
			elapsed = 0
		}
		ctx.W.Int(elapsed)
		ctx.W.Int(int64(nack.DeliveryCount))
	}
	ctx.W.SetArrayLen(d, n)
}

// ---------------------------------------------------------------- XCLAIM XAUTOCLAIM

func xclaimCommand(ctx *Ctx) {
	args := ctx.Args
	v, ok := ctx.LookupKind(args[1], store.KindStream)
	if !ok {
		return
	}
	var g *store.ConsumerGroup
	if v != nil {
		g = v.(*store.Stream).Group(args[2])
	}
	if g == nil {
		ctx.Errorf("NOGROUP No such key '%s' or consumer group '%s'", args[1], args[2])
		return
	}
	minIdle, ok := ctx.IntMsg(4, "ERR Invalid min-idle-time argument for XCLAIM")
	if !ok {
		return
	}
	if minIdle < 0 {
		minIdle = 0
	}
	var ids []store.StreamID
	j := 5
	for ; j < len(args); j++ {
		id, _, ok := parseStreamID(args[j], 0, true, false)
		if !ok {
			break
		}
		ids = append(ids, id)
	}
	lastIDArg := j - 1
	now := ctx.S.clock()
	retryCount := int64(-1)
	deliveryTime := int64(-1)
	force, justID := false, false
	var lastID store.StreamID
	for ; j < len(args); j++ {
		more := len(args) - 1 - j
		opt := args[j]
		switch {
		case equalFold(opt, "force"):
			force = true
		case equalFold(opt, "justid"):
			justID = true
		case equalFold(opt, "idle") && more > 0:
			j++
			n, ok := ctx.IntMsg(j, "ERR Invalid IDLE option argument for XCLAIM")
			if !ok {
				return
			}
			deliveryTime = now - n
		case equalFold(opt, "time") && more > 0:
			j++
			n, ok := ctx.IntMsg(j, "ERR Invalid TIME option argument for XCLAIM")
			if !ok {
				return
			}
			deliveryTime = n
		case equalFold(opt, "retrycount") && more > 0:
			j++
			n, ok := ctx.IntMsg(j, "ERR Invalid RETRYCOUNT option argument for XCLAIM")
			if !ok {
				return
			}
			retryCount = n
		case equalFold(opt, "lastid") && more > 0:
			j++
			id, ok := streamIDArg(ctx, args[j])
			if !ok {
				return
			}
			lastID = id
		default:
			ctx.Errorf("ERR Unrecognized XCLAIM option '%s'", opt)
			return
		}
	}
	mv, _ := ctx.DB.Mutable(string(args[1]))
	s := mv.(*store.Stream)
	g = s.Group(args[2])
	propagateLastID := false
	if lastID.Compare(g.LastID) > 0 {
		g.LastID = lastID
		propagateLastID = true
	}
	if deliveryTime != -1 {
		if deliveryTime < 0 || deliveryTime > now {
			deliveryTime = now
		}
	} else {
		deliveryTime = now
	}
	ctx.NoPropagate()
	var consumer *store.Consumer
	d := ctx.W.Deferred()
	n := 0
	name := args[3]
	for k := 5; k <= lastIDArg; k++ {
		id := ids[k-5]
		nack, inPEL := g.PEL.Get(id)
		if !s.Exists(id) {
			if inPEL {
				propagateXCLAIM(ctx, args[1], g, args[2], args[k], nack)
				propagateLastID = false
				ctx.Modified(1)
				g.PEL.Remove(id)
				nack.Consumer.PEL.Remove(id)
			}
			continue
		}
		if force && !inPEL {
			nack = &store.PendingEntry{DeliveryTime: now, DeliveryCount: 1}
			g.PEL.Insert(id, nack)
			inPEL = true
		}
		if !inPEL {
			continue
		}
		if nack.Consumer != nil && minIdle != 0 && now-nack.DeliveryTime < minIdle {
			continue
		}
		if consumer == nil {
			if consumer = lookupConsumer(ctx, g, name, false); consumer == nil {
				consumer = createConsumer(ctx, g, name, args[1])
			}
		}
		claimPending(ctx, s, id, nack, consumer, deliveryTime, retryCount, justID)
		n++
		propagateXCLAIM(ctx, args[1], g, args[2], args[k], nack)
		propagateLastID = false
		ctx.Modified(1)
	}
	if propagateLastID {
		propagateGroupID(ctx, args[1], g, args[2])
		ctx.Modified(1)
	}
	ctx.W.SetArrayLen(d, n)
}

func xautoclaimCommand(ctx *Ctx) {
	args := ctx.Args
	minIdle, ok := ctx.IntMsg(4, "ERR Invalid min-idle-time argument for XAUTOCLAIM")
	if !ok {
		return
	}
	if minIdle < 0 {
		minIdle = 0
	}
	start, ok := streamIntervalArg(ctx, args[5], 0, true)
	if !ok {
		return
	}
	count := int64(100)
	justID := false
	const attemptsFactor = 10
	for j := 6; j < len(args); j++ {
		more := len(args) - 1 - j
		switch {
		case equalFold(args[j], "count") && more > 0:
			maxCount := int64(math.MaxInt64 / 16)
			n, ok := resp.ParseInt(args[j+1])
			if !ok || n < 1 || n > maxCount {
				ctx.Error("ERR COUNT must be > 0")
				return
			}
			count = n
			j++
		case equalFold(args[j], "justid"):
			justID = true
		default:
			ctx.Error(ErrSyntax)
			return
		}
	}
	v, ok := ctx.LookupKind(args[1], store.KindStream)
	if !ok {
		return
	}
	var g *store.ConsumerGroup
	if v != nil {
		g = v.(*store.Stream).Group(args[2])
	}
	if g == nil {
		ctx.Errorf("NOGROUP No such key '%s' or consumer group '%s'", args[1], args[2])
		return
	}
	mv, _ := ctx.DB.Mutable(string(args[1]))
	s := mv.(*store.Stream)
	g = s.Group(args[2])
	ctx.NoPropagate()
	var consumer *store.Consumer
	attempts := count * attemptsFactor
	ctx.W.ArrayLen(3)
	// The cursor is known only at the end: reply into a side buffer.
	body := resp.NewWriter(ctx.W.Proto())
	saved := ctx.W
	ctx.W = body
	var deleted []store.StreamID
	n := 0
	now := ctx.S.clock()
	// cur is where the rax iterator of Redis stands: the next entry is
	// the first pending ID >= cur (eof once past the largest ID).
	cur, eof := start, false
	for ; attempts > 0 && count > 0 && !eof; attempts-- {
		id, nack, ok := g.PEL.Next(cur)
		if !ok {
			eof = true
			break
		}
		if !s.Exists(id) {
			propagateXCLAIM(ctx, args[1], g, args[2], idBytes(id), nack)
			ctx.Modified(1)
			g.PEL.Remove(id)
			nack.Consumer.PEL.Remove(id)
			deleted = append(deleted, id)
			count--
			cur = id
			continue
		}
		if cur, ok = id.Incr(); !ok {
			eof = true
		}
		if minIdle != 0 && now-nack.DeliveryTime < minIdle {
			continue
		}
		if consumer == nil {
			if consumer = lookupConsumer(ctx, g, args[3], false); consumer == nil {
				consumer = createConsumer(ctx, g, args[3], args[1])
			}
		}
		claimPending(ctx, s, id, nack, consumer, now, -1, justID)
		n++
		count--
		propagateXCLAIM(ctx, args[1], g, args[2], idBytes(id), nack)
		ctx.Modified(1)
	}
	ctx.W = saved
	var cursor store.StreamID
	if !eof {
		if id, _, ok := g.PEL.Next(cur); ok {
			cursor = id
		}
	}
	replyStreamID(ctx, cursor)
	ctx.W.ArrayLen(n)
	ctx.W.Raw(body.Bytes())
	ctx.W.ArrayLen(len(deleted))
	for _, id := range deleted {
		replyStreamID(ctx, id)
	}
}

// ---------------------------------------------------------------- XINFO

func xinfoCommand(ctx *Ctx) {
	args := ctx.Args
	if equalFold(args[1], "help") {
		if len(args) != 2 {
			subcommandSyntaxError(ctx)
			return
		}
		replyHelp(ctx, "XINFO",
			"CONSUMERS <key> <groupname>",
			"    Show consumers of <groupname>.",
			"GROUPS <key>",
			"    Show the stream consumer groups.",
			"STREAM <key> [FULL [COUNT <count>]",
			"    Show information about the stream.")
		return
	}
	key := args[2]
	v, ok := ctx.LookupKind(key, store.KindStream)
	if !ok {
		return
	}
	if v == nil {
		ctx.Error("ERR no such key")
		return
	}
	s := v.(*store.Stream)
	switch {
	case equalFold(args[1], "consumers") && len(args) == 4:
		g := s.Group(args[3])
		if g == nil {
			ctx.Errorf("NOGROUP No such consumer group '%s' for key name '%s'", args[3], key)
			return
		}
		now := ctx.S.clock()
		ctx.W.ArrayLen(len(g.Consumers()))
		for _, c := range g.Consumers() {
			idle := now - c.SeenTime
			if idle < 0 {
				idle = 0
			}
			ctx.W.MapLen(3)
			ctx.W.BulkString("name")
			ctx.W.Bulk(c.Name)
			ctx.W.BulkString("pending")
			ctx.W.Int(int64(c.PEL.Len()))
			ctx.W.BulkString("idle")
			ctx.W.Int(idle)
		}
	case equalFold(args[1], "groups") && len(args) == 3:
		ctx.W.ArrayLen(len(s.Groups()))
		for _, g := range s.Groups() {
			ctx.W.MapLen(6)
			ctx.W.BulkString("name")
			ctx.W.Bulk(g.Name)
			ctx.W.BulkString("consumers")
			ctx.W.Int(int64(len(g.Consumers())))
			ctx.W.BulkString("pending")
			ctx.W.Int(int64(g.PEL.Len()))
			ctx.W.BulkString("last-delivered-id")
			replyStreamID(ctx, g.LastID)
			replyEntriesRead(ctx, g)
			ctx.W.BulkString("lag")
			replyLag(ctx, s, g)
		}
	case equalFold(args[1], "stream"):
		xinfoStream(ctx, s)
	default:
		subcommandSyntaxError(ctx)
	}
}

// claimPending gives the pending entry id to consumer and replies it (its
// ID alone with JUSTID), the step XCLAIM and XAUTOCLAIM share: the delivery
// time becomes deliveryTime and the delivery count retryCount when that is
// not negative (XCLAIM RETRYCOUNT), else one more unless JUSTID.
func claimPending(ctx *Ctx, s *store.Stream, id store.StreamID, nack *store.PendingEntry, consumer *store.Consumer, deliveryTime, retryCount int64, justID bool) {
	if nack.Consumer != consumer && nack.Consumer != nil {
		nack.Consumer.PEL.Remove(id)
	}
	nack.DeliveryTime = deliveryTime
	if retryCount >= 0 {
		nack.DeliveryCount = uint64(retryCount)
	} else if !justID {
		nack.DeliveryCount++
	}
	if nack.Consumer != consumer {
		consumer.PEL.Insert(id, nack)
		nack.Consumer = consumer
	}
	if justID {
		replyStreamID(ctx, id)
	} else {
		replyRange(ctx, s, id, id, 1, false, nil, nil, rwrRawEntries, nil)
	}
}

// replyFullPEL replies the "pel-count" and "pending" fields of XINFO STREAM
// FULL for a group's or a consumer's PEL, at most count entries (0: all), as
// xinfoReplyWithStreamInfo: a group's entries name their consumer, a
// consumer's do not.
func replyFullPEL(ctx *Ctx, pel *store.PEL, count int64, withConsumer bool) {
	ctx.W.BulkString("pel-count")
	ctx.W.Int(int64(pel.Len()))
	ctx.W.BulkString("pending")
	n := pel.Len()
	if count != 0 && int64(n) > count {
		n = int(count)
	}
	ctx.W.ArrayLen(n)
	i := 0
	pel.Ascend(func(id store.StreamID, nack *store.PendingEntry) bool {
		if i == n {
			return false
		}
		i++
		if withConsumer {
			ctx.W.ArrayLen(4)
			replyStreamID(ctx, id)
			ctx.W.Bulk(nack.Consumer.Name)
		} else {
			ctx.W.ArrayLen(3)
			replyStreamID(ctx, id)
		}
		ctx.W.Int(nack.DeliveryTime)
		ctx.W.Int(int64(nack.DeliveryCount))
		return true
	})
}

func replyEntriesRead(ctx *Ctx, g *store.ConsumerGroup) {
	ctx.W.BulkString("entries-read")
	if g.EntriesRead != store.InvalidEntriesRead {
		ctx.W.Int(g.EntriesRead)
	} else {
		ctx.W.Null()
	}
}

func replyLag(ctx *Ctx, s *store.Stream, g *store.ConsumerGroup) {
	if lag, ok := s.Lag(g); ok {
		ctx.W.Int(lag)
	} else {
		ctx.W.Null()
	}
}

// xinfoStream is xinfoReplyWithStreamInfo.
func xinfoStream(ctx *Ctx, s *store.Stream) {
	opts := ctx.Args[3:]
	full := len(opts) > 0
	count := int64(10)
	if full {
		if len(opts) != 1 && len(opts) != 3 {
			subcommandSyntaxError(ctx)
			return
		}
		if !equalFold(opts[0], "full") {
			subcommandSyntaxError(ctx)
			return
		}
		if len(opts) == 3 {
			if !equalFold(opts[1], "count") {
				subcommandSyntaxError(ctx)
				return
			}
			n, ok := ctx.Int(5)
			if !ok {
				return
			}
			if n < 0 {
				n = 10
			}
			count = n
		}
	}
	if full {
		ctx.W.MapLen(9)
	} else {
		ctx.W.MapLen(10)
	}
	ctx.W.BulkString("length")
	ctx.W.Int(int64(s.Len()))
	ctx.W.BulkString("radix-tree-keys")
	ctx.W.Int(int64(s.NodeCount()))
	ctx.W.BulkString("radix-tree-nodes")
	ctx.W.Int(int64(s.RaxNodes()))
	ctx.W.BulkString("last-generated-id")
	replyStreamID(ctx, s.LastID)
	ctx.W.BulkString("max-deleted-entry-id")
	replyStreamID(ctx, s.MaxDeletedID)
	ctx.W.BulkString("entries-added")
	ctx.W.Int(int64(s.EntriesAdded))
	ctx.W.BulkString("recorded-first-entry-id")
	replyStreamID(ctx, s.FirstID)
	if !full {
		ctx.W.BulkString("groups")
		ctx.W.Int(int64(len(s.Groups())))
		ctx.W.BulkString("first-entry")
		if replyRange(ctx, s, store.StreamID{}, store.MaxStreamID, 1, false, nil, nil, rwrRawEntries, nil) == 0 {
			ctx.W.Null()
		}
		ctx.W.BulkString("last-entry")
		if replyRange(ctx, s, store.StreamID{}, store.MaxStreamID, 1, true, nil, nil, rwrRawEntries, nil) == 0 {
			ctx.W.Null()
		}
		return
	}
	ctx.W.BulkString("entries")
	replyRange(ctx, s, store.StreamID{}, store.MaxStreamID, count, false, nil, nil, 0, nil)
	ctx.W.BulkString("groups")
	ctx.W.ArrayLen(len(s.Groups()))
	for _, g := range s.Groups() {
		ctx.W.MapLen(7)
		ctx.W.BulkString("name")
		ctx.W.Bulk(g.Name)
		ctx.W.BulkString("last-delivered-id")
		replyStreamID(ctx, g.LastID)
		replyEntriesRead(ctx, g)
		ctx.W.BulkString("lag")
		replyLag(ctx, s, g)
		replyFullPEL(ctx, &g.PEL, count, true)
		ctx.W.BulkString("consumers")
		ctx.W.ArrayLen(len(g.Consumers()))
		for _, c := range g.Consumers() {
			ctx.W.MapLen(4)
			ctx.W.BulkString("name")
			ctx.W.Bulk(c.Name)
			ctx.W.BulkString("seen-time")
			ctx.W.Int(c.SeenTime)
			replyFullPEL(ctx, &c.PEL, count, false)
		}
	}
}
