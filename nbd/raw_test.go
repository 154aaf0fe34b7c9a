package nbd

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/internal/tlstest"
)

// rawClient speaks NBD byte by byte, to send what real clients never would.
type rawClient struct {
	t *testing.T
	c net.Conn
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	var hello [18]byte
	if _, err := io.ReadFull(c, hello[:]); err != nil {
		t.Fatalf("greeting: %v", err)
	}
	if binary.BigEndian.Uint64(hello[0:]) != magicNBD || binary.BigEndian.Uint64(hello[8:]) != magicOption {
		t.Fatalf("greeting: bad magic %x", hello)
	}
	return &rawClient{t: t, c: c}
}

func (r *rawClient) send(b []byte) {
	r.t.Helper()
	if _, err := r.c.Write(b); err != nil {
		r.t.Fatalf("send: %v", err)
	}
}

// closeWrite ends what the client sends (with a TLS close_notify inside TLS).
func (r *rawClient) closeWrite() {
	if err := r.c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		r.t.Fatalf("close write: %v", err)
	}
}

func (r *rawClient) clientFlags(f uint32) { r.send(binary.BigEndian.AppendUint32(nil, f)) }

func (r *rawClient) option(id uint32, data []byte) {
	b := binary.BigEndian.AppendUint64(nil, magicOption)
	b = binary.BigEndian.AppendUint32(b, id)
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	r.send(append(b, data...))
}

// optReply reads one option reply and returns its type and data.
func (r *rawClient) optReply(wantOpt uint32) (uint32, []byte) {
	r.t.Helper()
	var h [20]byte
	if _, err := io.ReadFull(r.c, h[:]); err != nil {
		r.t.Fatalf("option %d reply: %v", wantOpt, err)
	}
	if binary.BigEndian.Uint64(h[0:]) != magicOptionReply || binary.BigEndian.Uint32(h[8:]) != wantOpt {
		r.t.Fatalf("option reply header %x, want option %d", h, wantOpt)
	}
	data := make([]byte, binary.BigEndian.Uint32(h[16:]))
	if _, err := io.ReadFull(r.c, data); err != nil {
		r.t.Fatalf("option %d reply data: %v", wantOpt, err)
	}
	return binary.BigEndian.Uint32(h[12:]), data
}

func goData(name string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(name)))
	b = append(b, name...)
	return binary.BigEndian.AppendUint16(b, 0)
}

// goExport negotiates NBD_OPT_GO for name and returns size and transmission flags.
func (r *rawClient) goExport(name string) (int64, uint16) {
	r.t.Helper()
	r.option(optGo, goData(name))
	var sizeB int64
	var flags uint16
	for {
		typ, data := r.optReply(optGo)
		switch typ {
		case repAck:
			return sizeB, flags
		case repInfo:
			if binary.BigEndian.Uint16(data) == infoExport {
				sizeB = int64(binary.BigEndian.Uint64(data[2:]))
				flags = binary.BigEndian.Uint16(data[10:])
			}
		default:
			r.t.Fatalf("NBD_OPT_GO %q: reply type %#x %q", name, typ, data)
		}
	}
}

func (r *rawClient) request(flags, typ uint16, handle, offB uint64, lenB uint32, payload []byte) {
	b := binary.BigEndian.AppendUint32(nil, magicRequest)
	b = binary.BigEndian.AppendUint16(b, flags)
	b = binary.BigEndian.AppendUint16(b, typ)
	b = binary.BigEndian.AppendUint64(b, handle)
	b = binary.BigEndian.AppendUint64(b, offB)
	b = binary.BigEndian.AppendUint32(b, lenB)
	r.send(append(b, payload...))
}

// reply reads one simple reply; dataB is the data expected on success.
func (r *rawClient) reply(dataB int) (errno uint32, handle uint64, data []byte) {
	r.t.Helper()
	var h [16]byte
	if _, err := io.ReadFull(r.c, h[:]); err != nil {
		r.t.Fatalf("reply: %v", err)
	}
	if binary.BigEndian.Uint32(h[0:]) != magicSimpleReply {
		r.t.Fatalf("reply: bad magic %x", h)
	}
	errno, handle = binary.BigEndian.Uint32(h[4:]), binary.BigEndian.Uint64(h[8:])
	if errno == 0 && dataB > 0 {
		data = make([]byte, dataB)
		if _, err := io.ReadFull(r.c, data); err != nil {
			r.t.Fatalf("reply data: %v", err)
		}
	}
	return errno, handle, data
}

// expectErrno sends one request and checks its error.
func (r *rawClient) expectErrno(want uint32, flags, typ uint16, offB uint64, lenB uint32, payload []byte) {
	r.t.Helper()
	r.request(flags, typ, 0xabc, offB, lenB, payload)
	errno, handle, _ := r.reply(0)
	if errno != want || handle != 0xabc {
		r.t.Errorf("command %d flags %#x %d+%d: errno %d handle %#x, want %d", typ, flags, offB, lenB, errno, handle, want)
	}
}

// expectAlive checks with a 4 KiB read that the connection still serves.
func (r *rawClient) expectAlive() {
	r.t.Helper()
	r.request(0, cmdRead, 77, 0, 4096, nil)
	if errno, handle, _ := r.reply(4096); errno != 0 || handle != 77 {
		r.t.Fatalf("follow-up read: errno %d handle %d", errno, handle)
	}
}

// expectClosed checks that the server closes the connection.
func (r *rawClient) expectClosed() {
	r.t.Helper()
	r.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(r.c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		r.t.Fatalf("server did not close the connection (got %x)", b)
	}
}

// rawServer serves a read-write export "rw" and a read-only "ro" on TCP; with cfg, clients
// must upgrade to TLS.
func rawServer(t *testing.T, cfg *tls.Config) (*testServer, *countingExport) {
	e := openCounting(t, tempFile(t, 1<<20, false), false)
	ro := openCounting(t, tempFile(t, 1<<20, false), true)
	return startServer(t, "tcp", &Server{Exports: StaticExports{"rw": e, "ro": ro}, TLSConfig: cfg, RequireTLS: cfg != nil}), e
}

// TestMalformedNegotiation: hostile option traffic gets an error reply or a clean disconnect,
// and the server keeps serving others.
func TestMalformedNegotiation(t *testing.T) {
	ts, _ := rawServer(t, nil)
	cases := []struct {
		name string
		run  func(r *rawClient)
	}{
		{"bad client flags", func(r *rawClient) { r.clientFlags(0xff00); r.expectClosed() }},
		{"bad option magic", func(r *rawClient) {
			r.clientFlags(1)
			r.send(make([]byte, 16))
			r.expectClosed()
		}},
		{"huge option length", func(r *rawClient) {
			r.clientFlags(1)
			b := binary.BigEndian.AppendUint64(nil, magicOption)
			r.send(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(b, optGo), 0xffffffff))
			if typ, _ := r.optReply(optGo); typ != repErrTooBig {
				t.Errorf("reply %#x, want ERR_TOO_BIG", typ)
			}
			r.expectClosed()
		}},
		{"truncated option", func(r *rawClient) {
			r.clientFlags(1)
			b := binary.BigEndian.AppendUint64(nil, magicOption)
			r.send(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(b, optGo), 100))
			r.send([]byte{1, 2, 3})
			r.closeWrite()
			r.expectClosed()
		}},
		{"unknown option then go", func(r *rawClient) {
			r.clientFlags(3)
			r.option(99, []byte("garbage"))
			if typ, _ := r.optReply(99); typ != repErrUnsupported {
				t.Errorf("reply %#x, want ERR_UNSUP", typ)
			}
			r.goExport("rw")
			r.expectAlive()
		}},
		{"go with bad name length", func(r *rawClient) {
			r.clientFlags(3)
			r.option(optGo, []byte{0, 0, 0x10, 0, 'r', 'w', 0, 0})
			if typ, _ := r.optReply(optGo); typ != repErrInvalid {
				t.Errorf("reply %#x, want ERR_INVALID", typ)
			}
			r.option(optInfo, []byte{0, 0, 0, 2, 'r', 'w', 0, 5, 0})
			if typ, _ := r.optReply(optInfo); typ != repErrInvalid {
				t.Errorf("info with bad count: reply %#x, want ERR_INVALID", typ)
			}
			r.goExport("rw")
			r.expectAlive()
		}},
		{"go unknown export", func(r *rawClient) {
			r.clientFlags(3)
			r.option(optGo, goData("nope"))
			if typ, _ := r.optReply(optGo); typ != repErrUnknown {
				t.Errorf("reply %#x, want ERR_UNKNOWN", typ)
			}
		}},
		{"list with data", func(r *rawClient) {
			r.clientFlags(3)
			r.option(optList, []byte{1})
			if typ, _ := r.optReply(optList); typ != repErrInvalid {
				t.Errorf("reply %#x, want ERR_INVALID", typ)
			}
		}},
		{"meta context before structured replies", func(r *rawClient) {
			r.clientFlags(3)
			r.option(optSetMetaContext, []byte{0, 0, 0, 0, 0, 0, 0, 0})
			if typ, _ := r.optReply(optSetMetaContext); typ != repErrInvalid {
				t.Errorf("reply %#x, want ERR_INVALID", typ)
			}
		}},
		{"meta context garbage", func(r *rawClient) {
			r.clientFlags(3)
			r.option(optStructuredReply, nil)
			r.optReply(optStructuredReply)
			r.option(optSetMetaContext, []byte{0, 0, 0, 0, 0, 0, 0, 9, 0xff, 0xff, 0xff, 0xff})
			if typ, _ := r.optReply(optSetMetaContext); typ != repErrInvalid {
				t.Errorf("reply %#x, want ERR_INVALID", typ)
			}
		}},
		{"export name unknown", func(r *rawClient) {
			r.clientFlags(3)
			r.option(optExportName, []byte("nope"))
			r.expectClosed()
		}},
		{"export name", func(r *rawClient) {
			r.clientFlags(1)
			r.option(optExportName, []byte("rw"))
			var b [10 + 124]byte
			if _, err := io.ReadFull(r.c, b[:]); err != nil {
				t.Fatal(err)
			}
			if binary.BigEndian.Uint64(b[:]) != 1<<20 || !bytes.Equal(b[10:], make([]byte, 124)) {
				t.Errorf("export name reply %x", b)
			}
			r.expectAlive()
		}},
		{"abort", func(r *rawClient) {
			r.clientFlags(3)
			r.option(optAbort, nil)
			if typ, _ := r.optReply(optAbort); typ != repAck {
				t.Errorf("reply %#x, want ACK", typ)
			}
			r.expectClosed()
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(dialRaw(t, ts.addr)) })
	}
	r := dialRaw(t, ts.addr)
	r.clientFlags(3)
	r.goExport("rw")
	r.expectAlive()
}

// TestMalformedRequests: hostile requests get NBD errors, or a disconnect when the framing is
// lost, and the server keeps serving others; in plain text and inside TLS.
func TestMalformedRequests(t *testing.T) {
	ca := tlstest.NewCA(t, "gdmsetup test CA")
	cliCfg := tlstest.ClientConfig(t, ca.ClientDir(t, "", false))
	t.Run("plain", func(t *testing.T) { malformedRequests(t, nil, nil) })
	t.Run("tls", func(t *testing.T) { malformedRequests(t, tlsConfig(t, ca.ServerDir(t), false), cliCfg) })
}

// malformedRequests runs TestMalformedRequests' cases on a server with cfg, through
// NBD_OPT_STARTTLS with cliCfg when cfg is set.
func malformedRequests(t *testing.T, cfg, cliCfg *tls.Config) {
	ts, _ := rawServer(t, cfg)
	open := func(t *testing.T, name string) *rawClient {
		r := dialRaw(t, ts.addr)
		r.clientFlags(3)
		if cliCfg != nil {
			r.startTLS(cliCfg)
		}
		sizeB, flags := r.goExport(name)
		if sizeB != 1<<20 || flags&(transHasFlags|transSendCache) != transHasFlags|transSendCache || (flags&transSendFastZero != 0) != (name == "rw") {
			t.Fatalf("go %q: size %d flags %#x", name, sizeB, flags)
		}
		return r
	}
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"bad request magic", func(t *testing.T) {
			r := open(t, "rw")
			r.send(make([]byte, requestHeaderBytes))
			r.expectClosed()
		}},
		{"unknown command", func(t *testing.T) {
			r := open(t, "rw")
			r.expectErrno(errInval, 0, 99, 0, 4096, nil)
			r.expectErrno(errInval, 0, 8, 0, 4096, nil) // NBD_CMD_RESIZE is not advertised
			r.expectAlive()
		}},
		{"range past the end", func(t *testing.T) {
			r := open(t, "rw")
			r.expectErrno(errInval, 0, cmdRead, 1<<20-4096, 8192, nil)
			r.expectErrno(errInval, 0, cmdRead, 1<<63, 4096, nil)
			r.expectErrno(errNoSpc, 0, cmdWrite, 1<<20, 512, make([]byte, 512))
			r.expectErrno(errInval, 0, cmdTrim, 1<<20-1, 2, nil)
			r.expectErrno(errNoSpc, 0, cmdWriteZeroes, 1<<64-1, 2, nil)
			r.expectAlive()
		}},
		{"oversized read", func(t *testing.T) {
			r := open(t, "rw")
			r.expectErrno(errOverflow, 0, cmdRead, 0, 64<<20, nil)
			r.expectAlive()
		}},
		{"oversized write", func(t *testing.T) {
			r := open(t, "rw")
			r.request(0, cmdWrite, 5, 0, 0xffffffff, nil)
			if errno, _, _ := r.reply(0); errno != errOverflow {
				t.Errorf("errno %d, want EOVERFLOW", errno)
			}
			r.expectClosed()
		}},
		{"zero length and bad flags", func(t *testing.T) {
			r := open(t, "rw")
			r.expectErrno(errInval, 0, cmdRead, 0, 0, nil)
			r.expectErrno(errInval, cmdFlagFUA, cmdRead, 0, 4096, nil)
			r.expectErrno(errInval, 0x8000, cmdWrite, 0, 1, []byte{1})
			r.expectErrno(errInval, 0, cmdFlush, 4096, 0, nil)
			r.expectErrno(errInval, 0, cmdBlockStatus, 0, 4096, nil)
			r.expectAlive()
		}},
		{"cache and fast zero", func(t *testing.T) {
			r := open(t, "rw")
			r.expectErrno(0, 0, cmdCache, 0, 1<<20, nil)
			r.expectErrno(errInval, 0, cmdCache, 1<<20-512, 1024, nil)
			r.expectErrno(errInval, 0, cmdCache, 1<<63, 512, nil)
			r.expectErrno(errInval, 0, cmdCache, 0, 0, nil)
			r.expectErrno(errInval, cmdFlagFUA, cmdCache, 0, 512, nil)
			r.expectErrno(errInval, cmdFlagFastZero, cmdCache, 0, 512, nil)
			r.expectErrno(errInval, cmdFlagFastZero, cmdWrite, 0, 512, make([]byte, 512))
			r.expectErrno(errInval, cmdFlagFastZero, cmdTrim, 0, 512, nil)
			r.expectErrno(errInval, cmdFlagFastZero, cmdRead, 0, 512, nil)
			r.expectErrno(errNoSpc, cmdFlagFastZero, cmdWriteZeroes, 1<<20, 512, nil)
			r.expectErrno(0, cmdFlagFastZero|cmdFlagNoHole|cmdFlagFUA, cmdWriteZeroes, 0, 4096, nil)
			r.expectAlive()
			ro := open(t, "ro")
			ro.expectErrno(0, 0, cmdCache, 0, 4096, nil)
			ro.expectErrno(errInval, cmdFlagFastZero, cmdWriteZeroes, 0, 4096, nil) // not negotiated
			ro.expectAlive()
		}},
		{"writes on read-only", func(t *testing.T) {
			r := open(t, "ro")
			r.expectErrno(errPerm, 0, cmdWrite, 0, 4096, make([]byte, 4096))
			r.expectErrno(errPerm, 0, cmdTrim, 0, 4096, nil)
			r.expectErrno(errPerm, 0, cmdWriteZeroes, 0, 4096, nil)
			r.expectErrno(0, 0, cmdFlush, 0, 0, nil)
			r.expectAlive()
		}},
		{"truncated request", func(t *testing.T) {
			r := open(t, "rw")
			r.send(binary.BigEndian.AppendUint32(nil, magicRequest))
			r.closeWrite()
			r.expectClosed()
		}},
		{"truncated write payload", func(t *testing.T) {
			r := open(t, "rw")
			r.request(0, cmdWrite, 1, 0, 4096, make([]byte, 100))
			r.closeWrite()
			r.expectClosed()
		}},
		{"disconnect", func(t *testing.T) {
			r := open(t, "rw")
			r.request(0, cmdDisc, 1, 0, 0, nil)
			r.expectClosed()
		}},
	}
	for _, c := range cases {
		t.Run(c.name, c.run)
	}
	open(t, "rw").expectAlive()
}

// TestPipelinedRequests: many requests sent before any reply all come back with their own
// handle and data, and writes land.
func TestPipelinedRequests(t *testing.T) {
	ts, e := rawServer(t, nil)
	r := dialRaw(t, ts.addr)
	r.clientFlags(3)
	r.goExport("rw")
	const n = 200
	for i := 0; i < n; i++ {
		r.request(cmdFlagFUA, cmdWrite, uint64(i), uint64(i)*4096, 4096, bytes.Repeat([]byte{byte(i)}, 4096))
	}
	seen := map[uint64]bool{}
	for i := 0; i < n; i++ {
		errno, h, _ := r.reply(0)
		if errno != 0 || h >= n || seen[h] {
			t.Fatalf("write reply %d: errno %d handle %d (dup %v)", i, errno, h, seen[h])
		}
		seen[h] = true
	}
	for i := 0; i < n; i++ {
		r.request(0, cmdRead, uint64(i), uint64(i)*4096, 4096, nil)
	}
	for i := 0; i < n; i++ {
		errno, h, data := r.reply(4096)
		if errno != 0 || !bytes.Equal(data, bytes.Repeat([]byte{byte(h)}, 4096)) {
			t.Fatalf("read reply %d: errno %d handle %d data %x...", i, errno, h, data[:8])
		}
	}
	if e.flushes.Load() < n {
		t.Errorf("%d flushes for %d FUA writes", e.flushes.Load(), n)
	}
}

// gateExport blocks every ReadAt until the test opens the gate, counting concurrent calls.
type gateExport struct {
	*FileExport
	gate          chan struct{}
	running, peak atomic.Int32
}

func (g *gateExport) ReadAt(p []byte, offBytes int64) (int, error) {
	n := g.running.Add(1)
	for {
		old := g.peak.Load()
		if n <= old || g.peak.CompareAndSwap(old, n) {
			break
		}
	}
	<-g.gate
	g.running.Add(-1)
	return g.FileExport.ReadAt(p, offBytes)
}

// TestConcurrencyBound: requests on one connection run concurrently, up to MaxInFlight.
func TestConcurrencyBound(t *testing.T) {
	if p := peakConcurrentReads(t, 4, 4096); p != 4 {
		t.Errorf("peak concurrent reads %d, want MaxInFlight 4", p)
	}
}

// TestLargeRequestsTakeMoreSlots: a READ takes one in-flight slot per started 64 KiB, so 128
// KiB reads run at most MaxInFlight/2 at once.
func TestLargeRequestsTakeMoreSlots(t *testing.T) {
	if p := peakConcurrentReads(t, 8, 128<<10); p != 4 {
		t.Errorf("peak concurrent 128 KiB reads %d, want 4 (8 slots of 64 KiB)", p)
	}
}

// peakConcurrentReads sends 10 READs of lenBytes to a server with maxInFlight slots whose
// export holds every read until 4 run (or 10 s pass, then 50 ms more), and returns how many
// ran at once at most; every reply must then succeed.
func peakConcurrentReads(t *testing.T, maxInFlight int, lenBytes uint32) int32 {
	t.Helper()
	fe := openCounting(t, tempFile(t, 1<<20, false), false)
	g := &gateExport{FileExport: fe.FileExport, gate: make(chan struct{})}
	ts := startServer(t, "tcp", &Server{Exports: StaticExports{"": g}, MaxInFlight: maxInFlight})
	r := dialRaw(t, ts.addr)
	r.clientFlags(3)
	r.goExport("")
	for i := 0; i < 10; i++ {
		r.request(0, cmdRead, uint64(i), 0, lenBytes, nil)
	}
	deadline := time.Now().Add(10 * time.Second)
	for g.running.Load() < 4 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	peak := g.peak.Load()
	close(g.gate)
	for i := 0; i < 10; i++ {
		if errno, _, _ := r.reply(int(lenBytes)); errno != 0 {
			t.Fatalf("reply %d: errno %d", i, errno)
		}
	}
	return peak
}

// releaseCounter counts Open/release pairs.
type releaseCounter struct {
	StaticExports
	opened, released atomic.Int32
}

func (rc *releaseCounter) Open(name string) (Export, func(), error) {
	e, _, err := rc.StaticExports.Open(name)
	if err != nil {
		return nil, nil, err
	}
	rc.opened.Add(1)
	var once sync.Once
	return e, func() { once.Do(func() { rc.released.Add(1) }) }, nil
}

// TestShutdown: cancelling Serve lets the in-flight request finish and reply, flushes the
// export, closes the client and releases the export; in plain text and inside TLS.
func TestShutdown(t *testing.T) {
	ca := tlstest.NewCA(t, "gdmsetup test CA")
	t.Run("plain", func(t *testing.T) { shutdown(t, nil, nil) })
	t.Run("tls", func(t *testing.T) {
		shutdown(t, tlsConfig(t, ca.ServerDir(t), false), tlstest.ClientConfig(t, ca.ClientDir(t, "", false)))
	})
}

// shutdown runs TestShutdown on a server with cfg, through NBD_OPT_STARTTLS with cliCfg when
// cfg is set.
func shutdown(t *testing.T, cfg, cliCfg *tls.Config) {
	fe := openCounting(t, tempFile(t, 1<<20, false), false)
	g := &gateExport{FileExport: fe.FileExport, gate: make(chan struct{})}
	wrapped := &flushCounter{gateExport: g}
	rc := &releaseCounter{StaticExports: StaticExports{"": wrapped}}
	ts := startServer(t, "tcp", &Server{Exports: rc, TLSConfig: cfg, RequireTLS: cfg != nil})
	r := dialRaw(t, ts.addr)
	r.clientFlags(3)
	if cliCfg != nil {
		r.startTLS(cliCfg)
	}
	r.goExport("")
	r.request(0, cmdRead, 1, 0, 4096, nil)
	for g.running.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	stopped := make(chan struct{})
	go func() { ts.stop(t); close(stopped) }()
	time.Sleep(50 * time.Millisecond)
	close(g.gate)
	if errno, h, _ := r.reply(4096); errno != 0 || h != 1 {
		t.Errorf("in-flight read: errno %d handle %d", errno, h)
	}
	r.expectClosed()
	<-stopped
	if wrapped.flushes.Load() == 0 || rc.opened.Load() != 1 || rc.released.Load() != 1 {
		t.Errorf("flushes %d, opened %d, released %d", wrapped.flushes.Load(), rc.opened.Load(), rc.released.Load())
	}
}

type flushCounter struct {
	*gateExport
	flushes atomic.Int64
}

func (f *flushCounter) Flush() error { f.flushes.Add(1); return f.gateExport.Flush() }

// TestProbe runs the bench-peers protocol probe (libnbd with strict mode off) against the server.
func TestProbe(t *testing.T) {
	probe := filepath.Join("..", "..", "shared", "bench-peers", "gonbd-file", "probe.py") // ../shared beside the repository
	if _, err := os.Stat(probe); err != nil {
		t.Skip("probe.py not present")
	}
	needBin(t, "/usr/bin/python3")
	if _, err := os.Stat("/usr/lib/python3/dist-packages/nbd.py"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3-libnbd not installed (CI=true)")
		}
		t.Skip("python3-libnbd not installed")
	}
	e := openCounting(t, tempFile(t, 1<<20, false), false)
	ts := startServer(t, "tcp", &Server{Exports: StaticExports{"": e}})
	want := map[string]string{
		"flush": "flush: OK", "pwrite_fua": "pwrite_fua: OK", "trim_1M": "trim_1M: OK", "zero_1M": "zero_1M: OK",
		"cache_1M":       "cache_1M: OK",
		"block_status":   "block_status: ERROR nbd_block_status: block-status: command failed: Invalid argument",
		"pread_past_eof": "pread_past_eof: ERROR nbd_pread: read: command failed: Invalid argument",
		"pread_64M":      "pread_64M: ERROR nbd_pread: read: command failed: Value too large",
	}
	for test, w := range want {
		out := runCmd(t, "/usr/bin/python3", probe, ts.uri, test)
		if !bytes.Contains([]byte(out), []byte(w)) || !bytes.Contains([]byte(out), []byte("follow-up pread 4k: OK")) {
			t.Errorf("probe %s:\n%s\nwant %q and a working follow-up read", test, out, w)
		}
	}
	out := runCmd(t, "/usr/bin/python3", probe, ts.addr, "export_name_raw")
	if !bytes.Contains([]byte(out), []byte("reply to NBD_OPT_EXPORT_NAME: 0000000000100000")) {
		t.Errorf("probe export_name_raw:\n%s", out)
	}
}

// TestServerReadOnly: Server.ReadOnly makes a writable export read-only on the wire.
func TestServerReadOnly(t *testing.T) {
	e := openCounting(t, tempFile(t, 1<<20, false), false)
	ts := startServer(t, "tcp", &Server{Exports: StaticExports{"": e}, ReadOnly: true})
	r := dialRaw(t, ts.addr)
	r.clientFlags(3)
	if _, flags := r.goExport(""); flags&transReadOnly == 0 || flags&(transSendTrim|transSendWriteZeros) != 0 {
		t.Errorf("flags %#x: want READ_ONLY and no TRIM/WRITE_ZEROES", flags)
	}
	r.expectErrno(errPerm, 0, cmdWrite, 0, 512, make([]byte, 512))
	r.expectAlive()
}
