package server

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/replnode/replnode/replnode/acl"
	"github.com/replnode/replnode/replnode/config"
)

// ------ ACL (acl.c)
//
// The users, their rules and the permission decision are package acl's;
// this file is the ACL command, the ACL LOG entries (with the client's
// CLIENT LIST line), the disconnections a change of users asks for, the
// ACL file I/O and the users of redis.conf at startup. The check itself is
// in dispatch (aclDenied).

func init() {
	f := FlagNoScript | FlagLoading | FlagStale
	register(
		&Command{Name: "acl", Arity: -2, Group: "server", Subcommands: []*Command{
			{Name: "whoami", Arity: 2, Flags: f, Handler: aclWhoamiCommand},
			{Name: "users", Arity: 2, Flags: f | FlagAdmin, Handler: aclUsersCommand},
			{Name: "list", Arity: 2, Flags: f | FlagAdmin, Handler: aclListCommand},
			{Name: "cat", Arity: -2, Flags: f, Handler: aclCatCommand},
			{Name: "genpass", Arity: -2, Flags: f, Handler: aclGenpassCommand},
			{Name: "setuser", Arity: -3, Flags: f | FlagAdmin, Handler: aclSetuserCommand},
			{Name: "getuser", Arity: 3, Flags: f | FlagAdmin, Handler: aclGetuserCommand},
			{Name: "deluser", Arity: -3, Flags: f | FlagAdmin, Handler: aclDeluserCommand},
			{Name: "log", Arity: -2, Flags: f | FlagAdmin, Handler: aclLogCommand},
			{Name: "dryrun", Arity: -4, Flags: f | FlagAdmin, Handler: aclDryrunCommand},
			{Name: "load", Arity: 2, Flags: f | FlagAdmin, Handler: aclLoadCommand},
			{Name: "save", Arity: 2, Flags: f | FlagAdmin, Handler: aclSaveCommand},
			{Name: "help", Arity: 2, Flags: FlagLoading | FlagStale, Handler: aclHelpCommand},
		}},
	)
}

// The rules of redis.conf's `user` lines are checked as the file is read.
func init() {
	config.UserValidator = func(args []string) error {
		return acl.New(theACLTable(), nil).CheckUserLine(args)
	}
}

// NewACLRegistry returns users as a fresh node has them (the default
// user only, nopass) over this node's command table, matching patterns
// as the node does: for checking and describing ACL rules exactly as a
// node would without running one (the operator's admission webhook and
// its comparison of the users a member has with the ones it should).
func NewACLRegistry() *acl.Registry {
	return acl.New(theACLTable(), func(p, str []byte) bool { return globMatch(p, str, false) })
}

// initACL gives a new Server its users: the default one, with
// requirepass as its password. New calls it before any client exists.
func (s *Server) initACL() {
	s.acl = NewACLRegistry()
	s.acl.PubsubDefaultAll = s.Config.String("acl-pubsub-default") == "allchannels"
	s.acl.SetDefaultPassword(s.Config.String("requirepass"))
	s.OnConfigSet(func(name string) {
		switch name {
		case "requirepass":
			s.acl.SetDefaultPassword(s.Config.String("requirepass"))
		case "acl-pubsub-default":
			s.acl.PubsubDefaultAll = s.Config.String("acl-pubsub-default") == "allchannels"
		}
	})
}

// authRequired is Redis's authRequired: a client that has not
// authenticated must when the default user has a password or is off.
func (s *Server) authRequired(c *Client) bool {
	d := s.acl.Default
	return !c.authenticated && (!d.NoPass() || !d.Enabled())
}

// setDefaultAuth gives c the default user, authenticated when that user
// needs no password (Redis's clientSetDefaultAuth).
func (s *Server) setDefaultAuth(c *Client) {
	c.user = s.acl.Default
	c.authenticated = s.acl.Default.NoPass() && s.acl.Default.Enabled()
}

// aclCheck asks package acl whether u may run cmd with args. A command
// registered after the ACL table was built (tests add some) is unknown to
// every rule, so only unrestricted users run it.
func (s *Server) aclCheck(u *acl.User, cmd *Command, args [][]byte) (acl.Result, int) {
	ac := cmd.acl
	if ac == nil {
		return acl.DeniedCommand, 0
	}
	req := acl.Request{Cmd: ac.cmd, Args: args}
	if ac.hasKeys {
		req.Keys = func() []acl.KeyRef { return aclKeys(cmd, args) }
	}
	if ac.channels != nil {
		req.Channels = func() []acl.ChannelRef { return ac.channels(args) }
	}
	return s.acl.Check(u, &req)
}

// fullKeyAccess reports whether the client running ctx may read any key
// with this command (SORT BY/GET); a client without a user may.
func (s *Server) fullKeyAccess(ctx *Ctx) bool {
	u := ctx.C.user
	if u == nil || u.Unrestricted() {
		return true
	}
	cmd, args := ctx.Cmd, ctx.Args
	ac := cmd.acl
	if ac == nil {
		return false
	}
	req := acl.Request{Cmd: ac.cmd, Args: args}
	if ac.hasKeys {
		req.Keys = func() []acl.KeyRef { return aclKeys(cmd, args) }
	}
	return s.acl.UnrestrictedKeyAccess(u, &req, acl.KeyAccess)
}

// aclDenied decides the ACL check of a command about to run for c (the
// script client for a script's command), logging a denial in ACL LOG with
// context (toplevel, multi, lua). A client without a user (the master
// link, internal replay) and an unrestricted user pass at the cost of a
// flag test.
func (s *Server) aclDenied(c *Client, cmd *Command, args [][]byte, context string) (acl.Result, bool) {
	u := c.user
	if u == nil || u.Unrestricted() {
		return acl.OK, false
	}
	res, pos := s.aclCheck(u, cmd, args)
	if res == acl.OK {
		return res, false
	}
	object := cmd.fullLow
	if res == acl.DeniedKey || res == acl.DeniedChannel {
		object = string(args[pos])
	}
	s.aclLog(c, res, context, object, u.Name)
	return res, true
}

// noPermMessage is the -NOPERM reply of a denied client command.
func noPermMessage(res acl.Result, cmd *Command) string {
	switch res {
	case acl.DeniedCommand:
		return "NOPERM this user has no permissions to run the '" + cmd.fullLow + "' command"
	case acl.DeniedKey:
		return "NOPERM this user has no permissions to access one of the keys used as arguments"
	case acl.DeniedChannel:
		return "NOPERM this user has no permissions to access one of the channels used as arguments"
	}
	return "ERR no permission"
}

// aclLog adds an ACL LOG entry; the client info is the script's caller
// for a command a script ran.
func (s *Server) aclLog(c *Client, res acl.Result, context, object, username string) {
	real := c
	if run := s.scripts.run; run != nil && c == run.client {
		real = run.caller
	}
	now := s.clock()
	s.aclLogEntries.Add(acl.LogEntry{
		Reason: res, Context: context, Object: object, Username: username,
		CreatedMs: now, ClientInfo: s.clientInfoLine(real, real, now),
	}, int(s.Config.Int("acllog-max-len")))
}

// aclLogContext is "multi" for a client in a transaction or running EXEC
// (its commands run one call deeper), else "toplevel".
func aclLogContext(c *Client) string {
	if c.multi.active || c.callDepth > 1 {
		return "multi"
	}
	return "toplevel"
}

// authenticate checks a user/password pair for AUTH and HELLO; on success
// the client becomes that user. A failure is logged and replied.
func (s *Server) authenticate(ctx *Ctx, user, pass []byte) bool {
	u := s.acl.User(string(user))
	if u != nil && u.CheckPassword(pass) {
		ctx.C.authenticated = true
		ctx.C.user = u
		return true
	}
	s.aclLog(ctx.C, acl.DeniedAuth, aclLogContext(ctx.C), string(ctx.Args[0]), string(user))
	ctx.Error("WRONGPASS invalid username-password pair or user is disabled.")
	return false
}

// disconnectUsers closes the connections of users that were deleted or
// replaced; the calling client gets its reply first (Redis's
// ACLFreeUserAndKillClients).
func (s *Server) disconnectUsers(ctx *Ctx, gone []*acl.User) {
	if len(gone) == 0 {
		return
	}
	set := map[*acl.User]bool{}
	for _, u := range gone {
		set[u] = true
	}
	for _, c := range s.sortedClients() {
		if c.user != nil && set[c.user] {
			c.user = s.acl.Default
			c.authenticated = false
			s.aclKill(ctx, c)
		}
	}
}

// aclKill closes a client that lost its user or permissions: at once,
// so CLIENT LIST no longer shows it (Redis frees it synchronously), or
// after its reply for the client running the command.
func (s *Server) aclKill(ctx *Ctx, c *Client) {
	s.killClient(ctx, c)
	if c != ctx.C {
		s.freeClient(c)
	}
}

// killRevokedSubscribers closes the subscribers of a user whose channels
// or patterns its new rules no longer allow.
func (s *Server) killRevokedSubscribers(ctx *Ctx, rev *acl.Revocation) {
	if rev == nil {
		return
	}
	for _, c := range s.sortedClients() {
		if c.user != rev.User || c.flags&ClientPubSub == 0 {
			continue
		}
		kill := false
		for p := range c.patterns {
			kill = kill || !rev.Allows(p, true)
		}
		for ch := range c.channels {
			kill = kill || !rev.Allows(ch, false)
		}
		for ch := range c.shardChannels {
			kill = kill || !rev.Allows(ch, false)
		}
		if kill {
			s.aclKill(ctx, c)
		}
	}
}

func aclWhoamiCommand(ctx *Ctx) {
	if ctx.C.user == nil {
		ctx.W.Null()
		return
	}
	ctx.W.BulkString(ctx.C.user.Name)
}

func aclUsersCommand(ctx *Ctx) {
	users := ctx.S.acl.Users()
	ctx.W.ArrayLen(len(users))
	for _, u := range users {
		ctx.W.BulkString(u.Name)
	}
}

func aclListCommand(ctx *Ctx) {
	lines := ctx.S.acl.UserLines()
	ctx.W.ArrayLen(len(lines))
	for _, l := range lines {
		ctx.W.BulkString(l)
	}
}

func aclSetuserCommand(ctx *Ctx) {
	for j := 2; j < len(ctx.Args); j++ {
		ctx.Redact(j)
	}
	name := string(ctx.Args[2])
	if acl.HasSpaces(name) {
		ctx.Error("ERR Usernames can't contain spaces or null characters")
		return
	}
	rules := make([]string, 0, len(ctx.Args)-3)
	for _, a := range ctx.Args[3:] {
		rules = append(rules, string(a))
	}
	rev, err := ctx.S.acl.SetUser(name, rules)
	if err != nil {
		ctx.Error("ERR " + strings.NewReplacer("\r", " ", "\n", " ").Replace(err.Error()))
		return
	}
	ctx.S.killRevokedSubscribers(ctx, rev)
	ctx.W.OK()
}

func aclGetuserCommand(ctx *Ctx) {
	u := ctx.S.acl.User(string(ctx.Args[2]))
	if u == nil {
		ctx.W.Null()
		return
	}
	info := ctx.S.acl.Info(u)
	w := ctx.W
	w.MapLen(6)
	w.BulkString("flags")
	w.SetLen(len(info.Flags))
	for _, f := range info.Flags {
		w.BulkString(f)
	}
	w.BulkString("passwords")
	w.ArrayLen(len(info.Passwords))
	for _, p := range info.Passwords {
		w.BulkString(p)
	}
	writeSelectorInfo := func(si acl.SelectorInfo) {
		w.BulkString("commands")
		w.BulkString(si.Commands)
		w.BulkString("keys")
		w.BulkString(si.Keys)
		w.BulkString("channels")
		w.BulkString(si.Channels)
	}
	writeSelectorInfo(info.Root)
	w.BulkString("selectors")
	w.ArrayLen(len(info.Selectors))
	for _, si := range info.Selectors {
		w.MapLen(3)
		writeSelectorInfo(si)
	}
}

func aclDeluserCommand(ctx *Ctx) {
	names := make([]string, 0, len(ctx.Args)-2)
	for _, a := range ctx.Args[2:] {
		names = append(names, string(a))
	}
	gone, err := ctx.S.acl.DelUser(names)
	if err != nil {
		ctx.Error("ERR " + err.Error())
		return
	}
	ctx.S.disconnectUsers(ctx, gone)
	ctx.W.Int(int64(len(gone)))
}

func aclLogCommand(ctx *Ctx) {
	count := int64(10)
	switch len(ctx.Args) {
	case 2:
	case 3:
		if ctx.ArgIs(2, "reset") {
			ctx.S.aclLogEntries.Reset()
			ctx.W.OK()
			return
		}
		n, ok := ctx.Int(2)
		if !ok {
			return
		}
		count = max(n, 0)
	default:
		aclSyntaxError(ctx)
		return
	}
	entries := ctx.S.aclLogEntries.Entries(int(min(count, 1<<30)))
	now := ctx.S.clock()
	w := ctx.W
	w.ArrayLen(len(entries))
	for _, e := range entries {
		w.MapLen(7)
		w.BulkString("count")
		w.Int(e.Count)
		w.BulkString("reason")
		w.BulkString(e.ReasonName())
		w.BulkString("context")
		w.BulkString(e.Context)
		w.BulkString("object")
		w.BulkString(e.Object)
		w.BulkString("username")
		w.BulkString(e.Username)
		w.BulkString("age-seconds")
		w.Double(float64(now-e.CreatedMs) / 1000)
		w.BulkString("client-info")
		w.BulkString(e.ClientInfo)
	}
}

func aclDryrunCommand(ctx *Ctx) {
	s := ctx.S
	u := s.acl.User(string(ctx.Args[2]))
	if u == nil {
		ctx.Errorf("ERR User '%s' not found", ctx.Args[2])
		return
	}
	args := ctx.Args[3:]
	cmd := lookupCommandName(args[0])
	if cmd != nil && len(cmd.Subcommands) > 0 && len(args) >= 2 {
		cmd = cmd.subcommand(args[1])
	}
	if cmd == nil {
		ctx.Errorf("ERR Command '%s' not found", args[0])
		return
	}
	if (cmd.Arity > 0 && cmd.Arity != len(args)) || len(args) < -cmd.Arity {
		ctx.Errorf("ERR wrong number of arguments for '%s' command", cmd.fullLow)
		return
	}
	res, pos := s.aclCheck(u, cmd, args)
	switch res {
	case acl.OK:
		ctx.W.OK()
	case acl.DeniedCommand:
		ctx.W.BulkString("This user has no permissions to run the '" + cmd.fullLow + "' command")
	case acl.DeniedKey:
		ctx.W.BulkString("This user has no permissions to access the '" + string(args[pos]) + "' key")
	default:
		ctx.W.BulkString("This user has no permissions to access the '" + string(args[pos]) + "' channel")
	}
}

// errNoACLFile is ACL LOAD/SAVE's reply without an aclfile.
const errNoACLFile = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration."

func aclLoadCommand(ctx *Ctx) {
	path := ctx.S.Config.String("aclfile")
	if path == "" {
		ctx.Error(errNoACLFile)
		return
	}
	gone, err := ctx.S.loadACLFile(path)
	if err != nil {
		ctx.Error("ERR " + err.Error())
		return
	}
	ctx.S.disconnectUsers(ctx, gone)
	ctx.W.OK()
}

// loadACLFile reads the ACL file and loads it (all or nothing).
func (s *Server) loadACLFile(path string) ([]*acl.User, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		msg := err.Error()
		if pe, ok := err.(*os.PathError); ok {
			msg = cErrorString(pe.Err)
		}
		return nil, fmt.Errorf("Error loading ACLs, opening file '%s': %s", path, msg)
	}
	return s.acl.LoadText(string(data), path)
}

// cErrorString is strerror's wording for the common file errors.
func cErrorString(err error) string {
	switch {
	case os.IsNotExist(err):
		return "No such file or directory"
	case os.IsPermission(err):
		return "Permission denied"
	}
	return err.Error()
}

func aclSaveCommand(ctx *Ctx) {
	path := ctx.S.Config.String("aclfile")
	if path == "" {
		ctx.Error(errNoACLFile)
		return
	}
	tmp := fmt.Sprintf("%s.tmp-%d-%d", path, os.Getpid(), ctx.S.clock())
	err := os.WriteFile(tmp, []byte(ctx.S.acl.SaveText()), 0o644)
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		ctx.S.Log.Warningf("Writing ACL file for ACL SAVE: %v", err)
		ctx.Error("ERR There was an error trying to save the ACLs. Please check the server logs for more information")
		return
	}
	ctx.W.OK()
}

// LoadUsersAtStartup applies redis.conf's `user` lines, then the aclfile
// (Redis's ACLLoadUsersAtStartup); an error stops startup.
func (s *Server) LoadUsersAtStartup() error {
	path := s.Config.String("aclfile")
	if path != "" && len(s.Config.Users) > 0 {
		return fmt.Errorf("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.")
	}
	if err := s.acl.LoadConfigUsers(s.Config.Users); err != nil {
		return fmt.Errorf("%v\nCritical error while loading ACLs. Exiting.", err)
	}
	if path != "" {
		if _, err := s.loadACLFile(path); err != nil {
			return fmt.Errorf("Aborting Redis startup because of ACL errors: %v", err)
		}
	}
	return nil
}

// aclCatCommand replies the category names, or with a category the full
// names (container|sub included) of the commands in it.
func aclCatCommand(ctx *Ctx) {
	switch len(ctx.Args) {
	case 2:
		names := acl.CategoryNames()
		ctx.W.ArrayLen(len(names))
		for _, c := range names {
			ctx.W.BulkString(c)
		}
		return
	case 3:
	default:
		aclSyntaxError(ctx)
		return
	}
	flag := acl.CategoryFlag(string(ctx.Args[2]))
	if flag == 0 {
		ctx.Error("ERR Unknown category '" + truncate(ctx.Args[2], 128) + "'")
		return
	}
	names := ctx.S.acl.Table().InCategory(flag)
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

func aclHelpCommand(ctx *Ctx) {
	replyHelp(ctx, "ACL",
		"CAT [<category>]",
		"    List all commands that belong to <category>, or all command categories",
		"    when no category is specified.",
		"DELUSER <username> [<username> ...]",
		"    Delete a list of users.",
		"DRYRUN <username> <command> [<arg> ...]",
		"    Returns whether the user can execute the given command without executing the command.",
		"GETUSER <username>",
		"    Get the user's details.",
		"GENPASS [<bits>]",
		"    Generate a secure 256-bit user password. The optional `bits` argument can",
		"    be used to specify a different size.",
		"LIST",
		"    Show users details in config file format.",
		"LOAD",
		"    Reload users from the ACL file.",
		"LOG [<count> | RESET]",
		"    Show the ACL log entries.",
		"SAVE",
		"    Save the current config to the ACL file.",
		"SETUSER <username> <attribute> [<attribute> ...]",
		"    Create or modify a user with the specified attributes.",
		"USERS",
		"    List all the registered usernames.",
		"WHOAMI",
		"    Return the current connection username.")
}
