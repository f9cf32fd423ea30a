// Package podnet owns the local cluster's pod network: one Linux bridge on
// the host with the gateway address, and one network namespace per pod joined
// to it by a veth pair, plus the firewall rules that fault injection puts in a
// pod's namespace.
//
// It must not touch interfaces or namespaces it did not create: pod
// namespaces are named "lc-<bridge>-<hash>", so two clusters with different
// bridges never clean up each other's, and cleanup removes only the
// namespaces with its own prefix, the veths attached to its own bridge, and
// the bridge. All work is done by the iproute2 and iptables tools, run as root.
package podnet

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Network describes the bridge and the pod address range behind it.
type Network struct {
	Bridge  string     // bridge interface name, e.g. lcbr0
	Subnet  *net.IPNet // pod range, e.g. 10.244.0.0/24
	Gateway net.IP     // the bridge's own address: first host of Subnet
}

// NewNetwork parses cidr and returns the network with the bridge named
// bridge and the gateway at the subnet's first host address.
func NewNetwork(bridge, cidr string) (*Network, error) {
	_, subnet, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil, fmt.Errorf("podnet: pod CIDR %q: %w", cidr, err)
	}
	if subnet.IP.To4() == nil {
		return nil, fmt.Errorf("podnet: pod CIDR %q must be IPv4", cidr)
	}
	if ones, _ := subnet.Mask.Size(); ones > 28 {
		return nil, fmt.Errorf("podnet: pod CIDR %q is too small", cidr)
	}
	if len(bridge) == 0 || len(bridge) > 15 {
		return nil, fmt.Errorf("podnet: bridge name %q must be 1..15 characters", bridge)
	}
	return &Network{Bridge: bridge, Subnet: subnet, Gateway: nthHost(subnet, 1)}, nil
}

// nthHost returns the n-th address of subnet (0 is the network address).
func nthHost(subnet *net.IPNet, n int) net.IP {
	base := subnet.IP.To4()
	v := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	v += uint32(n)
	return net.IPv4(byte(v>>24), byte(v>>16), byte(v>>8), byte(v)).To4()
}

// size returns the number of addresses in the subnet.
func (n *Network) size() int {
	ones, bits := n.Subnet.Mask.Size()
	return 1 << (bits - ones)
}

// prefixLen returns the subnet's prefix length.
func (n *Network) prefixLen() int {
	ones, _ := n.Subnet.Mask.Size()
	return ones
}

// ------ COMMANDS ------

// run executes a command and returns a clear error with its output on failure.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// linkExists reports whether a network interface of that name exists in
// the host namespace. Any lookup error means it cannot be used or deleted.
func linkExists(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}

// ------ BRIDGE ------

// EnsureBridge creates the bridge with the gateway address and brings it up;
// an existing bridge with that name is reused.
func (n *Network) EnsureBridge() error {
	if _, err := net.InterfaceByName(n.Bridge); err != nil {
		if err := run("ip", "link", "add", n.Bridge, "type", "bridge"); err != nil {
			return err
		}
	}
	addr := fmt.Sprintf("%s/%d", n.Gateway, n.prefixLen())
	if out, _ := exec.Command("ip", "-o", "addr", "show", "dev", n.Bridge).Output(); !strings.Contains(string(out), " "+addr+" ") {
		if err := run("ip", "addr", "add", addr, "dev", n.Bridge); err != nil {
			return err
		}
	}
	// Bridged traffic must not go through the host's iptables (br_netfilter);
	// the pods' own namespaces hold the fault rules.
	_ = os.WriteFile("/proc/sys/net/bridge/bridge-nf-call-iptables", []byte("0"), 0o644)
	return run("ip", "link", "set", n.Bridge, "up")
}

// DeleteBridge removes the bridge if it exists.
func (n *Network) DeleteBridge() error {
	if !linkExists(n.Bridge) {
		return nil
	}
	return run("ip", "link", "del", n.Bridge)
}

// ------ POD NAMESPACES ------

// NamespacePrefix is the name prefix of every pod netns of this network.
func (n *Network) NamespacePrefix() string { return "lc-" + n.Bridge + "-" }

// NamespaceName returns the netns name used for a pod UID
// ("lc-<bridge>-" + 12 hex).
func (n *Network) NamespaceName(podUID string) string {
	sum := sha256.Sum256([]byte(podUID))
	return n.NamespacePrefix() + hex.EncodeToString(sum[:6])
}

// NamespacePath returns the bind-mounted path of a named netns.
func NamespacePath(name string) string { return "/run/netns/" + name }

// hostVeth returns the host-side veth name for a netns ("lcv" + 12 hex).
func hostVeth(nsName string) string { return "lcv" + shortHash(nsName) }

// peerVeth returns the pod-side veth name before it is renamed to eth0.
func peerVeth(nsName string) string { return "lcp" + shortHash(nsName) }

// shortHash returns 12 hex digits of the SHA-256 of s.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}

// Allocator hands out pod addresses from the subnet, skipping the network,
// gateway and broadcast addresses. It is safe for concurrent use.
type Allocator struct {
	mu    sync.Mutex
	net   *Network
	inUse map[string]string // ip -> owner
	next  int
}

// NewAllocator returns an allocator for n with nothing in use.
func NewAllocator(n *Network) *Allocator {
	return &Allocator{net: n, inUse: map[string]string{}, next: 2}
}

// Allocate returns a free address for owner, reusing owner's address if it
// already has one; it fails when the subnet is exhausted.
func (a *Allocator) Allocate(owner string) (net.IP, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for ip, o := range a.inUse {
		if o == owner {
			return net.ParseIP(ip).To4(), nil
		}
	}
	size := a.net.size()
	for i := 0; i < size-3; i++ {
		idx := 2 + (a.next-2+i)%(size-3)
		ip := nthHost(a.net.Subnet, idx)
		if _, taken := a.inUse[ip.String()]; !taken {
			a.inUse[ip.String()] = owner
			a.next = idx + 1
			return ip, nil
		}
	}
	return nil, fmt.Errorf("podnet: no free address left in %s", a.net.Subnet)
}

// Release frees the address held by owner, if any.
func (a *Allocator) Release(owner string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for ip, o := range a.inUse {
		if o == owner {
			delete(a.inUse, ip)
		}
	}
}

// CreatePodNamespace creates the named netns with loopback up and an eth0
// holding ip on the bridge, default route via the gateway. A leftover netns
// of the same name is removed first.
func (n *Network) CreatePodNamespace(nsName string, ip net.IP) error {
	_ = n.DeletePodNamespace(nsName)
	veth := hostVeth(nsName)
	peer := peerVeth(nsName)
	steps := [][]string{
		{"netns", "add", nsName},
		{"link", "add", veth, "type", "veth", "peer", "name", peer},
		{"link", "set", peer, "netns", nsName},
		{"link", "set", veth, "master", n.Bridge},
		{"link", "set", veth, "up"},
		{"-n", nsName, "link", "set", "lo", "up"},
		{"-n", nsName, "link", "set", peer, "name", "eth0"},
		{"-n", nsName, "addr", "add", fmt.Sprintf("%s/%d", ip, n.prefixLen()), "dev", "eth0"},
		{"-n", nsName, "link", "set", "eth0", "up"},
		{"-n", nsName, "route", "add", "default", "via", n.Gateway.String()},
	}
	for _, s := range steps {
		if err := run("ip", s...); err != nil {
			_ = n.DeletePodNamespace(nsName)
			return err
		}
	}
	return nil
}

// DeletePodNamespace removes the netns and its host veth; missing ones are fine.
func (n *Network) DeletePodNamespace(nsName string) error {
	var errs []error
	if _, err := net.InterfaceByName(hostVeth(nsName)); err == nil {
		if err := run("ip", "link", "del", hostVeth(nsName)); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := os.Stat(NamespacePath(nsName)); err == nil {
		if err := run("ip", "netns", "del", nsName); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// PodNamespaces lists the existing pod netns names of this network.
func (n *Network) PodNamespaces() []string {
	var names []string
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), n.NamespacePrefix()) {
			names = append(names, e.Name())
		}
	}
	return names
}

// CleanupAll removes this network's pod namespaces, any veth still attached
// to its bridge, then the bridge: what a dead run leaves behind.
func (n *Network) CleanupAll() error {
	var errs []error
	for _, name := range n.PodNamespaces() {
		if err := n.DeletePodNamespace(name); err != nil {
			errs = append(errs, err)
		}
	}
	ifaces, _ := net.Interfaces()
	for _, ifc := range ifaces {
		master, err := os.Readlink("/sys/class/net/" + ifc.Name + "/master")
		if err == nil && strings.HasPrefix(ifc.Name, "lcv") && filepath.Base(master) == n.Bridge {
			if err := run("ip", "link", "del", ifc.Name); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := n.DeleteBridge(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ------ FAULTS: FIREWALL RULES IN A POD'S NAMESPACE ------

// faultChain is the iptables chain in a pod's netns that holds fault rules.
const faultChain = "LC-FAULT"

// Cut says what a partition cuts a pod off from. The host is the host side
// of the bridge (the gateway address: an operator running on the host, the
// agent's probes, kubectl from the host); the API server is the agent's proxy
// on the gateway's API port, so cutting the host alone leaves that port open
// and the two can be cut separately.
type Cut struct {
	Pods bool // the other pods on the bridge
	API  bool // the API server (gateway, API port)
	Host bool // the host: every other gateway address and port
}

// Empty reports whether the cut cuts nothing.
func (c Cut) Empty() bool { return !c.Pods && !c.API && !c.Host }

// String describes the cut for messages ("the other pods and the host").
func (c Cut) String() string {
	var parts []string
	if c.Pods {
		parts = append(parts, "the other pods")
	}
	if c.API {
		parts = append(parts, "the API server")
	}
	if c.Host {
		parts = append(parts, "the host")
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, " and ")
}

// ParseCut parses the CLI's -from value: a comma-separated list of pods,
// api and host; "all" means pods and api (the host still reaches the pod,
// as before host partitions existed), so "all,host" cuts everything.
func ParseCut(s string) (Cut, error) {
	var c Cut
	for _, part := range strings.Split(s, ",") {
		switch strings.TrimSpace(part) {
		case "pods":
			c.Pods = true
		case "api":
			c.API = true
		case "host":
			c.Host = true
		case "all":
			c.Pods, c.API = true, true
		default:
			return Cut{}, fmt.Errorf("podnet: cannot cut a pod off from %q (want pods, api, host or all, comma-separated)", part)
		}
	}
	return c, nil
}

// PartitionRules returns the iptables rule specs (without the -A CHAIN
// prefix) that cut a pod off from what cut names, the API server being at
// the gateway's apiPort. Order matters: the host rules come before the pod
// rules, whose first two rules let gateway traffic through.
func (n *Network) PartitionRules(cut Cut, apiPort int) [][]string {
	var rules [][]string
	gw := n.Gateway.String()
	p := strconv.Itoa(apiPort)
	if cut.API {
		rules = append(rules,
			[]string{"-d", gw, "-p", "tcp", "--dport", p, "-j", "DROP"},
			[]string{"-s", gw, "-p", "tcp", "--sport", p, "-j", "DROP"})
	}
	if cut.Host {
		if !cut.API {
			// Cutting the operator must not also cut the pod's own API access.
			rules = append(rules,
				[]string{"-d", gw, "-p", "tcp", "--dport", p, "-j", "RETURN"},
				[]string{"-s", gw, "-p", "tcp", "--sport", p, "-j", "RETURN"})
		}
		rules = append(rules,
			[]string{"-s", gw, "-j", "DROP"},
			[]string{"-d", gw, "-j", "DROP"})
	}
	if cut.Pods {
		sub := n.Subnet.String()
		rules = append(rules,
			[]string{"-s", gw, "-j", "RETURN"},
			[]string{"-d", gw, "-j", "RETURN"},
			[]string{"-s", sub, "-d", sub, "-j", "DROP"})
	}
	return rules
}

// Direction says which way a cut between a pod and a peer drops packets.
type Direction string

// The directions of a peer cut, seen from the pod whose namespace holds
// the rules. A one-way cut still breaks TCP both ways (the handshake needs
// both), but it shows which side keeps sending: Jepsen's asymmetric links.
const (
	Both     Direction = "both" // nothing passes between the pod and the peer
	Outgoing Direction = "out"  // the pod's packets to the peer are dropped
	Incoming Direction = "in"   // the peer's packets to the pod are dropped
)

// ParseDirection parses the CLI's -dir value; empty means Both.
func ParseDirection(s string) (Direction, error) {
	switch d := Direction(strings.TrimSpace(s)); d {
	case "":
		return Both, nil
	case Both, Outgoing, Incoming:
		return d, nil
	}
	return "", fmt.Errorf("podnet: direction %q (want both, out or in)", s)
}

// PeerRules returns the rule specs, for the pod's own namespace, that drop
// traffic between the pod and the peer address in the given direction. The
// fault chain is hooked into INPUT and OUTPUT, so "-d peer" matches only
// what the pod sends and "-s peer" only what it receives.
func PeerRules(peer net.IP, dir Direction) [][]string {
	ip := peer.String()
	var rules [][]string
	if dir == Both || dir == Outgoing {
		rules = append(rules, []string{"-d", ip, "-j", "DROP"})
	}
	if dir == Both || dir == Incoming {
		rules = append(rules, []string{"-s", ip, "-j", "DROP"})
	}
	return rules
}

// cutChainPrefix starts the name of every per-cut chain; a chain name must
// stay within iptables' 28 characters.
const cutChainPrefix = "LC-CUT-"

// CutChain returns the chain holding the rules of cut id in a pod's netns.
func CutChain(id string) string { return cutChainPrefix + id }

// ValidCutID reports whether id can name a cut (and so a chain).
func ValidCutID(id string) bool {
	if id == "" || len(cutChainPrefix)+len(id) > 28 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// CutCommands returns the iptables argument lists that install rules as
// cut id in a namespace whose LC-FAULT chain exists: a chain of its own
// (created, or emptied when the id is reused) jumped to from LC-FAULT. A
// RETURN in one cut's rules then ends only that cut, so cuts add up: a
// packet passes only if no cut drops it.
func CutCommands(id string, rules [][]string, chainExists bool) [][]string {
	chain := CutChain(id)
	var cmds [][]string
	if chainExists {
		cmds = append(cmds, []string{"-F", chain})
	} else {
		cmds = append(cmds, []string{"-N", chain}, []string{"-A", faultChain, "-j", chain})
	}
	for _, r := range rules {
		cmds = append(cmds, append([]string{"-A", chain}, r...))
	}
	return cmds
}

// RemoveCutCommands returns the iptables argument lists that remove cut id:
// the jump from LC-FAULT, then the chain's rules and the chain.
func RemoveCutCommands(id string) [][]string {
	chain := CutChain(id)
	return [][]string{{"-D", faultChain, "-j", chain}, {"-F", chain}, {"-X", chain}}
}

// CutChainsIn returns the ids of the cut chains named in the output of
// "iptables -S" (lines "-N LC-CUT-<id>").
func CutChainsIn(listing string) []string {
	var ids []string
	for _, line := range strings.Split(listing, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "-N" && strings.HasPrefix(f[1], cutChainPrefix) {
			ids = append(ids, strings.TrimPrefix(f[1], cutChainPrefix))
		}
	}
	return ids
}

// iptablesIn runs iptables inside the named netns.
func iptablesIn(nsName string, args ...string) error {
	return run("ip", append([]string{"netns", "exec", nsName, "iptables", "-w"}, args...)...)
}

// faultChainExists reports whether the pod's netns has the LC-FAULT chain,
// which exists only once a fault was injected. A failing listing (no such
// chain, or no such netns) counts as absent: there is nothing to heal then.
func faultChainExists(nsName string) bool {
	return iptablesIn(nsName, "-L", faultChain, "-n") == nil
}

// ensureFaultChain creates LC-FAULT and hooks it into INPUT and OUTPUT once.
func ensureFaultChain(nsName string) error {
	if faultChainExists(nsName) {
		return nil
	}
	if err := iptablesIn(nsName, "-N", faultChain); err != nil {
		return err
	}
	if err := iptablesIn(nsName, "-I", "INPUT", "-j", faultChain); err != nil {
		return err
	}
	return iptablesIn(nsName, "-I", "OUTPUT", "-j", faultChain)
}

// AddCut installs rules as cut id in the pod's netns, replacing an earlier
// cut of the same id there and leaving every other cut in place.
func (n *Network) AddCut(nsName, id string, rules [][]string) error {
	if !ValidCutID(id) {
		return fmt.Errorf("podnet: bad cut id %q", id)
	}
	if len(rules) == 0 {
		return errors.New("podnet: a cut needs at least one rule")
	}
	if err := ensureFaultChain(nsName); err != nil {
		return err
	}
	exists := iptablesIn(nsName, "-L", CutChain(id), "-n") == nil
	for _, c := range CutCommands(id, rules, exists) {
		if err := iptablesIn(nsName, c...); err != nil {
			return err
		}
	}
	return nil
}

// RemoveCut removes cut id from the pod's netns; a missing cut is fine.
func (n *Network) RemoveCut(nsName, id string) error {
	if iptablesIn(nsName, "-L", CutChain(id), "-n") != nil {
		return nil
	}
	for _, c := range RemoveCutCommands(id) {
		if err := iptablesIn(nsName, c...); err != nil {
			return err
		}
	}
	return nil
}

// partitionCut is the cut id of Partition, the pod's one whole-pod partition.
const partitionCut = "partition"

// isolateCut is the cut id of Isolate (a stopped node).
const isolateCut = "node"

// Partition installs the rules of cut in the pod's netns, replacing the
// pod's earlier Partition (other cuts stay).
func (n *Network) Partition(nsName string, cut Cut, apiPort int) error {
	if cut.Empty() {
		return errors.New("podnet: a partition must cut the pod off from the pods, the API server, the host or a mix")
	}
	return n.AddCut(nsName, partitionCut, n.PartitionRules(cut, apiPort))
}

// IsolateRules are the rule specs that drop all of a pod's traffic except
// its loopback: what a vanished machine looks like from outside.
func IsolateRules() [][]string {
	return [][]string{
		{"-s", "127.0.0.0/8", "-j", "RETURN"},
		{"-d", "127.0.0.0/8", "-j", "RETURN"},
		{"-j", "DROP"},
	}
}

// Isolate cuts the pod's netns off from everything, the host included, on
// top of its other cuts.
func (n *Network) Isolate(nsName string) error {
	return n.AddCut(nsName, isolateCut, IsolateRules())
}

// Unisolate undoes Isolate, leaving the pod's other cuts in place.
func (n *Network) Unisolate(nsName string) error {
	return n.RemoveCut(nsName, isolateCut)
}

// Heal removes every fault rule and cut chain from the pod's netns.
func (n *Network) Heal(nsName string) error {
	if !faultChainExists(nsName) {
		return nil // never partitioned
	}
	if err := iptablesIn(nsName, "-F", faultChain); err != nil {
		return err
	}
	out, err := exec.Command("ip", "netns", "exec", nsName, "iptables", "-w", "-S").Output()
	if err != nil {
		return fmt.Errorf("podnet: list rules in %s: %w", nsName, err)
	}
	var errs []error
	for _, id := range CutChainsIn(string(out)) {
		if err := iptablesIn(nsName, "-F", CutChain(id)); err != nil {
			errs = append(errs, err)
		} else if err := iptablesIn(nsName, "-X", CutChain(id)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
