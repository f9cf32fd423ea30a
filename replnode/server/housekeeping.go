package server

import (
	"runtime/metrics"
	"time"

	"github.com/replnode/replnode/replnode/resp"
)

// ---------------------------------------------------------------- active expiry

const (
	// activeExpireKeysPerLoop is ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP.
	activeExpireKeysPerLoop = 20
	// activeExpireSlowTimePerc is ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC.
	activeExpireSlowTimePerc = 25
	// activeExpireAcceptableStale is ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE.
	activeExpireAcceptableStale = 10
)

// activeExpireCycle is Redis's slow expire cycle: for each database sample
// keys with a TTL and delete the expired ones, repeating while more than
// the acceptable share of the sample was stale, within a time budget of a
// quarter of the cron period (scaled by active-expire-effort). Masters
// only: replicas wait for the master's DELs.
func (s *Server) activeExpireCycle(now int64) {
	effort := s.Config.Int("active-expire-effort") - 1
	perLoop := activeExpireKeysPerLoop + activeExpireKeysPerLoop/4*int(effort)
	acceptable := activeExpireAcceptableStale - int(effort)
	budget := time.Second * time.Duration(activeExpireSlowTimePerc+2*effort) / time.Duration(s.hz) / 100
	start := time.Now()
	var sampledTotal, expiredTotal int
	for dbNum, db := range s.Keyspace.DBs {
		for iteration := 0; ; iteration++ {
			if db.ExpiresLen() == 0 {
				break
			}
			sampled, expired := 0, 0
			var victims []string
			db.SampleExpires(perLoop, func(key string, at int64) {
				sampled++
				if at <= now {
					victims = append(victims, key)
				}
			})
			for _, k := range victims {
				s.deleteExpiredKey(dbNum, []byte(k))
				expired++
			}
			sampledTotal += sampled
			expiredTotal += expired
			if iteration%16 == 0 && time.Since(start) > budget {
				break
			}
			if sampled == 0 || expired*100/sampled <= acceptable {
				break
			}
		}
		if time.Since(start) > budget {
			break
		}
	}
	if sampledTotal > 0 {
		perc := float64(expiredTotal) / float64(sampledTotal)
		s.stats.ExpiredStalePerc = perc*0.05 + s.stats.ExpiredStalePerc*0.95
	}
}

// ---------------------------------------------------------------- memory

var memSamples = []metrics.Sample{
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/memory/classes/total:bytes"},
}

// sampleMemory refreshes the used-memory figure maxmemory is checked
// against: live heap objects (what the dataset and buffers hold), less
// the keyspace's idle slab memory (keyspaceIdleMemory).
func (s *Server) sampleMemory() {
	metrics.Read(memSamples)
	if v := memSamples[0].Value; v.Kind() == metrics.KindUint64 {
		s.usedMemory.Store(max(int64(v.Uint64())-s.keyspaceIdleMemory(), 0))
	}
}

// UsedMemory is the last sampled heap size in bytes.
func (s *Server) UsedMemory() int64 { return s.usedMemory.Load() }

// processMemory is the total memory mapped by the Go runtime (RSS proxy).
func processMemory() int64 {
	metrics.Read(memSamples)
	if v := memSamples[1].Value; v.Kind() == metrics.KindUint64 {
		return int64(v.Uint64())
	}
	return 0
}

// ---------------------------------------------------------------- monitors

// feedMonitors sends a command line to MONITOR clients, in Redis's format:
// +1700000000.123456 [0 127.0.0.1:5000] "set" "k" "v"
func (s *Server) feedMonitors(c *Client, db int, args [][]byte) {
	now := time.Now()
	line := make([]byte, 0, 64)
	line = append(line, itoa(now.Unix())...)
	line = append(line, '.')
	us := now.Nanosecond() / 1000
	line = append(line, []byte(sprintf("%06d", us))...)
	line = append(line, " ["...)
	line = append(line, itoa(int64(db))...)
	line = append(line, ' ')
	switch {
	case c.flags&ClientMaster != 0 || c.conn == nil:
		line = append(line, "lua"...)
	case c.conn.RemoteAddr().Network() == "unix":
		line = append(line, "unix:"...)
		line = append(line, s.Config.String("unixsocket")...)
	default:
		line = append(line, c.addr...)
	}
	line = append(line, ']')
	for _, a := range args {
		line = append(line, ' ')
		line = resp.AppendRepr(line, a)
	}
	for _, m := range s.monitors {
		m.w.SimpleString(string(line))
		m.Flush()
	}
}

// removeMonitor stops MONITOR output to c.
func (s *Server) removeMonitor(c *Client) {
	for i, m := range s.monitors {
		if m == c {
			s.monitors = append(s.monitors[:i], s.monitors[i+1:]...)
			return
		}
	}
}

// ---------------------------------------------------------------- slow log

// slowlogEntry is one SLOWLOG GET record.
type slowlogEntry struct {
	id       int64
	unix     int64
	usec     int64
	args     [][]byte
	peer     string
	clientNm string
}

// slowlog is Redis's slow log: newest first, bounded by slowlog-max-len.
type slowlog struct {
	entries []slowlogEntry
	nextID  int64
}

func (l *slowlog) init() {}

// record logs a command slower than slowlog-log-slower-than.
func (l *slowlog) record(s *Server, ctx *Ctx, dur time.Duration) {
	limit := s.hot.slowlogSlower
	if limit < 0 || dur.Microseconds() < limit {
		return
	}
	// Arguments are trimmed as Redis does: at most 32, strings at most
	// 128 bytes.
	all := ctx.loggedArgs()
	n := len(all)
	if n > 32 {
		n = 32
	}
	args := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		if i == 31 && len(all) > 32 {
			args = append(args, []byte(sprintf("... (%d more arguments)", len(all)-31)))
			break
		}
		a := all[i]
		if len(a) > 128 {
			args = append(args, []byte(sprintf("%s... (%d more bytes)", a[:128], len(a)-128)))
		} else {
			args = append(args, append([]byte(nil), a...))
		}
	}
	e := slowlogEntry{id: l.nextID, unix: time.Now().Unix(), usec: dur.Microseconds(), args: args, peer: ctx.C.addr, clientNm: ctx.C.Name}
	l.nextID++
	l.entries = append([]slowlogEntry{e}, l.entries...)
	l.trim(int(s.Config.Int("slowlog-max-len")))
}

// trim keeps the newest max entries.
func (l *slowlog) trim(max int) {
	if len(l.entries) > max {
		l.entries = l.entries[:max]
	}
}

// ---------------------------------------------------------------- client pause

// pausedFor reports whether CLIENT PAUSE holds a command from c now:
// PAUSE ALL holds every command, PAUSE WRITE those that may replicate
// (writes, and commands flagged may_replicate such as PUBLISH; an EXEC
// whose queue holds either). Our master's link and replicas are never
// held (see TestReplClientPauseKeepsReplicationFlowing).
func (s *Server) pausedFor(c *Client, mayReplicate bool) bool {
	if c.flags&(ClientMaster|ClientReplica|ClientInternal) != 0 || !s.clientsPaused() {
		return false
	}
	return !s.pauseWrites || mayReplicate
}

// clientsPaused reports whether a CLIENT PAUSE (WRITE or ALL) is in force,
// forgetting one whose time is up. While it is, the dataset stands still:
// no key expires, actively or on access, and nothing is evicted, as Redis
// 7.0's checkClientPauseTimeoutAndReturnIfPaused.
func (s *Server) clientsPaused() bool {
	if s.pausedUntilMs == 0 {
		return false
	}
	if s.clock() >= s.pausedUntilMs {
		s.pausedUntilMs = 0
		s.pauseWrites = false
		return false
	}
	return true
}

// waitPause holds c, releasing the executor, until the pause no longer
// holds its command (it ended, was lifted, or weakened from ALL to WRITE
// for a command that does not replicate), c is closed or the server stops.
// Meanwhile c counts as blocked (INFO blocked_clients, flag b), as Redis's
// BLOCKED_POSTPONE. It reports whether the command is to be processed
// again.
func (s *Server) waitPause(c *Client, mayReplicate bool) bool {
	c.flushOutLocked()
	s.endBatch() // others run meanwhile: the batch's clock goes stale
	c.paused = true
	defer func() { c.paused = false }()
	// The socket is read meanwhile, as for a blocked client: input is
	// kept for the reader (Client.heldInput), and a client that goes
	// away or passes client-query-buffer-limit is freed at once.
	var h *heldRead
	if c.conn != nil && c.flags&(ClientInternal|ClientMaster) == 0 {
		h = c.startHeldRead()
	}
	var r heldReadResult
	ended := false
	for s.pausedFor(c, mayReplicate) {
		if c.closed || s.shuttingDown.Load() {
			// A stopping server drops held commands, as Redis exits
			// with its postponed clients unserved.
			break
		}
		c.unlockExec()
		c.writePending()
		if h != nil {
			select {
			case r = <-h.done:
				ended = true
			case <-time.After(5 * time.Millisecond):
			}
		} else {
			time.Sleep(5 * time.Millisecond)
		}
		c.lockExec()
		if ended {
			break
		}
	}
	if h != nil {
		if !ended {
			c.unlockExec()
			r = h.stop()
			c.lockExec()
		}
		arrived, gone := h.finish(r)
		c.heldInput = append(c.heldInput, arrived...)
		if gone {
			s.freeClient(c)
		}
	}
	return !c.closed && !s.shuttingDown.Load()
}
