// Package e2e is replnode's end-to-end suite: on a local cluster of its own
// (hack/localcluster, own bridge, pod range and state directory) it runs the
// real operator (bin/manager, as a host process) and real replnode server
// processes as pods, applies config/samples and checks what a user relies on:
// the group comes up as a master and two replicas that really replicate;
// repeated master kills and pod deletions lose no write acknowledged with
// WAIT, never leave two writable masters and cause no full resyncs of the
// other replicas; a stopped node fails over and its master returns as a
// replica; a switchover (spec.master) loses nothing; an operator cut off
// from a healthy master does not fail it over. restart-all (opt-in,
// E2E_RESTART_ALL=1, failing today) kills every member at once with
// spec.persistence aof and checks that no acknowledged write is lost.
//
// It owns only test code and the measurements it writes (E2E_REPORT). It must
// not change the cluster, operator or server packages it exercises.
//
// Needs root and the control-plane binaries (hack/k8s/build.sh); without root
// it skips, unless CI=true, where missing prerequisites fail. E2E_FAILOVERS
// sets how many master kills/deletions run (default 4; `make e2e` uses 20);
// E2E_BRIDGE and E2E_POD_CIDR run the suite beside another run of it.
package e2e
