package server_test

import (
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/redistest"
	"github.com/replnode/replnode/replnode/scripting"
)

// TestDifferentialBusyScript: past busy-reply-threshold a running script
// makes other clients get -BUSY, SCRIPT KILL stops it (its caller gets
// the kill error), and a script that wrote cannot be killed; replies
// compared with redis-server 7.0.
func TestDifferentialBusyScript(t *testing.T) {
	real := redistest.StartRedis(t, "busy-reply-threshold 100")
	ours := redistest.StartInProcess(t, "busy-reply-threshold 100")
	for _, srv := range []struct {
		name string
		in   *redistest.Instance
	}{{"redis", real}, {"replnode", ours}} {
		t.Run(srv.name, func(t *testing.T) {
			runner, other := srv.in.Dial(t), srv.in.Dial(t)
			loop := "local i = 0 while true do i = i + 1 end"
			if err := runner.Send("EVAL", loop, "0"); err != nil {
				t.Fatal(err)
			}
			waitBusy(t, other)
			for _, args := range [][]string{{"GET", "x"}, {"SET", "x", "1"}, {"EVAL", "return 1", "0"}} {
				if r := other.MustDo(t, args...); r.Str != "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE." {
					t.Fatalf("%q during a busy script = %v", args, r)
				}
			}
			if r := other.MustDo(t, "SCRIPT", "KILL"); r.Str != "OK" {
				t.Fatalf("SCRIPT KILL = %v", r)
			}
			r, err := runner.Receive()
			if err != nil {
				t.Fatal(err)
			}
			if want := "ERR Script killed by user with SCRIPT KILL... script: " + scripting.SHA1Hex([]byte(loop)) + ", on @user_script:1."; r.Str != want {
				t.Fatalf("killed script's reply = %v, want %s", r, want)
			}
			if r := other.MustDo(t, "SET", "x", "1"); r.Str != "OK" {
				t.Fatalf("SET after the kill = %v", r)
			}
			if r := other.MustDo(t, "SCRIPT", "KILL"); r.Str != "NOTBUSY No scripts in execution right now." {
				t.Fatalf("SCRIPT KILL with no script = %v", r)
			}

			// A script that wrote is unkillable; it ends on its own.
			writer := "redis.call('set', 'w', 1) local function now() local t = redis.call('time') return t[1] + t[2] / 1e6 end " +
				"local t0 = now() while now() - t0 < 1 do end return redis.call('incr', 'w')"
			if err := runner.Send("EVAL", writer, "0"); err != nil {
				t.Fatal(err)
			}
			waitBusy(t, other)
			if r := other.MustDo(t, "SCRIPT", "KILL"); r.Str != "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command." {
				t.Fatalf("SCRIPT KILL of a writer = %v", r)
			}
			r, err = runner.Receive()
			if err != nil {
				t.Fatal(err)
			}
			if r.Int != 2 {
				t.Fatalf("writer script = %v", r)
			}
			if r := other.MustDo(t, "GET", "w"); r.Str != "2" {
				t.Fatalf("w = %v", r)
			}

			// A busy function: BUSY names FUNCTION KILL, SCRIPT KILL
			// does not stop it, FUNCTION KILL does.
			other.MustDo(t, "FUNCTION", "LOAD", "REPLACE", "#!lua name=spin\nredis.register_function('spin', function() local i = 0 while true do i = i + 1 end end)")
			if err := runner.Send("FCALL", "spin", "0"); err != nil {
				t.Fatal(err)
			}
			waitBusy(t, other)
			busyFn := "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
			if r := other.MustDo(t, "GET", "x"); r.Str != busyFn {
				t.Fatalf("GET during a busy function = %v", r)
			}
			if r := other.MustDo(t, "SCRIPT", "KILL"); r.Str != busyFn {
				t.Fatalf("SCRIPT KILL of a function = %v", r)
			}
			// FUNCTION STATS names the running function and the command
			// that called it.
			if r := other.MustDo(t, "FUNCTION", "STATS"); len(r.Elems) != 4 || len(r.Elems[1].Elems) != 6 ||
				r.Elems[1].Elems[1].Str != "spin" || r.Elems[1].Elems[3].String() != `["FCALL", "spin", "0"]` {
				t.Fatalf("FUNCTION STATS during a busy function = %v", r)
			}
			if r := other.MustDo(t, "FUNCTION", "KILL"); r.Str != "OK" {
				t.Fatalf("FUNCTION KILL = %v", r)
			}
			r, err = runner.Receive()
			if err != nil {
				t.Fatal(err)
			}
			if want := "ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2."; r.Str != want {
				t.Fatalf("killed function's reply = %v, want %s", r, want)
			}
		})
	}
}

// waitBusy waits until c gets -BUSY for PING.
func waitBusy(t *testing.T, c *redistest.Client) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if r := c.MustDo(t, "PING"); r.IsError() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the script never became busy")
}
