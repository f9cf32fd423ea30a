package nodeclient

import (
	"context"
	"errors"
	"strings"
)

// ------ FAILOVER EPOCH ------
//
// A replnode node keeps a failover epoch (REPLNODE EPOCH, see
// replnode/fencing). The operator announces the group's epoch on the same
// connection before every mutating admin command; once any operator has
// announced a newer epoch to the node, the node refuses those commands from
// connections that announced an older one with -STALEEPOCH. A real
// redis-server answers REPLNODE with "ERR unknown command": it is a node
// without epochs and the command is sent unfenced.

// ErrStaleEpoch means a node refused a command because it knows a newer
// failover epoch than the one the caller acts in: another operator has
// started a newer master change, and this one must stop.
var ErrStaleEpoch = errors.New("stale failover epoch")

// epochKey is the context key of the failover epoch.
type epochKey struct{}

// WithEpoch returns ctx carrying failover epoch e: the mutating calls made
// with it (ReplicaOf, ConfigSet, ClientPause, ClientUnpause, PushEpoch)
// announce e first and fail with ErrStaleEpoch when the node knows a newer one.
func WithEpoch(ctx context.Context, e int64) context.Context {
	return context.WithValue(ctx, epochKey{}, e)
}

// EpochFrom returns the failover epoch ctx carries, and whether it carries one.
func EpochFrom(ctx context.Context) (int64, bool) {
	e, ok := ctx.Value(epochKey{}).(int64)
	return e, ok
}

// staleEpochPrefix starts the error reply of a node refusing an older epoch.
const staleEpochPrefix = "STALEEPOCH "

// isStaleEpochReply reports whether a server error is the node's -STALEEPOCH.
func isStaleEpochReply(se *ServerError) bool {
	return strings.HasPrefix(se.Message, staleEpochPrefix)
}

// isUnknownCommandReply reports whether a server error says the node does
// not know REPLNODE EPOCH (a redis-server, or a replnode before epochs).
func isUnknownCommandReply(se *ServerError) bool {
	return strings.HasPrefix(se.Message, "ERR unknown command") ||
		strings.HasPrefix(se.Message, "ERR unknown subcommand")
}
