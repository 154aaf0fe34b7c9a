package main

import (
	"bytes"
	bin "encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// yesBytes is `yes WORD | head -c n`.
func yesBytes(word string, n int) string {
	return strings.Repeat(word+"\n", n/(len(word)+1)+1)[:n]
}

// TestWriteOflagKernelLogs: `gdmsetup write --oflag` run as
// targets/logwrites/testdata/fua-oracle.sh runs dd through a log-writes
// device leaves the log Linux 6.1 left there, byte for byte, with the
// statuses of its transcript: oflag=direct,dsync is a FUA write then a
// flush per block, oflag=direct a plain write with no flush; an empty
// stdin only flushes.
func TestWriteOflagKernelLogs(t *testing.T) {
	a, b := yesBytes("fua-one", 8192), yesBytes("plain-two", 8192)
	for _, c := range []struct {
		kernelLog string
		oflag     string
		statuses  []string
	}{
		{"kernel-fua.log", "direct,dsync", []string{"2 10", "2 10", "5 37"}},
		{"kernel-plain.log", "direct", []string{"0 0", "0 0", "0 0", "4 36"}},
	} {
		t.Run(c.oflag, func(t *testing.T) {
			s := newSandbox(t)
			s.file("dev.img", 1<<20)
			log := s.file("log.img", 64<<10)
			s.ok("", "create", "lw", "--table", "0 2048 log-writes dev.img log.img")
			for i, w := range []struct {
				data, offset, bs, oflag string
			}{{a[:4096], "0", "4096", c.oflag}, {b[:4096], "8192", "4096", "direct"}, {a, "16384", "8192", c.oflag}} {
				s.ok(w.data, "write", "lw", "--offset", w.offset, "--bs", w.bs, "--oflag", w.oflag)
				if got, want := s.ok("", "status", "lw"), "0 2048 log-writes "+c.statuses[i]+"\n"; got != want {
					t.Errorf("status after write %d: %q, want %q", i, got, want)
				}
			}
			if len(c.statuses) == 4 {
				s.ok("", "write", "lw")
				if got, want := s.ok("", "status", "lw"), "0 2048 log-writes "+c.statuses[3]+"\n"; got != want {
					t.Errorf("status after the flush: %q, want %q", got, want)
				}
			}
			s.ok("", "remove", "lw")
			got, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("..", "..", "targets", "logwrites", "testdata", c.kernelLog))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("log differs from the kernel's %s: entries %v", c.kernelLog, logEntries(t, got))
			}
		})
	}
}

// TestWriteOflagErrors: --oflag takes direct and dsync only; a direct
// write not aligned to the logical block size fails with EINVAL, as
// blkdev_direct_write does, and writes nothing; --bs must be a size.
func TestWriteOflagErrors(t *testing.T) {
	s := newSandbox(t)
	img := s.file("a.img", 1<<20)
	s.ok("", "create", "lin", "--table", "0 2048 linear a.img 0")
	s.expect(args("write lin --oflag direct,sync"), "x", "",
		"--oflag \"direct,sync\": \"sync\" is not a flag (direct, dsync, comma-separated)\nCommand failed.\n", 1)
	s.expect(args("write lin --oflag direct --offset 1"), strings.Repeat("x", 512), "",
		"gdmsetup: write lin at byte 1: Invalid argument\nCommand failed.\n", 1)
	s.expect(args("write lin --oflag direct,dsync"), strings.Repeat("x", 700), "",
		"gdmsetup: write lin at byte 0: Invalid argument\nCommand failed.\n", 1)
	s.expect(args("write lin --bs 0"), "x", "", "--bs 0: a block size from 1 byte to 1G\nCommand failed.\n", 1)
	if f, _ := os.ReadFile(img); !bytes.Equal(f, make([]byte, 1<<20)) {
		t.Error("a refused write changed the device")
	}
	s.ok(strings.Repeat("y", 1024), "write", "lin", "--oflag", "dsync", "--offset", "3", "--bs", "100")
	if f, _ := os.ReadFile(img); string(f[3:1027]) != strings.Repeat("y", 1024) || f[2] != 0 || f[1027] != 0 {
		t.Error("oflag=dsync writes (buffered, unaligned) did not land where asked")
	}
}

// TestServeFUAWriteLogWrites: qemu-io's `write -f` (NBD WRITE with the
// FUA flag) to a log-writes device is logged at once as a FUA entry, not
// as a write and a flush of the device; the plain write between (qemu-io's
// default cache mode, writethrough, would send it with FUA too) waits for
// the flush qemu-io sends as it closes.
func TestServeFUAWriteLogWrites(t *testing.T) {
	dmtest.Peer(t, "qemu-io")
	s := newSandbox(t)
	s.file("dev.img", 1<<20)
	log := s.file("log.img", 1<<20)
	s.ok("", "create", "lw", "--table", "0 2048 log-writes dev.img log.img")
	srv := s.serve()
	client := exec.Command("qemu-io", "-f", "raw", "-t", "writeback",
		"-c", "write -f -P 0x5a 0 4k", "-c", "write -P 0x33 64k 4k", "-c", "write -f -P 0x77 128k 8k", srv.url("lw"))
	timer := time.AfterFunc(60*time.Second, func() { client.Process.Kill() })
	out, err := client.CombinedOutput()
	timer.Stop()
	if err != nil {
		t.Fatalf("qemu-io: %v\n%s\nserver: %s", err, out, srv.stderr)
	}
	srv.stop()
	img, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	got := logEntries(t, img)
	want := []string{"fua 0+8 5a", "fua 256+16 77", "write 128+8 33", "flush"}
	if len(got) < len(want) || strings.Join(got[:len(want)], "; ") != strings.Join(want, "; ") {
		t.Errorf("log entries %q, want %q first", got, want)
	}
}

// logEntries lists a log-writes log as "KIND SECTOR+LEN FIRSTBYTE" (a
// write, a FUA write) or "KIND" (flush, discard, mark TEXT), up to the
// first empty entry header.
func logEntries(t *testing.T, img []byte) []string {
	t.Helper()
	le := bin.LittleEndian
	var out []string
	for at := 1; (at+1)*512 <= len(img); at++ {
		h := img[at*512:]
		sector, n, flags := le.Uint64(h), le.Uint64(h[8:]), le.Uint64(h[16:])
		switch {
		case flags == 0 && n == 0:
			return out
		case flags&8 != 0:
			out = append(out, "mark "+string(h[32:32+le.Uint64(h[24:])]))
		case flags&4 != 0:
			out = append(out, fmt.Sprintf("discard %d+%d", sector, n))
		case flags&1 != 0:
			out = append(out, "flush")
		default:
			kind := "write"
			if flags&2 != 0 {
				kind = "fua"
			}
			out = append(out, fmt.Sprintf("%s %d+%d %x", kind, sector, n, h[512]))
			at += int(n)
		}
	}
	return out
}
