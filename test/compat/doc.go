// Package compat is a black-box compatibility probe: it starts the built
// replnode binary (REPLNODE_BIN, or a fresh build into a temp dir) next to a
// real redis-server 7.0 and compares what real clients (redis-cli) see from
// both. It owns only tests; it must not import replnode internals, so it
// checks exactly what an outside client can observe. It also runs the two as
// master and replica of each other, in both directions, under redis-benchmark
// write load with cut links (equal DEBUG DIGEST and offsets, only partial
// resyncs after the first sync).
package compat
