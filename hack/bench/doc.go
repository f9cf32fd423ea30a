// Command bench runs `make bench`: replnode side by side with a real
// redis-server 7.0 on the same machine, under the same load generator.
//
// It owns:
//   - starting bin/replnode and redis-server on free loopback ports with
//     equivalent configurations (no persistence: save "" and appendonly no),
//     each in its own temporary directory, and stopping both on every exit
//     path (normal end, error, SIGINT/SIGTERM);
//   - running redis-benchmark (--csv) against each server for a fixed set of
//     scenarios, interleaving the servers and repeating every run a fixed
//     number of times so that the median per command is reported (the aof-*
//     scenarios turn appendonly on with CONFIG SET for their run only, the
//     files going to the servers' temporary directories);
//   - reading each server's CPU time (/proc/<pid>/stat) around every run
//     for the CPU cost per request (and hardware cycles with perf stat
//     where the machine counts them), written to cpu-<stamp>.csv;
//   - the loaded-dataset phase (dataset.go): one fresh server of each kind
//     loaded with the same keys once, then memory (INFO memory used_memory
//     after MEMORY PURGE, /proc/<pid>/status VmRSS), full synchronisation
//     of fresh replicas from it (REPLICAOF to master_link_status:up, the
//     master's peak VmRSS and PSS with its fork child), and latency
//     percentiles and replnode's GC pause histogram (its /metrics) under
//     random writes over those keys;
//   - running the Go micro-benchmarks of ./replnode/... once;
//   - writing the raw rows (results-<stamp>.csv, cpu-<stamp>.csv), the Go
//     benchmark output (gobench-<stamp>.txt) and a Markdown summary
//     (summary-<stamp>.md) into the output directory (bin/bench by
//     default). -parts and -scenarios select what runs.
//
// It must not: listen on anything but 127.0.0.1, persist anything outside
// its output and temporary directories, run unbounded (every external
// command runs under a timeout), or assert speed targets — it measures and
// reports; docs/benchmarks.md interprets.
//
// Files: main.go (flags and the run order), servers.go (processes, ports,
// the small RESP client, key loading, /proc probes), results.go (pure:
// parsing redis-benchmark CSV, medians, the summary tables), cpu.go (CPU
// time and cycles per request), dataset.go (the loaded-dataset phase and
// its parsers: redis-benchmark's percentile text, Prometheus histograms).
package main
