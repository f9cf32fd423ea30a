package netloop

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// socketPair returns two connected non-blocking stream sockets, closed at
// the end of the test.
func socketPair(t *testing.T) (a, b int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

func newPoller(t *testing.T) *Poller {
	t.Helper()
	p, err := New(16)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func write(t *testing.T, fd int, s string) {
	t.Helper()
	if _, err := unix.Write(fd, []byte(s)); err != nil {
		t.Fatal(err)
	}
}

func TestWaitReportsOnlyReadyDescriptorsWithTheirTokens(t *testing.T) {
	p := newPoller(t)
	a1, b1 := socketPair(t)
	a2, _ := socketPair(t)
	// Tokens with high bits set survive the round trip through the kernel.
	const tok1, tok2 = uint64(0xdeadbeef00000001), uint64(1 << 40)
	if err := p.Add(a1, tok1); err != nil {
		t.Fatal(err)
	}
	if err := p.Add(a2, tok2); err != nil {
		t.Fatal(err)
	}
	evs, woken, err := p.Wait(nil, 0)
	if err != nil || woken || len(evs) != 0 {
		t.Fatalf("nothing written: got %v woken=%v err=%v", evs, woken, err)
	}
	write(t, b1, "x")
	evs, _, err = p.Wait(nil, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Token != tok1 || !evs[0].Readable {
		t.Fatalf("got %+v, want only token %x readable", evs, tok1)
	}
}

func TestLevelTriggeredUntilInputIsRead(t *testing.T) {
	p := newPoller(t)
	a, b := socketPair(t)
	if err := p.Add(a, 7); err != nil {
		t.Fatal(err)
	}
	write(t, b, "hello")
	for i := 0; i < 3; i++ {
		evs, _, _ := p.Wait(nil, 10_000)
		if len(evs) != 1 || evs[0].Token != 7 {
			t.Fatalf("wait %d: got %+v, want token 7 again while unread", i, evs)
		}
	}
	buf := make([]byte, 16)
	if n, err := unix.Read(a, buf); n != 5 || err != nil {
		t.Fatalf("read %d %v", n, err)
	}
	if evs, _, _ := p.Wait(nil, 0); len(evs) != 0 {
		t.Fatalf("after reading everything: got %+v", evs)
	}
}

func TestHangUpIsReadable(t *testing.T) {
	p := newPoller(t)
	a, b := socketPair(t)
	if err := p.Add(a, 3); err != nil {
		t.Fatal(err)
	}
	// shutdown, not close: the pair is closed by the cleanup.
	if err := unix.Shutdown(b, unix.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	evs, _, _ := p.Wait(nil, 10_000)
	if len(evs) != 1 || !evs[0].Readable {
		t.Fatalf("peer hung up: got %+v, want readable (a read sees EOF)", evs)
	}
}

func TestRemoveStopsReports(t *testing.T) {
	p := newPoller(t)
	a, b := socketPair(t)
	if err := p.Add(a, 9); err != nil {
		t.Fatal(err)
	}
	write(t, b, "x")
	if err := p.Remove(a); err != nil {
		t.Fatal(err)
	}
	if evs, _, _ := p.Wait(nil, 50); len(evs) != 0 {
		t.Fatalf("removed descriptor reported: %+v", evs)
	}
	if err := p.Remove(a); err == nil {
		t.Fatal("removing twice succeeded")
	}
	// It can be watched again, under a new token.
	if err := p.Add(a, 10); err != nil {
		t.Fatal(err)
	}
	if evs, _, _ := p.Wait(nil, 10_000); len(evs) != 1 || evs[0].Token != 10 {
		t.Fatalf("re-added: got %+v", evs)
	}
}

func TestWakeInterruptsABlockedWait(t *testing.T) {
	p := newPoller(t)
	done := make(chan bool)
	go func() {
		_, woken, _ := p.Wait(nil, -1)
		done <- woken
	}()
	// The waiter may or may not have entered epoll_wait yet: a Wake before
	// it counts too (the eventfd stays readable).
	p.Wake()
	select {
	case woken := <-done:
		if !woken {
			t.Fatal("Wait returned without reporting the wake")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Wake did not interrupt Wait")
	}
	// The wake was consumed: the next Wait does not report it again, and a
	// later Wake is not lost.
	if _, woken, _ := p.Wait(nil, 0); woken {
		t.Fatal("a consumed wake reported twice")
	}
	p.Wake()
	if _, woken, _ := p.Wait(nil, 10_000); !woken {
		t.Fatal("a wake after a consumed one was lost")
	}
}

// TestWakesBeforeAWaitCoalesce: wakes that no Wait consumed in between are
// one wake. (A Wake after a Wait consumed the previous one is a new one:
// with a waiter on another thread, a second Wake may land on either side.)
func TestWakesBeforeAWaitCoalesce(t *testing.T) {
	p := newPoller(t)
	p.Wake()
	p.Wake()
	if _, woken, _ := p.Wait(nil, 0); !woken {
		t.Fatal("the wakes were lost")
	}
	if _, woken, _ := p.Wait(nil, 0); woken {
		t.Fatal("two wakes before one Wait were reported twice")
	}
}

func TestReservedTokenRefused(t *testing.T) {
	p := newPoller(t)
	a, _ := socketPair(t)
	if err := p.Add(a, wakeToken); err != ErrReservedToken {
		t.Fatalf("got %v", err)
	}
}

func TestWaitParkedReturnsReadyDescriptorsAndWakes(t *testing.T) {
	p := newPoller(t)
	a, b := socketPair(t)
	if err := p.Add(a, 5); err != nil {
		t.Fatal(err)
	}
	type result struct {
		evs   []Event
		woken bool
		err   error
	}
	wait := func() chan result {
		ch := make(chan result, 1)
		go func() {
			evs, woken, err := p.WaitParked(nil)
			ch <- result{evs, woken, err}
		}()
		return ch
	}
	// Input written before or while it is parked is reported.
	ch := wait()
	write(t, b, "x")
	select {
	case r := <-ch:
		if r.err != nil || len(r.evs) != 1 || r.evs[0].Token != 5 {
			t.Fatalf("got %+v", r)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("WaitParked missed ready input")
	}
	buf := make([]byte, 8)
	if _, err := unix.Read(a, buf); err != nil {
		t.Fatal(err)
	}
	// With nothing ready it parks until Wake.
	ch = wait()
	p.Wake()
	select {
	case r := <-ch:
		if r.err != nil || !r.woken || len(r.evs) != 0 {
			t.Fatalf("got %+v, want only the wake", r)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Wake did not end WaitParked")
	}
}
