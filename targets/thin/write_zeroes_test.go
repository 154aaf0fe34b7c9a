package thin_test

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

// TestWriteZeroes zeroes ranges of thin devices whose 8 blocks all hold
// data, with and without unmapping, on pools with and without discards and
// on a device with an external origin, and checks each device's bytes, its
// mapped blocks (Allocation) and, once committed, the real thin_check.
func TestWriteZeroes(t *testing.T) {
	dmtest.Peer(t, "thin_check")
	const blocks = 8
	// from the middle of block 1 to the middle of block 5, then a piece
	// inside block 7 and one across the boundary of blocks 6 and 7
	ranges := [][2]int64{
		{blockBytes + 1024, 4*blockBytes + 3072 - 1024},
		{7*blockBytes + 4096, 8192},
		{7*blockBytes - 512, 1024},
	}
	for _, tc := range []struct {
		name, features string
		origin         bool
		mayUnmap       bool
		unmapped       []uint64 // blocks left unmapped
	}{
		{name: "unmap", mayUnmap: true, unmapped: []uint64{2, 3, 4}},
		{name: "unmap without passdown", features: "no_discard_passdown", mayUnmap: true, unmapped: []uint64{2, 3, 4}},
		{name: "no hole"},
		{name: "ignore_discard", features: "ignore_discard", mayUnmap: true},
		{name: "external origin", origin: true, mayUnmap: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newPool(t, 64, tc.features)
			if err := e.message("create_thin", "0"); err != nil {
				t.Fatal(err)
			}
			args := []string{"/dev/mapper/pool", "0"}
			if tc.origin {
				origin := filepath.Join(e.dir, "origin.img")
				dmtest.Sparse(t, origin, blocks*blockBytes)
				args = append(args, origin)
			}
			if err := e.reg.Create("t0", "", []dm.TargetLine{{Start: 0, Len: blocks * blockSectors, Type: "thin", Args: args}}, false); err != nil {
				t.Fatal(err)
			}
			d, _ := e.reg.Lookup("t0")
			if err := d.Prepare(); err != nil {
				t.Fatal(err)
			}
			want := bytes.Repeat([]byte{0xa5}, blocks*blockBytes)
			if _, err := d.WriteAt(want, 0); err != nil {
				t.Fatal(err)
			}
			// a snapshot shares every block: zeroing the origin must not
			// change it
			if err := e.message("create_snap", "1", "0"); err != nil {
				t.Fatal(err)
			}
			for _, r := range ranges {
				if err := d.WriteZeroes(r[0], r[1], tc.mayUnmap); err != nil {
					t.Fatalf("write zeroes %d+%d: %v", r[0], r[1], err)
				}
				clear(want[r[0] : r[0]+r[1]])
			}
			got := make([]byte, len(want))
			if _, err := d.ReadAt(got, 0); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatal("the device's bytes after write zeroes differ")
			}
			ext, err := d.Allocation(0, blocks*blockBytes)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := holes(ext), tc.unmapped; !slices.Equal(got, want) {
				t.Fatalf("unmapped blocks %v, want %v", got, want)
			}
			snap := e.activate(1)
			if _, err := snap.ReadAt(got, 0); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, bytes.Repeat([]byte{0xa5}, blocks*blockBytes)) {
				t.Fatal("write zeroes on the origin changed its snapshot")
			}
			if _, err := e.reg.Lines("pool", false, true); err != nil {
				t.Fatal(err)
			}
			dmtest.RunPeer(t, "thin_check", e.meta)
		})
	}
}

// TestWriteZeroesLeavesHolesUnmapped: zeroing parts of unmapped blocks, and
// whole ones, provisions nothing when unmapping is allowed.
func TestWriteZeroesLeavesHolesUnmapped(t *testing.T) {
	e := newPool(t, 64, "")
	if err := e.message("create_thin", "0"); err != nil {
		t.Fatal(err)
	}
	d := e.activate(0)
	for _, r := range [][2]int64{{512, 1024}, {blockBytes - 512, 3 * blockBytes}, {0, thinBlocks * blockBytes}} {
		if err := d.WriteZeroes(r[0], r[1], true); err != nil {
			t.Fatal(err)
		}
	}
	ext, err := d.Allocation(0, thinBlocks*blockBytes)
	if err != nil {
		t.Fatal(err)
	}
	if len(ext) != 1 || !ext[0].Hole {
		t.Fatalf("allocation after zeroing holes: %+v", ext)
	}
	status, err := e.reg.Lines("pool", false, true)
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(status[0].Params); f[2] != "0/64" {
		t.Fatalf("pool status %q: data blocks were provisioned", status[0].Params)
	}
}

// holes lists the blocks Allocation reports as holes.
func holes(ext []targets.Extent) []uint64 {
	var out []uint64
	var sector uint64
	for _, x := range ext {
		if x.Hole {
			for s := sector; s < sector+x.LenSectors; s += blockSectors {
				out = append(out, s/blockSectors)
			}
		}
		sector += x.LenSectors
	}
	return out
}
