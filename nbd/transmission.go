package nbd

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pojntfx/go-nbd/pkg/protocol"
)

// zeroBuf is written by WRITE_ZEROES on exports without a ZeroWriter; WriterAt must not modify it.
var zeroBuf = make([]byte, 1<<20)

// Inline service: a request may run on the reader goroutine instead of its own (see transmit).
// serviceNs, the moving average of READ and WRITE service times, starts above both bounds, so
// a connection starts by dispatching.
const (
	// inlineMaxNs bounds serviceNs for running a lone request inline.
	inlineMaxNs = int64(250 * time.Microsecond)
	// batchMaxNs bounds serviceNs for running small requests inline while others wait: a
	// device this fast (page cache, tmpfs) gains nothing from overlapping them.
	batchMaxNs = int64(25 * time.Microsecond)
	// batchMaxBytes is the largest READ or WRITE served inline while others wait.
	batchMaxBytes    = 64 << 10
	initialServiceNs = int64(time.Millisecond)
)

// transmit reads requests until NBD_CMD_DISC, EOF or an error that loses the framing. Each
// valid request is handed to a worker goroutine (within the MaxInFlight slots, see slots),
// except on a connection whose READs and WRITEs have lately been fast:
//   - a request alone in flight, with no other waiting in the read buffer, runs inline when
//     serviceNs < inlineMaxNs, so a client at queue depth 1 pays no goroutine hand-off;
//   - a READ or WRITE (not FUA) of at most batchMaxBytes runs inline when serviceNs < batchMaxNs,
//     whether others wait or not: a deep queue to a memory-speed device is served by one
//     goroutine without wake-ups, and while further requests wait in the read buffer the
//     replies gather in the connection's reply buffer, to leave together before the reader
//     next blocks.
//
// While the client streams WRITE payloads (the last request a WRITE of directReadBytes or
// more), the socket is read with syncConn's waits on this thread (see syncConn).
//
// A request that arrives while an inline one runs waits for it; on a slow device, and on one
// whose requests may wait (Waiter), requests are always dispatched and overlap. Replies go out in completion order.
func (c *conn) transmit() error {
	var hb [requestHeaderBytes]byte
	maxBytes := c.s.maxRequestBytes()
	for {
		if c.br.Buffered() < requestHeaderBytes && c.flushReplies() != nil {
			return nil
		}
		if _, err := io.ReadFull(c.br, hb[:]); err != nil {
			if errors.Is(err, io.EOF) || c.broken.Load() {
				return nil
			}
			return fmt.Errorf("request header: %w", err)
		}
		h, err := decodeRequest(hb[:])
		if err != nil {
			return err
		}
		if h.Type == cmdDisc {
			return nil
		}
		if c.sc != nil {
			c.sc.syncReads = h.Type == cmdWrite && h.Length >= directReadBytes
		}
		errno, msg := checkRequest(&h, c.sizeB, c.readOnly, c.structured, c.metaAlloc, maxBytes)
		c.running.Add(1)
		var buf *ioBuf
		if n := payloadBytes(&h); n > 0 {
			if n > maxBytes {
				c.replyError(&h, errno, msg)
				return fmt.Errorf("write of %d bytes at %d: above the maximum %d, cannot skip the payload", n, h.Offset, maxBytes)
			}
			if c.br.Buffered() < int(n) && c.flushReplies() != nil {
				return nil
			}
			buf = c.s.pool.get(int(n))
			if err := c.readPayload(buf.data(int(n))); err != nil {
				c.s.pool.put(buf)
				return fmt.Errorf("write payload of %d bytes at %d: %w", n, h.Offset, err)
			}
		}
		if errno != 0 {
			c.s.logf("nbd: export %q: request %#x: %s", c.name, h.Handle, msg)
			if buf != nil {
				c.s.pool.put(buf)
			}
			if err := c.replyError(&h, errno, msg); err != nil {
				return err
			}
			continue
		}
		for range c.slots(&h) {
			c.sem <- struct{}{}
		}
		c.inflight.Add(1)
		avg := c.serviceNs.Load()
		waiting := c.br.Buffered() >= requestHeaderBytes
		small := (h.Type == cmdRead || h.Type == cmdWrite && h.CommandFlags&cmdFlagFUA == 0) && h.Length <= batchMaxBytes
		if (small && avg < batchMaxNs || c.running.Load() == 1 && !waiting && avg < inlineMaxNs) && !c.mayWait() {
			c.handle(h, buf, waiting)
			continue
		}
		c.dispatch(request{h, buf})
	}
}

// mayWait reports whether the export's requests may wait far longer than they take (Waiter).
func (c *conn) mayWait() bool {
	w, ok := c.exp.(Waiter)
	return ok && w.MayWait()
}

// inFlightSlotBytes is the READ or WRITE data one of a connection's MaxInFlight slots stands
// for: a request takes a slot per started inFlightSlotBytes (at least one, at most all of
// them), so that a connection has at most MaxInFlight × inFlightSlotBytes of data buffers in
// use at once (4 MiB by default) and large requests do not spread over more memory than the
// CPU caches hold (measured: nbdcopy's 4 × 64 requests of 256 KiB took 1.3× nbdkit's CPU
// with 64 in flight per connection, 1.1× with 16).
const inFlightSlotBytes = 64 << 10

// slots is how many in-flight slots h takes.
func (c *conn) slots(h *protocol.TransmissionRequestHeader) int {
	n := 1
	if h.Type == cmdRead || h.Type == cmdWrite {
		n = int((h.Length + inFlightSlotBytes - 1) / inFlightSlotBytes)
	}
	return min(max(n, 1), cap(c.sem))
}

// directReadBytes is the smallest rest of a WRITE payload read from the socket straight into
// the request's buffer rather than through the read buffer (and a copy out of it).
const directReadBytes = 16 << 10

// readPayload fills p with a WRITE payload: the bytes already in the read buffer, then the
// rest straight from the socket when it is large; a small rest goes through the read buffer,
// which may then also take the next requests in the same system call.
func (c *conn) readPayload(p []byte) error {
	n, _ := c.br.Read(p[:min(len(p), c.br.Buffered())])
	if len(p)-n >= directReadBytes {
		_, err := io.ReadFull(c.nc, p[n:])
		return err
	}
	_, err := io.ReadFull(c.br, p[n:])
	return err
}

// request is a validated request handed to a worker; buf holds a WRITE's payload.
type request struct {
	h   protocol.TransmissionRequestHeader
	buf *ioBuf
}

// dispatch hands r to an idle worker of the connection, or starts a new one. Workers live as
// long as the connection (they end when finish closes c.work), so their stacks, grown once
// on the device's call path, are not grown again for every request.
func (c *conn) dispatch(r request) {
	select {
	case c.work <- r:
	default:
		go c.worker(r)
	}
}

// worker serves r, then every request handed to it until c.work is closed.
func (c *conn) worker(r request) {
	for ok := true; ok; r, ok = <-c.work {
		c.handle(r.h, r.buf, false)
	}
}

// handle runs one validated request and sends its reply; buf holds a WRITE's payload. hold
// lets a successful reply wait in the reply buffer (see conn.write).
func (c *conn) handle(h protocol.TransmissionRequestHeader, buf *ioBuf, hold bool) {
	defer func() {
		for range c.slots(&h) {
			<-c.sem
		}
		c.inflight.Done()
	}()
	if buf != nil {
		defer c.s.pool.put(buf)
	}
	var err error
	fua := h.CommandFlags&cmdFlagFUA != 0 && h.Type != cmdFlush
	switch h.Type {
	case cmdRead:
		c.read(&h, hold)
		return
	case cmdBlockStatus:
		c.blockStatus(&h)
		return
	case cmdWrite:
		start := time.Now()
		var fw FUAWriter
		if fua {
			fw, _ = c.exp.(FUAWriter)
		}
		if fw != nil {
			_, err = fw.WriteFUA(buf.data(int(h.Length)), int64(h.Offset))
			fua = false
		} else {
			_, err = c.exp.WriteAt(buf.data(int(h.Length)), int64(h.Offset))
		}
		c.sample(start)
	case cmdFlush:
		if !c.readOnly {
			err = c.exp.Flush()
		}
	case cmdTrim:
		err = c.exp.Discard(int64(h.Offset), int64(h.Length))
	case cmdWriteZeroes:
		mayTrim := h.CommandFlags&cmdFlagNoHole == 0
		if h.CommandFlags&cmdFlagFastZero != 0 {
			err = c.writeZeroesFast(int64(h.Offset), int64(h.Length), mayTrim)
		} else {
			err = c.writeZeroes(int64(h.Offset), int64(h.Length), mayTrim)
		}
	case cmdCache:
		err = c.cache(int64(h.Offset), int64(h.Length))
	}
	if err == nil && fua {
		err = c.exp.Flush()
	}
	if err != nil {
		if !fastZeroRefused(h.CommandFlags, err) {
			c.s.logf("nbd: export %q: command %d at %d+%d: %v", c.name, h.Type, h.Offset, h.Length, err)
		}
		c.replyError(&h, errnoOf(err), err.Error())
		return
	}
	c.replySimple(&h, 0, hold)
}

// sample adds the service time of a READ or WRITE begun at start to serviceNs. Concurrent
// updates may race and lose a sample, which is harmless.
func (c *conn) sample(start time.Time) {
	old := c.serviceNs.Load()
	c.serviceNs.Store(old + (int64(time.Since(start))-old)/8)
}

// writeZeroes zeroes a range through the export's ZeroWriter, or by writing zero buffers.
func (c *conn) writeZeroes(offBytes, lenBytes int64, mayTrim bool) error {
	if zw, ok := c.exp.(ZeroWriter); ok {
		return zw.WriteZeroes(offBytes, lenBytes, mayTrim)
	}
	for lenBytes > 0 {
		n := min(lenBytes, int64(len(zeroBuf)))
		if _, err := c.exp.WriteAt(zeroBuf[:n], offBytes); err != nil {
			return err
		}
		offBytes, lenBytes = offBytes+n, lenBytes-n
	}
	return nil
}

// read serves NBD_CMD_READ: the data is read into a pooled buffer right behind the room for
// the reply header, and header and data leave in one write.
func (c *conn) read(h *protocol.TransmissionRequestHeader, hold bool) {
	n := int(h.Length)
	buf := c.s.pool.get(n)
	defer c.s.pool.put(buf)
	start := time.Now()
	got, err := c.exp.ReadAt(buf.data(n), int64(h.Offset))
	c.sample(start)
	if got == n {
		err = nil
	} else if err == nil || errors.Is(err, io.EOF) {
		err = fmt.Errorf("short read: %d of %d bytes: %w", got, n, io.ErrUnexpectedEOF)
	}
	if err != nil {
		c.s.logf("nbd: export %q: read at %d+%d: %v", c.name, h.Offset, h.Length, err)
		c.replyError(h, errnoOf(err), err.Error())
		return
	}
	if c.structured {
		c.send(putOffsetData(buf.withHeader(offsetDataHdrBytes, n), h), hold)
		return
	}
	c.send(putSimpleReply(buf.withHeader(simpleReplyBytes, n), h.Handle, 0), hold)
}

// maxExtents bounds the descriptors in one block status reply.
const maxExtents = 1 << 16

// blockStatus serves NBD_CMD_BLOCK_STATUS for base:allocation. Extents are clipped to the
// requested range (so each fits the wire's 32-bit length); REQ_ONE keeps only the first.
func (c *conn) blockStatus(h *protocol.TransmissionRequestHeader) {
	offB, lenB := int64(h.Offset), int64(h.Length)
	exts := []Extent{{LenBytes: lenB}}
	if bs, ok := c.exp.(BlockStatuser); ok {
		var err error
		if exts, err = bs.BlockStatus(offB, lenB); err != nil {
			c.s.logf("nbd: export %q: block status at %d+%d: %v", c.name, offB, lenB, err)
			c.replyError(h, errnoOf(err), err.Error())
			return
		}
	}
	max := maxExtents
	if h.CommandFlags&cmdFlagReqOne != 0 {
		max = 1
	}
	buf := c.s.pool.get(8 * min(len(exts), max))
	defer c.s.pool.put(buf)
	desc := buf.data(8 * min(len(exts), max))[:0]
	var doneB int64
	for _, e := range exts {
		if doneB >= lenB || len(desc) == 8*max {
			break
		}
		if e.LenBytes <= 0 {
			err := fmt.Errorf("block status at %d+%d: export returned an extent of %d bytes", offB, lenB, e.LenBytes)
			c.s.logf("nbd: export %q: %v", c.name, err)
			c.replyError(h, errIO, err.Error())
			return
		}
		l := min(e.LenBytes, lenB-doneB)
		var flags uint32
		if e.Hole {
			flags |= blockStatusHole
		}
		if e.Zero {
			flags |= blockStatusZero
		}
		desc = appendDescriptor(desc, uint32(l), flags)
		doneB += l
	}
	if len(desc) == 0 {
		err := fmt.Errorf("block status at %d+%d: export returned no extents", offB, lenB)
		c.s.logf("nbd: export %q: %v", c.name, err)
		c.replyError(h, errIO, err.Error())
		return
	}
	c.send(putBlockStatus(buf.withHeader(structReplyBytes+4, len(desc)), h.Handle), false)
}
