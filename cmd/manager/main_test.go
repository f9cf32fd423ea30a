package main

import (
	"bytes"
	"crypto/tls"
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestParseFlags accepts good flags and answers bad ones with usage.
func TestParseFlags(t *testing.T) {
	var out bytes.Buffer
	o, err := parseFlags([]string{"-leader-elect", "-metrics-bind-address=0", "-resync-period=3s"}, &out)
	if err != nil || !o.leaderElect || o.metricsAddr != "0" || o.resync != 3*time.Second || o.probeAddr != ":8081" {
		t.Fatalf("parseFlags = %+v, %v", o, err)
	}
	for _, bad := range [][]string{{"-bogus"}, {"extra"}, {"-resync-period=0s"}, {"-node-timeout=x"}} {
		out.Reset()
		if _, err := parseFlags(bad, &out); err == nil {
			t.Errorf("parseFlags(%v) accepted", bad)
		}
		if !strings.Contains(out.String(), "Usage: manager") {
			t.Errorf("parseFlags(%v) printed no usage: %q", bad, out.String())
		}
	}
	if o, err := parseFlags(nil, &out); err != nil || !o.leaderElect {
		t.Errorf("no flags: leader election %v, %v; want it on by default", o != nil && o.leaderElect, err)
	}
	if o, err := parseFlags([]string{"--leader-elect=false"}, &out); err != nil || o.leaderElect {
		t.Errorf("--leader-elect=false: leader election %v, %v; want it off", o != nil && o.leaderElect, err)
	}
	if _, err := parseFlags([]string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

// TestManagerOptionsLeaderElection checks leader election is on by default
// with explicit timings under which a leader that cannot renew gives up
// before another may take over, and releases the lease on shutdown.
func TestManagerOptionsLeaderElection(t *testing.T) {
	o, err := parseFlags([]string{"-leader-election-namespace=ops"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	opts := managerOptions(o, nil)
	if !opts.LeaderElection || opts.LeaderElectionNamespace != "ops" || opts.LeaderElectionID == "" || !opts.LeaderElectionReleaseOnCancel {
		t.Fatalf("leader election options = %+v", opts)
	}
	if opts.LeaseDuration == nil || opts.RenewDeadline == nil || opts.RetryPeriod == nil {
		t.Fatal("lease timings left to controller-runtime's defaults")
	}
	if !(*opts.RetryPeriod < *opts.RenewDeadline && *opts.RenewDeadline < *opts.LeaseDuration) {
		t.Fatalf("want retry < renew deadline < lease duration, got %s, %s, %s", *opts.RetryPeriod, *opts.RenewDeadline, *opts.LeaseDuration)
	}
	o, _ = parseFlags([]string{"--leader-elect=false"}, &bytes.Buffer{})
	if managerOptions(o, nil).LeaderElection {
		t.Fatal("--leader-elect=false still elects")
	}
}

// TestMetricsOptionsSecureByDefault: the metrics endpoint is HTTPS behind
// Kubernetes authentication and authorization unless -metrics-secure=false,
// and refuses HTTP/2 unless -enable-http2.
func TestMetricsOptionsSecureByDefault(t *testing.T) {
	o, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	m := managerOptions(o, nil).Metrics
	if m.BindAddress != ":8443" || !m.SecureServing || m.FilterProvider == nil {
		t.Fatalf("default metrics options = %+v, want :8443, HTTPS and the authn/authz filter", m)
	}
	cfg := &tls.Config{NextProtos: []string{"h2", "http/1.1"}}
	for _, opt := range m.TLSOpts {
		opt(cfg)
	}
	if slices.Contains(cfg.NextProtos, "h2") {
		t.Errorf("HTTP/2 offered by default: %v", cfg.NextProtos)
	}

	o, err = parseFlags([]string{"-metrics-secure=false", "-metrics-bind-address=:8080", "-enable-http2", "-metrics-cert-dir=/certs"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	m = managerOptions(o, nil).Metrics
	if m.SecureServing || m.FilterProvider != nil || m.BindAddress != ":8080" || len(m.TLSOpts) != 0 || m.CertDir != "/certs" {
		t.Fatalf("-metrics-secure=false -enable-http2: %+v", m)
	}
}
