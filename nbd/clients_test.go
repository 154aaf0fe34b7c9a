package nbd

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNbdinfoList: nbdinfo --list shows every export with its size.
func TestNbdinfoList(t *testing.T) {
	needBin(t, "nbdinfo")
	for _, network := range networks {
		t.Run(network, func(t *testing.T) {
			a := openCounting(t, tempFile(t, 1<<20, false), false)
			b := openCounting(t, tempFile(t, 3<<20, false), true)
			ts := startServer(t, network, &Server{Exports: StaticExports{"alpha": a, "beta": b}})
			out := runCmd(t, "nbdinfo", "--list", ts.uri)
			for _, want := range []string{`export="alpha"`, `export="beta"`, "export-size: 1048576", "export-size: 3145728", "is_read_only: true"} {
				if !strings.Contains(out, want) {
					t.Errorf("nbdinfo --list: missing %q in\n%s", want, out)
				}
			}
		})
	}
}

// TestNbdinfoMap: nbdinfo --map shows the holes BlockStatus reports.
func TestNbdinfoMap(t *testing.T) {
	needBin(t, "nbdinfo")
	p := tempFile(t, 4<<20, false)
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(bytes.Repeat([]byte{1}, 1<<20), 1<<20)
	f.Close()
	e := openCounting(t, p, false)
	ts := startServer(t, "tcp", &Server{Exports: StaticExports{"": e}})
	out := runCmd(t, "nbdinfo", "--map", ts.uri)
	want := []string{
		fmt.Sprintf("%10d %11d %4d  hole,zero", 0, 1<<20, 3),
		fmt.Sprintf("%10d %11d %4d  data", 1<<20, 1<<20, 0),
		fmt.Sprintf("%10d %11d %4d  hole,zero", 2<<20, 2<<20, 3),
	}
	got := strings.Split(strings.TrimSpace(out), "\n")
	if len(got) != len(want) {
		t.Fatalf("nbdinfo --map: got\n%s\nwant\n%s", out, strings.Join(want, "\n"))
	}
	for i := range want {
		if strings.TrimSpace(got[i]) != strings.TrimSpace(want[i]) {
			t.Errorf("map line %d: got %q want %q", i, got[i], want[i])
		}
	}
	if e.blockStatuses.Load() == 0 {
		t.Error("BlockStatus never called")
	}
}

// TestQemuImgConvertRoundTrip: qemu-img convert of a file into an export and back out is
// byte-identical.
func TestQemuImgConvertRoundTrip(t *testing.T) {
	needBin(t, "qemu-img")
	for _, network := range networks {
		t.Run(network, func(t *testing.T) {
			src := tempFile(t, 8<<20, true)
			dst := tempFile(t, 8<<20, false)
			e := openCounting(t, dst, false)
			ts := startServer(t, network, &Server{Exports: StaticExports{"": e}})
			runCmd(t, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", src, ts.uri)
			back := filepath.Join(t.TempDir(), "back.img")
			runCmd(t, "qemu-img", "convert", "-f", "raw", "-O", "raw", ts.uri, back)
			for _, p := range []string{dst, back} {
				if !sameFile(t, src, p) {
					t.Errorf("%s differs from the source", p)
				}
			}
		})
	}
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	da, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(da, db)
}

// TestQemuIoWriteFlushDiscard: qemu-io write+flush reaches the file and Flush; discard reaches
// Discard and leaves a hole; write -z zeroes.
func TestQemuIoWriteFlushDiscard(t *testing.T) {
	needBin(t, "qemu-io")
	p := tempFile(t, 4<<20, false)
	e := openCounting(t, p, false)
	ts := startServer(t, "unix", &Server{Exports: StaticExports{"": e}})
	runCmd(t, "qemu-io", "-f", "raw", "-c", "write -P 0x5a 65536 131072", "-c", "flush", ts.uri)
	if e.flushes.Load() == 0 {
		t.Error("flush did not reach the export")
	}
	data, _ := os.ReadFile(p)
	if !bytes.Equal(data[65536:65536+131072], bytes.Repeat([]byte{0x5a}, 131072)) || data[65535] != 0 || data[65536+131072] != 0 {
		t.Error("qemu-io write did not reach the file at the right place")
	}
	runCmd(t, "qemu-io", "-f", "raw", "-c", "discard 65536 65536", "-c", "write -z 131072 4096", ts.uri)
	if e.discards.Load() == 0 {
		t.Error("qemu-io discard did not reach Discard")
	}
	data, _ = os.ReadFile(p)
	if !bytes.Equal(data[65536:65536+65536+4096], make([]byte, 65536+4096)) {
		t.Error("discarded/zeroed range does not read back as zeroes")
	}
	exts, err := e.FileExport.BlockStatus(65536, 65536)
	if err != nil || len(exts) == 0 || !exts[0].Hole {
		t.Errorf("discarded range is not a hole: %+v %v", exts, err)
	}
}

// TestNbdcopySparse: nbdcopy of a sparse export skips its holes (it reads only the data) and
// the copy is identical; nbdcopy into the export then out again round-trips.
func TestNbdcopySparse(t *testing.T) {
	needBin(t, "nbdcopy")
	for _, network := range networks {
		t.Run(network, func(t *testing.T) {
			const sizeB = 64 << 20
			p := tempFile(t, sizeB, false)
			f, _ := os.OpenFile(p, os.O_WRONLY, 0)
			f.WriteAt(bytes.Repeat([]byte{7}, 1<<20), 10<<20)
			f.WriteAt(bytes.Repeat([]byte{9}, 1<<20), 40<<20)
			f.Close()
			e := openCounting(t, p, false)
			ts := startServer(t, network, &Server{Exports: StaticExports{"": e}})
			out := filepath.Join(t.TempDir(), "out.img")
			runCmd(t, "nbdcopy", ts.uri, out)
			if !sameFile(t, p, out) {
				t.Fatal("nbdcopy output differs")
			}
			if got := e.readBytes.Load(); got > 8<<20 {
				t.Errorf("nbdcopy read %d bytes of a %d-byte export with 2 MiB of data: holes not skipped", got, sizeB)
			}
			if e.blockStatuses.Load() == 0 {
				t.Error("nbdcopy did not ask for block status")
			}
			src := tempFile(t, sizeB, true)
			runCmd(t, "nbdcopy", "--flush", src, ts.uri)
			if !sameFile(t, src, p) {
				t.Error("nbdcopy into the export differs")
			}
		})
	}
}
