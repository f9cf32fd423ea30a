package controllers

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

// ------ PLACEMENT: TOPOLOGY SPREAD CONSTRAINTS ------

// replicaPod builds member 1 of rg as a replica (the builder tests' usual pod).
func replicaPod(rg *replnodev1alpha1.ReplicationGroup) *corev1.Pod {
	return buildPod(rg, podParams{Ordinal: 1, Role: roleReplica, MasterHost: "10.0.0.1", ConfigHash: "h"})
}

// selects reports whether the constraint's labelSelector selects pod.
func selects(t *testing.T, c corev1.TopologySpreadConstraint, pod *corev1.Pod) bool {
	t.Helper()
	sel, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
	if err != nil {
		t.Fatalf("constraint %s: bad labelSelector %+v: %v", c.TopologyKey, c.LabelSelector, err)
	}
	return !sel.Empty() && sel.Matches(labels.Set(pod.Labels))
}

// TestTopologySpreadDefaults: with spec.topologySpreadConstraints unset, a
// member spreads over nodes and zones, maxSkew 1, ScheduleAnyway (so a
// replacement always schedules and an unlabelled cluster is not filtered
// out), counting exactly its own group's members: the selector picks every
// role of this group and none of another group's pods.
func TestTopologySpreadDefaults(t *testing.T) {
	rg := testGroup()
	pod := replicaPod(rg)
	master := buildPod(rg, podParams{Ordinal: 0, Role: roleMaster, ConfigHash: "h"})
	other := testGroup()
	other.Name = "sessions"
	otherPod := replicaPod(other)

	got := pod.Spec.TopologySpreadConstraints
	if len(got) != 2 {
		t.Fatalf("want the node and zone defaults, got %d constraints: %+v", len(got), got)
	}
	for i, key := range []string{corev1.LabelHostname, corev1.LabelTopologyZone} {
		c := got[i]
		if c.TopologyKey != key || c.MaxSkew != 1 || c.WhenUnsatisfiable != corev1.ScheduleAnyway {
			t.Errorf("default constraint %d = %s maxSkew %d %s, want %s maxSkew 1 ScheduleAnyway", i, c.TopologyKey, c.MaxSkew, c.WhenUnsatisfiable, key)
		}
		if c.MinDomains != nil {
			t.Errorf("default constraint %s sets minDomains, which only DoNotSchedule allows", key)
		}
		if !selects(t, c, pod) || !selects(t, c, master) {
			t.Errorf("default constraint %s does not count the group's own members: %+v", key, c.LabelSelector)
		}
		if selects(t, c, otherPod) {
			t.Errorf("default constraint %s counts another group's pods: %+v", key, c.LabelSelector)
		}
	}
	// The default pod anti-affinity stays: on a cluster without zone
	// labels it is what spreads members over nodes.
	if pod.Spec.Affinity == nil || pod.Spec.Affinity.PodAntiAffinity == nil {
		t.Error("the default anti-affinity is gone")
	}
}

// TestTopologySpreadOverride: a list in the spec replaces the defaults as
// given; a constraint without a labelSelector gets the group's; one with
// its own keeps it; an explicit empty list turns spreading off. The pod gets
// copies: building it never changes the spec.
func TestTopologySpreadOverride(t *testing.T) {
	rg := testGroup()
	own := &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "cache"}}
	rg.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{
		{MaxSkew: 1, TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.DoNotSchedule, MinDomains: ptr.To[int32](3)},
		{MaxSkew: 2, TopologyKey: "example.com/rack", WhenUnsatisfiable: corev1.ScheduleAnyway, LabelSelector: own},
	}
	pod := replicaPod(rg)
	got := pod.Spec.TopologySpreadConstraints
	if len(got) != 2 {
		t.Fatalf("want the spec's 2 constraints instead of the defaults, got %+v", got)
	}
	if got[0].TopologyKey != corev1.LabelTopologyZone || got[0].WhenUnsatisfiable != corev1.DoNotSchedule || got[0].MinDomains == nil || *got[0].MinDomains != 3 {
		t.Errorf("first constraint not taken as given: %+v", got[0])
	}
	if !selects(t, got[0], pod) {
		t.Errorf("a constraint without a labelSelector does not count the group's members: %+v", got[0].LabelSelector)
	}
	if got[1].TopologyKey != "example.com/rack" || got[1].MaxSkew != 2 || got[1].LabelSelector.MatchLabels["tier"] != "cache" || len(got[1].LabelSelector.MatchLabels) != 1 {
		t.Errorf("a constraint with its own labelSelector was changed: %+v", got[1])
	}
	if rg.Spec.TopologySpreadConstraints[0].LabelSelector != nil {
		t.Error("building the pod wrote the group's selector into the spec")
	}
	got[1].LabelSelector.MatchLabels["tier"] = "changed"
	if own.MatchLabels["tier"] != "cache" {
		t.Error("the pod shares the spec's labelSelector instead of a copy")
	}

	rg.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{}
	if got := replicaPod(rg).Spec.TopologySpreadConstraints; len(got) != 0 {
		t.Errorf("an explicit empty list must turn spreading off, got %+v", got)
	}
}

// TestTemplateHashTopologySpread: setting, changing, emptying or unsetting
// spec.topologySpreadConstraints changes the template hash, so the rolling
// update picks it up; the same list twice gives the same hash on every
// member.
func TestTemplateHashTopologySpread(t *testing.T) {
	hash := func(c []corev1.TopologySpreadConstraint) string {
		rg := testGroup()
		rg.Spec.TopologySpreadConstraints = c
		return replicaPod(rg).Annotations[annotationTemplateHash]
	}
	zone := func(skew int32) []corev1.TopologySpreadConstraint {
		return []corev1.TopologySpreadConstraint{{MaxSkew: skew, TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.DoNotSchedule}}
	}
	// The defaults spelled out are a setting like any other: they differ
	// from "unset" in the hash (applying them rolls once), by design.
	rg := testGroup()
	spelled := replicaPod(rg).Spec.TopologySpreadConstraints
	for i := range spelled {
		spelled[i].LabelSelector = nil
	}
	variants := map[string]string{
		"unset":            hash(nil),
		"empty":            hash([]corev1.TopologySpreadConstraint{}),
		"zone maxSkew 1":   hash(zone(1)),
		"zone maxSkew 2":   hash(zone(2)),
		"defaults spelled": hash(spelled),
	}
	seen := map[string]string{}
	for name, h := range variants {
		if prev, ok := seen[h]; ok {
			t.Errorf("%q and %q have the same template hash %s: changing one into the other would not roll", prev, name, h)
		}
		seen[h] = name
	}
	if hash(zone(1)) != variants["zone maxSkew 1"] {
		t.Error("the same constraints hash differently")
	}
	rg.Spec.TopologySpreadConstraints = zone(1)
	master := buildPod(rg, podParams{Ordinal: 0, Role: roleMaster, ConfigHash: "h"})
	if master.Annotations[annotationTemplateHash] != variants["zone maxSkew 1"] {
		t.Error("master and replica of the same spec have different template hashes")
	}
}

// TestTemplateHashStableAcrossUpgrade pins the template hash of two groups
// that leave spec.topologySpreadConstraints unset to the values the
// operator computed before it had placement defaults. Pods carry that hash;
// if an upgrade of the operator changes it, every existing group rolls at
// once. If this fails because the pod template changed on purpose, every
// group will roll on upgrade: say so in the release notes and docs, then
// update the values.
func TestTemplateHashStableAcrossUpgrade(t *testing.T) {
	rg := testGroup()
	// The values changed once on purpose: the pods gained
	// REPLNODE_REPLICA_KEEP_NEWER_DATA (docs/failover.md, "Keeping newer
	// data"), so upgrading to that operator rolls every group once.
	if got, want := replicaPod(rg).Annotations[annotationTemplateHash], "e653232a4fcaa2eb"; got != want {
		t.Errorf("template hash of the plain group = %s, want %s (from before the placement defaults)", got, want)
	}
	rg.Spec.Storage = &replnodev1alpha1.StorageSpec{Size: resource.MustParse("1Gi")}
	rg.Spec.Auth = &replnodev1alpha1.AuthSpec{SecretName: "pw"}
	rg.Spec.Metrics.Enabled = true
	rg.Spec.PodLabels = map[string]string{"team": "a"}
	rg.Spec.PodAnnotations = map[string]string{"note": "b"}
	full := buildPod(rg, podParams{Ordinal: 2, Role: roleMaster, ConfigHash: "h2"})
	if got, want := full.Annotations[annotationTemplateHash], "e4834e75f45422df"; got != want {
		t.Errorf("template hash of the group with storage, auth, metrics, labels = %s, want %s (from before the placement defaults)", got, want)
	}
	if len(full.Spec.TopologySpreadConstraints) != 2 {
		t.Errorf("the pod lacks the default constraints the hash leaves out: %+v", full.Spec.TopologySpreadConstraints)
	}
}

// TestTopologySpreadChangeRollsMasterLast drives the topology decision
// through a whole rolling update caused by a change of
// spec.topologySpreadConstraints, with the hashes the builder computes:
// each replica is recreated in turn, the master moves by a switchover, and
// the old master is recreated only once it is a replica. No member is ever
// deleted while it is master.
func TestTopologySpreadChangeRollsMasterLast(t *testing.T) {
	rg := testGroup()
	oldHash := replicaPod(rg).Annotations[annotationTemplateHash]
	rg.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{
		{MaxSkew: 1, TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.DoNotSchedule}}
	newHash := replicaPod(rg).Annotations[annotationTemplateHash]
	if oldHash == newHash {
		t.Fatal("changing spec.topologySpreadConstraints does not change the template hash")
	}
	mip := "10.0.0.1"
	members := []observedMember{up("g-0", 0, "master", "", 5), up("g-1", 1, "slave", mip, 5), up("g-2", 2, "slave", mip, 5)}
	for i := range members {
		members[i].TemplateHash = oldHash
	}
	master := "g-0"
	var steps []string
	for range 10 {
		in := topologyInput{DesiredReplicas: 2, CurrentMaster: master, TargetMaster: master, TemplateHash: newHash,
			Members: members, MemberName: func(i int) string { return fmt.Sprintf("g-%d", i) }}
		acts := decideTopology(in)
		if len(acts) == 0 {
			break
		}
		a := acts[0]
		switch a.Kind {
		case topoDeletePod:
			if a.Member == master {
				t.Fatalf("the master %s is deleted while it is master; steps so far: %v", master, steps)
			}
			for i := range members {
				if members[i].Name == a.Member {
					members[i].TemplateHash = newHash // recreated from the new template, back and caught up
				}
			}
			steps = append(steps, "recreate "+a.Member)
		case topoSwitchover:
			newIP := ""
			for i := range members {
				if members[i].Name == a.Member {
					newIP = members[i].PodIP
				}
			}
			for i := range members {
				m := &members[i]
				if m.Name == a.Member {
					*m = withHash(up(m.Name, m.Ordinal, "master", "", 5), m.TemplateHash)
				} else {
					*m = withHash(up(m.Name, m.Ordinal, "slave", newIP, 5), m.TemplateHash)
				}
			}
			master = a.Member
			steps = append(steps, "switchover to "+a.Member)
		default:
			t.Fatalf("unexpected action %s during the rolling update; steps so far: %v", a, steps)
		}
	}
	want := "recreate g-2, recreate g-1, switchover to g-1, recreate g-0"
	if got := strings.Join(steps, ", "); got != want {
		t.Errorf("rolling update steps:\n got: %s\nwant: %s", got, want)
	}
	for _, m := range members {
		if m.TemplateHash != newHash {
			t.Errorf("%s still runs the old template after the rollout", m.Name)
		}
	}
}

// withHash returns m with the given template hash.
func withHash(m observedMember, hash string) observedMember {
	m.TemplateHash = hash
	return m
}
