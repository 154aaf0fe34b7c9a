package mirror_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	_ "github.com/gdmsetup/gdmsetup/targets/all"
)

// rig is a registry over files, with the kernel log kept.
type rig struct{ *dmtest.Rig }

func newRig(t *testing.T) *rig { return &rig{dmtest.New(t)} }

// create makes name from a one-line table whose words naming files of
// Files are replaced by their paths.
func (g *rig) create(name string, lenSectors uint64, table string) error {
	return g.Create(name, lenSectors, "mirror", g.Args(table)...)
}

func (g *rig) mustCreate(name string, lenSectors uint64, table string) *dm.Device {
	g.T.Helper()
	if err := g.create(name, lenSectors, table); err != nil {
		g.T.Fatalf("create %s: %v\n%s", table, err, g.Klog.String())
	}
	return g.Device(name)
}

// line is name's status or table line, files by their names.
func (g *rig) line(name string, status bool) string {
	g.T.Helper()
	return strings.ReplaceAll(g.Line(name, status), g.Files+"/", "")
}

// waitEvent waits (10 s at most) for name's event number to leave nr.
func (g *rig) waitEvent(name string, nr uint32) {
	g.T.Helper()
	d := g.Device(name)
	if !d.WaitEvent(nr, 10*time.Second) {
		g.T.Fatalf("%s: no event after %d; status %s", name, nr, g.line(name, true))
	}
}

func (g *rig) read(path string) []byte {
	g.T.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		g.T.Fatal(err)
	}
	return b
}

// TestConstructorErrors: mirror_ctr's reasons in its order, with the dirty
// log's own warnings before them; every one EINVAL but a missing leg.
func TestConstructorErrors(t *testing.T) {
	g := newRig(t)
	g.File("a", 1<<20, false)
	g.File("b", 1<<20, false)
	g.File("log", 4096, false)
	const n = 2048
	for _, c := range []struct {
		table, warn, reason string
		errno               syscall.Errno
	}{
		{"", "", "Insufficient mirror log arguments", 0},
		{"core", "", "Insufficient mirror log arguments", 0},
		{"core x 1024 2 a 0 b 0", "", "Invalid mirror log argument count", 0},
		{"core -1 1024 2 a 0 b 0", "", "Invalid mirror log argument count", 0},
		{"core 9 1024 2 a 0", "", "Insufficient mirror log arguments", 0},
		{"clustered-disk 1 1024 2 a 0 b 0", `Module for logging type "clustered-disk" not found.`, "Error creating mirror dirty log", 0},
		{"core 0 2 a 0 b 0", "wrong number of arguments to dirty region log", "Error creating mirror dirty log", 0},
		{"core 2 1024 Sync 2 a 0 b 0", "unrecognised sync argument to dirty region log: Sync", "Error creating mirror dirty log", 0},
		{"core 2 1000 foo 2 a 0 b 0", "unrecognised sync argument to dirty region log: foo", "Error creating mirror dirty log", 0},
		{"core 1 1000 2 a 0 b 0", "invalid region size 1000", "Error creating mirror dirty log", 0},
		{"core 1 4096 2 a 0 b 0", "invalid region size 4096", "Error creating mirror dirty log", 0},
		{"core 1 0 2 a 0 b 0", "invalid region size 0", "Error creating mirror dirty log", 0},
		{"disk 3 log 1024 2 a 0 b 0", "unrecognised sync argument to dirty region log: 2", "Error creating mirror dirty log", 0},
		{"disk 2 missing 1024 2 a 0 b 0", "", "Error creating mirror dirty log", 0},
		{"disk 2 log 2 2 a 0 b 0", "", "", 0}, // 1024 regions: 128 bytes of bits fit in 4 KiB
		{"core 1 1024 10 a 0 b 0", "", "Invalid number of mirrors", 0},
		{"core 1 1024 2 a 0 b", "", "Too few mirror arguments", 0},
		{"core 1 1024 2 a +0 b 0", "", "Invalid offset", 0},
		{"core 1 1024 2 a 0 missing x", "", "Invalid offset", 0},
		{"core 1 1024 2 a 0 missing 0", "", "Device lookup failure", syscall.ENODEV},
		{"core 1 1024 2 a 0 b 0 2 handle_errors", "", "Not enough arguments to support feature count", 0},
		{"core 1 1024 2 a 0 b 0 1 HANDLE_ERRORS", "", "Unrecognised feature requested", 0},
		{"core 1 1024 2 a 0 b 0 2 keep_log handle_errors", "", "", 0},
		{"core 1 1024 2 a 0 b 0 1 keep_log", "", "keep_log feature requires the handle_errors feature", 0},
		{"core 1 1024 2 a 0 b 0 0 x", "", "Too many mirror arguments", 0},
	} {
		g.Klog.Reset()
		err := g.create("x", n, c.table)
		if c.reason == "" {
			if err != nil {
				t.Errorf("%q: %v\n%s", c.table, err, g.Klog.String())
			}
			g.Reg.Remove("x")
			continue
		}
		want := ""
		if c.warn != "" {
			want = "device-mapper: dirty region log: " + c.warn + "\n"
		}
		errno := c.errno
		if errno == 0 {
			errno = syscall.EINVAL
		}
		if !errors.Is(err, errno) {
			t.Errorf("%q: error %v, want %v", c.table, err, errno)
		}
		if !strings.HasPrefix(g.Klog.String(), want+"device-mapper: table: 253:0: mirror: "+c.reason+" (") {
			t.Errorf("%q: log\n%s\nwant %s%s", c.table, g.Klog.String(), want, c.reason)
		}
	}
	g.Klog.Reset()
	g.File("tiny", 512, false)
	if err := g.create("x", 1<<20/512, "disk 2 tiny 2 2 a 0 b 0"); !errors.Is(err, syscall.EINVAL) ||
		!strings.Contains(g.Klog.String(), "log device "+g.Path("tiny")+" too small: need 1536 bytes") {
		t.Errorf("a 512-byte log for 1024 regions: %v\n%s", err, g.Klog.String())
	}
}

// TestRecovery: a new mirror copies its default leg to the others, region
// by region (the last one short), and raises its event when all are in
// sync; the table and status are the kernel's.
func TestRecovery(t *testing.T) {
	g := newRig(t)
	a := g.File("a", 8<<20, true)
	b := g.File("b", 8<<20, false)
	c := g.File("c", 8<<20, false)
	const lenSectors = 16000
	g.mustCreate("m", lenSectors, "core 2 1024 sync 3 a 0 b 8 c 16")
	g.waitEvent("m", 0)
	if got := g.line("m", true); got != "3 a b c 16/16 1 AAA 1 core" {
		t.Errorf("status %q", got)
	}
	if got := g.line("m", false); got != "core 2 1024 sync 3 a 0 b 8 c 16" {
		t.Errorf("table %q", got)
	}
	want := g.read(a)[:lenSectors*512]
	if !bytes.Equal(g.read(b)[8*512:8*512+lenSectors*512], want) || !bytes.Equal(g.read(c)[16*512:16*512+lenSectors*512], want) {
		t.Fatal("the legs differ from the default leg after recovery")
	}
	p := dmtest.Random(64 << 10)
	if _, err := g.Device("m").WriteAt(p, 7<<20); err != nil {
		t.Fatal(err)
	}
	for _, leg := range []struct {
		path string
		off  int
	}{{a, 0}, {b, 8 * 512}, {c, 16 * 512}} {
		if !bytes.Equal(g.read(leg.path)[leg.off+7<<20:leg.off+7<<20+64<<10], p) {
			t.Errorf("the write did not reach %s", leg.path)
		}
	}
}

// TestRecoveryAcrossProcesses: a process that ends mid-recovery leaves the
// regions copied so far in sync; the next one goes on from there. A nosync
// core log stays in sync across processes.
func TestRecoveryAcrossProcesses(t *testing.T) {
	g := newRig(t)
	a := g.File("a", 32<<20, true)
	b := g.File("b", 32<<20, false)
	g.mustCreate("m", 32<<20/512, "core 1 8 2 a 0 b 0")
	g.Reopen()
	st := g.line("m", true)
	if !strings.HasPrefix(st, "2 a b ") || !strings.HasSuffix(st, "/8192 1 AA 1 core") {
		t.Fatalf("status %q", st)
	}
	g.waitEvent("m", 0)
	if got := g.line("m", true); got != "2 a b 8192/8192 1 AA 1 core" {
		t.Fatalf("status %q", got)
	}
	if !bytes.Equal(g.read(a), g.read(b)) {
		t.Fatal("legs differ")
	}
	g.mustCreate("n", 2048, "core 2 1024 nosync 2 a 0 b 0")
	g.Reopen()
	if got := g.line("n", true); got != "2 a b 2/2 1 AA 1 core" {
		t.Fatalf("nosync status after a new process: %q", got)
	}
}

// TestDiskLog: the log device holds the kernel's header and clean bits;
// a log written before (by the kernel or by us) decides what is
// recovered; a log told nosync marks every region clean.
func TestDiskLog(t *testing.T) {
	g := newRig(t)
	a := g.File("a", 1<<20, true)
	b := g.File("b", 1<<20, false)
	log := g.File("log", 4096, false)
	g.mustCreate("d", 2048, "disk 2 log 128 2 a 0 b 0")
	g.waitEvent("d", 0)
	if got := g.line("d", true); got != "2 a b 16/16 1 AA 3 disk log A" {
		t.Errorf("status %q", got)
	}
	img := g.read(log)
	want := make([]byte, 4096)
	binary.LittleEndian.PutUint32(want[0:], 0x4D695272)
	binary.LittleEndian.PutUint32(want[4:], 2)
	binary.LittleEndian.PutUint64(want[8:], 16)
	want[1024], want[1025] = 0xff, 0xff
	if !bytes.Equal(img, want) {
		t.Fatalf("log device:\n% x\nwant\n% x", img[:16], want[:16])
	}
	if err := g.Reg.Remove("d"); err != nil {
		t.Fatal(err)
	}
	// regions 3 and 9 dirty, as after a crash; b differs there
	want[1024], want[1025] = 0xf7, 0xfd
	if err := os.WriteFile(log, want, 0o600); err != nil {
		t.Fatal(err)
	}
	junk := dmtest.Random(1 << 20)
	if err := os.WriteFile(b, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	g.mustCreate("d", 2048, "disk 2 log 128 2 a 0 b 0")
	g.waitEvent("d", 0)
	got, wantB := g.read(b), junk
	for _, r := range []int{3, 9} {
		copy(wantB[r*128*512:(r+1)*128*512], g.read(a)[r*128*512:])
	}
	if !bytes.Equal(got, wantB) {
		t.Fatal("recovery copied other regions than the dirty ones")
	}
	if g.read(log)[1024] != 0xff || g.read(log)[1025] != 0xff {
		t.Fatal("recovered regions not clean in the log")
	}
	g.Reg.Remove("d")
	g.mustCreate("d", 2048, "disk 3 log 64 nosync 2 a 0 b 0")
	if got := g.line("d", false); got != "disk 3 log 64 nosync 2 a 0 b 0" {
		t.Errorf("table %q", got)
	}
	if img := g.read(log); binary.LittleEndian.Uint64(img[8:]) != 32 || binary.LittleEndian.Uint32(img[1024:]) != 0xffffffff ||
		binary.LittleEndian.Uint32(img[1028:]) != 0 {
		t.Errorf("nosync log: % x", img[1024:1032])
	}
}

// TestFailedLeg: without handle_errors a write failing on one leg
// succeeds, the leg shows D and the region falls out of sync; the resume
// recovers it (the copy fails too, but counts as done) and the set is in
// sync again with its errors forgotten.
func TestFailedLeg(t *testing.T) {
	g := newRig(t)
	g.File("a", 1<<20, true)
	if err := g.Create("bad", 2048, "error"); err != nil {
		t.Fatal(err)
	}
	g.mustCreate("f", 2048, "core 2 1024 nosync 2 a 0 /dev/mapper/bad 0")
	if _, err := g.Device("f").WriteAt(make([]byte, 4096), 0); err != nil {
		t.Fatal(err)
	}
	if got := g.line("f", true); got != "2 a 253:0 1/2 1 AD 1 core" {
		t.Fatalf("status %q", got)
	}
	if err := g.Reg.Suspend("f"); err != nil {
		t.Fatal(err)
	}
	if err := g.Reg.Resume("f"); err != nil {
		t.Fatal(err)
	}
	g.waitEvent("f", 0)
	if got := g.line("f", true); got != "2 a 253:0 2/2 1 AA 1 core" {
		t.Fatalf("status after recovery %q", got)
	}
	if !strings.Contains(g.Klog.String(), "device-mapper: raid1: Write error during recovery (error = 0x1)") {
		t.Errorf("log %s", g.Klog.String())
	}
}

// TestHandleErrors: a failed default leg's read goes to the next leg (R,
// an event, the kernel's line); with keep_log a write failing on it still
// succeeds (D, another event).
func TestHandleErrors(t *testing.T) {
	g := newRig(t)
	a := g.File("a", 1<<20, true)
	if err := g.Create("bad", 2048, "error"); err != nil {
		t.Fatal(err)
	}
	g.mustCreate("k", 2048, "core 2 1024 nosync 2 /dev/mapper/bad 0 a 0 2 handle_errors keep_log")
	p := make([]byte, 4096)
	if _, err := g.Device("k").ReadAt(p, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p, g.read(a)[:4096]) {
		t.Fatal("read not served by the other leg")
	}
	if got := g.line("k", true); got != "2 253:0 a 2/2 1 RA 1 core" {
		t.Fatalf("status %q", got)
	}
	if !strings.Contains(g.Klog.String(), "device-mapper: raid1: Mirror read failed from 253:0. Trying alternative device.") {
		t.Errorf("log %s", g.Klog.String())
	}
	if _, err := g.Device("k").WriteAt(p, 8192); err != nil {
		t.Fatal(err)
	}
	if got := g.line("k", true); got != "2 253:0 a 1/2 1 DA 1 core" {
		t.Fatalf("status after the write %q", got)
	}
	if in := g.Device("k").Info(); in.EventNr != 2 {
		t.Errorf("event %d, want 2", in.EventNr)
	}
}

// TestMessagesRefused: the target takes no messages.
func TestMessagesRefused(t *testing.T) {
	g := newRig(t)
	g.File("a", 1<<20, false)
	g.File("b", 1<<20, false)
	g.mustCreate("m", 2048, "core 2 1024 nosync 2 a 0 b 0")
	if _, err := g.Reg.Message("m", 0, []string{"foo"}); !errors.Is(err, syscall.EINVAL) ||
		!strings.Contains(g.Klog.String(), "Target type does not support messages") {
		t.Errorf("message: %v %s", err, g.Klog.String())
	}
}

// TestNoflushSuspendRequeuesHeldWrite: with handle_errors and without
// keep_log a write that failed on a leg is held; a noflush suspend sends
// it back to the core instead of failing it, and after a reload without
// the failed leg (what dmeventd does) the resume writes it there.
func TestNoflushSuspendRequeuesHeldWrite(t *testing.T) {
	g := newRig(t)
	a := g.File("a", 1<<20, false)
	if err := g.Create("bad", 2048, "error"); err != nil {
		t.Fatal(err)
	}
	g.mustCreate("h", 2048, "core 2 1024 nosync 2 a 0 /dev/mapper/bad 0 1 handle_errors")
	p := dmtest.Random(4096)
	done := make(chan error, 1)
	go func() {
		_, err := g.Device("h").WriteAt(p, 8192)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the write that failed on a leg was not held: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	dmtest.Within(t, "a noflush suspend with a held write", func() error { return g.Reg.SuspendNoflush("h") }, nil)
	select {
	case err := <-done:
		t.Fatalf("the held write ended at the noflush suspend: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	if err := g.Reg.Load("h", []dm.TargetLine{{Len: 2048, Type: "linear", Args: []string{a, "0"}}}); err != nil {
		t.Fatal(err)
	}
	if err := g.Reg.Resume("h"); err != nil {
		t.Fatal(err)
	}
	dmtest.Within(t, "the requeued write after the resume", func() error { return <-done }, nil)
	if !bytes.Equal(g.read(a)[8192:8192+4096], p) {
		t.Fatal("the requeued write is not on the remaining leg")
	}
}
