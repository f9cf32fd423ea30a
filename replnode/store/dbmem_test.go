package store

import (
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BenchmarkKeyspaceFill1M loads 1,000,000 keys `key:N` = `value:N` the way
// the server's SET does (SetString) and reports the longest single SET (the
// hash table's last doubling), the live heap per key after a collection,
// and how a full collection of that heap affects reads (see
// gcWhileReading). It is a measurement, not a test: the targets
// live in docs/benchmarks.md.
func BenchmarkKeyspaceFill1M(b *testing.B) {
	const keys = 1_000_000
	for range b.N {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		db := NewDB()
		var kb, vb []byte
		var worstSet, worstSetCPU time.Duration
		runtime.LockOSThread()
		for i := range keys {
			kb = strconv.AppendInt(append(kb[:0], "key:"...), int64(i), 10)
			vb = strconv.AppendInt(append(vb[:0], "value:"...), int64(i), 10)
			start, startCPU := time.Now(), threadCPU()
			db.SetString(kb, vb, EncTried, false, 0)
			worstSetCPU = max(worstSetCPU, threadCPU()-startCPU)
			worstSet = max(worstSet, time.Since(start))
		}
		runtime.UnlockOSThread()
		// The longest SET in CPU time is the one that grew the index the
		// most; in wall time it also counts the scheduler (a loaded
		// machine) and the collector.
		b.ReportMetric(float64(worstSet.Microseconds()), "max-set-µs")
		b.ReportMetric(float64(worstSetCPU.Microseconds()), "max-set-cpu-µs")
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/keys, "heapB/key")
		b.ReportMetric(float64(after.HeapObjects-before.HeapObjects)/keys, "objects/key")
		gcTime, worstOp, worstPause := gcWhileReading(db, kb)
		b.ReportMetric(float64(gcTime.Microseconds()), "gc-µs")
		b.ReportMetric(float64(worstOp.Microseconds()), "max-get-during-gc-µs")
		b.ReportMetric(float64(worstPause.Microseconds()), "max-stw-µs")
		runtime.KeepAlive(db)
	}
}

// threadCPU is the CPU time of the calling thread.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		panic(err)
	}
	return time.Duration(ts.Nano())
}

// gcWhileReading runs a full collection of the heap holding db while this
// goroutine keeps reading key from it, as the executor serves GETs during a
// collection. It returns how long the collection took, the longest single
// read meanwhile (what a command would wait: stop-the-world phases and mark
// assists), and the longest stop-the-world pause the runtime recorded for it.
func gcWhileReading(db *DB, key []byte) (gc, worstOp, worstPause time.Duration) {
	before := gcPauses()
	done := make(chan time.Duration)
	go func() {
		start := time.Now()
		runtime.GC()
		done <- time.Since(start)
	}()
	for {
		select {
		case gc = <-done:
			return gc, worstOp, maxNewPause(before, gcPauses())
		default:
		}
		start := time.Now()
		db.PeekStringTouch(key, 1)
		worstOp = max(worstOp, time.Since(start))
	}
}

func gcPauses() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: "/sched/pauses/total/gc:seconds"}}
	metrics.Read(s)
	return s[0].Value.Float64Histogram()
}

// maxNewPause is the upper bound of the highest histogram bucket that
// gained a pause between before and after.
func maxNewPause(before, after *metrics.Float64Histogram) time.Duration {
	for i := len(after.Counts) - 1; i >= 0; i-- {
		if after.Counts[i] > before.Counts[i] {
			return time.Duration(after.Buckets[i+1] * float64(time.Second))
		}
	}
	return 0
}

// BenchmarkSnapshot1M takes and releases a snapshot of 1,000,000 inline
// strings, then writes one key of every entry page while no snapshot is
// live: what a full sync or BGSAVE stalls the executor for, and what the
// first writes after it pay (taking over each page).
func BenchmarkSnapshot1M(b *testing.B) {
	const keys = 1_000_000
	db := NewDB()
	var kb, vb []byte
	for i := range keys {
		kb = strconv.AppendInt(append(kb[:0], "key:"...), int64(i), 10)
		vb = strconv.AppendInt(append(vb[:0], "value:"...), int64(i), 10)
		db.SetString(kb, vb, EncTried, false, 0)
	}
	b.ResetTimer()
	for range b.N {
		s := db.Snapshot()
		s.Release()
		for i := 0; i < keys; i += entPage {
			db.ent(i).atime++
		}
	}
}
