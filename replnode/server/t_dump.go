package server

import (
	"bytes"
	"errors"
	"strconv"

	"github.com/replnode/replnode/replnode/rdb"
	"github.com/replnode/replnode/replnode/store"
)

// ------ DUMP RESTORE ------
//
// DUMP serialises a value with the RDB encoder (plus RDB version and
// CRC64); RESTORE verifies and decodes such a payload, from replnode or
// from a real redis-server.

// init registers DUMP and RESTORE.
func init() {
	register(
		&Command{Name: "dump", Arity: 2, Flags: FlagReadOnly, Group: "keyspace", FirstKey: 1, LastKey: 1, Step: 1, Handler: dumpCommand},
		&Command{Name: "restore", Arity: -4, Flags: FlagWrite | FlagDenyOOM, Group: "keyspace", FirstKey: 1, LastKey: 1, Step: 1, Handler: restoreCommand},
	)
}

// dumpCommand is DUMP key: the payload, or nil for a missing key.
func dumpCommand(ctx *Ctx) {
	v := ctx.Lookup(ctx.Args[1])
	if v == nil {
		ctx.W.Null()
		return
	}
	ctx.W.Bulk(dumpPayloadFor(ctx.S, v))
}

// restoreCommand is RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME
// seconds] [FREQ frequency], following Redis 7.0's restoreCommand: options
// first, then BUSYKEY, the TTL, the payload; a TTL already in the past
// deletes the key (REPLACE) and stores nothing. A relative TTL propagates
// as an absolute one with ABSTTL.
func restoreCommand(ctx *Ctx) {
	replace, absTTL := false, false
	idle, freq := int64(-1), int64(-1)
	for j := 4; j < len(ctx.Args); j++ {
		more := len(ctx.Args) - j - 1
		switch {
		case ctx.ArgIs(j, "replace"):
			replace = true
		case ctx.ArgIs(j, "absttl"):
			absTTL = true
		case ctx.ArgIs(j, "idletime") && more >= 1 && freq == -1:
			n, ok := ctx.Int(j + 1)
			if !ok {
				return
			}
			if n < 0 {
				ctx.Error("ERR Invalid IDLETIME value, must be >= 0")
				return
			}
			idle = n
			j++
		case ctx.ArgIs(j, "freq") && more >= 1 && idle == -1:
			n, ok := ctx.Int(j + 1)
			if !ok {
				return
			}
			if n < 0 || n > 255 {
				ctx.Error("ERR Invalid FREQ value, must be >= 0 and <= 255")
				return
			}
			freq = n
			j++
		default:
			ctx.Error(ErrSyntax)
			return
		}
	}
	key := ctx.Args[1]
	if !replace && ctx.Exists(key) {
		ctx.Error("BUSYKEY Target key name already exists.")
		return
	}
	ttl, ok := ctx.Int(2)
	if !ok {
		return
	}
	if ttl < 0 {
		ctx.Error("ERR Invalid TTL value, must be >= 0")
		return
	}
	v, err := rdb.ParseDumpPayloadWith(ctx.Args[3], ctx.S.limits)
	if errors.Is(err, rdb.ErrBadDumpPayload) {
		ctx.Error("ERR DUMP payload version or checksum are wrong")
		return
	}
	if err != nil {
		ctx.S.Log.Warningf("RESTORE of key '%s': %v", key, err)
		ctx.Error("ERR Bad data format")
		return
	}
	deleted := false
	if replace {
		deleted = ctx.DeleteKey(key)
	}
	if ttl != 0 && !absTTL {
		ttl += ctx.NowMs
	}
	if ttl != 0 && ttl <= ctx.NowMs && !ctx.S.Loading && !ctx.S.IsReplica() {
		// Already expired: the key is gone (if REPLACE removed one).
		if deleted {
			ctx.RewriteStrings("DEL", string(key))
			ctx.Notify(NotifyGeneric, "del", key)
			ctx.Modified(1)
		}
		ctx.W.OK()
		return
	}
	k := bytes.Clone(key)
	ctx.SetKey(k, v, false)
	if ttl != 0 {
		ctx.DB.SetExpireAt(string(k), ttl)
		if !absTTL {
			args := make([][]byte, 0, len(ctx.Args)+1)
			args = append(args, ctx.Args...)
			args[2] = strconv.AppendInt(nil, ttl, 10)
			ctx.Rewrite(append(args, []byte("ABSTTL"))...)
		}
	}
	ctx.Notify(NotifyGeneric, "restore", key)
	ctx.Modified(1)
	ctx.W.OK()
}

// dumpPayloadFor is DUMP's payload for v under the server's settings.
func dumpPayloadFor(s *Server, v store.Value) []byte {
	return rdb.DumpPayload(v, rdb.Options{Compress: s.Config.Bool("rdbcompression")})
}
