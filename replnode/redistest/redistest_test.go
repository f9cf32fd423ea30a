package redistest

import (
	"strings"
	"testing"
)

func TestInProcessAndClient(t *testing.T) {
	in := StartInProcess(t)
	c := in.Dial(t)
	if r := c.MustDo(t, "SET", "k", "v"); r.String() != "OK" {
		t.Fatal(r)
	}
	if r := c.MustDo(t, "GET", "k"); r.String() != `"v"` {
		t.Fatal(r)
	}
	// Pipelining: several commands in one write, replies in order.
	for _, a := range [][]string{{"INCR", "n"}, {"INCR", "n"}, {"GET", "n"}} {
		if err := c.Send(a...); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for i := 0; i < 3; i++ {
		r, err := c.Receive()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.String())
	}
	if strings.Join(got, " ") != `(integer) 1 (integer) 2 "2"` {
		t.Fatal(got)
	}
}

func TestRealRedisDiff(t *testing.T) {
	real := StartRedis(t)
	ours := StartInProcess(t)
	d := NewDiff(t, real, ours)
	d.Do("SET", "a", "1")
	d.Do("GET", "a")
	d.Do("INCRBYFLOAT", "a", "0.1")
	d.DoSorted("KEYS", "*")
}
