// Package controllers owns the ReplicationGroup reconciler: it turns a
// ReplicationGroup into a master and replicas run as Pods (with PVCs), a
// ConfigMap holding the generated redis.conf, three Services and two
// PodDisruptionBudgets (replicas; master), keeps the replicas following the
// master through the node client, hands master failure to the pure failover
// package, switches the master off a cordoned node before a drain evicts it,
// honours members fenced by hand, replaces broken members on an outdated
// template, and reports what it sees in the group's status, conditions and
// events. It keeps spec.users on every member live with ACL SETUSER and
// DELUSER, and with spec.auth its own least-privilege users: it talks to
// members as replnode-operator and replicas to their master as
// replnode-replication (users.go). It also owns the validating webhook that checks
// spec.config and spec.users' rules with the node's own parsers
// (webhook.go).
//
// Two operators must never both act: status is written only at the
// resourceVersion a pass read, the failover policy's node commands are
// fenced by status.failoverEpoch (epoch.go), and nothing touches a node
// unless this process provably holds the leader lease and acts on a copy of
// the group no older than the newest epoch it saw, and no such command (nor
// a pod deletion or role label change) is sent after the lease stops
// counting as held (leadership.go).
//
// A switchover is driven step by step within one pass while its steps only
// wait on the members (failover_steps.go); its hand-over demotes the old
// master only if the target holds every byte of it, read while a fresh
// pause holds, and before that pause can end. A master change reads the
// master Service's EndpointSlices (never writes them) so each role label
// change follows the slice's previous one: kube-controller-manager backs
// off a second when pod changes outrun its own writes.
//
// Reconcile is thin: it fetches the group and runs a flat sequence of small
// idempotent steps. Everything that decides (object builders, the topology
// decision, status conditions) is pure and unit-tested; the steps only read
// the cluster, call the decisions and apply their results.
//
// The operator's Prometheus metrics (metrics.go) are set from what a pass
// wrote to status: a master change is counted by the status write that
// completes status.lastFailover.
//
// A group with spec.bootstrap.fromBackup gets a restore init container on
// its first master and a Restored condition (restore.go); taking, storing
// and verifying backups belongs to controllers/backup.
//
// It reads the auth, TLS and users' password Secrets (secrets.go, tls.go,
// users.go) and keeps what it read in memory only. It must not use StatefulSets, exec into pods, write
// Secrets or log secret values; the failover policy itself lives in
// controllers/failover.
package controllers
