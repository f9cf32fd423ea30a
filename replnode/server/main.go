package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/replnode/replnode/replnode/config"
)

// Version is the Redis version replnode reports and is compatible with.
const Version = "7.0.15"

// daemonEnv marks the re-executed child of a daemonize yes start.
const daemonEnv = "REPLNODE_DAEMONIZED"

// KeepNewerDataEnv in the environment sets replica-keep-newer-data unless
// the file or command line already turned it on (so "yes" there always
// wins): the operator turns the guard on this way, since its redis.conf
// and command line must also start a redis-server, which ignores the
// variable.
const KeepNewerDataEnv = "REPLNODE_REPLICA_KEEP_NEWER_DATA"

// Main runs the replnode command line: replnode [config-file] [--directive
// value ...], plus --version and --help. It returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-v" || args[0] == "--version") {
		fmt.Fprintf(stdout, "Redis server v=%s sha=00000000:0 malloc=libc bits=64 build=replnode\n", Version)
		return 0
	}
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		usage(stdout)
		return 0
	}
	cfg, err := config.FromArgs(args, func() (string, error) {
		b, err := io.ReadAll(bufio.NewReader(os.Stdin))
		return string(b), err
	})
	if err != nil {
		fmt.Fprintln(stderr, err.Error())
		return 1
	}
	if v := os.Getenv(KeepNewerDataEnv); v != "" && !cfg.Bool("replica-keep-newer-data") {
		if err := cfg.Set("replica-keep-newer-data", []string{v}, true); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", KeepNewerDataEnv, err)
			return 1
		}
	}
	if cfg.Bool("daemonize") && os.Getenv(daemonEnv) == "" {
		return daemonize(stderr)
	}
	return run(cfg, stdout)
}

// daemonize re-executes the binary detached from the terminal (Go cannot
// fork) and returns in the parent, as redis-server's daemonize does.
func daemonize(stderr io.Writer) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	cmd := exec.Command(self, os.Args[1:]...)
	cmd.Env = append(os.Environ(), daemonEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	_ = cmd.Process.Release()
	return 0
}

// run starts a server from cfg and blocks until it shuts down.
func run(cfg *config.Config, stdout io.Writer) int {
	logOut := stdout
	if path := cfg.String("logfile"); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintf(os.Stderr, "Can't open the log file: %v\n", err)
			return 1
		}
		defer f.Close()
		logOut = f
	} else if cfg.Bool("daemonize") {
		logOut = io.Discard
	}
	boot := NewLogger(logOut, cfg.String("loglevel"))
	boot.Role = func() byte { return 'C' }
	boot.Warningf("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo")
	boot.Warningf("Redis version=%s, bits=64, commit=00000000, modified=0, pid=%d, just started", Version, os.Getpid())
	if cfg.File == "" {
		boot.Warningf("Warning: no config file specified, using the default config. In order to specify a config file use %s /path/to/redis.conf", filepath.Base(os.Args[0]))
	} else {
		boot.Warningf("Configuration loaded")
	}
	for _, w := range cfg.Warnings {
		boot.Warningf("%s", w)
	}
	if dir := cfg.String("dir"); dir != "" {
		if err := os.Chdir(dir); err != nil {
			boot.Warningf("Can't chdir to '%s': %v", dir, err)
			return 1
		}
	}

	s := New(cfg)
	s.Log.SetOutput(logOut)
	if err := s.LoadUsersAtStartup(); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			s.Log.Warningf("%s", line)
		}
		return 1
	}
	s.Log.Role = func() byte {
		if s.IsReplica() {
			return 'S'
		}
		return 'M'
	}
	if err := s.Listen(); errors.Is(err, errTLSConfigure) {
		s.Log.Warningf("%v", err)
		return 1
	} else if err != nil {
		s.Log.Warningf("Warning: Could not create server TCP listening socket *:%d: %v", s.announcedPort(), err)
		s.Log.Warningf("Failed listening on port %d (tcp), aborting.", s.announcedPort())
		return 1
	}
	if err := s.ListenMetrics(); err != nil {
		s.Log.Warningf("Failed listening on metrics port %d (http), aborting: %v", cfg.Int("metrics-port"), err)
		return 1
	}
	if pidfile := cfg.String("pidfile"); pidfile != "" || cfg.Bool("daemonize") {
		if pidfile == "" {
			pidfile = "/var/run/redis.pid"
		}
		if err := os.WriteFile(pidfile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			s.Log.Warningf("Failed to write PID file: %v", err)
		} else {
			defer os.Remove(pidfile)
		}
	}
	s.Log.Noticef("Running mode=standalone, port=%d.", s.announcedPort())
	s.Log.Warningf("Server initialized")

	// Clients are served from here on; while the dataset loads they get
	// -LOADING (Loading is set before the first accept, so no command can
	// see the empty keyspace). A signal during the load stops at once
	// without saving, as Redis's "shutdown signal during loading".
	var loading atomic.Bool
	loading.Store(len(s.startupLoaders) > 0)
	s.Loading = loading.Load()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	go func() {
		for sig := range sigs {
			if loading.Load() {
				s.Log.Warningf("Received shutdown signal during loading, scheduling shutdown.")
				s.Log.Warningf("User requested shutdown...")
				s.Close()
				continue
			}
			name := "SIGTERM"
			if sig == syscall.SIGINT {
				name = "SIGINT"
			}
			s.Log.Warningf("Received %s scheduling shutdown...", name)
			go s.ShutdownFromSignal(sig == syscall.SIGINT)
		}
	}()
	served := make(chan struct{})
	go func() {
		_ = s.Serve()
		close(served)
	}()
	loaded := make(chan bool, 1)
	go func() {
		ok := false
		// A panic in a loader is a fatal load error, reported as one:
		// the process exits non-zero, as Redis does on a crash.
		if err := s.protect("loading the dataset", func() error { ok = s.loadDataset(); return nil }); err != nil {
			s.Log.Warningf("Fatal error loading the DB, exiting.")
			ok = false
		}
		loaded <- ok
	}()
	select {
	case ok := <-loaded:
		if !ok {
			// A fatal load error: Redis exits at once, never "Ready",
			// and writes nothing (Close skips the shutdown save).
			s.Close()
			<-served
			return 1
		}
	case <-served:
		// Stopped during the load (a signal, SHUTDOWN); the loader's
		// result is of no use any more.
		s.Log.Warningf("Redis is now ready to exit, bye bye...")
		return 0
	}
	loading.Store(false)
	s.Exec(func() { s.startup() })
	s.Log.Noticef("Ready to accept connections tcp")
	if cfg.String("unixsocket") != "" {
		s.Log.Noticef("Ready to accept connections unix")
	}
	<-served
	s.Log.Warningf("Redis is now ready to exit, bye bye...")
	if s.exitCode != 0 {
		return s.exitCode
	}
	return 0
}

// loadDataset runs the startup loaders (the dump file) outside the
// executor, while clients are served with -LOADING. It reports false after
// a fatal error, which the loader has logged.
func (s *Server) loadDataset() bool {
	for _, fn := range s.startupLoaders {
		if !fn() {
			return false
		}
	}
	s.Exec(func() { s.Loading = false })
	return true
}

// OnStartupLoad registers fn to load the dataset when the binary starts,
// after listening and before the OnStartup hooks. fn runs without the
// executor lock (take it with Exec for what touches the Server), so clients
// are answered -LOADING meanwhile; it returns false after a fatal error.
func (s *Server) OnStartupLoad(fn func() bool) {
	s.startupLoaders = append(s.startupLoaders, fn)
}

// startup runs the hooks other areas registered for the moment before the
// server accepts clients (loading the dataset, connecting to a master).
func (s *Server) startup() {
	for _, fn := range s.startupHooks {
		fn()
	}
}

// OnStartup registers fn to run on the executor when the binary starts,
// after the dataset is loaded and before "Ready to accept connections".
func (s *Server) OnStartup(fn func()) { s.startupHooks = append(s.startupHooks, fn) }

// ShutdownFromSignal runs the shutdown sequence for SIGTERM/SIGINT,
// honouring shutdown-on-sigterm / shutdown-on-sigint.
func (s *Server) ShutdownFromSignal(sigint bool) {
	opt := s.Config.String("shutdown-on-sigterm")
	if sigint {
		opt = s.Config.String("shutdown-on-sigint")
	}
	flags := shutdownFlags{}
	for _, w := range splitFields(opt) {
		switch w {
		case "save":
			flags.save, flags.explicit = true, true
		case "nosave":
			flags.nosave, flags.explicit = true, true
		case "now":
			flags.now = true
		case "force":
			flags.force = true
		}
	}
	s.mu.Lock()
	// A signal's save must not catch half a busy script: it waits for the
	// script, as Redis's serverCron does not run meanwhile.
	s.waitScriptEnd()
	err := s.prepareShutdown(flags)
	if err == nil {
		// Nothing runs after the final save (runBatch), though Close
		// comes after the executor is released.
		s.shuttingDown.Store(true)
	}
	s.mu.Unlock()
	if err != nil {
		s.Log.Warningf("%v", err)
		return
	}
	s.Close()
}

var errShutdownAborted = errors.New("Errors trying to SHUTDOWN. Check logs.") //nolint:staticcheck // ST1005: Redis's exact text

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: ./replnode [/path/to/redis.conf] [options] [-]
       ./replnode - (read config from stdin)
       ./replnode -v or --version
       ./replnode -h or --help

Examples:
       ./replnode (run the server with default conf)
       ./replnode /etc/redis/6379.conf
       ./replnode --port 7777
       ./replnode --port 7777 --replicaof 127.0.0.1 8888
       ./replnode /etc/myredis.conf --loglevel verbose -

replnode extensions (unknown to redis-server):
       --metrics-port <port>   serve Prometheus /metrics over HTTP (redis_exporter's names; 0, the default, is off)
       --metrics-bind <addr>   address of the metrics listener (default: every interface)
`)
}
