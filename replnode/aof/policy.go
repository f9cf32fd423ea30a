package aof

// AutoRewriteDue is serverCron's automatic rewrite rule: once the AOF is
// larger than minSize (auto-aof-rewrite-min-size) and has grown by at least
// perc percent (auto-aof-rewrite-percentage, 0 disables) over baseSize, its
// size after the last rewrite (or at startup, the base file's; 0 counts as
// 1). growth is the percentage Redis logs.
func AutoRewriteDue(current, baseSize, perc, minSize int64) (growth int64, due bool) {
	if perc <= 0 || current <= minSize {
		return 0, false
	}
	base := baseSize
	if base == 0 {
		base = 1
	}
	growth = current*100/base - 100
	return growth, growth >= perc
}

// Rewrite limiting (aofRewriteLimited): after rewriteLimitThreshold
// failures in a row, automatic rewrites wait 1, 2, 4... up to
// rewriteLimitMaxMinutes minutes between attempts. BGREWRITEAOF is not
// limited.
const (
	rewriteLimitThreshold  = 3
	rewriteLimitMaxMinutes = 60
)

// RewriteLimiter holds aofRewriteLimited's state between calls.
type RewriteLimiter struct {
	nextDelayMinutes int64
	nextRewriteUnix  int64
}

// Limited reports whether an automatic rewrite must wait at unix second
// now after failures consecutive failures. When it starts a new wait it
// returns its length in minutes (started > 0), for the log.
func (l *RewriteLimiter) Limited(failures, now int64) (limited bool, started int64) {
	if failures < rewriteLimitThreshold {
		l.nextDelayMinutes, l.nextRewriteUnix = 0, 0
		return false, 0
	}
	if l.nextRewriteUnix != 0 {
		if now < l.nextRewriteUnix {
			return true, 0
		}
		l.nextRewriteUnix = 0
		return false, 0
	}
	if l.nextDelayMinutes == 0 {
		l.nextDelayMinutes = 1
	} else {
		l.nextDelayMinutes = min(l.nextDelayMinutes*2, rewriteLimitMaxMinutes)
	}
	l.nextRewriteUnix = now + l.nextDelayMinutes*60
	return true, l.nextDelayMinutes
}
