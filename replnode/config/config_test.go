package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadFileSyntax(t *testing.T) {
	dir := t.TempDir()
	inc := filepath.Join(dir, "inc.conf")
	if err := os.WriteFile(inc, []byte("maxmemory 2mb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := Default()
	text := strings.Join([]string{
		"# comment",
		"  port 7000  ",
		`requirepass "p a\x41ss"`,
		"save 900 1",
		"save 300 10",
		"SLAVE-READ-ONLY no",
		"include " + inc,
		"appendonly yes",
		"rename-command FLUSHALL \"\"",
		"notify-keyspace-events KEA",
		"client-output-buffer-limit replica 1gb 512mb 30",
	}, "\n")
	if err := c.LoadString(text); err != nil {
		t.Fatal(err)
	}
	checks := map[string]string{
		"port":                       "7000",
		"requirepass":                "p aAss",
		"save":                       "900 1 300 10",
		"replica-read-only":          "no",
		"slave-read-only":            "no",
		"maxmemory":                  "2097152",
		"appendonly":                 "yes",
		"notify-keyspace-events":     "AKE",
		"client-output-buffer-limit": "normal 0 0 0 slave 1073741824 536870912 30 pubsub 33554432 8388608 60",
	}
	for k, want := range checks {
		if got, _ := c.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	// Only rename-command warns: appendonly is implemented (issue 16).
	if len(c.Warnings) != 1 {
		t.Errorf("warnings: %q", c.Warnings)
	}
}

func TestFatalErrorsAsRedis(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--port", "99999"}, "Reading the configuration file, at line 2\n>>> 'port \"99999\"'\nargument must be between 0 and 65535 inclusive\n"},
		{[]string{"--port", "1", "--bogus", "2"}, "at line 3\n>>> 'bogus \"2\"'\nBad directive or wrong number of arguments\n"},
		{[]string{"--appendonly", "maybe"}, ">>> 'appendonly \"maybe\"'\nargument must be 'yes' or 'no'\n"},
		{[]string{"--port"}, ">>> 'port'\nwrong number of arguments\n"},
		{[]string{"--maxmemory", "1x"}, "argument must be a memory value\n"},
		{[]string{"--loglevel", "loud"}, "argument(s) must be one of the following: debug, verbose, notice, warning\n"},
	}
	for _, tc := range cases {
		_, err := FromArgs(tc.args, nil)
		if err == nil {
			t.Errorf("%q: no error", tc.args)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, "*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***") || !strings.HasSuffix(msg, tc.want) {
			t.Errorf("%q:\n%s\nwant suffix %q", tc.args, msg, tc.want)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.conf")
	_ = os.WriteFile(path, []byte("# hi\ndbfilename \"a b\n"), 0o644)
	_, err := FromArgs([]string{path}, nil)
	if err == nil || !strings.Contains(err.Error(), "at line 2\n>>> 'dbfilename \"a b'\nUnbalanced quotes in configuration line") {
		t.Errorf("unbalanced: %v", err)
	}
}

func TestCommandLineOverridesFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.conf")
	_ = os.WriteFile(path, []byte("port 7000\nsave 900 1\n"), 0o644)
	c, err := FromArgs([]string{path, "--port", "7001", "--save", "--replicaof", "10.0.0.1", "6379"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Int("port") != 7001 || c.String("save") != "" || c.File != path {
		t.Errorf("port=%d save=%q file=%q", c.Int("port"), c.String("save"), c.File)
	}
	if h, p, ok := c.ReplicaOf(); !ok || h != "10.0.0.1" || p != 6379 {
		t.Errorf("replicaof %s %d %v", h, p, ok)
	}
}

func TestSetManyIsAtomic(t *testing.T) {
	c := Default()
	err := c.SetMany([][2]string{{"maxmemory", "1mb"}, {"hz", "nope"}})
	if err == nil || err.Error() != "argument couldn't be parsed into an integer" {
		t.Fatalf("err = %v", err)
	}
	if c.Int("maxmemory") != 0 {
		t.Error("maxmemory changed although the set failed")
	}
	if err := c.Set("daemonize", []string{"yes"}, false); err == nil || err.Error() != "can't set immutable config" {
		t.Errorf("immutable: %v", err)
	}
}

func TestMemoryUnits(t *testing.T) {
	// memtoull: no digits is 0, 2^64-1 and beyond saturate, read as signed.
	for in, want := range map[string]int64{"1k": 1000, "1kb": 1024, "2MB": 2 << 20, "1g": 1e9, "3gb": 3 << 30, "12": 12,
		"": 0, "kb": 0, "18446744073709551616": -1} {
		if got, ok := ParseMemory(in); !ok || got != want {
			t.Errorf("%s: %d %v", in, got, ok)
		}
	}
	for _, bad := range []string{"-1", "1x", "+5", " 1", "1.5k"} {
		if _, ok := ParseMemory(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestTLSDirectivesImplemented: the tls-* directives replnode applies are
// not logged as ignored; the ones Go cannot apply are.
func TestTLSDirectivesImplemented(t *testing.T) {
	c := Default()
	if err := c.LoadString(strings.Join([]string{
		"tls-port 6380", "tls-cert-file /t/tls.crt", "tls-key-file /t/tls.key", "tls-ca-cert-file /t/ca.crt",
		"tls-auth-clients optional", "tls-replication yes", `tls-protocols "TLSv1.2 TLSv1.3"`, "tls-session-caching no",
	}, "\n")); err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("implemented tls-* directives logged as ignored: %q", c.Warnings)
	}
	c = Default()
	if err := c.LoadString("tls-dh-params-file /t/dh.pem\ntls-cluster yes\ntls-ciphersuites TLS_AES_128_GCM_SHA256"); err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 3 {
		t.Errorf("directives Go cannot apply are not all logged as ignored: %q", c.Warnings)
	}
}
