// Package chart holds the tests of the Helm charts in charts/: they run the
// pinned bin/helm (building it with `make helm` when it is missing) to lint
// and render the charts, then check the rendered objects — resources
// present, the restricted Pod Security Standard, leader election, the
// ClusterRole/Role switch, schema rejections, the CRD and RBAC copies against
// config/ (drift), and that every RBAC rule is backed by a +kubebuilder:rbac
// marker in controllers/ and grants nothing dangerous.
//
// Two tests go further when the source-built control plane is available:
// one applies the rendered charts to envtest (server-side validation, the
// restricted Pod Security admission, helm install/upgrade/uninstall keeping
// and upgrading the CRD); as root, another brings up its own three-node
// local cluster (hack/localcluster) and follows the chart's whole life with
// the real manager: hack/chart/demo-install.sh with two operator replicas
// (both Ready, one holds the lease); config/samples applied afterwards in
// another namespace reaches Ready (the chart's RBAC is enough); `helm
// upgrade --reuse-values --set operator.logLevel=debug` rolls the operator
// to a new ReplicaSet whose pods are Ready and take the lease while the
// group stays Ready; `helm upgrade` again in the middle of a failover (the
// master killed under a WAIT-acknowledged writer, the promotion held until
// the upgraded pods lead) is resumed from status by the new operator with
// one promotion and no acknowledged write lost; `helm uninstall` removes the operator and leaves the
// CRD, the group, its pods and its PVCs (same UIDs). On a failure it prints
// `kubectl describe rg`, the pods and PVCs and the operator pods' logs.
//
// It owns only tests. It must not change charts/ or config/ (tests read
// them); the clusters it starts are its own (own state directory, bridge
// lcchart0 and pod range 10.247.0.0/24, overridable with CHART_TEST_BRIDGE
// and CHART_TEST_POD_CIDR so two checkouts can run it at once) and are torn
// down by the test.
package chart
