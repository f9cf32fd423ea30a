// Package nodeclient owns the operator's conversation with replnode (and
// redis-server) nodes: the few administrative commands reconciliation needs —
// PING, ROLE, INFO replication (with keyspace and persistence), REPLICAOF,
// CONFIG SET, CLIENT PAUSE WRITE, CLIENT UNPAUSE, REPLNODE EPOCH and ACL
// LIST/SETUSER/DELUSER — behind the small Client interface, with
// a real RESP2 implementation over TCP or TLS (RESP; Node.TLS) and an
// in-memory Fake for tests. ServedCertificate reports which certificate a
// TLS node presents, so the caller can tell whether a renewal was loaded.
// Mutating commands carry the failover epoch the caller put in the context
// (WithEpoch), announced on the same connection, and a node's -STALEEPOCH
// refusal is returned as ErrStaleEpoch; WithDataLossAccepted adds the grant
// that lets a node lose data in a full sync (REPLNODE EPOCH <n>
// ACCEPT-DATA-LOSS). The Fake does not model that grant.
//
// It must not decide anything: it reports what nodes answer and sends what it
// is told. It never logs or returns passwords, and every call is bounded by
// the caller's context and a dial/IO timeout.
package nodeclient
