// Package nodeclient owns the operator's conversation with replnode (and
// redis-server) nodes: the few administrative commands reconciliation needs —
// PING, ROLE, INFO replication, REPLICAOF, CONFIG SET, CLIENT PAUSE WRITE and
// CLIENT UNPAUSE — behind the small Client interface, with a real RESP2
// implementation over TCP (RESP) and an in-memory Fake for tests.
//
// It must not decide anything: it reports what nodes answer and sends what it
// is told. It never logs or returns passwords, and every call is bounded by
// the caller's context and a dial/IO timeout.
package nodeclient
