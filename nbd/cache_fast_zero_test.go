package nbd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/nbdshtest"
)

// plainExport hides every optional interface of the export it wraps (Cacher, ZeroWriter,
// FastZeroWriter, BlockStatuser): the server's own fallbacks serve it.
type plainExport struct{ Export }

// fastZeroCounter counts the FAST_ZERO requests that reach a FileExport.
type fastZeroCounter struct {
	*countingExport
	fastZeroes atomic.Int64
}

func (e *fastZeroCounter) WriteZeroesFast(offBytes, lenBytes int64, mayTrim bool) error {
	e.fastZeroes.Add(1)
	return e.FileExport.WriteZeroesFast(offBytes, lenBytes, mayTrim)
}

// fillFile writes sizeB bytes of b into the file at path.
func fillFile(t *testing.T, path string, b byte, sizeB int) {
	t.Helper()
	if err := os.WriteFile(path, bytes.Repeat([]byte{b}, sizeB), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestNbdinfoCanCacheFastZero: nbdinfo shows CACHE on every export and FAST_ZERO on writable
// ones, as qemu-nbd advertises them for a plain file.
func TestNbdinfoCanCacheFastZero(t *testing.T) {
	needBin(t, "nbdinfo")
	rw := openCounting(t, tempFile(t, 1<<20, false), false)
	ro := openCounting(t, tempFile(t, 1<<20, false), true)
	ts := startServer(t, "unix", &Server{Exports: StaticExports{"rw": rw, "ro": ro}})
	for name, want := range map[string][]string{
		"rw": {"can_cache: true", "can_fast_zero: true", "can_zero: true"},
		"ro": {"can_cache: true", "can_fast_zero: false", "can_zero: false"},
	} {
		out := runCmd(t, "nbdinfo", "nbd+unix:///"+name+"?socket="+ts.addr)
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("nbdinfo %s: no %q in\n%s", name, w, out)
			}
		}
	}
}

// TestNbdshCache: h.cache prefetches a file export with posix_fadvise (no read reaches it);
// an export without Cacher has the range read; a read-only export takes CACHE too; a range
// past the end, FAST_ZERO on CACHE and a zero length are refused with EINVAL, and the
// connection goes on serving.
func TestNbdshCache(t *testing.T) {
	file := openCounting(t, tempFile(t, 4<<20, true), false)
	plain := openCounting(t, tempFile(t, 4<<20, true), false)
	ro := openCounting(t, tempFile(t, 4<<20, true), true)
	ts := startServer(t, "unix", &Server{Exports: StaticExports{"file": file, "plain": plainExport{plain}, "ro": ro}})
	script := `
try_("cache", lambda: h.cache(3 << 20, 65536))
h.set_strict_mode(0)
try_("past the end", lambda: h.cache(65536, 4 << 20))
try_("straddling the end", lambda: h.cache(65536, (4 << 20) - 512))
try_("fast zero flag", lambda: h.cache(512, 0, flags=nbd.CMD_FLAG_FAST_ZERO))
try_("zero length", lambda: h.cache(0, 0))
try_("read after", lambda: h.pread(4096, 0))
`
	want := []string{"cache ok", "past the end errno 22", "straddling the end errno 22", "fast zero flag errno 22", "zero length errno 22", "read after ok"}
	for _, name := range []string{"file", "plain", "ro"} {
		nbdshtest.Expect(t, "nbd+unix:///"+name+"?socket="+ts.addr, script, want...)
	}
	if got := file.readBytes.Load(); got != 4096 {
		t.Errorf("file export: %d bytes read, want 4096 (the read after; CACHE is posix_fadvise)", got)
	}
	if got := plain.readBytes.Load(); got != 3<<20+4096 {
		t.Errorf("export without Cacher: %d bytes read, want %d (the cached range and the read after)", got, 3<<20+4096)
	}
}

// TestNbdshFastZero: h.zero with FAST_ZERO succeeds on a file export (fallocate: a hole with
// trim allowed, zeroed blocks with NO_HOLE) and fails with ENOTSUP, the data untouched, on an
// export that could only write zeroes; FAST_ZERO on WRITE, on a read-only export (where it is
// not negotiated) and past the end get errors and the connection goes on serving. Without
// FAST_ZERO the slow export zeroes.
func TestNbdshFastZero(t *testing.T) {
	filePath := filepath.Join(t.TempDir(), "file.img")
	fillFile(t, filePath, 0x5a, 4<<20)
	file := &fastZeroCounter{countingExport: openCounting(t, filePath, false)}
	plainPath := filepath.Join(t.TempDir(), "plain.img")
	fillFile(t, plainPath, 0x5a, 4<<20)
	plain := openCounting(t, plainPath, false)
	ro := openCounting(t, tempFile(t, 4<<20, true), true)
	ts := startServer(t, "unix", &Server{Exports: StaticExports{"file": file, "plain": plainExport{plain}, "ro": ro}})
	uri := func(name string) string { return "nbd+unix:///" + name + "?socket=" + ts.addr }

	fileScript := `
try_("trim", lambda: h.zero(1 << 20, 1 << 20, flags=nbd.CMD_FLAG_FAST_ZERO))
try_("no hole", lambda: h.zero(2 << 20, 65536 + 100, flags=nbd.CMD_FLAG_FAST_ZERO | nbd.CMD_FLAG_NO_HOLE))
try_("fua", lambda: h.zero(512, 65536 + 100 - 512, flags=nbd.CMD_FLAG_FAST_ZERO | nbd.CMD_FLAG_FUA))
h.set_strict_mode(0)
try_("on write", lambda: h.pwrite(b"x" * 512, 0, flags=nbd.CMD_FLAG_FAST_ZERO))
try_("past the end", lambda: h.zero(65536, 4 << 20, flags=nbd.CMD_FLAG_FAST_ZERO))
try_("read after", lambda: h.pread(4096, 0))
`
	nbdshtest.Expect(t, uri("file"), fileScript, "trim ok", "no hole ok", "fua ok", "on write errno 22", "past the end errno 28", "read after ok")
	if got := file.fastZeroes.Load(); got != 3 {
		t.Errorf("%d FAST_ZERO requests reached WriteZeroesFast, want 3", got)
	}
	data, err := os.ReadFile(filePath)
	if err != nil {
		t.Fatal(err)
	}
	const zStart, zEnd = 65536 + 100 - 512, 65536 + 100 + 2<<20 // the three zeroed ranges together
	if !bytes.Equal(data[zStart:zEnd], make([]byte, zEnd-zStart)) {
		t.Error("fast-zeroed ranges do not read back as zeroes")
	}
	if data[zStart-1] != 0x5a || data[zEnd] != 0x5a {
		t.Error("fast zero went past its range")
	}
	if exts, err := file.FileExport.BlockStatus(zEnd/4096*4096+4096, 4096); err != nil || len(exts) == 0 || exts[0].Hole {
		t.Errorf("data past the zeroed ranges: %+v %v", exts, err)
	}

	plainScript := `
try_("fast", lambda: h.zero(1 << 20, 0, flags=nbd.CMD_FLAG_FAST_ZERO))
try_("fast no hole", lambda: h.zero(1 << 20, 0, flags=nbd.CMD_FLAG_FAST_ZERO | nbd.CMD_FLAG_NO_HOLE))
try_("read after", lambda: h.pread(4096, 0))
`
	nbdshtest.Expect(t, uri("plain"), plainScript, "fast errno 95", "fast no hole errno 95", "read after ok")
	if data, _ := os.ReadFile(plainPath); !bytes.Equal(data, bytes.Repeat([]byte{0x5a}, 4<<20)) {
		t.Error("a refused fast zero changed the export")
	}
	nbdshtest.Expect(t, uri("plain"), `try_("zero", lambda: h.zero(1 << 20, 0))`, "zero ok")
	if data, _ := os.ReadFile(plainPath); !bytes.Equal(data[:1<<20], make([]byte, 1<<20)) {
		t.Error("WRITE_ZEROES without FAST_ZERO did not zero")
	}

	roScript := `
print("can_fast_zero", h.can_fast_zero())
h.set_strict_mode(0)
try_("fast zero", lambda: h.zero(4096, 0, flags=nbd.CMD_FLAG_FAST_ZERO))
try_("read after", lambda: h.pread(4096, 0))
`
	nbdshtest.Expect(t, uri("ro"), roScript, "can_fast_zero False", "fast zero errno 22", "read after ok")
}

// TestQemuImgConvertOverData: qemu-img convert of a sparse image into an export full of data
// zeroes the holes with WRITE_ZEROES (qemu-img 7.2 sends no FAST_ZERO to an NBD target, with
// or without -n) and the copy is byte-identical.
func TestQemuImgConvertOverData(t *testing.T) {
	needBin(t, "qemu-img")
	src := tempFile(t, 8<<20, false)
	f, err := os.OpenFile(src, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(bytes.Repeat([]byte{7}, 1<<20), 3<<20)
	f.Close()
	dstPath := filepath.Join(t.TempDir(), "dst.img")
	fillFile(t, dstPath, 0x5a, 8<<20)
	ts := startServer(t, "unix", &Server{Exports: StaticExports{"": openCounting(t, dstPath, false)}})
	runCmd(t, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", src, ts.uri)
	if !sameFile(t, src, dstPath) {
		t.Error("qemu-img convert into the export differs from the source")
	}
}
