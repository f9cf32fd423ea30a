package server

import (
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/replnode/replnode/replnode/acl"
	"github.com/replnode/replnode/replnode/config"
	"github.com/replnode/replnode/replnode/resp"
	"github.com/replnode/replnode/replnode/store"
	"github.com/replnode/replnode/replnode/tlsconf"
)

// ---------------------------------------------------------------- server

// Server is one replnode node: its keyspace, clients and listeners.
//
// All state reachable from a Server (keyspace, clients' transaction and
// subscription state, stats, configuration) belongs to the executor: it is
// touched only while holding the executor lock, which serialises command
// execution as Redis's single thread does. Connection goroutines parse
// requests and write replies to sockets outside the lock. Use Exec to run
// code on the executor from another goroutine.
type Server struct {
	Config   *config.Config
	Keyspace *store.Keyspace
	Log      *Logger

	mu sync.Mutex // the executor

	clients   map[uint64]*Client
	nextID    atomic.Uint64
	listeners []net.Listener
	wg        sync.WaitGroup
	// metricsHTTP serves /metrics when metrics-port is set (metrics_http.go).
	metricsHTTP *metricsEndpoint
	// tls is the current TLS configuration of the tls-port listeners and
	// the link to our master (tls.go).
	tls tlsconf.Contexts
	// tlsListeners are the tls-port listeners, which CONFIG SET tls-port
	// replaces while the server runs; listenMu guards them and serving
	// (set by Serve) against Close.
	listenMu     sync.Mutex
	tlsListeners []net.Listener
	serving      bool
	// loop serves the plain socket clients (netloop.go); nil before Serve
	// or where epoll is unavailable (clients then get reader goroutines).
	// Set under listenMu before the accept loops start.
	loop *eventLoop

	// Dirty counts keyspace changes since the last successful save; the
	// persistence code resets it. DirtyBeforeCommand is for INFO.
	Dirty int64
	// LastSaveUnix is the time of the last successful save (LASTSAVE).
	LastSaveUnix int64

	startTime time.Time
	stats     Stats
	clock     func() int64

	// ------ replication seams: the replication developer sets these.

	// MasterHost/MasterPort are set while this node is a replica
	// ("" when master). MasterLinkUp reports the link's state.
	MasterHost   string
	MasterPort   int
	MasterLinkUp bool
	// Propagator receives every change to the dataset, in execution
	// order, with the database it applies to: the command as rewritten
	// for determinism (SET EX -> SET PXAT, expired keys -> DEL, EXEC
	// blocks wrapped in MULTI/EXEC). Nil: nothing is propagated. args
	// are valid only during the call (they may alias a client's read
	// buffer): encode or copy them, never keep them.
	Propagator func(dbID int, args [][]byte)
	// Propagating reports whether propagated commands have anywhere to go
	// (a replica or a backlog); when it says no, writes skip copying their
	// arguments for the Propagator. Nil means always. It belongs with the
	// Propagator: whoever replaces one sets the other.
	Propagating func() bool
	// GoodReplicas returns how many replicas acknowledged within
	// min-replicas-max-lag of now; nil counts as zero. Dispatch asks it at
	// every write and INFO at every call: it must compute from the last
	// ACK times, never return a count kept by a cron, which a frozen or
	// starved process would serve stale (Redis's repl_good_slaves_count).
	GoodReplicas func() int
	// NotCountedMemory returns memory the replication layer holds that
	// maxmemory does not count (replica output, full-sync payloads; see
	// evict.go): the most it held since the previous call. Nil: none.
	NotCountedMemory func() int64
	// Loading is true while a dataset is being loaded: commands without
	// FlagLoading get -LOADING.
	Loading bool
	// WriteError, when it returns a non-empty error text, refuses write
	// commands with it (the persistence developer's MISCONF check).
	WriteError func() string

	// ------ hooks for other command groups (see doc.go)

	afterCommand []func()
	cronHooks    []func(nowMs int64)
	closeHooks   []func(c *Client)

	// ------ state owned by the command groups in this area
	watched map[watchKey][]*Client
	// blocking is the blocked clients' state (blocking.go). A field, not a
	// side table keyed by server: every LPUSH, ZADD and XADD reaches it.
	blocking      *blockingState
	pubsub        pubsubState
	monitors      []*Client
	slowlog       slowlog
	acl           *acl.Registry // users (t_acl.go)
	aclLogEntries acl.Log
	pausedUntilMs int64
	pauseWrites   bool
	fence         fenceState
	scripts       scriptingState
	activeExpire  bool
	expireCursor  []uint64
	usedMemory    atomic.Int64
	shuttingDown  atomic.Bool
	shutdownCh    chan struct{}
	shutdownOnce  sync.Once
	// ShutdownHook runs on the executor before exit (SHUTDOWN, signals),
	// with save telling whether to save; it returns an error to abort.
	ShutdownHook func(save bool) error
	runID        string
	hz           int
	pendingProp  []propOp
	inCall       bool
	// aofFeed receives every propagated change, as the Propagator does,
	// while the append-only file is on (aof.go); nil when it is off.
	// aofBeforeReply runs before replies leave the executor (flushOutLocked)
	// so that with appendfsync always an acknowledged write is on disk.
	// replaying is set while the AOF is replayed: nothing propagates.
	aofFeed        func(dbID int, args [][]byte)
	aofBeforeReply func()
	// aofRoundClient is the event loop's client whose batch is running:
	// its replies wait for the AOF flush at the end of the loop's round
	// (flushOutLocked, Flush). Executor-owned.
	aofRoundClient *Client
	replaying      bool
	// tracking is client side caching's tables (tracking.go).
	tracking     *trackingState
	startupHooks []func()
	// startupLoaders load the dataset at startup (see OnStartupLoad).
	startupLoaders []func() bool
	swapHooks      []func(a, b int)
	flushAllHooks  []func()
	rand           *rand.Rand

	killHooks      []func(c *Client)
	configHooks    []func(name string)
	resetStatHooks []func()
	peakMemory     int64
	opsRate        int64
	opsLastAt      time.Time
	opsLastCount   int64
	exitCode       int
	notifyMask     int

	// fakeClock is set by SetClock: dispatch then asks clock for the time
	// instead of deriving it from the time.Now it takes anyway.
	fakeClock bool
	// batch shares clock readings across a pipelined batch (dispatch.go);
	// lastCallEnd is when the last command's handler returned.
	batch       batchClock
	lastCallEnd time.Time

	// commandStats are INFO commandstats' counters, indexed by
	// Command.statIdx (see Server.cmdStats).
	commandStats []cmdStats
	// latencyEvents are LATENCY's monitored events (t_latency.go).
	latencyEvents map[string]*latencySeries

	// limits are this node's encoding thresholds (hash-max-listpack-*,
	// set-max-intset-entries, zset-max-listpack-*), shared by every value
	// it creates: per server, since nodes in one process differ.
	limits *store.Limits

	// hot is configuration read on every command, copied from Config by
	// applyConfig so dispatch does no map lookups or parsing.
	hot hotConfig

	// evictPool and evictNextDB are the eviction state kept between
	// commands (evict.go), as Redis's EvictionPoolLRU and next_db.
	evictPool       evictionPool
	evictPoolPolicy string // the maxmemory-policy evictPool was filled under
	evictNextDB     int
	// evictHeld is what the collections eviction may read found live
	// that maxmemory does not count (evict.go). heapLive reads the
	// collector's counters; tests replace it.
	evictHeld heldMemory
	heapLive  func() heapReading
	// cronPanicLogged is when a cron panic was last logged (panics.go).
	cronPanicLogged time.Time
}

// hotConfig caches the directives dispatch and handlers read per command.
type hotConfig struct {
	maxmemory        int64
	minReplicas      int64
	replicaReadOnly  bool
	serveStale       bool
	slowlogSlower    int64
	protoMaxBulk     int64
	queryBufLimit    int64 // client-query-buffer-limit
	latencyTracking  bool  // latency-tracking: per-command histograms
	latencyMonitorMs int64 // latency-monitor-threshold
	// outLimits are client-output-buffer-limit's hard, soft and seconds
	// per class: normal, replica, pubsub.
	outLimits [3][3]int64
}

// Stats are the counters INFO stats reports.
type Stats struct {
	ConnectionsReceived int64
	CommandsProcessed   int64
	RejectedConns       int64
	ExpiredKeys         int64
	ExpiredStalePerc    float64
	KeyspaceHits        int64
	KeyspaceMisses      int64
	NetInputBytes       atomic.Int64
	NetOutputBytes      atomic.Int64
	ReadsProcessed      atomic.Int64
	WritesProcessed     atomic.Int64
	ErrorReplies        int64
	// CommandPanics counts handler panics dispatch recovered from;
	// WriteCommandPanics those of write commands, which may have left a
	// key half-changed (see doc.go).
	CommandPanics      int64
	WriteCommandPanics int64
	// InternalPanics counts panics recovered outside command handlers
	// (panics.go).
	InternalPanics     atomic.Int64
	ErrorCodes         map[string]int64
	PubsubChannelsSent int64
	EvictedKeys        int64
}

// serverInits are run by New for every server: the command-group files
// of other developers register here (from init) to install their hooks and
// state without editing New.
var serverInits []func(s *Server)

// onNewServer registers fn to run for each new Server, on the executor
// before it accepts connections.
func onNewServer(fn func(s *Server)) { serverInits = append(serverInits, fn) }

// layerTable holds one layer's state for each server. A layer installed
// through onNewServer has no field in the core Server, so its state lives in
// a table keyed by server, set by its init function and read from any
// goroutine.
type layerTable[T any] struct {
	mu sync.Mutex
	m  map[*Server]*T
}

// get returns the layer's state for s, nil before it is installed.
func (t *layerTable[T]) get(s *Server) *T {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[s]
}

// set installs the layer's state for s.
func (t *layerTable[T]) set(s *Server, v *T) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[*Server]*T{}
	}
	t.m[s] = v
}

// New returns a server for cfg that is not yet listening.
func New(cfg *config.Config) *Server {
	s := &Server{
		Config:       cfg,
		Keyspace:     store.NewKeyspace(int(cfg.Int("databases"))),
		clients:      make(map[uint64]*Client),
		watched:      make(map[watchKey][]*Client),
		startTime:    time.Now(),
		clock:        func() int64 { return time.Now().UnixMilli() },
		activeExpire: true,
		shutdownCh:   make(chan struct{}),
		runID:        randomHex(40),
		rand:         rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5eed)),
		heapLive:     readHeapLive,
		limits:       store.NewLimits(store.DefaultLimits),
		commandStats: make([]cmdStats, commandSlots),
	}
	s.stats.ErrorCodes = map[string]int64{}
	s.initACL()
	s.Log = NewLogger(os.Stdout, cfg.String("loglevel"))
	s.pubsub.init()
	s.slowlog.init()
	s.expireCursor = make([]uint64, len(s.Keyspace.DBs))
	s.applyAllConfig()
	for _, fn := range serverInits {
		fn(s)
	}
	return s
}

// SetClock replaces the wall clock (unix ms) used for expiry and stats; for
// tests.
func (s *Server) SetClock(now func() int64) { s.clock, s.fakeClock = now, true }

// NowMs is the executor's current time in unix ms.
func (s *Server) NowMs() int64 { return s.clock() }

// RunID is the 40 hex character run id INFO reports.
func (s *Server) RunID() string { return s.runID }

// Exec runs fn on the executor and waits for it.
func (s *Server) Exec(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waitScriptEnd()
	fn()
}

// waitScriptEnd waits, releasing the executor, while a busy script has
// lent it: only clients' commands run then (most get -BUSY), never the
// work of other areas or the cron, which could see half a script.
func (s *Server) waitScriptEnd() {
	for s.scripts.lent.Load() {
		s.mu.Unlock()
		time.Sleep(time.Millisecond)
		s.mu.Lock()
	}
}

// OnAfterCommand registers fn to run on the executor after every top-level
// command or transaction (blocked clients are served from here).
func (s *Server) OnAfterCommand(fn func()) { s.afterCommand = append(s.afterCommand, fn) }

// OnCron registers fn to run on the executor hz times a second.
func (s *Server) OnCron(fn func(nowMs int64)) { s.cronHooks = append(s.cronHooks, fn) }

// OnClientClose registers fn to run on the executor when a client goes away.
func (s *Server) OnClientClose(fn func(c *Client)) { s.closeHooks = append(s.closeHooks, fn) }

// IsReplica reports whether the node replicates from a master.
func (s *Server) IsReplica() bool { return s.MasterHost != "" }

// runAfterCommand runs the after-command hooks.
func (s *Server) runAfterCommand() {
	for _, fn := range s.afterCommand {
		fn()
	}
}

// ---------------------------------------------------------------- configuration

// applyAllConfig copies configuration into the places that read it on the
// hot path.
func (s *Server) applyAllConfig() {
	for _, name := range []string{"hz", "hash-max-listpack-entries", "hash-max-listpack-value",
		"set-max-intset-entries", "zset-max-listpack-entries", "zset-max-listpack-value", "loglevel", "slowlog-max-len", "notify-keyspace-events",
		"maxmemory", "min-replicas-to-write", "replica-read-only", "replica-serve-stale-data", "slowlog-log-slower-than",
		"proto-max-bulk-len", "tls-auth-clients", "client-query-buffer-limit", "client-output-buffer-limit", "latency-tracking", "latency-monitor-threshold"} {
		s.applyConfig(name)
	}
}

// applyConfig reacts to a changed directive (startup or CONFIG SET).
func (s *Server) applyConfig(name string) {
	c := s.Config
	switch name {
	case "hz":
		hz := int(c.Int("hz"))
		if hz < 1 {
			hz = 1
		}
		if hz > 500 {
			hz = 500
		}
		s.hz = hz
	case "hash-max-listpack-entries", "hash-max-listpack-value", "set-max-intset-entries",
		"zset-max-listpack-entries", "zset-max-listpack-value":
		s.limits.Set(store.EncodingLimits{
			HashMaxListpackEntries: int(c.Int("hash-max-listpack-entries")),
			HashMaxListpackValue:   int(c.Int("hash-max-listpack-value")),
			SetMaxIntsetEntries:    int(c.Int("set-max-intset-entries")),
			ZSetMaxListpackEntries: int(c.Int("zset-max-listpack-entries")),
			ZSetMaxListpackValue:   int(c.Int("zset-max-listpack-value")),
		})
	case "loglevel":
		if s.Log != nil {
			s.Log.SetLevel(c.String("loglevel"))
		}
	case "slowlog-max-len":
		s.slowlog.trim(int(c.Int(name)))
	case "maxmemory":
		s.hot.maxmemory = c.Int(name)
		applyMemoryLimit(s.hot.maxmemory)
		// The next command is checked against a current figure, not one
		// cron has not taken yet.
		s.sampleMemory()
	case "min-replicas-to-write":
		s.hot.minReplicas = c.Int(name)
	case "replica-read-only":
		s.hot.replicaReadOnly = c.Bool(name)
	case "replica-serve-stale-data":
		s.hot.serveStale = c.Bool(name)
	case "slowlog-log-slower-than":
		s.hot.slowlogSlower = c.Int(name)
	case "proto-max-bulk-len":
		s.hot.protoMaxBulk = c.Int(name)
	case "tls-auth-clients":
		s.tls.SetAuthClients(c.String(name))
	case "client-query-buffer-limit":
		s.hot.queryBufLimit = c.Int(name)
	case "latency-tracking":
		s.hot.latencyTracking = c.Bool(name)
	case "latency-monitor-threshold":
		s.hot.latencyMonitorMs = c.Int(name)
	case "client-output-buffer-limit":
		f := c.Fields(name)
		for i := 0; i+3 < len(f); i += 4 {
			class := map[string]int{"normal": 0, "slave": 1, "pubsub": 2}[f[i]]
			for j := 0; j < 3; j++ {
				s.hot.outLimits[class][j], _ = strconv.ParseInt(f[i+1+j], 10, 64)
			}
		}
	case "notify-keyspace-events":
		s.notifyMask, _ = config.ParseKeyspaceEvents(c.String(name))
	}
}

// protoLimits returns the parser limits for a client.
func (s *Server) protoLimits(c *Client) resp.Limits {
	return resp.Limits{
		MaxBulkLen:      s.hot.protoMaxBulk,
		Unauthenticated: s.authRequired(c),
		Master:          c.flags&ClientMaster != 0,
	}
}

// ---------------------------------------------------------------- listening

// Listen opens the TCP listeners (bind, port), the TLS ones (bind,
// tls-port) and the unix socket. With TLS in use it loads the
// certificates first and fails if they do not load, as initServer.
func (s *Server) Listen() error {
	if s.tlsEnabled() && s.configureTLS() != nil {
		return errTLSConfigure
	}
	if port := s.Config.Int("port"); port != 0 {
		ls, err := s.listenTCP(port)
		if err != nil {
			return err
		}
		s.listeners = append(s.listeners, ls...)
	}
	if err := s.listenTLS(); err != nil {
		return err
	}
	if path := s.Config.String("unixsocket"); path != "" {
		_ = os.Remove(path)
		l, err := net.Listen("unix", path)
		if err != nil {
			return err
		}
		if perm := s.Config.String("unixsocketperm"); perm != "0" {
			if p, err := parseOctal(perm); err == nil {
				_ = os.Chmod(path, os.FileMode(p))
			}
		}
		s.listeners = append(s.listeners, l)
	}
	if len(s.listeners) == 0 && len(s.tlsListeners) == 0 {
		return errors.New("no listening sockets")
	}

	return nil
}

// listenTCP opens a TCP listener on port at every bind address.
func (s *Server) listenTCP(port int64) ([]net.Listener, error) {
	var out []net.Listener
	for _, addr := range s.Config.Fields("bind") {
		optional := false
		if len(addr) > 0 && addr[0] == '-' {
			optional, addr = true, addr[1:]
		}
		host := addr
		switch addr {
		case "*":
			host = "0.0.0.0"
		case "::*":
			host = "::"
		}
		l, err := net.Listen("tcp", net.JoinHostPort(host, itoa(port)))
		if err != nil {
			if optional {
				continue
			}
			for _, o := range out {
				_ = o.Close()
			}
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// ListenOn uses an already open listener (tests, in-process harness).
func (s *Server) ListenOn(l net.Listener) { s.listeners = append(s.listeners, l) }

// Addrs are the listening addresses.
func (s *Server) Addrs() []net.Addr {
	var out []net.Addr
	for _, l := range s.listeners {
		out = append(out, l.Addr())
	}
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	for _, l := range s.tlsListeners {
		out = append(out, l.Addr())
	}
	return out
}

// Serve accepts connections on every listener and runs the cron until
// Shutdown. It returns when the server has stopped.
func (s *Server) Serve() error {
	loop, err := newEventLoop(s)
	if err != nil {
		s.Log.Warningf("No event loop (%v): every client gets its own goroutine", err)
	}
	s.listenMu.Lock()
	if loop != nil {
		s.loop = loop
		s.wg.Add(1)
		go loop.run()
		if s.shuttingDown.Load() {
			loop.wake() // Close ran before the loop existed
		}
	}
	s.listenMu.Unlock()
	for _, l := range s.listeners {
		s.wg.Add(1)
		go s.acceptLoop(l)
	}
	s.listenMu.Lock()
	s.serving = true
	for _, l := range s.tlsListeners {
		s.wg.Add(1)
		go s.acceptLoop(l)
	}
	s.listenMu.Unlock()
	s.wg.Add(1)
	go s.cronLoop()
	s.serveMetrics()
	<-s.shutdownCh
	s.wg.Wait()
	return nil
}

// Close stops the server without the shutdown sequence (no save): it
// closes listeners and clients. Safe to call more than once.
func (s *Server) Close() {
	s.shutdownOnce.Do(func() {
		s.shuttingDown.Store(true)
		for _, l := range s.listeners {
			_ = l.Close()
		}
		s.closeMetrics()
		s.listenMu.Lock()
		for _, l := range s.tlsListeners {
			_ = l.Close()
		}
		if s.loop != nil {
			s.loop.wake()
		}
		s.listenMu.Unlock()
		s.mu.Lock()
		for _, c := range s.clients {
			c.closeConn()
		}
		s.mu.Unlock()
		close(s.shutdownCh)
	})
}

// Done is closed when the server stops.
func (s *Server) Done() <-chan struct{} { return s.shutdownCh }

// acceptLoop accepts clients until the listener closes.
func (s *Server) acceptLoop(l net.Listener) {
	defer s.wg.Done()
	for {
		conn, err := l.Accept()
		if err != nil {
			if s.shuttingDown.Load() {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if err := s.protect("accepting a connection", func() error { s.accept(conn); return nil }); err != nil {
			_ = conn.Close()
		}
	}
}

// accept admits a connection, applying maxclients and protected mode.
func (s *Server) accept(conn net.Conn) {
	s.mu.Lock()
	// The configuration belongs to the executor: read under its lock
	// (CONFIG SET may be writing it).
	if tc, ok := netConn(conn).(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
		if ka := s.Config.Int("tcp-keepalive"); ka > 0 {
			_ = tc.SetKeepAlivePeriod(time.Duration(ka) * time.Second)
			_ = tc.SetKeepAlive(true)
		}
	}
	s.mu.Unlock()
	c, refusal := s.admit(conn)
	if c == nil {
		refuse(conn, refusal)
		return
	}
	if s.loop != nil && s.loop.add(c) == nil {
		return
	}
	s.wg.Add(1)
	go c.serve(newClientInput(), false)
}

// admit registers a new client for conn, or returns the error line that
// refuses it. It takes the executor, released by defer even on a panic
// (acceptLoop recovers that and closes conn).
func (s *Server) admit(conn net.Conn) (*Client, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.ConnectionsReceived++
	if int64(len(s.clients)) >= s.Config.Int("maxclients") {
		s.stats.RejectedConns++
		return nil, "-ERR max number of clients reached\r\n"
	}
	if msg := s.protectedModeRefusal(conn); msg != "" {
		return nil, msg
	}
	return s.newClient(conn), ""
}

// refuse sends msg and closes conn, off the accept loop: on a TLS
// connection the write first waits for the client's handshake, which a
// client that never sends one would hold forever.
func refuse(conn net.Conn, msg string) {
	go func() {
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = conn.Write([]byte(msg))
		_ = conn.Close()
	}()
}

// protectedModeRefusal returns Redis's DENIED error when protected mode
// refuses a non-loopback client because no password is set and the server
// is bound to every interface by default.
func (s *Server) protectedModeRefusal(conn net.Conn) string {
	if !s.Config.Bool("protected-mode") || !s.acl.Default.NoPass() {
		return ""
	}
	if s.Config.String("bind") != "* -::*" {
		return ""
	}
	ta, ok := conn.RemoteAddr().(*net.TCPAddr)
	if !ok || ta.IP.IsLoopback() {
		return ""
	}
	return "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. " +
		"In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: " +
		"1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. " +
		"2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. " +
		"3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. " +
		"4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n"
}

// ---------------------------------------------------------------- cron

// cronLoop runs serverCron hz times a second.
func (s *Server) cronLoop() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		hz := s.hz
		s.mu.Unlock()
		select {
		case <-s.shutdownCh:
			return
		case <-time.After(time.Second / time.Duration(hz)):
		}
		s.mu.Lock()
		s.waitScriptEnd()
		s.cronProtected()
		s.mu.Unlock()
	}
}

// cron is Redis's serverCron: client timeouts, active expiry, memory
// sampling, and the registered hooks. It runs on the executor.
func (s *Server) cron() {
	if s.Loading {
		// As in Redis, timers wait for the dataset: no expiry, save
		// points or replication work on a half-loaded (or empty) keyspace.
		return
	}
	now := s.clock()
	s.sampleMemory()
	s.trackNotCounted()
	s.sampleOps()
	s.clientsCron(now)
	if s.activeExpire && !s.IsReplica() && !s.clientsPaused() {
		// Paused, the dataset must stay still, expiry included (a
		// switchover waits for a replica to reach our offset), as
		// activeExpireCycle's pause check in Redis.
		s.activeExpireCycle(now)
	}
	for _, fn := range s.cronHooks {
		fn(now)
	}
}

// Rand is the executor's random source (RANDOMKEY, SPOP, SRANDMEMBER...).
func (s *Server) Rand() *rand.Rand { return s.rand }
