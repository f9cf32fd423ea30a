package ackwriter

import (
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/replnode/replnode/test/internal/resp"
)

// Writer writes <prefix><n> = <n> in a loop and logs each key acknowledged
// by WAIT 1 (at least one replica has it), with the time of the
// acknowledgement; it also keeps the keys whose SET answered OK, and a
// trace of its connects and errors for timelines.
type Writer struct {
	mu       sync.Mutex
	acked    []string
	ackTimes []time.Time
	// oked are the keys whose SET answered OK, acknowledged by WAIT or not.
	oked []string
	// trace records the writer's connects and errors, for timelines.
	trace   []Event
	prefix  string
	connect func() (*resp.Conn, error)
	stop    chan struct{}
	done    chan struct{}
}

// Event is one entry of the writer's trace: a connect, or an error and the
// command that met it.
type Event struct {
	At   time.Time
	What string
}

// Start starts the load loop over connections from connect, writing keys
// named prefix followed by a sequence number; stop it with Finish.
func Start(prefix string, connect func() (*resp.Conn, error)) *Writer {
	w := &Writer{prefix: prefix, connect: connect, stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w
}

// loop writes one key at a time, each followed by WAIT 1 2000, and connects
// again (wherever connect leads by then) after any error.
func (w *Writer) loop() {
	defer close(w.done)
	seq := 0
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		c, err := w.connect()
		if err != nil {
			w.note("connect: " + err.Error())
			time.Sleep(100 * time.Millisecond)
			continue
		}
		w.note("connected")
		for {
			select {
			case <-w.stop:
				c.Close()
				return
			default:
			}
			seq++
			key := w.prefix + strconv.Itoa(seq)
			if _, err := c.Do("SET", key, strconv.Itoa(seq)); err != nil {
				w.note("SET: " + err.Error())
				break
			}
			w.mu.Lock()
			w.oked = append(w.oked, key)
			w.mu.Unlock()
			n, err := c.Do("WAIT", "1", "2000")
			if err != nil {
				w.note("WAIT: " + err.Error())
				break
			}
			if got, _ := n.(int64); got >= 1 {
				w.mu.Lock()
				w.acked = append(w.acked, key)
				w.ackTimes = append(w.ackTimes, time.Now())
				w.mu.Unlock()
			}
			time.Sleep(20 * time.Millisecond)
		}
		c.Close()
		time.Sleep(100 * time.Millisecond)
	}
}

// note adds an entry to the trace.
func (w *Writer) note(what string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.trace = append(w.trace, Event{At: time.Now(), What: what})
}

// Finish stops the writer and waits for it.
func (w *Writer) Finish() {
	close(w.stop)
	<-w.done
}

// Acked returns the keys acknowledged by WAIT so far, in order.
func (w *Writer) Acked() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.acked)
}

// OKed returns the keys whose SET answered OK so far, in order, whether
// WAIT acknowledged them or not.
func (w *Writer) OKed() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.oked)
}

// TraceBetween returns the trace entries in [from, to].
func (w *Writer) TraceBetween(from, to time.Time) []Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Event
	for _, e := range w.trace {
		if !e.At.Before(from) && !e.At.After(to) {
			out = append(out, e)
		}
	}
	return out
}

// Outage returns the longest gap between consecutive acknowledgements that
// overlaps [from, to] — the write-unavailability window of a fault at from.
func (w *Writer) Outage(from, to time.Time) time.Duration {
	start, end := w.OutageSpan(from, to)
	return end.Sub(start)
}

// OutageSpan returns the two acknowledgements that bound Outage's gap (both
// zero when no gap overlaps [from, to]).
func (w *Writer) OutageSpan(from, to time.Time) (time.Time, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var start, end time.Time
	prev := time.Time{}
	for _, at := range w.ackTimes {
		if !prev.IsZero() && at.After(from) && prev.Before(to) {
			if gap := at.Sub(prev); gap > end.Sub(start) {
				start, end = prev, at
			}
		}
		prev = at
	}
	return start, end
}

// AckedWithin counts the acknowledgements strictly between from and to.
func (w *Writer) AckedWithin(from, to time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, at := range w.ackTimes {
		if at.After(from) && at.Before(to) {
			n++
		}
	}
	return n
}

// AckedAfter reports whether a write was acknowledged after t.
func (w *Writer) AckedAfter(t time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.ackTimes) > 0 && w.ackTimes[len(w.ackTimes)-1].After(t)
}

// Missing returns those of keys that the server on c does not have, asking
// with MGET in batches of 500.
func Missing(c *resp.Conn, keys []string) ([]string, error) {
	var missing []string
	for start := 0; start < len(keys); start += 500 {
		end := min(start+500, len(keys))
		v, err := c.Do(append([]string{"MGET"}, keys[start:end]...)...)
		if err != nil {
			return missing, err
		}
		values, _ := v.([]any)
		if len(values) != end-start {
			return missing, &shortReplyError{want: end - start, got: len(values)}
		}
		for i, x := range values {
			if x == nil {
				missing = append(missing, keys[start+i])
			}
		}
	}
	return missing, nil
}

// shortReplyError: MGET answered with another number of values than keys.
type shortReplyError struct{ want, got int }

func (e *shortReplyError) Error() string {
	return "MGET answered " + strconv.Itoa(e.got) + " values for " + strconv.Itoa(e.want) + " keys"
}
