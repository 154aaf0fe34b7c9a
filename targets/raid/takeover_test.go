package raid

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// TestTakeover: tables naming another level than the superblocks' are
// taken over as Linux 6.1 takes them (the oracle's raid-takeover.scn):
// the data stays where it is, the members the new level adds are
// recovered (their parity, Q or mirror computed from the others), and
// the superblocks are rewritten with the new level, layout, chunk size
// and member count.
func TestTakeover(t *testing.T) {
	for _, c := range []struct {
		name          string
		lenSectors    uint64
		from, to      string
		status        string
		level, layout uint32
		chunkSectors  uint32
		check         func(t *testing.T, e *env)
	}{
		{"raid1-raid5_ls", 8192, "raid1 1 0 2 ma a mb b", "raid5_ls 1 64 2 ma a mb b",
			"raid5_ls 2 AA 8192/8192 idle 0 0 -", 5, algLeftSymmetric, 64, nil},
		{"raid5_ls-raid1", 8192, "raid5_ls 1 64 2 ma a mb b", "raid1 1 0 2 ma a mb b",
			"raid1 2 AA 8192/8192 idle 0 0 -", 1, 0, 0, nil},
		{"raid1-raid10", 8192, "raid1 1 0 2 ma a mb b", "raid10 3 64 raid10_copies 2 2 ma a mb b",
			"raid10 2 AA 8192/8192 idle 0 0 -", 10, 0x102, 64, nil},
		{"raid0-raid5_n", 16384, "raid0 1 64 2 ma a mb b", "raid5_n 3 64 rebuild 2 3 ma a mb b mc c",
			"raid5_n 3 AAA 8192/8192 idle 0 0 -", 5, algParityN, 64, func(t *testing.T, e *env) {
				a, b := dmtest.FileBytes(t, e.Path("a"), 0, 4<<20), dmtest.FileBytes(t, e.Path("b"), 0, 4<<20)
				for i := range a {
					a[i] ^= b[i]
				}
				if !bytes.Equal(dmtest.FileBytes(t, e.Path("c"), 0, 4<<20), a) {
					t.Error("member c does not hold a^b")
				}
			}},
		{"raid0-raid10-near", 16384, "raid0 1 64 2 ma a mb b", "raid10 5 64 rebuild 1 rebuild 3 4 ma a mc c mb b md d",
			"raid10 4 AAAA 16384/16384 idle 0 0 -", 10, 0x102, 64, func(t *testing.T, e *env) {
				for _, p := range [][2]string{{"a", "c"}, {"b", "d"}} {
					if !bytes.Equal(dmtest.FileBytes(t, e.Path(p[0]), 0, 4<<20), dmtest.FileBytes(t, e.Path(p[1]), 0, 4<<20)) {
						t.Errorf("member %s is not %s's mirror", p[1], p[0])
					}
				}
			}},
		{"raid5_ls-raid6_ls_6", 16384, "raid5_ls 1 64 3 ma a mb b mc c", "raid6_ls_6 3 64 rebuild 3 4 ma a mb b mc c md d",
			"raid6_ls_6 4 AAAA 8192/8192 idle 0 0 -", 6, algLeftSymmetric6, 64, nil},
		{"raid6_n_6-raid5_n", 16384, "raid6_n_6 1 64 4 ma a mb b mc c md d", "raid5_n 1 64 3 ma a mb b mc c",
			"raid5_n 3 AAA 8192/8192 idle 0 0 -", 5, algParityN, 64, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.Create(c.lenSectors, c.from)
			waitIdle(t, r)
			want := dmtest.Random(int(c.lenSectors) * 512)
			if err := r.WriteAt(want, 0); err != nil {
				t.Fatal(err)
			}
			e.Remove(r)
			r = e.Create(c.lenSectors, c.to)
			waitIdle(t, r)
			if s := r.Status(); s != c.status {
				t.Errorf("status %q, want %q", s, c.status)
			}
			checkArray(t, r, want)
			e.Remove(r)
			if c.check != nil {
				c.check(t, e)
			}
			devs := len(r.members)
			var metas []string
			for _, w := range strings.Fields(c.to) {
				if len(w) == 2 && w[0] == 'm' {
					metas = append(metas, w)
				}
			}
			for i, meta := range metas {
				sb, ok := parseSuperblock(dmtest.FileBytes(t, e.Path(meta), 0, 512))
				if !ok || sb.level != c.level || sb.newLevel != c.level || sb.layout != c.layout || sb.newLayout != c.layout ||
					sb.stripeSectors != c.chunkSectors || sb.numDevices != uint32(devs) || sb.position != uint32(i) ||
					sb.recoveryOffset != maxSector || sb.resyncOffset != maxSector || sb.failed != [4]uint64{} {
					t.Errorf("%s after the takeover: %+v", meta, sb)
				}
			}
			r = e.Create(c.lenSectors, c.to)
			waitIdle(t, r)
			checkArray(t, r, want)
			e.Remove(r)
		})
	}
}

// TestTakeoverRefused: the pairs md does not take over, with the
// kernel's reasons (the oracle's raid-takeover.scn and raid.scn).
func TestTakeoverRefused(t *testing.T) {
	for _, c := range []struct {
		name             string
		lenSectors       uint64
		from, to, reason string
		errno            syscall.Errno
		log              string
	}{
		{"raid1 on three to raid5", 8192, "raid1 1 0 3 ma a mb b mc c", "raid5_ls 1 64 3 ma a mb b mc c",
			"takeover not possible", syscall.EINVAL, ""},
		{"raid0 on two to raid1", 8192, "raid0 1 64 2 ma a mb b", "raid1 1 0 2 ma a mb b",
			"takeover not possible", syscall.EINVAL, ""},
		{"raid10 offset to raid1", 8192, "raid10 3 64 raid10_format offset 2 ma a mb b", "raid1 1 0 2 ma a mb b",
			"takeover not possible", syscall.EINVAL, ""},
		{"raid5_ls to raid6_zr", 16384, "raid5_ls 1 64 3 ma a mb b mc c", "raid6_zr 3 64 rebuild 3 4 ma a mb b mc c md d",
			"takeover not possible", syscall.EINVAL, "Device 3 specified for rebuild; clearing superblock"},
		{"journaled", 8192, "raid1 1 0 2 ma a mb b", "raid5_ls 3 64 journal_dev e 2 ma a mb b",
			"Can't takeover a journaled raid4/5/6 set", syscall.EPERM, "Device -1 specified for rebuild; clearing superblock"},
		{"a new member without rebuild", 16384, "raid0 1 64 2 ma a mb b", "raid5_n 1 64 3 ma a mb b mc c",
			"Unable to assemble array: Invalid superblocks", syscall.EINVAL, "New device injected into existing raid set without 'delta_disks' or 'rebuild' parameter specified"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.Create(c.lenSectors, c.from)
			waitIdle(t, r)
			e.Remove(r)
			e.TakeLog()
			_, err := e.Build(c.lenSectors, c.to)
			if err == nil || !strings.Contains(err.Error(), c.reason) || !errors.Is(err, c.errno) {
				t.Errorf("error %v, want %q (%v)", err, c.reason, c.errno)
			}
			if log := strings.Join(e.TakeLog(), "\n"); !strings.Contains(log, c.log) {
				t.Errorf("log %q lacks %q", log, c.log)
			}
		})
	}
}

// TestTakeoverOldFormat: superblocks without the v1.9.0 fields refuse a
// level change as super_init_validation refuses it.
func TestTakeoverOldFormat(t *testing.T) {
	e := newEnv(t)
	r := e.Create(8192, "raid1 1 0 2 ma a mb b")
	waitIdle(t, r)
	e.Remove(r)
	for _, m := range []string{"ma", "mb"} {
		f, err := os.OpenFile(e.Path(m), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteAt([]byte{0, 0, 0, 0}, 4) // compat_features
		f.Close()
	}
	e.TakeLog()
	_, err := e.Build(8192, "raid5_ls 1 64 2 ma a mb b")
	if err == nil || !strings.Contains(err.Error(), "Unable to assemble array: Invalid superblocks") {
		t.Errorf("error %v", err)
	}
	want := "Takeover raid sets from raid1 to raid5_ls not yet supported by metadata. (raid level change)"
	if log := strings.Join(e.TakeLog(), "\n"); !strings.Contains(log, want) {
		t.Errorf("log %q lacks %q", log, want)
	}
}

// takeoverPattern is what testdata/kernel-takeover.sh writes through its
// raid0 set: the first 2 MiB of `seq 1 400000`.
func takeoverPattern() []byte {
	var b bytes.Buffer
	for i := 1; b.Len() < 2<<20; i++ {
		fmt.Fprintf(&b, "%d\n", i)
	}
	return b.Bytes()[:2<<20]
}

// TestKernelTakeover: the superblocks Linux 6.1 wrote taking a raid0 set
// on two members over to raid5_n on three (testdata/kernel-takeover.sh;
// member 2 rebuilt) are gdmsetup's for the same takeover but for the
// event counts, and gdmsetup runs the kernel's set clean: no sync, the
// data read back, a check finding no mismatch. (The kernel's data members
// were byte for byte gdmsetup's; they are rebuilt here from the pattern:
// raid0's 32 KiB chunks in turn on a and b, c their xor.)
func TestKernelTakeover(t *testing.T) {
	e := newEnv(t)
	pattern := takeoverPattern()
	const chunkBytes = 64 * 512
	members := [3][]byte{make([]byte, 1<<20), make([]byte, 1<<20), make([]byte, 1<<20)}
	for off := 0; off < len(pattern); off += chunkBytes {
		k := off / chunkBytes
		copy(members[k%2][k/2*chunkBytes:], pattern[off:off+chunkBytes])
	}
	for i := range members[2] {
		members[2][i] = members[0][i] ^ members[1][i]
	}
	for i, n := range []string{"a", "b", "c"} {
		if err := os.WriteFile(e.Path("k"+n), members[i], 0o600); err != nil {
			t.Fatal(err)
		}
		dmtest.Gunzip(t, "testdata/kernel-takeover-m"+n+".img.gz", e.Path("km"+n))
	}
	for i, n := range []string{"kma", "kmb", "kmc"} {
		sb, ok := parseSuperblock(dmtest.FileBytes(t, e.Path(n), 0, 512))
		if !ok || sb.level != 5 || sb.layout != algParityN || sb.newLevel != 5 || sb.newLayout != algParityN ||
			sb.stripeSectors != 64 || sb.numDevices != 3 || sb.position != uint32(i) || sb.recoveryOffset != maxSector {
			t.Fatalf("kernel superblock %s: %+v", n, sb)
		}
	}

	r := e.Create(4096, "raid0 1 64 2 ma a mb b")
	if err := r.WriteAt(pattern, 0); err != nil {
		t.Fatal(err)
	}
	e.Remove(r)
	r = e.Create(4096, "raid5_n 3 64 rebuild 2 3 ma a mb b mc c")
	waitIdle(t, r)
	e.Remove(r)
	for _, n := range []string{"a", "b", "c"} {
		if !bytes.Equal(dmtest.FileBytes(t, e.Path(n), 0, 1<<20), members[n[0]-'a']) {
			t.Errorf("member %s differs from the kernel's", n)
		}
		kernel, mine := dmtest.FileBytes(t, e.Path("km"+n), 0, 8192), dmtest.FileBytes(t, e.Path("m"+n), 0, 8192)
		for _, events := range [][2]int{{16, 24}, {4096 + 24, 4096 + 40}} {
			clear(kernel[events[0]:events[1]])
			clear(mine[events[0]:events[1]])
		}
		if d := firstDiff(kernel, mine); d >= 0 {
			t.Errorf("m%s: gdmsetup's metadata differs from the kernel's at byte %d", n, d)
		}
	}

	r = e.Create(4096, "raid5_n 1 64 3 kma ka kmb kb kmc kc")
	if s := r.Status(); s != "raid5_n 3 AAA 2048/2048 idle 0 0 -" {
		t.Errorf("the kernel's set: status %q", s)
	}
	wantNoAction(t, r, "the kernel's set")
	checkArray(t, r, pattern)
	e.Remove(r)
}
