package snapshot_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// TestOriginWritesCOW: writes through the origin copy each chunk into
// both snapshots (4 KiB and 8 KiB chunks) before landing; the COW devices
// hold the kernel's layout: the header, the exceptions in allocation order
// in area 0, the old data in the chunks they name.
func TestOriginWritesCOW(t *testing.T) {
	g := newRig(t)
	g.File("cow", 512<<10, false)
	g.File("cow2", 512<<10, false)
	before, _ := os.ReadFile(g.Path("base"))
	g.stack([2]string{"s1", "cow P 8"}, [2]string{"s2", "cow2 P 16"})
	a, b := dmtest.Random(64<<10), dmtest.Random(512)
	g.mustWrite("origin", 0, a)
	g.mustWrite("origin", 100<<10, b)
	g.mustWrite("origin", 4<<10, dmtest.Random(4<<10)) // already copied: nothing new

	after := append([]byte(nil), before...)
	copy(after, a)
	copy(after[100<<10:], b)
	after = append(after[:4<<10], append(g.mustRead("origin", 4<<10, 4<<10), after[8<<10:]...)...)
	dmtest.MustEqual(t, "origin", g.mustRead("origin", 0, baseBytes), after)
	dmtest.MustEqual(t, "s1", g.mustRead("s1", 0, baseBytes), before)
	dmtest.MustEqual(t, "s2", g.mustRead("s2", 0, baseBytes), before)

	for _, c := range []struct {
		cow          string
		chunkSectors uint32
		status       string
	}{{"cow", 8, "152/1024 16"}, {"cow2", 16, "176/1024 32"}} {
		img := readCOW(t, g.Path(c.cow))
		if img.magic != 0x70416e53 || img.valid != 1 || img.version != 1 || img.chunkSectors != c.chunkSectors {
			t.Fatalf("%s header %+v", c.cow, img)
		}
		cb := uint64(c.chunkSectors) * 512
		var want [][2]uint64
		for old := uint64(0); old*cb < 64<<10; old++ {
			want = append(want, [2]uint64{old, old + 2})
		}
		want = append(want, [2]uint64{100 << 10 / cb, uint64(len(want)) + 2})
		if len(img.exceptions) != len(want) {
			t.Fatalf("%s exceptions %v, want %v", c.cow, img.exceptions, want)
		}
		for i, e := range img.exceptions {
			if e != want[i] {
				t.Fatalf("%s exception %d: %v, want %v", c.cow, i, e, want[i])
			}
			dmtest.MustEqual(t, c.cow+" chunk data", img.chunk(e[1]), before[e[0]*cb:(e[0]+1)*cb])
		}
	}
	if got := g.status("s1"); got != "152/1024 16" {
		t.Fatalf("s1 status %q", got)
	}
	if got := g.status("s2"); got != "176/1024 32" {
		t.Fatalf("s2 status %q", got)
	}
}

// TestSnapshotWrites: a partial write copies the chunk from the origin
// first; a whole-chunk write is the exception's data; a write across
// chunks does both; the origin never changes.
func TestSnapshotWrites(t *testing.T) {
	g := newRig(t)
	g.File("cow", 512<<10, false)
	before, _ := os.ReadFile(g.Path("base"))
	g.stack([2]string{"s", "cow P 8"})
	p1, p2, p3 := dmtest.Random(1024), dmtest.Random(8<<10), dmtest.Random(5<<10)
	g.mustWrite("s", 200<<10+512, p1)
	g.mustWrite("s", 256<<10, p2)
	g.mustWrite("s", 300<<10+512, p3)
	want := append([]byte(nil), before...)
	copy(want[200<<10+512:], p1)
	copy(want[256<<10:], p2)
	copy(want[300<<10+512:], p3)
	dmtest.MustEqual(t, "snapshot", g.mustRead("s", 0, baseBytes), want)
	dmtest.MustEqual(t, "origin", g.mustRead("origin", 0, baseBytes), before)
	img := readCOW(t, g.Path("cow"))
	wantEx := [][2]uint64{{50, 2}, {64, 3}, {65, 4}, {75, 5}, {76, 6}}
	if len(img.exceptions) != len(wantEx) {
		t.Fatalf("exceptions %v, want %v", img.exceptions, wantEx)
	}
	for i, e := range img.exceptions {
		if e != wantEx[i] {
			t.Fatalf("exception %d: %v, want %v", i, e, wantEx[i])
		}
		dmtest.MustEqual(t, "COW chunk", img.chunk(e[1]), want[e[0]*4096:(e[0]+1)*4096])
	}
}

// TestAreas: the 257th exception of 4 KiB chunks goes into area 1, after
// the 256 data chunks of area 0; area 1 was zeroed when area 0 filled.
func TestAreas(t *testing.T) {
	g := newRig(t)
	g.File("cow", 2<<20, false)
	g.stack([2]string{"s", "cow P 8"})
	for i := 0; i < 257; i++ {
		g.mustWrite("origin", int64(i)*4096, dmtest.Random(4096))
	}
	img := readCOW(t, g.Path("cow"))
	if len(img.exceptions) != 257 {
		t.Fatalf("%d exceptions", len(img.exceptions))
	}
	if e := img.exceptions[255]; e != [2]uint64{255, 257} {
		t.Fatalf("last of area 0: %v", e)
	}
	if e := img.exceptions[256]; e != [2]uint64{256, 259} {
		t.Fatalf("first of area 1 (after its metadata chunk 258): %v", e)
	}
	if got := g.status("s"); got != "2080/4096 24" {
		t.Fatalf("status %q", got)
	}
	g.Reopen()
	if got := g.status("s"); got != "2080/4096 24" {
		t.Fatalf("status after reopening %q", got)
	}
}

// TestFull: a COW device with room for 14 chunks: the 15th origin write
// invalidates the snapshot (log line, event, header valid = 0, I/O
// refused, still invalid when reopened); with PO a snapshot write past
// the end marks it overflowed (writes refused, reads served) until an
// origin write needs a chunk; a transient store fills the same way; a
// COW device without room for the next metadata area invalidates with an
// I/O error.
func TestFull(t *testing.T) {
	g := newRig(t)
	g.File("small", 64<<10, false)
	g.File("small2", 64<<10, false)
	g.File("small3", 32<<10, false)
	g.File("edge", 258*4096, false)
	g.stack([2]string{"s", "small P 8"}, [2]string{"o", "small2 PO 8"}, [2]string{"n", "small3 N 8"})
	g.mustWrite("o", 0, dmtest.Random(56<<10))
	if err := g.write("o", 56<<10, dmtest.Random(4096)); err == nil {
		t.Fatal("write past a full PO COW device accepted")
	}
	if !strings.Contains(g.Klog.String(), "device-mapper: snapshots: Snapshot overflowed: Unable to allocate exception.\n") {
		t.Fatalf("no overflow line:\n%s", g.Klog.String())
	}
	if got := g.status("o"); got != "Overflow" {
		t.Fatalf("PO status %q", got)
	}
	if err := g.write("o", 0, dmtest.Random(4096)); err == nil {
		t.Fatal("write to an overflowed snapshot accepted")
	}
	g.mustRead("o", 0, baseBytes)

	g.mustWrite("n", 0, dmtest.Random(32<<10))
	ev := g.Device("s").EventNr()
	g.Klog.Reset()
	g.mustWrite("origin", 0, dmtest.Random(56<<10))
	if got := g.status("s"); got != "128/128 16" {
		t.Fatalf("full status %q", got)
	}
	g.mustWrite("origin", 56<<10, dmtest.Random(4096))
	for _, name := range []string{"s", "o", "n"} {
		if got := g.status(name); got != "Invalid" {
			t.Fatalf("%s status %q after the origin write", name, got)
		}
		if _, err := g.read(name, 0, 4096); err == nil {
			t.Fatalf("%s: read of an invalid snapshot served", name)
		}
	}
	if n := strings.Count(g.Klog.String(), "device-mapper: snapshots: Invalidating snapshot: Unable to allocate exception.\n"); n != 3 {
		t.Fatalf("%d invalidation lines:\n%s", n, g.Klog.String())
	}
	if g.Device("s").EventNr() != ev+1 {
		t.Fatal("no event")
	}
	if img := readCOW(t, g.Path("small")); img.valid != 0 || len(img.exceptions) != 14 {
		t.Fatalf("header valid %d, %d exceptions", img.valid, len(img.exceptions))
	}
	g.Reopen()
	if got := g.status("n"); got != "Invalid" {
		t.Fatalf("transient status %q in a new process", got)
	}
	if err := g.Reg.Remove("s"); err != nil {
		t.Fatal(err)
	}
	g.Klog.Reset()
	g.mustCreate("s", baseBytes/512, "snapshot", "/dev/mapper/lbase small P 8")
	if got := g.status("s"); got != "Invalid" || !strings.Contains(g.Klog.String(), "device-mapper: snapshots: Snapshot is marked invalid.\n") {
		t.Fatalf("reopened invalid COW: status %q\n%s", got, g.Klog.String())
	}

	// 256 data chunks fit, but area 1 (chunk 258) lies past the end
	g.mustCreate("e", baseBytes/512, "snapshot", "/dev/mapper/lbase edge P 8")
	g.Klog.Reset()
	for i := 0; i < 256; i++ {
		g.mustWrite("origin", int64(i)*4096, dmtest.Random(4096))
	}
	if got := g.status("e"); got != "Invalid" ||
		!strings.Contains(g.Klog.String(), "device-mapper: snapshots: Invalidating snapshot: Error reading/writing.\n") {
		t.Fatalf("status %q\n%s", got, g.Klog.String())
	}
	if fi, _ := os.Stat(g.Path("edge")); fi.Size() != 258*4096 {
		t.Fatalf("the COW file grew to %d bytes", fi.Size())
	}
	if img := readCOW(t, g.Path("edge")); img.valid != 0 || len(img.exceptions) != 255 {
		t.Fatalf("edge: header valid %d, %d exceptions", img.valid, len(img.exceptions))
	}
}

// TestDiscards: the origin and a snapshot without discard_zeroes_cow take
// none; with it, a whole chunk with an exception is zeroed on the COW
// device, a partial one discarded there, a chunk without one left alone,
// and discard_passdown_origin discards the origin too.
func TestDiscards(t *testing.T) {
	g := newRig(t)
	g.File("cow", 512<<10, false)
	g.File("cow2", 512<<10, false)
	before, _ := os.ReadFile(g.Path("base"))
	g.stack([2]string{"plain", "cow P 8"}, [2]string{"z", "cow2 P 8 2 discard_zeroes_cow discard_passdown_origin"})
	if err := g.Device("origin").Discard(0, 4096); err == nil {
		t.Fatal("origin took a discard")
	}
	if err := g.Device("plain").Discard(0, 4096); err == nil {
		t.Fatal("snapshot without discard_zeroes_cow took a discard")
	}
	g.mustWrite("z", 0, dmtest.Random(8192))
	if err := g.Device("z").Discard(0, 4096+1024); err != nil {
		t.Fatal(err)
	}
	got := g.mustRead("z", 0, 8192)
	if !bytes.Equal(got[:5120], make([]byte, 5120)) {
		t.Fatal("discarded exception chunks not zero")
	}
	if err := g.Device("z").Discard(64<<10, 4096); err != nil {
		t.Fatal(err)
	}
	if img := readCOW(t, g.Path("cow2")); len(img.exceptions) != 2 {
		t.Fatalf("exceptions after discards: %v", img.exceptions)
	}
	base, _ := os.ReadFile(g.Path("base"))
	if !bytes.Equal(base[64<<10:68<<10], make([]byte, 4096)) || !bytes.Equal(base[68<<10:], before[68<<10:]) {
		t.Fatal("passdown did not discard the origin's range, or more")
	}
}

// TestFillInOneWrite: one origin write needing 8 chunks where 4 are left:
// the 4 allocated are committed with the write's batch to a store the
// 5th has invalidated, so, as in the kernel, the COW device keeps only
// the exceptions of the writes before.
func TestFillInOneWrite(t *testing.T) {
	g := newRig(t)
	g.File("small", 64<<10, false)
	g.stack([2]string{"s", "small P 8"})
	g.mustWrite("origin", 0, dmtest.Random(40<<10))
	g.mustWrite("origin", 40<<10, dmtest.Random(32<<10))
	if got := g.status("s"); got != "Invalid" {
		t.Fatalf("status %q", got)
	}
	if img := readCOW(t, g.Path("small")); img.valid != 0 || len(img.exceptions) != 10 {
		t.Fatalf("header valid %d, %d exceptions on disk", img.valid, len(img.exceptions))
	}
}
