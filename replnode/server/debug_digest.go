package server

import (
	"strings"

	"github.com/replnode/replnode/replnode/store"
)

// ------ DEBUG ------
//
// DEBUG is one command whose first argument picks the operation. The
// operations live with the areas they belong to: each registers its
// subcommands here with registerDebug from an init function. This file
// holds the command itself and the persistence operations: DIGEST,
// DIGEST-VALUE and RELOAD.

// debugHandlers maps lower-case DEBUG subcommand names to handlers. A
// handler sees the whole argument vector (Args[0] is "debug").
var debugHandlers = map[string]func(ctx *Ctx){}

// registerDebug adds a DEBUG subcommand; it panics on a duplicate name.
func registerDebug(name string, fn func(ctx *Ctx)) {
	name = strings.ToLower(name)
	if _, dup := debugHandlers[name]; dup {
		panic("server: DEBUG subcommand registered twice: " + name)
	}
	debugHandlers[name] = fn
}

// init registers DEBUG and its persistence subcommands.
func init() {
	register(&Command{Name: "debug", Arity: -2, Flags: FlagAdmin | FlagNoScript | FlagLoading | FlagStale | FlagProtected,
		Group: "server", Handler: debugCommand})
	registerDebug("digest", debugDigestCommand)
	registerDebug("digest-value", debugDigestValueCommand)
	registerDebug("reload", debugReloadCommand)
}

// debugCommand dispatches DEBUG <subcommand>.
func debugCommand(ctx *Ctx) {
	fn, ok := debugHandlers[strings.ToLower(ctx.Arg(1))]
	if !ok {
		ctx.Errorf("ERR unknown subcommand or wrong number of arguments for '%s'. Try DEBUG HELP.", ctx.Arg(1))
		return
	}
	fn(ctx)
}

// debugDigestCommand is DEBUG DIGEST: the data set's digest as a status
// reply, equal to Redis 7.0's for the same data.
func debugDigestCommand(ctx *Ctx) {
	if len(ctx.Args) != 2 {
		ctx.Errorf("ERR unknown subcommand or wrong number of arguments for '%s'. Try DEBUG HELP.", ctx.Arg(1))
		return
	}
	ctx.W.SimpleString(store.DatasetDigest(ctx.S.Keyspace).String())
}

// debugDigestValueCommand is DEBUG DIGEST-VALUE key...: one status reply per
// key, all zeros for a missing key. Logically expired keys still count.
func debugDigestValueCommand(ctx *Ctx) {
	ctx.W.ArrayLen(len(ctx.Args) - 2)
	for _, k := range ctx.Args[2:] {
		ctx.W.SimpleString(store.ValueDigest(ctx.DB, string(k)).String())
	}
}

// debugReloadCommand is DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save the
// dump (unless NOSAVE), then load it again, replacing the data set or,
// with NOFLUSH, adding to it (MERGE lets loaded keys replace existing
// ones; without it a key present on both sides is an error). Unlike Redis,
// a failed load leaves the data set as it was.
func debugReloadCommand(ctx *Ctx) {
	save, flush, merge := true, true, false
	for i := 2; i < len(ctx.Args); i++ {
		switch {
		case ctx.ArgIs(i, "merge"):
			merge = true
		case ctx.ArgIs(i, "noflush"):
			flush = false
		case ctx.ArgIs(i, "nosave"):
			save = false
		default:
			ctx.Error("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
			return
		}
	}
	p := ctx.S.persist()
	if save {
		if err := p.saveNow(); err != nil {
			ctx.Error("ERR")
			return
		}
	}
	var err error
	if flush {
		_, _, err = p.loadInto(p.dumpPath())
	} else {
		err = p.mergeFrom(p.dumpPath(), merge)
	}
	if err != nil {
		ctx.S.Log.Warningf("%v", err)
		ctx.Error("ERR Error trying to load the RDB dump, check server logs.")
		return
	}
	ctx.S.Log.Warningf("DB reloaded by DEBUG RELOAD")
	ctx.W.OK()
}
