// Package failover owns the failover decisions of the replnode operator: when
// the master of a ReplicationGroup is failed, which replica to promote, how to
// fence the old master, the ordered promotion plan, the repair of two masters,
// the prediction of how a returning old master resynchronises, the resumable
// manual switchover state machine and the failover record. Every decision
// keeps the rules of docs/failover.md (R1-R3): what the replicas prove
// (GatherEvidence) is counted against the replicas the group is meant to
// run, never against those that happen to answer, and a replica is promoted
// only once the old master provably cannot write and the replica provably
// holds every WAIT-acknowledged write; otherwise the decision waits and says
// why. Whether a member's data is contained in a source's (so a full sync
// from it loses nothing, and the member's node will not refuse it) is
// decided by one rule shared with the node's guard:
// replication.Identity.ContainsDataOf, through SourceContains and
// refusesFullSyncFrom. A member fenced by hand (Member.FencedByHand) is never promoted but
// otherwise counts like any replica: a running one reports its position and
// votes, and plans repoint it; a stopped one gives neither and is still
// counted in N.
//
// It is pure, in the manner of cert-manager's policies and etcd raft: callers
// pass what they observed (members, their replication state as reported by
// ROLE and INFO replication, the group's status, the settings) together with
// the current time, and get back a Decision carrying a reason, a message ready
// for a status condition, and an ordered list of Actions for the caller to
// perform. It also parses INFO replication text into an observation, so the
// node client can stay a thin transport.
//
// Execute runs a plan through two interfaces the reconciler implements (the
// node client's failover operations and the group's API writes), stopping at
// the first failure and collecting the milestones for the failover record;
// it does no I/O of its own.
//
// It must not import the operator's API types, call client-go, open sockets,
// start goroutines or read the clock. Everything it knows comes in as
// arguments; everything it wants done goes out as Actions.
package failover
