package config

import (
	"strings"
	"testing"
)

// FuzzConfigParse loads arbitrary configuration text. Invariants: no panic;
// text that loads can be written back (CONFIG REWRITE's text) and loads
// again to the same value for every directive. include lines are dropped:
// they read files, which is not the parser's business.
func FuzzConfigParse(f *testing.F) {
	for _, seed := range []string{
		"port 7000\nbind 127.0.0.1 -::1\nsave 900 1 300 10\n",
		"maxmemory 1gb\nmaxmemory-policy allkeys-lru\nappendonly no\n",
		`requirepass "a b\x00c"` + "\nrename-command FLUSHALL \"\"\n",
		"save \"\"\nclient-output-buffer-limit normal 0 0 0 replica 256mb 64mb 60\n",
		"notify-keyspace-events KEA\nproto-max-bulk-len 9223372036854775807\n",
		"maxmemory -1\nport 99999\ndatabases 0\n",
		"loglevel \"unbalanced\n",
		"replicaof 127.0.0.1 6380\nmasterauth x\n",
		"hz 500\nlatency-tracking-info-percentiles 50 99 99.9\n",
		"oom-score-adj-values 0 200 800\nsanitize-dump-payload yes\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		var kept []string
		for _, line := range strings.Split(text, "\n") {
			if !strings.Contains(strings.ToLower(line), "include") {
				kept = append(kept, line)
			}
		}
		c := Default()
		if err := c.LoadString(strings.Join(kept, "\n")); err != nil {
			return
		}
		if saveChangesWrapped(c.String("save")) {
			// Redis 7.0 keeps a save point's changes in an int: "save 1
			// 2170000000" becomes "1 -2124967296", which CONFIG GET shows
			// and CONFIG REWRITE writes, and which then does not load
			// (checked against redis-server 7.0.15). Mimicked, so the
			// round trip cannot hold.
			return
		}
		out := c.RewriteText("")
		again := Default()
		if err := again.LoadString(out); err != nil {
			t.Fatalf("rewritten text does not load: %v\n%s", err, out)
		}
		for _, name := range Names() {
			if a, b := c.String(name), again.String(name); a != b {
				t.Fatalf("%s: %q loaded, %q after a rewrite\n%s", name, a, b, out)
			}
		}
	})
}

// saveChangesWrapped reports whether a save value holds a negative number
// of changes, which only int truncation of a larger one produces.
func saveChangesWrapped(save string) bool {
	f := strings.Fields(save)
	for i := 1; i < len(f); i += 2 {
		if strings.HasPrefix(f[i], "-") {
			return true
		}
	}
	return false
}
