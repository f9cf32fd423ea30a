package nodeclient

import (
	"context"
	"errors"
	"regexp"
	"strconv"
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

// dataLossKey is the context key of WithDataLossAccepted.
type dataLossKey struct{}

// WithDataLossAccepted returns ctx whose epoch announcement also grants the
// node, for that epoch, one full resync that replaces data its master
// cannot contain (REPLNODE EPOCH <n> ACCEPT-DATA-LOSS; a replnode node run
// with replica-keep-newer-data refuses it otherwise). For the REPLICAOF of
// a member whose loss the operator decided: an old master it demotes, or
// a group with the accept-data-loss annotation.
func WithDataLossAccepted(ctx context.Context) context.Context {
	return context.WithValue(ctx, dataLossKey{}, true)
}

// dataLossAccepted reports whether ctx carries WithDataLossAccepted.
func dataLossAccepted(ctx context.Context) bool {
	v, _ := ctx.Value(dataLossKey{}).(bool)
	return v
}

// EpochFrom returns the failover epoch ctx carries, and whether it carries one.
func EpochFrom(ctx context.Context) (int64, bool) {
	e, ok := ctx.Value(epochKey{}).(int64)
	return e, ok
}

// staleEpochPrefix starts the error reply of a node refusing an older epoch.
const staleEpochPrefix = "STALEEPOCH "

// staleEpochReply matches the node's refusal,
// "STALEEPOCH failover epoch <n> is older than this node's <cur>".
var staleEpochReply = regexp.MustCompile(`^STALEEPOCH failover epoch (\d+) is older than this node's (\d+)`)

// StaleEpochError is a node's -STALEEPOCH refusal. It matches ErrStaleEpoch
// (errors.Is) and unwraps to the node's *ServerError.
type StaleEpochError struct {
	// Epoch is the epoch the refused connection announced and NodeEpoch the
	// node's newer one (both 0 when the reply did not say).
	Epoch, NodeEpoch int64
	// Reply is the node's error reply.
	Reply *ServerError
}

// Error returns the node's reply.
func (e *StaleEpochError) Error() string { return e.Reply.Message }

// Is makes errors.Is(err, ErrStaleEpoch) hold.
func (e *StaleEpochError) Is(target error) bool { return target == ErrStaleEpoch }

// Unwrap returns the node's error reply.
func (e *StaleEpochError) Unwrap() error { return e.Reply }

// staleEpochError returns the *StaleEpochError a -STALEEPOCH reply stands
// for, or nil when se is another error.
func staleEpochError(se *ServerError) *StaleEpochError {
	if !strings.HasPrefix(se.Message, staleEpochPrefix) {
		return nil
	}
	e := &StaleEpochError{Reply: se}
	if m := staleEpochReply.FindStringSubmatch(se.Message); m != nil {
		e.Epoch, _ = strconv.ParseInt(m[1], 10, 64)
		e.NodeEpoch, _ = strconv.ParseInt(m[2], 10, 64)
	}
	return e
}

// isUnknownCommandReply reports whether a server error says the node does
// not know REPLNODE EPOCH (a redis-server, or a replnode before epochs).
func isUnknownCommandReply(se *ServerError) bool {
	return strings.HasPrefix(se.Message, "ERR unknown command") ||
		strings.HasPrefix(se.Message, "ERR unknown subcommand")
}
