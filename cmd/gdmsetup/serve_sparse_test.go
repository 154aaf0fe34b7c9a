package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
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
