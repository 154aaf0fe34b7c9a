package nbd

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// syncConnPair is a connected pair of sockets over network ("tcp" on 127.0.0.1 or "unix"):
// the accepted side wrapped in a syncConn, and the dialled side.
func syncConnPair(t *testing.T, network string) (*syncConn, net.Conn) {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(t.TempDir(), "s.sock")
	}
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, err := net.Dial(network, l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	sc := newSyncConn(server)
	if sc == nil {
		t.Fatalf("%s socket: not wrapped", network)
	}
	t.Cleanup(func() { sc.Close(); client.Close() })
	return sc, client
}

// bounded runs f and fails the test if it has not returned within a minute.
func bounded(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("%s: still running after a minute", what)
	}
}

// TestSyncConnCarriesEveryByte streams 8 MiB each way through a syncConn, in pieces of
// assorted sizes with pauses longer than syncWaitMax, so that reads and writes find the socket
// both ready and not, and waits end both in ppoll and on the netpoller.
func TestSyncConnCarriesEveryByte(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			sc, client := syncConnPair(t, network)
			sc.syncReads = true
			data := make([]byte, 8<<20)
			rand.Read(data)

			sent := make(chan error, 1)
			go func() {
				rest := data
				for i := 0; len(rest) > 0; i++ {
					n := min(len(rest), 1+i*7919%(300<<10))
					if _, err := client.Write(rest[:n]); err != nil {
						sent <- err
						return
					}
					rest = rest[n:]
					if i%16 == 0 {
						time.Sleep(time.Millisecond)
					}
				}
				sent <- client.(interface{ CloseWrite() error }).CloseWrite()
			}()
			var got []byte
			bounded(t, "reading", func() {
				buf := make([]byte, 256<<10)
				for {
					n, err := sc.Read(buf)
					got = append(got, buf[:n]...)
					if err == io.EOF {
						return
					}
					if err != nil {
						t.Errorf("read after %d bytes: %v", len(got), err)
						return
					}
					if n == 0 {
						t.Errorf("read after %d bytes: 0 bytes and no error", len(got))
						return
					}
				}
			})
			if err := <-sent; err != nil {
				t.Fatalf("client write: %v", err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("read %d bytes, not the %d sent", len(got), len(data))
			}

			received := make(chan []byte, 1)
			go func() {
				var b bytes.Buffer
				buf := make([]byte, 100<<10)
				for b.Len() < len(data) {
					n, err := client.Read(buf)
					b.Write(buf[:n])
					if err != nil {
						break
					}
					if b.Len()%(1<<20) < n {
						time.Sleep(time.Millisecond)
					}
				}
				received <- b.Bytes()
			}()
			bounded(t, "writing", func() {
				for off := 0; off < len(data); off += 1 << 20 {
					if n, err := sc.Write(data[off : off+1<<20]); n != 1<<20 || err != nil {
						t.Errorf("write at %d: %d bytes, %v", off, n, err)
						return
					}
				}
			})
			select {
			case got := <-received:
				if !bytes.Equal(got, data) {
					t.Fatalf("client read %d bytes, not the %d written", len(got), len(data))
				}
			case <-time.After(time.Minute):
				t.Fatal("the client has not read what was written after a minute")
			}
		})
	}
}

// TestSyncConnDeadlineAndClose: a read waiting on an idle socket ends at its deadline, and at
// a Close from another goroutine; a write to a closed peer fails.
func TestSyncConnDeadlineAndClose(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			sc, _ := syncConnPair(t, network)
			sc.syncReads = true
			buf := make([]byte, 4096)
			sc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			bounded(t, "read with a deadline", func() {
				if n, err := sc.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("read past the deadline: %d bytes, %v; want a deadline error", n, err)
				}
			})
			sc.SetReadDeadline(time.Time{})
			go func() {
				time.Sleep(20 * time.Millisecond)
				sc.Close()
			}()
			bounded(t, "read across Close", func() {
				if n, err := sc.Read(buf); !errors.Is(err, net.ErrClosed) {
					t.Errorf("read across Close: %d bytes, %v; want net.ErrClosed", n, err)
				}
			})

			sc2, client2 := syncConnPair(t, network)
			client2.Close()
			bounded(t, "write to a closed peer", func() {
				var err error
				for i := 0; i < 64 && err == nil; i++ {
					_, err = sc2.Write(make([]byte, 1<<20))
				}
				if err == nil {
					t.Error("64 MiB written to a closed peer without an error")
				}
			})
		})
	}
}
