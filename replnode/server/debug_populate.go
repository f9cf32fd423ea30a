package server

import (
	"strconv"

	"github.com/replnode/replnode/replnode/resp"
	"github.com/replnode/replnode/replnode/store"
)

// init registers DEBUG POPULATE, which benchmarks and test suites use to
// load many keys quickly.
func init() { registerDebug("populate", debugPopulateCommand) }

// debugPopulateCommand is DEBUG POPULATE count [prefix] [size], as Redis
// 7.0's debug.c: it creates keys "<prefix>:<n>" (prefix "key") for n in
// [0, count) holding "value:<n>", or, with size, that text cut or padded
// with zero bytes to exactly size bytes. Existing keys are left alone.
// Like every DEBUG subcommand it is not propagated to replicas and does not
// count as a change for save points, which is what Redis does.
func debugPopulateCommand(ctx *Ctx) {
	if len(ctx.Args) < 3 || len(ctx.Args) > 5 {
		ctx.Errorf("ERR unknown subcommand or wrong number of arguments for '%s'. Try DEBUG HELP.", ctx.Arg(1))
		return
	}
	count, ok := positiveArg(ctx, 2)
	if !ok {
		return
	}
	prefix := "key"
	if len(ctx.Args) > 3 {
		prefix = ctx.Arg(3)
	}
	size := int64(0)
	if len(ctx.Args) > 4 {
		if size, ok = positiveArg(ctx, 4); !ok {
			return
		}
	}
	ctx.NoPropagate()
	keyBuf := make([]byte, 0, len(prefix)+21)
	for n := int64(0); n < count; n++ {
		keyBuf = strconv.AppendInt(append(append(keyBuf[:0], prefix...), ':'), n, 10)
		if ctx.Exists(keyBuf) {
			continue
		}
		val := strconv.AppendInt([]byte("value:"), n, 10)
		if size > 0 {
			sized := make([]byte, size)
			copy(sized, val)
			val = sized
		}
		ctx.DB.SetString(keyBuf, val, store.EncTried, false, 0)
		ctx.S.notifyNewKey(keyBuf, ctx.DBNum)
	}
	ctx.W.SimpleString("OK")
}

// positiveArg parses argument i as Redis's getPositiveLongFromObjectOrReply:
// a non-integer and a negative number get the same error text there.
func positiveArg(ctx *Ctx, i int) (int64, bool) {
	n, ok := resp.ParseInt(ctx.Args[i])
	if !ok || n < 0 {
		ctx.Error("ERR value is out of range, must be positive")
		return 0, false
	}
	return n, true
}
