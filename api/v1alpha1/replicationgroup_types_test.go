package v1alpha1

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
)

// TestSpecDefaultsInGo covers the accessors used on objects that never went
// through the API server's defaulting.
func TestSpecDefaultsInGo(t *testing.T) {
	var s ReplicationGroupSpec
	if s.DesiredReplicas() != 2 || !s.FailoverEnabled() || !s.PDBEnabled() {
		t.Fatalf("zero spec: replicas %d failover %v pdb %v", s.DesiredReplicas(), s.FailoverEnabled(), s.PDBEnabled())
	}
	zero, off := int32(0), false
	s.Replicas, s.Failover.Enabled, s.PodDisruptionBudget.Enabled = &zero, &off, &off
	if s.DesiredReplicas() != 0 || s.FailoverEnabled() || s.PDBEnabled() {
		t.Fatalf("explicit spec: replicas %d failover %v pdb %v", s.DesiredReplicas(), s.FailoverEnabled(), s.PDBEnabled())
	}
}

// TestAddToScheme registers both kinds under replnode.io/v1alpha1.
func TestAddToScheme(t *testing.T) {
	s := runtime.NewScheme()
	if err := AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"ReplicationGroup", "ReplicationGroupList"} {
		if !s.Recognizes(GroupVersion.WithKind(kind)) {
			t.Errorf("%s not registered", kind)
		}
	}
}

// TestTopologySpreadConstraintsKeepsEmptyList: spec.topologySpreadConstraints
// distinguishes unset (the operator's defaults) from an explicit empty list
// (no spreading). A client that reads the object and writes it back whole
// must keep that distinction: unset goes out as null (which the API server
// drops from a non-nullable field, so it stays unset), and [] as [], never
// dropped the way omitempty would drop it.
func TestTopologySpreadConstraintsKeepsEmptyList(t *testing.T) {
	for _, tc := range []struct {
		name, in, out string
		wantNil       bool
	}{
		{"unset", `{}`, `"topologySpreadConstraints":null`, true},
		{"empty", `{"topologySpreadConstraints":[]}`, `"topologySpreadConstraints":[]`, false},
	} {
		var spec ReplicationGroupSpec
		if err := json.Unmarshal([]byte(tc.in), &spec); err != nil {
			t.Fatal(err)
		}
		if (spec.TopologySpreadConstraints == nil) != tc.wantNil {
			t.Errorf("%s: decoded as %#v", tc.name, spec.TopologySpreadConstraints)
		}
		// The copy a controller-runtime cache hands out.
		copied := spec.DeepCopy()
		out, err := json.Marshal(copied)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), tc.out) {
			t.Errorf("%s: written back as %s, want it to contain %s", tc.name, out, tc.out)
		}
	}
}
