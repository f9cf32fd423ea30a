// Package v1alpha1 owns the replnode.io/v1alpha1 API: the ReplicationGroup
// kind (one master plus N replicas of the replnode server), its spec with
// OpenAPI and CEL validation markers and defaults, and its status.
//
// It must not hold reconcile logic or talk to the cluster; CRDs and DeepCopy
// methods are generated from these types by controller-gen (`make manifests
// generate`), never written by hand.
//
// +kubebuilder:object:generate=true
// +groupName=replnode.io
package v1alpha1
