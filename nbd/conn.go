package nbd

import (
	"bufio"
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// shutdownReplyGrace bounds how long replies may still take to leave once Serve is cancelled,
// so that a client that stopped reading cannot hold the shutdown.
const shutdownReplyGrace = 10 * time.Second

// errBroken is returned by replies on a connection whose earlier reply failed.
var errBroken = errors.New("connection broken by an earlier failed reply")

// readBufferBytes is the size of the buffered reader on each connection: requests headers and
// small write payloads arrive in few syscalls; large payloads bypass it.
const readBufferBytes = 64 << 10

// conn is one client connection. The reader goroutine (serve) owns nc (replaced by its TLS
// layer at NBD_OPT_STARTTLS), br, the negotiation state and the export fields; they are fixed
// before any worker starts. wmu serializes whole replies
// on nc. running counts requests read whose reply has not been written; inflight counts
// validated requests being served and sem bounds them.
type conn struct {
	s  *Server
	nc net.Conn
	// sc is the socket under nc (nil if nc is not a socket); the reader sets its syncReads
	// (see transmit).
	sc  *syncConn
	br  *bufio.Reader
	wmu sync.Mutex
	// scratch holds simple reply headers while wmu is held.
	scratch [simpleReplyBytes]byte
	// wbuf holds replies not yet written and holdTimer flushes them (see write); guarded by
	// wmu.
	wbuf      []byte
	holdTimer *time.Timer

	noZeroes   bool
	tls        bool // the connection was upgraded with NBD_OPT_STARTTLS
	structured bool
	metaAlloc  bool   // base:allocation selected for the export in use
	metaName   string // export name the meta context was set for
	metaSet    bool

	name     string
	exp      Export
	release  func()
	sizeB    int64
	readOnly bool

	inflight sync.WaitGroup
	running  atomic.Int32
	// serviceNs is a moving average of request service times (see transmit); updates may race
	// and lose one sample, which is harmless.
	serviceNs atomic.Int64
	sem       chan struct{}
	work      chan request // requests for idle workers (see dispatch); closed after transmit
	broken    atomic.Bool  // a reply could not be written: the connection is going down
}

// newConn wraps an accepted connection.
func (s *Server) newConn(nc net.Conn) *conn {
	c := &conn{s: s, sem: make(chan struct{}, s.maxInFlight()), work: make(chan request)}
	if c.sc = newSyncConn(nc); c.sc != nil {
		nc = c.sc
	}
	c.nc, c.br = nc, bufio.NewReaderSize(nc, readBufferBytes)
	c.serviceNs.Store(initialServiceNs)
	return c
}

// serve runs the whole life of the connection: negotiation, transmission, then the final
// flush, close and release.
func (c *conn) serve(ctx context.Context) {
	remote := c.nc.RemoteAddr()
	// Deadlines go to the socket, under the TLS layer if any: the same effect, and raw does
	// not change while negotiate may replace nc.
	raw := c.nc
	defer func() { c.nc.Close() }()
	stop := context.AfterFunc(ctx, func() {
		raw.SetReadDeadline(time.Now())
		raw.SetWriteDeadline(time.Now().Add(shutdownReplyGrace))
	})
	defer stop()

	raw.SetDeadline(time.Now().Add(c.s.handshakeTimeout()))
	ok, err := c.negotiate()
	if err != nil {
		c.s.logf("nbd: client %s: negotiation: %v", remote, err)
	}
	if !ok {
		return
	}
	defer c.release()
	raw.SetDeadline(time.Time{})
	if ctx.Err() != nil {
		c.finish(remote)
		return
	}
	c.s.logf("nbd: client %s: export %q open (%d bytes, read-only %v, structured %v, TLS %v)", remote, c.name, c.sizeB, c.readOnly, c.structured, c.tls)
	if err := c.transmit(); err != nil && ctx.Err() == nil {
		c.s.logf("nbd: client %s: export %q: %v", remote, c.name, err)
	}
	c.finish(remote)
}

// finish ends the idle workers, waits for the requests in flight and flushes a writable export.
func (c *conn) finish(remote net.Addr) {
	close(c.work)
	c.inflight.Wait()
	c.flushReplies()
	c.wmu.Lock()
	if c.holdTimer != nil {
		c.holdTimer.Stop()
	}
	c.wmu.Unlock()
	if !c.readOnly {
		if err := c.exp.Flush(); err != nil {
			c.s.logf("nbd: client %s: export %q: flush at disconnect: %v", remote, c.name, err)
		}
	}
	c.s.logf("nbd: client %s: export %q closed", remote, c.name)
}
