package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/nbd"
)

// Defaults of `serve`.
const (
	defaultListen = "127.0.0.1:10809"
	commitPeriod  = time.Second // the kernel's periodic commit of thin and clone metadata
)

// server is a running `gdmsetup serve`: it owns the state directory's
// registry, exports its devices over NBD and runs other processes' commands
// sent to its control socket.
//
// mu serialises every control operation on reg: forwarded commands, export
// lookups and opens, the periodic commit and the shutdown. Device I/O from
// NBD clients runs without it.
type server struct {
	mu   sync.Mutex
	reg  *dm.Registry
	klog *klogSwitch
	cwd  string // the server's own working directory, restored after each command
	log  *log.Logger
}

func (s *server) logf(format string, args ...any) { s.log.Printf(format, args...) }

// cmdServe is `serve [--listen ADDR] [--socket PATH] [--export NAME]...
// [--readonly] [--direct] [--tls=off|on|require] [--tls-certificates DIR]
// [--tls-verify-peer]` (see serve_tls.go): it runs in the foreground until SIGINT or SIGTERM, then
// stops accepting, lets NBD clients' requests finish, flushes and commits
// every device, saves the registry and exits 0.
func cmdServe(e *env) error {
	if len(e.args) > 0 {
		return usageError(fmt.Sprintf("serve takes no arguments: %q", e.args[0]))
	}
	if e.opts.has("direct") && os.Getenv("GOMAXPROCS") == "" {
		// O_DIRECT requests block in pread/pwrite for the device's latency:
		// more threads than cores keep queue depth useful (measured: O_DIRECT
		// qd32 reads 0.58x qemu-nbd with 2, 1.31x with 8). Buffered I/O mostly
		// hits the page cache, where extra threads only cost CPU.
		runtime.GOMAXPROCS(4 * runtime.NumCPU())
	}
	ctx, stop := shutdownContext(e.stderr)
	defer stop()
	return serve(ctx, e.opts, e.stderr)
}

// shutdownContext is done at the first SIGINT or SIGTERM; a second one
// ends the process at once.
func shutdownContext(stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig, ok := <-sigs
		if !ok {
			return
		}
		fmt.Fprintf(stderr, "gdmsetup serve: %v: stopping (again to exit at once)\n", sig)
		cancel()
		if _, ok := <-sigs; ok {
			os.Exit(1)
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(sigs)
		cancel()
	}
}

// serve runs the server until ctx is done.
func serve(ctx context.Context, opts options, stderr io.Writer) error {
	tlsPolicy, err := tlsOptions(opts)
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(stateDir(opts))
	if err != nil {
		return err
	}
	if conn, live, err := dialServer(dir); err != nil {
		return err
	} else if live {
		conn.Close()
		return fmt.Errorf("a server already owns %s (its control socket answers)", dir)
	}
	cwd, err := os.Getwd()
	if err != nil {
		return err
	}
	s := &server{klog: &klogSwitch{w: stderr}, cwd: cwd, log: log.New(stderr, "gdmsetup serve: ", log.LstdFlags)}
	if s.reg, err = dm.Open(dir, s.klog); err != nil {
		return err
	}
	if opts.has("direct") {
		s.reg.UseDirectIO()
	}
	// Live tables exist from the start, as in the kernel: a merge or a
	// hydration a killed process left half done goes on now.
	if err := s.reg.ActivateAll(); err != nil {
		s.logf("%v", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		s.reg.Close()
		return fmt.Errorf("state directory %s: %w", dir, err)
	}
	listeners, err := s.listen(dir, opts)
	if err != nil {
		s.reg.Close()
		return err
	}
	exports, err := newDeviceExports(s, manglingOf(opts), opts["export"])
	if err != nil {
		s.reg.Close()
		return err
	}
	srv := &nbd.Server{Exports: exports, ReadOnly: opts.has("readonly"), Logf: s.logf, TLSConfig: tlsPolicy.config, RequireTLS: tlsPolicy.require}
	for _, l := range listeners.nbd {
		s.logf("NBD on %s %s", l.Addr().Network(), l.Addr())
	}
	if tlsPolicy.warning != "" {
		s.logf("%s", tlsPolicy.warning)
	}
	if tlsPolicy.config != nil {
		s.logf("%s", tlsPolicy)
	}
	s.logf("control socket %s", listeners.control.Addr())

	nbdCtx, stopNBD := context.WithCancel(ctx)
	defer stopNBD()
	var nbdDone sync.WaitGroup
	for _, l := range listeners.nbd {
		nbdDone.Go(func() {
			if err := srv.Serve(nbdCtx, l); err != nil {
				s.logf("%v", err)
			}
		})
	}
	// Control commands keep running while NBD clients drain, so that a
	// suspended device holding their requests can still be resumed.
	controlCtx, stopControl := context.WithCancel(context.Background())
	var controlDone sync.WaitGroup
	controlDone.Go(func() { s.serveControl(controlCtx, listeners.control) })
	commitDone := make(chan struct{})
	go func() { defer close(commitDone); s.commitEvery(nbdCtx, commitPeriod) }()

	<-ctx.Done()
	stopNBD()
	nbdDone.Wait()
	<-commitDone
	stopControl()
	controlDone.Wait()
	return s.shutdown()
}

// serverListeners are the sockets a server accepts on.
type serverListeners struct {
	nbd     []net.Listener
	control net.Listener
}

// listen opens the NBD listeners (--listen, --socket; TCP on defaultListen
// when neither is given) and the control socket (mode 0600), replacing a
// stale one: the registry's lock, held now, proves no server owns it.
func (s *server) listen(dir string, opts options) (ls serverListeners, err error) {
	defer func() {
		if err != nil {
			for _, l := range ls.nbd {
				l.Close()
			}
		}
	}()
	addrs := opts["listen"]
	if len(addrs) == 0 && !opts.has("socket") {
		addrs = []string{defaultListen}
	}
	for _, a := range addrs {
		l, err := net.Listen("tcp", a)
		if err != nil {
			return ls, fmt.Errorf("--listen %s: %w", a, err)
		}
		ls.nbd = append(ls.nbd, l)
	}
	for _, p := range opts["socket"] {
		l, err := listenUnix(p, 0o600)
		if err != nil {
			return ls, fmt.Errorf("--socket %s: %w", p, err)
		}
		ls.nbd = append(ls.nbd, l)
	}
	if ls.control, err = listenUnix(filepath.Join(dir, controlSocket), 0o600); err != nil {
		return ls, fmt.Errorf("control socket: %w", err)
	}
	return ls, nil
}

// listenUnix listens on a unix socket at path with the given mode; an old
// socket file there is removed first (not any other kind of file).
func listenUnix(path string, mode os.FileMode) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	}
	old := syscall.Umask(0o177)
	l, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	l.(*net.UnixListener).SetUnlinkOnClose(true)
	if err := os.Chmod(path, mode); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// commitEvery commits stateful targets every period until ctx is done.
func (s *server) commitEvery(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.mu.Lock()
			err := s.reg.Commit()
			s.mu.Unlock()
			if err != nil {
				s.logf("periodic commit: %v", err)
			}
		}
	}
}

// shutdown flushes every running device whose table is built (others saw
// no I/O), commits, and closes the registry (which saves it and lets go of
// the state directory).
func (s *server) shutdown() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, d := range s.reg.Devices() {
		if d.Suspended() {
			continue
		}
		if err := d.Flush(); err != nil && !errors.Is(err, syscall.ENXIO) {
			errs = append(errs, fmt.Errorf("flushing %s: %w", d.Name(), err))
		}
	}
	if err := s.reg.Commit(); err != nil {
		errs = append(errs, err)
	}
	if err := s.reg.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	s.logf("stopped")
	return nil
}
