package nbd

import (
	"io"
	"net"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// syncWaitMax bounds a syncConn's wait for its socket on the calling goroutine's thread.
const syncWaitMax = 50 * time.Microsecond

// syncConn is a client's TCP or unix socket whose reads and writes, when the socket is not
// ready, first wait for it on the calling goroutine's own thread, in ppoll(2) for at most
// syncWaitMax, and only then park on the runtime's netpoller.
//
// A thread asleep on a socket is woken by the peer's send with a synchronous wake-up, which
// the scheduler places on the peer's CPU; the netpoller's thread is woken through epoll with
// an ordinary wake-up, on whichever CPU is idle. When a client streams payloads larger than the
// socket buffer, the buffer fills and drains in turn for each of them: a reader woken on the
// client's CPU frees the socket's pages there, and the client's next send takes them back
// while they are still in that CPU's cache (nbdcopy's write into `gdmsetup serve` over a unix
// socket: 0.85x nbdkit's speed with the netpoller, 0.95x waiting in ppoll; see docs/nbd.md). The
// wait is a raw system call, so the goroutine keeps its P: a thread that gave its P up must get
// one back when it wakes, or hand the goroutine to another thread (waiting through the
// scheduler, unix.Ppoll: 0.82x). A P is thus held for at most syncWaitMax.
//
// Reads wait this way only while syncReads is set; writes always (which matters only for
// replies larger than the socket buffer). syncReads belongs to the connection's reader
// goroutine, the only one that reads. Deadlines and Close act as on the wrapped connection:
// the waits run inside its syscall.RawConn's Read and Write, which hold the descriptor and
// check the deadline.
type syncConn struct {
	net.Conn
	rc        syscall.RawConn
	syncReads bool
}

// newSyncConn wraps nc when it is a socket (syscall.Conn), else returns nil.
func newSyncConn(nc net.Conn) *syncConn {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return &syncConn{Conn: nc, rc: rc}
}

// Read reads into p as net.Conn does, waiting on this thread first while syncReads is set.
func (c *syncConn) Read(p []byte) (int, error) {
	if !c.syncReads || len(p) == 0 {
		return c.Conn.Read(p)
	}
	var n int
	var errno error
	err := c.rc.Read(func(fd uintptr) bool {
		n, errno = rawIO(unix.SYS_READ, fd, p)
		if errno == unix.EAGAIN && pollBriefly(fd, unix.POLLIN) {
			n, errno = rawIO(unix.SYS_READ, fd, p)
		}
		return errno != unix.EAGAIN && errno != unix.EINTR
	})
	switch {
	case err != nil:
		return 0, err
	case errno != nil:
		return 0, os.NewSyscallError("read", errno)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// Write writes all of p as net.Conn does, waiting on this thread first whenever the socket
// buffer is full.
func (c *syncConn) Write(p []byte) (int, error) {
	done := 0
	var errno error
	err := c.rc.Write(func(fd uintptr) bool {
		for done < len(p) {
			n, e := rawIO(unix.SYS_WRITE, fd, p[done:])
			if n > 0 {
				done += n
			}
			switch {
			case e == nil || e == unix.EINTR:
			case e != unix.EAGAIN:
				errno = e
				return true
			case !pollBriefly(fd, unix.POLLOUT):
				return false
			}
		}
		return true
	})
	if err == nil && errno != nil {
		err = os.NewSyscallError("write", errno)
	}
	return done, err
}

// pollBriefly waits at most syncWaitMax for fd to be ready for events (or to fail), on this
// thread and without entering the scheduler, and reports whether it is.
func pollBriefly(fd uintptr, events int16) bool {
	pfd := unix.PollFd{Fd: int32(fd), Events: events}
	ts := unix.NsecToTimespec(int64(syncWaitMax))
	n, _, e := unix.RawSyscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	return e == 0 && n > 0
}

// rawIO is read(2) or write(2) (trap) of p on fd, as a raw system call: fd is non-blocking,
// so the call does not wait and need not enter the scheduler.
func rawIO(trap, fd uintptr, p []byte) (int, error) {
	n, _, e := unix.RawSyscall(trap, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
