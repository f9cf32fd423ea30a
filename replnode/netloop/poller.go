package netloop

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Event is one ready descriptor: the token it was registered with and
// whether it can be read (or has hung up or failed, which a read then
// reports).
type Event struct {
	Token    uint64
	Readable bool
}

// wakeToken is the token of the wake-up descriptor; Add refuses it.
const wakeToken = ^uint64(0)

// ErrReservedToken is returned by Add for the token the poller keeps for
// its own wake-up descriptor.
var ErrReservedToken = errors.New("netloop: token reserved for the wake-up descriptor")

// Poller is an epoll instance. Add, Remove and Wake may be called from any
// goroutine; Wait from one goroutine at a time.
type Poller struct {
	epfd   int
	wakefd int
	// woken is set by Wake until Wait drains the eventfd, so a burst of
	// Wakes costs one write.
	woken  atomic.Bool
	closed atomic.Bool
	// closeMu keeps Close from freeing epfd and wakefd while Add, Remove
	// or Wake use them (any goroutine): once closed, their numbers may
	// belong to another file.
	closeMu sync.RWMutex
	raw     []unix.EpollEvent
	// file holds epfd in the Go runtime's own poller (an epoll instance
	// is readable while it has ready descriptors), so WaitParked can park
	// the goroutine instead of blocking its thread in epoll_wait.
	file *os.File
	conn syscall.RawConn
	// pollFn is WaitParked's non-blocking epoll_wait, made once so a wait
	// allocates no closure; it leaves pollN and pollErr.
	pollFn  func(fd uintptr) bool
	pollN   int
	pollErr error
}

// New returns a poller with room to report up to batch events per Wait.
func New(batch int) (*Poller, error) {
	if batch < 1 {
		batch = 1
	}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	p := &Poller{epfd: epfd, wakefd: wakefd, raw: make([]unix.EpollEvent, batch)}
	if err := p.ctl(unix.EPOLL_CTL_ADD, wakefd, wakeToken); err != nil {
		unix.Close(wakefd)
		unix.Close(epfd)
		return nil, err
	}
	// Non-blocking, os.NewFile registers it with the runtime's poller;
	// from here file owns (and closes) epfd.
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(wakefd)
		unix.Close(epfd)
		return nil, err
	}
	p.file = os.NewFile(uintptr(epfd), "netloop-epoll")
	conn, err := p.file.SyscallConn()
	if err != nil {
		unix.Close(wakefd)
		p.file.Close()
		return nil, err
	}
	p.conn = conn
	p.pollFn = func(fd uintptr) bool {
		p.pollN, p.pollErr = pollNow(int(fd), p.raw)
		if p.pollErr == unix.EINTR {
			p.pollN, p.pollErr = 0, nil
		}
		return p.pollN > 0 || p.pollErr != nil
	}
	return p, nil
}

func (p *Poller) ctl(op, fd int, token uint64) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP}
	// EpollEvent's Fd and Pad hold the 64-bit user data.
	ev.Fd = int32(uint32(token))
	ev.Pad = int32(uint32(token >> 32))
	return unix.EpollCtl(p.epfd, op, fd, &ev)
}

// Add watches fd for input (level-triggered: a descriptor with unread
// input is reported by every Wait).
func (p *Poller) Add(fd int, token uint64) error {
	if token == wakeToken {
		return ErrReservedToken
	}
	p.closeMu.RLock()
	defer p.closeMu.RUnlock()
	if p.closed.Load() {
		return os.ErrClosed
	}
	return p.ctl(unix.EPOLL_CTL_ADD, fd, token)
}

// Remove stops watching fd. The caller must hold fd open while it runs.
func (p *Poller) Remove(fd int) error {
	p.closeMu.RLock()
	defer p.closeMu.RUnlock()
	if p.closed.Load() {
		return os.ErrClosed
	}
	return unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
}

// Wake makes a Wait in progress (or the next one) return at once.
func (p *Poller) Wake() {
	if p.woken.Swap(true) {
		return
	}
	p.closeMu.RLock()
	defer p.closeMu.RUnlock()
	if p.closed.Load() {
		return
	}
	var one = [8]byte{1}
	_, _ = unix.Write(p.wakefd, one[:])
}

// Wait blocks until a watched descriptor is ready, Wake is called, or
// timeoutMs passes (-1: no limit; 0: do not block). It appends the ready
// descriptors to out and reports whether it was woken.
func (p *Poller) Wait(out []Event, timeoutMs int) (events []Event, woken bool, err error) {
	n, err := unix.EpollWait(p.epfd, p.raw, timeoutMs)
	if err != nil {
		if err == unix.EINTR {
			return out, false, nil
		}
		return out, false, err
	}
	events, woken = p.decode(out, n)
	return events, woken, nil
}

// decode appends the first n raw events to out, consuming a wake-up.
func (p *Poller) decode(out []Event, n int) (events []Event, woken bool) {
	for _, ev := range p.raw[:n] {
		token := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
		if token == wakeToken {
			var buf [8]byte
			_, _ = unix.Read(p.wakefd, buf[:])
			p.woken.Store(false)
			woken = true
			continue
		}
		out = append(out, Event{Token: token, Readable: ev.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0})
	}
	return out, woken
}

// WaitParked is Wait without a time limit that parks the calling
// goroutine in the Go scheduler (its netpoller) rather than blocking its
// thread in epoll_wait: a thread blocked in a system call costs the
// scheduler a P hand-off and keeps sysmon polling, which showed as more
// than two thread switches per request in a busy loop.
func (p *Poller) WaitParked(out []Event) (events []Event, woken bool, err error) {
	err = p.conn.Read(p.pollFn)
	n, werr := p.pollN, p.pollErr
	if err == nil {
		err = werr
	}
	if err != nil {
		return out, false, err
	}
	events, woken = p.decode(out, n)
	return events, woken, nil
}

// pollNow is epoll_wait with timeout 0 made by RawSyscall6: it cannot
// block, so the bookkeeping of a Go system call (unix.EpollWait) is pure
// cost, and more than its 3.5% of the loop's CPU in a -c 10 profile
// suggests: entering a system call wakes sysmon when it sleeps (all Ps
// idle, as between rounds), one thread switch per round. With it the loop
// made 0.35 thread switches per request at -c 10, without it 0.23
// (redis-server 0.25). epoll_pwait with no signal mask is epoll_wait on
// every architecture (arm64 has no epoll_wait).
func pollNow(epfd int, events []unix.EpollEvent) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// Close releases the epoll instance. The watched descriptors stay open.
func (p *Poller) Close() error {
	p.closeMu.Lock()
	defer p.closeMu.Unlock()
	if p.closed.Swap(true) {
		return nil
	}
	unix.Close(p.wakefd)
	return p.file.Close()
}
