package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/nbdshtest"
)

// TestServeFastZeroAndCache sends NBD FAST_ZERO and CACHE with nbdsh to served devices: a
// linear device over files zeroes fast (fallocate), also unaligned (the partial sectors at
// either end written) and through a linear device stacked on it; a thin device, and a linear
// device stacked on it, zero fast by unmapping when a hole is allowed and refuse with ENOTSUP
// under NO_HOLE, their data untouched; a zero target refuses both; a range inside one sector
// is refused. CACHE succeeds on every device (the range is read) and a range past the end is
// EINVAL; the connections go on serving.
func TestServeFastZeroAndCache(t *testing.T) {
	s := newSandbox(t)
	a := randomFile(t, filepath.Join(s.dir, "a.img"), 4<<20)
	b := randomFile(t, filepath.Join(s.dir, "b.img"), 4<<20)
	lin := append(append([]byte{}, a...), b...)
	s.ok("", "create", "lin", "--table", "0 8192 linear a.img 0\n8192 8192 linear b.img 0")
	s.ok("", "create", "top", "--table", "0 16384 linear /dev/mapper/lin 0")
	s.thinPool(16384)
	s.ok("", "create", "onthin", "--table", "0 16384 linear /dev/mapper/thin 0")
	s.ok("", "create", "z", "--table", "0 16384 zero")
	srv := s.serve()
	uri := func(name string) string { return "nbd+unix:///" + name + "?socket=" + srv.sock }

	nbdshtest.Expect(t, uri("lin"), `
print("can_cache", h.can_cache(), "can_fast_zero", h.can_fast_zero())
try_("trim", lambda: h.zero(1 << 20, 1 << 20, flags=nbd.CMD_FLAG_FAST_ZERO))
try_("no hole, unaligned", lambda: h.zero((3 << 20) + 200, (4 << 20) - 100, flags=nbd.CMD_FLAG_FAST_ZERO | nbd.CMD_FLAG_NO_HOLE))
try_("inside a sector", lambda: h.zero(100, 10, flags=nbd.CMD_FLAG_FAST_ZERO))
try_("cache", lambda: h.cache(2 << 20, 0))
h.set_strict_mode(0)
try_("cache past the end", lambda: h.cache(4096, 8 << 20))
try_("read after", lambda: h.pread(4096, 0))
`, "can_cache True can_fast_zero True", "trim ok", "no hole, unaligned ok", "inside a sector errno 95", "cache ok",
		"cache past the end errno 22", "read after ok")
	clear(lin[1<<20 : 2<<20])
	clear(lin[4<<20-100 : 7<<20+100])
	nbdshtest.Expect(t, uri("top"), `try_("stacked", lambda: h.zero(1 << 20, 7 << 20, flags=nbd.CMD_FLAG_FAST_ZERO))`, "stacked ok")
	clear(lin[7<<20 : 8<<20])
	if got := []byte(s.ok("", "read", "lin")); !bytes.Equal(got, lin) {
		t.Fatalf("linear device after fast zeroes: %d bytes differ", countDiff(got, lin))
	}

	tool(t, "qemu-io", "-f", "raw", "-c", "write -P 0x5c 0 8M", "-c", "flush", srv.url("thin"))
	used := func() string { return strings.Fields(s.ok("", "status", "pool"))[5] }
	if u := used(); u != "128/1024" {
		t.Fatalf("pool used data blocks after filling the thin device: %s", u)
	}
	// thin zeroes fast by unmapping, when a hole is allowed; so does a linear device on it
	for _, c := range []struct{ name, offset string }{{"thin", "0"}, {"onthin", "4 << 20"}, {"z", "0"}} {
		want := []string{"fast ok", "no hole errno 95"}
		if c.name == "z" {
			want[0] = "fast errno 95"
		}
		nbdshtest.Expect(t, uri(c.name), `
try_("fast", lambda: h.zero(1 << 20, `+c.offset+`, flags=nbd.CMD_FLAG_FAST_ZERO))
try_("no hole", lambda: h.zero(1 << 20, (2 << 20) + 512, flags=nbd.CMD_FLAG_FAST_ZERO | nbd.CMD_FLAG_NO_HOLE))
try_("cache", lambda: h.cache(1 << 20, 0))
try_("read after", lambda: h.pread(4096, 0))
`, append(want, "cache ok", "read after ok")...)
	}
	thin := bytes.Repeat([]byte{0x5c}, 8<<20)
	clear(thin[:1<<20])
	clear(thin[4<<20 : 5<<20])
	if got := []byte(s.ok("", "read", "thin")); !bytes.Equal(got, thin) {
		t.Fatalf("thin device after fast zeroes: %d bytes differ", countDiff(got, thin))
	}
	if u := used(); u != "96/1024" {
		t.Fatalf("pool used data blocks after fast zeroes of 2 MiB: %s, want 96/1024", u)
	}
	if code := srv.stop(); code != 0 {
		t.Fatalf("SIGTERM: exit %d\n%s", code, srv.stderr)
	}
	if strings.Contains(srv.stderr.String(), "command 6") {
		t.Errorf("a refused FAST_ZERO was logged as a failure:\n%s", srv.stderr)
	}
}
