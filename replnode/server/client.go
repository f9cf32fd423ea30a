package server

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/replnode/replnode/replnode/acl"
	"github.com/replnode/replnode/replnode/fencing"
	"github.com/replnode/replnode/replnode/resp"
)

// ---------------------------------------------------------------- clients

// ClientFlags mark special clients.
type ClientFlags uint32

const (
	// ClientMaster is the link from our master: its commands bypass the
	// read-only check and get no replies.
	ClientMaster ClientFlags = 1 << iota
	// ClientReplica is a replica attached to us.
	ClientReplica
	// ClientMonitor receives MONITOR output.
	ClientMonitor
	// ClientNoReply discards replies (CLIENT REPLY OFF, the master link).
	ClientNoReply
	// ClientSkipReply discards the reply of the next command only.
	ClientSkipReply
	// ClientCloseAfterReply closes the connection once replies are sent.
	ClientCloseAfterReply
	// ClientNoEvict is CLIENT NO-EVICT on.
	ClientNoEvict
	// ClientInternal has no connection (AOF-like replay, the master link
	// replaying a stream through Call).
	ClientInternal
	// ClientPubSub is set while the client has subscriptions.
	ClientPubSub
)

// Client is one connection. Its fields belong to the executor except conn,
// the parser and the read buffer, which belong to its reader goroutine.
type Client struct {
	ID    uint64
	s     *Server
	conn  net.Conn
	Name  string
	DBNum int
	flags ClientFlags

	// authenticated is set by AUTH/HELLO (or at connection when the
	// default user needs no password); user is the ACL user, nil for the
	// master link and internal clients, which may run anything.
	authenticated bool
	user          *acl.User

	// rejected counts the commands refused before they ran (reject): the
	// AOF replay checks that none of its commands was.
	rejected int64

	// w collects replies on the executor; flushOut moves them to pending.
	w *resp.Writer
	// callDepth counts the client's own commands executing (EXEC nests),
	// pushSpans the pushes written to w meanwhile ([start, end) offsets):
	// they survive the reply suppression of CLIENT REPLY OFF|SKIP (see
	// push.go).
	callDepth int
	pushSpans [][2]int
	// pending is what the socket still has to receive, guarded by outMu.
	outMu   sync.Mutex
	pending []byte
	spare   []byte
	// writeMu serialises socket writes so pending is sent in order.
	writeMu sync.Mutex
	// kick wakes the flusher; kickClosed (guarded by outMu) is set when
	// freeClient closes it.
	kick       chan struct{}
	kickClosed bool
	closed     bool

	// raw is the descriptor access of a plain TCP or unix socket (nil for
	// TLS and internal clients); inLoop is set while the event loop serves
	// the client (netloop.go).
	raw    syscall.RawConn
	inLoop atomic.Bool

	ctx Ctx

	addr, laddr     string
	createdMs       int64
	lastInteraction int64
	lastCmd         string
	softLimitSince  int64
	queryBufLen     int

	// ------ transactions (t_multi.go)
	multi multiState
	// ------ pub/sub (pubsub.go)
	channels      map[string]struct{}
	patterns      map[string]struct{}
	shardChannels map[string]struct{} // SSUBSCRIBE (pubsub_shard.go)
	// ------ client side caching (tracking.go)
	trk clientTracking

	// ------ blocking: the reader does not execute further commands
	// while blocked; Unblock resumes it.
	blocked   bool
	unblockCh chan struct{}
	// fence is the failover epoch this connection set (REPLNODE EPOCH).
	fence fencing.Conn
	// holdsExec is set while the client's reader goroutine holds the
	// executor (lockExec), so recoverReader knows whether to release it.
	holdsExec bool
	// heldInput is what was read from the socket while CLIENT PAUSE
	// held a command; the reader appends it to its buffer.
	heldInput []byte
	// paused is set while CLIENT PAUSE holds the client's command
	// (waitPause): it counts as blocked in INFO and CLIENT LIST.
	paused bool
	// BlockState is free for the blocking code to attach its data.
	BlockState any
}

// newClient registers a client for conn. Runs on the executor.
func (s *Server) newClient(conn net.Conn) *Client {
	now := s.clock()
	c := &Client{
		ID:              s.nextID.Add(1),
		s:               s,
		conn:            conn,
		w:               resp.NewWriter(2),
		kick:            make(chan struct{}, 1),
		createdMs:       now,
		lastInteraction: now,
	}
	s.setDefaultAuth(c)
	if conn != nil {
		c.addr = conn.RemoteAddr().String()
		c.laddr = conn.LocalAddr().String()
		if conn.RemoteAddr().Network() == "unix" {
			c.addr = conn.LocalAddr().String() + ":0"
		}
		c.raw = plainSocket(conn)
	}
	c.ctx.init(s, c)
	s.clients[c.ID] = c
	return c
}

// NewInternalClient returns a client without a connection, for replaying
// commands through Call (the replication stream from our master, tests).
// Its replies accumulate in Replies unless it has ClientNoReply. Runs on
// the executor.
func (s *Server) NewInternalClient(flags ClientFlags) *Client {
	c := s.newClient(nil)
	c.flags |= flags | ClientInternal
	c.authenticated = true
	c.user = nil
	return c
}

// Flags returns the client's flags.
func (c *Client) Flags() ClientFlags { return c.flags }

// SetFlags sets (on) or clears flags. Runs on the executor.
func (c *Client) SetFlags(f ClientFlags, on bool) {
	if on {
		c.flags |= f
	} else {
		c.flags &^= f
	}
}

// Writer is the client's reply writer (executor-owned). Code that sends
// out-of-band data (pub/sub messages, blocked-client replies) writes here
// and then calls Flush.
func (c *Client) Writer() *resp.Writer { return c.w }

// Replies takes the replies an internal client accumulated.
func (c *Client) Replies() []byte {
	out := append([]byte(nil), c.w.Bytes()...)
	c.w.Reset()
	return out
}

// Server is the server the client belongs to.
func (c *Client) Server() *Server { return c.s }

// Proto is 2 or 3 (HELLO).
func (c *Client) Proto() int { return c.w.Proto() }

// Addr is the peer address as CLIENT LIST shows it.
func (c *Client) Addr() string { return c.addr }

// clientInput is a connection's input side: what was read and not yet
// run, and the parsed batch. It belongs to whoever reads the connection:
// the event loop (netloop.go) and then, after a hand-over and for good,
// the reader goroutine (serve).
type clientInput struct {
	parser resp.Parser
	buf    []byte
	// Parsed arguments of a batch, flattened to avoid an allocation per
	// command: command i is flat[bounds[i-1]:bounds[i]] and its input ends
	// at buf offset ends[i].
	flat   [][]byte
	bounds []int
	ends   []int
	// parseFirst is set when buf may hold whole commands to run before
	// reading again: an unauthenticated batch stopped after one command
	// (a replica pipelines AUTH and REPLCONF in one write and then waits),
	// input read while blocked, or commands the event loop left to the
	// reader goroutine.
	parseFirst bool
}

func newClientInput() *clientInput {
	return &clientInput{
		buf:    make([]byte, 0, 16*1024),
		flat:   make([][]byte, 0, 256),
		bounds: make([]int, 0, 64),
		ends:   make([]int, 0, 64),
	}
}

// room returns the free part of the buffer to read into, doubling it when
// full.
func (in *clientInput) room() []byte {
	if len(in.buf) == cap(in.buf) {
		nb := make([]byte, len(in.buf), 2*cap(in.buf))
		copy(nb, in.buf)
		in.buf = nb
	}
	return in.buf[len(in.buf):cap(in.buf)]
}

// batchOutcome is how runBatch left the client.
type batchOutcome uint8

const (
	// batchRan: every parsed command ran; read more input.
	batchRan batchOutcome = iota
	// batchClose: send the replies, then free the client.
	batchClose
	// batchGone: the client was freed (query buffer limit, gone while
	// blocked).
	batchGone
	// batchHandOver (event loop only): the client needs its reader
	// goroutine from here on, starting with the input left in buf.
	batchHandOver
)

// serve is the reader goroutine: read, parse a batch and execute it under
// the executor lock, flush the replies, repeat. in is a new client's empty
// input, or with resumed the input of a client the event loop handed over
// (handOver): its replies are sent first, a command it blocked on is
// waited for, and the commands left in in.buf run before reading again.
func (c *Client) serve(in *clientInput, resumed bool) {
	defer c.s.wg.Done()
	defer c.recoverReader()
	if !resumed {
		go c.flusher()
	} else if !c.resume(in) {
		return
	}
	for {
		if !in.parseFirst {
			n, err := c.conn.Read(in.room())
			c.s.stats.ReadsProcessed.Add(1)
			if n > 0 {
				c.s.stats.NetInputBytes.Add(int64(n))
				in.buf = in.buf[:len(in.buf)+n]
			}
			if err != nil {
				c.lockExec()
				c.s.freeClient(c)
				c.unlockExec()
				return
			}
		}
		c.lockExec()
		switch c.runBatch(in, false) {
		case batchGone:
			c.unlockExec()
			return
		case batchClose:
			c.unlockExec()
			c.writePending()
			c.lockExec()
			c.s.freeClient(c)
			c.unlockExec()
			return
		}
		c.unlockExec()
		c.writePending()
	}
}

// resume takes over a client from the event loop: it sends the replies
// the loop could not, closes the client if it was closing, and waits out
// the command it blocked on. It reports whether to go on serving.
func (c *Client) resume(in *clientInput) bool {
	c.writePending()
	c.lockExec()
	defer c.unlockExec()
	if c.closed || c.flags&ClientCloseAfterReply != 0 {
		c.s.freeClient(c)
		return false
	}
	if c.blocked {
		arrived, gone := c.waitUnblocked()
		if gone {
			c.s.freeClient(c)
			return false
		}
		in.buf = append(in.buf, arrived...)
		c.queryBufLen += len(arrived)
	}
	in.parseFirst = len(in.buf) > 0
	return true
}

// runBatch parses every complete command in in.buf, then runs them, in
// one hold of the executor (held by the caller): the limits the parser
// applies are the current ones, and a batch costs one lock, not two
// (taking it twice per request showed as contention with 50 unpipelined
// clients). Parsing copies nothing, so holding the executor for it is
// cheap. Unauthenticated clients are parsed one command at a time since
// AUTH changes the limits. The run input is dropped from in.buf.
//
// The reader goroutine (inLoop false) waits here for a command that
// blocks. The event loop (inLoop true) never waits: it stops before a
// command it must not run (loopRefuses) or after one that leaves the
// client needing its goroutine (loopKeeps), and reports batchHandOver
// with the rest of the input still in in.buf.
func (c *Client) runBatch(in *clientInput, inLoop bool) batchOutcome {
	s := c.s
	lim := s.protoLimits(c)
	if s.overQueryBufLimit(c, in.buf) {
		s.freeClient(c)
		return batchGone
	}
	var protoErr error
	in.flat, in.bounds, in.ends = in.flat[:0], in.bounds[:0], in.ends[:0]
	off := 0
	for off < len(in.buf) {
		args, used, err := in.parser.ReadCommand(in.buf[off:], lim)
		if err != nil {
			protoErr = err
			break
		}
		if used == 0 {
			break
		}
		off += used
		if len(args) == 0 {
			continue
		}
		// The parser reuses its slice: keep a copy of the headers.
		in.flat = append(in.flat, args...)
		in.bounds = append(in.bounds, len(in.flat))
		in.ends = append(in.ends, off)
		if lim.Unauthenticated {
			break
		}
	}
	c.queryBufLen = len(in.buf) - off
	start := 0
	readWhileBlocked := false
	handOver := false
	// stopAt ends the batch for a hand-over with the input from at on
	// left unrun (a protocol error past it is found again by the reader).
	stopAt := func(at int) {
		off, protoErr, handOver = at, nil, true
		c.queryBufLen = len(in.buf) - at
	}
	s.beginBatch()
	for i, end := range in.bounds {
		if c.closed || c.flags&ClientCloseAfterReply != 0 {
			break
		}
		if s.shuttingDown.Load() {
			// SHUTDOWN ran (its final save is done): as redis-server
			// exits inside the command, nothing runs after it, here or
			// in another client's batch, so no write is acknowledged
			// that the save does not hold.
			break
		}
		if inLoop && s.loopRefuses(c, in.flat[start]) {
			at := 0
			if i > 0 {
				at = in.ends[i-1]
			}
			stopAt(at)
			break
		}
		s.processCommand(c, in.flat[start:end:end])
		start = end
		if len(c.heldInput) > 0 {
			// Read while CLIENT PAUSE held the command.
			in.buf = append(in.buf, c.heldInput...)
			c.queryBufLen += len(c.heldInput)
			readWhileBlocked = true
			c.heldInput = nil
		}
		if inLoop && (c.blocked || loopKeeps(c)) {
			stopAt(in.ends[i])
			break
		}
		if c.blocked {
			// Ends the batch: it releases the executor.
			arrived, gone := c.waitUnblocked()
			if gone {
				s.freeClient(c)
				return batchGone
			}
			// Appending never moves bytes the batch's arguments
			// point into (they stay in the old array, or before
			// len(buf)).
			in.buf = append(in.buf, arrived...)
			c.queryBufLen += len(arrived)
			readWhileBlocked = readWhileBlocked || len(arrived) > 0
			s.beginBatch()
		}
	}
	s.endBatch()
	if protoErr != nil && !c.closed {
		c.w.Error("ERR " + protoErr.Error())
		c.flags |= ClientCloseAfterReply
		s.Log.Verbosef("Protocol error (%s) from client: id=%d addr=%s", protoErr.Error(), c.ID, c.addr)
	}
	c.flushOutLocked()
	s.overOutputLimits(c)
	// Keep the unparsed tail at the front of the buffer.
	rest := copy(in.buf, in.buf[off:])
	in.buf = in.buf[:rest]
	// Input read while blocked may hold whole commands: parse it
	// before waiting for more.
	in.parseFirst = (lim.Unauthenticated && len(in.bounds) > 0 || readWhileBlocked) && rest > 0
	if cap(in.buf) > 1<<20 && rest < 16*1024 {
		in.buf = append(make([]byte, 0, 16*1024), in.buf...)
	}
	switch {
	case c.closed || c.flags&ClientCloseAfterReply != 0:
		return batchClose
	case handOver:
		return batchHandOver
	}
	return batchRan
}

// waitUnblocked parks the reader while the client is blocked, releasing
// the executor; replies produced so far are flushed first. Called and
// returns with the executor held.
//
// The socket is still read meanwhile, as Redis keeps reading a blocked
// client into its query buffer: what arrives (pipelined commands) is
// returned for the reader to run once unblocked, and a connection that
// closes (the peer went away, or the server is shutting down) frees the
// client at once instead of leaving it blocked until its timeout. gone
// reports that; the caller then frees the client and stops.
func (c *Client) waitUnblocked() (arrived []byte, gone bool) {
	if c.unblockCh == nil {
		c.unblockCh = make(chan struct{})
	}
	ch := c.unblockCh
	c.flushOutLocked()
	h := c.startHeldRead()
	c.s.endBatch() // others run meanwhile: the batch's clock goes stale
	c.unlockExec()
	c.writePending()
	var r heldReadResult
	select {
	case <-ch:
		r = h.stop()
	case r = <-h.done:
	}
	c.lockExec()
	return h.finish(r)
}

// heldRead reads a client's socket while its reader goroutine is held (a
// blocked client, a command held by CLIENT PAUSE), as Redis keeps reading
// such a client into its query buffer: input that arrives is kept for
// the reader, a closed connection is noticed at once, and input past
// client-query-buffer-limit ends the read.
type heldRead struct {
	c    *Client
	done chan heldReadResult
}

type heldReadResult struct {
	got []byte
	err error
}

// startHeldRead starts reading c's socket. Runs on the executor.
func (c *Client) startHeldRead() *heldRead {
	// What may still arrive before the query buffer (the unparsed input
	// already held plus what is read now) passes client-query-buffer-limit.
	room := int64(-1)
	if c.flags&ClientMaster == 0 {
		room = c.s.hot.queryBufLimit - int64(c.queryBufLen)
	}
	h := &heldRead{c: c, done: make(chan heldReadResult, 1)}
	go func() {
		var got []byte
		b := make([]byte, 4096)
		for {
			n, err := c.conn.Read(b)
			if n > 0 {
				c.s.stats.NetInputBytes.Add(int64(n))
				got = append(got, b[:n]...)
				if room >= 0 && int64(len(got)) > room && err == nil {
					err = errQueryBufLimit
				}
			}
			if err != nil {
				h.done <- heldReadResult{got, err}
				return
			}
		}
	}()
	return h
}

// stop ends the read (an expired deadline ends its Read) and returns what
// it got. Runs without the executor.
func (h *heldRead) stop() heldReadResult {
	_ = h.c.conn.SetReadDeadline(time.Now())
	r := <-h.done
	_ = h.c.conn.SetReadDeadline(time.Time{})
	if errors.Is(r.err, os.ErrDeadlineExceeded) {
		r.err = nil
	}
	return r
}

// finish accounts for what the read got and reports whether the client
// is gone (its connection closed, or its query buffer over the limit,
// which is logged). Runs on the executor.
func (h *heldRead) finish(r heldReadResult) (arrived []byte, gone bool) {
	if r.err == errQueryBufLimit {
		h.c.queryBufLen += len(r.got)
		h.c.s.logQueryBufLimit(h.c, r.got)
	}
	return r.got, r.err != nil
}

// errQueryBufLimit ends the read of a blocked client whose input passed
// client-query-buffer-limit.
var errQueryBufLimit = errors.New("query buffer limit")

// overQueryBufLimit applies client-query-buffer-limit to the input read
// but not yet parsed (buf), as Redis's readQueryFromClient does after each
// read: a client other than our master with more is logged and must be
// closed, without a reply. Runs on the executor.
func (s *Server) overQueryBufLimit(c *Client, buf []byte) bool {
	if c.flags&ClientMaster != 0 || int64(len(buf)) <= s.hot.queryBufLimit {
		return false
	}
	c.queryBufLen = len(buf)
	s.logQueryBufLimit(c, buf)
	return true
}

// logQueryBufLimit is Redis's warning for a client closed by
// client-query-buffer-limit, with the first 64 bytes of its input.
func (s *Server) logQueryBufLimit(c *Client, buf []byte) {
	head := buf[:min(len(buf), 64)]
	s.Log.Warningf("Closing client that reached max query buffer length: %s (qbuf initial bytes: %s)",
		s.clientInfoLine(c, nil, s.clock()), resp.AppendRepr(nil, head))
}

// Block marks the client blocked after the current command: its reader
// executes nothing more until Unblock. Runs on the executor.
func (c *Client) Block() {
	c.blocked = true
	if c.unblockCh == nil {
		c.unblockCh = make(chan struct{})
	}
}

// IsBlocked reports whether the client is blocked.
func (c *Client) IsBlocked() bool { return c.blocked }

// Unblock resumes a blocked client; its reply must already be in Writer.
// Runs on the executor.
func (c *Client) Unblock() {
	if !c.blocked {
		return
	}
	c.blocked = false
	close(c.unblockCh)
	c.unblockCh = nil
	c.Flush()
}

// flushOutLocked moves the executor-side replies to the pending buffer.
// Runs on the executor.
func (c *Client) flushOutLocked() {
	if c.w.Len() == 0 {
		return
	}
	if c.flags&ClientInternal != 0 {
		return
	}
	if c.s.aofBeforeReply != nil && c != c.s.aofRoundClient {
		// The AOF is written (and with appendfsync always synced) before
		// any reply may leave, as Redis's beforeSleep does. The event
		// loop's client of the moment is the exception: the loop flushes
		// the AOF once for the whole round before it writes any reply,
		// so the round's writes share one fsync, as in Redis.
		c.s.aofBeforeReply()
	}
	c.outMu.Lock()
	c.pending = append(c.pending, c.w.Bytes()...)
	c.outMu.Unlock()
	c.w.Reset()
}

// Flush schedules sending whatever was written to the client's Writer from
// outside its own command (pub/sub, blocked replies). Runs on the executor.
func (c *Client) Flush() {
	if c.flags&ClientInternal != 0 {
		return
	}
	if c.callDepth > 0 && c.flags&(ClientNoReply|ClientSkipReply) != 0 {
		// Its own command is still writing a reply that will be cut
		// (keeping the pushes): its reader sends w after the batch.
		return
	}
	c.flushOutLocked()
	if c.s.overOutputLimits(c) {
		return
	}
	if c == c.s.aofRoundClient {
		// The event loop sends it after the round, once the AOF holds
		// the round's writes; the flusher must not send it before.
		return
	}
	c.kickFlusher()
}

// kickFlusher has the flusher send the pending output, unless the client
// is freed. Safe from any goroutine.
func (c *Client) kickFlusher() {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if c.kickClosed {
		return
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// overOutputLimits applies client-output-buffer-limit to c's unsent
// output: over the hard limit, or over the soft limit for longer than its
// seconds, the client is closed, as Redis does with slow consumers. It
// reports whether c was closed. Runs on the executor.
func (s *Server) overOutputLimits(c *Client) bool {
	class := 0
	switch {
	case c.flags&ClientReplica != 0 && c.flags&ClientMonitor == 0:
		class = 1
	case c.flags&ClientPubSub != 0:
		class = 2
	}
	lim := s.hot.outLimits[class]
	hard, soft, secs := lim[0], lim[1], lim[2]
	if hard == 0 && soft == 0 {
		return false
	}
	size := int64(c.PendingBytes())
	now := s.clock()
	over := hard > 0 && size >= hard
	if soft > 0 && size >= soft {
		if c.softLimitSince == 0 {
			c.softLimitSince = now
		} else if now-c.softLimitSince >= secs*1000 {
			over = true
		}
	} else {
		c.softLimitSince = 0
	}
	if !over || c.closed {
		return false
	}
	s.Log.Warningf("Client %s scheduled to be closed ASAP for overcoming of output buffer limits.", s.clientInfoLine(c, nil, now))
	c.Kill()
	return true
}

// PendingBytes is the size of the output not yet written to the socket.
func (c *Client) PendingBytes() int {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	return len(c.pending)
}

// writePending sends the pending output in order. Called without the
// executor held.
func (c *Client) writePending() {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	for {
		c.outMu.Lock()
		if len(c.pending) == 0 {
			c.outMu.Unlock()
			return
		}
		out := c.pending
		c.pending, c.spare = c.spare[:0], nil
		c.outMu.Unlock()
		n, err := c.conn.Write(out)
		c.s.stats.NetOutputBytes.Add(int64(n))
		c.s.stats.WritesProcessed.Add(1)
		c.outMu.Lock()
		if cap(out) <= 1<<20 {
			c.spare = out[:0]
		}
		c.outMu.Unlock()
		if err != nil {
			c.closeConn()
			return
		}
	}
}

// flusher sends output produced on behalf of the client by others.
func (c *Client) flusher() {
	defer c.recoverFlusher()
	for range c.kick {
		c.writePending()
	}
}

// closeConn closes the socket; the reader then frees the client. A
// socket the event loop serves is shut down instead: the loop reads its
// end of file and frees the client, and the descriptor is only closed
// there, never under the loop. Safe from any goroutine.
func (c *Client) closeConn() {
	if c.conn == nil {
		return
	}
	if c.inLoop.Load() {
		err := c.raw.Control(func(fd uintptr) { _ = syscall.Shutdown(int(fd), syscall.SHUT_RDWR) })
		if err == nil {
			return
		}
	}
	_ = c.conn.Close()
}

// Kill closes the client as CLIENT KILL does: pending replies are dropped.
// Runs on the executor.
func (c *Client) Kill() {
	c.closed = true
	c.closeConn()
	if c.blocked {
		c.blocked = false
		close(c.unblockCh)
		c.unblockCh = nil
	}
}

// freeClient releases a client's server-side state. Runs on the executor;
// safe to call twice.
func (s *Server) freeClient(c *Client) {
	if _, ok := s.clients[c.ID]; !ok {
		return
	}
	for _, fn := range s.closeHooks {
		fn(c)
	}
	delete(s.clients, c.ID)
	c.closed = true
	s.unwatchAll(c)
	s.pubsubUnsubscribeAll(c, false)
	s.removeMonitor(c)
	if c.blocked {
		c.blocked = false
		close(c.unblockCh)
		c.unblockCh = nil
	}
	if c.conn != nil {
		if c.inLoop.Load() {
			s.loop.forget(c)
		}
		_ = c.conn.Close()
		c.outMu.Lock()
		c.kickClosed = true
		close(c.kick)
		c.outMu.Unlock()
	}
}

// clientsCron closes idle clients (timeout) and trims buffers.
func (s *Server) clientsCron(now int64) {
	timeout := s.Config.Int("timeout")
	if timeout <= 0 {
		return
	}
	for _, c := range s.clients {
		if c.flags&(ClientMaster|ClientReplica|ClientInternal) != 0 || c.blocked || c.flags&ClientPubSub != 0 {
			continue
		}
		if now-c.lastInteraction > timeout*1000 {
			s.Log.Verbosef("Closing idle client")
			c.Kill()
		}
	}
}
