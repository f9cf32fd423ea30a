package server

import "github.com/replnode/replnode/replnode/acl"

// ---------------------------------------------------------------- transactions
//
// MULTI, EXEC, DISCARD, WATCH, UNWATCH, as Redis 7.0's multi.c: commands
// are queued after the shared checks; a check failing while queueing marks
// the transaction so EXEC answers -EXECABORT; a watched key modified (or
// expired) since WATCH makes EXEC answer a null array.

func init() {
	register(
		&Command{Name: "multi", Arity: 1, Flags: FlagNoScript | FlagLoading | FlagStale | FlagFast | FlagAllowBusy, Group: "transactions", Handler: multiCommand},
		&Command{Name: "exec", Arity: 1, Flags: FlagNoScript | FlagLoading | FlagStale | FlagSkipSlowlog, Group: "transactions", Handler: execCommand},
		&Command{Name: "discard", Arity: 1, Flags: FlagNoScript | FlagLoading | FlagStale | FlagFast | FlagAllowBusy, Group: "transactions", Handler: discardCommand},
		&Command{Name: "watch", Arity: -2, Flags: FlagNoScript | FlagLoading | FlagStale | FlagFast | FlagAllowBusy, Group: "transactions", FirstKey: 1, LastKey: -1, Step: 1, Handler: watchCommand},
		&Command{Name: "unwatch", Arity: 1, Flags: FlagNoScript | FlagLoading | FlagStale | FlagFast | FlagAllowBusy, Group: "transactions", Handler: unwatchCommand},
	)
}

// watchKey names a key in one database.
type watchKey struct {
	db  int
	key string
}

// queuedCommand is a command waiting for EXEC, with its own copy of args.
type queuedCommand struct {
	cmd  *Command
	args [][]byte
}

// multiState is a client's transaction.
type multiState struct {
	active bool
	// dirty: a command was refused while queueing (EXECABORT).
	dirty bool
	// dirtyCAS: a watched key was modified.
	dirtyCAS bool
	cmds     []queuedCommand
	// flags is the union of the queued commands' flags.
	flags   Flags
	watched []watchedKey
}

type watchedKey struct {
	watchKey
	expiredAtWatch bool
}

// queue appends a command to the transaction.
func (m *multiState) queue(cmd *Command, args [][]byte) {
	m.cmds = append(m.cmds, queuedCommand{cmd: cmd, args: cloneArgs(args)})
	m.flags |= cmd.Flags
}

// multiCommand starts a transaction.
func multiCommand(ctx *Ctx) {
	if ctx.C.multi.active {
		ctx.Error("ERR MULTI calls can not be nested")
		return
	}
	ctx.C.multi.active = true
	ctx.W.OK()
}

// discardCommand drops the queued commands and the watches.
func discardCommand(ctx *Ctx) {
	if !ctx.C.multi.active {
		ctx.Error("ERR DISCARD without MULTI")
		return
	}
	ctx.S.discardTransaction(ctx.C)
	ctx.W.OK()
}

// discardTransaction resets a client's transaction state and unwatches.
func (s *Server) discardTransaction(c *Client) {
	c.multi.active = false
	c.multi.dirty = false
	c.multi.cmds = nil
	c.multi.flags = 0
	s.unwatchAll(c)
}

// execCommand runs the queued commands atomically.
func execCommand(ctx *Ctx) {
	s, c := ctx.S, ctx.C
	if !c.multi.active {
		ctx.Error("ERR EXEC without MULTI")
		return
	}
	if c.multi.dirty {
		ctx.Error("EXECABORT Transaction discarded because of previous errors.")
		s.discardTransaction(c)
		return
	}
	if s.watchedKeyExpired(c, ctx.NowMs) {
		c.multi.dirtyCAS = true
	}
	if c.multi.dirtyCAS {
		ctx.W.NullArray()
		s.discardTransaction(c)
		return
	}
	cmds := c.multi.cmds
	s.unwatchAll(c)
	c.multi.active = false
	c.multi.cmds = nil
	c.multi.flags = 0
	ctx.W.ArrayLen(len(cmds))
	now := ctx.NowMs
	for _, q := range cmds {
		// A write queued on a master that became a read-only replica
		// meanwhile fails alone, as in Redis.
		if q.cmd.Flags&FlagWrite != 0 && s.IsReplica() && s.hot.replicaReadOnly && c.flags&ClientMaster == 0 {
			s.countError(ErrReadOnly)
			c.w.Error("EXECABORT Transaction discarded because of: " + ErrReadOnly)
			continue
		}
		// ACL rules may have changed since the command was queued.
		if res, denied := s.aclDenied(c, q.cmd, q.args, "multi"); denied {
			msg := "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: " + execDenialReason(res)
			s.countError(msg)
			c.w.Error(msg)
			continue
		}
		inner := &Ctx{}
		inner.init(s, c)
		inner.reset(q.cmd, q.args, now)
		s.call(inner, q.cmd)
	}
	// EXEC itself is not propagated: the commands it ran were, and
	// flushPropagation wraps them in MULTI/EXEC.
}

// watchCommand watches keys for the next EXEC.
func watchCommand(ctx *Ctx) {
	c := ctx.C
	if c.multi.active {
		ctx.Error("ERR WATCH inside MULTI is not allowed")
		return
	}
	for _, k := range ctx.Args[1:] {
		wk := watchKey{ctx.DBNum, string(k)}
		dup := false
		for _, w := range c.multi.watched {
			if w.watchKey == wk {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		expired := ctx.DB.IsExpired(wk.key, ctx.NowMs)
		c.multi.watched = append(c.multi.watched, watchedKey{wk, expired})
		ctx.S.watched[wk] = append(ctx.S.watched[wk], c)
	}
	ctx.W.OK()
}

// unwatchCommand forgets the watched keys.
func unwatchCommand(ctx *Ctx) {
	ctx.S.unwatchAll(ctx.C)
	ctx.C.multi.dirtyCAS = false
	ctx.W.OK()
}

// unwatchAll removes every watch of c and clears its CAS flag.
func (s *Server) unwatchAll(c *Client) {
	for _, w := range c.multi.watched {
		list := s.watched[w.watchKey]
		for i, wc := range list {
			if wc == c {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(s.watched, w.watchKey)
		} else {
			s.watched[w.watchKey] = list
		}
	}
	c.multi.watched = nil
	c.multi.dirtyCAS = false
}

// watchedKeyExpired reports whether a key that was live at WATCH has
// expired since (Redis 7.0 aborts EXEC then).
func (s *Server) watchedKeyExpired(c *Client, now int64) bool {
	for _, w := range c.multi.watched {
		if w.expiredAtWatch {
			continue
		}
		if s.Keyspace.DBs[w.db].IsExpired(w.key, now) {
			return true
		}
	}
	return false
}

// signalModifiedKey invalidates the transactions watching key and the
// client side caches tracking it, as Redis's signalModifiedKey. Every handler that changes a key
// calls it (Ctx.SetKey, DeleteKey and Touched do).
func (s *Server) signalModifiedKey(db int, key []byte) {
	if s.tracking.used {
		s.trackingInvalidateKey(key, true)
	}
	if len(s.watched) == 0 {
		return
	}
	for _, c := range s.watched[watchKey{db, string(key)}] {
		c.multi.dirtyCAS = true
	}
}

// SignalModifiedKey is signalModifiedKey for other packages' seams.
func (s *Server) SignalModifiedKey(db int, key []byte) { s.signalModifiedKey(db, key) }

// touchAllWatchedKeysInDB invalidates watchers of db's keys (FLUSHDB,
// FLUSHALL, SWAPDB): a key is touched if it exists in db, or in other
// (the database swapped in), as Redis's touchAllWatchedKeysInDb.
func (s *Server) touchAllWatchedKeysInDB(db int, other int) {
	for wk, clients := range s.watched {
		if wk.db != db {
			continue
		}
		_, inDB := s.Keyspace.DBs[db].Peek(wk.key)
		inOther := false
		if other >= 0 {
			_, inOther = s.Keyspace.DBs[other].Peek(wk.key)
		}
		if inDB || inOther {
			for _, c := range clients {
				c.multi.dirtyCAS = true
			}
		}
	}
}

// execDenialReason is why EXEC refuses a queued command the ACL rules no
// longer allow, in Redis 7.0's words.
func execDenialReason(res acl.Result) string {
	switch res {
	case acl.DeniedCommand:
		return "no permission to execute the command or subcommand"
	case acl.DeniedKey:
		return "no permission to touch the specified keys"
	case acl.DeniedChannel:
		return "no permission to access one of the channels used as arguments"
	}
	return "no permission"
}
