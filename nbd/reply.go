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

// replySimple sends a simple reply without data; the header is built in c.scratch under wmu.
func (c *conn) replySimple(h *protocol.TransmissionRequestHeader, errno uint32) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.write(putSimpleReply(c.scratch[:simpleReplyBytes], h.Handle, errno))
}

// replyError sends an error for h: a structured error chunk (with msg) for the commands that
// must get structured replies once they are negotiated, a simple reply otherwise.
func (c *conn) replyError(h *protocol.TransmissionRequestHeader, errno uint32, msg string) error {
	if !c.structured || (h.Type != cmdRead && h.Type != cmdBlockStatus) {
		return c.replySimple(h, errno)
	}
	msg = msg[:min(len(msg), maxErrorMessageBytes)]
	b := make([]byte, structReplyBytes+6, structReplyBytes+6+len(msg))
	putChunkHeader(b, chunkFlagDone, chunkError, h.Handle, 6+len(msg))
	binary.BigEndian.PutUint32(b[structReplyBytes:], errno)
	binary.BigEndian.PutUint16(b[structReplyBytes+4:], uint16(len(msg)))
	return c.send(append(b, msg...))
}

// send writes one complete reply under wmu.
func (c *conn) send(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.write(b)
}

// write writes the reply b; wmu must be held. The request stops counting as running just
// before its reply leaves, so that the client's next request, sent when it sees this reply,
// finds the connection idle. After a failed write the connection is marked broken and the
// reader is woken so that the connection ends.
func (c *conn) write(b []byte) error {
	c.running.Add(-1)
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
