// Package chaos is the Jepsen-style chaos suite: on a local cluster it
// starts itself (hack/localcluster), with the real operator (bin/manager)
// and real replnode pods in the sample-like group (a master and 2 replicas,
// minReplicasToWrite 1), concurrent clients write through the master
// Service while a scenario injects faults (kills, pod deletions, SIGSTOP,
// partitions, node stops, operator kills and pauses, switchovers), and
// checkers judge the recorded histories.
//
// It owns: the operation history (history.go), the checkers, pure functions
// over histories and samples with their own table tests (checkers.go), and
// the scenarios and their cluster plumbing (*_test.go, Ginkgo), and the
// timeline command (timeline/: go run ./test/chaos/timeline <evidence>.json
// prints a round's failover timeline, judging nothing). It must not
// judge from the group's status: a checker reads only what the clients and
// the sampler observed, and the operators' own logs (which operator acted
// when).
//
// Run: make chaos (every scenario CHAOS_ROUNDS times, default 5, results in
// docs/chaos.md); go test ./test/chaos runs CHAOS_SCENARIOS (default: the
// short list of scenarios that pass on today's operator) once. See
// docs/chaos.md for the checkers' definitions and the latest results.
package chaos
