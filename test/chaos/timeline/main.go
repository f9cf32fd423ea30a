// Command timeline prints the failover timeline of chaos rounds from the
// evidence the suite writes (CHAOS_EVIDENCE_DIR): for each round, in
// milliseconds after the fault, the last ok write on the old master, when
// each replica's no-contact began and was first seen, the operator's
// decision and failover actions (its log), the master endpoint's changes,
// the new master's first sample as master, and each client's failed
// attempts and first ok write after the fault. It reads only the evidence
// files; it judges nothing (the checkers do).
//
//	go run ./test/chaos/timeline /tmp/replnode-chaos-evidence/pause-master-1.json ...
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/replnode/replnode/test/chaos"
)

// evidence is the part of a round's evidence file the timeline reads.
type evidence struct {
	Scenario    string
	Round       int
	Ops         []chaos.Op
	Samples     []chaos.Sample
	Endpoints   []chaos.EndpointChange
	FinalMaster string
	StartWall   time.Time
	FaultAt     time.Duration
	EndAt       time.Duration
	RTO         time.Duration
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: timeline <scenario>-<round>.json ...")
		os.Exit(2)
	}
	for _, path := range os.Args[1:] {
		if err := printRound(path); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			os.Exit(1)
		}
	}
}

// line is one event of the timeline, at an offset from the fault.
type line struct {
	at   time.Duration
	what string
}

func printRound(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var ev evidence
	if err := json.Unmarshal(b, &ev); err != nil {
		return err
	}
	if ev.StartWall.IsZero() {
		return fmt.Errorf("no startWall: evidence written by a suite without the timeline fields")
	}
	faultWall := ev.StartWall.Add(ev.FaultAt)
	rel := func(d time.Duration) time.Duration { return d - ev.FaultAt }
	var out []line
	add := func(at time.Duration, format string, a ...any) {
		out = append(out, line{at, fmt.Sprintf(format, a...)})
	}

	// The old master: who answered the last ok writes before the fault.
	oldMaster := ""
	var lastOld time.Duration
	for _, o := range ev.Ops {
		if o.IsWrite() && o.Outcome == chaos.OK && o.Invoke <= ev.FaultAt {
			oldMaster = o.Member
		}
	}
	for _, o := range ev.Ops {
		if o.IsWrite() && o.Outcome == chaos.OK && o.Member == oldMaster && o.OKTime() > lastOld {
			lastOld = o.OKTime()
		}
	}
	add(0, "fault injected (master %s)", oldMaster)
	add(rel(lastOld), "last ok write on %s", oldMaster)

	// Each replica's no-contact: when it began by the replica's own clock
	// (the sample's time less the no-contact it reported), when a sample
	// first showed it, and its link going down.
	type seen struct {
		began     time.Duration
		firstSeen time.Duration
		found     bool
		linkDown  time.Duration
	}
	replicas := map[string]*seen{}
	promotedSeen := time.Duration(-1)
	for _, s := range ev.Samples {
		if s.At < ev.FaultAt {
			continue
		}
		if s.Member != oldMaster && s.Role == "master" && s.Member == ev.FinalMaster && promotedSeen < 0 {
			promotedSeen = s.At
		}
		if s.Member == oldMaster || s.Role != "slave" {
			continue
		}
		r := replicas[s.Member]
		if r == nil {
			r = &seen{linkDown: -1}
			replicas[s.Member] = r
		}
		if !r.found && s.NoContactMs >= 500 {
			r.found, r.firstSeen, r.began = true, s.At, s.At-time.Duration(s.NoContactMs)*time.Millisecond
		}
		if r.linkDown < 0 && s.Link == "down" {
			r.linkDown = s.At
		}
	}
	for _, name := range sortedKeys(replicas) {
		r := replicas[name]
		if r.found {
			add(rel(r.began), "%s: no contact with the master begins (its own clock)", name)
			add(rel(r.firstSeen), "%s: no contact first seen by the sampler", name)
		}
		if r.linkDown >= 0 {
			add(rel(r.linkDown), "%s: master_link_status down first seen", name)
		}
	}
	if promotedSeen >= 0 {
		add(rel(promotedSeen), "%s first sampled as master", ev.FinalMaster)
	}

	// The master endpoint as the clients read it.
	for _, e := range ev.Endpoints {
		if e.At < ev.FaultAt-time.Second {
			continue
		}
		addr := e.Addr
		if addr == "" {
			addr = "none ready"
		}
		add(rel(e.At), "master endpoint: %s", addr)
	}

	// The operator's log.
	logs, _ := filepath.Glob(strings.TrimSuffix(path, ".json") + ".manager-*.log")
	for _, l := range logs {
		if err := operatorLines(l, faultWall, ev.StartWall.Add(ev.EndAt), add); err != nil {
			return err
		}
	}

	// The clients: their failed attempts and first ok write after the fault.
	byClient := map[int][]chaos.Op{}
	for _, o := range ev.Ops {
		if o.Complete >= ev.FaultAt {
			byClient[o.Client] = append(byClient[o.Client], o)
		}
	}
	for c := 0; c < 16; c++ {
		ops := byClient[c]
		if len(ops) == 0 {
			continue
		}
		for _, o := range ops {
			if o.Outcome != chaos.OK {
				add(rel(o.Invoke), "client %d: %s to %s invoked", c, o.Kind, o.Addr)
				add(rel(o.Complete), "client %d: %s %s after %dms (%s)", c, o.Kind, o.Outcome, (o.Complete - o.Invoke).Milliseconds(), short(o.Err))
				continue
			}
			if o.IsWrite() && o.Member != oldMaster {
				add(rel(o.OKTime()), "client %d: first ok write after the fault, on %s (invoked at %+dms)", c, o.Member, rel(o.Invoke).Milliseconds())
				break
			}
		}
	}

	sort.SliceStable(out, func(i, j int) bool { return out[i].at < out[j].at })
	fmt.Printf("== %s round %d: %s -> %s, rto %.1fs, fault at %s\n", ev.Scenario, ev.Round, oldMaster, ev.FinalMaster,
		ev.RTO.Seconds(), faultWall.Format("15:04:05.000"))
	for _, l := range out {
		if l.at > 20*time.Second {
			continue
		}
		fmt.Printf("%+7dms  %s\n", l.at.Milliseconds(), l.what)
	}
	fmt.Println()
	return nil
}

// operatorLines adds the operator's failover log lines between from and to.
func operatorLines(path string, from, to time.Time, add func(time.Duration, string, ...any)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e map[string]any
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		ts, _ := e["ts"].(string)
		at, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil || at.Before(from.Add(-time.Second)) || at.After(to) {
			continue
		}
		msg, _ := e["msg"].(string)
		d := at.Sub(from)
		switch msg {
		case "failover plan":
			add(d, "operator: plan %v, %v actions (pass began %vms before)", e["reason"], e["actions"], e["passMs"])
		case "failover action":
			took, _ := e["tookMs"].(float64)
			add(d-time.Duration(took*float64(time.Millisecond)), "operator: %v (took %.0fms)", e["action"], took)
		case "failover endpoint wait":
			add(d, "operator: endpoint wait %v done=%v after %vms", e["for"], e["done"], e["waitedMs"])
		case "failover pass done":
			add(d, "operator: pass done (%vms, requeue %vms)", e["passMs"], e["requeueMs"])
		}
	}
	return sc.Err()
}

// short trims an error for a timeline line.
func short(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
