package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ------ CONFIGURATION ------

// options are the command-line settings; defaults are what `make bench`
// runs.
type options struct {
	replnode, redisServer, redisBenchmark string
	outDir                                string
	repeats, requests, pipelineRequests   int
	clients, keys, loadedRequests         int
	goBenchPkgs, goBenchTime              string
	runTimeout, maxDuration               time.Duration
	perf                                  bool
	// parts are the selected parts (allParts); scenarioFilter the
	// selected throughput scenarios, nil for all.
	parts          map[string]bool
	scenarioFilter map[string]bool
}

// allParts are what -parts may select: the redis-benchmark scenarios (with
// CPU per request), then one loaded master of each kind for memory, full
// sync and latency/GC at that size, then the Go micro-benchmarks.
var allParts = []string{"throughput", "memory", "sync", "gc", "gobench"}

// scenario is one redis-benchmark invocation, run against both servers.
type scenario struct {
	name string
	args []string
	// config is CONFIG SET for this scenario only (the AOF scenarios turn
	// appendonly on, wait for its first rewrite, and turn it off after).
	config [][2]string
}

// allTests are the commands of the default and pipelined scenarios.
const allTests = "set,get,incr,lpush,rpop,sadd,hset,zadd,lrange_100,mset"

// clientTests are the commands of the 10- and 200-client scenarios: the
// string, list and hash writes and the read, fewer than allTests to keep
// `make bench` within its time budget.
const clientTests = "set,get,incr,lpush,hset,mset"

// scenarios builds the scenario list from the options (the ones -scenarios
// selects): every command with 3-byte values, the same pipelined 16 deep,
// the string and list commands with 1 KiB values, fewer commands with 10
// and with 200 clients (the latency tail with few and many connections),
// and SET with the append-only file.
func scenarios(o options) []scenario {
	var out []scenario
	for _, sc := range allScenarios(o) {
		if o.scenarioFilter == nil || o.scenarioFilter[sc.name] {
			out = append(out, sc)
		}
	}
	return out
}

// allScenarios is every scenario scenarios may select.
func allScenarios(o options) []scenario {
	n := strconv.Itoa(o.requests)
	c := strconv.Itoa(o.clients)
	return []scenario{
		{"default", []string{"-t", allTests, "-n", n, "-c", c}, nil},
		{"pipeline-16", []string{"-t", allTests, "-n", strconv.Itoa(o.pipelineRequests), "-c", c, "-P", "16"}, nil},
		{"value-1KiB", []string{"-t", "set,get,lpush,rpop,hset,mset", "-n", n, "-c", c, "-d", "1024"}, nil},
		{"clients-10", []string{"-t", clientTests, "-n", n, "-c", "10"}, nil},
		{"clients-200", []string{"-t", clientTests, "-n", n, "-c", "200"}, nil},
		// SET with the append-only file on (issue 16): everysec writes
		// before each reply, always also fsyncs.
		{"aof-everysec", []string{"-t", "set", "-n", n, "-c", c}, [][2]string{{"appendfsync", "everysec"}, {"appendonly", "yes"}}},
		{"aof-always", []string{"-t", "set", "-n", n, "-c", c}, [][2]string{{"appendfsync", "always"}, {"appendonly", "yes"}}},
	}
}

// applyConfig runs CONFIG SET for each pair; turning appendonly on waits
// for the rewrite that starts it. undo turns appendonly back off.
func applyConfig(port int, pairs [][2]string, undo bool) error {
	if len(pairs) == 0 {
		return nil
	}
	c, err := dial(port)
	if err != nil {
		return err
	}
	defer c.close()
	if undo {
		_, err := c.do("CONFIG", "SET", "appendonly", "no")
		return err
	}
	for _, kv := range pairs {
		if _, err := c.do("CONFIG", "SET", kv[0], kv[1]); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		info, err := c.do("INFO", "persistence")
		if err != nil {
			return err
		}
		if strings.Contains(info, "aof_rewrite_in_progress:0") && strings.Contains(info, "aof_rewrite_scheduled:0") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("AOF rewrite did not finish")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// parseOptions reads the flags; see -help.
func parseOptions(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.replnode, "replnode", "bin/replnode", "replnode binary")
	fs.StringVar(&o.redisServer, "redis-server", "redis-server", "real redis-server 7.0 binary")
	fs.StringVar(&o.redisBenchmark, "redis-benchmark", "redis-benchmark", "redis-benchmark binary")
	fs.StringVar(&o.outDir, "out", "bin/bench", "directory for results-<stamp>.csv, gobench-<stamp>.txt and summary-<stamp>.md")
	fs.IntVar(&o.repeats, "repeats", 3, "runs per scenario and server; the median is reported")
	fs.IntVar(&o.requests, "requests", 50000, "redis-benchmark -n for the unpipelined scenarios")
	fs.IntVar(&o.pipelineRequests, "pipeline-requests", 100000, "redis-benchmark -n for the -P 16 scenario")
	fs.IntVar(&o.clients, "clients", 50, "redis-benchmark -c")
	fs.IntVar(&o.keys, "keys", 1000000, "keys loaded for the memory measurement (0 skips it)")
	fs.StringVar(&o.goBenchPkgs, "gobench", "./replnode/...", "packages for the Go micro-benchmarks (empty skips them)")
	fs.StringVar(&o.goBenchTime, "gobench-time", "500ms", "go test -benchtime for the micro-benchmarks")
	fs.DurationVar(&o.runTimeout, "run-timeout", 3*time.Minute, "limit for one redis-benchmark run")
	// A run took 15.5 minutes at load average 20-28 on 2 cores; the bound
	// leaves room for such a machine before parts are cut.
	fs.DurationVar(&o.maxDuration, "max-duration", 25*time.Minute, "limit for the whole benchmark; what finished is still written")
	fs.BoolVar(&o.perf, "perf", false, "also record a perf CPU profile of replnode during its first default-scenario run (needs perf)")
	fs.IntVar(&o.loadedRequests, "loaded-requests", 200000, "redis-benchmark -n per command of the latency/GC run over the loaded keys")
	parts := fs.String("parts", strings.Join(allParts, ","), "comma-separated parts to run: "+strings.Join(allParts, ","))
	scens := fs.String("scenarios", "", "comma-separated throughput scenarios to run (default all): "+strings.Join(scenarioNames(o), ","))
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.parts = map[string]bool{}
	for _, p := range strings.Split(*parts, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if !slices.Contains(allParts, p) {
			return o, fmt.Errorf("-parts: unknown part %q (have %s)", p, strings.Join(allParts, ","))
		}
		o.parts[p] = true
	}
	if *scens != "" {
		o.scenarioFilter = map[string]bool{}
		for _, name := range strings.Split(*scens, ",") {
			name = strings.TrimSpace(name)
			if !slices.Contains(scenarioNames(o), name) {
				return o, fmt.Errorf("-scenarios: unknown scenario %q (have %s)", name, strings.Join(scenarioNames(o), ","))
			}
			o.scenarioFilter[name] = true
		}
	}
	if (o.parts["memory"] || o.parts["sync"] || o.parts["gc"]) && o.keys < 1 {
		return o, fmt.Errorf("-parts memory, sync and gc need -keys > 0")
	}
	if fs.NArg() != 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.repeats < 1 || o.requests < 1 || o.pipelineRequests < 1 || o.clients < 1 || o.keys < 0 || o.loadedRequests < 1 {
		return o, fmt.Errorf("-repeats, -requests, -pipeline-requests, -loaded-requests and -clients must be positive, -keys not negative")
	}
	return o, nil
}

// scenarioNames lists every scenario's name.
func scenarioNames(o options) []string {
	var names []string
	for _, sc := range allScenarios(o) {
		names = append(names, sc.name)
	}
	return names
}

// ------ MAIN ------

// main runs the benchmark and exits 1 when any part failed (the summary is
// still written with what finished), 2 on bad flags.
func main() {
	os.Exit(benchMain(os.Args[1:]))
}

// benchMain is main without the exit: it returns the exit code, so that its
// deferred cleanups (signal handler, deadline) run before os.Exit.
func benchMain(args []string) int {
	o, err := parseOptions(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.maxDuration)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	return 0
}

// run does the whole benchmark: throughput scenarios, memory, Go
// micro-benchmarks, then the summary. Errors of single runs are collected
// and returned together at the end so one failing command does not lose
// the other results.
func run(ctx context.Context, o options) error {
	for _, bin := range []*string{&o.replnode, &o.redisServer, &o.redisBenchmark} {
		p, err := exec.LookPath(*bin)
		if err != nil {
			return fmt.Errorf("%s: %w", *bin, err)
		}
		if p, err = filepath.Abs(p); err != nil {
			return err
		}
		*bin = p
	}
	if err := os.MkdirAll(o.outDir, 0o755); err != nil {
		return err
	}
	stamp := time.Now().UTC().Format("20060102-150405")
	scratch, err := os.MkdirTemp("", "replnode-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)

	facts := collectFacts(ctx, o)
	var failures []string
	fail := func(format string, a ...any) {
		msg := fmt.Sprintf(format, a...)
		fmt.Fprintln(os.Stderr, "bench: FAILED:", msg)
		failures = append(failures, msg)
	}

	rawPath := filepath.Join(o.outDir, "results-"+stamp+".csv")
	var rows []Row
	var cpu []CPURun
	if o.parts["throughput"] {
		rows, cpu, err = runThroughput(ctx, o, scratch, rawPath, stamp, fail)
		if err != nil {
			fail("throughput: %v", err)
		}
		if err := writeCPUCSV(filepath.Join(o.outDir, "cpu-"+stamp+".csv"), cpu); err != nil {
			fail("cpu csv: %v", err)
		}
	}
	var ds datasetResults
	if o.parts["memory"] || o.parts["sync"] || o.parts["gc"] {
		ds = runDataset(ctx, o, scratch, fail)
	}
	goBenchPath := ""
	if o.parts["gobench"] && o.goBenchPkgs != "" {
		goBenchPath = filepath.Join(o.outDir, "gobench-"+stamp+".txt")
		if err := runGoBench(ctx, o, goBenchPath); err != nil {
			fail("go micro-benchmarks: %v", err)
		}
	}
	facts = append(facts, "load average at the end: "+loadAverage())

	summaryPath := filepath.Join(o.outDir, "summary-"+stamp+".md")
	var sum bytes.Buffer
	writeSummary(&sum, o, facts, rows, cpu, ds, goBenchPath, failures)
	if err := os.WriteFile(summaryPath, sum.Bytes(), 0o644); err != nil {
		return err
	}
	os.Stdout.Write(sum.Bytes())
	fmt.Printf("\nbench: raw rows %s (CPU per run in cpu-%s.csv), summary %s", rawPath, stamp, summaryPath)
	if goBenchPath != "" {
		fmt.Printf(", go benchmarks %s", goBenchPath)
	}
	fmt.Println()
	if len(failures) > 0 {
		return fmt.Errorf("%d part(s) failed: %s", len(failures), strings.Join(failures, "; "))
	}
	return nil
}

// ------ THROUGHPUT ------

// runThroughput starts both servers once and runs every scenario against
// each, repeats times. Servers alternate which goes first in each repeat so
// a change in the machine's background load does not favour one side. Each
// row is appended to rawPath as soon as its run ends.
//
// Around every run the server's CPU time (/proc/<pid>/stat) is read, and
// with -perf-cycles its cycles counted, for the CPU cost per request.
func runThroughput(ctx context.Context, o options, scratch, rawPath, stamp string, fail func(string, ...any)) ([]Row, []CPURun, error) {
	redis, err := startServer(ctx, serverRedis, o.redisServer, scratch)
	if err != nil {
		return nil, nil, err
	}
	defer redis.Stop()
	node, err := startServer(ctx, serverReplnode, o.replnode, scratch)
	if err != nil {
		return nil, nil, err
	}
	defer node.Stop()

	f, err := os.Create(rawPath)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	cw := csv.NewWriter(f)
	if err := cw.Write(rawHeader); err != nil {
		return nil, nil, err
	}
	cw.Flush()

	cycles := perfCyclesSupported(ctx)
	var rows []Row
	var cpuRuns []CPURun
	servers := []*Server{redis, node}
	for rep := 1; rep <= o.repeats; rep++ {
		for _, sc := range scenarios(o) {
			for i := range servers {
				s := servers[(i+rep+1)%2] // redis first in odd repeats, replnode first in even ones
				if ctx.Err() != nil {
					return rows, cpuRuns, ctx.Err()
				}
				// Each run starts from an empty keyspace, as on a fresh server.
				if err := flushAll(s.Port); err != nil {
					fail("%s %s rep %d: FLUSHALL: %v", sc.name, s.Name, rep, err)
					continue
				}
				var stopPerf func()
				if o.perf && s.Name == serverReplnode && rep == 1 && sc.name == "default" {
					stopPerf = startPerf(ctx, s.Pid(), filepath.Join(o.outDir, "perf-"+stamp+".data"), fail)
				}
				if err := applyConfig(s.Port, sc.config, false); err != nil {
					fail("%s %s rep %d: CONFIG SET: %v", sc.name, s.Name, rep, err)
					continue
				}
				started := time.Now()
				cpu0, cpuErr := processCPUSeconds(s.Pid())
				var stopCycles func() (float64, error)
				if cycles {
					stopCycles = startCycleCount(ctx, s.Pid())
				}
				samples, requests, err := runBenchmarkCounted(ctx, o, s.Port, sc.args)
				cpu1, cpuErr1 := processCPUSeconds(s.Pid())
				run := CPURun{Scenario: sc.name, Server: s.Name, Rep: rep, Requests: requests, CPUSeconds: cpu1 - cpu0}
				if stopCycles != nil {
					if c, cerr := stopCycles(); cerr == nil {
						run.Cycles = c
					} else {
						fail("%s %s rep %d: perf stat cycles: %v", sc.name, s.Name, rep, cerr)
					}
				}
				if cpuErr == nil && cpuErr1 == nil && err == nil {
					cpuRuns = append(cpuRuns, run)
				}
				if stopPerf != nil {
					stopPerf()
				}
				if uerr := applyConfig(s.Port, sc.config, true); uerr != nil {
					fail("%s %s rep %d: CONFIG SET appendonly no: %v", sc.name, s.Name, rep, uerr)
				}
				fmt.Fprintf(os.Stderr, "bench: %-12s %-12s rep %d: %d commands in %.1fs\n",
					sc.name, s.Name, rep, len(samples), time.Since(started).Seconds())
				if err != nil {
					fail("%s %s rep %d: %v", sc.name, s.Name, rep, err)
					continue
				}
				for _, smp := range samples {
					r := Row{Scenario: sc.name, Server: s.Name, Rep: rep, Sample: smp}
					rows = append(rows, r)
					if err := cw.Write(r.record()); err != nil {
						return rows, cpuRuns, err
					}
				}
				cw.Flush()
				if err := cw.Error(); err != nil {
					return rows, cpuRuns, err
				}
			}
		}
	}
	return rows, cpuRuns, nil
}

// flushAll empties the server's keyspace.
func flushAll(port int) error {
	c, err := dial(port)
	if err != nil {
		return err
	}
	defer c.close()
	_, err = c.do("FLUSHALL")
	return err
}

// runBenchmark runs redis-benchmark --csv with args against 127.0.0.1:port
// under o.runTimeout and parses its output.
func runBenchmark(ctx context.Context, o options, port int, args []string) ([]Sample, error) {
	samples, _, err := runBenchmarkCounted(ctx, o, port, args)
	return samples, err
}

// runBenchmarkCounted is runBenchmark that also returns how many requests
// the run sent in all: -n for every CSV row, the rows that only prepare
// data (LPUSH for LRANGE) included, since the server's CPU time covers them.
func runBenchmarkCounted(ctx context.Context, o options, port int, args []string) ([]Sample, int64, error) {
	rctx, cancel := context.WithTimeout(ctx, o.runTimeout)
	defer cancel()
	full := append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(port), "--csv"}, args...)
	cmd := exec.CommandContext(rctx, o.redisBenchmark, full...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, 0, fmt.Errorf("redis-benchmark %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	rowCount := int64(strings.Count(strings.TrimSpace(out.String()), "\n")) // lines after the header
	samples, err := parseBenchmarkCSV(&out)
	if err != nil {
		return nil, 0, fmt.Errorf("%w (stderr: %s)", err, strings.TrimSpace(errOut.String()))
	}
	return samples, rowCount * int64(argInt(args, "-n", 100000)), nil
}

// argInt is the integer after flag in args, def when absent (redis-benchmark's
// own default for -n is 100000).
func argInt(args []string, flag string, def int) int {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag {
			if v, err := strconv.Atoi(args[i+1]); err == nil {
				return v
			}
		}
	}
	return def
}

// startPerf records a call-graph CPU profile of pid with perf until the
// returned function is called. Failing to start is reported, not fatal.
func startPerf(ctx context.Context, pid int, out string, fail func(string, ...any)) func() {
	perf, err := exec.LookPath("perf")
	if err != nil {
		fail("perf: %v", err)
		return nil
	}
	cmd := exec.CommandContext(ctx, perf, "record", "-F", "499", "-g", "-p", strconv.Itoa(pid), "-o", out)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		fail("perf: %v", err)
		return nil
	}
	return func() {
		stopPerf(cmd)
		fmt.Fprintf(os.Stderr, "bench: perf profile of replnode in %s (perf report -i %s)\n", out, out)
	}
}

// ------ MEMORY ------

// measureMemory starts a fresh server, reads its empty footprint, loads
// keys small string keys and reads it again.
func measureMemory(ctx context.Context, name, bin, scratch string, keys int) (MemoryResult, error) {
	s, err := startServer(ctx, name, bin, scratch)
	if err != nil {
		return MemoryResult{Server: name, Keys: keys}, err
	}
	defer s.Stop()
	return measureMemoryOn(ctx, s, keys)
}

// measureMemoryOn is measureMemory on a fresh server already started; the
// keys stay loaded for the caller's further measurements.
func measureMemoryOn(ctx context.Context, s *Server, keys int) (MemoryResult, error) {
	name := s.Name
	m := MemoryResult{Server: name, Keys: keys}
	var err error
	probe := func() (used, infoRSS, rss int64, dbsize int64, err error) {
		// MEMORY PURGE first: replnode's used_memory is the Go heap, which
		// holds garbage until a collection (PURGE runs one), so without it
		// the figures compare GC timing, not data; on redis-server it only
		// returns jemalloc's dirty pages and used_memory is exact anyway.
		purge, err := dial(s.Port)
		if err != nil {
			return
		}
		_, err = purge.do("MEMORY", "PURGE")
		purge.close()
		if err != nil {
			return
		}
		f, err := infoFields(s.Port, "memory")
		if err != nil {
			return
		}
		if used, err = infoInt(f, "used_memory"); err != nil {
			return
		}
		if infoRSS, err = infoInt(f, "used_memory_rss"); err != nil {
			return
		}
		if rss, err = vmRSS(s.Pid()); err != nil {
			return
		}
		c, err := dial(s.Port)
		if err != nil {
			return
		}
		defer c.close()
		var n string
		if n, err = c.do("DBSIZE"); err != nil {
			return
		}
		dbsize, err = strconv.ParseInt(n, 10, 64)
		return
	}
	if m.UsedBefore, _, m.RSSBefore, _, err = probe(); err != nil {
		return m, err
	}
	started := time.Now()
	if err := loadKeys(ctx, s.Port, keys); err != nil {
		return m, fmt.Errorf("loading %d keys: %w", keys, err)
	}
	m.LoadSeconds = time.Since(started).Seconds()
	if m.UsedAfter, m.InfoRSSAfter, m.RSSAfter, m.DBSize, err = probe(); err != nil {
		return m, err
	}
	if m.DBSize != int64(keys) {
		return m, fmt.Errorf("DBSIZE %d after loading %d keys", m.DBSize, keys)
	}
	fmt.Fprintf(os.Stderr, "bench: memory %-12s %d keys in %.1fs: used_memory %s, VmRSS %s\n",
		name, keys, m.LoadSeconds, mib(m.UsedAfter), mib(m.RSSAfter))
	return m, nil
}

// ------ GO MICRO-BENCHMARKS ------

// runGoBench runs the Go micro-benchmarks once and writes their output to
// path. The -timeout keeps a hung benchmark from outliving the run.
func runGoBench(ctx context.Context, o options, path string) error {
	args := []string{"test", "-run=^$", "-bench=.", "-benchmem", "-benchtime=" + o.goBenchTime, "-timeout=8m"}
	args = append(args, strings.Fields(o.goBenchPkgs)...)
	cmd := exec.CommandContext(ctx, "go", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	started := time.Now()
	err := cmd.Run()
	fmt.Fprintf(os.Stderr, "bench: go micro-benchmarks in %.0fs\n", time.Since(started).Seconds())
	if werr := os.WriteFile(path, out.Bytes(), 0o644); werr != nil {
		return werr
	}
	if err != nil {
		return fmt.Errorf("go %s: %v (output in %s)", strings.Join(args, " "), err, path)
	}
	return nil
}

// ------ MACHINE FACTS ------

// collectFacts describes the machine and the software under test, so a
// results file says what it was measured on.
func collectFacts(ctx context.Context, o options) []string {
	facts := []string{
		"date (UTC): " + time.Now().UTC().Format(time.RFC3339),
		fmt.Sprintf("CPUs: %d (%s)", runtime.NumCPU(), cpuModel()),
		"memory: " + memTotal(),
		"load average at the start: " + loadAverage(),
		"redis-server: " + firstLine(commandOutput(ctx, o.redisServer, "--version")),
		"replnode: " + replnodeRevision(ctx),
		"go: " + runtime.Version(),
		"busiest processes at the start (%CPU, command): " + busiestProcesses(ctx),
	}
	return facts
}

// replnodeRevision names the commit the replnode sources come from (the
// last commit touching replnode/ or cmd/replnode) and how many files there
// are uncommitted, since other work shares the tree while benchmarks run.
func replnodeRevision(ctx context.Context) string {
	commit := commandOutput(ctx, "git", "log", "-1", "--format=%h %cI %s", "--", "replnode", "cmd/replnode")
	head := commandOutput(ctx, "git", "rev-parse", "--short", "HEAD")
	status := commandOutput(ctx, "git", "status", "--porcelain", "--", "replnode", "cmd/replnode")
	dirty := 0
	if status != "" && !strings.HasPrefix(status, "(") {
		dirty = len(strings.Split(status, "\n"))
	}
	return fmt.Sprintf("last commit under replnode/: %s (HEAD %s, %d uncommitted files under replnode/ and cmd/replnode)", commit, head, dirty)
}

// commandOutput runs a short command and returns its trimmed output, or the
// error text.
func commandOutput(ctx context.Context, name string, args ...string) string {
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, name, args...).Output()
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return strings.TrimSpace(string(out))
}

// firstLine returns s up to its first newline.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// cpuModel reads the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown model"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown model"
}

// memTotal reads MemTotal from /proc/meminfo.
func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// loadAverage returns the 1, 5 and 15 minute load averages.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// busiestProcesses lists the five processes using the most CPU (ps, lifetime
// average), to record what else was running.
func busiestProcesses(ctx context.Context) string {
	out := commandOutput(ctx, "ps", "-eo", "pcpu=,comm=", "--sort=-pcpu")
	var top []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[1] == "ps" { // ps itself always looks busy
			continue
		}
		top = append(top, strings.Join(f, " "))
		if len(top) == 5 {
			break
		}
	}
	return strings.Join(top, "; ")
}

// ------ SUMMARY ------

// selectedParts lists the selected parts in allParts order.
func selectedParts(o options) []string {
	var out []string
	for _, p := range allParts {
		if o.parts[p] {
			out = append(out, p)
		}
	}
	return out
}

// writeSummary writes the Markdown summary: machine facts, one throughput
// table per scenario, the commands below the slow ratio, memory, and the Go
// micro-benchmark lines.
func writeSummary(w io.Writer, o options, facts []string, rows []Row, cpu []CPURun, ds datasetResults, goBenchPath string, failures []string) {
	fmt.Fprintln(w, "## Benchmark run")
	fmt.Fprintln(w)
	for _, f := range facts {
		fmt.Fprintf(w, "- %s\n", f)
	}
	fmt.Fprintf(w, "- each run repeated %d times per server, median reported; servers alternate which goes first\n", o.repeats)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "- parts: %s\n", strings.Join(selectedParts(o), ","))
	fmt.Fprintln(w)
	if len(rows) > 0 {
		fmt.Fprintln(w, "### Throughput (redis-benchmark, median requests/s; ratio = replnode / redis-server; p99 ratio = replnode p99 / redis-server p99)")
		fmt.Fprintln(w)
		info := map[string]string{}
		for _, sc := range scenarios(o) {
			info[sc.name] = "redis-benchmark " + strings.Join(sc.args, " ")
		}
		cmps := compare(rows)
		renderThroughput(w, cmps, info)
		fmt.Fprintln(w)
		listOutliers(w, fmt.Sprintf("Below %.1f of redis-server: ", slowRatio), slowCommands(cmps), func(c Comparison) float64 { return c.Ratio })
		listOutliers(w, fmt.Sprintf("p99 above %.1fx redis-server's: ", tailRatio), longTails(cmps), func(c Comparison) float64 { return c.P99Ratio })
	}
	if len(cpu) > 0 {
		fmt.Fprintln(w, "### CPU per request (server user+system CPU time over each run / requests sent, median of the repeats)")
		fmt.Fprintln(w)
		mhz := cpuMHz()
		if cpu[0].Cycles == 0 {
			fmt.Fprintf(w, "perf stat -e cycles counts nothing on this machine (no hardware counter): cycles are estimated as CPU time x %.0f MHz (\"~\").\n\n", mhz)
		}
		renderCPU(w, compareCPU(cpu), mhz)
		fmt.Fprintln(w)
	}
	if len(ds.mem) > 0 {
		fmt.Fprintf(w, "### Memory (%d keys \"key:N\" = \"value:N\" loaded with pipelined SET into a fresh server)\n\n", ds.mem[0].Keys)
		renderMemory(w, ds.mem)
		fmt.Fprintln(w)
	}
	if len(ds.syncs) > 0 {
		fmt.Fprintln(w, "### Full synchronisation (fresh replica, REPLICAOF to master_link_status:up; master repl-diskless-sync-delay 0, other settings default)")
		fmt.Fprintln(w)
		renderSync(w, ds.syncs)
		fmt.Fprintln(w)
	}
	if len(ds.loaded) > 0 {
		fmt.Fprintf(w, "### Latency and GC over the loaded keys (`redis-benchmark %s`, after the full syncs)\n\n", strings.Join(loadedArgs(o), " "))
		fmt.Fprintln(w, "p99.9 is redis-benchmark's first percentile line at or above 99.9% (an upper bound); GC pauses are replnode's runtime/metrics /sched/pauses/total/gc:seconds histogram over the run (bucket upper bounds).")
		fmt.Fprintln(w)
		renderLoaded(w, ds.loaded)
		fmt.Fprintln(w)
	}
	if goBenchPath != "" {
		fmt.Fprintf(w, "### Go micro-benchmarks (-benchtime %s)\n\n```\n", o.goBenchTime)
		if b, err := os.ReadFile(goBenchPath); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(line, "Benchmark") || strings.HasPrefix(line, "ok") || strings.HasPrefix(line, "FAIL") || strings.HasPrefix(line, "pkg:") {
					fmt.Fprintln(w, line)
				}
			}
		}
		fmt.Fprintln(w, "```")
		fmt.Fprintln(w)
	}
	if len(failures) > 0 {
		fmt.Fprintln(w, "### Failures")
		fmt.Fprintln(w)
		for _, f := range failures {
			fmt.Fprintf(w, "- %s\n", f)
		}
	}
}
