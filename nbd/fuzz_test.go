package nbd

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

// FuzzDecodeRequest: the request decoder and validator never panic, and a request they accept
// lies inside the export with a bounded length.
func FuzzDecodeRequest(f *testing.F) {
	f.Add(reqBytes(0, cmdRead, 0, 4096), int64(1<<20), false, false)
	f.Add(reqBytes(cmdFlagFUA, cmdWrite, 1<<20-512, 512), int64(1<<20), false, true)
	f.Add(reqBytes(cmdFlagReqOne, cmdBlockStatus, 0, 1<<30), int64(1<<40), true, true)
	f.Add(reqBytes(0, 99, 1<<63, 0xffffffff), int64(0), true, false)
	f.Add(reqBytes(0, cmdCache, 1<<20-512, 1024), int64(1<<20), true, false)
	f.Add(reqBytes(cmdFlagFastZero, cmdCache, 0, 512), int64(1<<20), false, true)
	f.Add(reqBytes(cmdFlagFastZero|cmdFlagNoHole, cmdWriteZeroes, 0, 1<<20), int64(1<<20), false, true)
	f.Add(reqBytes(cmdFlagFastZero, cmdWriteZeroes, 0, 4096), int64(1<<20), true, false)
	f.Add(reqBytes(cmdFlagFastZero, cmdWrite, 0, 512), int64(1<<20), false, false)
	f.Fuzz(func(t *testing.T, b []byte, sizeB int64, readOnly, structured bool) {
		if sizeB < 0 {
			sizeB = -sizeB
		}
		h, err := decodeRequest(b)
		if err != nil {
			return
		}
		errno, _ := checkRequest(&h, sizeB, readOnly, structured, structured, DefaultMaxRequestBytes)
		if errno != 0 || h.Type == cmdDisc || h.Type == cmdFlush {
			return
		}
		if h.Length == 0 || h.Offset+uint64(h.Length) > uint64(sizeB) || h.Offset+uint64(h.Length) < h.Offset {
			t.Fatalf("accepted %+v on a %d-byte export", h, sizeB)
		}
		if (h.Type == cmdRead || h.Type == cmdWrite) && h.Length > DefaultMaxRequestBytes {
			t.Fatalf("accepted oversized %+v", h)
		}
		if h.CommandFlags&cmdFlagFastZero != 0 && (h.Type != cmdWriteZeroes || readOnly) {
			t.Fatalf("accepted FAST_ZERO on %+v (read-only %v): it goes with WRITE_ZEROES on a writable export only", h, readOnly)
		}
	})
}

// FuzzOptionData: the option data parsers never panic and return names within the limit.
func FuzzOptionData(f *testing.F) {
	f.Add(goData("rw"))
	f.Add([]byte{0, 0, 0, 2, 'r', 'w', 0, 0, 0, 1, 0, 0, 0, 15, 'b', 'a', 's', 'e', ':', 'a', 'l', 'l', 'o', 'c', 'a', 't', 'i', 'o', 'n'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if name, _, err := parseInfoRequest(data); err == nil && len(name) > maxNameBytes {
			t.Fatalf("info name of %d bytes", len(name))
		}
		if name, qs, err := parseMetaRequest(data); err == nil {
			if len(name) > maxNameBytes {
				t.Fatalf("meta name of %d bytes", len(name))
			}
			n := len(name)
			for _, q := range qs {
				n += len(q)
			}
			if n > len(data) {
				t.Fatalf("parsed %d bytes of strings from %d bytes", n, len(data))
			}
		}
	})
}

func reqBytes(flags, typ uint16, offB uint64, lenB uint32) []byte {
	b := binary.BigEndian.AppendUint32(nil, magicRequest)
	b = binary.BigEndian.AppendUint16(b, flags)
	b = binary.BigEndian.AppendUint16(b, typ)
	b = binary.BigEndian.AppendUint64(b, 1)
	b = binary.BigEndian.AppendUint64(b, offB)
	return binary.BigEndian.AppendUint32(b, lenB)
}

func optBytes(id uint32, data []byte) []byte {
	b := binary.BigEndian.AppendUint64(nil, magicOption)
	b = binary.BigEndian.AppendUint32(b, id)
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	return append(b, data...)
}

// FuzzSession feeds arbitrary client bytes to a whole connection (negotiation and
// transmission) over an in-memory pipe: the server must not panic and must end the connection
// by itself once the input is exhausted.
func FuzzSession(f *testing.F) {
	hello := []byte{0, 0, 0, 3}
	seed := append(append([]byte{}, hello...), optBytes(optGo, goData(""))...)
	seed = append(seed, reqBytes(0, cmdRead, 0, 4096)...)
	seed = append(seed, append(reqBytes(cmdFlagFUA, cmdWrite, 512, 4), 1, 2, 3, 4)...)
	seed = append(seed, reqBytes(0, cmdTrim, 0, 512)...)
	seed = append(seed, reqBytes(0, cmdCache, 0, 65536)...)
	seed = append(seed, reqBytes(0, cmdCache, 65536-512, 1024)...)
	seed = append(seed, reqBytes(cmdFlagFastZero, cmdWriteZeroes, 4096, 8192)...)
	seed = append(seed, reqBytes(cmdFlagFastZero|cmdFlagNoHole, cmdWriteZeroes, 100, 1000)...)
	seed = append(seed, append(reqBytes(cmdFlagFastZero, cmdWrite, 0, 4), 1, 2, 3, 4)...)
	f.Add(seed)
	structured := append(append([]byte{}, hello...), optBytes(optStructuredReply, nil)...)
	structured = append(structured, optBytes(optSetMetaContext, []byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 15, 'b', 'a', 's', 'e', ':', 'a', 'l', 'l', 'o', 'c', 'a', 't', 'i', 'o', 'n'})...)
	structured = append(structured, optBytes(optGo, goData(""))...)
	structured = append(structured, reqBytes(0, cmdBlockStatus, 0, 65536)...)
	structured = append(structured, reqBytes(0, cmdRead, 65536-10, 100)...)
	f.Add(structured)
	f.Add(append(append([]byte{}, hello...), optBytes(optExportName, nil)...))
	f.Add(append(append([]byte{}, hello...), optBytes(optList, nil)...))

	exp, err := OpenFileExport(tempFileF(f), false, false)
	if err != nil {
		f.Fatal(err)
	}
	defer exp.Close()
	srv := &Server{Exports: StaticExports{"": exp}, HandshakeTimeout: 5 * time.Second}
	f.Fuzz(func(t *testing.T, in []byte) {
		client, wait := pipeConn(srv)
		go func() { io.Copy(io.Discard, client) }()
		client.SetWriteDeadline(time.Now().Add(5 * time.Second))
		client.Write(in)
		client.Close()
		wait(t)
	})
}

// pipeConn serves one connection of srv over an in-memory pipe, for at most 10 s. It returns
// the client's end and a wait that fails the test unless the connection ends within 15 s.
func pipeConn(srv *Server) (net.Conn, func(t *testing.T)) {
	client, server := net.Pipe()
	c := srv.newConn(server)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	done := make(chan struct{})
	go func() { c.serve(ctx); close(done) }()
	return client, func(t *testing.T) {
		defer cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Fatal("connection did not end after the input was exhausted")
		}
	}
}

// tempFileF is a 64 KiB sparse file for fuzz targets.
func tempFileF(f *testing.F) string {
	p := f.TempDir() + "/fuzz.img"
	if err := writeSparse(p, 64<<10); err != nil {
		f.Fatal(err)
	}
	return p
}
