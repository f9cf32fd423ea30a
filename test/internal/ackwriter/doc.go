// Package ackwriter is the suites' WAIT-acknowledged load writer: it writes
// unique keys one at a time through whatever connection its connect
// function returns (the master Service's endpoint, usually), follows each
// with WAIT 1 2000, records every key at least one replica acknowledged and
// when, and afterwards tells which of them a master no longer has. It is
// test/e2e's writer (e2e_test.go), moved here for test/chart, so that "no
// acknowledged write lost" means the same in both; test/e2e still uses its
// own copy until the tracing another branch adds to it can move here too.
//
// It owns: the write loop, the acknowledged keys and their times, and the
// check for missing keys. It must not know about clusters, groups or
// operators: where to connect is its caller's business.
package ackwriter
