// Command membench measures how many bytes per key replnode and redis-server
// 7.0 spend on the same dataset: it starts a fresh server of each kind, loads
// one dataset over the wire with pipelined commands, and reports INFO memory
// used_memory (after MEMORY PURGE) and the process's VmRSS, before and after,
// per key. It is the memory half of hack/bench extended to hashes, lists and
// sorted sets, runnable alone (`make membench`, a minute or two) because
// memory figures do not depend on the machine's load and throughput ones do.
//
// It must not be used as a test: it prints figures, it asserts nothing.
package main
