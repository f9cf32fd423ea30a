package server

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/replnode/replnode/replnode/rdb"
	"github.com/replnode/replnode/replnode/replication"
	"github.com/replnode/replnode/replnode/resp"
	"github.com/replnode/replnode/replnode/store"
)

// ------ REPLICATION STATE OF A SERVER ------
//
// replState is the replication layer of one Server: the identity and
// backlog (package replication decides, this file acts), the replicas
// attached to us with their output, full-sync jobs, WAIT, and the link to
// our own master (repl_replica.go). Everything here belongs to the executor
// except what the sync and link goroutines own, which is said field by field.

type replState struct {
	s        *Server
	id       replication.Identity
	backlog  *replication.Backlog // nil until the first replica attaches
	replicas *replication.Replicas
	conns    map[uint64]*replicaConn
	waits    replication.Waits
	// encoded is propagate's buffer, reused: feed copies what it is given.
	encoded []byte
	// slaveSelDB is the database the stream last SELECTed; -1 forces a
	// SELECT before the next command (after a full sync starts, after a
	// promotion), as Redis's server.slaveseldb.
	slaveSelDB int

	// handshake data sent by a client before it becomes a replica
	pendingConf map[uint64]*replconfInfo

	job             *fullSyncJob
	lastPingMs      int64
	lastNewlineMs   int64
	noReplicasSince int64
	getAckPending   bool

	syncFull, syncPartialOK, syncPartialErr int64

	fo failover // FAILOVER in progress (repl_failover.go)

	// stream remembers when our offset grew, for the replicas' caught-up
	// times the min-replicas guard counts from (replication/guard.go), on
	// the monotonic clock started at monoStart.
	stream    replication.StreamClock
	monoStart time.Time

	// payloadBytes is the size of the disk-mode full-sync payload being
	// built in memory (Redis writes it to a file), payloadPeak the most
	// since notCountedMemory last read it; both set by the sync goroutine.
	payloadBytes, payloadPeak atomic.Int64

	// replica side
	link      *replication.Link
	master    *masterConn // current connection to our master, if any
	masterCli *Client     // internal client applying the master's stream
	linkGen   int         // bumped on every REPLICAOF; stale goroutines exit
	// multiPending holds the stream bytes of a MULTI from our master not
	// ended yet by EXEC: they count in our offset only with it.
	multiPending []byte
	// applyingEnd is, while a command of the master's stream runs, our
	// offset once it is applied (with the MULTI before it, for EXEC); -1
	// otherwise. The AOF records it as the position of what the command
	// changed (replPositionAfter).
	applyingEnd int64
	streamDB    int // repl-stream-db of the last full sync
	// transferSize/transferRead describe the payload being received, for
	// INFO's master_sync_* fields (size -1: diskless, unknown).
	transferSize, transferRead int64
}

// replconfInfo is what REPLCONF told us about a would-be replica.
type replconfInfo struct {
	listeningPort int
	ip            string
	capaEOF       bool
	capaPSync2    bool
}

// replicaConn is our side of one attached replica.
type replicaConn struct {
	c   *Client
	rep *replication.Replica
	// pending stream bytes produced while the replica waits for or
	// receives its snapshot; sent when it goes online.
	buf          []byte
	oldSync      bool // SYNC, not PSYNC: no +FULLRESYNC line
	waitFirstAck bool // diskless payload sent; online at the first ACK
	softSinceMs  int64
	waitSinceMs  int64
}

var replStates layerTable[replState]

// repl returns the server's replication state. The core Server has no
// field for it, so it lives in a side table keyed by server.
func (s *Server) repl() *replState {
	return replStates.get(s)
}

func init() { onNewServer(initReplication) }

// initReplication installs the replication layer on a new server: the
// propagation seam, min-replicas counting, the cron, client-close cleanup,
// and a replicaof from the configuration.
func initReplication(s *Server) {
	r := &replState{
		monoStart:   time.Now(),
		s:           s,
		id:          replication.NewIdentity(newReplID()),
		replicas:    replication.NewReplicas(),
		conns:       map[uint64]*replicaConn{},
		pendingConf: map[uint64]*replconfInfo{},
		slaveSelDB:  -1,
		applyingEnd: -1,
	}
	r.noReplicasSince = s.clock()
	r.link = replication.NewLink(r.linkConfig(), &r.id)
	replStates.set(s, r)
	s.Propagator = r.propagate
	s.Propagating = r.propagating
	s.GoodReplicas = r.goodReplicas
	s.NotCountedMemory = r.notCountedMemory
	s.OnCron(r.cron)
	s.OnClientClose(r.clientClosed)
	s.OnAfterCommand(r.afterCommand)
	if host, port, ok := s.Config.ReplicaOf(); ok {
		// The first cron tick connects, after the RDB (if any) gave back
		// our history through RestoreReplicationInfo.
		s.MasterHost, s.MasterPort = host, port
		r.link.SetMasterAtStartup(host, port, s.clock())
	}
}

// newReplID returns a fresh random replication ID.
func newReplID() string {
	id, err := replication.NewReplID(rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return id
}

// linkConfig reads the replica-side settings from the configuration.
func (r *replState) linkConfig() replication.LinkConfig {
	cfg := r.s.Config
	port := cfg.Int("replica-announce-port")
	if port == 0 {
		port = cfg.Int("port")
		if cfg.Bool("tls-replication") && cfg.Int("tls-port") != 0 {
			port = cfg.Int("tls-port")
		}
	}
	return replication.LinkConfig{
		MasterUser:    cfg.String("masteruser"),
		MasterAuth:    cfg.String("masterauth"),
		ListeningPort: int(port),
		AnnounceIP:    cfg.String("replica-announce-ip"),
		TimeoutMs:     cfg.Int("repl-timeout") * 1000,
		KeepNewerData: r.s.keepNewerData(),
	}
}

func (r *replState) logLines(lines []replication.LogLine) {
	for _, l := range lines {
		switch l.Level {
		case replication.LevelWarning:
			r.s.Log.Warningf("%s", l.Text)
		case replication.LevelVerbose:
			r.s.Log.Verbosef("%s", l.Text)
		case replication.LevelDebug:
			r.s.Log.Debugf("%s", l.Text)
		default:
			r.s.Log.Noticef("%s", l.Text)
		}
	}
}

// ------ THE STREAM ------

// propagate is the core's Propagator: one change, already rewritten for
// determinism, goes to the backlog and the replicas, preceded by SELECT
// when the database differs from the stream's. A replica forwards its
// master's bytes instead and propagates nothing of its own.
func (r *replState) propagate(dbID int, args [][]byte) {
	if r.s.IsReplica() {
		return
	}
	if r.backlog == nil && r.replicas.Len() == 0 {
		return
	}
	b := r.encoded[:0]
	if dbID != r.slaveSelDB {
		b = resp.AppendCommandStrings(b, "SELECT", strconv.Itoa(dbID))
		r.slaveSelDB = dbID
	}
	b = resp.AppendCommand(b, args...)
	r.feed(b)
	if cap(b) <= 64<<10 {
		// A big command's buffer is not kept.
		r.encoded = b[:0]
	}
}

// propagating is the core's Propagating: a master with no backlog and no
// replica has no stream to feed, and a replica forwards its master's bytes
// instead of propagating (see propagate).
func (r *replState) propagating() bool {
	return !r.s.IsReplica() && (r.backlog != nil || r.replicas.Len() > 0)
}

// feed appends stream bytes: the offset advances, the backlog records them
// and every replica gets them (online ones at once, syncing ones after
// their snapshot).
func (r *replState) feed(b []byte) {
	r.stream.Grew(r.id.Offset, r.id.Offset+int64(len(b)), r.monoMs())
	r.id.Offset += int64(len(b))
	if r.backlog != nil {
		r.backlog.Append(b)
	}
	for _, rc := range r.conns {
		switch {
		case rc.rep.State == replication.ReplicaOnline && !rc.waitFirstAck:
			rc.c.w.Raw(b)
			rc.c.Flush()
		case rc.rep.State == replication.ReplicaWaitBgsaveStart:
			// Its snapshot is not taken yet: it will include this write.
		default:
			rc.buf = append(rc.buf, b...)
		}
	}
}

// createBacklog makes the backlog when the first replica attaches. As in
// Redis, a backlog created from scratch starts a new history: new replid,
// no replid2.
func (r *replState) createBacklog() {
	size := int(r.s.Config.Int("repl-backlog-size"))
	if r.s.IsReplica() {
		r.backlog = replication.NewBacklog(size, r.id.Offset)
		return
	}
	r.id.ReplID = newReplID()
	r.id.ClearReplID2()
	r.backlog = replication.NewBacklog(size, r.id.Offset)
	r.s.Log.Noticef("Replication backlog created, my new replication IDs are '%s' and '%s'", r.id.ReplID, r.id.ReplID2)
}

// ------ SYNC, PSYNC, REPLCONF, WAIT ------

// replicaIP is the address a replica is known by: its REPLCONF ip-address,
// else the peer address of its connection.
func replicaIP(c *Client, info *replconfInfo) string {
	if info != nil && info.ip != "" {
		return info.ip
	}
	host, _, err := net.SplitHostPort(c.addr)
	if err != nil {
		return c.addr
	}
	return host
}

// syncCommand serves SYNC and PSYNC from a would-be replica: a partial
// resync when the backlog allows it, else a full one queued for the next
// snapshot.
func (r *replState) syncCommand(ctx *Ctx, psync bool) {
	c := ctx.C
	if c.flags&ClientReplica != 0 {
		return
	}
	if psync && len(ctx.Args) > 3 && ctx.ArgIs(3, "failover") && !r.psyncFailover(ctx) {
		return
	}
	if r.fo.state != noFailover {
		ctx.Error("NOMASTERLINK Can't SYNC while failing over")
		return
	}
	if r.s.IsReplica() && r.link.State() != replication.StateConnected {
		ctx.Error("NOMASTERLINK Can't SYNC while not connected with my master")
		return
	}
	if c.w.Len() > 0 || c.PendingBytes() > 0 {
		ctx.Error("ERR SYNC and PSYNC are invalid with pending output")
		return
	}
	info := r.pendingConf[c.ID]
	delete(r.pendingConf, c.ID)
	rep := &replication.Replica{ClientID: int64(c.ID), IP: replicaIP(c, info)}
	if info != nil {
		rep.ListeningPort, rep.CapaEOF, rep.CapaPSync2 = info.listeningPort, info.capaEOF, info.capaPSync2
	}
	r.s.Log.Noticef("Replica %s asks for synchronization", rep.Name())
	now := r.s.clock()
	if psync {
		d := replication.DecidePSync(r.id, r.backlog, replication.PSyncRequest{
			ReplID: ctx.Arg(1), Offset: ctx.Arg(2), CapaPSync2: rep.CapaPSync2, ReplicaName: rep.Name()})
		r.logLines(d.Logs)
		if d.Partial {
			r.attach(c, rep)
			rep.State = replication.ReplicaOnline
			rep.AckTimeMs = now
			if from, err := strconv.ParseInt(ctx.Arg(2), 10, 64); err == nil {
				// It holds everything before the offset it asked for.
				rep.CaughtUpMs = r.stream.CaughtUpAt(from-1, r.id.Offset, r.monoMs())
			}
			c.w.Raw([]byte(d.Reply))
			c.w.Raw(d.Backlog)
			r.syncPartialOK++
			return
		}
		if !strings.HasPrefix(ctx.Arg(1), "?") {
			r.syncPartialErr++
		}
	}
	r.syncFull++
	rc := r.attach(c, rep)
	rc.oldSync = !psync
	rc.waitSinceMs = now
	rep.State = replication.ReplicaWaitBgsaveStart
	if r.backlog == nil {
		r.createBacklog()
	}
	// The snapshot job starts now unless something delays it (Redis's
	// syncCommand, CASE 3): a job already running, or a diskless sync's
	// repl-diskless-sync-delay, so that replicas arriving together share
	// one; the cron starts it then. Waiting for the cron's next tick cost
	// a full sync up to 1/hz seconds.
	r.maybeStartFullSync(now)
}

// attach turns a client into a replica connection.
func (r *replState) attach(c *Client, rep *replication.Replica) *replicaConn {
	if r.replicas.Len() == 0 {
		// The PING period starts when the first replica attaches: a
		// PING at once would come before the first SELECT of its stream.
		r.lastPingMs = r.s.clock()
	}
	c.flags |= ClientReplica
	rc := &replicaConn{c: c, rep: rep}
	r.conns[c.ID] = rc
	r.replicas.Add(rep)
	return rc
}

// replconfCommand handles REPLCONF options from replicas and GETACK from
// our master.
func (r *replState) replconfCommand(ctx *Ctx) {
	c := ctx.C
	if len(ctx.Args)%2 == 0 {
		ctx.Error(ErrSyntax)
		return
	}
	info := r.pendingConf[c.ID]
	if info == nil {
		info = &replconfInfo{}
	}
	for i := 1; i < len(ctx.Args); i += 2 {
		opt := strings.ToLower(ctx.Arg(i))
		val := ctx.Arg(i + 1)
		switch opt {
		case "listening-port":
			port, err := strconv.Atoi(val)
			if err != nil {
				ctx.Error(ErrNotInteger)
				return
			}
			info.listeningPort = port
		case "ip-address":
			if len(val) >= 256 {
				ctx.Errorf("ERR REPLCONF ip-address provided by replica instance is too long: %d bytes", len(val))
				return
			}
			info.ip = val
		case "capa":
			switch strings.ToLower(val) {
			case "eof":
				info.capaEOF = true
			case "psync2":
				info.capaPSync2 = true
			}
		case "ack":
			// Only from replicas, never answered.
			if rc := r.conns[c.ID]; rc != nil {
				if off, err := strconv.ParseInt(val, 10, 64); err == nil {
					r.replicas.Ack(int64(c.ID), off, r.s.clock())
					r.replicas.CaughtUp(int64(c.ID), r.stream.CaughtUpAt(off, r.id.Offset, r.monoMs()))
				}
				if rc.waitFirstAck {
					r.putOnline(rc)
				}
				r.processWaits()
			}
			return
		case "getack":
			if c.flags&ClientMaster != 0 {
				ctx.ForceReply()
				ctx.W.ArrayLen(3)
				ctx.W.Bulk([]byte("REPLCONF"))
				ctx.W.Bulk([]byte("ACK"))
				ctx.W.Bulk([]byte(strconv.FormatInt(r.id.Offset, 10)))
			}
			return
		case "history":
			// replnode's: a replica with replica-keep-newer-data asks,
			// before PSYNC, which history this node moved on from and
			// where, so that it can tell whether a full sync from us
			// contains its data (replication.Link.refuseFullSync). Our
			// offset comes with +FULLRESYNC. It is the command's only
			// option.
			if len(ctx.Args) != 3 {
				ctx.Error(ErrSyntax)
				return
			}
			ctx.W.SimpleString(replication.HistoryReply(r.id))
			return
		case "rdb-only", "rdb-filter-only":
			// Accepted for compatibility with redis-cli --rdb; we always
			// send the whole snapshot.
		default:
			ctx.Errorf("ERR Unrecognized REPLCONF option: %s", ctx.Arg(i))
			return
		}
	}
	if c.flags&ClientReplica == 0 {
		r.pendingConf[c.ID] = info
	}
	ctx.W.OK()
}

// waitCommand is WAIT numreplicas timeout.
func (r *replState) waitCommand(ctx *Ctx) {
	if r.s.IsReplica() {
		ctx.Error("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.")
		return
	}
	num, ok := ctx.Int(1)
	if !ok {
		return
	}
	timeout, ok := ctx.IntMsg(2, "ERR timeout is not an integer or out of range")
	if !ok {
		return
	}
	if timeout < 0 {
		ctx.Error("ERR timeout is negative")
		return
	}
	w := replication.Waiter{ClientID: int64(ctx.C.ID), Offset: r.id.Offset, NumReplicas: int(num)}
	if timeout > 0 {
		w.DeadlineMs = ctx.NowMs + timeout
	}
	if ctx.C.multi.active || ctx.C.flags&ClientInternal != 0 {
		ctx.W.Int(int64(r.replicas.CountAcked(w.Offset)))
		return
	}
	acked, done := r.waits.Begin(w, r.replicas)
	if done {
		ctx.W.Int(int64(acked))
		return
	}
	ctx.C.Block()
	r.getAckPending = true
}

// unblockWait ends c's WAIT early, as CLIENT UNBLOCK does: the reply is
// the number of replicas that acknowledged so far (Redis's timeout reply),
// or -UNBLOCKED with withError. It reports whether c was in WAIT.
func (r *replState) unblockWait(c *Client, withError bool) bool {
	w, ok := r.waits.Take(int64(c.ID))
	if !ok {
		return false
	}
	if withError {
		r.s.countError("UNBLOCKED")
		c.w.Error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
	} else {
		c.w.Int(int64(r.replicas.CountAcked(w.Offset)))
	}
	c.Unblock()
	return true
}

// processWaits answers the WAIT clients that are satisfied or timed out.
func (r *replState) processWaits() {
	for _, res := range r.waits.Process(r.s.clock(), r.replicas) {
		c := r.s.clients[uint64(res.ClientID)]
		if c == nil {
			continue
		}
		c.w.Int(int64(res.Acked))
		c.Unblock()
	}
}

// afterCommand sends REPLCONF GETACK * once per batch when a WAIT is
// blocked, as Redis does in beforeSleep. Not while clients are paused: the
// GETACK would move the replication offset of a master whose writes are
// paused so that a replica can catch up with it (a switchover), as Redis 7.0
// also holds it back until the pause ends; cron sends it then.
func (r *replState) afterCommand() {
	if r.fo.state == failoverWaitForSync {
		// Only a FAILOVER waiting for its target needs the time: reading
		// the clock after every command cost about 3% of a pipelined
		// run's CPU (perf, redis-benchmark -P 16).
		r.updateFailoverStatus(r.s.clock())
	}
	if r.getAckPending && !r.s.IsReplica() && !r.s.clientsPaused() {
		r.getAckPending = false
		r.propagateRaw("REPLCONF", "GETACK", "*")
	}
}

// propagateRaw feeds a command that is part of the stream but not of the
// dataset (PING, REPLCONF GETACK): no SELECT is needed.
func (r *replState) propagateRaw(args ...string) {
	if r.backlog == nil && r.replicas.Len() == 0 {
		return
	}
	r.feed(resp.AppendCommandStrings(nil, args...))
}

// goodReplicas is the core's GoodReplicas: replicas within
// min-replicas-max-lag; with max-lag 0 the check is off.
func (r *replState) goodReplicas() int {
	maxLag := r.s.Config.Int("min-replicas-max-lag")
	if maxLag == 0 {
		return math.MaxInt32
	}
	return r.replicas.GoodCount(r.monoMs(), maxLag*1000)
}

// monoMs is the monotonic clock of the min-replicas guard: milliseconds
// since the replication state was made, from 1 (0 means "never" in a
// replica's CaughtUpMs). A wall-clock step (NTP) must not make an old
// acknowledgement look fresh.
func (r *replState) monoMs() int64 { return time.Since(r.monoStart).Milliseconds() + 1 }

// clientClosed forgets a replica (or handshake data) when its client goes.
func (r *replState) clientClosed(c *Client) {
	if c == r.masterCli {
		r.masterCli = nil
		r.streamDB = c.DBNum
		r.masterClientKilled()
		return
	}
	delete(r.pendingConf, c.ID)
	r.waits.Cancel(int64(c.ID))
	rc := r.conns[c.ID]
	if rc == nil {
		return
	}
	delete(r.conns, c.ID)
	r.replicas.Remove(int64(c.ID))
	if r.job != nil {
		delete(r.job.targets, c.ID)
	}
	r.s.Log.Warningf("Connection with replica %s lost.", rc.rep.Name())
	if r.replicas.Len() == 0 {
		r.noReplicasSince = r.s.clock()
	}
}

// putOnline starts streaming to a replica whose snapshot is loaded.
func (r *replState) putOnline(rc *replicaConn) {
	rc.waitFirstAck = false
	rc.rep.State = replication.ReplicaOnline
	rc.rep.AckTimeMs = r.s.clock()
	rc.c.w.Raw(rc.buf)
	rc.buf = nil
	rc.c.Flush()
	r.s.Log.Noticef("Synchronization with replica %s succeeded", rc.rep.Name())
}

// disconnectReplicas closes every replica connection (after a promotion or
// a full sync from our own master, so they learn the new history).
func (r *replState) disconnectReplicas() {
	for _, rc := range r.conns {
		rc.c.Kill()
	}
}

// ------ FULL SYNC ------

// fullSyncJob is one snapshot sent to a set of replicas. targets belongs
// to the executor; the goroutine works on its own copy.
type fullSyncJob struct {
	diskless bool
	offset   int64
	targets  map[uint64]*replicaConn
	// began is the collector's counters when the job started: what is
	// allocated until it ends is garbage eviction must not count.
	began heapReading
}

// maybeStartFullSync starts a snapshot for the replicas waiting for one
// when replication.DecideSyncStart says so.
func (r *replState) maybeStartFullSync(now int64) {
	if r.job != nil {
		return
	}
	var waiting []*replicaConn
	var ws []replication.WaitingReplica
	for _, rc := range r.conns {
		if rc.rep.State == replication.ReplicaWaitBgsaveStart {
			waiting = append(waiting, rc)
			ws = append(ws, replication.WaitingReplica{CapaEOF: rc.rep.CapaEOF, WaitSinceMs: rc.waitSinceMs})
		}
	}
	cfg := r.s.Config
	start, diskless := replication.DecideSyncStart(now, ws, replication.SyncPolicy{
		Diskless:    cfg.Bool("repl-diskless-sync"),
		DelayMs:     cfg.Int("repl-diskless-sync-delay") * 1000,
		MaxReplicas: int(cfg.Int("repl-diskless-sync-max-replicas")),
	})
	if start {
		r.startFullSync(waiting, diskless)
	}
}

// startFullSync freezes the keyspace (copy-on-write snapshots, so clients
// keep writing), tells each replica +FULLRESYNC with the snapshot's offset,
// and produces the payload in a goroutine.
func (r *replState) startFullSync(targets []*replicaConn, diskless bool) {
	ks := r.s.Keyspace
	snaps := make([]*store.Snapshot, len(ks.DBs))
	for i, db := range ks.DBs {
		snaps[i] = db.Snapshot()
	}
	job := &fullSyncJob{diskless: diskless, offset: r.id.Offset, targets: map[uint64]*replicaConn{}}
	// On a master the stream after the snapshot starts with a SELECT; a
	// replica forwards its master's bytes verbatim, so it tells the
	// sub-replica the stream's current database in the RDB instead.
	streamDB := 0
	if r.s.IsReplica() {
		if r.masterCli != nil {
			streamDB = r.masterCli.DBNum
		} else {
			streamDB = r.streamDB
		}
	} else {
		r.slaveSelDB = -1
	}
	conns := make([]*replicaConn, 0, len(targets))
	for _, rc := range targets {
		if !rc.oldSync {
			rc.c.w.Raw([]byte(replication.FullResyncReply(r.id.ReplID, job.offset)))
			rc.c.Flush()
		}
		rc.rep.State = replication.ReplicaWaitBgsaveEnd
		rc.buf = nil
		job.targets[rc.c.ID] = rc
		conns = append(conns, rc)
	}
	r.job = job
	target := "disk"
	if diskless {
		target = "replicas sockets"
	}
	r.s.Log.Noticef("Starting BGSAVE for SYNC with target: %s", target)
	info := rdb.AuxInfo{RedisVer: Version, CTime: r.s.clock() / 1000, UsedMem: r.s.usedMemory.Load(),
		HasRepl: true, ReplStreamDB: streamDB, ReplID: r.id.ReplID, ReplOffset: job.offset, Functions: r.s.functionCodes()}
	timeout := time.Duration(r.s.Config.Int("repl-timeout")) * time.Second
	job.began = r.s.heapLive()
	go r.runFullSync(job, conns, snaps, info, timeout)
}

// runFullSync writes the payload to the replicas (goroutine). Each replica
// socket is written directly under its write lock after its pending output
// (+FULLRESYNC); stream bytes wait in rc.buf meanwhile.
func (r *replState) runFullSync(job *fullSyncJob, conns []*replicaConn, snaps []*store.Snapshot, info rdb.AuxInfo, timeout time.Duration) {
	failed := map[uint64]error{}
	writers := make([]io.Writer, 0, len(conns))
	for _, rc := range conns {
		rc.c.writePending()
		rc.c.writeMu.Lock()
		if rc.c.conn != nil {
			_ = rc.c.conn.SetWriteDeadline(time.Now().Add(timeout))
		}
		writers = append(writers, &deadlineWriter{conn: rc.c.conn, timeout: timeout})
	}
	unlock := func() {
		for _, rc := range conns {
			if rc.c.conn != nil {
				_ = rc.c.conn.SetWriteDeadline(time.Time{})
			}
			rc.c.writeMu.Unlock()
		}
	}
	fan := &fanoutWriter{ws: writers, errs: make([]error, len(writers))}
	var buf bytes.Buffer
	defer func() { r.payloadBytes.Add(-int64(buf.Len())) }()
	// A panic (a snapshot the writer cannot encode) fails the sync: the
	// replicas' output is released and they are dropped, to retry.
	err := r.s.protect("a full sync to replicas", func() error {
		if job.diskless {
			mark := []byte(randomHex(replEOFMarkLen))
			fan.send([]byte("$EOF:" + string(mark) + "\r\n"))
			err := rdb.WriteSnapshot(fan, snaps, info, rdb.Options{Compress: r.s.Config.Bool("rdbcompression"), Checksum: r.s.Config.Bool("rdbchecksum")})
			fan.send(mark)
			return err
		}
		err := rdb.WriteSnapshot(&payloadCounter{w: &buf, r: r}, snaps, info, rdb.Options{Compress: r.s.Config.Bool("rdbcompression"), Checksum: r.s.Config.Bool("rdbchecksum")})
		if err == nil {
			r.s.Exec(func() {
				for _, rc := range conns {
					rc.rep.State = replication.ReplicaSendBulk
				}
			})
			fan.send([]byte("$" + strconv.Itoa(buf.Len()) + "\r\n"))
			fan.send(buf.Bytes())
		}
		return err
	})
	unlock()
	for i, rc := range conns {
		if fan.errs[i] != nil {
			failed[rc.c.ID] = fan.errs[i]
		}
	}
	r.s.Exec(func() {
		// Snapshots are released on the executor: Release changes DB state.
		// The last collection may have found them live: their memory is
		// remembered as not counted until eviction reads the next one.
		r.s.trackNotCounted()
		// What the encoding allocated is garbage a collection marking
		// meanwhile counted live, like the fork's pages in Redis.
		r.s.trackGarbage(job.began)
		for _, sn := range snaps {
			sn.Release()
		}
		r.finishFullSync(job, failed, err)
	})
}

// finishFullSync puts the replicas of a finished job online (disk), or
// waits for their first ACK (diskless, as Redis, so that the stream never
// follows the EOF mark in the same read); failed ones are closed.
func (r *replState) finishFullSync(job *fullSyncJob, failed map[uint64]error, err error) {
	if r.job == job {
		r.job = nil
	}
	if err != nil {
		r.s.Log.Warningf("Background transfer error: %v", err)
	} else if job.diskless {
		r.s.Log.Noticef("Background RDB transfer terminated with success")
	} else {
		r.s.Log.Noticef("Background saving terminated with success")
	}
	for id, rc := range job.targets {
		if r.conns[id] != rc {
			continue
		}
		if err != nil || failed[id] != nil {
			r.s.Log.Warningf("SYNC failed. BGSAVE failed or transfer to replica %s failed: %v", rc.rep.Name(), firstErr(err, failed[id]))
			rc.c.Kill()
			continue
		}
		if job.diskless {
			r.s.Log.Noticef("Streamed RDB transfer with replica %s succeeded (socket). Waiting for REPLCONF ACK from slave to enable streaming", rc.rep.Name())
			rc.rep.State = replication.ReplicaOnline
			rc.waitFirstAck = true
			rc.rep.AckTimeMs = r.s.clock()
			continue
		}
		r.putOnline(rc)
	}
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// fanoutWriter writes to several replicas; one that fails is dropped and
// its error kept, the others continue.
type fanoutWriter struct {
	ws   []io.Writer
	errs []error
}

// Write never fails as a whole (one replica's failure must not abort the
// transfer to the others); per-replica errors are in errs.
func (f *fanoutWriter) Write(p []byte) (int, error) {
	f.send(p)
	return len(p), nil
}

// send writes p to every replica that has not failed yet and records each
// new failure in errs. It is Write without the io.Writer results, for the
// framing around the payload, whose failures are read from errs.
func (f *fanoutWriter) send(p []byte) {
	for i, w := range f.ws {
		if f.errs[i] != nil {
			continue
		}
		if _, err := w.Write(p); err != nil {
			f.errs[i] = err
		}
	}
}

// deadlineWriter extends the write deadline before each write, so a
// replica that stops reading for repl-timeout fails the transfer.
type deadlineWriter struct {
	conn    net.Conn
	timeout time.Duration
}

// Write writes p with a fresh deadline.
func (d *deadlineWriter) Write(p []byte) (int, error) {
	if d.conn == nil {
		return 0, fmt.Errorf("replica has no connection")
	}
	_ = d.conn.SetWriteDeadline(time.Now().Add(d.timeout))
	return d.conn.Write(p)
}

// payloadCounter counts a disk-mode payload built in memory, for
// notCountedMemory.
type payloadCounter struct {
	w io.Writer
	r *replState
}

func (p *payloadCounter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	now := p.r.payloadBytes.Add(int64(n))
	for {
		peak := p.r.payloadPeak.Load()
		if now <= peak || p.r.payloadPeak.CompareAndSwap(peak, now) {
			break
		}
	}
	return n, err
}

// notCountedMemory is the server's NotCountedMemory: what we hold for
// replicas beyond the backlog — their pending output and the stream
// waiting for their snapshot — and full-sync payloads in memory (the peak
// since the last call), which Redis does not count for maxmemory either
// (freeMemoryGetNotCountedMemory; its payloads are files or sockets).
func (r *replState) notCountedMemory() int64 {
	n := r.payloadPeak.Swap(r.payloadBytes.Load())
	for _, rc := range r.conns {
		n += int64(len(rc.buf) + rc.c.PendingBytes())
	}
	return n
}

// ------ CRON ------

// cron is the master side of Redis's replicationCron plus the replica
// link's tick: start pending snapshots, PING replicas every
// repl-ping-replica-period, keep waiting replicas alive with newlines, drop
// timed-out replicas and those over client-output-buffer-limit, time out
// WAITs, free an unused backlog after repl-backlog-ttl.
func (r *replState) cron(now int64) {
	cfg := r.s.Config
	r.updateFailoverStatus(now)
	r.linkTick(now)
	if size := int(cfg.Int("repl-backlog-size")); r.backlog != nil && size != r.backlog.Size() {
		r.backlog.Resize(size)
	}
	r.maybeStartFullSync(now)
	r.afterCommand() // a GETACK held back by a pause that has ended
	// No PING while clients are paused: a paused master is being switched
	// over, and a PING sent after the target was promoted would put our
	// offset past the one it can continue from, forcing us into a full
	// resync when we follow it. Redis's FAILOVER holds PINGs back for the
	// same reason; we do it for any pause, since the operator switches over
	// with CLIENT PAUSE WRITE. (A pause longer than repl-timeout makes the
	// replicas reconnect, partially.)
	if !r.s.IsReplica() && r.replicas.Len() > 0 && !r.s.clientsPaused() &&
		now-r.lastPingMs >= cfg.Int("repl-ping-replica-period")*1000 {
		r.lastPingMs = now
		r.propagateRaw("PING")
	}
	if now-r.lastNewlineMs >= 1000 {
		r.lastNewlineMs = now
		for _, rc := range r.conns {
			if rc.rep.State == replication.ReplicaWaitBgsaveStart {
				rc.c.w.Raw([]byte("\n"))
				rc.c.Flush()
			}
		}
	}
	timeoutMs := cfg.Int("repl-timeout") * 1000
	limit := replication.ParseReplicaBufferLimit(cfg.String("client-output-buffer-limit"))
	for _, rc := range r.conns {
		if rc.rep.State == replication.ReplicaOnline && !rc.waitFirstAck && now-rc.rep.AckTimeMs > timeoutMs {
			r.s.Log.Warningf("Disconnecting timedout replica (streaming sync): %s", rc.rep.Name())
			rc.c.Kill()
			continue
		}
		used := int64(len(rc.buf) + rc.c.PendingBytes())
		var closeNow bool
		closeNow, rc.softSinceMs = limit.Check(used, rc.softSinceMs, now)
		if closeNow {
			r.closeOverLimit(rc)
		}
	}
	r.processWaits()
	if ttl := cfg.Int("repl-backlog-ttl"); ttl > 0 && r.backlog != nil && !r.s.IsReplica() && r.replicas.Len() == 0 &&
		now-r.noReplicasSince > ttl*1000 {
		r.id.ReplID = newReplID()
		r.id.ClearReplID2()
		r.backlog = nil
		r.s.Log.Noticef("Replication backlog freed after %d seconds without connected replicas.", ttl)
	}
}

// closeOverLimit drops a replica whose output exceeds its limit.
func (r *replState) closeOverLimit(rc *replicaConn) {
	r.s.Log.Warningf("Client id=%d addr=%s scheduled to be closed ASAP for overcoming of output buffer limits.", rc.c.ID, rc.c.addr)
	rc.c.Kill()
}
