package replication

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// ------ TRANSCRIPT HARNESS ------
//
// Files in testdata/*.txt are transcripts in the style of etcd raft's
// interaction tests: a command line, a "----" line, the expected output,
// and a blank line. Replication IDs are written <a>, <b>, ... for readability
// and expand to 40 repeated characters. Run with -rewrite to regenerate the
// expected outputs after an intended change, then review the diff.

var rewrite = flag.Bool("rewrite", false, "rewrite testdata transcripts with actual output")

func expandIDs(s string) string {
	for _, c := range "0abcdef" {
		s = strings.ReplaceAll(s, "<"+string(c)+">", strings.Repeat(string(c), ReplIDLen))
	}
	return s
}

func shortenIDs(s string) string {
	for _, c := range "0abcdef" {
		s = strings.ReplaceAll(s, strings.Repeat(string(c), ReplIDLen), "<"+string(c)+">")
	}
	return s
}

type linkHarness struct {
	id   Identity
	link *Link
	cfg  LinkConfig
}

func newLinkHarness() *linkHarness {
	h := &linkHarness{id: NewIdentity(strings.Repeat("a", ReplIDLen)), cfg: LinkConfig{ListeningPort: 6380, TimeoutMs: 60000}}
	h.link = NewLink(h.cfg, &h.id)
	return h
}

// run executes one transcript command and renders what it produced.
func (h *linkHarness) run(t *testing.T, cmd string) string {
	fields := strings.Fields(cmd)
	args := map[string]string{}
	var pos []string
	for _, f := range fields[1:] {
		if k, v, ok := strings.Cut(f, "="); ok {
			args[k] = v
		} else {
			pos = append(pos, f)
		}
	}
	num := func(k string) int64 {
		n, err := strconv.ParseInt(args[k], 10, 64)
		if err != nil {
			t.Fatalf("%q: bad %s: %v", cmd, k, err)
		}
		return n
	}
	var out Output
	switch fields[0] {
	case "config":
		h.cfg = LinkConfig{MasterUser: args["user"], MasterAuth: args["auth"], AnnounceIP: args["ip"], ListeningPort: 6380, TimeoutMs: 60000}
		if v, ok := args["timeout"]; ok {
			h.cfg.TimeoutMs, _ = strconv.ParseInt(v, 10, 64)
		}
		h.cfg.KeepNewerData = args["keepnewer"] == "yes"
		h.link.SetConfig(h.cfg)
	case "identity":
		h.id = Identity{ReplID: args["replid"], ReplID2: args["replid2"], SecondOffset: num("second"), Offset: num("offset")}
	case "set-master":
		port, _ := strconv.Atoi(pos[1])
		out = h.link.SetMaster(pos[0], port, num("t"))
	case "startup-master":
		port, _ := strconv.Atoi(pos[1])
		h.link.SetMasterAtStartup(pos[0], port, num("t"))
	case "cache-self":
		h.link.CacheFromIdentity()
	case "retry-now":
		h.link.RetryNow(num("t"))
	case "discard-cached":
		h.link.DiscardCached()
	case "no-one":
		out = h.link.SetNoOne(pos[0])
	case "connected":
		out = h.link.Connected(num("t"))
	case "connect-failed":
		out = h.link.ConnectFailed(num("t"), strings.Join(pos, " "))
	case "reply":
		_, line, _ := strings.Cut(strings.TrimPrefix(cmd, "reply "), " ")
		if strings.HasPrefix(cmd, "reply t=") && !strings.Contains(strings.TrimPrefix(cmd, "reply "), " ") {
			line = ""
		}
		out = h.link.Reply(num("t"), line)
	case "stream":
		h.link.DataReceived(num("t"))
		h.id.Offset += num("bytes")
	case "transfer-done":
		out = h.link.TransferDone(num("t"))
	case "transfer-failed":
		out = h.link.TransferFailed(num("t"), strings.Join(pos, " "))
	case "disconnected":
		out = h.link.Disconnected(num("t"))
	case "tick":
		out = h.link.Tick(num("t"))
	case "getack":
		out = h.link.GetAck(num("t"))
	default:
		t.Fatalf("unknown transcript command %q", cmd)
	}
	var b strings.Builder
	for _, l := range out.Logs {
		fmt.Fprintf(&b, "log %s\n", l)
	}
	for _, a := range out.Actions {
		fmt.Fprintf(&b, "act %s\n", a)
	}
	fmt.Fprintf(&b, "state %s (role %s)\n", h.link.State(), h.link.State().RoleState())
	fmt.Fprintf(&b, "id replid=%s replid2=%s second=%d offset=%d", h.id.ReplID, h.id.ReplID2, h.id.SecondOffset, h.id.Offset)
	if r, o, ok := h.link.Cached(); ok {
		fmt.Fprintf(&b, " cached=%s:%d", r, o)
	}
	return shortenIDs(b.String())
}

func TestLinkTranscripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/link_*.txt")
	if len(files) == 0 {
		t.Fatal("no transcripts found")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			h := newLinkHarness()
			blocks := strings.Split(strings.TrimSpace(string(raw)), "\n\n")
			var rewritten []string
			for _, block := range blocks {
				cmdPart, want, ok := strings.Cut(block, "\n----\n")
				if !ok {
					cmdPart, want = strings.TrimSuffix(block, "\n----"), ""
				}
				var comments []string
				lines := strings.Split(cmdPart, "\n")
				comments = append(comments, lines[:len(lines)-1]...)
				cmd := lines[len(lines)-1]
				got := h.run(t, expandIDs(cmd))
				if *rewrite {
					rewritten = append(rewritten, strings.Join(append(comments, cmd, "----", got), "\n"))
					continue
				}
				if strings.TrimSpace(got) != strings.TrimSpace(want) {
					t.Errorf("%s: command %q\n--- got ---\n%s\n--- want ---\n%s", file, cmd, got, want)
				}
			}
			if *rewrite {
				if err := os.WriteFile(file, []byte(strings.Join(rewritten, "\n\n")+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
