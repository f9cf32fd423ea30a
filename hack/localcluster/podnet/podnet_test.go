package podnet

import (
	"reflect"
	"strings"
	"testing"
)

// TestNewNetworkValidates checks gateway derivation and the error cases.
func TestNewNetworkValidates(t *testing.T) {
	n, err := NewNetwork("lcbr0", "10.244.0.0/24")
	if err != nil {
		t.Fatal(err)
	}
	if n.Gateway.String() != "10.244.0.1" {
		t.Errorf("gateway = %s, want 10.244.0.1", n.Gateway)
	}
	for _, bad := range []struct{ bridge, cidr string }{
		{"lcbr0", "not-a-cidr"}, {"lcbr0", "fd00::/64"}, {"lcbr0", "10.0.0.0/30"}, {"a-very-long-bridge-name", "10.0.0.0/24"},
	} {
		if _, err := NewNetwork(bad.bridge, bad.cidr); err == nil {
			t.Errorf("NewNetwork(%q, %q) accepted", bad.bridge, bad.cidr)
		}
	}
}

// TestAllocatorHandsOutDistinctAddresses checks reuse per owner, release and exhaustion.
func TestAllocatorHandsOutDistinctAddresses(t *testing.T) {
	n, _ := NewNetwork("lcbr0", "10.9.0.0/28") // 16 addresses: .2 .. .14 usable
	a := NewAllocator(n)
	seen := map[string]bool{}
	for i := 0; i < 13; i++ {
		ip, err := a.Allocate(string(rune('a' + i)))
		if err != nil {
			t.Fatalf("allocation %d: %v", i, err)
		}
		if seen[ip.String()] || ip.String() == "10.9.0.1" || ip.String() == "10.9.0.15" || ip.String() == "10.9.0.0" {
			t.Fatalf("bad or duplicate address %s", ip)
		}
		seen[ip.String()] = true
	}
	if _, err := a.Allocate("overflow"); err == nil {
		t.Fatal("allocation past exhaustion succeeded")
	}
	again, _ := a.Allocate("a")
	if again.String() != "10.9.0.2" {
		t.Errorf("owner a got %s on second call, want its old 10.9.0.2", again)
	}
	a.Release("c")
	ip, err := a.Allocate("new")
	if err != nil || ip.String() != "10.9.0.4" {
		t.Errorf("after release got %v %v, want 10.9.0.4", ip, err)
	}
}

// TestPartitionRules checks the rule sets for each partition kind.
func TestPartitionRules(t *testing.T) {
	n, _ := NewNetwork("lcbr0", "10.244.0.0/24")
	api := n.PartitionRules(false, true, 6443)
	want := [][]string{
		{"-d", "10.244.0.1", "-p", "tcp", "--dport", "6443", "-j", "DROP"},
		{"-s", "10.244.0.1", "-p", "tcp", "--sport", "6443", "-j", "DROP"},
	}
	if !reflect.DeepEqual(api, want) {
		t.Errorf("API partition rules = %v", api)
	}
	pods := n.PartitionRules(true, false, 6443)
	if len(pods) != 3 || pods[2][len(pods[2])-1] != "DROP" || pods[0][len(pods[0])-1] != "RETURN" {
		t.Errorf("pod partition rules = %v", pods)
	}
	if both := n.PartitionRules(true, true, 6443); len(both) != 5 {
		t.Errorf("combined partition has %d rules, want 5", len(both))
	}
}

// TestNamesFitInterfaceLimits checks generated names are stable and short enough.
func TestNamesFitInterfaceLimits(t *testing.T) {
	n, _ := NewNetwork("lcbr0", "10.244.0.0/24")
	other, _ := NewNetwork("lctest0", "10.245.0.0/24")
	uid := "0b8f1c2e-1111-2222-3333-444455556666"
	ns := n.NamespaceName(uid)
	if ns != n.NamespaceName(uid) || !strings.HasPrefix(ns, "lc-lcbr0-") {
		t.Errorf("namespace name %q not stable or not prefixed by its bridge", ns)
	}
	if strings.HasPrefix(other.NamespaceName(uid), n.NamespacePrefix()) {
		t.Errorf("another bridge's namespace %q falls under prefix %q", other.NamespaceName(uid), n.NamespacePrefix())
	}
	if p := peerVeth(ns); len(p) > 15 {
		t.Errorf("peer name %q too long", p)
	}
	if v := hostVeth(ns); len(v) > 15 || !strings.HasPrefix(v, "lcv") {
		t.Errorf("veth name %q too long", v)
	}
}

// TestIsolateRulesKeepLoopback checks that isolation drops all but loopback.
func TestIsolateRulesKeepLoopback(t *testing.T) {
	r := IsolateRules()
	if len(r) != 3 || r[0][1] != "127.0.0.0/8" || r[1][1] != "127.0.0.0/8" || !reflect.DeepEqual(r[2], []string{"-j", "DROP"}) {
		t.Errorf("isolate rules = %v", r)
	}
}
