package nbd

import (
	"encoding/binary"
	"fmt"

	"github.com/pojntfx/go-nbd/pkg/protocol"
)

// decodeRequest parses one 28-byte transmission request header. It checks only the magic:
// the command, flags and range are validated against the export by checkRequest, so that a
// well-framed but wrong request gets an error reply instead of a disconnect.
func decodeRequest(b []byte) (protocol.TransmissionRequestHeader, error) {
	var h protocol.TransmissionRequestHeader
	if len(b) < requestHeaderBytes {
		return h, fmt.Errorf("request header: %d bytes, want %d", len(b), requestHeaderBytes)
	}
	h.RequestMagic = binary.BigEndian.Uint32(b[0:])
	h.CommandFlags = binary.BigEndian.Uint16(b[4:])
	h.Type = binary.BigEndian.Uint16(b[6:])
	h.Handle = binary.BigEndian.Uint64(b[8:])
	h.Offset = binary.BigEndian.Uint64(b[16:])
	h.Length = binary.BigEndian.Uint32(b[24:])
	if h.RequestMagic != magicRequest {
		return h, fmt.Errorf("request header: bad magic %#x, want %#x", h.RequestMagic, magicRequest)
	}
	return h, nil
}

// payloadBytes is how many bytes follow the header of h on the wire: only WRITE has a payload
// (NBD_CMD_TRIM, WRITE_ZEROES, CACHE and BLOCK_STATUS carry a length but no data).
func payloadBytes(h *protocol.TransmissionRequestHeader) uint32 {
	if h.Type == cmdWrite {
		return h.Length
	}
	return 0
}

// allowedFlags lists, per command, the command flags the server accepts. FAST_ZERO goes with
// WRITE_ZEROES on a writable export, where transmissionFlags advertises NBD_FLAG_SEND_FAST_ZERO;
// anywhere else it is an unknown flag (EINVAL), as the protocol asks.
func allowedFlags(cmd uint16, structured, readOnly bool) (uint16, bool) {
	switch cmd {
	case cmdRead:
		if structured {
			return cmdFlagDF, true
		}
		return 0, true
	case cmdWrite, cmdTrim, cmdFlush:
		return cmdFlagFUA, true
	case cmdWriteZeroes:
		if readOnly {
			return cmdFlagFUA | cmdFlagNoHole, true
		}
		return cmdFlagFUA | cmdFlagNoHole | cmdFlagFastZero, true
	case cmdCache:
		return 0, true
	case cmdBlockStatus:
		return cmdFlagReqOne, true
	case cmdDisc:
		return 0, true
	}
	return 0, false
}

// checkRequest validates a decoded request against an export of sizeBytes, returning the NBD
// error number to reply with (0 if the request is acceptable) and a description for the log.
func checkRequest(h *protocol.TransmissionRequestHeader, sizeBytes int64, readOnly, structured, metaAlloc bool, maxBytes uint32) (uint32, string) {
	allowed, known := allowedFlags(h.Type, structured, readOnly)
	if !known {
		return errInval, fmt.Sprintf("unknown or unsupported command %d", h.Type)
	}
	if h.CommandFlags&^allowed != 0 {
		return errInval, fmt.Sprintf("command %d: unsupported flags %#x", h.Type, h.CommandFlags&^allowed)
	}
	switch h.Type {
	case cmdDisc, cmdFlush:
		if h.Offset != 0 || h.Length != 0 {
			return errInval, fmt.Sprintf("command %d: offset %d length %d, want 0 0", h.Type, h.Offset, h.Length)
		}
		return 0, ""
	case cmdBlockStatus:
		if !metaAlloc {
			return errInval, "block status without a negotiated base:allocation context"
		}
	}
	if h.Length == 0 {
		return errInval, fmt.Sprintf("command %d: zero length", h.Type)
	}
	if h.Length > maxBytes && (h.Type == cmdRead || h.Type == cmdWrite) {
		return errOverflow, fmt.Sprintf("command %d: length %d above the maximum %d", h.Type, h.Length, maxBytes)
	}
	if readOnly && (h.Type == cmdWrite || h.Type == cmdTrim || h.Type == cmdWriteZeroes) {
		return errPerm, fmt.Sprintf("command %d on a read-only export", h.Type)
	}
	end := h.Offset + uint64(h.Length)
	if h.Offset > uint64(sizeBytes) || end > uint64(sizeBytes) {
		if h.Type == cmdWrite || h.Type == cmdWriteZeroes {
			return errNoSpc, fmt.Sprintf("command %d: range %d+%d past the end %d", h.Type, h.Offset, h.Length, sizeBytes)
		}
		return errInval, fmt.Sprintf("command %d: range %d+%d past the end %d", h.Type, h.Offset, h.Length, sizeBytes)
	}
	return 0, ""
}
