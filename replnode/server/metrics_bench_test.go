package server

import (
	"io"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// metricsBenchNode is a node with 100k keys, half of them expiring, and
// statistics for a few commands: what a scrape of a busy node reads.
func metricsBenchNode(b *testing.B) *coreNode {
	n := newCoreNode(&testing.T{}, "enable-debug-command yes")
	if r := n.do("DEBUG", "POPULATE", "100000"); r != "OK" {
		b.Fatalf("DEBUG POPULATE: %s", r)
	}
	for i := 0; i < 100000; i += 2 {
		n.do("EXPIRE", "key:"+strconv.Itoa(i), "3600")
	}
	for _, c := range []string{"GET", "INCR", "LPUSH", "HSET"} {
		n.do(c, "k"+c, "1", "2")
	}
	return n
}

// BenchmarkMetricsSnapshot is how long a scrape holds the executor: the
// INFO sections of MetricsSnapshot, O(clients + commands + databases).
func BenchmarkMetricsSnapshot(b *testing.B) {
	n := metricsBenchNode(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := n.s.MetricsSnapshot(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMetricsScrape is a whole /metrics request: the snapshot, then,
// off the executor, parsing, the Go and process collectors and encoding.
func BenchmarkMetricsScrape(b *testing.B) {
	n := metricsBenchNode(b)
	h := n.s.MetricsHandler()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
		_, _ = io.Copy(io.Discard, w.Body)
	}
}

// BenchmarkInfoAllExecutor is INFO ALL on the same node, for comparison:
// its keyspace section's avg_ttl visits every expiring key, which the
// scrape snapshot leaves out.
func BenchmarkInfoAllExecutor(b *testing.B) {
	n := metricsBenchNode(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n.s.Exec(func() { _ = n.s.Info([]byte("all")) })
	}
}

// BenchmarkMetricsSnapshotUnderLoad scrapes while four clients keep the
// executor busy with pipelined SETs (batches of 16, as a reader runs them):
// ns/op is a scrape's latency when it must queue for the executor, and
// load-cmds/s what the load got done meanwhile.
func BenchmarkMetricsSnapshotUnderLoad(b *testing.B) {
	n := metricsBenchNode(b)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var done atomic.Int64
	for i := 0; i < 4; i++ {
		c := n.newClient()
		args := [][]byte{[]byte("SET"), []byte("load:" + strconv.Itoa(i)), []byte("xxx")}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				n.s.mu.Lock()
				for j := 0; j < 16; j++ {
					n.s.processCommand(c, args)
				}
				c.w.Reset()
				n.s.mu.Unlock()
				done.Add(16)
			}
		}()
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := done.Load()
	for i := 0; i < b.N; i++ {
		if _, err := n.s.MetricsSnapshot(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(done.Load()-start)/b.Elapsed().Seconds(), "load-cmds/s")
	close(stop)
	wg.Wait()
}
