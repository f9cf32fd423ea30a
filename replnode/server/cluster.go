package server

// ------ CLUSTER (disabled) ------
//
// replnode runs standalone only, as redis-server with cluster-enabled no.
// Cluster-aware clients still probe with CLUSTER SLOTS/SHARDS/INFO and send
// READONLY/READWRITE/ASKING; they need Redis's own "cluster support
// disabled" error, not "unknown command", to fall back or report the
// configuration clearly. The subcommand table is Redis 7.0's, so arity and
// unknown-subcommand errors come from dispatch exactly as there.

// errClusterDisabled is clusterCommand's reply when cluster_enabled is 0.
const errClusterDisabled = "ERR This instance has cluster support disabled"

func init() {
	admin := FlagAdmin | FlagStale
	topology := admin | FlagNoAsyncLoading
	sub := func(name string, arity int, flags Flags) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, Handler: clusterDisabledCommand}
	}
	register(
		&Command{Name: "cluster", Arity: -2, Group: "cluster", Subcommands: []*Command{
			sub("addslots", -3, topology),
			sub("addslotsrange", -4, topology),
			sub("bumpepoch", 2, topology),
			sub("count-failure-reports", 3, admin),
			sub("countkeysinslot", 3, FlagStale),
			sub("delslots", -3, topology),
			sub("delslotsrange", -4, topology),
			sub("failover", -2, topology),
			sub("flushslots", 2, topology),
			sub("forget", 3, topology),
			sub("getkeysinslot", 4, FlagStale),
			sub("help", 2, FlagLoading|FlagStale),
			sub("info", 2, FlagStale),
			sub("keyslot", 3, FlagStale),
			sub("links", 2, FlagStale),
			sub("meet", -4, topology),
			sub("myid", 2, FlagStale),
			sub("nodes", 2, FlagStale),
			sub("replicas", 3, admin),
			sub("replicate", 3, topology),
			sub("reset", -2, admin|FlagNoScript),
			sub("saveconfig", 2, topology),
			sub("set-config-epoch", 3, topology),
			sub("setslot", -4, topology),
			sub("shards", 2, FlagStale),
			sub("slaves", 3, admin),
			sub("slots", 2, FlagStale),
		}},
		&Command{Name: "readonly", Arity: 1, Flags: FlagLoading | FlagStale | FlagFast, Group: "cluster", Handler: clusterDisabledCommand},
		&Command{Name: "readwrite", Arity: 1, Flags: FlagLoading | FlagStale | FlagFast, Group: "cluster", Handler: clusterDisabledCommand},
		&Command{Name: "asking", Arity: 1, Flags: FlagFast, Group: "cluster", Handler: clusterDisabledCommand},
	)
}

// clusterDisabledCommand replies Redis's error for every cluster command on
// a server without cluster support, HELP included (Redis checks
// cluster_enabled before looking at the subcommand).
func clusterDisabledCommand(ctx *Ctx) { ctx.Error(errClusterDisabled) }
