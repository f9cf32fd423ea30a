package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// serverBinaries are the servers available to the process tests: the real
// redis-server when installed, and the replnode binary REPLNODE_BIN names
// (`make test` sets it).
func serverBinaries(t *testing.T) map[string]string {
	bins := map[string]string{}
	if p, err := exec.LookPath("redis-server"); err == nil {
		bins[serverRedis] = p
	}
	if p := os.Getenv("REPLNODE_BIN"); p != "" {
		bins[serverReplnode] = p
	}
	if len(bins) == 0 {
		t.Skip("neither redis-server nor REPLNODE_BIN available")
	}
	return bins
}

// TestServerLifecycleAndMemoryProbe starts each available server the way
// the benchmark does, loads keys, probes memory and runs a tiny
// redis-benchmark, then checks Stop ends the process and removes its
// directory.
func TestServerLifecycleAndMemoryProbe(t *testing.T) {
	for name, bin := range serverBinaries(t) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			m, err := measureMemory(ctx, name, bin, t.TempDir(), 2000)
			if err != nil {
				t.Fatal(err)
			}
			if m.DBSize != 2000 || m.UsedAfter <= m.UsedBefore || m.RSSAfter <= 0 {
				t.Errorf("implausible memory result %+v", m)
			}

			s, err := startServer(ctx, name, bin, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Stop()
			if bench, err := exec.LookPath("redis-benchmark"); err == nil {
				o := options{redisBenchmark: bench, runTimeout: time.Minute}
				samples, err := runBenchmark(ctx, o, s.Port, []string{"-t", "set,lrange_100", "-n", "200", "-c", "2"})
				if err != nil {
					t.Fatal(err)
				}
				if len(samples) != 2 || samples[0].Test != "SET" || samples[1].Test != "LRANGE_100" || samples[0].RPS <= 0 {
					t.Errorf("samples = %+v, want SET and LRANGE_100 with positive rps", samples)
				}
			}
			proc, dir := s.cmd.Process, s.Dir
			s.Stop()
			if err := proc.Signal(syscall.Signal(0)); err == nil { // signal 0 only probes existence
				t.Errorf("%s still running after Stop", name)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("%s directory %s not removed: %v", name, dir, err)
			}
			s.Stop() // a second Stop is harmless
		})
	}
}

// TestDatasetPhase runs the loaded-dataset phase on a small keyspace with
// both servers: every full sync must copy every key (measureFullSync checks
// the replica's DBSIZE), and the loaded run must report latencies for both
// commands, with GC figures for replnode only.
func TestDatasetPhase(t *testing.T) {
	bins := serverBinaries(t)
	bench, err := exec.LookPath("redis-benchmark")
	if bins[serverRedis] == "" || bins[serverReplnode] == "" || err != nil {
		t.Skip("needs redis-server, redis-benchmark and REPLNODE_BIN")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	o, err := parseOptions([]string{"-keys", "3000", "-loaded-requests", "2000", "-clients", "4"})
	if err != nil {
		t.Fatal(err)
	}
	o.redisServer, o.replnode, o.redisBenchmark, o.runTimeout = bins[serverRedis], bins[serverReplnode], bench, 2*time.Minute
	var failures []string
	ds := runDataset(ctx, o, t.TempDir(), func(f string, a ...any) { failures = append(failures, fmt.Sprintf(f, a...)) })
	if len(failures) > 0 {
		t.Fatalf("failures: %v", failures)
	}
	if len(ds.mem) != 2 || len(ds.syncs) != len(syncPairs) || len(ds.loaded) != 2 {
		t.Fatalf("results: %+v", ds)
	}
	for _, s := range ds.syncs {
		if s.Keys != 3000 || s.Seconds <= 0 || s.PeakRSS <= 0 {
			t.Errorf("implausible sync %+v", s)
		}
	}
	for _, l := range ds.loaded {
		if len(l.Tests) != 2 || l.Tests[0].Test != "SET" || l.Tests[1].Test != "GET" || l.CPUPerOp <= 0 {
			t.Errorf("implausible loaded run %+v", l)
		}
		if l.HasGC != (l.Server == serverReplnode) {
			t.Errorf("%s: HasGC %v", l.Server, l.HasGC)
		}
	}
}
