package v1alpha1

import (
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
