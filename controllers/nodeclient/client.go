package nodeclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ------ INTERFACE ------

// Node addresses one server: host:port, the ACL user and password
// (empty Password: no AUTH; empty User: AUTH <password>, the default user)
// and, for a node listening with TLS, the client configuration (nil:
// plain TCP).
type Node struct {
	Addr     string
	User     string
	Password string
	TLS      *tls.Config
}

// String names the node by address only, never the credentials.
func (n Node) String() string { return n.Addr }

// RoleReply is the parsed reply of ROLE.
type RoleReply struct {
	// Role is "master", "slave" or "sentinel", as the server spells it.
	Role string
	// Offset is the master's replication offset, or the offset a replica has processed.
	Offset int64
	// MasterHost and MasterPort are the master a replica follows.
	MasterHost string
	MasterPort int
	// LinkState is a replica's state: connect, connecting, sync or connected.
	LinkState string
	// Replicas are the replicas a master lists: address and acknowledged offset.
	Replicas []RoleReplica
}

// RoleReplica is one replica in a master's ROLE reply.
type RoleReplica struct {
	Host   string
	Port   int
	Offset int64
}

// Client is the set of node commands the operator uses. Every method is
// idempotent on the node (repeating it leaves the same state). The mutating
// ones (ReplicaOf, ConfigSet, ClientPause, ClientUnpause, ClientKillNormal,
// ACLSetUser, ACLDelUser) are fenced by the
// failover epoch the context carries (WithEpoch): they announce it with
// REPLNODE EPOCH on the same connection first, and a node that knows a newer
// epoch refuses them with an error matching ErrStaleEpoch.
type Client interface {
	// Ping checks the node answers PONG.
	Ping(ctx context.Context, n Node) error
	// Role returns the node's ROLE reply.
	Role(ctx context.Context, n Node) (RoleReply, error)
	// InfoReplication returns the text of INFO replication.
	InfoReplication(ctx context.Context, n Node) (string, error)
	// ReplicaOf makes the node a replica of host:port, or a master when host is "".
	ReplicaOf(ctx context.Context, n Node, host string, port int) error
	// ConfigSet sets one configuration parameter.
	ConfigSet(ctx context.Context, n Node, parameter, value string) error
	// ClientPause pauses writes (CLIENT PAUSE <ms> WRITE) for d.
	ClientPause(ctx context.Context, n Node, d time.Duration) error
	// ClientUnpause ends a pause.
	ClientUnpause(ctx context.Context, n Node) error
	// PushEpoch announces the failover epoch ctx carries (WithEpoch) to the
	// node, which keeps the highest it was told and then refuses mutating
	// commands announcing an older one. It does nothing without an epoch in
	// ctx or on a node without epochs (redis-server), and fails with
	// ErrStaleEpoch when the node already knows a newer epoch.
	PushEpoch(ctx context.Context, n Node) error
	// ClientKillNormal disconnects every normal client but the caller
	// (CLIENT KILL TYPE normal), so none keeps writing to a demoted master.
	ClientKillNormal(ctx context.Context, n Node) error
	// ServedCertificate returns the DER of the certificate the node
	// presents to a new TLS connection, nil for a Node without TLS. It
	// tells whether a node has loaded a renewed certificate.
	ServedCertificate(ctx context.Context, n Node) ([]byte, error)
	// ACLList returns the node's users as ACL LIST prints them, one
	// "user <name> <rules>" line each (passwords as #<sha256> hashes).
	ACLList(ctx context.Context, n Node) ([]string, error)
	// ACLSetUser applies rules to the named user (ACL SETUSER), creating
	// it if needed. The rules may hold passwords: they never appear in an
	// error.
	ACLSetUser(ctx context.Context, n Node, name string, rules []string) error
	// ACLDelUser deletes the named user (ACL DELUSER); deleting a user the
	// node does not have succeeds.
	ACLDelUser(ctx context.Context, n Node, name string) error
}

// ServerError is an error reply ("-ERR ...") from the node.
type ServerError struct{ Message string }

// Error returns the server's message.
func (e *ServerError) Error() string { return e.Message }

// IsServerError reports whether err is (or wraps) an error reply from a node,
// as opposed to a network failure.
func IsServerError(err error) bool {
	var se *ServerError
	return errors.As(err, &se)
}

// ------ ROLE PARSING ------

// parseRole turns a decoded ROLE reply into a RoleReply. The shapes are
// ["master", offset, [[host, port, offset], ...]] and
// ["slave", host, port, state, offset].
func parseRole(v any) (RoleReply, error) {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return RoleReply{}, fmt.Errorf("ROLE: expected a non-empty array, got %T", v)
	}
	role, ok := arr[0].(string)
	if !ok {
		return RoleReply{}, fmt.Errorf("ROLE: first element is %T, not a string", arr[0])
	}
	r := RoleReply{Role: role}
	switch role {
	case "master":
		if len(arr) != 3 {
			return RoleReply{}, fmt.Errorf("ROLE master: expected 3 elements, got %d", len(arr))
		}
		off, ok := arr[1].(int64)
		if !ok {
			return RoleReply{}, fmt.Errorf("ROLE master: offset is %T, not an integer", arr[1])
		}
		r.Offset = off
		reps, ok := arr[2].([]any)
		if !ok {
			return RoleReply{}, fmt.Errorf("ROLE master: replica list is %T, not an array", arr[2])
		}
		for _, item := range reps {
			fields, ok := item.([]any)
			if !ok || len(fields) != 3 {
				return RoleReply{}, fmt.Errorf("ROLE master: malformed replica entry %v", item)
			}
			host, _ := fields[0].(string)
			port, err1 := atoiAny(fields[1])
			offset, err2 := atoiAny(fields[2])
			if err1 != nil || err2 != nil {
				return RoleReply{}, fmt.Errorf("ROLE master: malformed replica entry %v", item)
			}
			r.Replicas = append(r.Replicas, RoleReplica{Host: host, Port: int(port), Offset: offset})
		}
	case "slave":
		if len(arr) != 5 {
			return RoleReply{}, fmt.Errorf("ROLE slave: expected 5 elements, got %d", len(arr))
		}
		r.MasterHost, _ = arr[1].(string)
		port, ok := arr[2].(int64)
		if !ok {
			return RoleReply{}, fmt.Errorf("ROLE slave: port is %T, not an integer", arr[2])
		}
		r.MasterPort = int(port)
		r.LinkState, _ = arr[3].(string)
		off, ok := arr[4].(int64)
		if !ok {
			return RoleReply{}, fmt.Errorf("ROLE slave: offset is %T, not an integer", arr[4])
		}
		r.Offset = off
	}
	return r, nil
}

// atoiAny reads an integer that a reply carries either as an integer or as a
// bulk string (ROLE lists replica ports and offsets as strings).
func atoiAny(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case string:
		return strconv.ParseInt(x, 10, 64)
	}
	return 0, fmt.Errorf("not an integer: %T", v)
}
