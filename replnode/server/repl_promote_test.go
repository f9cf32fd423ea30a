package server

import (
	"strconv"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/resp"
)

// A client blocked in BLPOP on a (writable) replica is served once the
// replica is promoted and a client pushes to the list, as Redis does
// (redis/redis#2473): blocking state survives the role change.
func TestPromotedReplicaServesClientsBlockedBeforePromotion(t *testing.T) {
	for _, kind := range []string{"ours", "real"} {
		t.Run("master="+kind, func(t *testing.T) {
			var mport int
			if kind == "real" {
				mport = startRealRedis(t)
			} else {
				mport = startNode(t).port
			}
			rep := startNode(t, "replicaof", "127.0.0.1 "+strconv.Itoa(mport), "replica-read-only", "no")
			waitFor(t, 60*time.Second, "replica up", func() bool { return rep.info()["master_link_status"] == "up" })
			blocked := dialNode(t, rep.port)
			if _, err := blocked.conn.Write(resp.AppendCommandStrings(nil, "BLPOP", "jobs", "0")); err != nil {
				t.Fatal(err)
			}
			rc := dialNode(t, rep.port)
			waitFor(t, 10*time.Second, "client blocked", func() bool { return rc.info("clients")["blocked_clients"] == "1" })
			if r := rc.do("REPLICAOF", "NO", "ONE"); r.Str != "OK" {
				t.Fatalf("REPLICAOF NO ONE: %v", r)
			}
			if r := rc.do("RPUSH", "jobs", "j1"); r.Int != 1 {
				t.Fatalf("RPUSH = %v", r)
			}
			if r := blocked.readReply(); r.String() != `["jobs", "j1"]` {
				t.Fatalf("BLPOP after promotion = %v", r)
			}
		})
	}
}
