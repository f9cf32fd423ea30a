package netloop

import (
	"testing"

	"golang.org/x/sys/unix"
)

// Wake after Close must not write into whatever file now has the
// wake-up descriptor's number (Server.Close wakes the loop, which may have
// stopped and closed its poller already).
func TestWakeAfterCloseWritesNothing(t *testing.T) {
	p, err := New(8)
	if err != nil {
		t.Fatal(err)
	}
	wakefd := p.wakefd
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	// Take the freed numbers (lowest first, as open(2) does).
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	reused := -1
	for i := 0; i < 8 && reused < 0; i++ {
		var pr [2]int
		if err := unix.Pipe2(pr[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		fds = append(fds, pr[0], pr[1])
		if pr[1] == wakefd {
			reused = pr[0]
		}
	}
	if reused < 0 {
		t.Skip("the wake-up descriptor's number was not reused by a pipe's write end")
	}
	p.Wake()
	var buf [16]byte
	if n, _ := unix.Read(reused, buf[:]); n > 0 {
		t.Fatalf("Wake after Close wrote %d bytes into an unrelated descriptor", n)
	}
}
