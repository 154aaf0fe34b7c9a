package switchtarget_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	_ "github.com/gdmsetup/gdmsetup/targets/all"
)

const fileBytes = 1 << 20 // 2048 sectors

// rig is a registry over path files in Files, with the kernel log kept.
type rig struct{ *dmtest.Rig }

func newRig(t *testing.T) *rig {
	t.Helper()
	return &rig{Rig: dmtest.New(t)}
}

// files makes n files of fileBytes random bytes, named p0, p1, ...
func (g *rig) files(n int) []string {
	g.T.Helper()
	paths := make([]string, n)
	for i := range paths {
		paths[i] = g.File(fmt.Sprintf("p%d", i), fileBytes, true)
	}
	return paths
}

func (g *rig) message(name string, args ...string) error {
	_, err := g.Reg.Message(name, 0, args)
	return err
}

// switchDev is a switch table's shape: its paths' files and offsets, its
// region size and length.
type switchDev struct {
	files         []string
	startSectors  []uint64
	regionSectors uint64
	lenSectors    uint64
}

func (s switchDev) args() []string {
	args := []string{fmt.Sprint(len(s.files)), fmt.Sprint(s.regionSectors), "0"}
	for i, f := range s.files {
		args = append(args, f, fmt.Sprint(s.startSectors[i]))
	}
	return args
}

// expect is what the device reads when region r maps to path paths[r]:
// sector S from the file of S's region at its offset plus S.
func (s switchDev) expect(t *testing.T, paths string) []byte {
	t.Helper()
	contents := make([][]byte, len(s.files))
	for i, f := range s.files {
		var err error
		if contents[i], err = os.ReadFile(f); err != nil {
			t.Fatal(err)
		}
	}
	out := make([]byte, 0, s.lenSectors*512)
	for sector := uint64(0); sector < s.lenSectors; sector++ {
		p := paths[sector/s.regionSectors] - '0'
		off := (s.startSectors[p] + sector) * 512
		out = append(out, contents[p][off:off+512]...)
	}
	return out
}

// roundRobin is the mapping of n regions over k paths as a new table has it.
func roundRobin(n, k int) string {
	var b strings.Builder
	for r := 0; r < n; r++ {
		b.WriteByte(byte('0' + r%k))
	}
	return b.String()
}

// checkMapping reads the whole device and compares it with the files
// mapped as paths says.
func (g *rig) checkMapping(name string, s switchDev, paths string) {
	g.T.Helper()
	got := make([]byte, s.lenSectors*512)
	if _, err := g.Device(name).ReadAt(got, 0); err != nil {
		g.T.Fatal(err)
	}
	if want := s.expect(g.T.(*testing.T), paths); !bytes.Equal(got, want) {
		g.T.Fatalf("%s does not read as mapped %s", name, paths)
	}
}

// TestConstructorErrors: switch_ctr's messages in its order, with their
// errnos: the counts read by sscanf (no '+'), 32-bit region sizes wrapping,
// the device opened before its offset (kstrtoull: '+' yes, overflow no).
func TestConstructorErrors(t *testing.T) {
	g := newRig(t)
	f := g.files(2)
	missing := g.Path("missing")
	for _, c := range []struct {
		lenSectors uint64
		args       string
		msg        string
		errno      syscall.Errno
		errnoName  string
	}{
		{1024, "", "Invalid number of paths", syscall.EINVAL, "EINVAL"},
		{1024, "0 128 0", "Invalid number of paths", syscall.EINVAL, "EINVAL"},
		{1024, "+2 128 0 A 0 B 0", "Invalid number of paths", syscall.EINVAL, "EINVAL"},
		{1024, "262142 128 0", "Invalid number of paths", syscall.EINVAL, "EINVAL"},
		{1024, "262141 128 0", "Incorrect number of path arguments", syscall.EINVAL, "EINVAL"},
		{1024, "2", "Invalid region size", syscall.EINVAL, "EINVAL"},
		{1024, "2 0 0 A 0 B 0", "Invalid region size", syscall.EINVAL, "EINVAL"},
		{1024, "2 4294967296 0 A 0 B 0", "Invalid region size", syscall.EINVAL, "EINVAL"},
		{1024, "2 128", "Invalid number of optional args", syscall.EINVAL, "EINVAL"},
		{1024, "2 128 1 x A 0 B 0", "Invalid number of optional args", syscall.EINVAL, "EINVAL"},
		{1024, "2 128 0 A 0", "Incorrect number of path arguments", syscall.EINVAL, "EINVAL"},
		{1024, "2 128 0 A 0 B 0 x", "Incorrect number of path arguments", syscall.EINVAL, "EINVAL"},
		{1024, "2 128 0 M x B 0", "Device lookup failed", syscall.ENODEV, "ENODEV"},
		{1024, "2 128 0 A x M 0", "Invalid device starting offset", syscall.EINVAL, "EINVAL"},
		{1024, "2 128 0 A -1 B 0", "Invalid device starting offset", syscall.EINVAL, "EINVAL"},
		{1024, "2 128 0 A 18446744073709551616 B 0", "Invalid device starting offset", syscall.EINVAL, "EINVAL"},
		{1 << 50, "2 1 0 A 0 B 0", "Cannot allocate region table", syscall.ENOMEM, "ENOMEM"},
	} {
		args := strings.Fields(strings.NewReplacer("A", f[0], "B", f[1], "M", missing).Replace(c.args))
		g.Klog.Reset()
		err := g.Create("s", c.lenSectors, "switch", args...)
		if !errors.Is(err, c.errno) {
			t.Errorf("%q: error %v, want %v", c.args, err, c.errno)
		}
		if want := fmt.Sprintf("switch: %s (-%s)", c.msg, c.errnoName); !strings.Contains(g.Klog.String(), want) {
			t.Errorf("%q: kernel log %q, want %q", c.args, g.Klog.String(), want)
		}
	}
	g.Klog.Reset()
	if err := g.Create("s", 1024, "switch", "2", "128", "0", f[0], "0", f[1], "1025"); err == nil ||
		!strings.Contains(g.Klog.String(), "too small for target: start=1025, len=1024, dev_size=2048") {
		t.Errorf("a path too small: %v, log %q", err, g.Klog.String())
	}
	g.MustCreate("s", 1024, "switch", "2", "4294967297", "0", f[0], "+1024", f[1], "0")
	if got, want := g.Line("s", false), "2 1 0 "+f[0]+" 1024 "+f[1]+" 0"; got != want {
		t.Errorf("table %q, want %q", got, want)
	}
}

// TestLines: the table prints counts, region size, 0 and each path; the
// status is empty; deps lists every path.
func TestLines(t *testing.T) {
	g := newRig(t)
	f := g.files(3)
	g.MustCreate("s", 2048-16, "switch", "3", "128", "0", f[0], "0", f[1], "8", f[2], "16")
	if got, want := g.Line("s", false), fmt.Sprintf("3 128 0 %s 0 %s 8 %s 16", f[0], f[1], f[2]); got != want {
		t.Errorf("table %q, want %q", got, want)
	}
	if got := g.Line("s", true); got != "" {
		t.Errorf("status %q, want empty", got)
	}
	deps, err := g.Reg.Deps("s", false)
	if err != nil || len(deps) != 3 {
		t.Errorf("deps %v %v, want the 3 paths", deps, err)
	}
}

// TestPlacement: each region reads from and writes to its path at the
// path's offset plus the target's sector, for regions that are and are not
// a power of 2, a short last region, and I/O across region boundaries.
func TestPlacement(t *testing.T) {
	for _, c := range []struct{ paths, regionSectors, lenSectors int }{{3, 128, 2000}, {2, 100, 1000}, {5, 7, 1999}, {1, 64, 2000}} {
		t.Run(fmt.Sprintf("%dx%d", c.paths, c.regionSectors), func(t *testing.T) {
			g := newRig(t)
			s := switchDev{files: g.files(c.paths), regionSectors: uint64(c.regionSectors), lenSectors: uint64(c.lenSectors)}
			for i := range s.files {
				s.startSectors = append(s.startSectors, uint64(i*(2048-c.lenSectors)/c.paths))
			}
			g.MustCreate("s", s.lenSectors, "switch", s.args()...)
			regions := (c.lenSectors + c.regionSectors - 1) / c.regionSectors
			g.checkMapping("s", s, roundRobin(regions, c.paths))
			data := make([]byte, 64<<10)
			rand.Read(data)
			off := int64(c.regionSectors*512 - 1536) // across at least one boundary
			if _, err := g.Device("s").WriteAt(data, off); err != nil {
				t.Fatal(err)
			}
			g.checkMapping("s", s, roundRobin(regions, c.paths))
			got := make([]byte, len(data))
			if _, err := g.Device("s").ReadAt(got, off); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("write across regions does not read back: %v", err)
			}
		})
	}
}

// TestRegionTableLifetime: a message's mappings are seen by later
// processes and survive suspend and resume; the arguments before a bad one
// stay applied, in later processes too; a reloaded table starts round
// robin when it goes live.
func TestRegionTableLifetime(t *testing.T) {
	g := newRig(t)
	s := switchDev{files: g.files(3), startSectors: []uint64{0, 8, 16}, regionSectors: 128, lenSectors: 2048 - 16}
	g.MustCreate("s", s.lenSectors, "switch", s.args()...)
	if err := g.message("s", "set_region_mappings", "0:2", ":2", "5:0", "R2,3"); err != nil {
		t.Fatal(err)
	}
	want := "2220101010120120"
	g.checkMapping("s", s, want)
	g.Reopen()
	g.checkMapping("s", s, want)
	if err := g.message("s", "set_region_mappings", "f:1", "1:0", "x"); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("bad message: %v", err)
	}
	want = "2020101010120121"
	g.Reopen()
	g.checkMapping("s", s, want)
	if err := g.Reg.Suspend("s"); err != nil {
		t.Fatal(err)
	}
	if err := g.message("s", "set_region_mappings", "e:0"); err != nil {
		t.Fatal(err)
	}
	g.Reopen()
	if err := g.Reg.Resume("s"); err != nil {
		t.Fatal(err)
	}
	want = "2020101010120101"
	g.checkMapping("s", s, want)
	if err := g.Reg.Load("s", []dm.TargetLine{{Len: s.lenSectors, Type: "switch", Args: s.args()}}); err != nil {
		t.Fatal(err)
	}
	g.Reopen()
	g.checkMapping("s", s, want) // the live table still has its mappings
	if err := g.Reg.Suspend("s"); err != nil {
		t.Fatal(err)
	}
	if err := g.Reg.Resume("s"); err != nil {
		t.Fatal(err)
	}
	g.checkMapping("s", s, roundRobin(16, 3))
	g.Reopen()
	g.checkMapping("s", s, roundRobin(16, 3))
}

// TestDiscardOnePath: a discard across regions goes whole to the path of
// its first region (6.1 splits discards only at target boundaries); the
// other paths keep their bytes. A flush succeeds without a path to flush.
func TestDiscardOnePath(t *testing.T) {
	g := newRig(t)
	s := switchDev{files: g.files(2), startSectors: []uint64{0, 0}, regionSectors: 100, lenSectors: 1000}
	g.MustCreate("s", s.lenSectors, "switch", s.args()...)
	if err := g.message("s", "set_region_mappings", "0:1"); err != nil {
		t.Fatal(err)
	}
	before0, _ := os.ReadFile(s.files[0])
	before1, _ := os.ReadFile(s.files[1])
	if err := g.Device("s").Discard(96*512, 64*512); err != nil {
		t.Fatal(err)
	}
	after0, _ := os.ReadFile(s.files[0])
	after1, _ := os.ReadFile(s.files[1])
	if !bytes.Equal(after0, before0) {
		t.Error("the discard reached path 0")
	}
	copy(before1[96*512:160*512], make([]byte, 64*512))
	if !bytes.Equal(after1, before1) {
		t.Error("path 1 is not its old bytes with sectors 96-159 zeroed")
	}
	if err := g.Device("s").Flush(); err != nil {
		t.Fatal(err)
	}
}
