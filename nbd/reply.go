package nbd

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/pojntfx/go-nbd/pkg/protocol"
)

// maxErrorMessageBytes bounds the message carried by a structured error chunk.
const maxErrorMessageBytes = 1024

// putSimpleReply fills the first 16 bytes of b with a simple reply header and returns b.
func putSimpleReply(b []byte, handle uint64, errno uint32) []byte {
	binary.BigEndian.PutUint32(b[0:], magicSimpleReply)
	binary.BigEndian.PutUint32(b[4:], errno)
	binary.BigEndian.PutUint64(b[8:], handle)
	return b
}

// putChunkHeader fills the first 20 bytes of b with a structured reply chunk header for a
// payload of payloadBytes and returns b.
func putChunkHeader(b []byte, flags, typ uint16, handle uint64, payloadBytes int) []byte {
	binary.BigEndian.PutUint32(b[0:], magicStructReply)
	binary.BigEndian.PutUint16(b[4:], flags)
	binary.BigEndian.PutUint16(b[6:], typ)
	binary.BigEndian.PutUint64(b[8:], handle)
	binary.BigEndian.PutUint32(b[16:], uint32(payloadBytes))
	return b
}

// putOffsetData fills the header room of b (offsetDataHdrBytes, then the data) with a final
// NBD_REPLY_TYPE_OFFSET_DATA chunk for h.
func putOffsetData(b []byte, h *protocol.TransmissionRequestHeader) []byte {
	putChunkHeader(b, chunkFlagDone, chunkOffsetData, h.Handle, len(b)-structReplyBytes)
	binary.BigEndian.PutUint64(b[structReplyBytes:], h.Offset)
	return b
}

// putBlockStatus fills the header room of b (structReplyBytes+4, then the descriptors) with a
// final NBD_REPLY_TYPE_BLOCK_STATUS chunk for base:allocation.
func putBlockStatus(b []byte, handle uint64) []byte {
	putChunkHeader(b, chunkFlagDone, chunkBlockStatus, handle, len(b)-structReplyBytes)
	binary.BigEndian.PutUint32(b[structReplyBytes:], metaContextIDAlloc)
	return b
}

// appendDescriptor appends one block status descriptor.
func appendDescriptor(b []byte, lenBytes, flags uint32) []byte {
	b = binary.BigEndian.AppendUint32(b, lenBytes)
	return binary.BigEndian.AppendUint32(b, flags)
}

// replySimple sends a simple reply without data (hold: see write); the header is built in
// c.scratch under wmu.
func (c *conn) replySimple(h *protocol.TransmissionRequestHeader, errno uint32, hold bool) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.write(putSimpleReply(c.scratch[:simpleReplyBytes], h.Handle, errno), hold)
}

// replyError sends an error for h: a structured error chunk (with msg) for the commands that
// must get structured replies once they are negotiated, a simple reply otherwise.
func (c *conn) replyError(h *protocol.TransmissionRequestHeader, errno uint32, msg string) error {
	if !c.structured || (h.Type != cmdRead && h.Type != cmdBlockStatus) {
		return c.replySimple(h, errno, false)
	}
	msg = msg[:min(len(msg), maxErrorMessageBytes)]
	b := make([]byte, structReplyBytes+6, structReplyBytes+6+len(msg))
	putChunkHeader(b, chunkFlagDone, chunkError, h.Handle, 6+len(msg))
	binary.BigEndian.PutUint32(b[structReplyBytes:], errno)
	binary.BigEndian.PutUint16(b[structReplyBytes+4:], uint16(len(msg)))
	return c.send(append(b, msg...), false)
}

// send writes one complete reply under wmu (hold: see write).
func (c *conn) send(b []byte, hold bool) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.write(b, hold)
}

// replyBufferBytes is the size of a connection's reply buffer; replyHoldMax bounds how long a
// reply stays in it (the reader flushes it sooner, unless a request holds it: a suspended
// device).
const (
	replyBufferBytes = 64 << 10
	replyHoldMax     = time.Millisecond
)

// write writes the reply b; wmu must be held. With hold, b is only appended to the reply
// buffer when it fits (the reader, which alone holds replies, flushes before it next blocks,
// and a timer at the latest replyHoldMax after the first held reply); otherwise b leaves now,
// after the buffered replies, in one write when they fit together.
// The request stops counting as running just before its reply is written or buffered, so
// that the client's next request, sent when it sees this reply, finds the connection idle.
// After a failed write the connection is marked broken and the reader is woken so that the
// connection ends.
func (c *conn) write(b []byte, hold bool) error {
	c.running.Add(-1)
	if c.broken.Load() {
		return errBroken
	}
	if len(c.wbuf)+len(b) <= replyBufferBytes && (hold || len(c.wbuf) > 0) {
		if c.wbuf == nil {
			c.wbuf = make([]byte, 0, replyBufferBytes)
			c.holdTimer = time.AfterFunc(replyHoldMax, func() { c.flushReplies() })
			c.holdTimer.Stop()
		}
		if hold && len(c.wbuf) == 0 {
			c.holdTimer.Reset(replyHoldMax)
		}
		c.wbuf = append(c.wbuf, b...)
		if hold {
			return nil
		}
		return c.writeBuffered()
	}
	if err := c.writeBuffered(); err != nil {
		return err
	}
	return c.writeOut(b)
}

// flushReplies writes the replies held in the reply buffer.
func (c *conn) flushReplies() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeBuffered()
}

// writeBuffered writes and empties the reply buffer; wmu must be held.
func (c *conn) writeBuffered() error {
	if len(c.wbuf) == 0 {
		return nil
	}
	err := c.writeOut(c.wbuf)
	c.wbuf = c.wbuf[:0]
	return err
}

// writeOut writes b to the client; wmu must be held.
func (c *conn) writeOut(b []byte) error {
	if c.broken.Load() {
		return errBroken
	}
	if _, err := c.nc.Write(b); err != nil {
		c.broken.Store(true)
		c.nc.SetReadDeadline(time.Now())
		return fmt.Errorf("reply: %w", err)
	}
	return nil
}
