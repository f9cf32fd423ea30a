package server

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestProcessAnswersLoadingDuringStartupLoad: while the dump loads, the
// server already accepts clients and answers -LOADING (PING too), as
// redis-server 7.0; INFO (flagged loading) answers with loading:1; "Ready to
// accept connections" comes only after the load. The dump is a FIFO, so the
// test decides when the load can finish.
func TestProcessAnswersLoadingDuringStartupLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	good := writeTestDump(t, filepath.Join(t.TempDir(), "src.rdb"))
	fifo := filepath.Join(dir, "dump.rdb")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	p := startProc(t, dir, "--save", "")

	var conn net.Conn
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(p.port))
		if err == nil {
			conn = c
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no listener while loading:\n%s", p.logText())
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.conn, p.rd = conn, bufio.NewReader(conn)
	for _, cmd := range [][]string{{"PING"}, {"GET", "greeting"}, {"SET", "k", "v"}} {
		_, err := p.do(cmd...)
		if err == nil || err.Error() != "LOADING Redis is loading the dataset in memory" {
			t.Errorf("%v while loading: %v", cmd, err)
		}
	}
	info, err := p.do("INFO", "persistence")
	if err != nil || !strings.Contains(info.(string), "loading:1") {
		t.Errorf("INFO while loading: %v %v", info, err)
	}
	// Redis's progress fields (a FIFO has no size: total 0, perc 0.00).
	for _, f := range []string{"loading_start_time:", "loading_total_bytes:0", "loading_rdb_used_mem:",
		"loading_loaded_bytes:0", "loading_loaded_perc:0.00", "loading_eta_seconds:"} {
		if !strings.Contains(info.(string), f) {
			t.Errorf("INFO while loading lacks %q:\n%v", f, info)
		}
	}
	if strings.Contains(p.logText(), "Ready to accept") {
		t.Fatalf("Ready logged before the load:\n%s", p.logText())
	}

	// Let the load finish: the writer end of the FIFO gets the dump.
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(good); err != nil {
		t.Fatalf("writing the dump into the FIFO: %v\n%s", err, p.logText())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		r, err := p.do("PING")
		if err == nil && r == "PONG" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still not serving after the load: %v\n%s", err, p.logText())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := p.must("STRLEN", "greeting"); got != int64(120) {
		t.Errorf("STRLEN greeting after the load = %v", got)
	}
	log := p.logText()
	done, ready := strings.Index(log, "Done loading RDB"), strings.Index(log, "Ready to accept connections")
	if done < 0 || ready < done {
		t.Errorf("Ready must follow the load:\n%s", log)
	}
}

// TestProcessShutdownDuringStartupLoadDoesNotSave: SHUTDOWN SAVE while the
// dump is still loading exits without saving, as redis-server 7.0 turns it
// into NOSAVE: the dump (here a FIFO nobody wrote yet) is left alone rather
// than replaced by the empty keyspace.
func TestProcessShutdownDuringStartupLoadDoesNotSave(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	p, fifo := startLoadingForever(t)
	var conn net.Conn
	for deadline := time.Now().Add(30 * time.Second); conn == nil; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(p.port)); err == nil {
			conn = c
		} else if time.Now().After(deadline) {
			t.Fatalf("no listener while loading:\n%s", p.logText())
		}
	}
	p.conn, p.rd = conn, bufio.NewReader(conn)
	if _, err := p.do("PING"); err == nil || !strings.HasPrefix(err.Error(), "LOADING") {
		t.Fatalf("PING while loading: %v", err)
	}
	// A shutting-down server closes the connection without a reply, so
	// do's EOF carries no verdict; waitExit and the dump below do.
	_, _ = p.do("SHUTDOWN", "SAVE")
	p.waitExit()
	fi, err := os.Lstat(fifo)
	if err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the dump was replaced during loading: %v %v\n%s", fi.Mode(), err, p.logText())
	}
	if strings.Contains(p.logText(), "DB saved on disk") {
		t.Errorf("saved during loading:\n%s", p.logText())
	}
}

// TestProcessSigtermDuringStartupLoad: SIGTERM while the dump loads exits
// 0 at once without saving, with redis-server 7.0's log lines.
func TestProcessSigtermDuringStartupLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	p, fifo := startLoadingForever(t)
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(p.logText(), "Server initialized"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no start:\n%s", p.logText())
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.waitExit(); code != 0 {
		t.Fatalf("exit code %d:\n%s", code, p.logText())
	}
	log := p.logText()
	for _, want := range []string{"Received shutdown signal during loading, scheduling shutdown.", "User requested shutdown...",
		"Redis is now ready to exit, bye bye..."} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 || strings.Contains(log, "Ready to accept") {
		t.Errorf("dump replaced or Ready logged:\n%s", log)
	}
}

// startLoadingForever starts the binary with a FIFO nobody writes as its
// dump, so the startup load never ends while the test looks at it; it
// returns the process and the FIFO's path.
func startLoadingForever(t *testing.T) (*persistProc, string) {
	t.Helper()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "dump.rdb")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	return startProc(t, dir, "--save", "3600 1"), fifo
}
