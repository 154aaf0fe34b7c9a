package snapshot_test

import (
	"bytes"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// kernelExceptions are the exceptions of testdata/kernel-cow.img.gz, the
// COW device Linux 6.1 wrote for testdata/kernel-cow.scn (4 KiB chunks:
// origin writes of 16 KiB at 0 and 512 bytes at 100 KiB, snapshot writes
// of 2 KiB at 32 KiB and 4 KiB at 64 KiB).
var kernelExceptions = [][2]uint64{{0, 2}, {1, 3}, {2, 4}, {3, 5}, {25, 6}, {8, 7}, {16, 8}}

// TestKernelImage: a COW device the kernel wrote opens with the same
// status and reads back chunk for chunk (over an origin of zeros here, so
// every chunk without an exception reads as zeros); a write through
// gdmsetup appends its exception after the kernel's, changing nothing
// else but its data chunk.
func TestKernelImage(t *testing.T) {
	g := newRig(t)
	dmtest.Gunzip(t, "testdata/kernel-cow.img.gz", g.Path("kcow"))
	g.File("zeros", 256<<10, false)
	img := readCOW(t, g.Path("kcow"))
	if len(img.exceptions) != len(kernelExceptions) {
		t.Fatalf("kernel image exceptions %v", img.exceptions)
	}
	for i, e := range img.exceptions {
		if e != kernelExceptions[i] {
			t.Fatalf("kernel image exception %d: %v", i, e)
		}
	}
	g.mustCreate("k", 512, "snapshot", "zeros kcow P 8")
	if got := g.status("k"); got != "72/128 16" {
		t.Fatalf("status %q, the kernel's is 72/128 16", got)
	}
	got := g.mustRead("k", 0, 256<<10)
	want := make([]byte, 256<<10)
	for _, e := range kernelExceptions {
		copy(want[e[0]*4096:], img.chunk(e[1]))
	}
	dmtest.MustEqual(t, "snapshot of the kernel's COW device", got, want)

	p := dmtest.Random(1024)
	g.mustWrite("k", 40*4096+512, p)
	after := readCOW(t, g.Path("kcow"))
	if n := len(after.exceptions); n != 8 || after.exceptions[7] != [2]uint64{40, 9} {
		t.Fatalf("exceptions after a write: %v", after.exceptions)
	}
	wantChunk := make([]byte, 4096)
	copy(wantChunk[512:], p)
	dmtest.MustEqual(t, "new chunk", after.chunk(9), wantChunk)
	// the area differs by the new entry only, and no other chunk changed
	area := append([]byte(nil), img.raw[4096:8192]...)
	copy(area[7*16:], after.raw[4096+7*16:4096+8*16])
	if !bytes.Equal(area, after.raw[4096:8192]) || !bytes.Equal(img.raw[:4096], after.raw[:4096]) ||
		!bytes.Equal(img.raw[8192:9*4096], after.raw[8192:9*4096]) || !bytes.Equal(img.raw[10*4096:], after.raw[10*4096:]) {
		t.Fatal("the write changed more of the kernel's COW device than its exception and chunk")
	}
}
