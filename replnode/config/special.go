package config

import (
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/replnode/replnode/replnode/resp"
)

// ---------------------------------------------------------------- special directives

// parseSpecial handles the directives with their own syntax.
func (c *Config) parseSpecial(d *Directive, args []string, startup bool) (string, error) {
	bad := func(msg string) error { return &SetError{d.Name, msg} }
	// CONFIG SET passes one argument holding the whole value; a file line
	// passes the words. Normalise to words. As Redis 7.0 does for its
	// MULTI_ARG_CONFIGs, a single non-empty argument in a file or on the
	// command line (--save "3600 1 300 100") is split with the file's
	// quoting rules too.
	words := args
	switch {
	case !startup && len(args) == 1:
		words = strings.Fields(args[0])
	case startup && len(args) == 1 && args[0] != "" && multiArg[d.Name]:
		split, _, ok := resp.SplitArgs([]byte(args[0]), nil, nil)
		if !ok {
			return "", bad("Unbalanced quotes in configuration line")
		}
		words = make([]string, len(split))
		for i, w := range split {
			words[i] = string(w)
		}
	}
	switch d.Name {
	case "bind":
		if len(words) == 0 || len(words) > 16 {
			return "", bad("Too many bind addresses specified.")
		}
		return strings.Join(words, " "), nil
	case "unixsocketperm":
		if len(words) != 1 {
			return "", errWrongArgs
		}
		n, err := strconv.ParseInt(words[0], 8, 32)
		if err != nil || n < 0 || n > 0o777 {
			return "", bad("Invalid socket file permissions")
		}
		return strconv.FormatInt(n, 8), nil
	case "save":
		return c.parseSave(args, words, startup, bad)
	case "dir":
		if len(words) != 1 {
			return "", errWrongArgs
		}
		return words[0], nil
	case "replicaof":
		if len(words) != 2 {
			return "", errWrongArgs
		}
		if strings.EqualFold(words[0], "no") && strings.EqualFold(words[1], "one") {
			return "", nil
		}
		if p, err := strconv.Atoi(words[1]); err != nil || p < 0 || p > 65535 {
			return "", bad("Invalid master port")
		}
		return words[0] + " " + words[1], nil
	case "maxmemory-clients":
		// numericParseString with MEMORY_CONFIG|PERCENT_CONFIG on the raw
		// value: memtoull (so "" is 0 and a value past 2^63-1 wraps to a
		// negative, read as a percentage), else "<n>%" with string2ll.
		if len(args) != 1 {
			return "", errWrongArgs
		}
		v := args[0]
		n, ok := ParseMemory(v)
		if !ok {
			p, isInt := resp.ParseInt([]byte(strings.TrimSuffix(v, "%")))
			if len(v) < 2 || !strings.HasSuffix(v, "%") || !isInt || p < 0 {
				return "", bad("argument must be a memory or percent value")
			}
			n = -p
		}
		if n < -100 {
			return "", bad("percentage argument must be less or equal to 100")
		}
		if n < 0 {
			return strconv.FormatInt(-n, 10) + "%", nil
		}
		return strconv.FormatInt(n, 10), nil
	case "cluster-announce-hostname":
		// isValidAnnouncedHostname
		if len(args) != 1 {
			return "", errWrongArgs
		}
		if len(args[0]) >= 256 {
			return "", bad("Hostnames must be less than 256 characters")
		}
		for _, ch := range []byte(args[0]) {
			if !(ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '.') {
				return "", bad("Hostnames may only contain alphanumeric characters, hyphens or dots")
			}
		}
		return args[0], nil
	case "oom-score-adj-values":
		if len(words) != 3 {
			return "", bad("wrong number of arguments")
		}
		for _, w := range words {
			if n, err := strconv.Atoi(w); err != nil || n < -2000 || n > 2000 {
				return "", bad("Invalid oom-score-adj-values, elements must be between -2000 and 2000.")
			}
		}
		return strings.Join(words, " "), nil
	case "latency-tracking-info-percentiles":
		for _, w := range words {
			f, err := strconv.ParseFloat(w, 64)
			if err != nil {
				return "", bad("Invalid latency-tracking-info-percentiles parameters")
			}
			if f < 0 || f > 100 {
				return "", bad("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
			}
		}
		return strings.Join(words, " "), nil
	case "notify-keyspace-events":
		s := ""
		if len(args) > 0 {
			s = strings.Join(args, "")
		}
		flags, ok := ParseKeyspaceEvents(s)
		if !ok {
			return "", bad("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
		}
		return KeyspaceEventsString(flags), nil
	case "client-output-buffer-limit":
		return c.parseCOBL(words, bad)
	case "shutdown-on-sigint", "shutdown-on-sigterm":
		if len(words) == 0 {
			return "", bad("argument(s) must be one of the following: default, save, nosave, now, force")
		}
		seen := map[string]bool{}
		for _, w := range words {
			w = strings.ToLower(w)
			switch w {
			case "default", "save", "nosave", "now", "force":
				seen[w] = true
			default:
				return "", bad("argument(s) must be one of the following: default, save, nosave, now, force")
			}
		}
		if seen["save"] && seen["nosave"] || seen["default"] && len(seen) > 1 {
			return "", bad("argument(s) must be one of the following: default, save, nosave, now, force")
		}
		var out []string
		for _, w := range []string{"default", "save", "nosave", "now", "force"} {
			if seen[w] {
				out = append(out, w)
			}
		}
		return strings.Join(out, " "), nil
	}
	return "", ErrUnknown
}

// multiArg are the directives Redis 7.0 flags MULTI_ARG_CONFIG: their
// value is several words.
var multiArg = map[string]bool{
	"bind": true, "save": true, "client-output-buffer-limit": true, "oom-score-adj-values": true,
	"shutdown-on-sigint": true, "shutdown-on-sigterm": true, "latency-tracking-info-percentiles": true,
}

// parseSave is Redis 7.0's setConfigSaveOption: pairs of seconds (at least
// 1) and changes (at least 0), each parsed as strtoll does (so "+5" is 5);
// a single "" argument means no save points. CONFIG SET splits its value on
// single spaces as Redis does (so "60  1" is refused); in a file the first
// save line replaces the defaults and later ones add to it. The value is
// kept in the form CONFIG GET shows.
func (c *Config) parseSave(args, words []string, startup bool, bad func(string) error) (string, error) {
	switch {
	case len(args) == 1 && args[0] == "":
		words = nil
	case !startup && len(args) == 1:
		words = strings.Split(args[0], " ")
	}
	if len(words)%2 != 0 {
		return "", bad("Invalid save parameters")
	}
	out := make([]string, len(words))
	for i, w := range words {
		n, ok := strtoll(w)
		if !ok || (i%2 == 0 && n < 1) || (i%2 == 1 && n < 0) {
			return "", bad("Invalid save parameters")
		}
		if i%2 == 1 {
			n = int64(int32(n)) // changes is an int in Redis
		}
		out[i] = strconv.FormatInt(n, 10)
	}
	joined := strings.Join(out, " ")
	if startup && c.saveSeen && c.values["save"] != "" && joined != "" {
		// Later save lines in a file add to the earlier ones.
		return c.values["save"] + " " + joined, nil
	}
	if startup && c.saveSeen && joined == "" && len(args) != 1 {
		// A bare "save" line after others adds nothing.
		return c.values["save"], nil
	}
	c.saveSeen = true
	return joined, nil
}

// strtoll parses s as C's strtoll with a check that nothing follows the
// number: leading blanks and a sign are allowed, and an empty string is 0,
// as Redis's config parser sees them.
func strtoll(s string) (int64, bool) {
	orig := s
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	if s == "" {
		// Nothing to convert: strtoll leaves the end pointer at the start,
		// which is the terminator only for an empty string.
		return 0, orig == ""
	}
	neg := false
	digits := s
	if s[0] == '+' || s[0] == '-' {
		neg, digits = s[0] == '-', s[1:]
	}
	if digits == "" {
		// strtoll consumed nothing: the sign is left over.
		return 0, false
	}
	var n int64
	for i := 0; i < len(digits); i++ {
		ch := digits[i]
		if ch < '0' || ch > '9' {
			return 0, false
		}
		if n > (math.MaxInt64-int64(ch-'0'))/10 {
			// strtoll saturates on overflow.
			if neg {
				return math.MinInt64, true
			}
			return math.MaxInt64, true
		}
		n = n*10 + int64(ch-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// parseCOBL updates client-output-buffer-limit classes: words come in
// groups of four (class hard soft seconds).
func (c *Config) parseCOBL(words []string, bad func(string) error) (string, error) {
	if len(words)%4 != 0 { // none changes nothing, as updateClientOutputBufferLimit
		return "", bad("Wrong number of arguments in buffer limit configuration.")
	}
	cur := strings.Fields(c.values["client-output-buffer-limit"])
	classes := map[string][]string{}
	for i := 0; i+3 < len(cur); i += 4 {
		classes[cur[i]] = cur[i+1 : i+4]
	}
	for i := 0; i < len(words); i += 4 {
		class := strings.ToLower(words[i])
		if class == "replica" {
			class = "slave"
		}
		if class != "normal" && class != "slave" && class != "pubsub" {
			return "", bad("Invalid client class specified in buffer limit configuration.")
		}
		hard, ok1 := ParseMemory(words[i+1])
		soft, ok2 := ParseMemory(words[i+2])
		secs, err := strconv.ParseInt(words[i+3], 10, 64)
		if !ok1 || !ok2 || err != nil || secs < 0 {
			return "", bad("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
		}
		classes[class] = []string{strconv.FormatInt(hard, 10), strconv.FormatInt(soft, 10), strconv.FormatInt(secs, 10)}
	}
	var out []string
	for _, class := range []string{"normal", "slave", "pubsub"} {
		out = append(out, class)
		out = append(out, classes[class]...)
	}
	return strings.Join(out, " "), nil
}

// ---------------------------------------------------------------- keyspace events

// Keyspace notification classes, as Redis's NOTIFY_* flags.
const (
	NotifyKeyspace = 1 << iota // K
	NotifyKeyevent             // E
	NotifyGeneric              // g
	NotifyString               // $
	NotifyList                 // l
	NotifySet                  // s
	NotifyHash                 // h
	NotifyZSet                 // z
	NotifyExpired              // x
	NotifyEvicted              // e
	NotifyStream               // t
	NotifyKeyMiss              // m
	NotifyModule               // d
	NotifyNew                  // n
	NotifyAll      = NotifyGeneric | NotifyString | NotifyList | NotifySet | NotifyHash | NotifyZSet | NotifyExpired | NotifyEvicted | NotifyStream | NotifyModule
)

// ParseKeyspaceEvents parses notify-keyspace-events's class letters.
func ParseKeyspaceEvents(s string) (int, bool) {
	flags := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case 'A':
			flags |= NotifyAll
		case 'g':
			flags |= NotifyGeneric
		case '$':
			flags |= NotifyString
		case 'l':
			flags |= NotifyList
		case 's':
			flags |= NotifySet
		case 'h':
			flags |= NotifyHash
		case 'z':
			flags |= NotifyZSet
		case 'x':
			flags |= NotifyExpired
		case 'e':
			flags |= NotifyEvicted
		case 'K':
			flags |= NotifyKeyspace
		case 'E':
			flags |= NotifyKeyevent
		case 't':
			flags |= NotifyStream
		case 'm':
			flags |= NotifyKeyMiss
		case 'd':
			flags |= NotifyModule
		case 'n':
			flags |= NotifyNew
		default:
			return 0, false
		}
	}
	return flags, true
}

// KeyspaceEventsString prints flags as Redis's keyspaceEventsFlagsToString.
func KeyspaceEventsString(flags int) string {
	var b strings.Builder
	if flags&NotifyAll == NotifyAll {
		b.WriteByte('A')
	} else {
		for _, f := range []struct {
			bit int
			c   byte
		}{{NotifyGeneric, 'g'}, {NotifyString, '$'}, {NotifyList, 'l'}, {NotifySet, 's'}, {NotifyHash, 'h'}, {NotifyZSet, 'z'}, {NotifyExpired, 'x'}, {NotifyEvicted, 'e'}, {NotifyStream, 't'}, {NotifyModule, 'd'}, {NotifyNew, 'n'}} {
			if flags&f.bit != 0 {
				b.WriteByte(f.c)
			}
		}
	}
	if flags&NotifyKeyspace != 0 {
		b.WriteByte('K')
	}
	if flags&NotifyKeyevent != 0 {
		b.WriteByte('E')
	}
	if flags&NotifyKeyMiss != 0 {
		b.WriteByte('m')
	}
	return b.String()
}

func absPath(p string) (string, error) { return filepath.Abs(p) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
