package server

import (
	"strings"
	"testing"

	"github.com/replnode/replnode/replnode/store"
)

// registerForTest adds commands to the table for one test only.
func registerForTest(t *testing.T, cmds ...*Command) {
	t.Helper()
	register(cmds...)
	t.Cleanup(func() {
		for _, c := range cmds {
			delete(commandTable, c.Name)
		}
		rebuildCommandIndex(len(commandIndex))
	})
}

// TestHandlerPanicIsRecovered injects commands that panic half-way through
// (after writing part of a reply, after changing a key) and checks that the
// node answers an error, counts the panic, propagates nothing and keeps
// serving, alone and inside MULTI/EXEC.
func TestHandlerPanicIsRecovered(t *testing.T) {
	registerForTest(t,
		&Command{Name: "xtest-panic-write", Arity: 2, Flags: FlagWrite, Group: "string", FirstKey: 1, LastKey: 1, Step: 1,
			Handler: func(ctx *Ctx) {
				ctx.W.ArrayLen(3)
				ctx.W.Bulk([]byte("partial"))
				ctx.SetKey(ctx.Args[1], store.NewString([]byte("half")), false)
				ctx.Modified(1)
				var m map[string]int
				m["boom"]++
			}},
		&Command{Name: "xtest-panic-read", Arity: 1, Flags: FlagReadOnly, Group: "string",
			Handler: func(ctx *Ctx) {
				var s []int
				_ = s[len(ctx.Args)]
			}},
	)
	n := newCoreNode(t)
	var propagated []string
	n.s.mu.Lock()
	n.s.Propagator = func(db int, args [][]byte) {
		propagated = append(propagated, string(args[0]))
	}
	n.s.mu.Unlock()
	n.run(transcript{
		{cmd("XTEST-PANIC-READ"), "(error) ERR internal error in 'xtest-panic-read'"},
		{cmd("PING"), "PONG"},
		{cmd("SET", "a", "1"), "OK"},
		{cmd("XTEST-PANIC-WRITE", "b"), "(error) ERR internal error in 'xtest-panic-write'"},
		{cmd("MULTI"), "OK"},
		{cmd("INCR", "a"), "QUEUED"},
		{cmd("XTEST-PANIC-WRITE", "c"), "QUEUED"},
		{cmd("INCR", "a"), "QUEUED"},
		{cmd("EXEC"), "[(integer) 2, (error) ERR internal error in 'xtest-panic-write', (integer) 3]"},
		{cmd("GET", "a"), `"3"`},
		{cmd("GET", "b"), `"half"`},
	})
	info := n.do("INFO", "stats")
	for _, want := range []string{"command_panics:3", "write_command_panics:2"} {
		if !strings.Contains(info, want) {
			t.Errorf("INFO stats lacks %s:\n%s", want, info)
		}
	}
	if errs := n.do("INFO", "errorstats"); !strings.Contains(errs, "errorstat_ERR:count=3") {
		t.Errorf("errorstats: %s", errs)
	}
	for _, p := range propagated {
		if strings.HasPrefix(strings.ToLower(p), "xtest") {
			t.Errorf("panicked command propagated: %q", propagated)
		}
	}
}
