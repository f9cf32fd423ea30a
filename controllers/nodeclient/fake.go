package nodeclient

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/replnode/replnode/replnode/acl"
)

// ------ FAKE ------

// Fake is an in-memory Client for tests (envtest has no pods that run). It
// keeps one FakeNode per address, created on first contact as a master with
// an empty history, and models replication just enough for the operator: a
// replica of a known, reachable master has its link up and the master's
// history and offset, and failover epochs as replnode fences them (a
// mutating call announcing an epoch older than the node's is refused with
// ErrStaleEpoch). Tests drive it with SetReachable, AddWrites and Node.
type Fake struct {
	mu    sync.Mutex
	nodes map[string]*FakeNode
	calls []string
	// NewACL gives a node its users when it is first asked about them
	// (the node's own registry, server.NewACLRegistry, in the operator's
	// tests); nil makes the ACL commands unknown, as on a server without
	// ACLs. Set it before the Fake is used.
	NewACL func() *acl.Registry
}

// FakeNode is the state of one fake server.
type FakeNode struct {
	Addr   string
	Role   string // "master" or "slave"
	ReplID string
	Offset int64
	// ReplID2 and SecondReplOffset are the history the node followed
	// before its last switch and the first offset not shared with it, as
	// INFO reports them; "" / 0 when none (INFO shows zeros and -1).
	ReplID2          string
	SecondReplOffset int64
	// Keys is the keys INFO keyspace lists; a node at an offset past 0
	// lists at least one.
	Keys       int64
	MasterHost string
	MasterPort int
	Reachable  bool
	Password   string
	PausedFor  time.Duration
	Config     map[string]string
	// Epoch is the highest failover epoch announced to the node.
	Epoch int64
	// NoEpochs models a redis-server: REPLNODE EPOCH is an unknown
	// command, so nothing is fenced.
	NoEpochs bool
	// ClientKills counts CLIENT KILL TYPE normal calls.
	ClientKills int
	// ServedCert is the DER of the certificate the node presents (nil: it
	// listens without TLS); CertOnDisk is what its tls.crt file holds now.
	// CONFIG SET tls-cert-file loads CertOnDisk into ServedCert.
	ServedCert, CertOnDisk []byte
	// acl holds the users ACL SETUSER made; nil until the first ACL call
	// and again after Start (a new process has only its default user).
	acl *acl.Registry
	// lastContact is when a replica last found its master reachable, for
	// master_last_io_seconds_ago and master_link_down_since_seconds.
	lastContact time.Time
}

var _ Client = (*Fake)(nil)

// NewFake returns an empty Fake.
func NewFake() *Fake { return &Fake{nodes: map[string]*FakeNode{}} }

// node returns (creating if needed) the node at addr; the caller holds mu.
func (f *Fake) node(addr string) *FakeNode {
	n, ok := f.nodes[addr]
	if !ok {
		n = &FakeNode{Addr: addr, Role: "master", ReplID: fakeReplID(len(f.nodes) + 1), Reachable: true, Config: map[string]string{}}
		f.nodes[addr] = n
	}
	return n
}

// fakeReplID returns a 40-character replication ID derived from i.
func fakeReplID(i int) string {
	s := fmt.Sprintf("%040x", i)
	return s[len(s)-40:]
}

// enter records a call and returns the node if it can be reached with the
// given password; the caller holds mu.
func (f *Fake) enter(n Node, cmd string) (*FakeNode, error) {
	f.calls = append(f.calls, cmd+" "+n.Addr)
	fn := f.node(n.Addr)
	if !fn.Reachable {
		return nil, fmt.Errorf("connect %s: connection refused", n.Addr)
	}
	if (fn.ServedCert != nil) != (n.TLS != nil) {
		return nil, fmt.Errorf("connect %s: TLS on one side only (node %v, client %v)", n.Addr, fn.ServedCert != nil, n.TLS != nil)
	}
	if n.User != "" && n.User != "default" {
		if err := f.checkUser(fn, n, cmd); err != nil {
			return nil, err
		}
		return fn, nil
	}
	if fn.Password != "" && fn.Password != n.Password {
		return nil, &ServerError{Message: "WRONGPASS invalid username-password pair or user is disabled."}
	}
	return fn, nil
}

// checkUser authenticates n's ACL user on the node and checks that it may
// run cmd ("CONFIG SET maxmemory": the command, and its subcommand for a
// container), as the node's dispatch does; the caller holds mu.
func (f *Fake) checkUser(fn *FakeNode, n Node, cmd string) error {
	reg, err := f.users(fn)
	if err != nil {
		return err
	}
	u := reg.User(n.User)
	if u == nil || !u.CheckPassword([]byte(n.Password)) {
		return &ServerError{Message: "WRONGPASS invalid username-password pair or user is disabled."}
	}
	if cmd == "TLS" { // a handshake, no command
		return nil
	}
	words := strings.Fields(strings.ToLower(cmd))
	c := reg.Table().Lookup(words[0])
	if c != nil && len(c.Subs) > 0 && len(words) > 1 {
		c = reg.Table().Lookup(words[0] + "|" + words[1])
	}
	args := make([][]byte, len(words))
	for i, w := range words {
		args[i] = []byte(w)
	}
	if c == nil {
		return &ServerError{Message: fmt.Sprintf("ERR unknown command '%s'", words[0])}
	}
	if res, _ := reg.Check(u, &acl.Request{Cmd: c, Args: args}); res != acl.OK {
		return &ServerError{Message: fmt.Sprintf("NOPERM User %s has no permissions to run the '%s' command", n.User, c.Name)}
	}
	return nil
}

// fence applies the failover epoch ctx carries to a mutating call, as a
// replnode node does: an epoch below the node's is refused with
// ErrStaleEpoch, a higher one becomes the node's. The caller holds mu.
func (f *Fake) fence(ctx context.Context, fn *FakeNode, cmd string) error {
	e, ok := EpochFrom(ctx)
	if !ok || fn.NoEpochs {
		return nil
	}
	if e < fn.Epoch {
		return fmt.Errorf("%s %s: %w", cmd, fn.Addr, staleEpochError(&ServerError{
			Message: fmt.Sprintf("STALEEPOCH failover epoch %d is older than this node's %d", e, fn.Epoch)}))
	}
	fn.Epoch = e
	return nil
}

// enterFenced is enter for a mutating call: the node must be reachable and
// accept the context's failover epoch. The caller holds mu.
func (f *Fake) enterFenced(ctx context.Context, n Node, cmd string) (*FakeNode, error) {
	fn, err := f.enter(n, cmd)
	if err != nil {
		return nil, err
	}
	if _, ok := EpochFrom(ctx); ok && !fn.NoEpochs && n.User != "" && n.User != "default" {
		// The epoch is announced first, with REPLNODE EPOCH.
		if err := f.checkUser(fn, n, "REPLNODE EPOCH"); err != nil {
			return nil, err
		}
	}
	if err := f.fence(ctx, fn, cmd); err != nil {
		return nil, err
	}
	return fn, nil
}

// master returns the reachable master a replica follows, or nil; the caller holds mu.
func (f *Fake) master(fn *FakeNode) *FakeNode {
	if fn.Role != "slave" {
		return nil
	}
	m, ok := f.nodes[net.JoinHostPort(fn.MasterHost, strconv.Itoa(fn.MasterPort))]
	if !ok || !m.Reachable || m.Role != "master" {
		return nil
	}
	return m
}

// sync brings a replica of a reachable master up to the master's history; the caller holds mu.
func (f *Fake) sync(fn *FakeNode) {
	if m := f.master(fn); m != nil {
		if fn.ReplID != m.ReplID {
			// Redis keeps the previous history when it continues
			// (PSYNC +CONTINUE from a master that moved on from it) and
			// drops it on a full sync.
			if fn.ReplID != "" && fn.ReplID == m.ReplID2 && fn.Offset < m.SecondReplOffset {
				fn.ReplID2, fn.SecondReplOffset = fn.ReplID, fn.Offset+1
			} else {
				fn.ReplID2, fn.SecondReplOffset = "", 0
			}
		}
		fn.ReplID, fn.Offset = m.ReplID, m.Offset
	}
}

// Ping implements Client.
func (f *Fake) Ping(_ context.Context, n Node) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, err := f.enter(n, "PING")
	return err
}

// Role implements Client.
func (f *Fake) Role(_ context.Context, n Node) (RoleReply, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn, err := f.enter(n, "ROLE")
	if err != nil {
		return RoleReply{}, err
	}
	f.sync(fn)
	r := RoleReply{Role: fn.Role, Offset: fn.Offset}
	if fn.Role == "slave" {
		r.MasterHost, r.MasterPort, r.LinkState = fn.MasterHost, fn.MasterPort, "connect"
		if f.master(fn) != nil {
			r.LinkState = "connected"
		}
		return r, nil
	}
	for _, other := range f.sortedNodes() {
		if other.Role == "slave" && f.master(other) == fn {
			host, port, _ := net.SplitHostPort(other.Addr)
			p, _ := strconv.Atoi(port)
			r.Replicas = append(r.Replicas, RoleReplica{Host: host, Port: p, Offset: fn.Offset})
		}
	}
	return r, nil
}

// sortedNodes returns the nodes ordered by address; the caller holds mu.
func (f *Fake) sortedNodes() []*FakeNode {
	out := make([]*FakeNode, 0, len(f.nodes))
	for _, n := range f.nodes {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	return out
}

// InfoReplication implements Client, in redis-server 7.0's layout.
func (f *Fake) InfoReplication(_ context.Context, n Node) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn, err := f.enter(n, "INFO")
	if err != nil {
		return "", err
	}
	f.sync(fn)
	var b strings.Builder
	b.WriteString("# Replication\r\n")
	if fn.Role == "slave" {
		link, lastIO, downSince := "down", int64(-1), int64(-1)
		now := time.Now()
		if f.master(fn) != nil {
			link, lastIO, fn.lastContact = "up", 0, now
		} else if !fn.lastContact.IsZero() {
			downSince = int64(now.Sub(fn.lastContact) / time.Second)
		}
		fmt.Fprintf(&b, "role:slave\r\nmaster_host:%s\r\nmaster_port:%d\r\nmaster_link_status:%s\r\nmaster_last_io_seconds_ago:%d\r\n",
			fn.MasterHost, fn.MasterPort, link, lastIO)
		fmt.Fprintf(&b, "master_sync_in_progress:0\r\nslave_repl_offset:%d\r\n", fn.Offset)
		if link == "down" {
			fmt.Fprintf(&b, "master_link_down_since_seconds:%d\r\n", downSince)
		}
	} else {
		b.WriteString("role:master\r\n")
	}
	replid2, second := strings.Repeat("0", 40), int64(-1)
	if fn.ReplID2 != "" {
		replid2, second = fn.ReplID2, fn.SecondReplOffset
	}
	fmt.Fprintf(&b, "master_replid:%s\r\nmaster_replid2:%s\r\nmaster_repl_offset:%d\r\nsecond_repl_offset:%d\r\n",
		fn.ReplID, replid2, fn.Offset, second)
	fmt.Fprintf(&b, "repl_backlog_active:1\r\nrepl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:1\r\nrepl_backlog_histlen:%d\r\n", fn.Offset)
	// A fake node holds data once it applied writes, or when a test says
	// so (Keys): a node restarted from files without a history.
	b.WriteString("\r\n# Keyspace\r\n")
	if fn.Offset > 0 || fn.Keys > 0 {
		fmt.Fprintf(&b, "db0:keys=%d,expires=0,avg_ttl=0\r\n", max(fn.Keys, 1))
	}
	return b.String(), nil
}

// ReplicaOf implements Client.
func (f *Fake) ReplicaOf(ctx context.Context, n Node, host string, port int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn, err := f.enterFenced(ctx, n, fmt.Sprintf("REPLICAOF %s %d", host, port))
	if err != nil {
		return err
	}
	if host == "" {
		if fn.Role == "slave" {
			fn.Role, fn.MasterHost, fn.MasterPort = "master", "", 0
			// Like Redis's shiftReplicationId: the old history becomes
			// replid2, shared up to the current offset.
			fn.ReplID2, fn.SecondReplOffset = fn.ReplID, fn.Offset+1
			fn.ReplID = fakeReplID(1000 + len(f.calls))
		}
		return nil
	}
	fn.Role, fn.MasterHost, fn.MasterPort = "slave", host, port
	f.sync(fn)
	return nil
}

// ConfigSet implements Client.
func (f *Fake) ConfigSet(ctx context.Context, n Node, parameter, value string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn, err := f.enterFenced(ctx, n, "CONFIG SET "+parameter)
	if err != nil {
		return err
	}
	fn.Config[parameter] = value
	switch parameter {
	case "requirepass":
		fn.Password = value
	case "tls-cert-file", "tls-key-file", "tls-ca-cert-file":
		// A reload reads whatever the files hold now.
		fn.ServedCert = fn.CertOnDisk
	}
	return nil
}

// ServedCertificate implements Client.
func (f *Fake) ServedCertificate(_ context.Context, n Node) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n.TLS == nil {
		return nil, nil
	}
	fn, err := f.enter(n, "TLS")
	if err != nil {
		return nil, err
	}
	return fn.ServedCert, nil
}

// StartTLS makes the node at addr listen with TLS, serving der, which is
// also what its certificate file holds (a pod starting with the Secret
// mounted).
func (f *Fake) StartTLS(addr string, der []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn := f.node(addr)
	fn.ServedCert, fn.CertOnDisk = der, der
}

// SetCertOnDisk replaces what the node's certificate file holds, as the
// kubelet does when the mounted Secret changes; the node serves it after
// the next reload.
func (f *Fake) SetCertOnDisk(addr string, der []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.node(addr).CertOnDisk = der
}

// ClientPause implements Client.
func (f *Fake) ClientPause(ctx context.Context, n Node, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn, err := f.enterFenced(ctx, n, "CLIENT PAUSE")
	if err != nil {
		return err
	}
	fn.PausedFor = d
	return nil
}

// ClientUnpause implements Client.
func (f *Fake) ClientUnpause(ctx context.Context, n Node) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn, err := f.enterFenced(ctx, n, "CLIENT UNPAUSE")
	if err != nil {
		return err
	}
	fn.PausedFor = 0
	return nil
}

// PushEpoch implements Client.
func (f *Fake) PushEpoch(ctx context.Context, n Node) error {
	if _, ok := EpochFrom(ctx); !ok {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_, err := f.enterFenced(ctx, n, "REPLNODE EPOCH")
	return err
}

// ClientKillNormal implements Client: it counts the kills.
func (f *Fake) ClientKillNormal(ctx context.Context, n Node) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn, err := f.enterFenced(ctx, n, "CLIENT KILL")
	if err != nil {
		return err
	}
	fn.ClientKills++
	return nil
}

// users returns the node's ACL users, the default one with the node's
// password; the caller holds mu.
func (f *Fake) users(fn *FakeNode) (*acl.Registry, error) {
	if f.NewACL == nil {
		return nil, &ServerError{Message: "ERR unknown command 'ACL'"}
	}
	if fn.acl == nil {
		fn.acl = f.NewACL()
	}
	fn.acl.SetDefaultPassword(fn.Password)
	return fn.acl, nil
}

// ACLList implements Client.
func (f *Fake) ACLList(_ context.Context, n Node) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn, err := f.enter(n, "ACL LIST")
	if err != nil {
		return nil, err
	}
	reg, err := f.users(fn)
	if err != nil {
		return nil, err
	}
	return reg.UserLines(), nil
}

// ACLSetUser implements Client with the node's own rule parser.
func (f *Fake) ACLSetUser(ctx context.Context, n Node, name string, rules []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn, err := f.enterFenced(ctx, n, "ACL SETUSER "+name)
	if err != nil {
		return err
	}
	reg, err := f.users(fn)
	if err != nil {
		return err
	}
	if _, err := reg.SetUser(name, rules); err != nil {
		return &ServerError{Message: "ERR " + err.Error()}
	}
	return nil
}

// ACLDelUser implements Client.
func (f *Fake) ACLDelUser(ctx context.Context, n Node, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn, err := f.enterFenced(ctx, n, "ACL DELUSER "+name)
	if err != nil {
		return err
	}
	reg, err := f.users(fn)
	if err != nil {
		return err
	}
	if _, err := reg.DelUser([]string{name}); err != nil {
		return &ServerError{Message: "ERR " + err.Error()}
	}
	return nil
}

// ------ FAKE CONTROLS (tests only) ------

// ACLAccepts reports whether the node at addr would let a client
// authenticate as user with password (AUTH user password).
func (f *Fake) ACLAccepts(addr, user, password string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn, ok := f.nodes[addr]
	if !ok {
		return false
	}
	reg, err := f.users(fn)
	if err != nil {
		return false
	}
	u := reg.User(user)
	return u != nil && u.Enabled() && u.CheckPassword([]byte(password))
}

// SetMasterSilence makes the replica at addr report that it last heard
// from its master silentFor ago (master_last_io_seconds_ago and
// master_link_down_since_seconds), as if the link had been cut then; it
// lasts until the replica next reaches its master.
func (f *Fake) SetMasterSilence(addr string, silentFor time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.node(addr).lastContact = time.Now().Add(-silentFor)
}

// SetReachable makes the node at addr answer (true) or refuse connections (false).
func (f *Fake) SetReachable(addr string, reachable bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.node(addr).Reachable = reachable
}

// Start models a server process starting at addr: reachable, with the given
// password, as a master with a fresh history or as a replica of masterAddr
// ("" for a master). A node already known at addr keeps its data.
func (f *Fake) Start(addr, password, masterAddr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn := f.node(addr)
	fn.Reachable, fn.Password = true, password
	fn.acl = nil                    // users set live die with the process,
	fn.Config = map[string]string{} // and so does CONFIG SET
	if masterAddr == "" {
		return
	}
	host, port, err := net.SplitHostPort(masterAddr)
	if err != nil {
		return
	}
	p, _ := strconv.Atoi(port)
	fn.Role, fn.MasterHost, fn.MasterPort = "slave", host, p
	f.sync(fn)
}

// SetPassword sets the password the node at addr requires ("" for none).
func (f *Fake) SetPassword(addr, password string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.node(addr).Password = password
}

// SetEpoch sets the failover epoch of the node at addr, as if an operator
// had announced it.
func (f *Fake) SetEpoch(addr string, epoch int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.node(addr).Epoch = epoch
}

// SetNoEpochs makes the node at addr behave as a redis-server without
// failover epochs (true) or as a replnode node (false).
func (f *Fake) SetNoEpochs(addr string, noEpochs bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.node(addr).NoEpochs = noEpochs
}

// AddWrites advances the offset of the master at addr by bytes.
func (f *Fake) AddWrites(addr string, bytes int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.node(addr).Offset += bytes
}

// Node returns a copy of the node at addr, and whether it was ever contacted.
func (f *Fake) Node(addr string) (FakeNode, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.nodes[addr]
	if !ok {
		return FakeNode{}, false
	}
	c := *n
	c.Config = map[string]string{}
	for k, v := range n.Config {
		c.Config[k] = v
	}
	return c, true
}

// Calls returns the commands sent so far, "<COMMAND> <addr>" each.
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}
