package failover

import (
	"os"
	"strings"
	"testing"
	"time"
)

// mustParseInfo parses an INFO replication capture from testdata.
func mustParseInfo(t *testing.T, path string) Replication {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseInfoReplication(string(raw))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return r
}

// TestParseInfoReplicationRealCaptures checks parsing of INFO replication captured from redis-server 7.0.
func TestParseInfoReplicationRealCaptures(t *testing.T) {
	m := mustParseInfo(t, "testdata/info_master.txt")
	want := Replication{Role: RoleMaster, ReplID: "17af7cfa29967cbe6bcfa483f4806a442a846923",
		ReplID2: zeros, SecondReplOffset: -1, Offset: 100, LinkDownSeconds: -1, LastIOSeconds: -1,
		BacklogActive: true, BacklogFirstByte: 1, BacklogHistLen: 100, GoodReplicas: -1}
	if m != want {
		t.Fatalf("master:\n got %+v\nwant %+v", m, want)
	}
	r := mustParseInfo(t, "testdata/info_replica.txt")
	want = Replication{Role: RoleReplica, ReplID: "17af7cfa29967cbe6bcfa483f4806a442a846923",
		ReplID2: zeros, SecondReplOffset: -1, Offset: 100, LinkStatus: LinkUp, LinkDownSeconds: -1, LastIOSeconds: 1,
		MasterHost: "127.0.0.1", MasterPort: 27411,
		BacklogActive: true, BacklogFirstByte: 51, BacklogHistLen: 50, GoodReplicas: -1}
	if r != want {
		t.Fatalf("replica:\n got %+v\nwant %+v", r, want)
	}
	p := mustParseInfo(t, "testdata/info_promoted.txt")
	if p.Role != RoleMaster || p.ReplID2 != r.ReplID || p.SecondReplOffset != 101 {
		t.Fatalf("promoted: %+v", p)
	}
}

// TestParseInfoReplicationCRLF checks CRLF line endings and replica-only fields.
func TestParseInfoReplicationCRLF(t *testing.T) {
	text := "# Replication\r\nrole:slave\r\nmaster_link_status:down\r\nmaster_sync_in_progress:1\r\nmaster_link_down_since_seconds:42\r\n" +
		"master_replid:" + histA + "\r\nmaster_repl_offset:42\r\n"
	r, err := ParseInfoReplication(text)
	if err != nil {
		t.Fatal(err)
	}
	if r.Role != RoleReplica || r.LinkStatus != LinkDown || !r.SyncInProgress || r.Offset != 42 || r.LinkDownSeconds != 42 ||
		r.SecondReplOffset != NoSecondOffset || r.LastIOSeconds != -1 {
		t.Fatalf("got %+v", r)
	}
}

// TestParseInfoReplicationErrors checks malformed INFO text gives an error naming the problem.
func TestParseInfoReplicationErrors(t *testing.T) {
	cases := []struct{ name, text, wantErr string }{
		{"missing role", "master_replid:" + histA + "\nmaster_repl_offset:1\n", "missing field role"},
		{"missing offset", "role:master\nmaster_replid:" + histA + "\n", "missing field master_repl_offset"},
		{"bad offset", "role:master\nmaster_replid:x\nmaster_repl_offset:12a\n", "master_repl_offset"},
		{"bad role", "role:sentinel\nmaster_replid:x\nmaster_repl_offset:1\n", "unknown role"},
		{"bad link", "role:slave\nmaster_link_status:sideways\nmaster_replid:x\nmaster_repl_offset:1\n", "master_link_status"},
		{"no colon", "role:master\ngarbage\n", "no ':'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseInfoReplication(c.text)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, c.wantErr)
			}
		})
	}
}

// TestParseInfoReplicationGoodReplicas checks min_slaves_good_slaves, which
// redis-server 7.0 prints only when min-replicas-to-write is set.
func TestParseInfoReplicationGoodReplicas(t *testing.T) {
	text := "# Replication\r\nrole:master\r\nconnected_slaves:2\r\nmin_slaves_good_slaves:1\r\n" +
		"master_replid:17af7cfa29967cbe6bcfa483f4806a442a846923\r\nmaster_repl_offset:10\r\n"
	r, err := ParseInfoReplication(text)
	if err != nil || r.GoodReplicas != 1 {
		t.Fatalf("GoodReplicas = %d, err %v; want 1", r.GoodReplicas, err)
	}
	if _, err := ParseInfoReplication(strings.Replace(text, "good_slaves:1", "good_slaves:x", 1)); err == nil {
		t.Fatal("a malformed min_slaves_good_slaves parsed")
	}
}

// TestParseInfoReplicationLastIO checks master_last_io_seconds_ago (issue
// point 5: replicas report "no contact for X s" well before repl-timeout),
// including redis-server's -1 for a replica without a master connection.
func TestParseInfoReplicationLastIO(t *testing.T) {
	for text, want := range map[string]int64{
		"role:slave\nmaster_link_status:up\nmaster_last_io_seconds_ago:7\nmaster_replid:" + histA + "\nmaster_repl_offset:1\n":    7,
		"role:slave\nmaster_link_status:down\nmaster_last_io_seconds_ago:-1\nmaster_replid:" + histA + "\nmaster_repl_offset:1\n": -1,
	} {
		r, err := ParseInfoReplication(text)
		if err != nil || r.LastIOSeconds != want {
			t.Fatalf("LastIOSeconds = %d, err %v; want %d", r.LastIOSeconds, err, want)
		}
	}
	if _, err := ParseInfoReplication("role:slave\nmaster_last_io_seconds_ago:soon\nmaster_replid:x\nmaster_repl_offset:1\n"); err == nil ||
		!strings.Contains(err.Error(), "master_last_io_seconds_ago") {
		t.Fatalf("a malformed master_last_io_seconds_ago parsed: %v", err)
	}
}

// TestParseInfoReplicationMilliseconds checks replnode's own fields: a
// replica's master_no_contact_ms and any node's min_replicas_guard_ms; a
// redis-server reports neither (0 and false: no precise vote).
func TestParseInfoReplicationMilliseconds(t *testing.T) {
	r, err := ParseInfoReplication("role:slave\nmaster_link_status:down\nmaster_link_down_since_seconds:-1\nmaster_replid:" + histA +
		"\nmaster_repl_offset:1\nmin_replicas_guard_ms:1\nmin_replicas_guard_to_write:1\nmin_replicas_guard_max_lag_ms:2000\nmaster_last_io_ms_ago:-1\nmaster_no_contact_ms:4200\n")
	if err != nil || r.NoContactMs != 4200 || r.Guard != (NodeGuard{Reported: true, Ms: true, ToWrite: 1, MaxLag: 2 * time.Second}) || r.LinkDownSeconds != -1 {
		t.Fatalf("%+v %v", r, err)
	}
	if q, precise, ok := r.noContact(); !ok || !precise || q != 4200*time.Millisecond {
		t.Fatalf("noContact = %s %v %v", q, precise, ok)
	}
	r, err = ParseInfoReplication("role:slave\nmaster_link_status:up\nmaster_last_io_seconds_ago:3\nmaster_replid:" + histA + "\nmaster_repl_offset:1\n")
	if err != nil || r.NoContactMs != 0 || r.Guard.Reported {
		t.Fatalf("redis-server: %+v %v", r, err)
	}
	if q, precise, ok := r.noContact(); !ok || precise || q != 3*time.Second {
		t.Fatalf("redis-server noContact = %s %v %v", q, precise, ok)
	}
}
