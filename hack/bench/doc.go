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
//   - measuring memory after loading the same keys into fresh servers
//     (INFO memory used_memory after MEMORY PURGE, and /proc/<pid>/status VmRSS);
//   - running the Go micro-benchmarks of ./replnode/... once;
//   - writing the raw rows (results-<stamp>.csv), the Go benchmark output
//     (gobench-<stamp>.txt) and a Markdown summary (summary-<stamp>.md) into
//     the output directory (bin/bench by default).
//
// It must not: listen on anything but 127.0.0.1, persist anything outside
// its output and temporary directories, run unbounded (every external
// command runs under a timeout), or assert speed targets — it measures and
// reports; docs/benchmarks.md interprets.
//
// Files: main.go (flags and the run order), servers.go (processes, ports,
// the small RESP client, key loading, memory probes), results.go (pure:
// parsing redis-benchmark CSV, medians, the summary tables).
package main
