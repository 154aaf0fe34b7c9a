package raid

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// kernelSets are testdata's raid sets Linux 6.1 wrote (raid_test.go's
// TestKernelMetadata and TestKernelFailedMember): their metadata devices,
// data devices (nil: zeros here) and tables.
var kernelSets = []struct {
	meta, data []string
	lenSectors uint64
	table      string
}{
	{[]string{"kernel-raid1-ma", "kernel-raid1-mb"}, nil, 8192, "raid1 3 0 region_size 1024 2 m0 d0 m1 d1"},
	{[]string{"kernel-raid5-failed-ma", "kernel-raid5-failed-mb", "kernel-raid5-failed-mc"},
		[]string{"kernel-raid5-failed-a", "kernel-raid5-failed-b", "kernel-raid5-failed-c"},
		4096, "raid5_ls 3 16 region_size 512 3 m0 d0 m1 d1 m2 d2"},
}

// FuzzRaidMetadata damages one 4 KiB block of one metadata device of a
// raid set the kernel wrote (its dm-raid superblock, md's bitmap
// superblock or bits) and builds the set with the kernel's table, then
// resumes it (resync or recovery begun), does I/O, and removes it: no
// panic, no hang, and a refused table leaves every metadata device as it
// was.
func FuzzRaidMetadata(f *testing.F) {
	images := make([][][]byte, len(kernelSets))
	for i, s := range kernelSets {
		for _, n := range append(append([]string(nil), s.meta...), s.data...) {
			images[i] = append(images[i], dmtest.GunzipBytes(f, "testdata/"+n+".img.gz"))
		}
	}
	f.Add(false, uint8(0), uint16(0), uint16(8), []byte{0xff, 0xff, 0xff, 0x7f})   // num_devices
	f.Add(true, uint8(1), uint16(0), uint16(12), []byte{9})                        // array_position
	f.Add(true, uint8(0), uint16(0), uint16(32), bytes.Repeat([]byte{0xff}, 8))    // failed_devices
	f.Add(false, uint8(1), uint16(0), uint16(56), []byte{0xff, 0xff, 0xff, 0xff})  // level
	f.Add(true, uint8(2), uint16(0), uint16(64), []byte{0, 0, 0, 0x80})            // stripe_sectors
	f.Add(false, uint8(0), uint16(1), uint16(16), []byte{0, 0, 0, 0, 0, 0, 0, 0})  // bitmap chunk size
	f.Add(true, uint8(1), uint16(1), uint16(40), []byte{0xff, 0xff, 0xff, 0xff})   // bitmap sync size
	f.Add(false, uint8(1), uint16(1), uint16(256), bytes.Repeat([]byte{0xff}, 16)) // dirty bits
	f.Add(false, uint8(0), uint16(0), uint16(48), []byte{10, 0, 0, 0, 2, 1, 0, 0}) // level and layout: raid10 near taken over
	f.Add(true, uint8(0), uint16(0), uint16(48), []byte{6, 0, 0, 0, 18, 0, 0, 0})  // raid6_ls_6 taken over
	f.Add(true, uint8(1), uint16(0), uint16(12), []byte{0xff, 0xff, 0xff, 0x7f})   // array_position past the failed bits
	f.Fuzz(func(t *testing.T, raid5 bool, member uint8, pick, offBytes uint16, patch []byte) {
		which := 0
		if raid5 {
			which = 1
		}
		set, imgs := kernelSets[which], images[which]
		damaged := int(member) % len(set.meta)
		e := dmtest.NewTargetEnv[*Raid](t, t.TempDir(), New)
		e.Args = e.FileArgs
		metas := make([][]byte, len(set.meta))
		for i := range set.meta {
			metas[i] = imgs[i]
			if i == damaged {
				metas[i], _ = dmtest.Damage{Pick: pick, OffBytes: offBytes, Patch: patch}.Apply(imgs[i], 4096)
			}
			writeFile(t, e.Path(fmt.Sprint("m", i)), metas[i])
			if set.data != nil {
				writeFile(t, e.Path(fmt.Sprint("d", i)), imgs[len(set.meta)+i])
			} else {
				e.Sparse(fmt.Sprint("d", i), 4<<20)
			}
		}
		dmtest.Within(t, "raid over damaged metadata", func() error {
			r, err := e.Build(set.lenSectors, set.table)
			if err != nil {
				for i := range metas {
					if after, _ := os.ReadFile(e.Path(fmt.Sprint("m", i))); !bytes.Equal(after, metas[i]) {
						return fmt.Errorf("a refused table (%v) wrote to metadata device %d", err, i)
					}
				}
				return nil
			}
			dmtest.Exercise(r, 64<<10, []string{"check"})
			return nil
		}, nil)
	})
}

// writeFile makes the file at path hold b, failing the test when it cannot.
func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// FuzzReshapeMetadata damages the superblock of one member of a raid5
// set Linux 6.1 set up to add a fourth member (testdata/kernel-reshape.sh's
// superblocks while the reshape waits; the data members zeros) and
// builds it with the table of the next load, which runs the reshape:
// no panic, no hang, and a refused table leaves every metadata device as
// it was.
func FuzzReshapeMetadata(f *testing.F) {
	var metas [][]byte
	for _, n := range []string{"a", "b", "c", "d"} {
		metas = append(metas, dmtest.GunzipBytes(f, "testdata/kernel-reshape-wm"+n+".img.gz"))
	}
	f.Add(uint8(0), uint16(60), []byte{3})                                        // flags: backwards
	f.Add(uint8(0), uint16(64), []byte{0, 0x10, 0, 0, 0, 0, 0, 0})                // reshape_position
	f.Add(uint8(1), uint16(76), []byte{0xff, 0, 0, 0})                            // new_layout
	f.Add(uint8(0), uint16(80), []byte{0, 0, 0, 0})                               // new_stripe_sectors 0
	f.Add(uint8(0), uint16(84), []byte{0xff, 0xff, 0xff, 0xff})                   // delta_disks -1
	f.Add(uint8(2), uint16(84), []byte{200, 0, 0, 0})                             // delta_disks 200
	f.Add(uint8(0), uint16(96), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0}) // data_offset
	f.Add(uint8(0), uint16(104), []byte{0, 0x10, 0, 0, 0, 0, 0, 0})               // new_data_offset above data_offset
	f.Add(uint8(3), uint16(112), []byte{0, 0, 0, 0, 0, 0, 0, 0})                  // sectors 0
	f.Add(uint8(0), uint16(56), []byte{3, 0, 0, 0})                               // stripe_sectors 3
	f.Fuzz(func(t *testing.T, member uint8, offBytes uint16, patch []byte) {
		damaged := int(member) % len(metas)
		e := dmtest.NewTargetEnv[*Raid](t, t.TempDir(), New)
		e.Args = e.FileArgs
		imgs := make([][]byte, len(metas))
		for i := range metas {
			imgs[i] = metas[i]
			if i == damaged {
				imgs[i], _ = dmtest.Damage{Pick: 0, OffBytes: offBytes % 512, Patch: patch}.Apply(metas[i], 4096)
			}
			writeFile(t, e.Path(fmt.Sprint("m", i)), imgs[i])
			e.Sparse(fmt.Sprint("d", i), 4<<20)
		}
		dmtest.Within(t, "raid over a damaged reshape superblock", func() error {
			r, err := e.Build(12288, "raid5_ls 1 64 4 m0 d0 m1 d1 m2 d2 m3 d3")
			if err != nil {
				for i := range imgs {
					if after, _ := os.ReadFile(e.Path(fmt.Sprint("m", i))); !bytes.Equal(after, imgs[i]) {
						return fmt.Errorf("a refused table (%v) wrote to metadata device %d", err, i)
					}
				}
				return nil
			}
			dmtest.Exercise(r, 64<<10, []string{"check"})
			return nil
		}, nil)
	})
}
