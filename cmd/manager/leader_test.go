package main

import (
	"os"
	"testing"

	"k8s.io/client-go/rest"
)

// TestLeaderLock checks the manager's Lease lock is the one
// controller-runtime would use (same name and namespace), with a unique
// identity, and is tracked for the reconciler's lease check with the
// renew deadline; without a namespace outside a cluster it refuses, as
// controller-runtime does.
func TestLeaderLock(t *testing.T) {
	o, err := parseFlags([]string{"-leader-election-namespace=ops"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	opts := managerOptions(o, nil)
	cfg := &rest.Config{Host: "https://127.0.0.1:1"}
	a, err := leaderLock(cfg, opts.LeaderElectionID, opts.LeaderElectionNamespace)
	if err != nil {
		t.Fatal(err)
	}
	b, err := leaderLock(cfg, opts.LeaderElectionID, opts.LeaderElectionNamespace)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := a.Describe(), "ops/"+opts.LeaderElectionID; got != want {
		t.Errorf("lock %q, want %q", got, want)
	}
	if a.Identity() == "" || a.Identity() == b.Identity() {
		t.Errorf("identities %q and %q must be unique", a.Identity(), b.Identity())
	}
	if a.ValidFor != leaseRenewDeadline || a.ValidFor >= leaseDuration {
		t.Errorf("lease counted as held for %s; want the renew deadline %s (< lease duration %s)", a.ValidFor, leaseRenewDeadline, leaseDuration)
	}
	if err := a.Held(); err == nil {
		t.Error("held before anything was written")
	}
	if _, err := os.Stat(inClusterNamespaceFile); err != nil {
		if _, err := leaderLock(cfg, opts.LeaderElectionID, ""); err == nil {
			t.Error("no namespace outside a cluster: accepted")
		}
	}
}
