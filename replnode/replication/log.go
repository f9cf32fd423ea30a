package replication

// ------ LOG LINES ------

// Level is a Redis log level, printed with Redis's marker characters.
type Level byte

// Redis log levels and their markers in the log file.
const (
	LevelDebug   Level = '.'
	LevelVerbose Level = '-'
	LevelNotice  Level = '*'
	LevelWarning Level = '#'
)

// LogLine is one line the caller should write to the server log, with the
// text Redis 7.0 writes for the same event.
type LogLine struct {
	Level Level
	Text  string
}

// String renders the line as "<marker> <text>" for transcripts.
func (l LogLine) String() string { return string(l.Level) + " " + l.Text }
