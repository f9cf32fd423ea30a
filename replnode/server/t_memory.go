package server

import (
	"math"
	"runtime/debug"

	"github.com/replnode/replnode/replnode/store"
)

// ------ MEMORY ------
//
// MEMORY USAGE is what client libraries (redis-py's memory_usage, ioredis's
// memory) and key-size tooling call. Its number is Redis 7.0's layout model
// of the value (store.MemoryUsage), so it compares with a real redis-server
// rather than reporting Go heap internals. DOCTOR and STATS are not
// implemented: their reports are built from jemalloc and Redis internals.

func init() {
	register(
		&Command{Name: "memory", Arity: -2, Group: "server", Subcommands: []*Command{
			{Name: "usage", Arity: -3, Flags: FlagReadOnly, FirstKey: 2, LastKey: 2, Step: 1, Handler: memoryUsageCommand},
			{Name: "purge", Arity: 2, Handler: memoryPurgeCommand},
			{Name: "malloc-stats", Arity: 2, Handler: memoryMallocStatsCommand},
			{Name: "help", Arity: 2, Flags: FlagLoading | FlagStale, Handler: memoryHelpCommand},
		}},
	)
}

// memoryUsageCommand replies MEMORY USAGE key [SAMPLES count]: the bytes
// Redis would account to the key, or null for a missing key. SAMPLES 0
// measures every element; a negative count or any other argument shape is a
// syntax error, as in Redis's memoryCommand (SAMPLES may repeat; the last wins). Like Redis it neither counts a
// keyspace hit nor touches the key's access time.
func memoryUsageCommand(ctx *Ctx) {
	samples := int64(5) // OBJ_COMPUTE_SIZE_DEF_SAMPLES
	for j := 3; j < len(ctx.Args); j += 2 {
		if !ctx.ArgIs(j, "samples") || j+1 >= len(ctx.Args) {
			ctx.Error(ErrSyntax)
			return
		}
		n, ok := ctx.Int(j + 1)
		if !ok {
			return
		}
		if n < 0 {
			ctx.Error(ErrSyntax)
			return
		}
		samples = n
		if samples == 0 {
			samples = math.MaxInt64
		}
	}
	v, ok := ctx.lookupNoTouch(ctx.Args[2])
	if !ok {
		ctx.W.Null()
		return
	}
	ctx.W.Int(store.MemoryUsage(string(ctx.Args[2]), v, int(min(samples, math.MaxInt))))
}

// memoryPurgeCommand returns freed heap pages to the OS, the Go runtime's
// counterpart of jemalloc's purge, and replies OK.
func memoryPurgeCommand(ctx *Ctx) {
	debug.FreeOSMemory()
	ctx.W.OK()
}

// memoryMallocStatsCommand replies as Redis built without jemalloc does:
// replnode's allocator is the Go runtime, which has no malloc stats report.
func memoryMallocStatsCommand(ctx *Ctx) {
	ctx.W.SimpleString("Stats not supported for the current allocator")
}

// memoryHelpCommand lists the subcommands replnode implements, in Redis's
// wording.
func memoryHelpCommand(ctx *Ctx) {
	replyHelp(ctx, "MEMORY",
		"MALLOC-STATS",
		"    Return internal statistics report from the memory allocator.",
		"PURGE",
		"    Attempt to purge dirty pages for reclamation by the allocator.",
		"USAGE <key> [SAMPLES <count>]",
		"    Return memory in bytes used by <key> and its value. Nested values are",
		"    sampled up to <count> times (default: 5, 0 means sample all).")
}
