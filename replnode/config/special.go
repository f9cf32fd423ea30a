package config

import (
	"path/filepath"
	"strconv"
	"strings"
)

// ---------------------------------------------------------------- special directives

// parseSpecial handles the directives with their own syntax.
func (c *Config) parseSpecial(d *Directive, args []string, startup bool) (string, error) {
	bad := func(msg string) error { return &SetError{d.Name, msg} }
	// CONFIG SET passes one argument holding the whole value; a file line
	// passes the words. Normalise to words.
	words := args
	if !startup && len(args) == 1 {
		words = strings.Fields(args[0])
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
		if len(args) == 1 && args[0] == "" {
			c.saveSeen = true
			return "", nil
		}
		if len(words)%2 != 0 {
			return "", bad("Invalid save parameters")
		}
		for _, w := range words {
			if n, err := strconv.ParseInt(w, 10, 64); err != nil || n < 0 {
				return "", bad("Invalid save parameters")
			}
		}
		joined := strings.Join(words, " ")
		if startup && c.saveSeen && c.values["save"] != "" {
			// Later save lines in a file add to the earlier ones.
			return c.values["save"] + " " + joined, nil
		}
		c.saveSeen = true
		return joined, nil
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
		if len(words) != 1 {
			return "", errWrongArgs
		}
		if strings.HasSuffix(words[0], "%") {
			if n, err := strconv.Atoi(strings.TrimSuffix(words[0], "%")); err == nil && n >= 0 && n <= 100 {
				return words[0], nil
			}
			return "", bad("argument must be a memory or percent value")
		}
		n, ok := ParseMemory(words[0])
		if !ok {
			return "", bad("argument must be a memory or percent value")
		}
		return strconv.FormatInt(n, 10), nil
	case "oom-score-adj-values":
		if len(words) != 3 {
			return "", bad("Invalid oom-score-adj-values")
		}
		for _, w := range words {
			if n, err := strconv.Atoi(w); err != nil || n < -2000 || n > 2000 {
				return "", bad("Invalid oom-score-adj-values")
			}
		}
		return strings.Join(words, " "), nil
	case "latency-tracking-info-percentiles":
		for _, w := range words {
			if f, err := strconv.ParseFloat(w, 64); err != nil || f < 0 || f > 100 {
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
			return "", bad("Invalid event class character. Use 'Ag$lshzxeKEtmd'.")
		}
		return KeyspaceEventsString(flags), nil
	case "client-output-buffer-limit":
		return c.parseCOBL(words, bad)
	case "shutdown-on-sigint", "shutdown-on-sigterm":
		if len(words) == 0 {
			return "", errWrongArgs
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

// parseCOBL updates client-output-buffer-limit classes: words come in
// groups of four (class hard soft seconds).
func (c *Config) parseCOBL(words []string, bad func(string) error) (string, error) {
	if len(words)%4 != 0 || len(words) == 0 {
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
