package server_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/redistest"
)

// rawExchange writes payload on a fresh connection and reads what comes
// back until the server closes it or nothing more arrives for quiet. It
// returns the reply bytes and whether the server closed the connection.
func rawExchange(t *testing.T, addr string, payload []byte, quiet time.Duration) (string, bool) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Written concurrently: a server that stops reading must not block
	// the test.
	go func() { _, _ = conn.Write(payload) }()
	var got bytes.Buffer
	buf := make([]byte, 64*1024)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(quiet))
		n, err := conn.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return got.String(), false
			}
			if errors.Is(err, io.EOF) || strings.Contains(err.Error(), "reset") {
				return got.String(), true
			}
			t.Fatalf("read: %v", err)
		}
	}
}

// TestDifferentialQueryBufferLimits: the query buffer's hard limits of
// Redis 7.0's networking.c (a 64 KiB inline request or header line, an
// INT_MAX argument count, proto-max-bulk-len, the unauthenticated limits)
// and client-query-buffer-limit give the same reply, and the same closed
// or open connection, as redis-server.
func TestDifferentialQueryBufferLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("sends megabytes")
	}
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	pad := func(b byte, n int) string { return strings.Repeat(string(b), n) }
	bigSet := func(n int) string {
		return "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$" + strconv.Itoa(n) + "\r\n" + pad('v', n) + "\r\n"
	}
	cases := []struct {
		name    string
		config  [][]string // CONFIG SET before, on both
		payload string
		pause   bool // CLIENT PAUSE WRITE around the exchange
	}{
		{"inline request of 64 KiB without a newline waits", nil, pad('a', 64*1024), false},
		{"inline request past 64 KiB without a newline", nil, pad('a', 64*1024+10), false},
		{"inline request just under the limit", nil, "ECHO " + pad('a', 60*1024) + "\r\n", false},
		{"multibulk count line past 64 KiB", nil, "*" + pad('1', 70*1024), false},
		{"bulk count line past 64 KiB", nil, "*1\r\n$" + pad('1', 70*1024), false},
		{"multibulk count INT_MAX waits", nil, "*2147483647\r\n", false},
		{"multibulk count past INT_MAX", nil, "*2147483648\r\n", false},
		{"multibulk count past int64", nil, "*99999999999999999999\r\n", false},
		{"multibulk count with a plus", nil, "*+1\r\n$4\r\nPING\r\n", false},
		{"negative multibulk count is empty", nil, "*-5\r\nPING\r\n", false},
		{"negative bulk length", nil, "*1\r\n$-1\r\n", false},
		{"bulk length past proto-max-bulk-len", [][]string{{"proto-max-bulk-len", "1048576"}}, "*1\r\n$1048577\r\n", false},
		{"bulk length at proto-max-bulk-len waits", [][]string{{"proto-max-bulk-len", "1048576"}}, "*1\r\n$1048576\r\n", false},
		{"unauthenticated multibulk count over 10", [][]string{{"requirepass", "pw"}}, "*11\r\n", false},
		{"unauthenticated multibulk count of 10", [][]string{{"requirepass", "pw"}}, "*10\r\n", false},
		{"unauthenticated bulk over 16384", [][]string{{"requirepass", "pw"}}, "*2\r\n$4\r\nAUTH\r\n$16385\r\n", false},
		{"unauthenticated bulk of 16384", [][]string{{"requirepass", "pw"}}, "*2\r\n$4\r\nAUTH\r\n$16384\r\n" + pad('p', 16384) + "\r\n", false},
		// client-query-buffer-limit: a bulk bigger than the limit closes
		// the connection, with no reply, before it is complete.
		{"bulk past client-query-buffer-limit", [][]string{{"client-query-buffer-limit", "1mb"}}, bigSet(1536 * 1024), false},
		{"bulk under client-query-buffer-limit", [][]string{{"client-query-buffer-limit", "1mb"}}, bigSet(900 * 1024), false},
		// Many small commands add up past the limit, but each is parsed
		// as it arrives: the buffer never holds them all.
		{"pipeline past client-query-buffer-limit", [][]string{{"client-query-buffer-limit", "1mb"}}, strings.Repeat("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\n"+pad('x', 100)+"\r\n", 20000), false},
		// A blocked client keeps reading: what it sends meanwhile stays in
		// its query buffer and counts against the limit.
		{"blocked client's input past client-query-buffer-limit", [][]string{{"client-query-buffer-limit", "1mb"}}, "BLPOP nolist 0\r\n" + bigSet(1536*1024), false},
		{"blocked client's input under client-query-buffer-limit", [][]string{{"client-query-buffer-limit", "1mb"}}, "BLPOP nolist 0\r\n" + bigSet(900*1024), false},
		// So does a client held by CLIENT PAUSE.
		{"paused client's input past client-query-buffer-limit", [][]string{{"client-query-buffer-limit", "1mb"}}, "SET a b\r\n" + bigSet(1536*1024), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var replies [2]string
			var closed [2]bool
			for i, in := range []*redistest.Instance{real, ours} {
				c := in.Dial(t)
				for _, kv := range tc.config {
					c.MustDo(t, "CONFIG", "SET", kv[0], kv[1])
				}
				if tc.pause {
					c.MustDo(t, "CLIENT", "PAUSE", "5000", "WRITE")
				}
				replies[i], closed[i] = rawExchange(t, in.Addr, []byte(tc.payload), 700*time.Millisecond)
				if tc.pause {
					c.MustDo(t, "CLIENT", "UNPAUSE")
				}
				if len(tc.config) > 0 {
					// Restore the defaults (AUTH first when a password was set).
					if _, err := c.Do("CONFIG", "SET", "proto-max-bulk-len", "536870912", "client-query-buffer-limit", "1gb", "requirepass", ""); err != nil {
						t.Fatal(err)
					}
				}
				c.MustDo(t, "DEL", "k")
			}
			short := func(s string) string {
				if len(s) > 200 {
					return s[:200] + "... (" + strconv.Itoa(len(s)) + " bytes)"
				}
				return s
			}
			if replies[0] != replies[1] || closed[0] != closed[1] {
				t.Fatalf("redis-server: closed=%v %q\nreplnode:     closed=%v %q", closed[0], short(replies[0]), closed[1], short(replies[1]))
			}
		})
	}
	// The server that closed clients for their query buffer keeps serving.
	for _, in := range []*redistest.Instance{real, ours} {
		if r := in.Dial(t).MustDo(t, "PING"); r.Str != "PONG" {
			t.Fatalf("%s: PING = %v", in.Addr, r)
		}
	}
}

// TestDifferentialPausedClientGoneIsFreed: a client whose write CLIENT
// PAUSE holds and whose connection then closes is freed at once, as
// redis-server frees a postponed client, and its input read meanwhile
// runs when the pause ends if it stays.
func TestDifferentialPausedClientGoneIsFreed(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	for _, in := range []*redistest.Instance{real, ours} {
		c := in.Dial(t)
		c.MustDo(t, "CLIENT", "PAUSE", "10000", "WRITE")
		gone, err := net.Dial("tcp", in.Addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = gone.Write([]byte("SET gone 1\r\n"))
		stays := in.Dial(t)
		if err := stays.Send("SET", "a", "1"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		if err := stays.Send("INCR", "a"); err != nil { // arrives while held
			t.Fatal(err)
		}
		_ = gone.Close()
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(c.MustDo(t, "INFO", "clients").Str, "connected_clients:2\r\n") {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the paused client that went away is still connected:\n%s", in.Addr, c.MustDo(t, "CLIENT", "LIST").Str)
			}
			time.Sleep(20 * time.Millisecond)
		}
		c.MustDo(t, "CLIENT", "UNPAUSE")
		if r, err := stays.Receive(); err != nil || r.Str != "OK" {
			t.Fatalf("%s: held SET = %v %v", in.Addr, r, err)
		}
		if r, err := stays.Receive(); err != nil || r.Int != 2 {
			t.Fatalf("%s: INCR read while held = %v %v", in.Addr, r, err)
		}
		if r := c.MustDo(t, "EXISTS", "gone"); r.Int != 0 {
			t.Fatalf("%s: the gone client's write ran", in.Addr)
		}
	}
}
