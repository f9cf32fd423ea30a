// Package compat is a black-box compatibility probe: it starts the built
// replnode binary (REPLNODE_BIN, or a fresh build into a temp dir) next to a
// real redis-server 7.0 and compares what real clients (redis-cli) see from
// both. It owns only tests; it must not import replnode internals, so it
// checks exactly what an outside client can observe.
package compat
