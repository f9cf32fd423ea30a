// Package netloop is a readiness poller for many sockets: Linux epoll,
// level-triggered, with a wake-up descriptor so another goroutine can
// interrupt a wait.
//
// It owns the epoll instance and nothing else: it registers and
// unregisters descriptors under a caller-chosen 64-bit token, waits for
// readiness and reports (token, events) pairs. WaitParked waits by parking
// the goroutine in the Go runtime's own poller (the epoll instance is
// itself pollable), so the loop never blocks a thread in a system call. It knows nothing of Redis,
// of clients or of net.Conn; it never reads, writes or closes the
// descriptors it watches. The caller must unregister a descriptor while it
// is still open (inside syscall.RawConn.Control, which holds it open), so
// that a number the kernel has reused for another socket is never touched.
//
// package server's event loop (server/netloop.go) is its only user.
package netloop
