package acl

// logGroupingMs is how close in time two similar denials must be to be
// counted in one ACL LOG entry (Redis's ACL_LOG_GROUPING_MAX_TIME_DELTA).
const logGroupingMs = 60000

// LogEntry is one ACL LOG entry.
type LogEntry struct {
	Count      int64
	Reason     Result
	Context    string // toplevel, multi, lua
	Object     string // the command, key, channel, or "AUTH"
	Username   string
	CreatedMs  int64 // time of the last update
	ClientInfo string
}

// ReasonName is the entry's reason as ACL LOG prints it.
func (e *LogEntry) ReasonName() string {
	switch e.Reason {
	case DeniedCommand:
		return "command"
	case DeniedKey:
		return "key"
	case DeniedChannel:
		return "channel"
	case DeniedAuth:
		return "auth"
	}
	return "unknown"
}

// Log is the ACL LOG: newest entry first.
type Log struct {
	entries []*LogEntry
}

// Add records a denial (Redis's addACLLogEntry): an entry of the same
// reason, context, object and user within a minute among the 10 newest is
// bumped and moved to the front instead; the log is trimmed to maxLen.
func (l *Log) Add(e LogEntry, maxLen int) {
	for i := 0; i < len(l.entries) && i < 10; i++ {
		cur := l.entries[i]
		delta := cur.CreatedMs - e.CreatedMs
		if delta < 0 {
			delta = -delta
		}
		if cur.Reason == e.Reason && cur.Context == e.Context && delta <= logGroupingMs &&
			cur.Object == e.Object && cur.Username == e.Username {
			cur.ClientInfo, cur.CreatedMs = e.ClientInfo, e.CreatedMs
			cur.Count++
			copy(l.entries[1:i+1], l.entries[:i])
			l.entries[0] = cur
			return
		}
	}
	e.Count = 1
	l.entries = append([]*LogEntry{&e}, l.entries...)
	if maxLen < 0 {
		maxLen = 0
	}
	if len(l.entries) > maxLen {
		l.entries = l.entries[:maxLen]
	}
}

// Entries returns up to n entries, newest first.
func (l *Log) Entries(n int) []*LogEntry {
	if n > len(l.entries) {
		n = len(l.entries)
	}
	if n < 0 {
		n = 0
	}
	return l.entries[:n]
}

// Reset empties the log.
func (l *Log) Reset() { l.entries = nil }
