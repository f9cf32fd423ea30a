package replication

// ------ THE MIN-REPLICAS GUARD, IN MILLISECONDS ------
//
// Redis counts a replica as good for min-replicas-to-write while its last
// REPLCONF ACK is at most min-replicas-max-lag whole seconds old. Two things
// make that too loose for an operator that must know when a cut-off master
// stops taking writes:
//
//   - whole seconds: an ACK counts up to L+1 real seconds;
//   - the ACK's time, not its offset: a replica that no longer hears the
//     master (a one-way cut, master to replica) keeps sending ACKs for the
//     offset it stopped at, every second, and stays good forever.
//
// replnode counts a replica as good while it is caught up within L, in
// milliseconds of a monotonic clock: its caught-up time is the last moment
// at which it had acknowledged everything the master held — the time of
// the ACK if it acknowledged the master's whole offset, else the moment the
// master's offset first went past the acknowledged one. The master's offset
// grows at least every repl-ping-replica-period (PING), so a replica that
// stopped reading at time t is good until at most t + period + L, whichever
// way the cut goes; docs/failover.md turns that into the operator's vote.
// The rule is stricter than Redis's: a replica caught up within L also
// acknowledged within L.

// streamClockWindowMs is how far back StreamClock remembers growth: more
// than any min-replicas-max-lag worth using. An acknowledged offset older
// than the window is treated as caught up at the window's start (or
// earlier), which only makes the replica look more behind.
const streamClockWindowMs = 30_000

// streamGrowth is one growth of the master's offset: from start to end, at
// a monotonic time in ms (growths within one ms are merged).
type streamGrowth struct {
	start, end, atMs int64
}

// StreamClock remembers when the master's offset grew, so that for an
// acknowledged offset it can tell since when the master has held bytes the
// replica lacks.
type StreamClock struct {
	growths []streamGrowth
	// forgotMs is the time of the newest growth dropped from the window.
	forgotMs int64
}

// Grew records that the offset went from start to end at monoMs.
func (c *StreamClock) Grew(start, end, monoMs int64) {
	if n := len(c.growths); n > 0 && c.growths[n-1].atMs == monoMs && c.growths[n-1].end == start {
		c.growths[n-1].end = end
	} else {
		c.growths = append(c.growths, streamGrowth{start: start, end: end, atMs: monoMs})
	}
	i := 0
	for i < len(c.growths)-1 && monoMs-c.growths[i].atMs > streamClockWindowMs {
		c.forgotMs = c.growths[i].atMs
		i++
	}
	if i > 0 {
		c.growths = append(c.growths[:0], c.growths[i:]...)
	}
}

// Reset forgets everything (a new history starts: promotion, full sync).
func (c *StreamClock) Reset() { *c = StreamClock{} }

// CaughtUpAt returns the last moment a replica that acknowledged offset
// held everything the master had, when the master's offset is now
// masterOffset: nowMs if it acknowledged all of it, else when the offset
// first went past the acknowledged one (a conservative earlier time when
// that is no longer remembered).
func (c *StreamClock) CaughtUpAt(offset, masterOffset, nowMs int64) int64 {
	if offset >= masterOffset {
		return nowMs
	}
	lo, hi := 0, len(c.growths)
	for lo < hi { // first growth ending past offset
		mid := (lo + hi) / 2
		if c.growths[mid].end > offset {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo == len(c.growths) || c.growths[lo].start > offset {
		// Its place is before what is remembered (or in a gap the clock
		// never saw, as after a restart): no later than the oldest.
		if lo < len(c.growths) && lo > 0 {
			return c.growths[lo-1].atMs
		}
		return c.forgotMs
	}
	return c.growths[lo].atMs
}
