package controllers

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// ------ DISRUPTION BUDGETS ------

// disruptionsAllowed is what the disruption controller computes for a budget
// with an integer minAvailable over healthy selected pods.
func disruptionsAllowed(minAvailable, healthy int) int {
	return max(0, healthy-minAvailable)
}

// TestBuildPDBs checks, for a healthy group, how many evictions each budget
// allows, that no budget uses maxUnavailable or a percentage (which would
// make the disruption controller read the scale subresource, one pod short)
// and that the selectors never select the same pod.
func TestBuildPDBs(t *testing.T) {
	cases := []struct {
		name           string
		replicas       int32
		maxUnavailable *intstr.IntOrString
		// wantReplicaEvictions and wantMasterEvictions on a healthy group.
		wantReplicaEvictions, wantMasterEvictions int
	}{
		{"default: one replica at a time, master never", 2, nil, 1, 0},
		{"maxUnavailable 1 of 4 replicas", 4, ptr.To(intstr.FromInt32(1)), 1, 0},
		{"maxUnavailable 2", 4, ptr.To(intstr.FromInt32(2)), 2, 0},
		{"maxUnavailable 0 blocks every eviction", 2, ptr.To(intstr.FromInt32(0)), 0, 0},
		{"50% of 3 members rounds up to 2", 2, ptr.To(intstr.FromString("50%")), 2, 0},
		{"more than the replicas: all replicas, still not the master", 1, ptr.To(intstr.FromInt32(5)), 1, 0},
		{"lone master may be evicted when a member may be down", 0, nil, 0, 1},
		{"lone master with maxUnavailable 0", 0, ptr.To(intstr.FromInt32(0)), 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rg := testGroup()
			rg.Spec.Replicas = ptr.To(tc.replicas)
			rg.Spec.PodDisruptionBudget.MaxUnavailable = tc.maxUnavailable
			pdbs := buildPDBs(rg)
			if len(pdbs) != 2 {
				t.Fatalf("got %d budgets, want 2", len(pdbs))
			}
			replicaPDB, masterPDB := pdbs[0], pdbs[1]
			if replicaPDB.Name != "cache" || masterPDB.Name != "cache-master" {
				t.Fatalf("names = %s, %s", replicaPDB.Name, masterPDB.Name)
			}
			for _, pdb := range pdbs {
				if pdb.Spec.MaxUnavailable != nil || pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.Type != intstr.Int {
					t.Fatalf("%s: budget %+v must use an integer minAvailable only", pdb.Name, pdb.Spec)
				}
				if pdb.Spec.Selector.MatchLabels[labelGroup] != "cache" {
					t.Errorf("%s: selector %v does not select the group", pdb.Name, pdb.Spec.Selector.MatchLabels)
				}
			}
			if r, m := replicaPDB.Spec.Selector.MatchLabels[labelRole], masterPDB.Spec.Selector.MatchLabels[labelRole]; r != roleReplica || m != roleMaster {
				t.Errorf("role selectors = %q, %q; they must split the members", r, m)
			}
			if got := disruptionsAllowed(replicaPDB.Spec.MinAvailable.IntValue(), int(tc.replicas)); got != tc.wantReplicaEvictions {
				t.Errorf("replica evictions allowed = %d, want %d", got, tc.wantReplicaEvictions)
			}
			if got := disruptionsAllowed(masterPDB.Spec.MinAvailable.IntValue(), 1); got != tc.wantMasterEvictions {
				t.Errorf("master evictions allowed = %d, want %d", got, tc.wantMasterEvictions)
			}
		})
	}
	rg := testGroup()
	rg.Spec.PodDisruptionBudget.Enabled = ptr.To(false)
	if buildPDBs(rg) != nil {
		t.Error("budgets built while disabled")
	}
}

// ------ DRAIN SWITCHOVER ------

// TestDecideSwitchoverRequest is a table of who the failover policy is asked
// to make master when nodes are cordoned.
func TestDecideSwitchoverRequest(t *testing.T) {
	member := func(name string, ord int, offset int64, mut ...func(*observedMember)) observedMember {
		m := observedMember{Name: name, Ordinal: ord, PodExists: true, Ready: true, Reachable: true,
			Role: "slave", MasterHost: "10.0.0.1", LinkUp: true, Offset: offset, PodIP: "10.0.0." + string(rune('1'+ord))}
		for _, f := range mut {
			f(&m)
		}
		return m
	}
	asMaster := func(m *observedMember) { m.Role, m.MasterHost, m.LinkUp = "master", "", false }
	members := []observedMember{
		member("cache-0", 0, 100, asMaster),
		member("cache-1", 1, 90),
		member("cache-2", 2, 100),
	}
	cordoned := func(names ...string) map[string]bool {
		c := map[string]bool{}
		for _, n := range names {
			c[n] = true
		}
		return c
	}
	cases := []struct {
		name string
		in   switchoverRequestInput
		want switchoverRequest
	}{
		{"nothing cordoned, nothing requested",
			switchoverRequestInput{CurrentMaster: "cache-0", Members: members}, switchoverRequest{}},
		{"spec.master is passed on",
			switchoverRequestInput{SpecMaster: "cache-1", CurrentMaster: "cache-0", Members: members}, switchoverRequest{Member: "cache-1"}},
		{"a switchover under way continues",
			switchoverRequestInput{CurrentMaster: "cache-0", SwitchoverTo: "cache-1", Members: members}, switchoverRequest{Member: "cache-1"}},
		{"master cordoned: the most advanced in-sync replica",
			switchoverRequestInput{CurrentMaster: "cache-0", Cordoned: cordoned("cache-0"), Members: members},
			switchoverRequest{Member: "cache-2", Drain: true}},
		{"master and the best replica cordoned: the other one",
			switchoverRequestInput{CurrentMaster: "cache-0", Cordoned: cordoned("cache-0", "cache-2"), Members: members},
			switchoverRequest{Member: "cache-1", Drain: true}},
		{"master pinned by spec.master on a cordoned node still moves",
			switchoverRequestInput{SpecMaster: "cache-0", CurrentMaster: "cache-0", Cordoned: cordoned("cache-0"), Members: members},
			switchoverRequest{Member: "cache-2", Drain: true}},
		{"spec.master on a cordoned node is not switched back to",
			switchoverRequestInput{SpecMaster: "cache-0", CurrentMaster: "cache-2", Cordoned: cordoned("cache-0"),
				Members: []observedMember{member("cache-0", 0, 100), member("cache-1", 1, 100), member("cache-2", 2, 100, asMaster)}},
			switchoverRequest{}},
		{"spec.master elsewhere wins over the drain",
			switchoverRequestInput{SpecMaster: "cache-1", CurrentMaster: "cache-0", Cordoned: cordoned("cache-0"), Members: members},
			switchoverRequest{Member: "cache-1"}},
		{"a switchover under way to a replica on a cordoned node is finished, not abandoned mid-way",
			switchoverRequestInput{SpecMaster: "cache-2", CurrentMaster: "cache-0", SwitchoverTo: "cache-2", Cordoned: cordoned("cache-2"), Members: members},
			switchoverRequest{Member: "cache-2"}},
		{"no replica in sync: wait (the master's budget keeps refusing the eviction)",
			switchoverRequestInput{CurrentMaster: "cache-0", Cordoned: cordoned("cache-0"), Members: []observedMember{
				member("cache-0", 0, 100, asMaster),
				member("cache-1", 1, 90, func(m *observedMember) { m.LinkUp = false }),
				member("cache-2", 2, 100, func(m *observedMember) { m.Ready = false }),
			}}, switchoverRequest{}},
		{"replica following something else is no target",
			switchoverRequestInput{CurrentMaster: "cache-0", Cordoned: cordoned("cache-0"), Members: []observedMember{
				member("cache-0", 0, 100, asMaster),
				member("cache-1", 1, 100, func(m *observedMember) { m.MasterHost = "10.9.9.9" }),
			}}, switchoverRequest{}},
		{"lone master: nowhere to go",
			switchoverRequestInput{CurrentMaster: "cache-0", Cordoned: cordoned("cache-0"), Members: members[:1]}, switchoverRequest{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := decideSwitchoverRequest(tc.in); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
