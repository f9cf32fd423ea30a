package server

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// ------ ACL (the default user only) ------
//
// replnode has one user, Redis's "default", whose only setting is
// requirepass. The read-only ACL subcommands describe that user exactly as
// redis-server does for the same configuration, so clients and tools that
// ask who they are (ACL WHOAMI), list users, or look up categories (ACL CAT)
// get Redis's answers. Creating or changing users (SETUSER, DELUSER, LOAD,
// SAVE, GETUSER, DRYRUN, LOG) is not implemented.

// aclCategoryNames are ACL CAT's categories in Redis 7.0's order
// (ACLCommandCategories in acl.c).
var aclCategoryNames = []string{
	"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
	"hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
	"dangerous", "connection", "transaction", "scripting",
}

func init() {
	acl := FlagNoScript | FlagLoading | FlagStale
	register(
		&Command{Name: "acl", Arity: -2, Group: "server", Subcommands: []*Command{
			{Name: "whoami", Arity: 2, Flags: acl, Handler: aclWhoamiCommand},
			{Name: "users", Arity: 2, Flags: acl | FlagAdmin, Handler: aclUsersCommand},
			{Name: "list", Arity: 2, Flags: acl | FlagAdmin, Handler: aclListCommand},
			{Name: "cat", Arity: -2, Flags: acl, Handler: aclCatCommand},
			{Name: "genpass", Arity: -2, Flags: acl, Handler: aclGenpassCommand},
			{Name: "help", Arity: 2, Flags: FlagLoading | FlagStale, Handler: aclHelpCommand},
		}},
	)
}

// aclWhoamiCommand replies the connection's user, always "default".
func aclWhoamiCommand(ctx *Ctx) { ctx.W.BulkString("default") }

// aclUsersCommand replies the user names: only "default".
func aclUsersCommand(ctx *Ctx) {
	ctx.W.ArrayLen(1)
	ctx.W.BulkString("default")
}

// aclListCommand replies the default user's rule line as Redis writes it:
// "nopass" without requirepass, else the SHA-256 of the password.
func aclListCommand(ctx *Ctx) {
	pass := "nopass"
	if pw := ctx.S.Config.String("requirepass"); pw != "" {
		sum := sha256.Sum256([]byte(pw))
		pass = "#" + hex.EncodeToString(sum[:])
	}
	ctx.W.ArrayLen(1)
	ctx.W.BulkString("user default on " + pass + " ~* &* +@all")
}

// aclCatCommand replies the category names, or with a category the full
// names (container|sub included) of the commands in it, from the ACL
// categories of COMMAND INFO.
func aclCatCommand(ctx *Ctx) {
	switch len(ctx.Args) {
	case 2:
		ctx.W.ArrayLen(len(aclCategoryNames))
		for _, c := range aclCategoryNames {
			ctx.W.BulkString(c)
		}
		return
	case 3:
	default:
		aclSyntaxError(ctx)
		return
	}
	want := "@" + strings.ToLower(string(ctx.Args[2]))
	known := false
	for _, c := range aclCategoryNames {
		known = known || "@"+c == want
	}
	if !known {
		ctx.Error("ERR Unknown category '" + string(ctx.Args[2]) + "'")
		return
	}
	var names []string
	inCategory := func(c *Command) bool {
		for _, cat := range commandACLCategories(c) {
			if cat == want {
				return true
			}
		}
		return false
	}
	for _, c := range sortedCommands() {
		if inCategory(c) {
			names = append(names, c.FullName())
		}
		for _, s := range c.Subcommands {
			if inCategory(s) {
				names = append(names, s.FullName())
			}
		}
	}
	ctx.W.ArrayLen(len(names))
	for _, n := range names {
		ctx.W.BulkString(n)
	}
}

// aclGenpassCommand replies a random password of the given number of bits
// (default 256) as hex, one character per started 4 bits, like Redis.
func aclGenpassCommand(ctx *Ctx) {
	bits := int64(256)
	switch len(ctx.Args) {
	case 2:
	case 3:
		n, ok := ctx.Int(2)
		if !ok {
			return
		}
		if n <= 0 || n > 4096 {
			ctx.Error("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096")
			return
		}
		bits = n
	default:
		aclSyntaxError(ctx)
		return
	}
	chars := (bits + 3) / 4
	buf := make([]byte, (chars+1)/2)
	if _, err := rand.Read(buf); err != nil {
		ctx.Error("ERR " + err.Error())
		return
	}
	ctx.W.BulkString(hex.EncodeToString(buf)[:chars])
}

// aclSyntaxError is Redis's reply to a subcommand given the wrong number of
// arguments inside its handler; it echoes the subcommand as typed.
func aclSyntaxError(ctx *Ctx) {
	ctx.Error("ERR unknown subcommand or wrong number of arguments for '" + string(ctx.Args[1]) + "'. Try ACL HELP.")
}

// aclHelpCommand lists the subcommands replnode implements, in Redis's
// wording.
func aclHelpCommand(ctx *Ctx) {
	replyHelp(ctx, "ACL",
		"CAT [<category>]",
		"    List all commands that belong to <category>, or all command categories",
		"    when no category is specified.",
		"GENPASS [<bits>]",
		"    Generate a secure 256-bit user password. The optional `bits` argument can",
		"    be used to specify a different size.",
		"LIST",
		"    Show users details in config file format.",
		"USERS",
		"    List all the registered usernames.",
		"WHOAMI",
		"    Return the current connection username.")
}
