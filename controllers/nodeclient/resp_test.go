package nodeclient

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startRedis starts the real redis-server on a free loopback port with the
// given extra arguments and returns its address; it is stopped at cleanup.
func startRedis(t *testing.T, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed (make test-deps)")
	}
	return startServer(t, path, args...)
}

// startServer starts the server binary at path (redis-server or replnode,
// which take the same arguments) on a free loopback port with the given
// extra arguments and returns its address; it is stopped at cleanup.
func startServer(t *testing.T, path string, args ...string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	all := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"}, args...)
	cmd := exec.Command(path, all...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not start: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRESPAgainstRealRedis runs every Client method against redis-server 7.0:
// a master with a password and a replica made to follow it with REPLICAOF.
func TestRESPAgainstRealRedis(t *testing.T) {
	ctx := context.Background()
	c := &RESP{Timeout: 10 * time.Second}
	masterAddr := startRedis(t, "--requirepass", "s3cret", "--masterauth", "s3cret")
	replicaAddr := startRedis(t, "--requirepass", "s3cret", "--masterauth", "s3cret")
	master := Node{Addr: masterAddr, Password: "s3cret"}
	replica := Node{Addr: replicaAddr, Password: "s3cret"}

	if err := c.Ping(ctx, master); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	err := c.Ping(ctx, Node{Addr: masterAddr, Password: "wrong"})
	if !IsServerError(err) || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("Ping with a wrong password: want a server error without the password, got %v", err)
	}
	err = c.Ping(ctx, Node{Addr: masterAddr})
	if !IsServerError(err) || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("Ping without password: want NOAUTH, got %v", err)
	}

	host, portText, _ := net.SplitHostPort(masterAddr)
	port, _ := strconv.Atoi(portText)
	if err := c.ReplicaOf(ctx, replica, host, port); err != nil {
		t.Fatalf("ReplicaOf: %v", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		info, err := c.InfoReplication(ctx, replica)
		if err != nil {
			t.Fatalf("InfoReplication: %v", err)
		}
		if strings.Contains(info, "master_link_status:up") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica link never came up:\n%s", info)
		}
		time.Sleep(100 * time.Millisecond)
	}
	role, err := c.Role(ctx, replica)
	if err != nil || role.Role != "slave" || role.MasterHost != host || role.MasterPort != port || role.LinkState != "connected" {
		t.Fatalf("replica ROLE = %+v, %v", role, err)
	}
	deadline = time.Now().Add(60 * time.Second)
	for {
		role, err = c.Role(ctx, master)
		if err != nil || role.Role != "master" {
			t.Fatalf("master ROLE = %+v, %v", role, err)
		}
		if len(role.Replicas) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("master never listed its replica: %+v", role)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if role.Replicas[0].Host != "127.0.0.1" {
		t.Fatalf("master ROLE replica = %+v", role.Replicas[0])
	}

	if err := c.ConfigSet(ctx, master, "maxmemory", "10mb"); err != nil {
		t.Fatalf("ConfigSet: %v", err)
	}
	if err := c.ConfigSet(ctx, master, "no-such-parameter", "1"); !IsServerError(err) {
		t.Fatalf("ConfigSet of an unknown parameter: want a server error, got %v", err)
	}
	if err := c.ClientPause(ctx, master, 5*time.Second); err != nil {
		t.Fatalf("ClientPause: %v", err)
	}
	if err := c.ClientUnpause(ctx, master); err != nil {
		t.Fatalf("ClientUnpause: %v", err)
	}
	// CLIENT KILL TYPE normal drops another client's connection, not its own.
	writer, err := net.Dial("tcp", masterAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	if _, err := writer.Write([]byte("AUTH s3cret\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if n, err := writer.Read(buf); err != nil || string(buf[:n]) != "+OK\r\n" {
		t.Fatalf("AUTH on the writer's connection: %q %v", buf[:n], err)
	}
	if err := c.ClientKillNormal(ctx, master); err != nil {
		t.Fatalf("ClientKillNormal: %v", err)
	}
	_ = writer.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := writer.Read(buf); err == nil {
		t.Fatalf("the writer's connection survived CLIENT KILL TYPE normal: read %q", buf[:n])
	}
	if err := c.ReplicaOf(ctx, replica, "", 0); err != nil {
		t.Fatalf("ReplicaOf NO ONE: %v", err)
	}
	if role, err := c.Role(ctx, replica); err != nil || role.Role != "master" {
		t.Fatalf("promoted replica ROLE = %+v, %v", role, err)
	}
}

// TestRESPUnreachable reports a connection error, not a server error.
func TestRESPUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	err = (&RESP{Timeout: 2 * time.Second}).Ping(context.Background(), Node{Addr: addr})
	if err == nil || IsServerError(err) {
		t.Fatalf("Ping of a closed port: want a connection error, got %v", err)
	}
}

// TestReadReply decodes each RESP2 reply type and rejects malformed input.
func TestReadReply(t *testing.T) {
	cases := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: "+OK\r\n", want: "OK"},
		{in: ":42\r\n", want: "42"},
		{in: "$5\r\nhello\r\n", want: "hello"},
		{in: "$-1\r\n", want: "<nil>"},
		{in: "*2\r\n$1\r\na\r\n:1\r\n", want: "[a 1]"},
		{in: "-ERR boom\r\n", wantErr: "ERR boom"},
		{in: "$99999999999\r\n", wantErr: "bad bulk length"},
		{in: "*-5\r\n", wantErr: "bad array length"},
		{in: "$3\r\nabcde", wantErr: "not terminated"},
		{in: "?x\r\n", wantErr: "unexpected reply type"},
		{in: "+OK\n", wantErr: "not terminated by CRLF"},
	}
	for _, c := range cases {
		v, err := readReply(bufio.NewReader(strings.NewReader(c.in)))
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("readReply(%q) error = %v, want %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("readReply(%q): %v", c.in, err)
			continue
		}
		if got := formatAny(v); got != c.want {
			t.Errorf("readReply(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

// formatAny renders a decoded reply compactly for comparisons.
func formatAny(v any) string {
	switch x := v.(type) {
	case nil:
		return "<nil>"
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case []any:
		parts := []string{}
		for _, e := range x {
			parts = append(parts, formatAny(e))
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return "?"
}

// TestParseRole covers the master and replica shapes and malformed replies.
func TestParseRole(t *testing.T) {
	master, err := parseRole([]any{"master", int64(100), []any{[]any{"10.0.0.2", "6379", "90"}}})
	if err != nil || master.Offset != 100 || len(master.Replicas) != 1 || master.Replicas[0].Port != 6379 || master.Replicas[0].Offset != 90 {
		t.Fatalf("master = %+v, %v", master, err)
	}
	replica, err := parseRole([]any{"slave", "10.0.0.1", int64(6379), "connected", int64(77)})
	if err != nil || replica.MasterHost != "10.0.0.1" || replica.MasterPort != 6379 || replica.LinkState != "connected" || replica.Offset != 77 {
		t.Fatalf("replica = %+v, %v", replica, err)
	}
	for _, bad := range []any{"master", []any{}, []any{"master", "x", []any{}}, []any{"slave", "h", int64(1)}, []any{"master", int64(1), []any{[]any{"h"}}}} {
		if _, err := parseRole(bad); err == nil {
			t.Errorf("parseRole(%v): want an error", bad)
		}
	}
}
