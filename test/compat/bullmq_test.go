package compat

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// bullmqJobs is how many ordinary jobs the BullMQ driver adds (issue 15:
// "BullMQ runs 10,000 jobs against replnode").
const bullmqJobs = 10000

// bullmqOutcome is the one JSON line testdata/bullmq/driver.js prints.
type bullmqOutcome struct {
	Counts  map[string]int `json:"counts"`
	ByKind  map[string]int `json:"byKind"`
	Events  map[string]int `json:"events"`
	Stalled struct {
		Stalled []string       `json:"stalled"`
		Result  string         `json:"result"`
		Counts  map[string]int `json:"counts"`
	} `json:"stalled"`
	RepeatRuns      int      `json:"repeatRuns"`
	RepeatableLeft  int      `json:"repeatableLeft"`
	FlowParentValue int      `json:"flowParentValue"`
	Problems        []string `json:"problems"`
	ProblemCount    int      `json:"problemCount"`
}

// requireNode fails when node or npm is missing: BullMQ compatibility is a
// promise (issue 15), so only BULLMQ=0 turns this test off.
func requireNode(t *testing.T) {
	if os.Getenv("BULLMQ") == "0" {
		t.Skip("BULLMQ=0: BullMQ compatibility test turned off")
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required for the BullMQ compatibility test (install nodejs and npm, e.g. `make test-deps` as root), or set BULLMQ=0 to turn it off", tool)
		}
	}
}

// installBullMQ copies the driver with its package.json and committed
// package-lock.json into a temp dir and runs `npm ci` there, so
// node_modules never lands in the repository tree.
func installBullMQ(t *testing.T) string {
	dir := t.TempDir()
	for _, name := range []string{"package.json", "package-lock.json", "driver.js"} {
		src, err := os.ReadFile(filepath.Join("testdata", "bullmq", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// --ignore-scripts: msgpackr-extract's optional native build is not needed
	// (msgpackr falls back to JavaScript) and must not depend on a compiler.
	npm := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts")
	npm.Dir = dir
	if out, err := npm.CombinedOutput(); err != nil {
		t.Fatalf("npm ci for BullMQ: %v\n%s", err, out)
	}
	return dir
}

// runBullMQ runs the driver against the server on port and decodes its outcome.
func runBullMQ(t *testing.T, dir string, port int) bullmqOutcome {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	node := exec.CommandContext(ctx, "node", "driver.js")
	node.Dir = dir
	node.Env = append(os.Environ(), "REDIS_PORT="+strconv.Itoa(port), "JOBS="+strconv.Itoa(bullmqJobs), "TIMEOUT_MS=300000")
	var stderr []byte
	out, err := node.Output()
	if exitErr, ok := err.(*exec.ExitError); ok {
		stderr = exitErr.Stderr
	}
	if err != nil {
		t.Fatalf("BullMQ driver against port %d: %v\nstdout: %s\nstderr: %s", port, err, out, stderr)
	}
	var outcome bullmqOutcome
	if err := json.Unmarshal(out, &outcome); err != nil {
		t.Fatalf("BullMQ driver output against port %d: %v\n%s", port, err, out)
	}
	return outcome
}

// TestBullMQ runs BullMQ (npm) with one Worker of concurrency 50 over
// 10,000 jobs (delayed, retried after a failed first attempt with fixed
// backoff, prioritized, always failing, reporting progress and a log line,
// and plain), a repeatable job limited to 3 runs and a flow of a parent and
// 3 children, against replnode and against redis-server 7.0, while
// QueueEvents reads the events stream: every job must complete (or, when
// always failing, fail) once with the expected return value (failed reason),
// attempt count, progress and logs, nothing may be left in another state,
// QueueEvents must see every event, a job whose worker stops renewing its
// lock must be found stalled and finished by another worker, and both
// servers must give the same outcome.
func TestBullMQ(t *testing.T) {
	requireNode(t)
	dir := installBullMQ(t)
	ours, theirs := pair(t)

	tenth := bullmqJobs / 10                // jobs of each special kind
	completed := bullmqJobs - tenth + 3 + 4 // all but the always failing, 3 repeat runs, the flow's parent and 3 children
	want := bullmqOutcome{
		Counts: map[string]int{
			"completed": completed, "failed": tenth,
			"delayed": 0, "wait": 0, "active": 0, "prioritized": 0, "waiting-children": 0, "paused": 0,
		},
		ByKind: map[string]int{
			"delayed": tenth, "retried": tenth, "prioritized": tenth, "progress": tenth,
			"plain": bullmqJobs - 5*tenth, "failed failing": tenth,
		},
		Events: map[string]int{
			"added":     bullmqJobs + 3 + 4,
			"delayed":   tenth + tenth + 3, // delayed jobs, backoff after a failed first attempt, repeat runs
			"progress":  tenth,
			"completed": completed,
			"failed":    tenth,
		},
		RepeatRuns:      3,
		FlowParentValue: 1 + 2 + 3,
	}
	check := func(server string, got bullmqOutcome) {
		t.Helper()
		if got.ProblemCount != 0 {
			t.Errorf("%s: %d jobs completed wrongly, first ones: %q", server, got.ProblemCount, got.Problems)
		}
		if !reflect.DeepEqual(got.Counts, want.Counts) {
			t.Errorf("%s: job counts %v, want %v", server, got.Counts, want.Counts)
		}
		if !reflect.DeepEqual(got.ByKind, want.ByKind) {
			t.Errorf("%s: finished jobs by kind %v, want %v", server, got.ByKind, want.ByKind)
		}
		if !reflect.DeepEqual(got.Events, want.Events) {
			t.Errorf("%s: QueueEvents saw %v, want %v", server, got.Events, want.Events)
		}
		stalledCounts := map[string]int{"completed": 1, "failed": 0, "active": 0, "wait": 0}
		const stalledResult = "finished on start 2" // the stuck worker's start was the first
		if !reflect.DeepEqual(got.Stalled.Stalled, []string{"stuck"}) || got.Stalled.Result != stalledResult ||
			!reflect.DeepEqual(got.Stalled.Counts, stalledCounts) {
			t.Errorf("%s: stalled job recovery %+v, want job stuck found stalled once, result %q, counts %v",
				server, got.Stalled, stalledResult, stalledCounts)
		}
		if got.RepeatRuns != want.RepeatRuns || got.FlowParentValue != want.FlowParentValue {
			t.Errorf("%s: repeat runs %d, flow parent value %d; want %d and %d",
				server, got.RepeatRuns, got.FlowParentValue, want.RepeatRuns, want.FlowParentValue)
		}
	}

	reference := runBullMQ(t, dir, theirs)
	check("redis-server", reference)
	outcome := runBullMQ(t, dir, ours)
	check("replnode", outcome)
	if !reflect.DeepEqual(outcome, reference) {
		t.Errorf("replnode and redis-server differ:\nreplnode:     %s\nredis-server: %s", describe(outcome), describe(reference))
	}
}

// describe renders an outcome as the driver's JSON for failure messages.
func describe(o bullmqOutcome) string {
	b, _ := json.Marshal(o)
	return string(b)
}
