package server

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// ------ replication with masteruser/masterauth
//
// A replica authenticates to its master as masteruser. The user given
// here has only what a replica needs (PSYNC, REPLCONF, PING) and the
// default user has a password, so the link works only if the replica
// authenticates as that user and the master's checks let the replication
// commands through — in both directions with redis-server 7.0.

const replUserRules = "on >replpw +psync +replconf +ping"

// replicaConnUser is the user= of the replica connections a master lists.
func replicaConnUser(c *testClient) string {
	list := c.do("CLIENT", "LIST", "TYPE", "replica").Str
	for _, f := range strings.Fields(list) {
		if strings.HasPrefix(f, "user=") {
			return strings.TrimPrefix(f, "user=")
		}
	}
	return ""
}

// restrictMaster creates the replication user and protects the default
// one; c stays authenticated as default.
func restrictMaster(c *testClient) {
	c.do(append([]string{"ACL", "SETUSER", "repl"}, strings.Fields(replUserRules)...)...)
	c.do("CONFIG", "SET", "requirepass", "adminpw")
}

func TestInteropMasterUserOurMasterRealReplica(t *testing.T) {
	requireLoadCommands(t)
	master := startNode(t)
	mc := dialNode(t, master.port)
	restrictMaster(mc)
	writeLoad(mc, "pre", 50)
	// A replica with the wrong password never syncs.
	bad := dialNode(t, startRealRedis(t, "--masteruser", "repl", "--masterauth", "wrong", "--replicaof", "127.0.0.1", strconv.Itoa(master.port)))
	rport := startRealRedis(t, "--masteruser", "repl", "--masterauth", "replpw", "--replicaof", "127.0.0.1", strconv.Itoa(master.port))
	r := dialNode(t, rport)
	waitLinkUp(t, r)
	writeLoad(mc, "post", 50)
	waitFor(t, 30*time.Second, "offsets equal", func() bool {
		return master.info()["master_repl_offset"] == replInfo(r)["master_repl_offset"]
	})
	if got := r.do("DBSIZE").Int; got != int64(master.keys(0)) {
		t.Fatalf("replica dbsize %d, master %d", got, master.keys(0))
	}
	if u := replicaConnUser(mc); u != "repl" {
		t.Fatalf("replica connection user=%q, want repl", u)
	}
	// The bad replica did try: its AUTH failure is in the ACL LOG.
	waitFor(t, 30*time.Second, "the failed AUTH of the bad replica in ACL LOG", func() bool {
		for _, e := range mc.do("ACL", "LOG").Elems {
			if strings.Contains(e.String(), "auth") && strings.Contains(e.String(), "repl") {
				return true
			}
		}
		return false
	})
	if st := replInfo(bad)["master_link_status"]; st != "down" {
		t.Fatalf("a replica with a wrong masterauth has link %s", st)
	}
}

func TestInteropMasterUserRealMasterOurReplica(t *testing.T) {
	requireLoadCommands(t)
	mport := startRealRedis(t)
	mc := dialNode(t, mport)
	restrictMaster(mc)
	writeLoad(mc, "pre", 50)
	replica := startNode(t, "masteruser", "repl", "masterauth", "replpw", "replicaof", "127.0.0.1 "+strconv.Itoa(mport))
	rc := dialNode(t, replica.port)
	waitLinkUp(t, rc)
	writeLoad(mc, "post", 50)
	waitFor(t, 30*time.Second, "offsets equal", func() bool {
		return replInfo(mc)["master_repl_offset"] == replica.info()["master_repl_offset"]
	})
	if got, want := int64(replica.keys(0)), mc.do("DBSIZE").Int; got != want {
		t.Fatalf("replica has %d keys, master %d", got, want)
	}
	if u := replicaConnUser(mc); u != "repl" {
		t.Fatalf("our replica's connection on redis-server: user=%q, want repl", u)
	}
}

func TestReplMasterUserOurMasterOurReplica(t *testing.T) {
	requireLoadCommands(t)
	master := startNode(t)
	mc := dialNode(t, master.port)
	restrictMaster(mc)
	writeLoad(mc, "pre", 50)
	replica := startNode(t, "masteruser", "repl", "masterauth", "replpw", "replicaof", "127.0.0.1 "+strconv.Itoa(master.port))
	rc := dialNode(t, replica.port)
	waitLinkUp(t, rc)
	writeLoad(mc, "post", 50)
	waitFor(t, 30*time.Second, "offsets equal", func() bool {
		return master.info()["master_repl_offset"] == replica.info()["master_repl_offset"]
	})
	if got, want := replica.keys(0), master.keys(0); got != want {
		t.Fatalf("replica has %d keys, master %d", got, want)
	}
	if u := replicaConnUser(mc); u != "repl" {
		t.Fatalf("replica connection user=%q, want repl", u)
	}
	// Taking PSYNC away from the user does not cut the running link
	// (commands already past their check), but no new one can sync.
	mc.do("ACL", "SETUSER", "repl", "-psync")
	mc.do("CLIENT", "KILL", "TYPE", "replica")
	time.Sleep(1500 * time.Millisecond)
	if st := replInfo(rc)["master_link_status"]; st != "down" {
		t.Fatalf("a replica whose user lost PSYNC re-synced: link %s", st)
	}
}

// TestReplStreamIgnoresReplicaACL checks that a replica applies its
// master's stream whatever its own users may do: the link has no user
// (CLIENT LIST user=(superuser), as Redis's master client), so a replica
// whose default user can only read still follows every write, FLUSHALL
// included.
func TestReplStreamIgnoresReplicaACL(t *testing.T) {
	requireLoadCommands(t)
	master := startNode(t)
	mc := dialNode(t, master.port)
	replica := startNode(t)
	rc := dialNode(t, replica.port)
	rc.do("REPLICAOF", "127.0.0.1", strconv.Itoa(master.port))
	waitLinkUp(t, rc)
	if r := rc.do("ACL", "SETUSER", "default", "resetkeys", "%R~*", "-@all", "+@read", "+@connection", "+info", "+client"); r.Str != "OK" {
		t.Fatal(r.String())
	}
	writeLoad(mc, "acl", 50)
	mc.do("FLUSHALL")
	writeLoad(mc, "after", 20)
	waitFor(t, 30*time.Second, "offsets equal", func() bool {
		return master.info()["master_repl_offset"] == replica.info()["master_repl_offset"]
	})
	if got, want := replica.keys(0), master.keys(0); got != want || want == 0 {
		t.Fatalf("replica has %d keys, master %d", got, want)
	}
	list := rc.do("CLIENT", "LIST", "TYPE", "master").Str
	if !strings.Contains(list, "user=(superuser)") {
		t.Fatalf("master link on the replica: %s", list)
	}
	if r := rc.do("SET", "x", "1"); !strings.HasPrefix(r.Str, "NOPERM") {
		t.Fatalf("the replica's default user may not write: %s", r.String())
	}
}
