package main

import (
	endian "encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
)

// The control socket's wire format: frames of one kind byte, a 4-byte
// big-endian payload length and the payload. A client sends one request
// frame, then answers the server's stdin reads; the server streams the
// command's stdout and stderr and ends with the exit code.
const (
	frameRequest = 'q' // client: JSON controlRequest
	frameStdin   = 'i' // client: stdin bytes answering a read; empty means end of input
	frameStdout  = 'o' // server: stdout bytes
	frameStderr  = 'e' // server: stderr bytes
	frameRead    = 'r' // server: the command reads stdin; 4-byte maximum byte count
	frameExit    = 'x' // server: 4-byte exit code; the last frame
)

// Bounds on what either side accepts, so that a hostile or broken peer
// cannot make the other allocate without limit.
const (
	maxFrameBytes   = 1 << 20  // any frame's payload
	maxChunkBytes   = 64 << 10 // stdin, stdout and stderr data per frame
	maxRequestArgs  = 4096
	frameHeaderSize = 5
)

// controlRequest is one command line sent to the server: its arguments as
// the client got them and the client's working directory, against which
// relative paths (table files, devices in tables) resolve.
type controlRequest struct {
	Args []string `json:"args"`
	Cwd  string   `json:"cwd"`
	// Locale is the client's locale variables (localeVars), so that output
	// that depends on them (ls --tree's characters) is the client's.
	Locale map[string]string `json:"locale,omitempty"`
}

// localeVars are the environment variables a command's output depends on.
var localeVars = []string{"LC_ALL", "LC_CTYPE", "LANG"}

// writeFrame sends one frame; payloads above maxFrameBytes are a caller bug
// and refused.
func writeFrame(w io.Writer, kind byte, payload []byte) error {
	if len(payload) > maxFrameBytes {
		return fmt.Errorf("control frame %q of %d bytes above the limit %d", kind, len(payload), maxFrameBytes)
	}
	buf := make([]byte, frameHeaderSize+len(payload))
	buf[0] = kind
	endian.BigEndian.PutUint32(buf[1:], uint32(len(payload)))
	copy(buf[frameHeaderSize:], payload)
	_, err := w.Write(buf)
	return err
}

// readFrame reads one frame. A length above maxFrameBytes is an error
// before anything is allocated; a stream ending inside a frame gives
// io.ErrUnexpectedEOF, one ending between frames io.EOF.
func readFrame(r io.Reader) (kind byte, payload []byte, err error) {
	var hdr [frameHeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := endian.BigEndian.Uint32(hdr[1:])
	if n > maxFrameBytes {
		return 0, nil, fmt.Errorf("control frame %q announces %d bytes, above the limit %d", hdr[0], n, maxFrameBytes)
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, fmt.Errorf("control frame %q: %w", hdr[0], err)
	}
	return hdr[0], payload, nil
}

// uint32Frame is the payload of a read or exit frame.
func uint32Frame(v uint32) []byte { return endian.BigEndian.AppendUint32(nil, v) }

// parseUint32Frame decodes a read or exit frame's payload.
func parseUint32Frame(kind byte, p []byte) (uint32, error) {
	if len(p) != 4 {
		return 0, fmt.Errorf("control frame %q: %d bytes of payload, want 4", kind, len(p))
	}
	return endian.BigEndian.Uint32(p), nil
}

// decodeRequest reads and checks a request frame's payload: JSON with at
// most maxRequestArgs arguments and an absolute working directory.
func decodeRequest(p []byte) (controlRequest, error) {
	var req controlRequest
	if err := json.Unmarshal(p, &req); err != nil {
		return req, fmt.Errorf("control request: %w", err)
	}
	if len(req.Args) > maxRequestArgs {
		return req, fmt.Errorf("control request: %d arguments, above the limit %d", len(req.Args), maxRequestArgs)
	}
	if !filepath.IsAbs(req.Cwd) {
		return req, fmt.Errorf("control request: working directory %q is not absolute", req.Cwd)
	}
	return req, nil
}
