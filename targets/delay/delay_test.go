package delay_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	_ "github.com/gdmsetup/gdmsetup/targets/all"
)

// rig is a registry over three 1 MiB files a, b and c in Files, with the
// kernel log kept.
type rig struct{ *dmtest.Rig }

const fileBytes = 1 << 20

func newRig(t *testing.T) *rig {
	t.Helper()
	g := &rig{Rig: dmtest.New(t)}
	for _, n := range []string{"a", "b", "c"} {
		g.File(n, fileBytes, false)
	}
	return g
}

func (g *rig) create(name string, lenSectors uint64, typ, table string) error {
	return g.Create(name, lenSectors, typ, g.Args(table)...)
}

func (g *rig) mustCreate(name string, lenSectors uint64, table string) *dm.Device {
	g.T.Helper()
	return g.MustCreate(name, lenSectors, "delay", g.Args(table)...)
}

// line returns the status (or table) parameters of name's one target, the
// files a, b and c by their names.
func (g *rig) line(name string, status bool) string {
	g.T.Helper()
	return strings.ReplaceAll(g.Line(name, status), g.Files+"/", "")
}

// waitStatus polls name's status until it is want (at most 10 s).
func (g *rig) waitStatus(name, want string) {
	g.T.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		got := g.line(name, true)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			g.T.Fatalf("status of %s is %q after 10 s, want %q", name, got, want)
		}
	}
}

// fileAt reads n bytes of file name at off.
func (g *rig) fileAt(name string, off, n int64) []byte {
	g.T.Helper()
	b, err := os.ReadFile(g.Path(name))
	if err != nil {
		g.T.Fatal(err)
	}
	return b[off : off+n]
}

// TestConstructorErrors: delay_ctr's messages and errnos in its order: the
// count, then per class the offset, the delay (both sscanf: no sign,
// overflow wraps) and the device.
func TestConstructorErrors(t *testing.T) {
	g := newRig(t)
	for _, c := range []struct {
		table, msg string
		errno      syscall.Errno
	}{
		{"", "Requires exactly 3, 6 or 9 arguments", syscall.EINVAL},
		{"a 0", "Requires exactly 3, 6 or 9 arguments", syscall.EINVAL},
		{"a 0 0 b 0 0 c 0", "Requires exactly 3, 6 or 9 arguments", syscall.EINVAL},
		{"a 0 0 b 0 0 c 0 0 x", "Requires exactly 3, 6 or 9 arguments", syscall.EINVAL},
		{"a +1 0", "Invalid device sector", syscall.EINVAL},
		{"a -1 0", "Invalid device sector", syscall.EINVAL},
		{"a 0 +5", "Invalid delay", syscall.EINVAL},
		{"a 0 5ms", "Invalid delay", syscall.EINVAL},
		{"missing 0 0", "Device lookup failed", syscall.ENODEV},
		{"missing x 0", "Invalid device sector", syscall.EINVAL},
		{"missing 0 x", "Invalid delay", syscall.EINVAL},
		{"a 0 0 missing 0 0", "Device lookup failed", syscall.ENODEV},
		{"a 0 0 missing x 0", "Invalid device sector", syscall.EINVAL},
		{"a 0 0 b 0 0 missing 0 0", "Device lookup failed", syscall.ENODEV},
		{"a 0 0 b 0 0 c 0 -1", "Invalid delay", syscall.EINVAL},
	} {
		g.Klog.Reset()
		err := g.create("d", 8, "delay", c.table)
		if !errors.Is(err, c.errno) {
			t.Errorf("%q: error %v, want %v", c.table, err, c.errno)
		}
		want := fmt.Sprintf("delay: %s (-%s)", c.msg, map[syscall.Errno]string{syscall.EINVAL: "EINVAL", syscall.ENODEV: "ENODEV"}[c.errno])
		if !strings.Contains(g.Klog.String(), want) {
			t.Errorf("%q: kernel log %q, want %q", c.table, g.Klog.String(), want)
		}
	}
	// each class's device range is checked with the target's length
	g.Klog.Reset()
	if err := g.create("d", 8, "delay", "a 0 0 b 0 0 c 2041 0"); !errors.Is(err, syscall.EINVAL) ||
		!strings.Contains(g.Klog.String(), "too small for target: start=2041, len=8, dev_size=2048") {
		t.Errorf("flush device too small: %v\n%s", err, g.Klog.String())
	}
	g.mustCreate("d", 8, "a 18446744073709551617 4294967297 b 2040 0")
	if got, want := g.line("d", false), "a 1 1 b 2040 0"; got != want {
		t.Errorf("table %q, want %q (numbers wrap as sscanf's)", got, want)
	}
}

// TestRouting: reads go to the read class's device, writes and discards to
// the write class's, each at its offset; table and status print the kernel's lines.
func TestRouting(t *testing.T) {
	g := newRig(t)
	d := g.mustCreate("d", 256, "a 0 0 b 128 0 c 512 0")
	if got, want := g.line("d", false), "a 0 0 b 128 0 c 512 0"; got != want {
		t.Fatalf("table %q, want %q", got, want)
	}
	if got := g.line("d", true); got != "0 0 0" {
		t.Fatalf("status %q", got)
	}
	data := dmtest.Random(8192)
	if _, err := d.WriteAt(data, 4096); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g.fileAt("b", 128*512+4096, 8192), data) {
		t.Fatal("the write did not land on the write device at its offset")
	}
	if !bytes.Equal(g.fileAt("a", 4096, 8192), make([]byte, 8192)) || !bytes.Equal(g.fileAt("c", 512*512+4096, 8192), make([]byte, 8192)) {
		t.Fatal("the write reached the read or flush device")
	}
	rdata := dmtest.Random(8192)
	if err := os.WriteFile(g.Path("a"), append(rdata, make([]byte, fileBytes-len(rdata))...), 0o600); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 8192)
	if _, err := d.ReadAt(got, 0); err != nil || !bytes.Equal(got, rdata) {
		t.Fatalf("read did not come from the read device: %v", err)
	}
	if err := d.Discard(4096, 4096); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g.fileAt("b", 128*512+4096, 4096), make([]byte, 4096)) || !bytes.Equal(g.fileAt("b", 128*512+8192, 4096), data[4096:]) {
		t.Fatal("the discard did not punch exactly its range of the write device")
	}
	if !bytes.Equal(g.fileAt("a", 0, 8192), rdata) {
		t.Fatal("the discard reached the read device")
	}
}

// TestDelayLowerBound: an I/O of a delayed class takes at least its delay
// (only a lower bound: the machine may be slow).
func TestDelayLowerBound(t *testing.T) {
	g := newRig(t)
	d := g.mustCreate("d", 8, "a 0 0 b 0 150")
	start := time.Now()
	if _, err := d.WriteAt(make([]byte, 512), 0); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Fatalf("a write with a 150 ms delay took %v", el)
	}
}

// TestConcurrentDelaysReleasedBySuspend: many I/Os wait at once (status
// counts them by class, read while they wait), a suspend lets every one go
// and they complete; until the resume I/O is not delayed; after it, it is
// again, and a remove lets it go too.
func TestConcurrentDelaysReleasedBySuspend(t *testing.T) {
	g := newRig(t)
	const hour = "3600000"
	d := g.mustCreate("d", 2048, "a 0 "+hour+" b 0 "+hour+" c 0 "+hour)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 8 {
		wg.Go(func() {
			_, err := d.ReadAt(make([]byte, 4096), int64(i)*4096)
			errs <- err
		})
	}
	for i := range 3 {
		wg.Go(func() {
			_, err := d.WriteAt(make([]byte, 4096), int64(i)*4096)
			errs <- err
		})
	}
	wg.Go(func() { errs <- d.Flush() })
	g.waitStatus("d", "8 3 1")

	dmtest.Within(t, "suspend (it releases the delayed I/O)", func() error { return g.Reg.Suspend("d") }, nil)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("released I/O failed: %v", err)
		}
	}
	if got := g.line("d", true); got != "0 0 0" {
		t.Fatalf("status after suspend %q", got)
	}
	if err := g.Reg.Resume("d"); err != nil {
		t.Fatal(err)
	}
	read := make(chan error, 1)
	go func() {
		_, err := d.ReadAt(make([]byte, 512), 0)
		read <- err
	}()
	g.waitStatus("d", "1 0 0")
	dmtest.Within(t, "remove", func() error { return g.Reg.Remove("d") }, nil)
	dmtest.Within(t, "the read released by remove", func() error { return <-read }, nil)
}

// TestFlushGoesToFlushDevice: a flush waits for the flush delay and goes to
// the flush class's device only: here a lower delay device whose own flush
// delay holds it, seen in that device's status.
func TestFlushGoesToFlushDevice(t *testing.T) {
	g := newRig(t)
	g.mustCreate("lower", 2048, "a 0 0 a 0 0 a 0 3600000")
	g.mustCreate("rw", 2048, "b 0 3600000")
	up := g.mustCreate("up", 2048, "/dev/mapper/rw 0 0 /dev/mapper/rw 0 0 /dev/mapper/lower 0 0")
	flushed := make(chan error, 1)
	go func() { flushed <- up.Flush() }()
	g.waitStatus("lower", "0 0 1")
	if got := g.line("rw", true); got != "0 0 0" {
		t.Fatalf("the read/write device got a flush: status %q", got)
	}
	dmtest.Within(t, "suspend of the lower device", func() error { return g.Reg.Suspend("lower") }, nil)
	dmtest.Within(t, "the flush released", func() error { return <-flushed }, nil)
}

// TestDiscardsNeedEveryDevice: discards are taken only when all three
// classes' devices take them (iterate_devices covers them all), though
// they go to the write device alone.
func TestDiscardsNeedEveryDevice(t *testing.T) {
	g := newRig(t)
	if err := g.create("z", 2048, "zero", ""); err != nil {
		t.Fatal(err)
	}
	d := g.mustCreate("d", 2048, "a 0 0 b 0 0 /dev/mapper/z 0 0")
	if err := d.Discard(0, 4096); !errors.Is(err, syscall.EOPNOTSUPP) {
		t.Fatalf("discard with a zero device as flush device: %v", err)
	}
}

// TestMayWait: a device with a delay says its I/O may wait (what keeps the NBD
// server from serving its requests on a connection's reader), and so does a
// device stacked on it; one without a delay, or over plain files, does not.
func TestMayWait(t *testing.T) {
	g := newRig(t)
	g.mustCreate("slow", 64, "a 0 0 a 0 500")
	g.mustCreate("none", 64, "a 0 0")
	if err := g.Reg.Create("top", "", []dm.TargetLine{{Len: 64, Type: "linear", Args: []string{"/dev/mapper/slow", "0"}}}, false); err != nil {
		t.Fatal(err)
	}
	if err := g.Reg.Create("plain", "", []dm.TargetLine{{Len: 64, Type: "linear", Args: g.Args("b 0")}}, false); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"slow": true, "none": false, "top": true, "plain": false} {
		d, _ := g.Reg.Lookup(name)
		if err := d.Prepare(); err != nil {
			t.Fatal(err)
		}
		if got := d.MayWait(); got != want {
			t.Errorf("%s: MayWait %v, want %v", name, got, want)
		}
	}
}
