package server

import (
	"bytes"
	"sort"
)

// ---------------------------------------------------------------- client side caching
//
// CLIENT TRACKING, CACHING, GETREDIR and TRACKINGINFO, and the invalidation
// messages behind them, as Redis 7.0's tracking.c. Two tables decide who
// hears about a modified key:
//
//   - the tracking table (default mode): key name → IDs of the clients that
//     read it with a read-only command since its last invalidation. A key is
//     dropped from it once invalidated; clients re-add it by reading again.
//     Database numbers are ignored, as in Redis: a key name is one slot.
//   - the prefix table (BCAST mode): prefix → the BCAST clients registered
//     for it and the keys under it modified since the last broadcast, sent
//     once per batch (Redis's beforeSleep) as one message per prefix.
//
// Messages go to the client itself in RESP3 (">2 invalidate [keys]"), or to
// its REDIRECT client: as a push if that one speaks RESP3, as a message on
// __redis__:invalidate if it is a RESP2 client in Pub/Sub mode. A message
// for the client that is executing a command is queued until its reply is
// written, so pushes never interleave with replies.

// trackingFlags are a client's tracking mode bits (Redis's
// CLIENT_TRACKING_* flags).
type trackingFlags uint8

const (
	// trackOn is CLIENT TRACKING on.
	trackOn trackingFlags = 1 << iota
	// trackBrokenRedir: the REDIRECT client went away.
	trackBrokenRedir
	// trackBcast is broadcasting mode (prefix table, no key table).
	trackBcast
	// trackOptin tracks only reads right after CLIENT CACHING yes.
	trackOptin
	// trackOptout tracks every read except right after CLIENT CACHING no.
	trackOptout
	// trackCaching is the CLIENT CACHING given for the next command.
	trackCaching
	// trackNoloop suppresses messages about the client's own writes.
	trackNoloop
)

// trackingChannel is the Pub/Sub channel RESP2 redirect clients hear on.
const trackingChannel = "__redis__:invalidate"

// clientTracking is one client's tracking state.
type clientTracking struct {
	flags    trackingFlags
	redirect uint64
	// prefixes are the BCAST prefixes the client registered.
	prefixes map[string]struct{}
}

// bcastState is one prefix of the prefix table.
type bcastState struct {
	// keys modified under the prefix since the last broadcast, each with
	// the client that last modified it (nil: expiry, the server itself),
	// so NOLOOP clients can be spared their own writes.
	keys map[string]*Client
	// clients registered for the prefix, by ID.
	clients map[uint64]*Client
}

// pendingInvalidation is a message held for the executing client: a key,
// or the flush message (flush set).
type pendingInvalidation struct {
	key   string
	flush bool
}

// trackingState is the server's tracking tables (Redis's TrackingTable,
// PrefixTable and counters). Executor-owned.
type trackingState struct {
	// used is set once a client first enabled tracking: before that every
	// key modification returns at once (Redis's TrackingTable == NULL).
	used     bool
	clients  int
	keys     map[string]map[uint64]struct{}
	items    int
	prefixes map[string]*bcastState
	// bcastPending: some prefix holds keys to broadcast.
	bcastPending bool
	// current is the client whose command is executing (nil in cron).
	current *Client
	pending []pendingInvalidation
	// overLimitRuns counts consecutive runs of limitUsedSlots that could
	// not get under tracking-table-max-keys (the effort grows with it).
	overLimitRuns int
}

func init() {
	onNewServer(func(s *Server) {
		s.tracking = &trackingState{}
		s.OnClientClose(func(c *Client) { s.disableTracking(c) })
		s.OnCron(func(int64) {
			// Also when idle: CONFIG SET may have lowered the limit.
			if s.tracking.clients > 0 {
				s.trackingLimitUsedSlots()
			}
			s.trackingBroadcast()
		})
	})
}

// ------ CLIENT subcommands

// clientTrackingCommand is CLIENT TRACKING on|off [options]: it parses and
// checks every option, with Redis's errors in Redis's order, before
// changing anything.
func clientTrackingCommand(ctx *Ctx) {
	s, c := ctx.S, ctx.C
	var redir int64
	var options trackingFlags
	var prefixes [][]byte
	for j := 3; j < len(ctx.Args); j++ {
		more := len(ctx.Args) - 1 - j
		switch {
		case ctx.ArgIs(j, "redirect") && more > 0:
			j++
			if redir != 0 {
				ctx.Error("ERR A client can only redirect to a single other client")
				return
			}
			v, ok := ctx.Int(j)
			if !ok {
				return
			}
			redir = v
			if v < 0 || s.clients[uint64(v)] == nil {
				ctx.Error("ERR The client ID you want redirect to does not exist")
				return
			}
		case ctx.ArgIs(j, "bcast"):
			options |= trackBcast
		case ctx.ArgIs(j, "optin"):
			options |= trackOptin
		case ctx.ArgIs(j, "optout"):
			options |= trackOptout
		case ctx.ArgIs(j, "noloop"):
			options |= trackNoloop
		case ctx.ArgIs(j, "prefix") && more > 0:
			j++
			prefixes = append(prefixes, ctx.Args[j])
		default:
			ctx.Error(ErrSyntax)
			return
		}
	}
	switch {
	case ctx.ArgIs(2, "on"):
		if options&trackBcast == 0 && len(prefixes) > 0 {
			ctx.Error("ERR PREFIX option requires BCAST mode to be enabled")
			return
		}
		if c.trk.flags&trackOn != 0 && (c.trk.flags&trackBcast != 0) != (options&trackBcast != 0) {
			ctx.Error("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.")
			return
		}
		if options&trackBcast != 0 && options&(trackOptin|trackOptout) != 0 {
			ctx.Error("ERR OPTIN and OPTOUT are not compatible with BCAST")
			return
		}
		if options&trackOptin != 0 && options&trackOptout != 0 {
			ctx.Error("ERR You can't specify both OPTIN mode and OPTOUT mode")
			return
		}
		if (options&trackOptin != 0 && c.trk.flags&trackOptout != 0) ||
			(options&trackOptout != 0 && c.trk.flags&trackOptin != 0) {
			ctx.Error("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.")
			return
		}
		if options&trackBcast != 0 && !checkPrefixCollisions(ctx, prefixes) {
			return
		}
		s.enableTracking(c, uint64(redir), options, prefixes)
	case ctx.ArgIs(2, "off"):
		s.disableTracking(c)
	default:
		ctx.Error(ErrSyntax)
		return
	}
	ctx.W.OK()
}

// checkPrefixCollisions replies Redis's error and reports false when a
// new prefix is a prefix of (or equal to) one the client has, or of
// another new one: a key must map to one prefix per client.
func checkPrefixCollisions(ctx *Ctx, prefixes [][]byte) bool {
	existing := sortedKeys(ctx.C.trk.prefixes)
	for i, p := range prefixes {
		for _, old := range existing {
			if prefixOverlap([]byte(old), p) {
				ctx.Errorf("ERR Prefix '%s' overlaps with an existing prefix '%s'. Prefixes for a single client must not overlap.", p, old)
				return false
			}
		}
		for _, q := range prefixes[i+1:] {
			if prefixOverlap(p, q) {
				ctx.Errorf("ERR Prefix '%s' overlaps with another provided prefix '%s'. Prefixes for a single client must not overlap.", p, q)
				return false
			}
		}
	}
	return true
}

// prefixOverlap reports whether a is a prefix of b or b of a (Redis's
// stringCheckPrefix).
func prefixOverlap(a, b []byte) bool {
	n := min(len(a), len(b))
	return bytes.Equal(a[:n], b[:n])
}

// clientCachingCommand is CLIENT CACHING yes|no: it marks the next
// command's reads as tracked (OPTIN) or untracked (OPTOUT).
func clientCachingCommand(ctx *Ctx) {
	c := ctx.C
	if c.trk.flags&trackOn == 0 {
		ctx.Error("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled")
		return
	}
	switch {
	case ctx.ArgIs(2, "yes"):
		if c.trk.flags&trackOptin == 0 {
			ctx.Error("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")
			return
		}
	case ctx.ArgIs(2, "no"):
		if c.trk.flags&trackOptout == 0 {
			ctx.Error("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
			return
		}
	default:
		ctx.Error(ErrSyntax)
		return
	}
	c.trk.flags |= trackCaching
	ctx.W.OK()
}

// clientGetredirCommand is CLIENT GETREDIR: the REDIRECT id, 0 without
// one, -1 when tracking is off.
func clientGetredirCommand(ctx *Ctx) {
	ctx.W.Int(trackingRedirect(ctx.C))
}

// trackingRedirect is what GETREDIR, TRACKINGINFO and CLIENT LIST's redir
// show: the redirect id, or -1 when tracking is off.
func trackingRedirect(c *Client) int64 {
	if c.trk.flags&trackOn == 0 {
		return -1
	}
	return int64(c.trk.redirect)
}

// clientTrackinginfoCommand is CLIENT TRACKINGINFO: flags (a set), redirect
// and prefixes, as Redis 7.0.
func clientTrackinginfoCommand(ctx *Ctx) {
	c, w := ctx.C, ctx.W
	f := c.trk.flags
	flags := []string{"off"}
	if f&trackOn != 0 {
		flags[0] = "on"
	}
	if f&trackBcast != 0 {
		flags = append(flags, "bcast")
	}
	if f&trackOptin != 0 {
		flags = append(flags, "optin")
		if f&trackCaching != 0 {
			flags = append(flags, "caching-yes")
		}
	}
	if f&trackOptout != 0 {
		flags = append(flags, "optout")
		if f&trackCaching != 0 {
			flags = append(flags, "caching-no")
		}
	}
	if f&trackNoloop != 0 {
		flags = append(flags, "noloop")
	}
	if f&trackBrokenRedir != 0 {
		flags = append(flags, "broken_redirect")
	}
	w.MapLen(3)
	w.BulkString("flags")
	w.SetLen(len(flags))
	for _, fl := range flags {
		w.BulkString(fl)
	}
	w.BulkString("redirect")
	w.Int(trackingRedirect(c))
	w.BulkString("prefixes")
	prefixes := sortedKeys(c.trk.prefixes)
	w.ArrayLen(len(prefixes))
	for _, p := range prefixes {
		w.BulkString(p)
	}
}

// ------ enabling and disabling

// enableTracking turns tracking on for c with options (already checked),
// as Redis's enableTracking: the mode bits are replaced, BCAST prefixes
// are added to those c has (the empty prefix when none is given).
func (s *Server) enableTracking(c *Client, redirect uint64, options trackingFlags, prefixes [][]byte) {
	t := s.tracking
	if c.trk.flags&trackOn == 0 {
		t.clients++
	}
	c.trk.flags |= trackOn
	c.trk.flags &^= trackBrokenRedir | trackBcast | trackOptin | trackOptout | trackNoloop
	c.trk.redirect = redirect
	if !t.used {
		t.used = true
		t.keys = map[string]map[uint64]struct{}{}
		t.prefixes = map[string]*bcastState{}
	}
	if options&trackBcast != 0 {
		c.trk.flags |= trackBcast
		if len(prefixes) == 0 {
			s.enableBcastPrefix(c, "")
		}
		for _, p := range prefixes {
			s.enableBcastPrefix(c, string(p))
		}
	}
	c.trk.flags |= options & (trackOptin | trackOptout | trackNoloop)
}

// enableBcastPrefix registers c for prefix in the prefix table.
func (s *Server) enableBcastPrefix(c *Client, prefix string) {
	t := s.tracking
	bs := t.prefixes[prefix]
	if bs == nil {
		bs = &bcastState{keys: map[string]*Client{}, clients: map[uint64]*Client{}}
		t.prefixes[prefix] = bs
	}
	bs.clients[c.ID] = c
	if c.trk.prefixes == nil {
		c.trk.prefixes = map[string]struct{}{}
	}
	c.trk.prefixes[prefix] = struct{}{}
}

// disableTracking turns tracking off for c (CLIENT TRACKING off, RESET,
// the client closing). Its entries in the key table stay until those keys
// are invalidated, as in Redis: they are skipped then.
func (s *Server) disableTracking(c *Client) {
	t := s.tracking
	if c.trk.flags&trackBcast != 0 {
		for p := range c.trk.prefixes {
			if bs := t.prefixes[p]; bs != nil {
				delete(bs.clients, c.ID)
				if len(bs.clients) == 0 {
					delete(t.prefixes, p)
				}
			}
		}
		c.trk.prefixes = nil
	}
	if c.trk.flags&trackOn != 0 {
		t.clients--
		c.trk.flags = 0
	}
}

// ------ remembering reads

// trackingAfterCall remembers the keys a read-only command of a tracking
// client (default mode) read, unless OPTIN/OPTOUT and CLIENT CACHING say
// otherwise. Called by call after every command.
func (s *Server) trackingAfterCall(c *Client, cmd *Command, args [][]byte) {
	if cmd.Flags&FlagReadOnly == 0 {
		return
	}
	s.trackingRememberKeys(c, cmd, args)
}

// trackingRememberKeys remembers the keys of cmd (args) for c's cache, as
// Redis's trackingRememberKeys.
func (s *Server) trackingRememberKeys(c *Client, cmd *Command, args [][]byte) {
	f := c.trk.flags
	if f&trackOn == 0 || f&trackBcast != 0 {
		return
	}
	caching := f&trackCaching != 0
	if (f&trackOptin != 0 && !caching) || (f&trackOptout != 0 && caching) {
		return
	}
	t := s.tracking
	for _, pos := range cmd.keyPositions(args) {
		ids := t.keys[string(args[pos])]
		if ids == nil {
			ids = map[uint64]struct{}{}
			t.keys[string(args[pos])] = ids
		}
		if _, ok := ids[c.ID]; !ok {
			ids[c.ID] = struct{}{}
			t.items++
		}
	}
}

// trackingEndCommand runs after each command dispatch handled for c: the
// CACHING mark lasts one command (or a whole MULTI ... EXEC, and any
// CLIENT command keeps it), then messages held for c are sent after its
// reply, as Redis's resetClient and afterCommand.
func (s *Server) trackingEndCommand(c *Client, args [][]byte) {
	if c.trk.flags&trackCaching != 0 && !c.multi.active && !equalFold(args[0], "client") {
		c.trk.flags &^= trackCaching
	}
	t := s.tracking
	t.current = nil
	if len(t.pending) > 0 {
		pending := t.pending
		t.pending = nil
		if _, alive := s.clients[c.ID]; alive {
			for _, p := range pending {
				if p.flush {
					s.sendTrackingMessage(c, nil, true)
				} else {
					s.sendTrackingMessage(c, []string{p.key}, false)
				}
			}
		}
	}
	if !s.batch.active {
		// Outside a client's batch (the master link, Call) the command is
		// its own batch.
		s.trackingEndBatch()
	}
}

// ------ invalidation

// trackingInvalidateKey tells the clients that read key that it changed
// and forgets them, and queues key for the BCAST prefixes it falls under
// (bcast false: the key is only evicted from the table). The modifying
// client is t.current.
func (s *Server) trackingInvalidateKey(key []byte, bcast bool) {
	t := s.tracking
	if !t.used {
		return
	}
	if bcast && len(t.prefixes) > 0 {
		for p, bs := range t.prefixes {
			if bytes.HasPrefix(key, []byte(p)) {
				bs.keys[string(key)] = t.current
				t.bcastPending = true
			}
		}
	}
	ids, ok := t.keys[string(key)]
	if !ok {
		return
	}
	for _, id := range sortedIDs(ids) {
		target := s.clients[id]
		if target == nil || target.trk.flags&trackOn == 0 || target.trk.flags&trackBcast != 0 {
			continue
		}
		if target.trk.flags&trackNoloop != 0 && target == t.current {
			continue
		}
		if target == t.current {
			t.pending = append(t.pending, pendingInvalidation{key: string(key)})
			continue
		}
		s.sendTrackingMessage(target, []string{string(key)}, false)
	}
	t.items -= len(ids)
	delete(t.keys, string(key))
}

// sortedIDs returns the client IDs of a key-table entry in ascending
// order, so messages go out in a stable order.
func sortedIDs(ids map[uint64]struct{}) []uint64 {
	out := make([]uint64, 0, len(ids))
	for id := range ids {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// trackingInvalidateKeysOnFlush sends the flush message (a null key list)
// to every tracking client, BCAST ones too, and empties the key table, as
// Redis does on FLUSHDB and FLUSHALL.
func (s *Server) trackingInvalidateKeysOnFlush() {
	t := s.tracking
	if t.clients > 0 {
		var tracking []*Client
		for _, c := range s.clients {
			if c.trk.flags&trackOn != 0 {
				tracking = append(tracking, c)
			}
		}
		sort.Slice(tracking, func(i, j int) bool { return tracking[i].ID < tracking[j].ID })
		for _, c := range tracking {
			if c == t.current {
				t.pending = append(t.pending, pendingInvalidation{flush: true})
			} else {
				s.sendTrackingMessage(c, nil, true)
			}
		}
	}
	if t.used {
		t.keys = map[string]map[uint64]struct{}{}
		t.items = 0
	}
}

// sendTrackingMessage writes one invalidation message on behalf of c (keys,
// or the null list when flush) to c in RESP3, or to its REDIRECT client: a
// push in RESP3, a __redis__:invalidate message to a RESP2 client in
// Pub/Sub mode, nothing otherwise. A vanished REDIRECT client marks c
// broken_redirect and, in RESP3, tells c so. The flush null is encoded in
// c's protocol, as Redis does.
func (s *Server) sendTrackingMessage(c *Client, keys []string, flush bool) {
	target, redirected := c, false
	if c.trk.redirect != 0 {
		r := s.clients[c.trk.redirect]
		if r == nil {
			c.trk.flags |= trackBrokenRedir
			if c.Proto() > 2 {
				c.writePush(func() {
					c.w.PushLen(2)
					c.w.BulkString("tracking-redir-broken")
					c.w.Int(int64(c.trk.redirect))
				})
				c.Flush()
			}
			return
		}
		target, redirected = r, true
	}
	w := target.w
	if target.Proto() <= 2 && (!redirected || target.flags&ClientPubSub == 0) {
		return
	}
	target.writePush(func() {
		if target.Proto() > 2 {
			w.PushLen(2)
			w.BulkString("invalidate")
		} else {
			w.PushLen(3)
			w.BulkString("message")
			w.BulkString(trackingChannel)
		}
		if flush {
			if c.Proto() > 2 {
				w.Raw([]byte("_\r\n"))
			} else {
				w.Raw([]byte("$-1\r\n"))
			}
		} else {
			w.ArrayLen(len(keys))
			for _, k := range keys {
				w.BulkString(k)
			}
		}
	})
	if target != s.tracking.current {
		target.Flush()
	}
}

// trackingBroadcast sends each prefix's modified keys to its BCAST clients
// (sorted, one message per prefix; a NOLOOP client without the keys it
// modified itself) and clears them. Runs at the end of a batch and in
// cron, as Redis's beforeSleep.
func (s *Server) trackingBroadcast() {
	t := s.tracking
	if !t.bcastPending {
		return
	}
	t.bcastPending = false
	if t.clients == 0 {
		for _, bs := range t.prefixes {
			clear(bs.keys)
		}
		return
	}
	for _, p := range sortedBcastPrefixes(t.prefixes) {
		bs := t.prefixes[p]
		if len(bs.keys) == 0 {
			continue
		}
		keys := make([]string, 0, len(bs.keys))
		for k := range bs.keys {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		ids := make([]uint64, 0, len(bs.clients))
		for id := range bs.clients {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		for _, id := range ids {
			c := bs.clients[id]
			send := keys
			if c.trk.flags&trackNoloop != 0 {
				send = nil
				for _, k := range keys {
					if bs.keys[k] != c {
						send = append(send, k)
					}
				}
				if len(send) == 0 {
					continue
				}
			}
			s.sendTrackingMessage(c, send, false)
		}
		clear(bs.keys)
	}
}

// sortedBcastPrefixes lists the prefix table's prefixes in byte order (a
// radix tree's order in Redis).
func sortedBcastPrefixes(m map[string]*bcastState) []string {
	out := make([]string, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// trackingLimitUsedSlots invalidates keys of the key table (sending their
// messages) until it holds at most tracking-table-max-keys, with an effort
// of 100 keys per consecutive run over the limit, as Redis's
// trackingLimitUsedSlots. Go's map order stands in for the random walk.
func (s *Server) trackingLimitUsedSlots() {
	t := s.tracking
	if !t.used {
		return
	}
	maxKeys := s.Config.Int("tracking-table-max-keys")
	if maxKeys == 0 {
		return
	}
	if int64(len(t.keys)) <= maxKeys {
		t.overLimitRuns = 0
		return
	}
	effort := 100 * (t.overLimitRuns + 1)
	for key := range t.keys {
		if effort == 0 {
			break
		}
		effort--
		s.trackingInvalidateKey([]byte(key), false)
		if int64(len(t.keys)) <= maxKeys {
			t.overLimitRuns = 0
			return
		}
	}
	t.overLimitRuns++
}

// trackingLimitBeforeCommand is trackingLimitUsedSlots run by dispatch
// before a command executes: its messages go out at once, even to the
// client about to execute (its command has not started, so nothing can
// interleave), as in Redis.
func (s *Server) trackingLimitBeforeCommand() {
	t := s.tracking
	current := t.current
	t.current = nil
	s.trackingLimitUsedSlots()
	t.current = current
}

// trackingEndBatch runs when a batch of commands ends (Redis's
// beforeSleep): the BCAST messages accumulated by the batch go out.
func (s *Server) trackingEndBatch() {
	if s.tracking.used {
		s.trackingBroadcast()
	}
}
