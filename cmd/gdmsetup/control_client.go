package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
)

// controlSocket is the server's control socket in the state directory.
const controlSocket = "control.sock"

// forwarded reports whether a command touches the state directory, and so
// goes to a running server instead (the others never open it).
func (c command) forwarded(name string) bool { return c.needsRegistry || name == "wait" }

// dialServer connects to the control socket of the server owning dir. ok is
// false when no server listens there: no socket, or a stale one left by a
// killed server (the next server removes it).
func dialServer(dir string) (conn net.Conn, ok bool, err error) {
	c, err := net.Dial("unix", filepath.Join(dir, controlSocket))
	if err == nil {
		return c, true, nil
	}
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOTDIR) {
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("control socket of %s: %w", dir, err)
}

// forward runs a command line on the server owning dir, if one runs: the
// server reads stdin through this process and its stdout, stderr and exit
// code come back as if the command had run here. ok is false when no server
// runs (the caller then runs the command itself).
func forward(dir string, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int, ok bool) {
	conn, ok, err := dialServer(dir)
	if err != nil {
		fmt.Fprintf(stderr, "gdmsetup: %v\n", err)
		return 1, true
	}
	if !ok {
		return 0, false
	}
	defer conn.Close()
	if err := forwardOn(conn, args, stdin, stdout, stderr, &code); err != nil {
		fmt.Fprintf(stderr, "gdmsetup: server at %s: %v\n", dir, err)
		return 1, true
	}
	return code, true
}

// forwardOn sends the request on conn and serves the server's frames until
// the exit frame, which sets *code.
func forwardOn(conn net.Conn, args []string, stdin io.Reader, stdout, stderr io.Writer, code *int) error {
	cwd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("working directory: %w", err)
	}
	locale := map[string]string{}
	for _, v := range localeVars {
		locale[v] = os.Getenv(v)
	}
	req, err := json.Marshal(controlRequest{Args: args, Cwd: cwd, Locale: locale})
	if err != nil {
		return err
	}
	if err := writeFrame(conn, frameRequest, req); err != nil {
		return fmt.Errorf("sending the command: %w", err)
	}
	stdinDone := false
	for {
		kind, p, err := readFrame(conn)
		if err != nil {
			return fmt.Errorf("reading its answer: %w", err)
		}
		switch kind {
		case frameStdout:
			stdout.Write(p)
		case frameStderr:
			stderr.Write(p)
		case frameRead:
			n, err := parseUint32Frame(kind, p)
			if err != nil {
				return err
			}
			var data []byte
			if !stdinDone {
				buf := make([]byte, max(1, min(int(n), maxChunkBytes)))
				k, rerr := readSome(stdin, buf)
				data = buf[:k]
				stdinDone = k == 0 && rerr != nil
			}
			if err := writeFrame(conn, frameStdin, data); err != nil {
				return fmt.Errorf("sending stdin: %w", err)
			}
		case frameExit:
			n, err := parseUint32Frame(kind, p)
			if err != nil {
				return err
			}
			*code = int(int32(n))
			return nil
		default:
			return fmt.Errorf("unexpected control frame %q", kind)
		}
	}
}

// readSome reads at least one byte unless r fails or ends (a Read giving
// nothing and no error is retried).
func readSome(r io.Reader, p []byte) (int, error) {
	for {
		n, err := r.Read(p)
		if n > 0 || err != nil {
			return n, err
		}
	}
}
