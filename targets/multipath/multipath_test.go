package multipath_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
	_ "github.com/gdmsetup/gdmsetup/targets/all"
	"github.com/gdmsetup/gdmsetup/targets/multipath"
)

// devSectors is the size of every path and multipath device here.
const devSectors = 2048

// rig is a registry over files, with the kernel log kept.
type rig struct{ *dmtest.Rig }

func newRig(t *testing.T) *rig { return &rig{dmtest.New(t)} }

// create makes a multipath device name from a table whose words naming
// files of Files are replaced by their paths.
func (g *rig) create(name, table string) error {
	return g.Create(name, devSectors, "multipath", g.Args(table)...)
}

func (g *rig) mustCreate(name, table string) {
	g.T.Helper()
	if err := g.create(name, table); err != nil {
		g.T.Fatalf("create %s: %v\n%s", table, err, g.Klog.String())
	}
}

// line is name's status or table line, files by their names.
func (g *rig) line(name string, status bool) string {
	g.T.Helper()
	return strings.ReplaceAll(g.Line(name, status), g.Files+"/", "")
}

// disks makes files a, b, c, each of devSectors filled with its own byte
// ('a', 'b', 'c'), so a read shows the path it came from.
func (g *rig) disks() {
	for _, n := range []string{"a", "b", "c"} {
		if err := os.WriteFile(g.Path(n), bytes.Repeat([]byte(n), devSectors*targets.SectorSize), 0o600); err != nil {
			g.T.Fatal(err)
		}
	}
}

// readFrom reads the first sector of name and returns the byte it holds
// (the path it came from), or the error.
func (g *rig) readFrom(name string) (byte, error) { return readFirstByte(g.Device(name)) }

// readFirstByte reads d's first sector and returns its first byte.
func readFirstByte(d *dm.Device) (byte, error) {
	p := make([]byte, targets.SectorSize)
	if _, err := d.ReadAt(p, 0); err != nil {
		return 0, err
	}
	return p[0], nil
}

// backgroundRead is a read of a device's first sector running on its own
// (one that may be queued or held): done gets its error, after which got
// is the first byte it read (the path it came from).
type backgroundRead struct {
	got  byte
	done chan error
}

// startRead starts a backgroundRead of name.
func (g *rig) startRead(name string) *backgroundRead {
	r := &backgroundRead{done: make(chan error, 1)}
	d := g.Device(name)
	go func() {
		var err error
		r.got, err = readFirstByte(d)
		r.done <- err
	}()
	return r
}

// paths reads name n times and returns the paths the reads came from.
func (g *rig) paths(name string, n int) string {
	g.T.Helper()
	var b strings.Builder
	for range n {
		c, err := g.readFrom(name)
		if err != nil {
			g.T.Fatalf("read %s: %v\n%s", name, err, g.Klog.String())
		}
		b.WriteByte(c)
	}
	return b.String()
}

func (g *rig) message(name string, words ...string) error {
	_, err := g.Reg.Message(name, 0, words)
	return err
}

func (g *rig) mustMessage(name string, words ...string) {
	g.T.Helper()
	if err := g.message(name, words...); err != nil {
		g.T.Fatalf("message %s %v: %v\n%s", name, words, err, g.Klog.String())
	}
}

// TestConstructorErrors: multipath_ctr's reasons in its order, each with
// its errno.
func TestConstructorErrors(t *testing.T) {
	g := newRig(t)
	g.disks()
	for _, c := range []struct {
		table, reason string
		errno         syscall.Errno
	}{
		{"", "invalid number of feature args", syscall.EINVAL},
		{"2 queue_if_no_path", "invalid number of feature args", syscall.EINVAL},
		{"1 bogus 0 0 0", "Unrecognised multipath feature request", syscall.EINVAL},
		{"1 pg_init_retries 0 0 0", "Unrecognised multipath feature request", syscall.EINVAL},
		{"2 pg_init_retries 51 0 0 0", "pg_init_retries must be between 1 and 50", syscall.EINVAL},
		{"2 pg_init_delay_msecs 60001 0 0 0", "pg_init_delay_msecs must be between 0 and 60000", syscall.EINVAL},
		{"2 queue_mode foo 0 0 0", "Unknown 'queue_mode' requested", syscall.EINVAL},
		{"0 5 alua 0 0", "invalid number of hardware handler args", syscall.EINVAL},
		{"0 0", "invalid number of priority groups", syscall.EINVAL},
		{"0 0 1", "invalid initial priority group number", syscall.EINVAL},
		{"0 0 1 0", "invalid initial priority group", syscall.EINVAL},
		{"0 0 1 1 round-robin", "not enough priority group arguments", syscall.EINVAL},
		{"0 0 1 1 bogus 0 1 0 a", "unknown path selector type", syscall.EINVAL},
		{"0 0 1 1 round-robin 9 x 1 0 a", "invalid number of path selector args", syscall.EINVAL},
		{"0 0 1 1 round-robin 0 0 0 a", "invalid number of paths", syscall.EINVAL},
		{"0 0 1 1 round-robin 0 2 0 a", "not enough path parameters", syscall.EINVAL},
		{"0 0 1 1 round-robin 0 1 2 a 1 1", "round-robin ps: incorrect number of arguments", syscall.EINVAL},
		{"0 0 1 1 round-robin 0 1 1 a x", "round-robin ps: invalid repeat count", syscall.EINVAL},
		{"0 0 1 1 round-robin 0 1 0 missing", "error getting device", syscall.ENODEV},
		{"0 0 1 1 service-time 0 1 2 a 1 101", "service-time ps: invalid relative_throughput value", syscall.EINVAL},
		{"0 0 2 1 round-robin 0 1 0 a", "priority group count mismatch", syscall.EINVAL},
		{"0 1 alua 1 1 round-robin 0 1 0 a", "error attaching hardware handler", syscall.ENODEV},
	} {
		g.Klog.Reset()
		err := g.create("x", c.table)
		if !errors.Is(err, c.errno) {
			t.Errorf("%q: error %v, want %v", c.table, err, c.errno)
		}
		if !strings.HasPrefix(g.Klog.String(), "device-mapper: table: 253:0: multipath: "+c.reason+" (") {
			t.Errorf("%q: log\n%s\nwant %s", c.table, g.Klog.String(), c.reason)
		}
	}
}

// TestTableAndStatus: canonical tables (queue_mode bio retains attached
// handlers; repeat counts above 1 taken as 1, with the selector's
// warning), and the status before and after the first I/O.
func TestTableAndStatus(t *testing.T) {
	g := newRig(t)
	g.disks()
	g.mustCreate("x", "6 QUEUE_IF_NO_PATH pg_init_retries 3 pg_init_delay_msecs 0 retain_attached_hw_handler 0 1 1 round-robin 1 ignored 2 1 a 5 b 1")
	if got, want := g.line("x", false), "6 queue_if_no_path pg_init_retries 3 pg_init_delay_msecs 0 retain_attached_hw_handler 0 1 1 round-robin 0 2 1 a 1 b 1 "; got != want {
		t.Errorf("table %q, want %q", got, want)
	}
	if !strings.Contains(g.Klog.String(), "device-mapper: multipath round-robin: repeat_count > 1 is deprecated, using 1 instead\n") {
		t.Errorf("no deprecation warning:\n%s", g.Klog.String())
	}
	if got, want := g.line("x", true), "2 1 0 0 1 1 E 0 2 0 a A 0 b A 0 "; got != want {
		t.Errorf("status %q, want %q", got, want)
	}
	g.paths("x", 1)
	if got, want := g.line("x", true), "2 0 0 0 1 1 A 0 2 0 a A 0 b A 0 "; got != want {
		t.Errorf("status after a read %q, want %q", got, want)
	}
	g.mustCreate("y", "2 queue_mode bio 0 2 2 queue-length 0 1 1 a 1 service-time 0 1 2 b 1 7")
	if got, want := g.line("y", false), "3 retain_attached_hw_handler queue_mode bio 0 2 2 queue-length 0 1 1 a 1 service-time 0 1 2 b 1 7 "; got != want {
		t.Errorf("table %q, want %q", got, want)
	}
	if got, want := g.line("y", true), "2 1 0 0 2 2 E 0 1 1 a A 0 0 E 0 1 2 b A 0 0 7 "; got != want {
		t.Errorf("status %q, want %q", got, want)
	}
}

// TestRoundRobin: reads alternate between the paths whatever the repeat
// count (deprecated: 1); a failed path is skipped, a reinstated one comes
// first.
func TestRoundRobin(t *testing.T) {
	g := newRig(t)
	g.disks()
	g.mustCreate("rr", "0 0 1 1 round-robin 0 3 1 a 100 b 100 c 1")
	if got := g.paths("rr", 6); got != "abcabc" {
		t.Errorf("paths %q, want abcabc", got)
	}
	g.mustMessage("rr", "fail_path", g.Path("b"))
	if got := g.paths("rr", 4); got != "acac" {
		t.Errorf("paths with b failed %q, want acac", got)
	}
	g.mustMessage("rr", "reinstate_path", g.Path("b"))
	if got := g.paths("rr", 4); got != "bacb" {
		t.Errorf("paths after reinstating b %q, want bacb", got)
	}
	if got := g.line("rr", true); got != "2 0 0 0 1 1 A 0 3 0 a A 0 b A 1 c A 0 " {
		t.Errorf("status %q", got)
	}
	log := g.Klog.String()
	for _, want := range []string{"multipath: 253:0: Failing path " + g.Path("b") + ".", "multipath: 253:0: Reinstating path " + g.Path("b") + "."} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if err := g.Device("rr").Discard(0, 4096); err != nil {
		t.Errorf("discard: %v", err)
	}
	if ev := g.Device("rr").Info().EventNr; ev != 2 {
		t.Errorf("event %d, want 2 (fail, reinstate)", ev)
	}
}

// TestGroups: the initial group serves; a disabled group is used only when
// no other has a path; switch_group moves to a group at the next I/O.
func TestGroups(t *testing.T) {
	g := newRig(t)
	g.disks()
	g.mustCreate("pg", "0 0 2 2 round-robin 0 1 0 a round-robin 0 2 0 b c")
	if got := g.paths("pg", 2); got != "bc" {
		t.Errorf("paths %q, want bc (group 2)", got)
	}
	g.mustMessage("pg", "disable_group", "2")
	if got := g.paths("pg", 2); got != "aa" {
		t.Errorf("paths with group 2 disabled %q, want aa", got)
	}
	g.mustMessage("pg", "fail_path", g.Path("a"))
	if got := g.paths("pg", 2); got != "bc" {
		t.Errorf("paths with only the disabled group %q, want bc", got)
	}
	if got := g.line("pg", true); got != "2 0 0 0 2 2 E 0 1 0 a F 1 D 0 2 0 b A 0 c A 0 " {
		t.Errorf("status %q", got)
	}
	g.mustMessage("pg", "reinstate_path", g.Path("a"))
	g.mustMessage("pg", "switch_group", "1")
	if got := g.line("pg", true); got != "2 0 0 0 2 1 E 0 1 0 a A 1 E 0 2 0 b A 0 c A 0 " {
		t.Errorf("status after switch_group %q", got)
	}
	if got := g.paths("pg", 2); got != "aa" {
		t.Errorf("paths after switch_group 1 %q, want aa", got)
	}
	for _, words := range [][]string{{"switch_group", "3"}, {"enable_group", "0"}, {"disable_group", "x"}, {"frob", "1"}, {"fail_path"}, {"fail_path", g.Path("nope")}} {
		if err := g.message("pg", words...); err == nil {
			t.Errorf("message %v accepted", words)
		}
	}
	if err := g.message("pg", "fail_path", g.Path("nope")); !errors.Is(err, syscall.ENODEV) {
		t.Errorf("fail_path of a missing device: %v, want ENODEV", err)
	}
	if err := g.message("pg", "FAIL_PATH", "/dev/mapper/nope"); !errors.Is(err, syscall.ENODEV) {
		t.Errorf("fail_path of a missing mapped device: %v, want ENODEV", err)
	}
}

// TestQueueLengthAndServiceTime: with nothing in flight, queue-length
// takes its paths in turn and service-time the highest throughput, in turn
// among equals, never a throughput of 0 while another path is usable.
func TestQueueLengthAndServiceTime(t *testing.T) {
	g := newRig(t)
	g.disks()
	g.mustCreate("ql", "0 0 1 1 queue-length 0 3 0 a b c")
	if got := g.paths("ql", 4); got != "abca" {
		t.Errorf("queue-length paths %q, want abca", got)
	}
	g.mustCreate("st", "0 0 1 1 service-time 0 3 2 a 1 0 b 1 5 c 0 5")
	if got := g.paths("st", 4); got != "bcbc" {
		t.Errorf("service-time paths %q, want bcbc", got)
	}
	g.mustMessage("st", "fail_path", g.Path("b"))
	g.mustMessage("st", "fail_path", g.Path("c"))
	if got := g.paths("st", 2); got != "aa" {
		t.Errorf("service-time paths with only throughput 0 %q, want aa", got)
	}
}

// noPaths is errorPaths with queue_if_no_path and both paths failed: a
// read of bm is queued.
func (g *rig) noPaths() {
	g.T.Helper()
	g.errorPaths("3 queue_if_no_path queue_mode bio")
	g.mustMessage("bm", "fail_path", "/dev/mapper/good")
	g.mustMessage("bm", "fail_path", "/dev/mapper/bad")
}

// errorPaths makes mapped devices good (linear over a) and bad (error)
// and a bio-based multipath device bm over them with the given features.
func (g *rig) errorPaths(features string) {
	g.T.Helper()
	g.disks()
	if err := g.Create("good", devSectors, "linear", g.Path("a"), "0"); err != nil {
		g.T.Fatal(err)
	}
	if err := g.Create("bad", devSectors, "error"); err != nil {
		g.T.Fatal(err)
	}
	g.mustCreate("bm", features+" 0 1 1 round-robin 0 2 0 /dev/mapper/good /dev/mapper/bad")
}

// TestFailover: a read that fails on a path fails the path (F, fail
// count, event) and is served by the other; writes and discards go on.
// With no path left, I/O fails with EIO.
func TestFailover(t *testing.T) {
	g := newRig(t)
	g.errorPaths("2 queue_mode bio")
	if got := g.paths("bm", 3); got != "aaa" {
		t.Errorf("paths %q", got)
	}
	if got := g.line("bm", true); got != "2 0 0 0 1 1 A 0 2 0 253:0 A 0 253:1 F 1 " {
		t.Errorf("status %q", got)
	}
	if !strings.Contains(g.Klog.String(), "device-mapper: multipath: 253:2: Failing path 253:1.\n") {
		t.Errorf("log:\n%s", g.Klog.String())
	}
	if ev := g.Device("bm").Info().EventNr; ev != 1 {
		t.Errorf("event %d, want 1", ev)
	}
	p := dmtest.Random(64 << 10)
	if _, err := g.Device("bm").WriteAt(p, 4096); err != nil {
		t.Fatal(err)
	}
	if err := g.Device("bm").Flush(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(g.Path("a"))
	if !bytes.Equal(got[4096:4096+len(p)], p) {
		t.Error("the write did not reach the good path")
	}
	g.mustMessage("bm", "fail_path", "/dev/mapper/good")
	if _, err := g.readFrom("bm"); !errors.Is(err, syscall.EIO) {
		t.Errorf("read with no path: %v, want EIO", err)
	}
}

// TestQueueIfNoPath: with no path and queue_if_no_path a read waits; a
// reinstated path serves it. A suspend fails waiting I/O (queueing is
// turned off and saved; the table does not show it until the resume),
// and messages are refused while suspended.
func TestQueueIfNoPath(t *testing.T) {
	g := newRig(t)
	g.noPaths()
	r := g.startRead("bm")
	select {
	case err := <-r.done:
		t.Fatalf("read with no path returned at once: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	g.mustMessage("bm", "reinstate_path", "/dev/mapper/good")
	dmtest.Within(t, "the queued read", func() error { return <-r.done }, nil)
	if r.got != 'a' {
		t.Errorf("queued read served from %q", r.got)
	}

	g.mustMessage("bm", "fail_path", "/dev/mapper/good")
	r = g.startRead("bm")
	time.Sleep(50 * time.Millisecond)
	dmtest.Within(t, "suspend with a queued read", func() error { return g.Reg.Suspend("bm") }, nil)
	if err := <-r.done; !errors.Is(err, syscall.EIO) {
		t.Errorf("queued read across the suspend: %v, want EIO", err)
	}
	if got := g.line("bm", false); !strings.HasPrefix(got, "3 retain_attached_hw_handler queue_mode bio ") {
		t.Errorf("table while suspended %q", got)
	}
	if err := g.message("bm", "fail_if_no_path"); !errors.Is(err, syscall.EBUSY) {
		t.Errorf("message while suspended: %v, want EBUSY", err)
	}
	if err := g.Reg.Resume("bm"); err != nil {
		t.Fatal(err)
	}
	if got := g.line("bm", false); !strings.HasPrefix(got, "4 queue_if_no_path retain_attached_hw_handler queue_mode bio ") {
		t.Errorf("table after the resume %q", got)
	}
	g.mustMessage("bm", "fail_if_no_path")
	if _, err := g.readFrom("bm"); !errors.Is(err, syscall.EIO) {
		t.Errorf("read after fail_if_no_path: %v, want EIO", err)
	}
}

// TestQueuedIOReleasedAtClose: I/O queued when its process closes the
// registry ends with targets.ErrReleased instead of waiting forever.
func TestQueuedIOReleasedAtClose(t *testing.T) {
	g := newRig(t)
	g.noPaths()
	r := g.startRead("bm")
	time.Sleep(50 * time.Millisecond)
	dmtest.Within(t, "closing the registry", func() error { g.Reopen(); return nil }, nil)
	if err := <-r.done; !errors.Is(err, targets.ErrReleased) {
		t.Errorf("queued read at close: %v, want ErrReleased", err)
	}
}

// TestStateAcrossProcesses: path states, fail counts, disabled groups,
// the current group and round-robin's rotation outlive the process.
func TestStateAcrossProcesses(t *testing.T) {
	g := newRig(t)
	g.disks()
	g.mustCreate("rr", "1 queue_if_no_path 0 2 1 round-robin 0 3 0 a b c round-robin 0 1 0 a")
	g.mustMessage("rr", "fail_path", g.Path("b"))
	g.mustMessage("rr", "disable_group", "2")
	if got := g.paths("rr", 1); got != "a" {
		t.Fatalf("paths %q", got)
	}
	want := g.line("rr", true)
	g.Reopen()
	if got := g.line("rr", true); got != want {
		t.Errorf("status after a new process %q, want %q", got, want)
	}
	if got := g.paths("rr", 3); got != "cac" {
		t.Errorf("paths after a new process %q, want cac", got)
	}
	if err := g.Reg.Suspend("rr"); err != nil {
		t.Fatal(err)
	}
	g.Reopen()
	if err := g.message("rr", "fail_if_no_path"); !errors.Is(err, syscall.EBUSY) {
		t.Errorf("message to a device left suspended: %v, want EBUSY", err)
	}
	if err := g.Reg.Resume("rr"); err != nil {
		t.Fatal(err)
	}
	if got := g.line("rr", false); !strings.HasPrefix(got, "1 queue_if_no_path ") {
		t.Errorf("table after suspend, new process, resume: %q", got)
	}
}

// TestDeviceTypes: a request-based table takes disks and request-based
// mapped devices as paths, not bio-based ones; a device keeps its type.
func TestDeviceTypes(t *testing.T) {
	g := newRig(t)
	g.disks()
	if err := g.Create("lin", devSectors, "linear", g.Path("a"), "0"); err != nil {
		t.Fatal(err)
	}
	g.Klog.Reset()
	if err := g.create("x", "0 0 1 1 round-robin 0 1 0 /dev/mapper/lin"); !errors.Is(err, syscall.EINVAL) ||
		g.Klog.String() != "device-mapper: table: table load rejected: including non-request-stackable devices\ndevice-mapper: table: unable to determine table type\n" {
		t.Errorf("request-based over linear: %v\n%s", err, g.Klog.String())
	}
	g.mustCreate("m", "0 0 1 1 round-robin 0 1 0 a")
	g.mustCreate("mm", "0 0 1 1 round-robin 0 1 0 /dev/mapper/m")
	g.Klog.Reset()
	if err := g.Reg.Load("lin", []dm.TargetLine{{Len: devSectors, Type: "multipath", Args: g.Args("0 0 1 1 round-robin 0 1 0 b")}}); !errors.Is(err, syscall.EINVAL) ||
		!strings.Contains(g.Klog.String(), "can't change device type (old=1 vs new=2) after initial table load.") {
		t.Errorf("reload of a bio-based device as request-based: %v\n%s", err, g.Klog.String())
	}
	g.Klog.Reset()
	if err := g.Reg.Load("m", []dm.TargetLine{{Len: devSectors, Type: "linear", Args: []string{g.Path("a"), "0"}}}); !errors.Is(err, syscall.EINVAL) ||
		!strings.Contains(g.Klog.String(), "can't replace immutable target type multipath") {
		t.Errorf("reload of multipath as linear: %v\n%s", err, g.Klog.String())
	}
	if err := g.Reg.Load("m", []dm.TargetLine{{Len: devSectors, Type: "error"}}); err != nil {
		t.Errorf("reload of multipath as error: %v", err)
	}
}

// FuzzMultipathTable: no table makes the constructor panic; one it takes
// has table and status lines it can print.
func FuzzMultipathTable(f *testing.F) {
	for _, s := range []string{
		"0 0 1 1 round-robin 0 2 1 A 2 B 1",
		"3 queue_if_no_path queue_mode bio 0 2 2 queue-length 0 1 1 A 1 service-time 0 1 2 B 1 7",
		"2 pg_init_retries 3 1 alua 0 0",
		"0 0 2 1 round-robin 1 x 1 0 A round-robin 0 1 0 B",
		"1 queue_mode 0 0 0",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	for _, n := range []string{"A", "B"} {
		if err := os.WriteFile(dir+"/"+n, make([]byte, 4096), 0o600); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, table string) {
		words := strings.Fields(table)
		for i, w := range words {
			if w == "A" || w == "B" {
				words[i] = dir + "/" + w
			}
		}
		tg, err := multipath.New(dmtest.NewDirect(t).Context(8), words)
		if err != nil {
			var ce *targets.CtrError
			if !errors.As(err, &ce) || ce.Msg == "" {
				t.Fatalf("%q: error %v is no constructor error", table, err)
			}
			return
		}
		_ = fmt.Sprint(tg.Table(), tg.Status())
	})
}
