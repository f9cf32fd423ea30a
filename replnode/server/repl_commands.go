package server

import (
	"strconv"
	"strings"

	"github.com/replnode/replnode/replnode/replication"
)

// ------ REPLICATION COMMANDS ------

func init() {
	register(
		&Command{Name: "sync", Arity: 1, Flags: FlagAdmin | FlagNoScript | FlagNoAsyncLoading | FlagNoMulti, Group: "server",
			Handler: func(ctx *Ctx) { ctx.S.repl().syncCommand(ctx, false) }},
		&Command{Name: "psync", Arity: -3, Flags: FlagAdmin | FlagNoScript | FlagNoAsyncLoading | FlagNoMulti, Group: "server",
			Handler: func(ctx *Ctx) { ctx.S.repl().syncCommand(ctx, true) }},
		&Command{Name: "replconf", Arity: -1, Flags: FlagAdmin | FlagNoScript | FlagLoading | FlagStale | FlagAllowBusy, Group: "server",
			Handler: func(ctx *Ctx) { ctx.S.repl().replconfCommand(ctx) }},
		&Command{Name: "wait", Arity: 3, Flags: FlagNoScript, Group: "generic",
			Handler: func(ctx *Ctx) { ctx.S.repl().waitCommand(ctx) }},
		&Command{Name: "replicaof", Arity: 3, Flags: FlagAdmin | FlagNoScript | FlagStale | FlagNoAsyncLoading, Group: "server",
			Handler: replicaofCommand},
		&Command{Name: "slaveof", Arity: 3, Flags: FlagAdmin | FlagNoScript | FlagStale | FlagNoAsyncLoading, Group: "server",
			Handler: replicaofCommand},
		&Command{Name: "role", Arity: 1, Flags: FlagNoScript | FlagLoading | FlagStale | FlagFast, Group: "server",
			Handler: func(ctx *Ctx) { ctx.S.repl().roleCommand(ctx) }},
	)
}

// replicaofCommand is REPLICAOF host port | NO ONE.
func replicaofCommand(ctx *Ctx) {
	r := ctx.S.repl()
	s := ctx.S
	if r.fo.state != noFailover {
		ctx.Error("ERR REPLICAOF not allowed while failing over.")
		return
	}
	who := "id=" + strconv.FormatUint(ctx.C.ID, 10) + " addr=" + ctx.C.addr + " laddr=" + ctx.C.laddr + " name=" + ctx.C.Name
	if ctx.ArgIs(1, "no") && ctx.ArgIs(2, "one") {
		if s.IsReplica() {
			r.setNoOne()
			s.Log.Noticef("MASTER MODE enabled (user request from '%s')", who)
		}
		ctx.W.OK()
		return
	}
	port, ok := ctx.Int(2)
	if !ok {
		return
	}
	if port < 0 || port > 65535 {
		ctx.Error("ERR Invalid master port")
		return
	}
	host := ctx.Arg(1)
	if s.IsReplica() && strings.EqualFold(s.MasterHost, host) && s.MasterPort == int(port) {
		s.Log.Noticef("REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.")
		ctx.W.SimpleString("OK Already connected to specified master")
		return
	}
	r.setMaster(host, int(port), ctx.NowMs)
	s.Log.Noticef("REPLICAOF %s:%d enabled (user request from '%s')", host, port, who)
	ctx.W.OK()
}

// roleCommand is ROLE, as Redis 7.0 replies it.
func (r *replState) roleCommand(ctx *Ctx) {
	w := ctx.W
	if !r.s.IsReplica() {
		var online []*replication.Replica
		for _, rep := range r.replicas.List() {
			if rep.State == replication.ReplicaOnline {
				online = append(online, rep)
			}
		}
		w.ArrayLen(3)
		w.Bulk([]byte("master"))
		w.Int(r.id.Offset)
		w.ArrayLen(len(online))
		for _, rep := range online {
			w.ArrayLen(3)
			w.Bulk([]byte(rep.IP))
			w.Bulk([]byte(strconv.Itoa(rep.ListeningPort)))
			w.Bulk([]byte(strconv.FormatInt(rep.AckOffset, 10)))
		}
		return
	}
	w.ArrayLen(5)
	w.Bulk([]byte("slave"))
	w.Bulk([]byte(r.s.MasterHost))
	w.Int(int64(r.s.MasterPort))
	w.Bulk([]byte(r.link.State().RoleState()))
	off := int64(-1)
	if r.link.State() == replication.StateConnected {
		off = r.id.Offset
	}
	w.Int(off)
}
