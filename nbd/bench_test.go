package nbd

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/tlstest"
)

// benchConn opens a raw client to a server exporting a 64 MiB tmp file over a unix socket,
// inside TLS (NBD_OPT_STARTTLS, then the handshake in the same process) when useTLS is set.
func benchConn(b *testing.B, useTLS bool) net.Conn {
	b.Helper()
	p := b.TempDir() + "/bench.img"
	if err := writeSparse(p, 64<<20); err != nil {
		b.Fatal(err)
	}
	exp, err := OpenFileExport(p, false, false)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { exp.Close() })
	sock := b.TempDir() + "/nbd.sock"
	l, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	srv := &Server{Exports: StaticExports{"": exp}}
	var cliCfg *tls.Config
	if useTLS {
		ca := tlstest.NewCA(b, "bench CA")
		srv.TLSConfig, srv.RequireTLS = tlsConfig(b, ca.ServerDir(b), false), true
		cliCfg = tlstest.ClientConfig(b, ca.ClientDir(b, "", false))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, l); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	c, err := net.Dial("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	var hello [18]byte
	io.ReadFull(c, hello[:])
	c.Write(binary.BigEndian.AppendUint32(nil, 3))
	if useTLS {
		c.Write(optBytes(optStartTLS, nil))
		var rep [20]byte
		if _, err := io.ReadFull(c, rep[:]); err != nil || binary.BigEndian.Uint32(rep[12:]) != repAck {
			b.Fatalf("STARTTLS reply %x: %v", rep, err)
		}
		tc := tls.Client(c, cliCfg)
		if err := tc.Handshake(); err != nil {
			b.Fatal(err)
		}
		c = tc
	}
	c.Write(optBytes(optExportName, nil))
	var info [10]byte
	if _, err := io.ReadFull(c, info[:]); err != nil {
		b.Fatal(err)
	}
	return c
}

// benchmarkIO sends b.N requests of lenB bytes keeping depth in flight and reads the replies;
// allocs/op counts client and server together (the client allocates nothing per request);
// with useTLS the client's encryption and decryption count too.
func benchmarkIO(b *testing.B, typ uint16, lenB uint32, depth int, useTLS bool) {
	c := benchConn(b, useTLS)
	reqs := make([]byte, 0, requestHeaderBytes*depth)
	payload := make([]byte, lenB)
	hdr := make([]byte, simpleReplyBytes)
	data := make([]byte, lenB)
	send := func(i int) {
		reqs = reqBytesInto(reqs[:0], typ, uint64(i%(64<<20/int(lenB)))*uint64(lenB), lenB)
		if typ == cmdWrite {
			reqs = append(reqs, payload...)
		}
		c.Write(reqs)
	}
	recv := func() {
		if _, err := io.ReadFull(c, hdr); err != nil || binary.BigEndian.Uint32(hdr[4:]) != 0 {
			b.Fatalf("reply %x: %v", hdr, err)
		}
		if typ == cmdRead {
			io.ReadFull(c, data)
		}
	}
	b.SetBytes(int64(lenB))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < min(depth, b.N); i++ {
		send(i)
	}
	for i := 0; i < b.N; i++ {
		recv()
		if i+depth < b.N {
			send(i + depth)
		}
	}
}

// reqBytesInto appends one request header to b.
func reqBytesInto(b []byte, typ uint16, offB uint64, lenB uint32) []byte {
	b = binary.BigEndian.AppendUint32(b, magicRequest)
	b = binary.BigEndian.AppendUint16(b, 0)
	b = binary.BigEndian.AppendUint16(b, typ)
	b = binary.BigEndian.AppendUint64(b, 1)
	b = binary.BigEndian.AppendUint64(b, offB)
	return binary.BigEndian.AppendUint32(b, lenB)
}

func BenchmarkRead4KQD1(b *testing.B)     { benchmarkIO(b, cmdRead, 4096, 1, false) }
func BenchmarkRead4KQD32(b *testing.B)    { benchmarkIO(b, cmdRead, 4096, 32, false) }
func BenchmarkWrite4KQD1(b *testing.B)    { benchmarkIO(b, cmdWrite, 4096, 1, false) }
func BenchmarkWrite4KQD32(b *testing.B)   { benchmarkIO(b, cmdWrite, 4096, 32, false) }
func BenchmarkRead1MQD8(b *testing.B)     { benchmarkIO(b, cmdRead, 1<<20, 8, false) }
func BenchmarkWrite1MQD8(b *testing.B)    { benchmarkIO(b, cmdWrite, 1<<20, 8, false) }
func BenchmarkRead4KQD32TLS(b *testing.B) { benchmarkIO(b, cmdRead, 4096, 32, true) }
func BenchmarkRead1MQD8TLS(b *testing.B)  { benchmarkIO(b, cmdRead, 1<<20, 8, true) }
func BenchmarkWrite1MQD8TLS(b *testing.B) { benchmarkIO(b, cmdWrite, 1<<20, 8, true) }
