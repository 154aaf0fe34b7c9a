package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// TestServeSparseThin: a thin device's unprovisioned blocks are holes in
// NBD's base:allocation, so nbdinfo --map shows them and nbdcopy copies a
// sparse thin device into a sparse file with the same bytes.
func TestServeSparseThin(t *testing.T) {
	s := newSandbox(t)
	s.thinPool(65536) // 32 MiB virtual, 64 KiB blocks
	data := bytes.Repeat([]byte{0x5a}, 128<<10)
	s.ok(string(data), "write", "thin", "--offset", "8M")
	srv := s.serve()
	m := tool(t, "nbdinfo", "--map", srv.url("thin"))
	// holes before and after the two provisioned blocks at 8 MiB
	var rows []string
	for _, l := range strings.Split(strings.TrimSpace(m), "\n") {
		rows = append(rows, strings.Join(strings.Fields(l), " "))
	}
	wantMap := []string{"0 8388608 3 hole,zero", "8388608 131072 0 data", "8519680 25034752 3 hole,zero"}
	if strings.Join(rows, "\n") != strings.Join(wantMap, "\n") {
		t.Fatalf("nbdinfo --map of a thin device with two blocks at 8 MiB:\n%s", m)
	}
	out := filepath.Join(s.dir, "copy.img")
	tool(t, "nbdcopy", srv.url("thin"), out)
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 32<<20)
	copy(want[8<<20:], data)
	if !bytes.Equal(got, want) {
		t.Fatal("nbdcopy of the thin device differs from its contents")
	}
	if st, err := os.Stat(out); err == nil {
		if blocks := statBlocks(st); blocks*512 > 4<<20 {
			t.Fatalf("nbdcopy's copy of a 128 KiB-full thin device uses %d bytes: holes were not skipped", blocks*512)
		}
	}
}

func statBlocks(st os.FileInfo) int64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Blocks
	}
	return 0
}

// TestServeSparseRestoreToThin copies a sparse image over a thin device
// full of data, with nbdcopy and with qemu-img convert: the device then
// holds the image's bytes, and its holes, sent as WRITE_ZEROES without
// NO_HOLE, unmapped the blocks they cover whole, so the pool's used data
// blocks fall to those the image's data needs. thin_check passes after.
func TestServeSparseRestoreToThin(t *testing.T) {
	s := newSandbox(t)
	s.thinPool(65536) // 32 MiB virtual, 64 KiB blocks
	img := filepath.Join(s.dir, "backup.img")
	want := make([]byte, 32<<20)
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	// 128 KiB at 8 MiB (two blocks), 100 bytes inside the block at 20 MiB
	for _, p := range [][2]int{{8 << 20, 128 << 10}, {20<<20 + 4096, 100}} {
		b := bytes.Repeat([]byte{0x3c}, p[1])
		copy(want[p[0]:], b)
		if _, err := f.WriteAt(b, int64(p[0])); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(32 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	used := func() string { return strings.Fields(s.ok("", "status", "pool"))[5] }
	for _, copier := range [][]string{
		{"nbdcopy", img, "URL"},
		{"qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", img, "URL"},
	} {
		t.Run(copier[0], func(t *testing.T) {
			srv := s.serve()
			tool(t, "qemu-io", "-f", "raw", "-c", "write -P 0x77 0 32M", "-c", "flush", srv.url("thin"))
			if u := used(); u != "512/1024" {
				t.Fatalf("pool used data blocks after filling the thin device: %s", u)
			}
			args := slices.Clone(copier[1:])
			args[len(args)-1] = srv.url("thin")
			tool(t, copier[0], args...)
			if code := srv.stop(); code != 0 {
				t.Fatalf("SIGTERM: exit %d\n%s", code, srv.stderr)
			}
			if got := []byte(s.ok("", "read", "thin")); !bytes.Equal(got, want) {
				t.Fatalf("thin device after %s: %d bytes differ from the image", copier[0], countDiff(got, want))
			}
			if u := used(); u != "3/1024" {
				t.Fatalf("pool used data blocks after %s of a 3-block sparse image: %s", copier[0], u)
			}
			dmtest.RunPeer(t, "thin_check", filepath.Join(s.dir, "meta.img"))
		})
	}
}
