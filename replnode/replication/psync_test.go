package replication

import (
	"strings"
	"testing"
)

func TestDecidePSync(t *testing.T) {
	A, B, C := strings.Repeat("a", 40), strings.Repeat("b", 40), strings.Repeat("c", 40)
	// A node promoted at offset 100 (replid2 A valid up to 101) that has
	// since written 50 bytes under B; its backlog holds 61..150.
	id := Identity{ReplID: B, ReplID2: A, SecondOffset: 101, Offset: 150}
	bl := NewBacklog(90, 60)
	bl.Append(stream(61, 90))

	cases := []struct {
		name    string
		req     PSyncRequest
		partial bool
		reply   string
		bytes   int
		log     string
	}{
		{"force full", PSyncRequest{ReplID: "?", Offset: "-1", CapaPSync2: true}, false, "", 0, "Full resync requested by replica r"},
		{"unknown id", PSyncRequest{ReplID: C, Offset: "120"}, false, "", 0, "Replication ID mismatch"},
		{"current id, psync2", PSyncRequest{ReplID: B, Offset: "120", CapaPSync2: true}, true, "+CONTINUE " + B + "\r\n", 31, "Sending 31 bytes of backlog starting from offset 120."},
		{"current id, old replica", PSyncRequest{ReplID: B, Offset: "120"}, true, "+CONTINUE\r\n", 31, "accepted"},
		{"current id, caught up", PSyncRequest{ReplID: B, Offset: "151", CapaPSync2: true}, true, "+CONTINUE " + B + "\r\n", 0, "Sending 0 bytes"},
		{"current id, ahead of us", PSyncRequest{ReplID: B, Offset: "152"}, false, "", 0, "greater than the master replication offset"},
		{"current id, before backlog", PSyncRequest{ReplID: B, Offset: "60"}, false, "", 0, "for lack of backlog (Replica request was: 60)"},
		{"current id, first backlog byte", PSyncRequest{ReplID: B, Offset: "61"}, true, "", 90, "accepted"},
		{"old id up to second offset", PSyncRequest{ReplID: A, Offset: "101", CapaPSync2: true}, true, "+CONTINUE " + B + "\r\n", 50, "accepted"},
		{"old id, mixed case", PSyncRequest{ReplID: strings.ToUpper(A), Offset: "90", CapaPSync2: true}, true, "", 61, "accepted"},
		{"old id beyond second offset", PSyncRequest{ReplID: A, Offset: "102"}, false, "", 0, "Requested offset for second ID was 102, but I can reply up to 101"},
		{"bad offset", PSyncRequest{ReplID: B, Offset: "x"}, false, "", 0, "Full resync requested"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.req.ReplicaName = "r"
			d := DecidePSync(id, bl, c.req)
			if d.Partial != c.partial || (c.reply != "" && d.Reply != c.reply) || len(d.Backlog) != c.bytes {
				t.Fatalf("got partial=%v reply=%q bytes=%d", d.Partial, d.Reply, len(d.Backlog))
			}
			var logs []string
			for _, l := range d.Logs {
				logs = append(logs, l.Text)
			}
			if !strings.Contains(strings.Join(logs, "\n"), c.log) {
				t.Fatalf("logs %q lack %q", logs, c.log)
			}
		})
	}
	if d := DecidePSync(id, nil, PSyncRequest{ReplID: B, Offset: "151"}); d.Partial {
		t.Fatal("no backlog must mean full resync")
	}
	if got := FullResyncReply(B, 7); got != "+FULLRESYNC "+B+" 7\r\n" {
		t.Fatalf("FullResyncReply = %q", got)
	}
}
