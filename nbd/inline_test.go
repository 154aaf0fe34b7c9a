package nbd

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"
)

// slowOffsetExport blocks ReadAt at one offset until gate is closed.
type slowOffsetExport struct {
	*FileExport
	slowOff int64
	gate    chan struct{}
}

func (e *slowOffsetExport) ReadAt(p []byte, offBytes int64) (int, error) {
	if offBytes == e.slowOff {
		<-e.gate
	}
	return e.FileExport.ReadAt(p, offBytes)
}

// fastConn serves e and returns a client connection to it whose service time average has
// been brought down from its initial 1 ms by 256 reads of 4 KiB, 8 at a time: fast enough for
// inline service.
func fastConn(t *testing.T, e Export) *rawClient {
	t.Helper()
	ts := startServer(t, "tcp", &Server{Exports: StaticExports{"": e}})
	r := dialRaw(t, ts.addr)
	r.clientFlags(3)
	r.goExport("")
	for i := 0; i < 32; i++ {
		for j := 0; j < 8; j++ {
			r.request(0, cmdRead, uint64(j), uint64(j)*4096, 4096, nil)
		}
		for j := 0; j < 8; j++ {
			if errno, _, _ := r.reply(4096); errno != 0 {
				t.Fatalf("warm-up read: errno %d", errno)
			}
		}
	}
	return r
}

// TestHeldReplyLeaves: on a connection fast enough for inline service, a request that
// completed is answered even while the request after it, sent in the same packet, blocks (as
// on a suspended device): replies held for batching leave within replyHoldMax.
func TestHeldReplyLeaves(t *testing.T) {
	fe := openCounting(t, tempFile(t, 1<<20, false), false)
	e := &slowOffsetExport{FileExport: fe.FileExport, slowOff: 64 << 10, gate: make(chan struct{})}
	open := sync.OnceFunc(func() { close(e.gate) })
	t.Cleanup(open)
	r := fastConn(t, e)
	var b []byte
	for _, req := range []struct{ handle, offB uint64 }{{1, 0}, {2, 64 << 10}} {
		b = binary.BigEndian.AppendUint32(b, magicRequest)
		b = binary.BigEndian.AppendUint32(b, uint32(cmdRead))
		b = binary.BigEndian.AppendUint64(b, req.handle)
		b = binary.BigEndian.AppendUint64(b, req.offB)
		b = binary.BigEndian.AppendUint32(b, 4096)
	}
	r.send(b)
	r.c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if errno, h, _ := r.reply(4096); errno != 0 || h != 1 {
		t.Fatalf("first reply: errno %d handle %d, want the completed read 1", errno, h)
	}
	open()
	r.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if errno, h, _ := r.reply(4096); errno != 0 || h != 2 {
		t.Fatalf("second reply: errno %d handle %d, want 2", errno, h)
	}
}

// waitingExport is a Waiter whose writes block until gate is closed.
type waitingExport struct {
	*FileExport
	gate chan struct{}
}

func (e *waitingExport) MayWait() bool { return true }

func (e *waitingExport) WriteAt(p []byte, offBytes int64) (int, error) {
	<-e.gate
	return e.FileExport.WriteAt(p, offBytes)
}

// TestWaiterNotInline: on a connection fast enough for inline service, a request to an export
// whose I/O may wait (a delay target) is not served on the reader: a read sent after a write
// that waits is answered first.
func TestWaiterNotInline(t *testing.T) {
	fe := openCounting(t, tempFile(t, 1<<20, false), false)
	e := &waitingExport{FileExport: fe.FileExport, gate: make(chan struct{})}
	open := sync.OnceFunc(func() { close(e.gate) })
	t.Cleanup(open)
	r := fastConn(t, e)
	r.request(0, cmdWrite, 1, 0, 4096, make([]byte, 4096))
	r.request(0, cmdRead, 2, 8192, 4096, nil)
	r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if errno, h, _ := r.reply(4096); errno != 0 || h != 2 {
		t.Fatalf("first reply: errno %d handle %d, want the read 2 while the write waits", errno, h)
	}
	open()
	if errno, h, _ := r.reply(0); errno != 0 || h != 1 {
		t.Fatalf("second reply: errno %d handle %d, want the write 1", errno, h)
	}
}
