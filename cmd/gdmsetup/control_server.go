package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/targets"
)

// requestTimeout bounds how long a connected control client may take to
// send its command line.
const requestTimeout = 10 * time.Second

// serveControl answers control clients on l until ctx is done, then waits
// for the commands under way.
func (s *server) serveControl(ctx context.Context, l net.Listener) {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := l.Accept()
		if err != nil {
			if ctx.Err() == nil {
				s.logf("control socket: %v", err)
			}
			return
		}
		wg.Go(func() {
			defer conn.Close()
			if err := s.handleControl(ctx, conn); err != nil {
				s.logf("control client: %v", err)
			}
		})
	}
}

// handleControl runs one client's command line and sends its exit code.
func (s *server) handleControl(ctx context.Context, conn net.Conn) error {
	conn.SetReadDeadline(time.Now().Add(requestTimeout))
	kind, p, err := readFrame(conn)
	if err != nil {
		return err
	}
	conn.SetReadDeadline(time.Time{})
	if kind != frameRequest {
		return fmt.Errorf("first frame %q is not a request", kind)
	}
	req, err := decodeRequest(p)
	if err != nil {
		return err
	}
	var wmu sync.Mutex
	stdout := &frameWriter{conn: conn, kind: frameStdout, mu: &wmu}
	stderr := &frameWriter{conn: conn, kind: frameStderr, mu: &wmu}
	stdin := &frameReader{conn: conn, mu: &wmu}
	code := s.run(ctx, req, stdin, stdout, stderr, func() bool { return clientGone(conn) })
	wmu.Lock()
	defer wmu.Unlock()
	return writeFrame(conn, frameExit, uint32Frame(uint32(int32(code))))
}

// run runs a forwarded command line against the registry, holding the
// control lock, in the client's working directory and locale, with kernel
// log lines going to the client's stderr, and saves the registry. wait holds
// the lock only between slices, and a command that pauses (a repeated stats
// report) lets it go while it pauses. gone reports that the client hung up
// (checked between wait slices and while pausing).
func (s *server) run(ctx context.Context, req controlRequest, stdin io.Reader, stdout, stderr io.Writer, gone func() bool) int {
	name, _ := firstCommand(req.Args)
	c, ok := commands[name]
	if ok && !c.forwarded(name) {
		fmt.Fprintf(stderr, "gdmsetup: %s does not run on the server\n", name)
		return 1
	}
	if name == "wait" {
		return s.wait(ctx, req.Args, stderr, gone)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	leave, err := s.enter(req, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "gdmsetup: %v\n", err)
		return 1
	}
	pause := func(d time.Duration) error {
		leave()
		s.mu.Unlock()
		err := sleepUnless(ctx, d, gone)
		s.mu.Lock()
		var entryErr error
		leave, entryErr = s.enter(req, stderr)
		return cmp.Or(err, entryErr)
	}
	code := runWith(s.reg, pause, req.Args, stdin, stdout, stderr)
	leave()
	// what the command changed outlives a crash of the server, as a local
	// command's change does
	if err := s.reg.Save(); err != nil {
		fmt.Fprintf(stderr, "gdmsetup: %v\n", err)
		code = 1
	}
	return code
}

// enter puts the server's process in a client's working directory and
// locale, with kernel log lines going to the client's stderr, under the
// control lock; leave puts it back.
func (s *server) enter(req controlRequest, stderr io.Writer) (leave func(), err error) {
	if err := os.Chdir(req.Cwd); err != nil {
		return func() {}, fmt.Errorf("working directory: %w", err)
	}
	var undo []func()
	for _, v := range localeVars {
		own, had := os.LookupEnv(v)
		os.Setenv(v, req.Locale[v])
		if had {
			undo = append(undo, func() { os.Setenv(v, own) })
		} else {
			undo = append(undo, func() { os.Unsetenv(v) })
		}
	}
	s.klog.set(stderr)
	return func() {
		s.klog.set(os.Stderr)
		for _, u := range undo {
			u()
		}
		os.Chdir(s.cwd)
	}, nil
}

// sleepUnless sleeps d, in slices of at most waitSlice, and stops early
// with an error when ctx ends (the server is stopping) or gone reports the
// client hung up.
func sleepUnless(ctx context.Context, d time.Duration, gone func() bool) error {
	end := time.Now().Add(d)
	for left := time.Until(end); left > 0; left = time.Until(end) {
		select {
		case <-ctx.Done():
			return errors.New("the server is stopping")
		case <-time.After(min(left, waitSlice)):
		}
		if gone() {
			return errors.New("the client hung up")
		}
	}
	return nil
}

// wait is `wait NAME [EVENT_NR]` on the server: it takes the control lock
// to find and prepare the device, then waits for its event without it, one
// slice at a time, so that other commands run meanwhile.
func (s *server) wait(ctx context.Context, args []string, stderr io.Writer, gone func() bool) int {
	_, rest := firstCommand(args)
	_, pos, err := parseOptions(rest)
	if err != nil {
		return report(stderr, err)
	}
	if len(pos) == 0 {
		return report(stderr, usageError("Please specify device."))
	}
	var want uint64
	if len(pos) > 1 {
		n, ok := targets.ParseUint(pos[1], 32)
		if !ok {
			return report(stderr, usageError("Invalid event number."))
		}
		want = n
	}
	for {
		d, err := s.prepared(pos[0])
		if err != nil {
			return report(stderr, err)
		}
		if d.WaitEvent(uint32(want), waitSlice) {
			return 0
		}
		if ctx.Err() != nil {
			return report(stderr, errors.New("the server is stopping"))
		}
		if gone() {
			return 1
		}
	}
}

// prepared finds a device and builds its live table (so that its targets
// run), under the control lock.
func (s *server) prepared(name string) (*dm.Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.reg.Lookup(name)
	if !ok {
		return nil, &dm.IoctlError{Op: "waitevent", Name: name, Errno: enxio}
	}
	if err := d.Prepare(); err != nil && d.Info().Live {
		return nil, err
	}
	return d, nil
}

// clientGone reports whether a control client that should be silent (its
// command is waiting) has closed its end or sent something out of turn.
func clientGone(conn net.Conn) bool {
	conn.SetReadDeadline(time.Now().Add(time.Millisecond))
	defer conn.SetReadDeadline(time.Time{})
	var b [1]byte
	_, err := conn.Read(b[:])
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// frameWriter sends what a command writes as frames of one kind; mu
// serialises the frames of one connection.
type frameWriter struct {
	conn net.Conn
	kind byte
	mu   *sync.Mutex
}

func (w *frameWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for done := 0; done < len(p); {
		n := min(len(p)-done, maxChunkBytes)
		if err := writeFrame(w.conn, w.kind, p[done:done+n]); err != nil {
			return done, err
		}
		done += n
	}
	return len(p), nil
}

// frameReader reads the client's stdin: each Read asks for bytes and waits
// for the answer; an empty answer is the end of input.
type frameReader struct {
	conn net.Conn
	mu   *sync.Mutex
	eof  bool
}

func (r *frameReader) Read(p []byte) (int, error) {
	if r.eof {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	r.mu.Lock()
	err := writeFrame(r.conn, frameRead, uint32Frame(uint32(min(len(p), maxChunkBytes))))
	r.mu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("asking the client for stdin: %w", err)
	}
	kind, data, err := readFrame(r.conn)
	if err != nil {
		return 0, fmt.Errorf("reading the client's stdin: %w", err)
	}
	if kind != frameStdin || len(data) > len(p) {
		return 0, fmt.Errorf("client answered a stdin read with frame %q of %d bytes", kind, len(data))
	}
	if len(data) == 0 {
		r.eof = true
		return 0, io.EOF
	}
	return copy(p, data), nil
}

// klogSwitch is the registry's kernel log: the running command's stderr
// while one runs (as when the command opens the registry itself), else
// the server's. mu protects w.
type klogSwitch struct {
	mu sync.Mutex
	w  io.Writer
}

func (k *klogSwitch) set(w io.Writer) {
	k.mu.Lock()
	k.w = w
	k.mu.Unlock()
}

func (k *klogSwitch) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.w.Write(p)
}
