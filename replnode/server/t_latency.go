package server

import (
	"sort"
	"strings"
	"time"
)

// ------ LATENCY ------
//
// The latency monitor of Redis's latency.c for the events replnode has:
// "command" and "fast-command", sampled when a command runs for at least
// latency-monitor-threshold milliseconds (0 disables it, the default).
// Each event keeps its last 160 samples, one per second (the highest wins),
// and its all-time maximum. LATENCY HISTOGRAM replies the per-command
// histograms of INFO latencystats (latency_hist.go). DOCTOR and GRAPH
// (human-readable reports) are not implemented.

// latencyTSLen is LATENCY_TS_LEN: samples kept per event.
const latencyTSLen = 160

// latencySample is one second's worst latency of an event.
type latencySample struct {
	time    int64 // unix seconds; 0 for an unused slot
	latency int64 // milliseconds
}

// latencySeries is one event's ring of samples (latencyTimeSeries).
type latencySeries struct {
	idx     int
	max     int64
	samples [latencyTSLen]latencySample
}

func init() {
	admin := FlagAdmin | FlagNoScript | FlagLoading | FlagStale
	register(
		&Command{Name: "latency", Arity: -2, Group: "server", Subcommands: []*Command{
			{Name: "latest", Arity: 2, Flags: admin, Handler: latencyLatestCommand},
			{Name: "history", Arity: 3, Flags: admin, Handler: latencyHistoryCommand},
			{Name: "reset", Arity: -2, Flags: admin, Handler: latencyResetCommand},
			{Name: "histogram", Arity: -2, Flags: admin, Handler: latencyHistogramCommand},
			{Name: "help", Arity: 2, Flags: FlagLoading | FlagStale, Handler: latencyHelpCommand},
		}},
	)
}

// latencyMonitor adds a sample for a command that ran for dur when it
// reaches latency-monitor-threshold, as call() does with
// latencyAddSampleIfNeeded; blocked clients are sampled when served.
func (s *Server) latencyMonitor(c *Client, cmd *Command, dur time.Duration) {
	threshold := s.hot.latencyMonitorMs
	if threshold <= 0 || c.blocked {
		return
	}
	ms := dur.Milliseconds()
	if ms < threshold {
		return
	}
	event := "command"
	if cmd.Flags&FlagFast != 0 {
		event = "fast-command"
	}
	s.addLatencySample(event, time.Now().Unix(), ms)
}

// addLatencySample is latencyAddSample: a sample in the same second as the
// previous one only raises it.
func (s *Server) addLatencySample(event string, now, ms int64) {
	if s.latencyEvents == nil {
		s.latencyEvents = map[string]*latencySeries{}
	}
	ts := s.latencyEvents[event]
	if ts == nil {
		ts = &latencySeries{}
		s.latencyEvents[event] = ts
	}
	ts.max = max(ts.max, ms)
	prev := &ts.samples[(ts.idx+latencyTSLen-1)%latencyTSLen]
	if prev.time == now {
		prev.latency = max(prev.latency, ms)
		return
	}
	ts.samples[ts.idx] = latencySample{time: now, latency: ms}
	ts.idx = (ts.idx + 1) % latencyTSLen
}

// latencyEventNames are the events with samples, sorted (Redis replies in
// its dict's order).
func (s *Server) latencyEventNames() []string {
	names := make([]string, 0, len(s.latencyEvents))
	for n := range s.latencyEvents {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// latencyLatestCommand replies [event, time, latest ms, max ms] per event.
func latencyLatestCommand(ctx *Ctx) {
	names := ctx.S.latencyEventNames()
	ctx.W.ArrayLen(len(names))
	for _, n := range names {
		ts := ctx.S.latencyEvents[n]
		last := ts.samples[(ts.idx+latencyTSLen-1)%latencyTSLen]
		ctx.W.ArrayLen(4)
		ctx.W.BulkString(n)
		ctx.W.Int(last.time)
		ctx.W.Int(last.latency)
		ctx.W.Int(ts.max)
	}
}

// latencyHistoryCommand replies an event's [time, ms] samples, oldest
// first; an unknown event has none.
func latencyHistoryCommand(ctx *Ctx) {
	ts := ctx.S.latencyEvents[string(ctx.Args[2])]
	if ts == nil {
		ctx.W.ArrayLen(0)
		return
	}
	var kept []latencySample
	for j := 0; j < latencyTSLen; j++ {
		if s := ts.samples[(ts.idx+j)%latencyTSLen]; s.time != 0 {
			kept = append(kept, s)
		}
	}
	ctx.W.ArrayLen(len(kept))
	for _, s := range kept {
		ctx.W.ArrayLen(2)
		ctx.W.Int(s.time)
		ctx.W.Int(s.latency)
	}
}

// latencyResetCommand forgets the named events (all without names) and
// replies how many existed.
func latencyResetCommand(ctx *Ctx) {
	s := ctx.S
	if len(ctx.Args) == 2 {
		n := len(s.latencyEvents)
		s.latencyEvents = nil
		ctx.W.Int(int64(n))
		return
	}
	n := 0
	for _, a := range ctx.Args[2:] {
		if _, ok := s.latencyEvents[string(a)]; ok {
			delete(s.latencyEvents, string(a))
			n++
		}
	}
	ctx.W.Int(int64(n))
}

// latencyHistogramCommand replies, per command with a histogram (all of
// them, or the named ones in argument order), a map of its calls and the
// cumulative distribution {usec: count} Redis reports on power-of-two
// steps from 1024 ns (fillCommandCDF).
func latencyHistogramCommand(ctx *Ctx) {
	var cmds []*Command
	if len(ctx.Args) == 2 {
		for _, c := range sortedCommands() {
			for _, cmd := range append([]*Command{c}, c.Subcommands...) {
				if ctx.S.cmdStats(cmd).latency != nil {
					cmds = append(cmds, cmd)
				}
			}
		}
	} else {
		for _, a := range ctx.Args[2:] {
			if cmd := lookupCommandPath(string(a)); cmd != nil && ctx.S.cmdStats(cmd).latency != nil {
				cmds = append(cmds, cmd)
			}
		}
	}
	ctx.W.MapLen(len(cmds))
	for _, cmd := range cmds {
		st := ctx.S.cmdStats(cmd)
		ctx.W.BulkString(cmd.FullName())
		ctx.W.MapLen(2)
		ctx.W.BulkString("calls")
		ctx.W.Int(st.calls)
		ctx.W.BulkString("histogram_usec")
		cdf := st.latency.logCDF()
		ctx.W.MapLen(len(cdf))
		for _, p := range cdf {
			ctx.W.Int(p[0])
			ctx.W.Int(p[1])
		}
	}
}

// latencyHelpCommand lists the subcommands replnode implements, in Redis's
// wording.
func latencyHelpCommand(ctx *Ctx) {
	replyHelp(ctx, strings.ToUpper(string(ctx.Args[0])),
		"HISTORY <event>",
		"    Return time-latency samples for the <event> class.",
		"LATEST",
		"    Return the latest latency samples for all events.",
		"RESET [<event> ...]",
		"    Reset latency data of one or more <event> classes.",
		"    (default: reset all data for all event classes)",
		"HISTOGRAM [COMMAND ...]",
		"    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
		"    If no commands are specified then all histograms are replied.")
}
