package server_test

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/redistest"
)

// infoValue returns one field of INFO replication.
func infoValue(t *testing.T, c *redistest.Client, field string) string {
	t.Helper()
	for _, l := range strings.Split(c.MustDo(t, "INFO", "replication").Str, "\r\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return v
		}
	}
	return ""
}

// TestMinReplicasGuardExpiresOnStaleAcks is a one-way cut: the master no
// longer reaches its replica, the replica still reaches the master and
// keeps acknowledging the offset it stopped at, every 200ms. Redis counts
// it as good forever (its ACKs are fresh), so a master cut off this way
// would keep taking writes after the operator promoted the replica that
// stopped hearing it. replnode counts a replica from the moment the
// master's offset went past what it acknowledged: writes are refused
// within min-replicas-max-lag (2s) plus slack, and INFO agrees.
func TestMinReplicasGuardExpiresOnStaleAcks(t *testing.T) {
	master, replica, c := startGuardedPair(t, redistest.StartInProcess)
	replid := infoValue(t, c, "master_replid")
	offset, err := strconv.ParseInt(infoValue(t, c, "master_repl_offset"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	// The replica that will be cut one way: it continues the master's
	// history and from then on only sends ACKs of that offset, never
	// reading what the master sends.
	oneWay := master.Dial(t)
	if r := oneWay.MustDo(t, "REPLCONF", "listening-port", "1"); r.String() != "OK" {
		t.Fatalf("REPLCONF: %s", r.String())
	}
	if err := oneWay.Send("PSYNC", replid, strconv.FormatInt(offset+1, 10)); err != nil {
		t.Fatal(err)
	}
	if r, err := oneWay.Receive(); err != nil || !strings.HasPrefix(r.String(), "CONTINUE") {
		t.Fatalf("PSYNC: %v %v", r, err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
				if oneWay.Send("REPLCONF", "ACK", strconv.FormatInt(offset, 10)) != nil {
					return
				}
			}
		}
	}()
	// The real replica goes away: only the one-way one is left.
	if err := replica.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	var refused time.Duration
	for i := 0; refused == 0; i++ {
		r := c.MustDo(t, "SET", "k", strconv.Itoa(i))
		switch {
		case strings.HasPrefix(r.String(), "(error) NOREPLICAS"):
			refused = time.Since(stopped)
			if good := infoValue(t, c, "min_slaves_good_slaves"); good != "0" {
				t.Errorf("write refused but min_slaves_good_slaves:%s", good)
			}
		case r.String() != "OK":
			t.Fatalf("SET: %s", r.String())
		case time.Since(stopped) > 8*time.Second:
			t.Fatalf("writes still accepted %v after the only replica left was one that acknowledges a stale offset", time.Since(stopped))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if refused > 3500*time.Millisecond {
		t.Errorf("writes refused only %v after the replica stopped, want within max-lag plus slack", refused)
	}
	if v := infoValue(t, c, "min_replicas_guard_ms"); v != "1" {
		t.Errorf("min_replicas_guard_ms:%q", v)
	}
}

// TestReplicaReportsNoContactInMilliseconds: a replica reports
// master_last_io_ms_ago and master_no_contact_ms next to Redis's fields,
// and a replica whose link never came up reports how long it has been
// pointed at its master (Redis shows master_link_down_since_seconds:-1 and
// the operator could not count it).
func TestReplicaReportsNoContactInMilliseconds(t *testing.T) {
	master := redistest.StartInProcess(t)
	replica := redistest.StartInProcess(t, "replicaof 127.0.0.1 "+strconv.Itoa(master.Port))
	rc := replica.Dial(t)
	waitInfo(t, rc, "master_link_status:up")
	if v, err := strconv.ParseInt(infoValue(t, rc, "master_last_io_ms_ago"), 10, 64); err != nil || v < 0 || v > 1500 {
		t.Errorf("linked replica: master_last_io_ms_ago:%d (%v)", v, err)
	}
	// Started pointed at a port nobody listens on: never up.
	lone := redistest.StartInProcess(t, "replicaof 127.0.0.1 1")
	rc = lone.Dial(t)
	time.Sleep(700 * time.Millisecond)
	if v := infoValue(t, rc, "master_link_down_since_seconds"); v != "-1" {
		t.Errorf("never-up link: master_link_down_since_seconds:%s, want -1 as Redis", v)
	}
	if v, err := strconv.ParseInt(infoValue(t, rc, "master_no_contact_ms"), 10, 64); err != nil || v < 600 || v > 5000 {
		t.Errorf("never-up link: master_no_contact_ms:%d (%v), want about 700", v, err)
	}
	if v := infoValue(t, rc, "master_last_io_ms_ago"); v != "-1" {
		t.Errorf("never-up link: master_last_io_ms_ago:%s", v)
	}
}
