package nodeclient

import (
	"context"
	"strings"
	"testing"
)

// TestFakeReplication follows a replica through REPLICAOF, writes, an
// unreachable master and a promotion, as INFO and ROLE report them.
func TestFakeReplication(t *testing.T) {
	ctx := context.Background()
	f := NewFake()
	m, r := Node{Addr: "10.0.0.1:6379"}, Node{Addr: "10.0.0.2:6379"}
	f.AddWrites(m.Addr, 100)
	if err := f.ReplicaOf(ctx, r, "10.0.0.1", 6379); err != nil {
		t.Fatal(err)
	}
	info, err := f.InfoReplication(ctx, r)
	if err != nil || !strings.Contains(info, "master_link_status:up") || !strings.Contains(info, "master_repl_offset:100") {
		t.Fatalf("replica INFO = %q, %v", info, err)
	}
	role, _ := f.Role(ctx, m)
	if role.Role != "master" || len(role.Replicas) != 1 || role.Replicas[0].Host != "10.0.0.2" {
		t.Fatalf("master ROLE = %+v", role)
	}
	f.SetReachable(m.Addr, false)
	if err := f.Ping(ctx, m); err == nil {
		t.Fatal("Ping of an unreachable node succeeded")
	}
	info, _ = f.InfoReplication(ctx, r)
	if !strings.Contains(info, "master_link_status:down") {
		t.Fatalf("replica of an unreachable master: INFO = %q", info)
	}
	if err := f.ReplicaOf(ctx, r, "", 0); err != nil {
		t.Fatal(err)
	}
	if role, _ := f.Role(ctx, r); role.Role != "master" || role.Offset != 100 {
		t.Fatalf("promoted ROLE = %+v", role)
	}
	f.SetPassword(r.Addr, "pw")
	if err := f.Ping(ctx, r); !IsServerError(err) {
		t.Fatalf("Ping without the password: %v", err)
	}
	if err := f.Ping(ctx, Node{Addr: r.Addr, Password: "pw"}); err != nil {
		t.Fatalf("Ping with the password: %v", err)
	}
}
