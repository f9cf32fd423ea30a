package controllers

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/replnode/replnode/controllers/nodeclient"
	"github.com/replnode/replnode/replnode/redistest"
)

// ------ THE OPERATOR'S OWN USERS, ON REAL SERVERS ------

// applySystemUsers gives a node the operator's users as the users step
// does, through the real client as the default user.
func applySystemUsers(t *testing.T, c nodeclient.Client, addr, password string, names ...string) {
	t.Helper()
	for _, su := range systemUsers {
		if len(names) > 0 && !containsString(names, su.name) {
			continue
		}
		if err := c.ACLSetUser(context.Background(), nodeclient.Node{Addr: addr, Password: password}, su.name, userSetArgs(su.rules, ">"+password)); err != nil {
			t.Fatalf("ACL SETUSER %s on %s: %v", su.name, addr, err)
		}
	}
}

// TestOperatorUserRunsEveryNodeCommand: as replnode-operator, every
// command of the node client works on a real replnode (fenced by an epoch,
// so REPLNODE EPOCH goes first), and nothing else does.
func TestOperatorUserRunsEveryNodeCommand(t *testing.T) {
	const pw = "operator-test-pw"
	master := redistest.StartInProcess(t, "requirepass "+pw)
	other := redistest.StartInProcess(t, "requirepass "+pw)
	c := &nodeclient.RESP{Timeout: 10 * time.Second}
	applySystemUsers(t, c, master.Addr, pw)
	applySystemUsers(t, c, other.Addr, pw)
	ctx := nodeclient.WithEpoch(context.Background(), 3)
	n := nodeclient.Node{Addr: other.Addr, User: operatorUser, Password: pw}
	steps := []struct {
		name string
		run  func() error
	}{
		{"PING", func() error { return c.Ping(ctx, n) }},
		{"ROLE", func() error { _, err := c.Role(ctx, n); return err }},
		{"INFO replication", func() error { _, err := c.InfoReplication(ctx, n); return err }},
		{"REPLNODE EPOCH", func() error { return c.PushEpoch(ctx, n) }},
		{"CONFIG SET", func() error { return c.ConfigSet(ctx, n, "masteruser", replicationUser) }},
		{"REPLICAOF host port", func() error { return c.ReplicaOf(ctx, n, "127.0.0.1", master.Port) }},
		{"CLIENT PAUSE", func() error { return c.ClientPause(ctx, n, time.Second) }},
		{"CLIENT UNPAUSE", func() error { return c.ClientUnpause(ctx, n) }},
		{"CLIENT KILL", func() error { return c.ClientKillNormal(ctx, n) }},
		{"ACL LIST", func() error { _, err := c.ACLList(ctx, n); return err }},
		{"ACL SETUSER", func() error { return c.ACLSetUser(ctx, n, "someone", userSetArgs("~* +get", ">x")) }},
		{"ACL DELUSER", func() error { return c.ACLDelUser(ctx, n, "someone") }},
		{"REPLICAOF NO ONE", func() error { return c.ReplicaOf(ctx, n, "", 0) }},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			t.Errorf("%s as %s: %v", s.name, operatorUser, err)
		}
	}

	cl := other.Dial(t)
	if r := cl.MustDo(t, "AUTH", operatorUser, pw); r.Str != "OK" {
		t.Fatalf("AUTH: %+v", r)
	}
	for _, cmd := range [][]string{{"SET", "k", "v"}, {"GET", "k"}, {"FLUSHALL"}, {"CONFIG", "GET", "requirepass"}, {"SUBSCRIBE", "c"}, {"KEYS", "*"}, {"EVAL", "return 1", "0"}, {"CONFIG", "REWRITE"}} {
		if r := cl.MustDo(t, cmd...); r.Type != '-' || !strings.HasPrefix(r.Str, "NOPERM") {
			t.Errorf("%v as %s: %+v, want -NOPERM", cmd, operatorUser, r)
		}
	}
}

// TestReplicationUserIsEnough: a replica authenticating as
// replnode-replication (masteruser) syncs from a replnode master and from
// a redis-server 7.0 master with only PSYNC, REPLCONF and PING, and the
// user can do nothing else.
func TestReplicationUserIsEnough(t *testing.T) {
	const pw = "replication-test-pw"
	c := &nodeclient.RESP{Timeout: 10 * time.Second}
	// Started without a password (the harness waits for PONG), given one next.
	masters := map[string]func(t *testing.T) *redistest.Instance{
		"replnode":     func(t *testing.T) *redistest.Instance { return redistest.StartInProcess(t) },
		"redis-server": func(t *testing.T) *redistest.Instance { return redistest.StartRedis(t) },
	}
	for kind, start := range masters {
		t.Run(kind, func(t *testing.T) {
			master := start(t)
			mc := master.Dial(t)
			if r := mc.MustDo(t, "CONFIG", "SET", "requirepass", pw); r.Str != "OK" {
				t.Fatalf("CONFIG SET requirepass: %+v", r)
			}
			mc.MustDo(t, "AUTH", pw)
			applySystemUsers(t, c, master.Addr, pw, replicationUser)
			mc.MustDo(t, "SET", "before", "1")
			replica := redistest.StartInProcess(t, "requirepass "+pw, "masteruser "+replicationUser, "masterauth "+pw,
				"replicaof 127.0.0.1 "+strconv.Itoa(master.Port))
			rc := replica.Dial(t)
			rc.MustDo(t, "AUTH", pw)
			deadline := time.Now().Add(60 * time.Second)
			for {
				info := rc.MustDo(t, "INFO", "replication").Str
				if strings.Contains(info, "master_link_status:up") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("link not up as %s:\n%s", replicationUser, info)
				}
				time.Sleep(100 * time.Millisecond)
			}
			mc.MustDo(t, "SET", "after", "2")
			for rc.MustDo(t, "GET", "after").Str != "2" {
				if time.Now().After(deadline) {
					t.Fatal("a write after the sync did not reach the replica")
				}
				time.Sleep(50 * time.Millisecond)
			}
			list := mc.MustDo(t, "CLIENT", "LIST").Str
			if !strings.Contains(list, "user="+replicationUser) {
				t.Fatalf("no connection as %s on the master:\n%s", replicationUser, list)
			}
			uc := master.Dial(t)
			uc.MustDo(t, "AUTH", replicationUser, pw)
			for _, cmd := range [][]string{{"GET", "before"}, {"SET", "x", "y"}, {"CONFIG", "SET", "masterauth", "x"}, {"ACL", "LIST"}} {
				if r := uc.MustDo(t, cmd...); r.Type != '-' || !strings.HasPrefix(r.Str, "NOPERM") {
					t.Errorf("%v as %s: %+v, want -NOPERM", cmd, replicationUser, r)
				}
			}
		})
	}
}

// TestExistingGroupUpgradesInPlace: a group whose members know only the
// default user gets the operator's users and masteruser in one pass, with
// no pod changed; the operator then reaches them as its own user (the
// default user's password no longer works for it), and a restarted
// process gets its users and masteruser again.
func TestExistingGroupUpgradesInPlace(t *testing.T) {
	h := newUsersHarness(t, nil)
	h.pass()
	if c := h.condition(); c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, operatorUser) {
		t.Fatalf("condition %+v", c)
	}
	for _, a := range h.addrs {
		if !h.nodes.ACLAccepts(a, operatorUser, usersGroupPassword) || !h.nodes.ACLAccepts(a, replicationUser, usersGroupPassword) {
			t.Fatalf("%s lacks the operator's users", a)
		}
		if n, _ := h.nodes.Node(a); n.Config["masteruser"] != replicationUser {
			t.Fatalf("%s: masteruser %q", a, n.Config["masteruser"])
		}
	}
	if len(h.rg.Status.Users) != 0 {
		t.Fatalf("the operator's users in status.users: %+v", h.rg.Status.Users)
	}

	// The default user's password changes behind the operator's back: it
	// still reaches every member, as its own user.
	for _, a := range h.addrs {
		h.nodes.SetPassword(a, "changed-by-hand")
	}
	h.pass()
	for _, v := range h.lastViews {
		if !v.failover.Reachable || v.user != operatorUser {
			t.Fatalf("%s: reachable %v as %q", v.observed.Name, v.failover.Reachable, v.user)
		}
	}
	for _, a := range h.addrs {
		h.nodes.SetPassword(a, usersGroupPassword)
	}

	// A restarted process (new container, same pod): users and masteruser again.
	h.nodes.Start(h.addrs[1], usersGroupPassword, h.addrs[0])
	h.restarted(1)
	h.pass()
	if !h.nodes.ACLAccepts(h.addrs[1], operatorUser, usersGroupPassword) {
		t.Fatal("the restarted member did not get the operator's user back")
	}
	if n, _ := h.nodes.Node(h.addrs[1]); n.Config["masteruser"] != replicationUser {
		t.Fatalf("the restarted member's masteruser is %q", n.Config["masteruser"])
	}
}

// masterauthWatch is a node client that checks, after every change it
// sends, that each member's masterauth is a password every member's
// replnode-replication takes: a replica reconnecting at any moment of a
// group-password rotation authenticates.
type masterauthWatch struct {
	*nodeclient.Fake
	t       *testing.T
	addrs   []string
	initial string
	changes int
}

// check verifies the invariant now.
func (w *masterauthWatch) check(after string) {
	w.changes++
	for _, a := range w.addrs {
		n, _ := w.Node(a)
		auth := w.initial
		if v, ok := n.Config["masterauth"]; ok {
			auth = v
		}
		for _, b := range w.addrs {
			if !w.ACLAccepts(b, replicationUser, auth) {
				w.t.Errorf("after %s: %s's masterauth is refused by %s's %s", after, a, b, replicationUser)
			}
		}
	}
}

// ConfigSet implements nodeclient.Client.
func (w *masterauthWatch) ConfigSet(ctx context.Context, n nodeclient.Node, parameter, value string) error {
	err := w.Fake.ConfigSet(ctx, n, parameter, value)
	w.check("CONFIG SET " + parameter + " on " + n.Addr)
	return err
}

// ACLSetUser implements nodeclient.Client.
func (w *masterauthWatch) ACLSetUser(ctx context.Context, n nodeclient.Node, name string, rules []string) error {
	err := w.Fake.ACLSetUser(ctx, n, name, rules)
	w.check("ACL SETUSER " + name + " on " + n.Addr)
	return err
}

// TestGroupPasswordRotationKeepsTheReplicationUser: while the group
// password is rotated member by member, every member's replication user
// takes every member's masterauth at every step; afterwards only the new
// password works, for the operator's users too.
func TestGroupPasswordRotationKeepsTheReplicationUser(t *testing.T) {
	h := newUsersHarness(t, nil)
	h.pass()
	if c := h.condition(); c.Status != metav1.ConditionTrue {
		t.Fatalf("condition %+v", c)
	}
	watch := &masterauthWatch{Fake: h.nodes, t: t, addrs: h.addrs, initial: usersGroupPassword}
	h.r.Nodes = watch
	h.setSecret("group-pw", "group-pw-rotated")
	for i := 0; i < 3; i++ {
		h.pass()
	}
	if watch.changes == 0 {
		t.Fatal("the rotation sent nothing")
	}
	for _, a := range h.addrs {
		n, _ := h.nodes.Node(a)
		if n.Password != "group-pw-rotated" || n.Config["masterauth"] != "group-pw-rotated" {
			t.Fatalf("%s not rotated: requirepass %q masterauth %q", a, n.Password, n.Config["masterauth"])
		}
		for _, u := range []string{operatorUser, replicationUser} {
			if !h.nodes.ACLAccepts(a, u, "group-pw-rotated") || h.nodes.ACLAccepts(a, u, usersGroupPassword) {
				t.Fatalf("%s: %s does not take only the new password", a, u)
			}
		}
	}
	for _, v := range h.lastViews {
		if v.user != operatorUser || v.password != "group-pw-rotated" {
			t.Fatalf("%s reached as %q after the rotation", v.observed.Name, v.user)
		}
	}
}
