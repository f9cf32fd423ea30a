package server

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

// ---------------------------------------------------------------- logging

// Log levels, as Redis's LL_*.
const (
	LevelDebug = iota
	LevelVerbose
	LevelNotice
	LevelWarning
)

// Logger writes Redis's log line format:
//
//	pid:M 22 Nov 2026 06:40:00.123 * message
//
// with '.', '-', '*', '#' for debug, verbose, notice, warning, and the
// role character (M master, S replica) supplied by Role.
type Logger struct {
	mu    sync.Mutex
	out   io.Writer
	level int
	pid   int
	// Role returns 'M' or 'S'; nil means 'M'.
	Role func() byte
}

// NewLogger writes to out at the given level name.
func NewLogger(out io.Writer, level string) *Logger {
	l := &Logger{out: out, pid: os.Getpid()}
	l.SetLevel(level)
	return l
}

// SetOutput redirects the log (logfile).
func (l *Logger) SetOutput(out io.Writer) {
	l.mu.Lock()
	l.out = out
	l.mu.Unlock()
}

// SetLevel sets the level by its redis.conf name.
func (l *Logger) SetLevel(name string) {
	lv := LevelNotice
	switch name {
	case "debug":
		lv = LevelDebug
	case "verbose":
		lv = LevelVerbose
	case "warning":
		lv = LevelWarning
	}
	l.mu.Lock()
	l.level = lv
	l.mu.Unlock()
}

// Logf writes one line at level.
func (l *Logger) Logf(level int, format string, args ...any) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if level < l.level {
		return
	}
	role := byte('M')
	if l.Role != nil {
		role = l.Role()
	}
	now := time.Now()
	line := fmt.Sprintf("%d:%c %s.%03d %c %s\n", l.pid, role, now.Format("02 Jan 2006 15:04:05"),
		now.Nanosecond()/1e6, ".-*#"[level], fmt.Sprintf(format, args...))
	_, _ = io.WriteString(l.out, line)
}

// Debugf logs at debug level.
func (l *Logger) Debugf(format string, args ...any) { l.Logf(LevelDebug, format, args...) }

// Verbosef logs at verbose level.
func (l *Logger) Verbosef(format string, args ...any) { l.Logf(LevelVerbose, format, args...) }

// Noticef logs at notice level.
func (l *Logger) Noticef(format string, args ...any) { l.Logf(LevelNotice, format, args...) }

// Warningf logs at warning level.
func (l *Logger) Warningf(format string, args ...any) { l.Logf(LevelWarning, format, args...) }

// ---------------------------------------------------------------- small helpers

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func parseOctal(s string) (int64, error) { return strconv.ParseInt(s, 8, 32) }

// randomHex returns n random hex characters (run ids, replication ids).
func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// RandomHex exposes randomHex to other packages' tests and the
// replication code (new replication ids).
func RandomHex(n int) string { return randomHex(n) }

// isLocalAddr reports whether a peer is on loopback or a unix socket.
func isLocalAddr(a net.Addr) bool {
	switch v := a.(type) {
	case *net.TCPAddr:
		return v.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	return false
}
