package replication

import (
	"fmt"
	"strconv"
	"strings"
)

// ------ REPLICA LINK STATES ------

// LinkState is the replica's link to its master, with Redis's repl_state
// values in Redis's order (the handshake states are contiguous).
type LinkState int

// Link states, as Redis's REPL_STATE_*.
const (
	StateNone LinkState = iota
	StateConnect
	StateConnecting
	StateReceivePingReply
	StateSendHandshake
	StateReceiveAuthReply
	StateReceivePortReply
	StateReceiveIPReply
	StateReceiveCapaReply
	// StateReceiveHistoryReply is replnode's: the reply to REPLCONF
	// history, sent only with KeepNewerData (Link.refuseFullSync).
	StateReceiveHistoryReply
	StateSendPSync
	StateReceivePSyncReply
	StateTransfer
	StateConnected
)

var linkStateNames = [...]string{"none", "connect", "connecting", "receive_ping_reply", "send_handshake",
	"receive_auth_reply", "receive_port_reply", "receive_ip_reply", "receive_capa_reply", "receive_history_reply", "send_psync",
	"receive_psync_reply", "transfer", "connected"}

// String returns the state's name in lower case, as in Redis's source.
func (s LinkState) String() string {
	if s < 0 || int(s) >= len(linkStateNames) {
		return "unknown"
	}
	return linkStateNames[s]
}

// InHandshake reports whether s is one of the handshake states.
func (s LinkState) InHandshake() bool {
	return s >= StateReceivePingReply && s <= StateReceivePSyncReply
}

// RoleState is the state ROLE reports for a replica: none, connect,
// connecting, handshake, sync or connected.
func (s LinkState) RoleState() string {
	switch {
	case s.InHandshake():
		return "handshake"
	case s == StateTransfer:
		return "sync"
	}
	return s.String()
}

// ------ ACTIONS ------

// ActionKind says what the caller must do for an Action.
type ActionKind int

// Actions the link asks its caller to perform.
const (
	// ActConnect: open a TCP connection to Host:Port, then report
	// Connected or ConnectFailed.
	ActConnect ActionKind = iota
	// ActSend: write Argv to the master as a RESP command.
	ActSend
	// ActClose: close the connection to the master (if any).
	ActClose
	// ActFullSync: the master sent +FULLRESYNC (or we sent SYNC): read the
	// RDB payload next, then report TransferDone or TransferFailed. Before
	// loading, drop the backlog and disconnect sub-replicas.
	ActFullSync
	// ActPartialSync: the master accepted PSYNC; the stream continues from
	// Identity.Offset+1. When ReplIDChanged the sub-replicas must be
	// disconnected so that they learn the new ID.
	ActPartialSync
	// ActFailoverRejected: the target of a FAILOVER refused our PSYNC
	// FAILOVER; the node aborts the failover (becomes a master again).
	ActFailoverRejected
)

// Action is one instruction from the link to its caller.
type Action struct {
	Kind          ActionKind
	Host          string
	Port          int
	Argv          []string
	ReplID        string // ActFullSync: the master's replid ("" after SYNC)
	Offset        int64  // ActFullSync: the offset the RDB corresponds to (-1 after SYNC)
	ReplIDChanged bool   // ActPartialSync
}

// String renders the action for transcripts.
func (a Action) String() string {
	switch a.Kind {
	case ActConnect:
		return fmt.Sprintf("connect %s:%d", a.Host, a.Port)
	case ActSend:
		return "send " + strings.Join(a.Argv, " ")
	case ActClose:
		return "close"
	case ActFullSync:
		id := a.ReplID
		if id == "" {
			id = "?"
		}
		return fmt.Sprintf("fullsync %s %d", id, a.Offset)
	case ActPartialSync:
		return fmt.Sprintf("partialsync changed=%v", a.ReplIDChanged)
	case ActFailoverRejected:
		return "failover rejected"
	}
	return "unknown"
}

// Output is what one event produced: actions to perform in order, and log
// lines to write.
type Output struct {
	Actions []Action
	Logs    []LogLine
}

func (o *Output) act(a Action) { o.Actions = append(o.Actions, a) }
func (o *Output) log(l Level, f string, a ...any) {
	o.Logs = append(o.Logs, LogLine{l, fmt.Sprintf(f, a...)})
}

// ------ LINK ------

// LinkConfig is the replica-side configuration the handshake needs.
type LinkConfig struct {
	MasterUser    string // masteruser
	MasterAuth    string // masterauth
	ListeningPort int    // replica-announce-port, or port
	AnnounceIP    string // replica-announce-ip
	TimeoutMs     int64  // repl-timeout in milliseconds
	RetryMs       int64  // delay before reconnecting; Redis's cron period (1000)
	AckPeriodMs   int64  // REPLCONF ACK period; Redis sends one every second (1000)
	// KeepNewerData refuses a full resync that would replace data this
	// node holds with a master's whose history does not provably contain
	// it (Identity.ContainsDataOf): the handshake asks the master for its
	// history (REPLCONF history), and the +FULLRESYNC's replid and offset
	// complete it. A master that cannot show its history (redis-server, an
	// older replnode) is judged by offset alone: refused when its offset
	// is below ours. The old protocol's SYNC, which says no offset at all,
	// is refused while we hold any. The link drops and tries again after
	// RefusedFullSyncRetryMs, keeping our data. Off, the link behaves as
	// Redis's: no REPLCONF history, any full resync replaces the data.
	KeepNewerData bool
}

// RefusedFullSyncRetryMs is how soon a replica tries again after refusing a
// full resync (KeepNewerData). Each attempt costs the master a snapshot, so
// it is slower than the cron's retry; RetryNow cuts it short once the
// operator allowed the loss.
const RefusedFullSyncRetryMs = 5000

// Link is the replica side of replication: the link to the master and the
// PSYNC2 cached-master state. It holds a pointer to the node's Identity,
// which it updates on +CONTINUE with a new ID and after a full sync; the
// caller updates Identity.Offset as it applies the stream.
type Link struct {
	cfg   LinkConfig
	id    *Identity
	state LinkState

	host string
	port int

	cachedValid  bool // a cached master exists: PSYNC cachedReplID cachedOffset+1
	cachedReplID string
	cachedOffset int64

	// masterHistory is what the master answered to REPLCONF history on
	// this connection (Identity without an offset: +FULLRESYNC gives it).
	masterHistory      Identity
	masterHistoryShown historyAnswer

	fullReplID    string // from +FULLRESYNC, applied when the transfer ends
	fullOffset    int64
	pendingSends  []LinkState // reply states still expected in the pipelined handshake
	lastIOMs      int64
	lastAckMs     int64
	nextConnectMs int64
	downSinceMs   int64 // when the link last went down, for master_link_down_since_seconds
	// pointedMs is when the link was pointed at its current master
	// (REPLICAOF, or replicaof at startup): no acknowledgement from this
	// process can have reached that master before (NoContactSinceMs).
	pointedMs int64
	// failover makes PSYNC carry FAILOVER: we are a master handing over
	// to this replica (FAILOVER command), which promotes itself on it.
	failover bool
}

// NewLink returns a link in state none for a node with identity id.
func NewLink(cfg LinkConfig, id *Identity) *Link {
	if cfg.RetryMs <= 0 {
		cfg.RetryMs = 1000
	}
	if cfg.AckPeriodMs <= 0 {
		cfg.AckPeriodMs = 1000
	}
	if cfg.TimeoutMs <= 0 {
		cfg.TimeoutMs = 60000
	}
	return &Link{cfg: cfg, id: id}
}

// SetConfig replaces the configuration (CONFIG SET masterauth, repl-timeout);
// it applies from the next event.
func (l *Link) SetConfig(cfg LinkConfig) {
	n := NewLink(cfg, l.id)
	l.cfg = n.cfg
}

// State returns the current link state.
func (l *Link) State() LinkState { return l.state }

// Master returns the configured master; ok is false when the node is a master.
func (l *Link) Master() (host string, port int, ok bool) {
	return l.host, l.port, l.state != StateNone
}

// LastIOMs returns the time of the last data from the master (or of the
// connection attempt), for master_last_io_seconds_ago.
func (l *Link) LastIOMs() int64 { return l.lastIOMs }

// DownSinceMs returns when a connected link went down (for
// master_link_down_since_seconds); 0 when it never was up, which INFO shows
// as -1, as Redis.
func (l *Link) DownSinceMs() int64 { return l.downSinceMs }

// Cached returns the cached master's replid and offset, if any.
func (l *Link) Cached() (replID string, offset int64, ok bool) {
	return l.cachedReplID, l.cachedOffset, l.cachedValid
}

// CacheFromIdentity sets the cached master to the node's own identity, as
// Redis's replicationCacheMasterUsingMyself: used when a master becomes a
// replica and when a restarted node found repl-id/repl-offset in its RDB, so
// its first PSYNC can continue partially.
func (l *Link) CacheFromIdentity() {
	l.cachedValid = true
	l.cachedReplID = l.id.ReplID
	l.cachedOffset = l.id.Offset
}

// DiscardCached forgets the cached master, so the next PSYNC asks for a
// full resync ("PSYNC ? -1"): a node started with replicaof and no RDB
// history has nothing to continue.
func (l *Link) DiscardCached() { l.cachedValid = false }

// SetFailover makes the next PSYNCs ask the master, our failover target,
// to take over (PSYNC <replid> <offset> FAILOVER), as Redis's
// FAILOVER_IN_PROGRESS state does; off again once it answered.
func (l *Link) SetFailover(on bool) { l.failover = on }

// SetMaster is REPLICAOF host port: the node becomes (or switches to being)
// a replica of host:port and starts connecting at once. A master's own
// history is cached so that the new master can continue it partially.
func (l *Link) SetMaster(host string, port int, nowMs int64) Output {
	var o Output
	wasMaster := l.state == StateNone
	if !wasMaster && l.state != StateConnect {
		o.act(Action{Kind: ActClose})
	}
	switch {
	case wasMaster:
		o.log(LevelNotice, "Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.")
		l.CacheFromIdentity()
		l.downSinceMs = 0 // never connected: INFO shows -1
	case l.state == StateConnected:
		l.CacheFromIdentity()
		l.downSinceMs = nowMs
	}
	if l.host != host || l.port != port {
		l.pointedMs = nowMs
	}
	l.host, l.port = host, port
	l.startConnect(nowMs, &o)
	return o
}

// SetMasterAtStartup is replicaof from the configuration: the node is a
// replica of host:port but connects from its first Tick, as Redis does from
// replicationCron, so that the history restored from the RDB
// (CacheFromIdentity) is in place before the first PSYNC. It starts with
// no cached master.
func (l *Link) SetMasterAtStartup(host string, port int, nowMs int64) {
	l.host, l.port = host, port
	l.cachedValid = false
	l.state = StateConnect
	l.nextConnectMs = nowMs
	l.downSinceMs = 0
	l.lastIOMs = nowMs
	l.pointedMs = nowMs
}

// NoContactSinceMs is the time after which the master this link follows
// cannot have heard from us (master_no_contact_ms): the last data from it
// while connected (we acknowledge what we read), else when the link went
// down or, if it never came up for this master, when we were pointed at it
// — a process that never connected never acknowledged anything, and one
// that restarted sent its last acknowledgement before it started.
func (l *Link) NoContactSinceMs() int64 {
	if l.state == StateConnected {
		return l.lastIOMs
	}
	return max(l.downSinceMs, l.pointedMs)
}

// SetNoOne is REPLICAOF NO ONE: the node becomes a master. Its replid moves
// to replid2 (valid up to Offset+1) and newReplID becomes current, so the
// other replicas of the old master can continue partially from it. The
// caller must disconnect its own sub-replicas (they learn the new ID on
// reconnect) and force a SELECT before the next propagated command.
func (l *Link) SetNoOne(newReplID string) Output {
	var o Output
	if l.state == StateNone {
		return o
	}
	if l.state != StateConnect {
		o.act(Action{Kind: ActClose})
	}
	l.cachedValid = false
	l.state = StateNone
	l.host, l.port = "", 0
	l.pendingSends = nil
	o.Logs = append(o.Logs, LogLine{LevelNotice, l.id.ShiftReplicationID(newReplID)})
	return o
}

func (l *Link) startConnect(nowMs int64, o *Output) {
	o.log(LevelNotice, "Connecting to MASTER %s:%d", l.host, l.port)
	o.log(LevelNotice, "MASTER <-> REPLICA sync started")
	o.act(Action{Kind: ActConnect, Host: l.host, Port: l.port})
	l.state = StateConnecting
	l.lastIOMs = nowMs
	l.pendingSends = nil
}

// NotReadyRetryMs is how soon a replica tries again after its master
// answered PSYNC with -NOMASTERLINK or -LOADING.
const NotReadyRetryMs = 100

// RetryNow makes a link waiting to reconnect (after a failure or a refused
// full resync) try at once: the reason it waited may be gone.
func (l *Link) RetryNow(nowMs int64) {
	if l.state == StateConnect {
		l.nextConnectMs = nowMs
	}
}

// refuseFullSync drops the attempt when KeepNewerData forbids replacing our
// data with a master's at replid and offset (-1: not said, SYNC); it
// reports whether it did. A replica at offset 0 holds no history to keep.
func (l *Link) refuseFullSync(nowMs int64, replid string, offset int64, o *Output) bool {
	if !l.cfg.KeepNewerData || l.id.Offset <= 0 {
		return false
	}
	if offset < 0 || replid == "" {
		o.log(LevelWarning, "Refusing a full resync that does not say its offset: this replica holds %d bytes of history %s, which it keeps (replica-keep-newer-data yes).", l.id.Offset, l.id.ReplID)
	} else {
		contained, how := l.masterContainsUs(replid, offset)
		if contained {
			return false
		}
		o.log(LevelWarning, "Refusing a full resync from master at offset %d: this replica holds %d bytes of history %s, which the master's data does not provably contain (%s); keeping it (replica-keep-newer-data yes). Retrying in %d ms.",
			offset, l.id.Offset, l.id.ReplID, how, RefusedFullSyncRetryMs)
	}
	l.fail(nowMs, o)
	l.nextConnectMs = nowMs + RefusedFullSyncRetryMs
	return true
}

// historyAnswer is what became of REPLCONF history on a connection.
type historyAnswer int

const (
	// historyNotAsked: not sent (KeepNewerData was off or we held no
	// history when the handshake began), or the connection is new.
	historyNotAsked historyAnswer = iota
	// historyShown: the master answered +HISTORY.
	historyShown
	// historyNotShown: the master answered an error (redis-server, an
	// older replnode): it cannot show its history.
	historyNotShown
)

// historyReplyPrefix starts a master's answer to REPLCONF history:
// +HISTORY <replid> <replid2> <second_repl_offset>.
const historyReplyPrefix = "+HISTORY "

// HistoryReply is a master's answer to REPLCONF history: its replid, and
// the history it moved on from with the offset up to which it is valid
// (second_repl_offset, -1 and the zero id when none), as INFO replication
// shows them.
func HistoryReply(id Identity) string {
	replid2, second := id.ReplID2, id.SecondOffset
	if !IsReplID(replid2) || second <= 0 {
		replid2, second = ZeroReplID, -1
	}
	return fmt.Sprintf("HISTORY %s %s %d", id.ReplID, replid2, second)
}

// parseHistoryReply reads HistoryReply's line (with its '+').
func parseHistoryReply(line string) (Identity, bool) {
	f := strings.Fields(strings.TrimPrefix(line, historyReplyPrefix))
	if !strings.HasPrefix(line, historyReplyPrefix) || len(f) != 3 || !ValidReplID(f[0]) || !ValidReplID(f[1]) {
		return Identity{}, false
	}
	second, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return Identity{}, false
	}
	return Identity{ReplID: f[0], ReplID2: f[1], SecondOffset: second}, true
}

// masterContainsUs applies the guard's rule to a +FULLRESYNC at replid and
// offset: the master's history must contain our position. It returns the
// answer and how the master's history was known, for the log.
func (l *Link) masterContainsUs(replid string, offset int64) (bool, string) {
	switch {
	case l.masterHistoryShown == historyNotShown:
		// The master cannot show its history: offsets only grow along a
		// history, so one below ours lacks some of our bytes. One ahead
		// may still be another branch; this is all that can be checked.
		return offset >= l.id.Offset, "by offset only: the master does not show its history"
	case l.masterHistoryShown == historyShown && l.masterHistory.ReplID == replid:
		master := l.masterHistory
		master.Offset = offset
		return master.ContainsDataOf(*l.id), fmt.Sprintf("history %s, secondary %s valid up to offset %d", replid, master.ReplID2, master.SecondOffset)
	default:
		// Not asked on this connection, or the master's replid changed
		// since it answered: only its current history is known.
		master := Identity{ReplID: replid, ReplID2: ZeroReplID, SecondOffset: -1, Offset: offset}
		return master.ContainsDataOf(*l.id), fmt.Sprintf("history %s; nothing known of an earlier one", replid)
	}
}

// fail drops the current attempt: close, go back to connect, retry later.
func (l *Link) fail(nowMs int64, o *Output) {
	o.act(Action{Kind: ActClose})
	l.state = StateConnect
	l.pendingSends = nil
	l.nextConnectMs = nowMs + l.cfg.RetryMs
}

// Connected reports that the TCP connection to the master is up: the
// handshake starts with PING.
func (l *Link) Connected(nowMs int64) Output {
	var o Output
	if l.state != StateConnecting {
		return o
	}
	o.log(LevelNotice, "Non blocking connect for SYNC fired the event.")
	o.act(Action{Kind: ActSend, Argv: []string{"PING"}})
	l.state = StateReceivePingReply
	l.lastIOMs = nowMs
	return o
}

// ConnectFailed reports that the connection attempt failed.
func (l *Link) ConnectFailed(nowMs int64, reason string) Output {
	var o Output
	if l.state != StateConnecting {
		return o
	}
	o.log(LevelWarning, "Error condition on socket for SYNC: %s", reason)
	l.fail(nowMs, &o)
	return o
}

// Reply feeds one reply line from the master during the handshake (simple
// string or error, without CRLF; an empty line is a keepalive newline).
func (l *Link) Reply(nowMs int64, line string) Output {
	var o Output
	l.lastIOMs = nowMs
	isErr := strings.HasPrefix(line, "-")
	switch l.state {
	case StateReceivePingReply:
		if line == "" {
			return o
		}
		if isErr && !strings.HasPrefix(line, "-NOAUTH") && !strings.HasPrefix(line, "-NOPERM") &&
			!strings.HasPrefix(line, "-ERR operation not permitted") {
			o.log(LevelWarning, "Error reply to PING from master: '%s'", line)
			l.fail(nowMs, &o)
			return o
		}
		o.log(LevelNotice, "Master replied to PING, replication can continue...")
		l.sendHandshake(&o)
	case StateReceiveAuthReply, StateReceivePortReply, StateReceiveIPReply, StateReceiveCapaReply, StateReceiveHistoryReply:
		if line == "" {
			return o
		}
		switch l.state {
		case StateReceiveAuthReply:
			if isErr {
				o.log(LevelWarning, "Unable to AUTH to MASTER: %s", line)
				l.fail(nowMs, &o)
				return o
			}
		case StateReceivePortReply:
			if isErr {
				o.log(LevelNotice, "(Non critical) Master does not understand REPLCONF listening-port: %s", line)
			}
		case StateReceiveIPReply:
			if isErr {
				o.log(LevelNotice, "(Non critical) Master does not understand REPLCONF ip-address: %s", line)
			}
		case StateReceiveCapaReply:
			if isErr {
				o.log(LevelNotice, "(Non critical) Master does not understand REPLCONF capa: %s", line)
			}
		case StateReceiveHistoryReply:
			if h, ok := parseHistoryReply(line); ok {
				l.masterHistory, l.masterHistoryShown = h, historyShown
			} else {
				l.masterHistoryShown = historyNotShown
				o.log(LevelNotice, "Master does not show its replication history (%s): replica-keep-newer-data compares offsets only with it.", line)
			}
		}
		l.pendingSends = l.pendingSends[1:]
		if len(l.pendingSends) > 0 {
			l.state = l.pendingSends[0]
			return o
		}
		l.sendPSync(&o)
	case StateReceivePSyncReply:
		l.psyncReply(nowMs, line, &o)
	}
	return o
}

// sendHandshake pipelines AUTH, REPLCONF listening-port, ip-address and capa
// as Redis 7.0 does (and, with KeepNewerData, REPLCONF history), then waits
// for their replies in order.
func (l *Link) sendHandshake(o *Output) {
	l.pendingSends = l.pendingSends[:0]
	if l.cfg.MasterAuth != "" {
		argv := []string{"AUTH", l.cfg.MasterAuth}
		if l.cfg.MasterUser != "" {
			argv = []string{"AUTH", l.cfg.MasterUser, l.cfg.MasterAuth}
		}
		o.act(Action{Kind: ActSend, Argv: argv})
		l.pendingSends = append(l.pendingSends, StateReceiveAuthReply)
	}
	o.act(Action{Kind: ActSend, Argv: []string{"REPLCONF", "listening-port", strconv.Itoa(l.cfg.ListeningPort)}})
	l.pendingSends = append(l.pendingSends, StateReceivePortReply)
	if l.cfg.AnnounceIP != "" {
		o.act(Action{Kind: ActSend, Argv: []string{"REPLCONF", "ip-address", l.cfg.AnnounceIP}})
		l.pendingSends = append(l.pendingSends, StateReceiveIPReply)
	}
	o.act(Action{Kind: ActSend, Argv: []string{"REPLCONF", "capa", "eof", "capa", "psync2"}})
	l.pendingSends = append(l.pendingSends, StateReceiveCapaReply)
	l.masterHistory, l.masterHistoryShown = Identity{}, historyNotAsked
	if l.cfg.KeepNewerData && l.id.Offset > 0 {
		// What the guard needs beyond +FULLRESYNC: the history the master
		// moved on from, and where (refuseFullSync). redis-server never
		// sends it; a master that does not know it answers an error.
		o.act(Action{Kind: ActSend, Argv: []string{"REPLCONF", "history", "*"}})
		l.pendingSends = append(l.pendingSends, StateReceiveHistoryReply)
	}
	l.state = l.pendingSends[0]
}

func (l *Link) sendPSync(o *Output) {
	replID, offset := "?", "-1"
	if l.cachedValid {
		replID, offset = l.cachedReplID, strconv.FormatInt(l.cachedOffset+1, 10)
		o.log(LevelNotice, "Trying a partial resynchronization (request %s:%s).", replID, offset)
	} else {
		o.log(LevelNotice, "Partial resynchronization not possible (no cached master)")
	}
	argv := []string{"PSYNC", replID, offset}
	if l.failover {
		argv = append(argv, "FAILOVER")
	}
	o.act(Action{Kind: ActSend, Argv: argv})
	l.state = StateReceivePSyncReply
}

// psyncReply is the reading half of Redis's slaveTryPartialResynchronization.
func (l *Link) psyncReply(nowMs int64, line string, o *Output) {
	switch {
	case line == "":
		// The master sends newlines while it prepares the reply.
	case strings.HasPrefix(line, "+FULLRESYNC"):
		fields := strings.Fields(line)
		l.fullReplID, l.fullOffset = "", -1
		if len(fields) == 3 && ValidReplID(fields[1]) {
			if off, err := strconv.ParseInt(fields[2], 10, 64); err == nil {
				l.fullReplID, l.fullOffset = fields[1], off
			}
		}
		if l.fullReplID == "" {
			o.log(LevelWarning, "Master replied with wrong +FULLRESYNC syntax.")
		} else {
			o.log(LevelNotice, "Full resync from master: %s:%d", l.fullReplID, l.fullOffset)
		}
		if l.refuseFullSync(nowMs, l.fullReplID, l.fullOffset, o) {
			// The cached master stays: a later PSYNC may still continue.
			return
		}
		if l.cachedValid {
			o.log(LevelNotice, "Discarding previously cached master state.")
			l.cachedValid = false
		}
		l.state = StateTransfer
		o.act(Action{Kind: ActFullSync, ReplID: l.fullReplID, Offset: l.fullOffset})
	case strings.HasPrefix(line, "+CONTINUE"):
		o.log(LevelNotice, "Successful partial resynchronization with master.")
		newID := strings.TrimSpace(strings.TrimPrefix(line, "+CONTINUE"))
		changed := false
		if ValidReplID(newID) && newID != l.cachedReplID {
			// The master changed ID (it was promoted): our current ID becomes
			// replid2, valid up to the offset we have, so our own
			// sub-replicas can continue with us.
			l.id.ReplID2 = l.id.ReplID
			l.id.SecondOffset = l.id.Offset + 1
			l.id.ReplID = newID
			changed = true
			o.log(LevelWarning, "Master replication ID changed to %s", newID)
		}
		l.cachedValid = false
		l.state = StateConnected
		l.lastAckMs = nowMs
		o.log(LevelNotice, "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.")
		o.act(Action{Kind: ActPartialSync, ReplIDChanged: changed})
	case l.failover && strings.HasPrefix(line, "-"):
		// The target refused to take over: no retry, no SYNC; the node
		// aborts the failover (Redis's abortFailover).
		switch {
		case strings.HasPrefix(line, "-NOMASTERLINK") || strings.HasPrefix(line, "-LOADING"):
			o.log(LevelNotice, "Master is currently unable to PSYNC but should be in the future: %s", line)
		case strings.HasPrefix(line, "-ERR"):
			o.log(LevelNotice, "Master does not support PSYNC or is in error state (reply: %s)", line)
		default:
			o.log(LevelWarning, "Unexpected reply to PSYNC from master: %s", line)
		}
		l.fail(nowMs, o)
		o.act(Action{Kind: ActFailoverRejected})
	case strings.HasPrefix(line, "-NOMASTERLINK") || strings.HasPrefix(line, "-LOADING") || strings.HasPrefix(line, "-MASTERDOWN"):
		// -MASTERDOWN is a replica with replica-serve-stale-data no whose
		// own link is down (it refuses PSYNC before its SYNC code says
		// -NOMASTERLINK). Redis falls back to SYNC on it, which, once that
		// replica is promoted, is an old-protocol full sync: the data is
		// replaced and the offset never tracked again. It is the same
		// "not now": ask again with PSYNC.
		o.log(LevelNotice, "Master is currently unable to PSYNC but should be in the future: %s", line)
		l.fail(nowMs, o)
		// Redis retries from its next cron, up to a second later. A
		// failover points the replicas at the chosen one before promoting
		// it (docs/failover.md): it answers -NOMASTERLINK until then, and
		// the new master takes writes only once a replica is back, so the
		// retry comes sooner.
		l.nextConnectMs = nowMs + min(l.cfg.RetryMs, NotReadyRetryMs)
	default:
		if strings.HasPrefix(line, "-ERR") {
			o.log(LevelNotice, "Master does not support PSYNC or is in error state (reply: %s)", line)
		} else {
			o.log(LevelWarning, "Unexpected reply to PSYNC from master: %s", line)
		}
		if l.refuseFullSync(nowMs, "", -1, o) {
			return
		}
		o.log(LevelNotice, "Retrying with SYNC...")
		o.act(Action{Kind: ActSend, Argv: []string{"SYNC"}})
		l.cachedValid = false
		l.fullReplID, l.fullOffset = "", -1
		l.state = StateTransfer
		o.act(Action{Kind: ActFullSync, ReplID: "", Offset: -1})
	}
}

// DataReceived notes that bytes arrived from the master (RDB payload or
// stream), which keeps the link from timing out.
func (l *Link) DataReceived(nowMs int64) { l.lastIOMs = nowMs }

// TransferDone reports that the RDB was loaded: the node takes the master's
// replid and offset, forgets replid2, and the link is connected. The caller
// creates a fresh backlog at Identity.Offset.
func (l *Link) TransferDone(nowMs int64) Output {
	var o Output
	if l.state != StateTransfer {
		return o
	}
	if l.fullReplID != "" {
		l.id.ReplID = l.fullReplID
		l.id.Offset = l.fullOffset
	} else {
		l.id.Offset = 0
	}
	l.id.ClearReplID2()
	l.state = StateConnected
	l.lastIOMs = nowMs
	l.lastAckMs = nowMs
	o.log(LevelNotice, "MASTER <-> REPLICA sync: Finished with success")
	return o
}

// TransferFailed reports that the payload could not be read or loaded.
func (l *Link) TransferFailed(nowMs int64, reason string) Output {
	var o Output
	if l.state != StateTransfer {
		return o
	}
	o.log(LevelWarning, "Failed trying to load the MASTER synchronization DB from socket: %s", reason)
	l.fail(nowMs, &o)
	return o
}

// Disconnected reports that the connection to the master dropped. A
// connected link caches the master (replid and our offset) and reconnects
// at once so the next PSYNC can continue partially; a broken handshake or
// transfer retries after RetryMs.
func (l *Link) Disconnected(nowMs int64) Output {
	var o Output
	switch {
	case l.state == StateConnected:
		o.log(LevelWarning, "Connection with master lost.")
		o.log(LevelNotice, "Caching the disconnected master state.")
		l.CacheFromIdentity()
		l.downSinceMs = nowMs
		// As Redis 7.0's replicationHandleMasterDisconnection: reconnect at
		// once rather than on the next cron, so the master's backlog has
		// less time to move past us.
		o.log(LevelNotice, "Reconnecting to MASTER %s:%d", l.host, l.port)
		o.log(LevelNotice, "MASTER <-> REPLICA sync started")
		o.act(Action{Kind: ActConnect, Host: l.host, Port: l.port})
		l.state = StateConnecting
		l.lastIOMs = nowMs
		l.pendingSends = nil
		return o
	case l.state == StateTransfer || l.state.InHandshake() || l.state == StateConnecting:
		o.log(LevelWarning, "Connection with master lost during the handshake or transfer.")
	default:
		return o
	}
	l.state = StateConnect
	l.pendingSends = nil
	l.nextConnectMs = nowMs + l.cfg.RetryMs
	return o
}

// GetAck answers REPLCONF GETACK from the master with our offset.
func (l *Link) GetAck(nowMs int64) Output {
	var o Output
	if l.state != StateConnected {
		return o
	}
	l.lastAckMs = nowMs
	o.act(l.ackAction())
	return o
}

func (l *Link) ackAction() Action {
	return Action{Kind: ActSend, Argv: []string{"REPLCONF", "ACK", strconv.FormatInt(l.id.Offset, 10)}}
}

// Tick is the replica's cron: it times out stalled handshakes, transfers
// and silent masters (repl-timeout), reconnects after RetryMs, and sends
// REPLCONF ACK every AckPeriodMs while connected.
func (l *Link) Tick(nowMs int64) Output {
	var o Output
	idle := nowMs - l.lastIOMs
	switch {
	case l.state == StateConnect:
		if nowMs >= l.nextConnectMs {
			l.startConnect(nowMs, &o)
		}
	case (l.state == StateConnecting || l.state.InHandshake()) && idle > l.cfg.TimeoutMs:
		o.log(LevelWarning, "Timeout connecting to the MASTER...")
		l.fail(nowMs, &o)
	case l.state == StateTransfer && idle > l.cfg.TimeoutMs:
		o.log(LevelWarning, "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.")
		l.fail(nowMs, &o)
	case l.state == StateConnected && idle > l.cfg.TimeoutMs:
		o.log(LevelWarning, "MASTER timeout: no data nor PING received...")
		o.act(Action{Kind: ActClose})
		d := l.Disconnected(nowMs)
		o.Logs = append(o.Logs, d.Logs...)
		o.Actions = append(o.Actions, d.Actions...)
	case l.state == StateConnected && nowMs-l.lastAckMs >= l.cfg.AckPeriodMs:
		l.lastAckMs = nowMs
		o.act(l.ackAction())
	}
	return o
}
