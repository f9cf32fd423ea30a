package server

// ------ MODULE ------
//
// replnode cannot load Redis modules (they are C shared objects linked
// against redis-server's internals). MODULE LIST tells clients that probe
// for RediSearch, RedisJSON and the like that none is loaded, which is the
// truth; LOAD, LOADEX and UNLOAD stay behind enable-module-command as in
// Redis and, when allowed, fail the way a redis-server fails to load or
// unload a module, with the reason in the log.

func init() {
	protected := FlagAdmin | FlagNoScript | FlagNoAsyncLoading | FlagProtected
	register(
		&Command{Name: "module", Arity: -2, Group: "server", Subcommands: []*Command{
			{Name: "list", Arity: 2, Flags: FlagAdmin | FlagNoScript, Handler: moduleListCommand},
			{Name: "load", Arity: -3, Flags: protected, Handler: moduleLoadCommand},
			{Name: "loadex", Arity: -3, Flags: protected, Handler: moduleLoadCommand},
			{Name: "unload", Arity: 3, Flags: protected, Handler: moduleUnloadCommand},
			{Name: "help", Arity: 2, Flags: FlagLoading | FlagStale, Handler: moduleHelpCommand},
		}},
	)
}

// moduleListCommand replies the loaded modules: always none.
func moduleListCommand(ctx *Ctx) { ctx.W.ArrayLen(0) }

// moduleLoadCommand refuses to load a module, logging why, and replies
// Redis's load failure.
func moduleLoadCommand(ctx *Ctx) {
	ctx.S.Log.Warningf("Module %s failed to load: replnode does not support Redis modules", ctx.Args[2])
	ctx.Error("ERR Error loading the extension. Please check the server logs.")
}

// moduleUnloadCommand replies Redis's error for a module that is not
// loaded: none ever is.
func moduleUnloadCommand(ctx *Ctx) {
	ctx.Error("ERR Error unloading module: no such module with that name")
}

// moduleHelpCommand is Redis's MODULE HELP.
func moduleHelpCommand(ctx *Ctx) {
	replyHelp(ctx, "MODULE",
		"LIST",
		"    Return a list of loaded modules.",
		"LOAD <path> [<arg> ...]",
		"    Load a module library from <path>, passing to it any optional arguments.",
		"LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
		"    Load a module library from <path>, while passing it module configurations and optional arguments.",
		"UNLOAD <name>",
		"    Unload a module.")
}
