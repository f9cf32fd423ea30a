package server

// ---------------------------------------------------------------- connection
//
// PING, ECHO, SELECT, AUTH, HELLO, RESET (QUIT is answered by dispatch).

func init() {
	register(
		&Command{Name: "ping", Arity: -1, Flags: FlagFast, Group: "connection", Handler: pingCommand},
		&Command{Name: "echo", Arity: 2, Flags: FlagLoading | FlagStale | FlagFast, Group: "connection", Handler: echoCommand},
		&Command{Name: "select", Arity: 2, Flags: FlagLoading | FlagStale | FlagFast, Group: "connection", Handler: selectCommand},
		&Command{Name: "auth", Arity: -2, Flags: FlagNoScript | FlagLoading | FlagStale | FlagFast | FlagNoAuth | FlagAllowBusy, Group: "connection", Handler: authCommand},
		&Command{Name: "hello", Arity: -1, Flags: FlagNoScript | FlagLoading | FlagStale | FlagFast | FlagNoAuth | FlagAllowBusy, Group: "connection", Handler: helloCommand},
		&Command{Name: "reset", Arity: 1, Flags: FlagNoScript | FlagLoading | FlagStale | FlagFast | FlagNoAuth | FlagAllowBusy, Group: "connection", Handler: resetCommand},
		&Command{Name: "quit", Arity: -1, Flags: FlagNoScript | FlagLoading | FlagStale | FlagFast | FlagNoAuth | FlagAllowBusy, Group: "connection", Handler: func(ctx *Ctx) {
			ctx.W.OK()
			ctx.C.flags |= ClientCloseAfterReply
		}},
	)
}

func pingCommand(ctx *Ctx) {
	if len(ctx.Args) > 2 {
		ctx.ArityError()
		return
	}
	if ctx.C.flags&ClientPubSub != 0 && ctx.C.Proto() == 2 {
		ctx.W.ArrayLen(2)
		ctx.W.BulkString("pong")
		if len(ctx.Args) == 1 {
			ctx.W.BulkString("")
		} else {
			ctx.W.Bulk(ctx.Args[1])
		}
		return
	}
	if len(ctx.Args) == 1 {
		ctx.W.SimpleString("PONG")
		return
	}
	ctx.W.Bulk(ctx.Args[1])
}

func echoCommand(ctx *Ctx) { ctx.W.Bulk(ctx.Args[1]) }

func selectCommand(ctx *Ctx) {
	n, ok := ctx.Int(1)
	if !ok {
		return
	}
	if n < 0 || n >= int64(len(ctx.S.Keyspace.DBs)) {
		ctx.Error(ErrDBIndex)
		return
	}
	ctx.SelectDB(int(n))
	ctx.W.OK()
}

func authCommand(ctx *Ctx) {
	if len(ctx.Args) > 3 {
		ctx.Error(ErrSyntax)
		return
	}
	ctx.Redact(1)
	user, pass := []byte("default"), ctx.Args[1]
	if len(ctx.Args) == 3 {
		user, pass = ctx.Args[1], ctx.Args[2]
		ctx.Redact(2)
	} else if ctx.S.acl.Default.NoPass() {
		ctx.Error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
		return
	}
	if !ctx.S.authenticate(ctx, user, pass) {
		return
	}
	ctx.W.OK()
}

func helloCommand(ctx *Ctx) {
	c := ctx.C
	ver := int64(0)
	next := 1
	if len(ctx.Args) >= 2 {
		v, ok := ctx.IntMsg(1, "ERR Protocol version is not an integer or out of range")
		if !ok {
			return
		}
		if v < 2 || v > 3 {
			ctx.Error("NOPROTO unsupported protocol version")
			return
		}
		ver = v
		next = 2
	}
	var name []byte
	hasName := false
	for j := next; j < len(ctx.Args); j++ {
		more := len(ctx.Args) - j - 1
		switch {
		case ctx.ArgIs(j, "auth") && more >= 2:
			ctx.Redact(j + 1)
			ctx.Redact(j + 2)
			if !ctx.S.authenticate(ctx, ctx.Args[j+1], ctx.Args[j+2]) {
				return
			}
			j += 2
		case ctx.ArgIs(j, "setname") && more >= 1:
			name, hasName = ctx.Args[j+1], true
			j++
		default:
			ctx.Errorf("ERR Syntax error in HELLO option '%s'", ctx.Args[j])
			return
		}
	}
	if !c.authenticated {
		ctx.Error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	if hasName {
		if !validClientName(name) {
			ctx.Error("ERR Client names cannot contain spaces, newlines or special characters.")
			return
		}
		c.Name = string(name)
	}
	if ver != 0 {
		c.w.SetProto(int(ver))
	}
	role := "master"
	if ctx.S.IsReplica() {
		role = "replica"
	}
	w := ctx.W
	w.MapLen(7)
	w.BulkString("server")
	w.BulkString("redis")
	w.BulkString("version")
	w.BulkString(Version)
	w.BulkString("proto")
	w.Int(int64(c.Proto()))
	w.BulkString("id")
	w.Int(int64(c.ID))
	w.BulkString("mode")
	w.BulkString("standalone")
	w.BulkString("role")
	w.BulkString(role)
	w.BulkString("modules")
	w.ArrayLen(0)
}

// validClientName accepts printable ASCII without spaces, as Redis.
func validClientName(b []byte) bool {
	for _, ch := range b {
		if ch < '!' || ch > '~' {
			return false
		}
	}
	return true
}

func resetCommand(ctx *Ctx) {
	s, c := ctx.S, ctx.C
	s.discardTransaction(c)
	s.pubsubUnsubscribeAll(c, false)
	s.removeMonitor(c)
	s.disableTracking(c)
	c.flags &^= ClientMonitor | ClientNoReply | ClientSkipReply | ClientNoEvict
	c.Name = ""
	ctx.SelectDB(0)
	c.w.SetProto(2)
	s.setDefaultAuth(c)
	ctx.W.SimpleString("RESET")
}
