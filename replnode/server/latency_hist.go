package server

import (
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// ------ PER-COMMAND LATENCY HISTOGRAMS (INFO latencystats) ------
//
// Redis 7.0 keeps, with latency-tracking yes (the default), an HDR histogram
// of each command's run time: 1 ns to 1 s, two significant digits, fed the
// duration in whole microseconds times 1000. INFO latencystats prints the
// latency-tracking-info-percentiles of each as
// latency_percentiles_usec_<cmd>:p50=1.003,p99=...; monitoring agents export
// them. latencyHistogram is the same bucket layout, so the same durations
// print the same numbers.

const (
	histSubBucketHalfMag = 7                          // log2(sub_bucket_count/2): 2 significant digits
	histSubBucketHalf    = 1 << histSubBucketHalfMag  // 128
	histSubBucketMask    = 2*histSubBucketHalf - 1    // 255
	histBucketCount      = 23                         // buckets to reach 1e9 ns from 256 sub-buckets
	histCountsLen        = (histBucketCount + 1) << 7 // 3072
	histMinValue         = 1                          // LATENCY_HISTOGRAM_MIN_VALUE (ns)
	histMaxValue         = 1_000_000_000              // LATENCY_HISTOGRAM_MAX_VALUE (ns)
)

// latencyHistogram is an hdr_histogram with lowest 1, highest 1e9 and 2
// significant figures.
type latencyHistogram struct {
	counts [histCountsLen]int64
	total  int64
}

// histBucket is hdr's get_bucket_index for v.
func histBucket(v int64) int {
	return bits.Len64(uint64(v)|histSubBucketMask) - (histSubBucketHalfMag + 1)
}

// record counts one value in nanoseconds, clamped to the tracked range.
func (h *latencyHistogram) record(ns int64) {
	ns = min(max(ns, histMinValue), histMaxValue)
	b := histBucket(ns)
	sub := int(ns >> uint(b))
	h.counts[((b+1)<<histSubBucketHalfMag)+(sub-histSubBucketHalf)]++
	h.total++
}

// valueAt is hdr's hdr_value_at_index.
func histValueAt(idx int) int64 {
	b := (idx >> histSubBucketHalfMag) - 1
	sub := (idx & (histSubBucketHalf - 1)) + histSubBucketHalf
	if b < 0 {
		sub -= histSubBucketHalf
		b = 0
	}
	return int64(sub) << uint(b)
}

// highestEquivalent is hdr's highest_equivalent_value: the top of the
// range of values counted together with v.
func histHighestEquivalent(v int64) int64 {
	b := histBucket(v)
	sub := v >> uint(b)
	adjusted := b
	if sub >= 2*histSubBucketHalf {
		adjusted++
	}
	lowest := sub << uint(b)
	return lowest + int64(1)<<uint(adjusted) - 1
}

// valueAtPercentile is hdr_value_at_percentile.
func (h *latencyHistogram) valueAtPercentile(p float64) int64 {
	want := int64(math.Min(p, 100)/100*float64(h.total) + 0.5)
	want = max(want, 1)
	var seen int64
	for i, n := range h.counts {
		seen += n
		if seen >= want {
			v := histValueAt(i)
			if p == 0 {
				return v
			}
			return histHighestEquivalent(v)
		}
	}
	return 0
}

// recordLatency adds one call of usec microseconds to cmd's histogram when
// latency-tracking is on (Redis's updateCommandLatencyHistogram). Like call()
// it skips a command that left its client blocked: that first pass is not
// the command's latency.
func (s *Server) recordLatency(c *Client, st *cmdStats, usec int64) {
	if !s.hot.latencyTracking || c.blocked {
		return
	}
	if st.latency == nil {
		st.latency = new(latencyHistogram)
	}
	st.latency.record(usec * 1000)
}

// infoLatencystats writes INFO's "# Latencystats": one line per command
// that has a histogram, with the configured percentiles.
func infoLatencystats(s *Server, b *strings.Builder) {
	var percentiles []float64
	for _, f := range strings.Fields(s.Config.String("latency-tracking-info-percentiles")) {
		if p, err := strconv.ParseFloat(f, 64); err == nil {
			percentiles = append(percentiles, p)
		}
	}
	for _, c := range sortedCommands() {
		for _, cmd := range append([]*Command{c}, c.Subcommands...) {
			h := s.cmdStats(cmd).latency
			if h == nil {
				continue
			}
			b.WriteString("latency_percentiles_usec_")
			b.WriteString(cmd.FullName())
			b.WriteByte(':')
			for i, p := range percentiles {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString("p" + strconv.FormatFloat(p, 'f', -1, 64) + "=")
				b.WriteString(strconv.FormatFloat(float64(h.valueAtPercentile(p))/1000, 'f', 3, 64))
			}
			b.WriteString("\r\n")
		}
	}
}

// logCDF walks the histogram as hdr's logarithmic iterator with a first
// bucket of 1024 ns and base 2, the way Redis's fillCommandCDF does: at
// each reporting level it emits the highest equivalent value (in usec) of
// the index reached and the cumulative count, skipping levels that added
// nothing.
func (h *latencyHistogram) logCDF() [][2]int64 {
	var out [][2]int64
	level := int64(1024)
	idx, value, cumulative, previous := -1, int64(0), int64(0), int64(0)
	for {
		levelLowest := histLowestEquivalent(level)
		// hdr's iterator ends when every count is reached and no bucket
		// lies above the level.
		if cumulative >= h.total && (idx+1 >= histCountsLen || histValueAt(idx+1) <= levelLowest) {
			return out
		}
		for value < levelLowest {
			if idx+1 >= histCountsLen {
				return out
			}
			idx++
			cumulative += h.counts[idx]
			value = histValueAt(idx)
		}
		if cumulative > previous {
			out = append(out, [2]int64{histHighestEquivalent(value) / 1000, cumulative})
		}
		previous = cumulative
		level *= 2
	}
}

// histLowestEquivalent is hdr's lowest_equivalent_value.
func histLowestEquivalent(v int64) int64 {
	b := histBucket(v)
	return (v >> uint(b)) << uint(b)
}
