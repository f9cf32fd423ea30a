package podnet

import (
	"net"
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
	api := n.PartitionRules(Cut{API: true}, 6443)
	want := [][]string{
		{"-d", "10.244.0.1", "-p", "tcp", "--dport", "6443", "-j", "DROP"},
		{"-s", "10.244.0.1", "-p", "tcp", "--sport", "6443", "-j", "DROP"},
	}
	if !reflect.DeepEqual(api, want) {
		t.Errorf("API partition rules = %v", api)
	}
	pods := n.PartitionRules(Cut{Pods: true}, 6443)
	if len(pods) != 3 || pods[2][len(pods[2])-1] != "DROP" || pods[0][len(pods[0])-1] != "RETURN" {
		t.Errorf("pod partition rules = %v", pods)
	}
	if both := n.PartitionRules(Cut{Pods: true, API: true}, 6443); len(both) != 5 {
		t.Errorf("combined partition has %d rules, want 5", len(both))
	}
	// Host alone: the API port stays open, everything else at the gateway
	// is dropped in both directions.
	host := n.PartitionRules(Cut{Host: true}, 6443)
	want = [][]string{
		{"-d", "10.244.0.1", "-p", "tcp", "--dport", "6443", "-j", "RETURN"},
		{"-s", "10.244.0.1", "-p", "tcp", "--sport", "6443", "-j", "RETURN"},
		{"-s", "10.244.0.1", "-j", "DROP"},
		{"-d", "10.244.0.1", "-j", "DROP"},
	}
	if !reflect.DeepEqual(host, want) {
		t.Errorf("host partition rules = %v", host)
	}
	// Host with pods: the host drops must come before the pod rules' gateway
	// RETURNs, or those would let the host through.
	hostPods := n.PartitionRules(Cut{Host: true, Pods: true}, 6443)
	firstReturn, lastDrop := -1, -1
	for i, r := range hostPods {
		if r[0] == "-s" && r[1] == "10.244.0.1" && len(r) == 4 {
			if r[3] == "RETURN" && firstReturn < 0 {
				firstReturn = i
			}
			if r[3] == "DROP" {
				lastDrop = i
			}
		}
	}
	if lastDrop < 0 || firstReturn < 0 || lastDrop > firstReturn {
		t.Errorf("host+pods rules let the host through: %v", hostPods)
	}
	// Host with API: no RETURN for the API port.
	for _, r := range n.PartitionRules(Cut{Host: true, API: true}, 6443) {
		if r[len(r)-1] == "RETURN" {
			t.Errorf("host+api rules keep a hole: %v", r)
		}
	}
}

// TestParseCut checks the -from syntax.
func TestParseCut(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Cut
	}{
		{"pods", Cut{Pods: true}},
		{"api", Cut{API: true}},
		{"host", Cut{Host: true}},
		{"all", Cut{Pods: true, API: true}},
		{"all,host", Cut{Pods: true, API: true, Host: true}},
		{"pods, host", Cut{Pods: true, Host: true}},
	} {
		got, err := ParseCut(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseCut(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "nodes", "pods,", "host,everything"} {
		if _, err := ParseCut(bad); err == nil {
			t.Errorf("ParseCut(%q) accepted", bad)
		}
	}
	if s := (Cut{Pods: true, Host: true}).String(); s != "the other pods and the host" {
		t.Errorf("String() = %q", s)
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

// TestPeerRulesByDirection checks that a peer cut drops exactly the packets
// of its direction: "-d peer" in the pod's namespace is what the pod sends,
// "-s peer" what it receives.
func TestPeerRulesByDirection(t *testing.T) {
	peer := net.ParseIP("10.244.0.7")
	for _, tc := range []struct {
		dir  Direction
		want [][]string
	}{
		{Both, [][]string{{"-d", "10.244.0.7", "-j", "DROP"}, {"-s", "10.244.0.7", "-j", "DROP"}}},
		{Outgoing, [][]string{{"-d", "10.244.0.7", "-j", "DROP"}}},
		{Incoming, [][]string{{"-s", "10.244.0.7", "-j", "DROP"}}},
	} {
		if got := PeerRules(peer, tc.dir); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("PeerRules(%s) = %v, want %v", tc.dir, got, tc.want)
		}
	}
	for in, want := range map[string]Direction{"": Both, "both": Both, "out": Outgoing, " in": Incoming} {
		if got, err := ParseDirection(in); err != nil || got != want {
			t.Errorf("ParseDirection(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseDirection("sideways"); err == nil {
		t.Error("ParseDirection accepted sideways")
	}
}

// TestCutCommandsChainPerCut checks that each cut gets a chain of its own
// jumped to from LC-FAULT (so a RETURN in one cut cannot skip another's
// DROP), that reusing an id empties its chain instead of adding a second
// jump, and that removal undoes exactly that.
func TestCutCommandsChainPerCut(t *testing.T) {
	rules := [][]string{{"-d", "10.244.0.7", "-j", "DROP"}}
	fresh := CutCommands("c1", rules, false)
	want := [][]string{
		{"-N", "LC-CUT-c1"},
		{"-A", "LC-FAULT", "-j", "LC-CUT-c1"},
		{"-A", "LC-CUT-c1", "-d", "10.244.0.7", "-j", "DROP"},
	}
	if !reflect.DeepEqual(fresh, want) {
		t.Errorf("fresh cut = %v, want %v", fresh, want)
	}
	again := CutCommands("c1", rules, true)
	want = [][]string{{"-F", "LC-CUT-c1"}, {"-A", "LC-CUT-c1", "-d", "10.244.0.7", "-j", "DROP"}}
	if !reflect.DeepEqual(again, want) {
		t.Errorf("reused cut = %v, want %v", again, want)
	}
	want = [][]string{{"-D", "LC-FAULT", "-j", "LC-CUT-c1"}, {"-F", "LC-CUT-c1"}, {"-X", "LC-CUT-c1"}}
	if got := RemoveCutCommands("c1"); !reflect.DeepEqual(got, want) {
		t.Errorf("remove = %v, want %v", got, want)
	}
	// A host cut's RETURN for the API port sits in its own chain: it ends
	// that chain only, and the API cut after it still drops the port.
	n, _ := NewNetwork("lcbr0", "10.244.0.0/24")
	host := CutCommands("c2", n.PartitionRules(Cut{Host: true}, 6443), false)
	api := CutCommands("c3", n.PartitionRules(Cut{API: true}, 6443), false)
	for _, c := range append(host, api...) {
		if c[0] == "-A" && c[1] == "LC-FAULT" && c[len(c)-1] != "LC-CUT-c2" && c[len(c)-1] != "LC-CUT-c3" {
			t.Errorf("rule %v lands in LC-FAULT itself", c)
		}
	}
}

// TestCutChainsInListing checks the chain ids read back from iptables -S.
func TestCutChainsInListing(t *testing.T) {
	listing := "-P INPUT ACCEPT\n-N LC-FAULT\n-N LC-CUT-c1\n-N LC-CUT-partition\n-A INPUT -j LC-FAULT\n-A LC-FAULT -j LC-CUT-c1\n"
	if got := CutChainsIn(listing); !reflect.DeepEqual(got, []string{"c1", "partition"}) {
		t.Errorf("CutChainsIn = %v", got)
	}
	for id, ok := range map[string]bool{"c1": true, "partition": true, "node": true, "": false, "C1": false, "a b": false, "012345678901234567890123": false} {
		if ValidCutID(id) != ok {
			t.Errorf("ValidCutID(%q) = %v, want %v", id, !ok, ok)
		}
	}
}
