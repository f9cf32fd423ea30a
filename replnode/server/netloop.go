package server

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/replnode/replnode/replnode/netloop"
)

// eventLoop serves plain TCP and unix socket clients from one goroutine,
// as redis-server's single thread does: it waits on all their sockets
// (package netloop), reads every ready client without blocking, then in
// one hold of the executor parses and runs the batches of all of them
// (Client.runBatch, as the reader goroutine does), releases it, and writes
// their replies without blocking. Unpipelined, that costs one wake-up per
// round of ready clients instead of a goroutine park, a netpoll wake-up
// and an executor hand-off per request.
//
// Whatever would make the loop wait is not done here: the client is
// handed over, for good, to the reader goroutine (Client.serve), with its
// unrun input and its unsent replies intact. That is a command that
// blocks (after it has blocked), a command while CLIENT PAUSE is in force
// (waitPause waits inside processCommand), a script (a busy script lends
// the executor so others get -BUSY, which needs the script off the loop),
// the replication commands, MONITOR (after it ran), a closing client
// (QUIT, a protocol error: its reply is sent blocking) and a reply the
// socket does not take whole. TLS connections never enter the loop.
//
// Subscribers stay: what they receive is pushed through Flush and the
// flusher like any loop client's pushes, and in the loop a command a
// subscriber sent before another client's PUBLISH runs first, as in
// redis-server (the Redis suite's "PUBLISH/PSUBSCRIBE after PUNSUBSCRIBE
// without arguments" publishes right after sending PUNSUBSCRIBE, with no
// reply to wait for; handed over to a goroutine, the subscriber lost that
// race every time).
//
// Ownership: the loop alone reads a loop client's socket and its
// clientInput; a hand-over removes the socket from epoll before the reader
// goroutine starts. Replies go through Client.pending and writeMu as on
// the goroutine path, so output others produce for a loop client (client
// side caching invalidations, unblocking replies) is still sent by its
// flusher, in order. Closing a loop client's connection from elsewhere
// (CLIENT KILL, output limits, timeout, shutdown) shuts the socket down
// (Client.closeConn): the loop reads end-of-file and frees the client,
// so a descriptor is never closed while the loop may be using it.
type eventLoop struct {
	s      *Server
	poller *netloop.Poller

	// mu guards clients and stopped: accept adds, freeClient and hand-overs
	// remove, from any goroutine.
	mu      sync.Mutex
	clients map[uint64]*loopClient
	stopped bool

	// The loop goroutine's own scratch, reused every round.
	events []netloop.Event
	ready  []*loopClient
}

// loopClient is a client while the event loop serves it.
type loopClient struct {
	c  *Client
	in *clientInput
	// dropped is set when the client left the loop (freed or handed
	// over); the loop then skips it for the rest of the round.
	dropped atomic.Bool
	// readErr is the round's read failure (end of file included); got
	// counts the bytes the round read; ran is set when the round ran its
	// input, so it may have replies to write.
	readErr error
	got     int
	ran     bool
	// readFn and writeFn are the raw read and write, made once so a
	// request allocates no closure; they take ioBuf and leave ioN, ioErr.
	readFn, writeFn func(fd uintptr) bool
	ioBuf           []byte
	ioN             int
	ioErr           error
}

func newLoopClient(c *Client) *loopClient {
	lc := &loopClient{c: c, in: newClientInput()}
	lc.readFn = func(fd uintptr) bool {
		lc.ioN, lc.ioErr = rawIO(syscall.SYS_READ, fd, lc.ioBuf)
		return true
	}
	lc.writeFn = func(fd uintptr) bool {
		lc.ioN, lc.ioErr = rawIO(syscall.SYS_WRITE, fd, lc.ioBuf)
		return true
	}
	return lc
}

// loopEventsPerWait bounds the clients one round serves; more ready ones
// are reported by the next wait (level-triggered).
const loopEventsPerWait = 512

func newEventLoop(s *Server) (*eventLoop, error) {
	p, err := netloop.New(loopEventsPerWait)
	if err != nil {
		return nil, err
	}
	return &eventLoop{s: s, poller: p, clients: map[uint64]*loopClient{}}, nil
}

// add has the loop serve c from now on. It fails for a connection the loop
// cannot serve (TLS, already closed, the loop stopped): the caller then
// starts c's reader goroutine.
func (l *eventLoop) add(c *Client) error {
	if c.raw == nil {
		return errors.New("not a plain socket")
	}
	lc := newLoopClient(c)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return errors.New("event loop stopped")
	}
	l.clients[c.ID] = lc
	c.inLoop.Store(true)
	var addErr error
	err := c.raw.Control(func(fd uintptr) { addErr = l.poller.Add(int(fd), c.ID) })
	if err == nil {
		err = addErr
	}
	if err != nil {
		delete(l.clients, c.ID)
		c.inLoop.Store(false)
		return err
	}
	go c.flusher()
	return nil
}

// forget takes c out of the loop: its socket leaves epoll while it is
// still open (inside Control), so a reused descriptor number is never
// touched. It reports whether c was in the loop. Safe from any goroutine.
func (l *eventLoop) forget(c *Client) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lc := l.clients[c.ID]
	if lc == nil {
		return false
	}
	delete(l.clients, c.ID)
	lc.dropped.Store(true)
	// A closed socket has left epoll already (its last close does that).
	_ = c.raw.Control(func(fd uintptr) { _ = l.poller.Remove(int(fd)) })
	c.inLoop.Store(false)
	return true
}

// handOver moves lc's client to a reader goroutine for good, with its
// input. Runs on the loop goroutine, which is then done with lc.
func (l *eventLoop) handOver(lc *loopClient) {
	if !l.forget(lc.c) {
		return // freed meanwhile
	}
	if l.s.aofBeforeReply != nil && l.s.aofRoundClient == lc.c {
		// Its reader goroutine sends the pending replies at once, before
		// the round's AOF flush: flush it now.
		l.s.aofBeforeReply()
	}
	l.s.wg.Add(1)
	go lc.c.serve(lc.in, true)
}

// wake interrupts the loop's wait (the server is stopping).
func (l *eventLoop) wake() { l.poller.Wake() }

// run is the loop goroutine.
func (l *eventLoop) run() {
	s := l.s
	defer s.wg.Done()
	defer l.poller.Close()
	for {
		evs, _, err := l.poller.WaitParked(l.events[:0])
		l.events = evs
		if s.shuttingDown.Load() {
			l.stop()
			return
		}
		if err != nil {
			s.Log.Warningf("event loop: %v", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		l.ready = l.ready[:0]
		l.mu.Lock()
		for _, ev := range evs {
			if lc := l.clients[ev.Token]; lc != nil {
				l.ready = append(l.ready, lc)
			}
		}
		l.mu.Unlock()
		for _, lc := range l.ready {
			lc.read(s)
		}
		s.mu.Lock()
		for _, lc := range l.ready {
			l.runProtected(lc)
		}
		if s.aofBeforeReply != nil {
			// One AOF write (and with appendfsync always one fsync) for
			// every write of the round, before any of its replies leave:
			// Redis's beforeSleep. Per client, a round of 50 clients
			// paid 50 fsyncs (aof-always SET at 0.09x redis-server).
			s.aofBeforeReply()
		}
		s.mu.Unlock()
		for _, lc := range l.ready {
			if lc.ran && !lc.dropped.Load() {
				l.write(lc)
			}
		}
		clear(l.ready) // no client outlives its round here
	}
}

// read reads what lc's socket holds, without waiting.
func (lc *loopClient) read(s *Server) {
	lc.readErr, lc.got, lc.ran = nil, 0, false
	lc.ioBuf = lc.in.room()
	err := lc.c.raw.Read(lc.readFn)
	n, rerr := lc.ioN, lc.ioErr
	lc.ioBuf = nil
	s.stats.ReadsProcessed.Add(1)
	switch {
	case err != nil:
		lc.readErr = err
	case rerr == syscall.EAGAIN || rerr == syscall.EINTR:
	case rerr != nil:
		lc.readErr = rerr
	case n == 0:
		lc.readErr = errEOF
	default:
		s.stats.NetInputBytes.Add(int64(n))
		lc.in.buf = lc.in.buf[:len(lc.in.buf)+n]
		lc.got = n
	}
}

// rawIO is read(2) or write(2) on a non-blocking socket without telling
// the scheduler it enters a system call (RawSyscall): it cannot block, so
// the P hand-off bookkeeping of syscall.Read would be pure cost, paid
// twice per request.
func rawIO(trap uintptr, fd uintptr, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, errno := syscall.RawSyscall(trap, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if errno != 0 {
		return -1, errno
	}
	return int(n), nil
}

// errEOF is a loop client's end of input.
var errEOF = errors.New("connection closed by the peer")

// runProtected runs lc's round on the executor (held): a panic outside a
// command handler closes this client only, as recoverReader does for a
// reader goroutine, and the loop goes on.
func (l *eventLoop) runProtected(lc *loopClient) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		s := l.s
		s.recovered(fmt.Sprintf("the reader of client id=%d addr=%s (event loop)", lc.c.ID, lc.c.addr), r)
		if s.batch.active {
			s.endBatch()
		}
		s.freeClient(lc.c)
	}()
	l.runClient(lc)
}

// runClient runs what lc read. Runs on the executor.
func (l *eventLoop) runClient(lc *loopClient) {
	c := lc.c
	if lc.dropped.Load() {
		return
	}
	l.s.aofRoundClient = c
	defer func() { l.s.aofRoundClient = nil }()
	if lc.readErr != nil || c.closed {
		l.s.freeClient(c)
		return
	}
	if lc.got == 0 {
		return
	}
	for {
		switch c.runBatch(lc.in, true) {
		case batchGone:
			return
		case batchClose, batchHandOver:
			l.handOver(lc)
			return
		}
		lc.ran = true
		if !lc.in.parseFirst {
			return
		}
	}
}

// write sends lc's replies without waiting. A reply the socket does not
// take whole hands the client over: its reader goroutine sends the rest,
// blocking, and stops reading meanwhile, as the goroutine path does. Runs
// without the executor.
func (l *eventLoop) write(lc *loopClient) {
	c := lc.c
	if !c.writeMu.TryLock() {
		// The flusher is sending output others produced; it loops until
		// pending is empty, and the kick covers the moment it is about
		// to let go.
		c.kickFlusher()
		return
	}
	c.outMu.Lock()
	out := c.pending
	c.pending, c.spare = c.spare[:0], nil
	c.outMu.Unlock()
	if len(out) == 0 {
		c.writeMu.Unlock()
		return
	}
	lc.ioBuf = out
	err := c.raw.Write(lc.writeFn)
	n, werr := lc.ioN, lc.ioErr
	lc.ioBuf = nil
	if n < 0 {
		n = 0
	}
	l.s.stats.WritesProcessed.Add(1)
	l.s.stats.NetOutputBytes.Add(int64(n))
	blocked := false
	switch {
	case err != nil:
		c.closeConn()
	case werr == syscall.EAGAIN || werr == syscall.EINTR || werr == nil && n < len(out):
		blocked = true
	case werr != nil:
		c.closeConn()
	}
	c.outMu.Lock()
	if blocked {
		// The rest goes before anything appended meanwhile.
		c.pending = append(out[n:len(out):len(out)], c.pending...)
	} else if cap(out) <= 1<<20 {
		c.spare = out[:0]
	}
	c.outMu.Unlock()
	c.writeMu.Unlock()
	if blocked {
		l.handOver(lc)
	}
}

// stop frees the loop's clients (their connections were shut down by
// Server.Close) and refuses new ones.
func (l *eventLoop) stop() {
	l.mu.Lock()
	l.stopped = true
	left := make([]*Client, 0, len(l.clients))
	for _, lc := range l.clients {
		left = append(left, lc.c)
	}
	l.mu.Unlock()
	l.s.mu.Lock()
	for _, c := range left {
		l.s.freeClient(c)
	}
	l.s.mu.Unlock()
}

// loopRefuses reports whether the event loop must leave the command named
// name to c's reader goroutine: CLIENT PAUSE is in force (processCommand
// would wait in waitPause), it runs a script (EXEC of a transaction
// holding one too), or it is a replication command. Runs on the executor.
func (s *Server) loopRefuses(c *Client, name []byte) bool {
	if s.clientsPaused() {
		return true
	}
	if isExecName(name) {
		if !c.multi.active {
			return false
		}
		for _, q := range c.multi.cmds {
			if loopRefusedName([]byte(q.cmd.Name)) {
				return true
			}
		}
		return false
	}
	return loopRefusedName(name)
}

func isExecName(name []byte) bool { return len(name) == 4 && bytes.EqualFold(name, []byte("exec")) }

// loopRefusedName reports the commands the loop never runs: scripts and
// the replication commands. A length switch keeps GET and SET to one
// comparison.
func loopRefusedName(name []byte) bool {
	is := func(s string) bool { return bytes.EqualFold(name, []byte(s)) }
	switch len(name) {
	case 4:
		return is("eval") || is("sync")
	case 5:
		return is("fcall") || is("psync")
	case 7:
		return is("evalsha") || is("eval_ro")
	case 8:
		return is("fcall_ro") || is("replconf")
	case 10:
		return is("evalsha_ro")
	}
	return false
}

// loopKeeps reports whether c, after its last command, needs its reader
// goroutine: it became a replica (the replication code writes to its
// connection itself) or a monitor.
func loopKeeps(c *Client) bool {
	return c.flags&(ClientReplica|ClientMaster|ClientMonitor) != 0
}

// plainSocket returns the raw descriptor access of a plain TCP or unix
// socket connection, nil for anything else (TLS).
func plainSocket(conn net.Conn) syscall.RawConn {
	var sc syscall.Conn
	switch t := conn.(type) {
	case *net.TCPConn:
		sc = t
	case *net.UnixConn:
		sc = t
	default:
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}
