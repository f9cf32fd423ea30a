// Package chart holds the tests of the Helm charts in charts/: they run the
// pinned bin/helm (building it with `make helm` when it is missing) to lint
// and render the charts, then check the rendered objects — resources
// present, the restricted Pod Security Standard, leader election, the
// ClusterRole/Role switch, schema rejections, the CRD and RBAC copies against
// config/ (drift), and that every RBAC rule is backed by a +kubebuilder:rbac
// marker in controllers/ and grants nothing dangerous.
//
// It owns only tests. It must not change charts/ or config/ (tests read
// them), and it needs no cluster: `helm template` renders offline.
package chart
