package ackwriter

import (
	"bufio"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replnode/replnode/test/internal/resp"
)

// fakeServer answers the writer's SET, WAIT and MGET over net.Pipe
// connections: WAIT acknowledges every other key, and each connection is
// dropped after dropAfter commands, so the writer must reconnect.
type fakeServer struct {
	mu        sync.Mutex
	keys      map[string]string
	waits     int
	dropAfter int
}

// connect is the writer's connect function: a fresh pipe served by s.
func (s *fakeServer) connect() (*resp.Conn, error) {
	client, server := net.Pipe()
	go s.serve(server)
	return resp.Handshake(client, "", 5*time.Second)
}

func (s *fakeServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	s.mu.Lock()
	limit := s.dropAfter
	s.mu.Unlock()
	for served := 0; served < limit; served++ {
		args, err := readCommand(r)
		if err != nil {
			return
		}
		var reply string
		s.mu.Lock()
		switch strings.ToUpper(args[0]) {
		case "SET":
			s.keys[args[1]] = args[2]
			reply = "+OK\r\n"
		case "WAIT":
			s.waits++
			reply = ":" + strconv.Itoa(s.waits%2) + "\r\n"
		case "MGET":
			reply = "*" + strconv.Itoa(len(args)-1) + "\r\n"
			for _, k := range args[1:] {
				if v, ok := s.keys[k]; ok {
					reply += "$" + strconv.Itoa(len(v)) + "\r\n" + v + "\r\n"
				} else {
					reply += "$-1\r\n"
				}
			}
		default:
			reply = "-ERR unknown command\r\n"
		}
		s.mu.Unlock()
		if _, err := c.Write([]byte(reply)); err != nil {
			return
		}
	}
}

// readCommand reads one RESP array of bulk strings.
func readCommand(r *bufio.Reader) ([]string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if err != nil {
		return nil, err
	}
	args := make([]string, n)
	for i := range args {
		if _, err := r.ReadString('\n'); err != nil {
			return nil, err
		}
		v, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		args[i] = strings.TrimSuffix(v, "\r\n")
	}
	return args, nil
}

// TestWriterRecordsOnlyAcknowledgedKeysAcrossReconnects runs the loop
// against a server that acknowledges every other WAIT and drops each
// connection after a few commands: the acknowledged keys are exactly the
// ones WAIT counted, all of them answered OK, the trace shows the
// reconnects, and Missing names exactly the keys the server lost.
func TestWriterRecordsOnlyAcknowledgedKeysAcrossReconnects(t *testing.T) {
	s := &fakeServer{keys: map[string]string{}, dropAfter: 7}
	w := Start("t:", s.connect)
	deadline := time.Now().Add(time.Minute)
	for len(w.Acked()) < 10 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	w.Finish()

	acked, oked := w.Acked(), w.OKed()
	if len(acked) < 10 {
		t.Fatalf("only %d keys acknowledged in a minute", len(acked))
	}
	for _, k := range acked {
		if !slices.Contains(oked, k) {
			t.Errorf("acknowledged key %s never answered OK", k)
		}
	}
	if len(acked) >= len(oked) {
		t.Errorf("%d acknowledged of %d OK keys: half the WAITs answered 0, so fewer must count", len(acked), len(oked))
	}
	connects := 0
	for _, e := range w.TraceBetween(time.Time{}, time.Now()) {
		if e.What == "connected" {
			connects++
		}
	}
	if connects < 2 {
		t.Errorf("trace shows %d connects; the server dropped every connection after 7 commands", connects)
	}

	s.mu.Lock()
	delete(s.keys, acked[0])
	delete(s.keys, acked[len(acked)-1])
	s.dropAfter = 1000
	s.mu.Unlock()
	c, err := s.connect()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	lost, err := Missing(c, acked)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{acked[0], acked[len(acked)-1]}; !slices.Equal(lost, want) {
		t.Errorf("Missing = %v, want %v", lost, want)
	}
}

// TestOutageSpanIsTheLongestGapOverlappingTheWindow: a gap counts when it
// ends after from and starts before to; a longer gap outside the window is
// ignored.
func TestOutageSpanIsTheLongestGapOverlappingTheWindow(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	w := &Writer{ackTimes: []time.Time{at(0), at(10), at(11), at(12), at(15), at(15.5), at(30)}}

	from, to := w.OutageSpan(at(11.5), at(15.2))
	if !from.Equal(at(12)) || !to.Equal(at(15)) {
		t.Errorf("OutageSpan = %v..%v, want 12s..15s (the 10s gap ends before the window, the 14.5s gap starts after it)", from.Sub(t0), to.Sub(t0))
	}
	if got := w.Outage(at(11.5), at(15.2)); got != 3*time.Second {
		t.Errorf("Outage = %v, want 3s", got)
	}
	if got := w.Outage(at(16), at(20)); got != 14500*time.Millisecond {
		t.Errorf("Outage of a window inside a gap = %v, want the whole 14.5s gap", got)
	}
	if from, to := w.OutageSpan(at(31), at(40)); !from.IsZero() || !to.IsZero() {
		t.Errorf("OutageSpan after the last acknowledgement = %v..%v, want zero", from, to)
	}
	if got := w.AckedWithin(at(10), at(15.5)); got != 3 {
		t.Errorf("AckedWithin(10s, 15.5s) = %d, want 3 (11, 12, 15: both ends excluded)", got)
	}
	if !w.AckedAfter(at(29)) || w.AckedAfter(at(30)) {
		t.Errorf("AckedAfter: the last acknowledgement is at 30s")
	}
}
