package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The planned-switchover goal of issue 12: writes pause at most this long
// at the p99 over the rounds (docs/failover.md).
const switchoverPauseGoal = time.Second

// switchoverCount is E2E_SWITCHOVERS, default 10.
func switchoverCount(t *testing.T) int {
	n := 10
	if v := os.Getenv("E2E_SWITCHOVERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("E2E_SWITCHOVERS=%q: want a positive count", v)
		}
	}
	return n
}

// totalSyncFull sums sync_full (full syncs served) over the members, by name.
func totalSyncFull(t *testing.T) (int, map[string]int) {
	per := map[string]int{}
	total := 0
	for name, p := range members(t) {
		if p.Status.PodIP == "" {
			continue
		}
		n := syncFull(p.Status.PodIP + ":6379")
		per[name] = n
		total += n
	}
	return total, per
}

// testSwitchover moves the master with spec.master E2E_SWITCHOVERS times
// (default 10), each time to the next member, under the WAIT writer. Every
// round's write pause is the longest gap between two acknowledged writes
// around it; the scenario fails when the p99 exceeds switchoverPauseGoal
// (under E2E_TIMING_GOALS=1, as `make e2e` runs it), when any write whose
// SET answered OK is missing afterwards, or when any
// member served a full sync. Each round's timeline, read from the
// operator's log, says where the pause went.
func testSwitchover(t *testing.T) {
	rounds := switchoverCount(t)
	w := startWriter()
	finished := false
	defer func() {
		if !finished {
			w.Finish()
		}
	}()
	waitFor(t, time.Minute, "acknowledged writes", func() bool { return w.AckedAfter(time.Now().Add(-time.Second)) })
	fullStart, _ := totalSyncFull(t)
	var pauses []time.Duration
	var phases []switchoverPhases
	fullTotal := 0
	for i := 0; i < rounds; i++ {
		old := waitSettled(t, "", 3*time.Minute)
		waitFor(t, time.Minute, "acknowledged writes before the switchover", func() bool { return w.AckedAfter(time.Now().Add(-time.Second)) })
		names := slices.Sorted(maps.Keys(members(t)))
		target := names[(slices.Index(names, old)+1)%len(names)]
		fullBefore, _ := totalSyncFull(t)
		rg := getGroup(t)
		patch := client.MergeFrom(rg.DeepCopy())
		rg.Spec.Master = target
		ep := watchMasterEndpoint()
		at := time.Now()
		if err := kube.Patch(context.Background(), rg, patch); err != nil {
			t.Fatalf("round %d: set spec.master=%s: %v", i+1, target, err)
		}
		waitSettled(t, target, 3*time.Minute)
		took := time.Since(at)
		switchedAt := time.Now()
		waitFor(t, time.Minute, "an acknowledged write after the switchover", func() bool { return w.AckedAfter(switchedAt) })
		endpointChanges := ep.finish()
		gapFrom, gapTo := w.OutageSpan(at, time.Now())
		pause := gapTo.Sub(gapFrom)
		pauses = append(pauses, pause)
		fullAfter, per := totalSyncFull(t)
		full := fullAfter - fullBefore
		fullTotal += full
		line := fmt.Sprintf("switchover round %2d %s -> %s in %s, write pause %s, full syncs served %d %v",
			i+1, old, target, took.Round(10*time.Millisecond), pause.Round(time.Millisecond), full, per)
		t.Log(line)
		results.detail = append(results.detail, line)
		var extra []timelineEntry
		for _, c := range endpointChanges {
			extra = append(extra, timelineEntry{c.at, fmt.Sprintf("master Service endpoint %q", c.what)})
		}
		for _, e := range w.TraceBetween(at, gapTo) {
			extra = append(extra, timelineEntry{e.At, "writer " + e.What})
		}
		ph, timeline := switchoverTimeline(gapFrom, gapTo, at, extra)
		phases = append(phases, ph)
		for _, l := range timeline {
			t.Log("  " + l)
			results.detail = append(results.detail, "  "+l)
		}
	}
	// Everything every SET answered OK for, WAIT-acknowledged or not,
	// is on the final master: a switchover loses no write at all.
	w.Finish()
	finished = true
	master := waitSettled(t, "", 3*time.Minute)
	lost := missing(t, masterEndpoint(), w.OKed())
	acked := len(w.Acked())
	// A full sync started late (an old master's PSYNC retried) shows
	// here even if no round saw it.
	fullEnd, per := totalSyncFull(t)
	record(fmt.Sprintf("switchover: %d rounds, write pause p50=%s p99=%s max=%s, ok-acknowledged lost %d (of %d OK, %d WAIT-acked), full syncs %d (rounds %d), master %s",
		rounds, percentile(pauses, 50).Round(time.Millisecond), percentile(pauses, 99).Round(time.Millisecond),
		percentile(pauses, 100).Round(time.Millisecond), lost, len(w.OKed()), acked, fullEnd-fullStart, fullTotal, master))
	record("switchover phases (median ms from the last acknowledged write): " + medianPhases(phases))
	if p99 := percentile(pauses, 99); p99 > switchoverPauseGoal {
		// A timing goal, not a safety rule: `make e2e` (E2E_TIMING_GOALS=1)
		// fails on it; make test, whose machine runs other packages beside
		// this one, reports it, as speed targets belong in measured runs.
		if os.Getenv("E2E_TIMING_GOALS") == "1" {
			t.Errorf("write pause p99 %s exceeds %s", p99, switchoverPauseGoal)
		} else {
			t.Logf("goal missed (reported only; E2E_TIMING_GOALS=1 fails on it): write pause p99 %s exceeds %s", p99, switchoverPauseGoal)
		}
	}
	if lost > 0 {
		t.Errorf("%d writes answered OK are missing on the master", lost)
	}
	if fullEnd != fullStart || fullTotal > 0 {
		t.Errorf("members served %d full syncs during the switchovers (sync_full %v)", fullEnd-fullStart, per)
	}
	// spec.master pins the master: left set, every later failover would be
	// followed by a switchover back to it once it is a healthy replica. The
	// later scenarios measure failovers alone.
	rg := getGroup(t)
	patch := client.MergeFrom(rg.DeepCopy())
	rg.Spec.Master = ""
	if err := kube.Patch(context.Background(), rg, patch); err != nil {
		t.Fatalf("clear spec.master: %v", err)
	}
}

// ------ WHERE THE PAUSE GOES ------

// switchoverPhases are the milestones of one switchover, as offsets from
// the last write acknowledged before the pause; -1 when not seen.
type switchoverPhases struct {
	Paused, Promoted, Released, LabelMoved, EndpointMoved, StatusWritten, Resumed time.Duration
}

// managerLogLine is what the timeline reads from one operator log line.
type managerLogLine struct {
	TS         string  `json:"ts"`
	Msg        string  `json:"msg"`
	Action     string  `json:"action"`
	TookMs     float64 `json:"tookMs"`
	PassMs     float64 `json:"passMs"`
	Switchover string  `json:"switchover"`
	Reason     string  `json:"reason"`
	RequeueMs  int64   `json:"requeueMs"`
	Conflict   bool    `json:"conflict"`
	WaitedMs   float64 `json:"waitedMs"`
	For        string  `json:"for"`
	Done       bool    `json:"done"`
}

// timelineEntry is one line of a switchover's timeline.
type timelineEntry struct {
	at   time.Time
	what string
}

// switchoverTimeline reads the operator's failover log lines between the
// request and the end of the write gap and places them, the extra entries
// (endpoint changes, the writer's reconnects) and the gap on one time axis
// starting at the last acknowledged write before the gap.
func switchoverTimeline(gapFrom, gapTo, requested time.Time, extra []timelineEntry) (switchoverPhases, []string) {
	ph := switchoverPhases{Paused: -1, Promoted: -1, Released: -1, LabelMoved: -1, EndpointMoved: -1, StatusWritten: -1}
	ph.Resumed = gapTo.Sub(gapFrom)
	entries := append([]timelineEntry{{requested, "spec.master patched"}, {gapTo, "first acknowledged write after the switchover"}}, extra...)
	for _, e := range extra {
		if strings.HasPrefix(e.what, "master Service endpoint") && e.at.After(requested) && ph.EndpointMoved < 0 &&
			!strings.HasSuffix(e.what, `""`) {
			ph.EndpointMoved = e.at.Sub(gapFrom)
		}
	}
	f, err := os.Open(filepath.Join(cfg.LogDir(), "manager.log"))
	if err != nil {
		return ph, []string{"no operator log: " + err.Error()}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	labelSeen := false
	for sc.Scan() {
		var l managerLogLine
		if json.Unmarshal(sc.Bytes(), &l) != nil || !strings.HasPrefix(l.Msg, "failover ") {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, l.TS)
		if err != nil || at.Before(requested) || at.After(gapTo.Add(time.Second)) {
			continue
		}
		d := at.Sub(gapFrom)
		switch l.Msg {
		case "failover plan":
			entries = append(entries, timelineEntry{at, fmt.Sprintf("operator plan %s/%s (pass %.0fms old) requeue %dms", l.Reason, l.Switchover, l.PassMs, l.RequeueMs)})
		case "failover action":
			entries = append(entries, timelineEntry{at, fmt.Sprintf("operator   %s took %.1fms", l.Action, l.TookMs)})
			kind := strings.Fields(l.Action)
			switch {
			case len(kind) == 0:
			case kind[0] == "PauseWrites" && ph.Paused < 0:
				ph.Paused = d
			case kind[0] == "VerifyRole" && ph.Promoted < 0:
				ph.Promoted = d
			case kind[0] == "Unpause" && ph.Released < 0:
				ph.Released = d
			case kind[0] == "MoveMasterLabel" && ph.LabelMoved < 0:
				ph.LabelMoved, labelSeen = d, true
			}
		case "failover endpoint wait":
			entries = append(entries, timelineEntry{at, fmt.Sprintf("operator   endpoint wait (%s): %v after %.0fms", l.For, l.Done, l.WaitedMs)})
		case "failover pass done":
			entries = append(entries, timelineEntry{at, fmt.Sprintf("operator pass done after %.0fms, requeue %dms, conflict %v", l.PassMs, l.RequeueMs, l.Conflict)})
			if labelSeen && ph.StatusWritten < 0 {
				ph.StatusWritten = d
			}
		}
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].at.Before(entries[j].at) })
	var out []string
	for _, e := range entries {
		out = append(out, fmt.Sprintf("%+6dms %s", e.at.Sub(gapFrom).Milliseconds(), e.what))
	}
	return ph, out
}

// endpointWatch polls the master Service's endpoint and records each change.
type endpointWatch struct {
	changes []timelineEntry
	stop    chan struct{}
	done    chan struct{}
}

// watchMasterEndpoint starts polling masterEndpoint every 20ms.
func watchMasterEndpoint() *endpointWatch {
	e := &endpointWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(e.done)
		last := masterEndpoint()
		for {
			select {
			case <-e.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if cur := masterEndpoint(); cur != last {
				e.changes = append(e.changes, timelineEntry{time.Now(), cur})
				last = cur
			}
		}
	}()
	return e
}

// finish stops the watch and returns the changes it saw.
func (e *endpointWatch) finish() []timelineEntry {
	close(e.stop)
	<-e.done
	return e.changes
}

// medianPhases renders each milestone's median over the rounds.
func medianPhases(all []switchoverPhases) string {
	col := func(get func(switchoverPhases) time.Duration) string {
		var ds []time.Duration
		for _, p := range all {
			if v := get(p); v >= 0 {
				ds = append(ds, v)
			}
		}
		if len(ds) == 0 {
			return "-"
		}
		return strconv.FormatInt(percentile(ds, 50).Milliseconds(), 10)
	}
	return fmt.Sprintf("paused %s, promoted %s, old master released %s, label moved %s, status written %s, endpoint moved %s, writes resumed %s",
		col(func(p switchoverPhases) time.Duration { return p.Paused }),
		col(func(p switchoverPhases) time.Duration { return p.Promoted }),
		col(func(p switchoverPhases) time.Duration { return p.Released }),
		col(func(p switchoverPhases) time.Duration { return p.LabelMoved }),
		col(func(p switchoverPhases) time.Duration { return p.StatusWritten }),
		col(func(p switchoverPhases) time.Duration { return p.EndpointMoved }),
		col(func(p switchoverPhases) time.Duration { return p.Resumed }))
}
