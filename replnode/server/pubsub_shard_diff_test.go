package server_test

import (
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/replnode/replnode/replnode/redistest"
)

// TestDifferentialShardedPubSub compares SSUBSCRIBE / SUNSUBSCRIBE /
// SPUBLISH and PUBSUB SHARDCHANNELS|SHARDNUMSUB with a standalone
// redis-server 7.0 in RESP2 and RESP3: confirmations and their counts
// (shard channels counted apart from channels and patterns), smessage
// delivery, no pattern matching, the subscribed context, and CLIENT INFO's
// sub/psub/ssub fields.
func TestDifferentialShardedPubSub(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	subFields := regexp.MustCompile(`sub=\d+ psub=\d+ ssub=\d+`)
	for _, proto := range []string{"2", "3"} {
		sub := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
		pub := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
		sub.DoType("HELLO", proto)
		pub.DoType("HELLO", proto)
		pub.Do("SPUBLISH", "s1", "nobody")
		pub.Do("SSUBSCRIBE")
		pub.Do("SUNSUBSCRIBE")
		pub.Do("SPUBLISH", "s1")
		sub.Do("SSUBSCRIBE", "s1", "s2", "s1")
		sub.Receive()
		sub.Receive()
		sub.Do("SUBSCRIBE", "s1")
		sub.Do("PSUBSCRIBE", "s*")
		if proto == "2" {
			sub.Do("GET", "x")
		}
		sub.Do("PING")
		pub.Do("SPUBLISH", "s1", "hello")
		sub.Receive()
		pub.Do("PUBLISH", "s1", "plain")
		sub.Receive()
		sub.Receive()
		pub.Do("SPUBLISH", "s2", "two")
		sub.Receive()
		pub.DoSorted("PUBSUB", "SHARDCHANNELS")
		pub.Do("PUBSUB", "SHARDCHANNELS", "*2")
		pub.Do("PUBSUB", "SHARDNUMSUB", "s1", "s2", "nope")
		pub.Do("PUBSUB", "SHARDNUMSUB")
		pub.Do("PUBSUB", "NUMSUB", "s1")
		pub.DoSorted("PUBSUB", "CHANNELS")
		fields := func(c *redistest.Client) string {
			all := subFields.FindAllString(c.MustDo(t, "CLIENT", "LIST").String(), -1)
			sort.Strings(all)
			return strings.Join(all, "; ")
		}
		r1, r2 := fields(pub.Real), fields(pub.Ours)
		if r1 != r2 || !strings.Contains(r1, "ssub=2") {
			t.Errorf("CLIENT LIST: redis %q, replnode %q", r1, r2)
		}
		sub.Do("SUNSUBSCRIBE", "s2", "nope")
		sub.Receive()
		sub.Do("UNSUBSCRIBE")
		sub.Do("PUNSUBSCRIBE")
		if proto == "2" {
			sub.Do("GET", "x") // still subscribed to s1
		}
		sub.Do("SUNSUBSCRIBE")
		sub.Do("SUNSUBSCRIBE")
		sub.Do("GET", "x")
		pub.Do("PUBSUB", "SHARDNUMSUB", "s1")
		pub.Do("PUBSUB", "SHARDCHANNELS")
		// RESET and a closed connection drop shard subscriptions.
		sub.Do("SSUBSCRIBE", "s3")
		sub.DoType("RESET")
		pub.Do("PUBSUB", "SHARDNUMSUB", "s3")
		gone := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
		gone.Do("SSUBSCRIBE", "s4")
		gone.Real.Close()
		gone.Ours.Close()
		pub.Do("PING")
		pub.Do("PUBSUB", "SHARDCHANNELS", "s4")
		// Inside EXEC a client may not block: SSUBSCRIBE is refused
		// (SUBSCRIBE is allowed there for backward compatibility).
		tx := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
		tx.DoType("HELLO", proto)
		tx.Do("MULTI")
		tx.Do("SSUBSCRIBE", "s5")
		tx.Do("EXEC")
		pub.Do("PUBSUB", "SHARDNUMSUB", "s5")
	}
}
