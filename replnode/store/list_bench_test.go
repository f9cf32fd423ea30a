package store

import (
	"testing"
	"time"
)

// BenchmarkListPushFrontWorst pushes 3-byte elements onto one list as
// redis-benchmark's LPUSH does (b.N of them) and reports, besides the mean,
// the slowest single push: a push that copies the whole list (as a
// doubling ring buffer does) shows there as a multi-millisecond stall.
func BenchmarkListPushFrontWorst(b *testing.B) {
	l := NewList()
	elem := []byte("xxx")
	var worst time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		l.PushFront(elem)
		if d := time.Since(t0); d > worst {
			worst = d
		}
	}
	b.ReportMetric(float64(worst.Nanoseconds()), "worst-ns")
}
