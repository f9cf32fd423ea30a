package main

import (
	"bytes"
	"testing"
)

// Issue 12 point 6, the flag half of TestParseFlags on today's main.
func TestIssue12LeaderElectionOnByDefault(t *testing.T) {
	var out bytes.Buffer
	if o, err := parseFlags(nil, &out); err != nil || !o.leaderElect {
		t.Errorf("no flags: leader election %v, %v; want it on by default", o != nil && o.leaderElect, err)
	}
}
