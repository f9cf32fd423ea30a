// Package compat is a black-box compatibility probe: it starts the built
// replnode binary (REPLNODE_BIN, or a fresh build into a temp dir) next to a
// real redis-server 7.0 and compares what real clients (redis-cli) see from
// both. It owns only tests; it must not import replnode internals, so it
// checks exactly what an outside client can observe (the one import,
// replnode/tlsconf/testpki, only makes throwaway certificates). It also runs the two as
// master and replica of each other, in both directions, under redis-benchmark
// write load with cut links (equal DEBUG DIGEST and offsets, only partial
// resyncs after the first sync).
//
// tls_test.go does the same over TLS: redis-cli --tls against both
// (TLS-only, client certificates required or optional), replication both
// ways with tls-replication through a proxy that records the link and
// finds no plaintext RESP on it, and certificate rotation by CONFIG SET
// tls-cert-file.
//
// The differential fuzzer (fuzz_diff_test.go) sends the same random command
// sequences, generated from the argument specs in
// replnode/server/command_meta.json, to both servers and compares every
// reply and then DEBUG DIGEST. Plain `go test` runs a fixed seed list;
// FUZZ_DIFF_DURATION (e.g. 10m, used by `make fuzz`) keeps going with new
// seeds, FUZZ_DIFF_SEED replays one seed and FUZZ_DIFF_HISTORY sets how
// many of its commands a failure prints. Commands left out, compared
// loosely, avoided inputs and accepted differences are listed there, each
// with its reason.
//
// bullmq_test.go runs BullMQ (npm; testdata/bullmq holds package.json, the
// committed package-lock.json and driver.js) against both servers: 10,000
// jobs (delayed, retried after a failed first attempt, prioritized, always
// failing, with progress and logs, plain), a repeatable job and a flow,
// processed by one Worker with concurrency while QueueEvents reads the
// events stream, then a stalled job (its worker stops renewing the lock)
// recovered by a second worker; every job must finish as expected, with
// the same outcome on both.
// `npm ci` installs into the test's temp dir, never the repository tree.
// node and npm are required (`make test-deps`); only BULLMQ=0 turns it off.
package compat
