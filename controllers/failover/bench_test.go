package failover

import (
	"fmt"
	"testing"
	"time"
)

// benchObservation is a failed master with 15 replicas on its history, the
// largest group the decision is expected to see every reconcile.
func benchObservation() Observation {
	members := []Member{gone(master("g-0", 0, histA, 100000))}
	for i := 1; i <= 15; i++ {
		members = append(members, replica(fmt.Sprintf("g-%d", i), i, histA, int64(90000+i*100), LinkDown))
	}
	obs := observe("g-0", time.Minute, members...)
	obs.Status.LastMasterReplID = histA
	return obs
}

// BenchmarkDecideFailover measures deciding a failover of a 16-member group;
// a reconcile makes one such decision, so microseconds are plenty.
func BenchmarkDecideFailover(b *testing.B) {
	obs := benchObservation()
	b.ReportAllocs()
	for b.Loop() {
		if d := Decide(obs, SwitchoverState{}); d.Kind != KindFailover {
			b.Fatalf("decision %s", d.Kind)
		}
	}
}

// BenchmarkParseInfoReplication measures parsing one INFO replication reply.
func BenchmarkParseInfoReplication(b *testing.B) {
	text := "# Replication\r\nrole:slave\r\nmaster_host:10.0.0.1\r\nmaster_port:6379\r\nmaster_link_status:up\r\n" +
		"master_sync_in_progress:0\r\nmaster_replid:" + histA + "\r\nmaster_replid2:" + zeros + "\r\n" +
		"master_repl_offset:123456\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:1\r\n" +
		"repl_backlog_first_byte_offset:1\r\nrepl_backlog_histlen:123456\r\n"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseInfoReplication(text); err != nil {
			b.Fatal(err)
		}
	}
}
