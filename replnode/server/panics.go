package server

import (
	"fmt"
	"runtime/debug"
	"time"
)

// Panics outside command handlers (see "A panic outside a command" in
// doc.go): each goroutine the server starts either recovers at its top
// (client reader and flusher, cron tick, accept) or runs its risky part
// through Server.protect, which turns a panic into an error the
// goroutine's ordinary failure path handles (a failed save, a dropped
// replication link or replica sync, a failed load).

// errPanic is the error protect returns for a recovered panic.
type errPanic struct {
	what  string
	value any
}

func (e *errPanic) Error() string { return fmt.Sprintf("panic in %s: %v", e.what, e.value) }

// recovered logs a panic recovered outside a command handler with its
// stack and counts it (INFO stats internal_panics). Safe without the
// executor.
func (s *Server) recovered(what string, value any) error {
	s.stats.InternalPanics.Add(1)
	s.Log.Warningf("Panic in %s (recovered): %v\n%s", what, value, debug.Stack())
	return &errPanic{what: what, value: value}
}

// protect runs fn and returns its error, or an *errPanic when fn panicked.
// fn must not hold the executor when it panics except through Exec, whose
// deferred unlock releases it.
func (s *Server) protect(what string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = s.recovered(what, r)
		}
	}()
	return fn()
}

// isPanic reports whether err came from a recovered panic.
func isPanic(err error) bool {
	_, ok := err.(*errPanic)
	return ok
}

// lockExec takes the executor for c's reader goroutine and remembers it,
// so a panic on that goroutine can release it (Client.recoverReader).
func (c *Client) lockExec() {
	c.s.mu.Lock()
	c.holdsExec = true
}

// unlockExec releases the executor taken by lockExec.
func (c *Client) unlockExec() {
	c.holdsExec = false
	c.s.mu.Unlock()
}

// recoverReader is deferred by the client's reader goroutine: a panic
// outside a handler (parsing, dispatch, propagation, a hook) is logged
// and counted, the batch it interrupted is ended, the executor released,
// and only this client is closed. The node keeps serving the others.
func (c *Client) recoverReader() {
	r := recover()
	if r == nil {
		return
	}
	s := c.s
	s.recovered(fmt.Sprintf("the reader of client id=%d addr=%s", c.ID, c.addr), r)
	if !c.holdsExec {
		c.lockExec()
	}
	if s.batch.active {
		s.endBatch()
	}
	s.freeClient(c)
	c.closeConn()
	c.unlockExec()
}

// recoverFlusher is deferred by a client's flusher goroutine: a panic
// while sending output closes the connection (the reader then frees the
// client).
func (c *Client) recoverFlusher() {
	if r := recover(); r != nil {
		c.s.recovered(fmt.Sprintf("the output of client id=%d addr=%s", c.ID, c.addr), r)
		c.closeConn()
	}
}

// cronPanicLogEvery bounds how often a cron panic that repeats every tick
// is logged with its stack; the others are only counted.
const cronPanicLogEvery = time.Minute

// cronProtected runs one cron tick on the executor (held by the caller).
// A panic in it is recovered so the next tick runs: expiry, replication
// timers and saves go on; a panic that repeats is logged once a minute.
func (s *Server) cronProtected() {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		now := time.Now()
		if now.Sub(s.cronPanicLogged) < cronPanicLogEvery {
			s.stats.InternalPanics.Add(1)
			return
		}
		s.cronPanicLogged = now
		s.recovered("the server cron", r)
	}()
	s.cron()
}
