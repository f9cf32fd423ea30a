// Package ackwriter is the suites' WAIT-acknowledged load writer: it writes
// unique keys one at a time through whatever connection its connect
// function returns (the master Service's endpoint, usually), follows each
// with WAIT 1 2000, records every key at least one replica acknowledged and
// when (and every key whose SET answered OK), traces its connects and errors
// for timelines, and afterwards tells which keys a master no longer has.
// test/e2e and test/chart both use it, so that "no acknowledged write lost"
// and "write pause" mean the same in both.
//
// It owns: the write loop, the acknowledged and OK keys and their times,
// the trace, and the check for missing keys. It must not know about
// clusters, groups or operators: where to connect is its caller's business.
package ackwriter
