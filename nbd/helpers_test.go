package nbd

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// needBin skips the test when a peer binary is missing, unless CI=true.
func needBin(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not installed (CI=true)", n)
			}
			t.Skipf("%s not installed", n)
		}
	}
}

// runCmd runs a client command bounded to 60 s and returns its combined output.
func runCmd(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// tempFile creates a file of sizeB bytes (sparse, or random if random is set).
func tempFile(t *testing.T, sizeB int64, random bool) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "disk.img")
	if random {
		b := make([]byte, sizeB)
		rand.Read(b)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := writeSparse(p, sizeB); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeSparse creates path as a sparse file of sizeB bytes.
func writeSparse(path string, sizeB int64) error {
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		return err
	}
	return os.Truncate(path, sizeB)
}

// countingExport wraps a FileExport and counts what reaches it.
type countingExport struct {
	*FileExport
	readBytes, discards, flushes, blockStatuses atomic.Int64
}

func (e *countingExport) ReadAt(p []byte, offBytes int64) (int, error) {
	e.readBytes.Add(int64(len(p)))
	return e.FileExport.ReadAt(p, offBytes)
}
func (e *countingExport) Discard(offBytes, lenBytes int64) error {
	e.discards.Add(1)
	return e.FileExport.Discard(offBytes, lenBytes)
}
func (e *countingExport) Flush() error { e.flushes.Add(1); return e.FileExport.Flush() }
func (e *countingExport) BlockStatus(offBytes, lenBytes int64) ([]Extent, error) {
	e.blockStatuses.Add(1)
	return e.FileExport.BlockStatus(offBytes, lenBytes)
}

// openCounting opens path as a counting export closed at the end of the test.
func openCounting(t *testing.T, path string, readOnly bool) *countingExport {
	t.Helper()
	fe, err := OpenFileExport(path, readOnly, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fe.Close() })
	return &countingExport{FileExport: fe}
}

// testServer is a Server running on one listener for at most 2 minutes; it stops at cleanup.
type testServer struct {
	srv    *Server
	uri    string
	addr   string
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// startServer serves exps on network ("tcp" on 127.0.0.1 or "unix").
func startServer(t *testing.T, network string, srv *Server) *testServer {
	t.Helper()
	var l net.Listener
	var err error
	ts := &testServer{srv: srv, done: make(chan error, 1)}
	if network == "unix" {
		sock := filepath.Join(t.TempDir(), "nbd.sock")
		l, err = net.Listen("unix", sock)
		ts.uri = "nbd+unix:///?socket=" + sock
		ts.addr = sock
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
		if err == nil {
			ts.addr = l.Addr().String()
			ts.uri = "nbd://" + ts.addr
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if srv.Logf == nil {
		srv.Logf = t.Logf
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	ts.cancel = cancel
	go func() { ts.done <- srv.Serve(ctx, l) }()
	t.Cleanup(func() { ts.stop(t) })
	return ts
}

// stop cancels the server and waits (bounded) for Serve to return.
func (ts *testServer) stop(t *testing.T) {
	ts.once.Do(func() {
		ts.cancel()
		select {
		case err := <-ts.done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Serve did not return 10 s after cancel")
		}
	})
}

var networks = []string{"tcp", "unix"}
