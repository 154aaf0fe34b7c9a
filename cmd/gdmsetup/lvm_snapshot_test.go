package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// snapImages are the disks testdata/lvm/snap-oracle.sh ran on, in the guest's order.
var snapImages = []string{"s1", "s2"}

// kernelWholeDisk matches a status line's reference to one of the guest's whole disks.
var kernelWholeDisk = regexp.MustCompile(`\b254:(\d+)\b`)

// statusOnImages rewrites the guest's whole-disk references in kernel status lines (a striped
// target's devices) to the images.
func statusOnImages(t *testing.T, lines, images []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = kernelWholeDisk.ReplaceAllStringFunc(l, func(m string) string {
			minor, _ := strconv.Atoi(kernelWholeDisk.FindStringSubmatch(m)[1])
			if minor%16 != 0 || minor/16 >= len(images) {
				t.Fatalf("oracle status refers to 254:%d", minor)
			}
			return images[minor/16]
		})
	}
	return out
}

// sameActivation compares gdmsetup's devices with a block of the oracle's transcript: dmsetup
// ls, table, info -c -o name,uuid,attr,open, and (when the block has them, after info) status.
func (s *sandbox) sameActivation(t *testing.T, what string, block, images []string) {
	t.Helper()
	info := len(block)
	for i, l := range block {
		if strings.HasPrefix(l, "Name ") {
			info = i
			break
		}
	}
	before, after := block[:info], block[info:]
	sameLines(t, what+": ls", lines(s.ok("", "ls")), matching(before, `\t\(253:\d+\)$`))
	sameLines(t, what+": table", lines(s.ok("", "table")), onImages(t, matching(before, `^\S+: \d+ \d+ `), images))
	sameLines(t, what+": info", lines(s.ok("", "info", "-c", "-o", "name,uuid,attr,open")), matching(after, `^(Name|\S+ +LVM-)`))
	if status := matching(after, `^\S+: \d+ \d+ `); len(status) > 0 {
		sameLines(t, what+": status", lines(s.ok("", "status")), statusOnImages(t, status, images))
	}
}

// mergeDone waits (a bounded time) until the snapshot-merge device name has merged every
// chunk: its allocated sectors are down to its metadata's.
func (s *sandbox) mergeDone(t *testing.T, name string) {
	t.Helper()
	var f []string
	for try := 0; try < 100; try++ {
		f = strings.Fields(s.ok("", "status", name))
		if len(f) == 5 && f[2] == "snapshot-merge" && strings.HasPrefix(f[3], f[4]+"/") {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: the merge is not over: %q", name, f)
}

// TestLvmSnapshotActivateIsLvm2s activates the VG of old-style snapshots (one merging) and
// thin volumes on an external origin that lvm2 made in the kernel oracle, and compares names,
// minors, tables, UUIDs, flags, open counts, status and every device's bytes with lvm2's
// activation in the kernel: the whole VG, then a snapshot, an origin, a thin volume, the
// external origin and the merging origin each alone.
func TestLvmSnapshotActivateIsLvm2s(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s, snapImages...)
	oracle := lvmOracle(t, "snap")
	s.ok("", append([]string{"lvm", "activate"}, imgs...)...)
	s.sameActivation(t, "vgchange -ay", oracle["vgchange -ay"], imgs)
	s.mergeDone(t, "vg-mlin")
	sameLines(t, "status", lines(s.ok("", "status")), statusOnImages(t, oracle["merged"], imgs))
	for _, l := range matching(oracle["sha256"], `^vg-\S+ ([0-9a-f]{64})?$`) {
		name, want, _ := strings.Cut(l, " ")
		if want == "" {
			// the merging snapshot is an error target: the kernel's read failed
			if r := s.run("", "read", name); r.code == 0 {
				t.Errorf("%s: read %d bytes, lvm2's device fails reads", name, len(r.stdout))
			}
			continue
		}
		if got := s.lvSHA(name); got != want {
			t.Errorf("%s: sha256 %s, lvm2 read %s", name, got, want)
		}
	}
	s.ok("", "lvm", "deactivate", "vg")
	for _, lv := range []string{"snap", "lin", "ext", "eo", "snapstr", "mlin"} {
		what := "lvchange -ay vg/" + lv
		s.ok("", append([]string{"lvm", "activate", "--lv", "vg/" + lv}, imgs...)...)
		if lv == "mlin" {
			s.mergeDone(t, "vg-mlin")
		}
		s.sameActivation(t, what, oracle[what], imgs)
		s.ok("", "lvm", "deactivate", "vg")
	}
	if out := s.ok("", "ls"); out != "No devices found\n" {
		t.Errorf("after deactivate: %q", out)
	}
}

// TestLvmSnapshotWriteBack writes into an origin (what its snapshots held there stays theirs),
// into a snapshot and into a thin volume on the external origin, deactivates, activates again
// and reads it all back; the external origin is unchanged.
func TestLvmSnapshotWriteBack(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s, snapImages...)
	activate := append([]string{"lvm", "activate", "--lv", "vg/lin", "--lv", "vg/str", "--lv", "vg/ext"}, imgs...)
	s.ok("", activate...)
	read := func(name string, off, n int) string {
		return s.ok("", "read", name, "--offset", strconv.Itoa(off), "--length", strconv.Itoa(n))
	}
	// an origin range no snapshot has copied yet (the origin's second segment, 8 MiB on)
	const originOff, snapOff, n = 9 << 20, 1 << 20, 192 << 10
	snapOld, snap2Old := read("vg-snap", originOff, n), read("vg-snap2", originOff, n)
	if snapOld != read("vg-lin", originOff, n) {
		t.Fatal("vg-snap differs from its origin where neither was written")
	}
	eo := s.lvSHA("vg-eo-real")
	data := dmtest.Random(3 * n)
	writes := []struct {
		name string
		off  int
		data string
	}{
		{"vg-lin", originOff, string(data[:n])},
		{"vg-snap", snapOff, string(data[n : 2*n])},
		{"vg-ext", 3 << 20, string(data[2*n:])},
		{"vg-str", 5 << 20, string(data[:n])},
	}
	for _, w := range writes {
		s.ok(w.data, "write", w.name, "--offset", strconv.Itoa(w.off))
	}
	check := func(when string) {
		t.Helper()
		for _, w := range writes {
			if read(w.name, w.off, n) != w.data {
				t.Errorf("%s: %s does not read back what was written", when, w.name)
			}
		}
		if read("vg-snap", originOff, n) != snapOld || read("vg-snap2", originOff, n) != snap2Old {
			t.Errorf("%s: a write to the origin changed its snapshots", when)
		}
		if s.lvSHA("vg-eo-real") != eo {
			t.Errorf("%s: the external origin changed", when)
		}
	}
	check("active")
	s.lvmDeactivate("vg")
	s.ok("", activate...)
	check("activated again")
	s.ok("", "lvm", "deactivate", "vg")
}

// TestLvmSnapshotReadOnly: a read-only activation of snapshots and external origins leaves the
// images' bytes unchanged and takes no write; a pending merge, which writes, is refused.
func TestLvmSnapshotReadOnly(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s, snapImages...)
	unchanged := imagesUnchanged(t, imgs)
	r := s.run("", append([]string{"lvm", "activate", "--readonly"}, imgs...)...)
	if r.code == 0 || !strings.Contains(r.stderr, "origin vg/mlin: snapshot msnap is to be merged into it, which writes the images: not under a read-only activation") {
		t.Errorf("read-only activation of a merging origin: exit %d, stderr %q", r.code, r.stderr)
	}
	s.ok("", append([]string{"lvm", "activate", "--readonly", "--lv", "vg/snap", "--lv", "vg/snapstr", "--lv", "vg/ext2"}, imgs...)...)
	for _, name := range []string{"vg-lin", "vg-snap", "vg-snap2-cow", "vg-ext2"} {
		if r := s.run("x", "write", name); r.code == 0 {
			t.Errorf("%s: a write to a read-only activation succeeded", name)
		}
		s.lvSHA(name)
	}
	s.ok("", "lvm", "deactivate", "vg")
	unchanged()
}

// TestLvmSnapshotRefusals: snapshot LVs that cannot be named are refused with the reason,
// before anything is created.
func TestLvmSnapshotRefusals(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s, snapImages...)
	for _, c := range []struct{ lv, want string }{
		{"vg/msnap", "LV vg/msnap is a snapshot merging into mlin: it is activated with its origin"},
		{"vg/snapshot0", "LV vg/snapshot0 is lvm2's own LV of snapshot snap: name the snapshot"},
		{"vg/pool_tmeta", "LV vg/pool_tmeta is a hidden part of another LV"},
	} {
		r := s.run("", append([]string{"lvm", "activate", "--lv", c.lv}, imgs...)...)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("--lv %s: exit %d, stderr %q, want %q", c.lv, r.code, r.stderr, c.want)
		}
	}
	if out := s.ok("", "ls"); out != "No devices found\n" {
		t.Errorf("refusals left devices: %q", out)
	}
	out := s.ok("", append([]string{"lvm", "scan"}, imgs...)...)
	for _, want := range []string{
		"  LV vg/lin: 24576 sectors, striped\n",
		"  LV vg/snap: 16384 sectors, snapshot of lin (chunk 8 sectors)\n",
		"  LV vg/mlin: 16384 sectors, striped, snapshot msnap merging into it\n",
		"  LV vg/ext: 8192 sectors, thin, external origin eo\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scan output lacks %q:\n%s", want, out)
		}
	}
	for _, hidden := range []string{"snapshot0", "vg/msnap"} {
		if strings.Contains(out, hidden) {
			t.Errorf("scan lists %s:\n%s", hidden, out)
		}
	}
}
