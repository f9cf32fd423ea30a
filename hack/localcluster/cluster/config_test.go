package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImageResolution checks base-name matching, rule order and errors.
func TestImageResolution(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "replnode")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	rules := []ImageRule{{Pattern: "replnode*", Binary: bin}, {Pattern: "*manager*", Binary: filepath.Join(dir, "missing")}}
	for _, img := range []string{"replnode", "ghcr.io/replnode/replnode:v0.1.0", "localhost:5000/replnode@sha256:abc"} {
		if got, err := ResolveImage(rules, img); err != nil || got != bin {
			t.Errorf("ResolveImage(%q) = %q, %v", img, got, err)
		}
	}
	if _, err := ResolveImage(rules, "example.com/rg-manager:v1"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing binary error = %v", err)
	}
	if _, err := ResolveImage(rules, "nginx:1.25"); err == nil || !strings.Contains(err.Error(), "not mapped") {
		t.Errorf("unmapped image error = %v", err)
	}
}

// TestParseImageRules checks the LOCALCLUSTER_IMAGES syntax.
func TestParseImageRules(t *testing.T) {
	rules, err := ParseImageRules("redis*=/usr/bin/redis-server, debian=/bin/sh")
	if err != nil || len(rules) != 2 || rules[0].Pattern != "redis*" || rules[1].Binary != "/bin/sh" {
		t.Fatalf("rules = %+v, %v", rules, err)
	}
	for _, bad := range []string{"noequals", "=x", "[=y"} {
		if _, err := ParseImageRules(bad); err == nil {
			t.Errorf("ParseImageRules(%q) accepted", bad)
		}
	}
}

// TestConfigRoundTripAndGuards checks Save/Load and the state-dir guard.
func TestConfigRoundTripAndGuards(t *testing.T) {
	t.Setenv("LOCALCLUSTER_STATE_DIR", filepath.Join(t.TempDir(), "state"))
	t.Setenv("LOCALCLUSTER_NODES", "2")
	c, err := DefaultConfig("/repo")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.NodeNames(); len(got) != 2 || got[1] != "local-1" {
		t.Errorf("node names = %v", got)
	}
	if err := os.MkdirAll(c.StateDir, 0o755); err != nil {
		t.Fatal(err)
	}
	c.APIServerPort = 12345
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	back, err := Load(c.StateDir)
	if err != nil || back.APIServerPort != 12345 || back.Nodes != 2 {
		t.Errorf("Load = %+v, %v", back, err)
	}
	t.Setenv("LOCALCLUSTER_NODES", "zero")
	if _, err := DefaultConfig("/repo"); err == nil {
		t.Error("bad LOCALCLUSTER_NODES accepted")
	}
	foreign := t.TempDir()
	if err := os.WriteFile(filepath.Join(foreign, "precious"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := removeStateDir(foreign); err == nil {
		t.Error("removed a directory that is not a state directory")
	}
	if _, err := os.Stat(filepath.Join(foreign, "precious")); err != nil {
		t.Errorf("guard lost data: %v", err)
	}
}
