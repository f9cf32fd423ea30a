package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTransactions(t *testing.T) {
	n := newCoreNode(t)
	n.run(transcript{
		{cmd("EXEC"), "(error) ERR EXEC without MULTI"},
		{cmd("DISCARD"), "(error) ERR DISCARD without MULTI"},
		{cmd("MULTI"), "OK"},
		{cmd("MULTI"), "(error) ERR MULTI calls can not be nested"},
		{cmd("SET", "a", "1"), "QUEUED"},
		{cmd("INCR", "a"), "QUEUED"},
		{cmd("WATCH", "a"), "(error) ERR WATCH inside MULTI is not allowed"},
		{cmd("EXEC"), `[OK, (integer) 2]`},
		{cmd("MULTI"), "OK"},
		{cmd("SET", "a"), "(error) ERR wrong number of arguments for 'set' command"},
		{cmd("NOSUCH"), "(error) ERR unknown command 'NOSUCH', with args beginning with: "},
		{cmd("EXEC"), "(error) EXECABORT Transaction discarded because of previous errors."},
		{cmd("MULTI"), "OK"},
		{cmd("SET", "a", "x"), "QUEUED"},
		{cmd("INCR", "a"), "QUEUED"},
		{cmd("EXEC"), `[OK, (error) ERR value is not an integer or out of range]`},
		{cmd("MULTI"), "OK"},
		{cmd("DISCARD"), "OK"},
		{cmd("GET", "a"), `"x"`},
	})
	// WATCH: a write from another client aborts EXEC.
	other := n.newClient()
	n.run(transcript{
		{cmd("WATCH", "a"), "OK"},
		{cmd("MULTI"), "OK"},
		{cmd("SET", "a", "mine"), "QUEUED"},
	})
	if got := n.doClient(other, "SET", "a", "theirs"); got != "OK" {
		t.Fatal(got)
	}
	n.run(transcript{
		{cmd("EXEC"), "(nil)"},
		{cmd("GET", "a"), `"theirs"`},
		{cmd("WATCH", "a"), "OK"},
		{cmd("UNWATCH"), "OK"},
		{cmd("MULTI"), "OK"},
		{cmd("SET", "a", "mine"), "QUEUED"},
		{cmd("EXEC"), "[OK]"},
		{cmd("SET", "w", "v", "PX", "100"), "OK"},
		{cmd("WATCH", "w"), "OK"},
	})
	n.now += 200
	n.run(transcript{
		{cmd("MULTI"), "OK"},
		{cmd("PING"), "QUEUED"},
		{cmd("EXEC"), "(nil)"},
		{cmd("WATCH", "a"), "OK"},
		{cmd("FLUSHALL"), "OK"},
		{cmd("MULTI"), "OK"},
		{cmd("PING"), "QUEUED"},
		{cmd("EXEC"), "(nil)"},
	})
}

func TestDispatchChecks(t *testing.T) {
	n := newCoreNode(t, "requirepass secret")
	n.run(transcript{
		{cmd("GET", "a"), "(error) NOAUTH Authentication required."},
		{cmd("AUTH", "wrong"), "(error) WRONGPASS invalid username-password pair or user is disabled."},
		{cmd("HELLO", "3"), "(error) NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"},
		{cmd("AUTH", "secret"), "OK"},
		{cmd("GET", "a"), "(nil)"},
		{cmd("PING", "a", "b"), "(error) ERR wrong number of arguments for 'ping' command"},
		{cmd("CONFIG", "GET"), "(error) ERR wrong number of arguments for 'config|get' command"},
		{cmd("CONFIG", "NOPE"), "(error) ERR unknown subcommand 'NOPE'. Try CONFIG HELP."},
		{cmd("DEBUG", "SLEEP", "0"), "(error) ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server."},
	})
	// Read-only replica and stale data.
	n.s.MasterHost, n.s.MasterPort = "127.0.0.1", 1
	n.run(transcript{
		{cmd("SET", "a", "1"), "(error) READONLY You can't write against a read only replica."},
		{cmd("GET", "a"), "(nil)"},
		{cmd("CONFIG", "SET", "replica-serve-stale-data", "no"), "OK"},
		{cmd("GET", "a"), "(error) MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."},
		{cmd("MULTI"), "OK"},
		{cmd("SET", "a", "1"), "(error) READONLY You can't write against a read only replica."},
		{cmd("EXEC"), "(error) EXECABORT Transaction discarded because of previous errors."},
	})
	n.s.MasterHost = ""
	n.run(transcript{
		{cmd("CONFIG", "SET", "min-replicas-to-write", "1"), "OK"},
		{cmd("SET", "a", "1"), "(error) NOREPLICAS Not enough good replicas to write."},
		{cmd("CONFIG", "SET", "min-replicas-to-write", "0"), "OK"},
		{cmd("CONFIG", "SET", "maxmemory", "1"), "OK"},
	})
	n.s.usedMemory.Store(1 << 20)
	n.run(transcript{
		{cmd("SET", "a", "1"), "(error) OOM command not allowed when used memory > 'maxmemory'."},
		{cmd("GET", "a"), "(nil)"},
		{cmd("DEL", "a"), "(integer) 0"},
	})
	n.s.Loading = true
	n.run(transcript{{cmd("GET", "a"), "(error) LOADING Redis is loading the dataset in memory"}})
}

func TestConnectionAndServerCommands(t *testing.T) {
	// slowlog-log-slower-than 1s: SLOWLOG LEN below must be 0 however
	// loaded the machine is (at the default 10ms a starved COMMAND INFO
	// got logged).
	n := newCoreNode(t, "enable-debug-command yes", "slowlog-log-slower-than 1000000")
	n.run(transcript{
		{cmd("PING"), "PONG"},
		{cmd("PING", "x"), `"x"`},
		{cmd("ECHO", "hi"), `"hi"`},
		{cmd("SELECT", "16"), "(error) ERR DB index is out of range"},
		{cmd("SELECT", "x"), "(error) ERR value is not an integer or out of range"},
		{cmd("HELLO", "4"), "(error) NOPROTO unsupported protocol version"},
		{cmd("HELLO", "x"), "(error) ERR Protocol version is not an integer or out of range"},
		{cmd("HELLO", "3", "foo"), "(error) ERR Syntax error in HELLO option 'foo'"},
		{cmd("AUTH", "x"), "(error) ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"},
		{cmd("AUTH", "a", "b", "c"), "(error) ERR syntax error"},
		{cmd("CLIENT", "SETNAME", "a b"), "(error) ERR Client names cannot contain spaces, newlines or special characters."},
		{cmd("CLIENT", "SETNAME", "me"), "OK"},
		{cmd("CLIENT", "GETNAME"), `"me"`},
		{cmd("CONFIG", "SET", "foo", "bar"), "(error) ERR Unknown option or number of arguments for CONFIG SET - 'foo'"},
		{cmd("CONFIG", "SET", "port", "abc"), "(error) ERR CONFIG SET failed (possibly related to argument 'port') - argument couldn't be parsed into an integer"},
		{cmd("CONFIG", "SET", "daemonize", "yes"), "(error) ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config"},
		{cmd("CONFIG", "SET", "hz", "5", "hz", "6"), "(error) ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter"},
		{cmd("CONFIG", "SET", "maxmemory", "10mb", "loglevel", "nope"), "(error) ERR CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the following: debug, verbose, notice, warning"},
		{cmd("CONFIG", "GET", "maxmemory"), `["maxmemory", "0"]`},
		{cmd("CONFIG", "SET", "maxmemory", "10mb", "save", "10 1 20 2"), "OK"},
		{cmd("CONFIG", "GET", "maxmemory", "sav?"), `["maxmemory", "10485760", "save", "10 1 20 2"]`},
		{cmd("CONFIG", "GET", "slave-read-only"), `["slave-read-only", "yes"]`},
		{cmd("CONFIG", "REWRITE"), "(error) ERR The server is running without a config file"},
		{cmd("DEBUG", "PROTOCOL", "double"), `"3.141"`},
		{cmd("DEBUG", "SET-ACTIVE-EXPIRE", "0"), "OK"},
		{cmd("DEBUG", "CHANGE-REPL-ID"), "OK"},
		{cmd("COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"), `["a", "b"]`},
		{cmd("COMMAND", "GETKEYS", "PING", "x"), "(error) ERR The command has no key arguments"},
		{cmd("COMMAND", "INFO", "get", "nosuch"), `[["get", (integer) 2, [readonly, fast], (integer) 1, (integer) 1, (integer) 1, [@read, @string, @fast], [], [["flags", [RO, access], "begin_search", ["type", "index", "spec", ["index", (integer) 1]], "find_keys", ["type", "range", "spec", ["lastkey", (integer) 0, "keystep", (integer) 1, "limit", (integer) 0]]]], []], (nil)]`},
		{cmd("SLOWLOG", "LEN"), "(integer) 0"},
		{cmd("CLIENT", "REPLY", "SKIP"), ""},
		{cmd("PING"), ""},
		{cmd("PING"), "PONG"},
	})
	info := n.do("INFO")
	for _, want := range []string{"# Server", "redis_version:7.0.15", "# Clients", "# Memory", "# Persistence", "# Stats", "# Replication", "role:master", "# CPU", "# Keyspace"} {
		if !strings.Contains(info, want) {
			t.Errorf("INFO lacks %q", want)
		}
	}
	if strings.Contains(info, "# Commandstats") {
		t.Error("default INFO must not include commandstats")
	}
	if all := n.do("INFO", "commandstats"); !strings.Contains(all, "cmdstat_ping:calls=") {
		t.Errorf("commandstats: %s", all)
	}
}

func TestConfigRewriteKeepsComments(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "redis.conf")
	orig := "# my comment\nport 6380\n\n# save points\nsave 900 1\nsave 300 10\nslave-read-only yes\ninclude /dev/null\n"
	if err := os.WriteFile(path, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	n := newCoreNode(t, `dir ""`) // the default dir, so REWRITE leaves it out
	if err := n.s.Config.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	n.run(transcript{
		{cmd("CONFIG", "SET", "save", "60 5", "maxmemory", "2mb", "replica-read-only", "no"), "OK"},
		{cmd("CONFIG", "REWRITE"), "OK"},
	})
	got, _ := os.ReadFile(path)
	// The users are always written, the default one included, as
	// redis-server 7.0 does.
	want := "# my comment\nport 6380\n\n# save points\nsave 60 5\nreplica-read-only no\ninclude /dev/null\n# Generated by CONFIG REWRITE\nmaxmemory 2mb\nuser default on nopass ~* &* +@all\n"
	if string(got) != want {
		t.Errorf("rewritten file:\n%s\nwant:\n%s", got, want)
	}
}

func TestDebugChangeReplID(t *testing.T) {
	n := newCoreNode(t, "enable-debug-command yes")
	replid := func() string {
		for _, l := range strings.Split(n.do("INFO", "replication"), "\\r\\n") {
			if strings.HasPrefix(l, "master_replid:") {
				return l
			}
		}
		return ""
	}
	before := replid()
	n.run(transcript{{cmd("DEBUG", "CHANGE-REPL-ID"), "OK"}})
	if after := replid(); before == "" || after == before {
		t.Fatalf("replid unchanged: %q -> %q", before, after)
	}
}
