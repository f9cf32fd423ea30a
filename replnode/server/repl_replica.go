package server

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/replnode/replnode/replnode/rdb"
	"github.com/replnode/replnode/replnode/replication"
	"github.com/replnode/replnode/replnode/resp"
	"github.com/replnode/replnode/replnode/store"
)

// ------ REPLICA SIDE: THE LINK TO OUR MASTER ------
//
// The pure replication.Link decides; this file performs its actions. Each
// connection attempt has a goroutine (linkRun) that dials, reads the
// handshake replies, the RDB payload and then the stream, and reports every
// event to the Link on the executor. Writes to the master go through a
// small writer goroutine so the executor never blocks on the socket.

// masterConn is one connection to our master.
type masterConn struct {
	gen  int
	conn net.Conn
	out  chan []byte
	once sync.Once
}

// send queues bytes for the master; a full queue (a master that stopped
// reading) drops them, which only loses an ACK.
func (m *masterConn) send(b []byte) {
	defer func() { _ = recover() }() // the queue may have been closed
	select {
	case m.out <- b:
	default:
	}
}

// close ends the connection and its writer.
func (m *masterConn) close() {
	m.once.Do(func() {
		if m.conn != nil {
			_ = m.conn.Close()
		}
		close(m.out)
	})
}

// writer sends queued bytes in order until the queue closes; it closes the
// connection when the server stops, which ends the link's reader too.
func (m *masterConn) writer(stop <-chan struct{}) {
	for {
		select {
		case b, ok := <-m.out:
			if !ok {
				return
			}
			if m.conn == nil {
				continue
			}
			_ = m.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := m.conn.Write(b); err != nil {
				_ = m.conn.Close()
			}
		case <-stop:
			if m.conn != nil {
				_ = m.conn.Close()
			}
			return
		}
	}
}

// perform carries out the Link's actions. Runs on the executor.
func (r *replState) perform(out replication.Output) {
	r.logLines(out.Logs)
	for _, a := range out.Actions {
		switch a.Kind {
		case replication.ActConnect:
			r.dropMasterConn()
			gen := r.linkGen
			go r.linkRun(gen, a.Host, a.Port)
		case replication.ActSend:
			if r.master != nil {
				r.master.send(resp.AppendCommandStrings(nil, a.Argv...))
			}
		case replication.ActClose:
			r.dropMasterConn()
		case replication.ActFullSync:
			// linkRun reads the payload next. A grant to lose data
			// (REPLNODE EPOCH <n> ACCEPT-DATA-LOSS) is used up here.
			r.s.dataLossUsed()
			if r.fo.state == failoverInProgress {
				r.clearFailoverState() // the target took over (Redis accepts a full resync too)
			}
		case replication.ActPartialSync:
			r.s.dataLossUsed()
			r.masterLinkUp()
			if a.ReplIDChanged {
				r.disconnectReplicas()
			}
			if r.fo.state == failoverInProgress {
				r.clearFailoverState()
			}
		case replication.ActFailoverRejected:
			r.abortFailover("Failover target rejected psync request")
		}
	}
}

// dropMasterConn closes the current master connection and the client that
// applied its stream.
func (r *replState) dropMasterConn() {
	if r.master != nil {
		r.master.close()
		r.master = nil
	}
	r.freeMasterClient()
	r.s.MasterLinkUp = false
}

// freeMasterClient frees the master client, remembering its database so a
// partial resync continues the stream in the right one.
func (r *replState) freeMasterClient() {
	if c := r.masterCli; c != nil {
		r.masterCli = nil
		r.streamDB = c.DBNum
		r.s.freeClient(c)
	}
}

// masterClientKilled handles CLIENT KILL TYPE master (or any kill of the
// master client): the link drops and the master is cached, so the next
// attempt continues with a partial resync, as in Redis.
func (r *replState) masterClientKilled() {
	r.dropMasterConn()
	r.perform(r.link.Disconnected(r.s.clock()))
}

// masterLinkUp creates the client that applies the master's stream.
func (r *replState) masterLinkUp() {
	r.freeMasterClient()
	r.multiPending = nil // a transaction cut by the link's loss is resent whole
	c := r.s.NewInternalClient(ClientMaster)
	c.Name = ""
	if r.master != nil && r.master.conn != nil {
		// CLIENT LIST shows the link as Redis does (the master's address,
		// flags=M), and CLIENT KILL <master-host>:<master-port> or ADDR
		// finds it there, so an operator can cycle the link.
		c.addr = r.master.conn.RemoteAddr().String()
		c.laddr = r.master.conn.LocalAddr().String()
	}
	if r.streamDB < len(r.s.Keyspace.DBs) {
		c.DBNum = r.streamDB
	}
	r.masterCli = c
	r.s.MasterLinkUp = true
	if r.backlog == nil {
		r.backlog = replication.NewBacklog(int(r.s.Config.Int("repl-backlog-size")), r.id.Offset)
	}
}

// linkTick is the replica part of the cron.
func (r *replState) linkTick(now int64) {
	if r.link.State() == replication.StateNone {
		return
	}
	if r.masterCli != nil && r.masterCli.closed {
		r.masterClientKilled()
	}
	r.link.SetConfig(r.linkConfig())
	r.perform(r.link.Tick(now))
}

// setMaster is REPLICAOF host port (and replicaof at startup).
func (r *replState) setMaster(host string, port int, now int64) {
	wasMaster := !r.s.IsReplica()
	r.linkGen++
	r.dropMasterConn()
	r.s.MasterHost, r.s.MasterPort = host, port
	if wasMaster {
		r.waitsAbort()
	}
	r.link.SetConfig(r.linkConfig())
	r.perform(r.link.SetMaster(host, port, now))
}

// setNoOne is REPLICAOF NO ONE: promotion keeping our history as replid2.
func (r *replState) setNoOne() {
	if !r.s.IsReplica() {
		return
	}
	r.linkGen++
	out := r.link.SetNoOne(newReplID())
	r.dropMasterConn()
	r.perform(out)
	r.s.MasterHost, r.s.MasterPort = "", 0
	r.s.MasterLinkUp = false
	r.disconnectReplicas()
	r.slaveSelDB = -1
	if r.backlog == nil {
		r.backlog = replication.NewBacklog(int(r.s.Config.Int("repl-backlog-size")), r.id.Offset)
	}
	r.noReplicasSince = r.s.clock()
}

// waitsAbort unblocks WAIT clients when we stop being a master, with the
// error Redis's disconnectAllBlockedClients gives.
func (r *replState) waitsAbort() {
	for _, id := range r.waits.DrainAll() {
		if c := r.s.clients[uint64(id)]; c != nil {
			c.w.Error("UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)")
			c.Unblock()
		}
	}
}

// current reports whether a link goroutine of generation gen is still the
// one that matters. Runs on the executor.
func (r *replState) current(gen int) bool { return r.linkGen == gen }

// linkRun drives one connection to the master (goroutine).
func (r *replState) linkRun(gen int, host string, port int) {
	timeout := time.Duration(r.s.Config.Int("repl-timeout")) * time.Second
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), timeout)
	if err == nil {
		plain := conn
		if conn, err = r.s.dialMasterTLS(plain, timeout); err != nil {
			_ = plain.Close()
			conn = nil
		}
	}
	var mc *masterConn
	ok := false
	r.s.Exec(func() {
		if !r.current(gen) || r.link.State() != replication.StateConnecting || r.s.shuttingDown.Load() {
			return
		}
		if err != nil {
			r.perform(r.link.ConnectFailed(r.s.clock(), strerror(err)))
			return
		}
		mc = &masterConn{gen: gen, conn: conn, out: make(chan []byte, 256)}
		r.master = mc
		go mc.writer(r.s.Done())
		ok = true
		r.perform(r.link.Connected(r.s.clock()))
	})
	if !ok {
		if conn != nil {
			_ = conn.Close()
		}
		return
	}
	br := bufio.NewReaderSize(conn, rdb.LoadBufferSize)
	// A panic while syncing or applying the stream drops the link like
	// an I/O error (Exec released the executor on the way).
	err = r.s.protect("the replication link", func() error {
		err := r.linkHandshake(mc, br)
		if err == nil {
			err = r.linkStream(mc, br)
		}
		return err
	})
	r.s.Exec(func() {
		if r.master != mc || r.s.shuttingDown.Load() {
			return
		}
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
			r.s.Log.Verbosef("Master link error: %v", err)
		}
		r.dropMasterConn()
		r.perform(r.link.Disconnected(r.s.clock()))
		if isPanic(err) {
			// Part of what was being applied may be in the dataset:
			// only a full sync makes it the master's again.
			r.link.DiscardCached()
		}
	})
}

// linkHandshake reads handshake replies until the link is connected
// (partial resync) or the full sync payload is loaded.
func (r *replState) linkHandshake(mc *masterConn, br *bufio.Reader) error {
	for {
		var state replication.LinkState
		r.s.Exec(func() { state = r.link.State() })
		switch {
		case state == replication.StateConnected:
			return nil
		case state == replication.StateTransfer:
			return r.linkFullSync(mc, br)
		case !state.InHandshake():
			return net.ErrClosed
		}
		line, err := readReplLine(br, 64<<10)
		if err != nil {
			return err
		}
		stale := false
		r.s.Exec(func() {
			if r.master != mc {
				stale = true
				return
			}
			r.perform(r.link.Reply(r.s.clock(), line))
		})
		if stale {
			return net.ErrClosed
		}
	}
}

// progressReader reports reads to the link so a long transfer does not
// time out while data flows, and counts bytes for INFO.
type progressReader struct {
	r    io.Reader
	last time.Time
	read int64
	fn   func(read int64)
}

// Read reads and, at most every 100ms, notes progress.
func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.read += int64(n)
	if n > 0 && time.Since(p.last) > 100*time.Millisecond {
		p.last = time.Now()
		p.fn(p.read)
	}
	return n, err
}

// linkFullSync reads and loads the RDB payload, then swaps it in.
func (r *replState) linkFullSync(mc *masterConn, br *bufio.Reader) error {
	payload, size, err := readPayloadHeader(br)
	if err != nil {
		r.s.Exec(func() {
			if r.master == mc {
				r.perform(r.link.TransferFailed(r.s.clock(), err.Error()))
			}
		})
		return err
	}
	r.s.Exec(func() {
		if size < 0 {
			r.s.Log.Noticef("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk")
		} else {
			r.s.Log.Noticef("MASTER <-> REPLICA sync: receiving %d bytes from master to disk", size)
		}
	})
	r.s.Exec(func() { r.transferSize, r.transferRead = size, 0 })
	pr := &progressReader{r: payload, fn: func(read int64) {
		r.s.Exec(func() {
			r.transferRead = read
			r.link.DataReceived(r.s.clock())
		})
	}}
	var ndb int
	r.s.Exec(func() { ndb = len(r.s.Keyspace.DBs) })
	ks := store.NewKeyspace(ndb)
	// Kept even if already expired (no DropExpiredAt): a replica waits for
	// its master's DEL, so it reports none expired, as rdbLoad.
	res, err := rdb.LoadKeyspace(bufio.NewReaderSize(pr, rdb.LoadBufferSize), ks, rdb.LoadOptions{Limits: r.s.limits})
	streamDB, _ := strconv.Atoi(res.Aux["repl-stream-db"])
	loaded, functions := res.Keys, res.Functions
	if err == nil {
		// The diskless reader must have consumed the mark; the disk one
		// its exact length.
		_, err = io.Copy(io.Discard, payload)
	}
	var failed bool
	r.s.Exec(func() {
		if r.master != mc {
			failed = true
			return
		}
		if err != nil {
			failed = true
			r.perform(r.link.TransferFailed(r.s.clock(), err.Error()))
			return
		}
		r.s.Log.Noticef("MASTER <-> REPLICA sync: Flushing old data")
		r.s.Log.Noticef("MASTER <-> REPLICA sync: Loading DB in memory")
		// Our history ends here: sub-replicas must resync with us.
		r.disconnectReplicas()
		for i := range r.s.Keyspace.DBs {
			r.s.Keyspace.DBs[i] = ks.DBs[i]
		}
		// emptyData's flush signal: client side caches start over.
		r.s.trackingInvalidateKeysOnFlush()
		r.s.restoreFunctions(functions)
		r.s.Log.Noticef("Done loading RDB, keys loaded: %d, keys expired: 0.", loaded)
		r.streamDB = streamDB
		r.perform(r.link.TransferDone(r.s.clock()))
		r.backlog = replication.NewBacklog(int(r.s.Config.Int("repl-backlog-size")), r.id.Offset)
		r.masterLinkUp()
		// The AOF describes the old dataset: start it over from this
		// one, as restartAOFAfterSYNC, once our replid and offset are the
		// master's (its new files record that position).
		r.s.aofLayer().restartAfterSync()
		// Diskless masters wait for our first ACK to start the stream.
		r.perform(r.link.GetAck(r.s.clock()))
	})
	if failed {
		if err == nil {
			err = net.ErrClosed
		}
		return err
	}
	return nil
}

// linkStream applies the master's stream: each complete command is run by
// the master client, then its exact bytes advance our offset and are
// forwarded to our backlog and sub-replicas, so offsets match the master's.
func (r *replState) linkStream(mc *masterConn, br *bufio.Reader) error {
	var parser resp.Parser
	buf := make([]byte, 0, 64<<10)
	tmp := make([]byte, 64<<10)
	for {
		n, err := br.Read(tmp)
		if n > 0 {
			buf = append(buf, tmp[:n]...)
			var perr error
			stale := false
			r.s.Exec(func() {
				if r.master != mc || r.masterCli == nil {
					stale = true
					return
				}
				r.link.DataReceived(r.s.clock())
				lim := resp.Limits{MaxBulkLen: r.s.Config.Int("proto-max-bulk-len"), Master: true}
				off := 0
				for off < len(buf) {
					args, used, err := parser.ReadCommand(buf[off:], lim)
					if err != nil {
						perr = err
						break
					}
					if used == 0 {
						break
					}
					raw := buf[off : off+used]
					off += used
					if len(args) > 0 {
						r.applyingEnd = r.id.Offset + int64(len(r.multiPending)+used)
						r.applyFromMaster(args)
						r.applyingEnd = -1
					}
					r.feedApplied(raw)
				}
				buf = buf[:copy(buf, buf[off:])]
			})
			if stale {
				return net.ErrClosed
			}
			if perr != nil {
				return perr
			}
		}
		if err != nil {
			return err
		}
	}
}

// feedApplied advances our offset over raw, a command the master client
// has run, and forwards it; inside a MULTI from the master nothing advances
// until EXEC (or DISCARD) ends it, and then the whole transaction does, as
// Redis's commandProcessed. Our offset then never counts half a
// transaction: a master dying in the middle of one leaves us at the offset
// before its MULTI, where a real redis-server replica stands too, and our
// backlog never carries a dangling MULTI that would swallow what a
// promoted us writes next.
func (r *replState) feedApplied(raw []byte) {
	if c := r.masterCli; c != nil && c.multi.active {
		r.multiPending = append(r.multiPending, raw...)
		return
	}
	if len(r.multiPending) > 0 {
		raw = append(r.multiPending, raw...)
		r.multiPending = nil
	}
	r.feed(raw)
}

// applyFromMaster runs one command from the master. Only REPLCONF GETACK
// answers (with REPLCONF ACK); any other reply, such as an error, must never
// reach the master, which would take it for a command: it is logged as
// Redis does.
func (r *replState) applyFromMaster(args [][]byte) {
	c := r.masterCli
	r.s.processCommand(c, args)
	if c.closed {
		// Killed by its own command stream (CLIENT KILL from the master);
		// the cron drops the link.
		return
	}
	out := c.Replies()
	if len(out) == 0 {
		return
	}
	if len(args) >= 2 && equalFold(args[0], "replconf") && equalFold(args[1], "getack") {
		if r.s.aofBeforeReply != nil {
			// What the ACK acknowledges is in our AOF first, as Redis
			// writes the AOF before any reply.
			r.s.aofBeforeReply()
		}
		if r.master != nil {
			r.master.send(out)
		}
		return
	}
	if out[0] == '-' {
		msg := strings.TrimRight(string(out[1:]), "\r\n")
		r.s.Log.Warningf("== CRITICAL == This replica is sending an error to its master: '%s' after processing the command '%s'", msg, strings.ToLower(string(args[0])))
	}
}

// strerror renders a dial error as C's strerror does in Redis's log
// ("Connection refused"), falling back to Go's text.
func strerror(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		msg := errno.Error()
		if msg != "" {
			return strings.ToUpper(msg[:1]) + msg[1:]
		}
	}
	return err.Error()
}
