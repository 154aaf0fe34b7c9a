package thin_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
)

// discardStep is one section of the fidelity scenario thin-discard-bytes
// (testdata/fidelity): writes, then a discard, each committed as the
// scenario's status of the pool does, and the sha256 of the metadata
// device Linux 6.1 left after them (its transcript in
// testdata/fidelity/expected). Offsets and lengths are in bytes.
type discardStep struct {
	what    string
	writes  [][2]int64 // offset, length
	discard [2]int64   // offset, length (none when length is 0)
	sha256  string
}

// kernelDiscardSteps are the scenario's first sections, on a pool with
// discard passdown.
var kernelDiscardSteps = []discardStep{
	{"writes, blocks out of order", [][2]int64{
		{128<<20 + 64<<10 + 2<<10, 100}, {128<<20 + 2*64<<10 + 2<<10, 100}, {64 << 10, 2<<20 - 64<<10},
		{4 << 20, 64 << 10}, {4<<20 + 128<<10, 64 << 10}, {4<<20 + 64<<10, 64 << 10}, {4<<20 + 192<<10, 64 << 10},
	}, [2]int64{}, "fb5bed8c5c187590f68425e5321cb123efb80a28cea3ec12f40aab00c4c59690"},
	{"discard one block", [][2]int64{{128<<20 + 3*64<<10 + 2<<10, 100}}, [2]int64{64 << 10, 64 << 10},
		"a431e9d0cd9841888e5e1ed682945e25049f9029f1925cc595306f7d254c4481"},
	{"discard a run", [][2]int64{{128<<20 + 4*64<<10 + 2<<10, 100}}, [2]int64{256 << 10, 512 << 10},
		"08709a62e6442c655403e074683166fdec2e89c76ee65f6965247979564b7d9c"},
	{"discard several runs and unmapped blocks", [][2]int64{{128<<20 + 5*64<<10 + 2<<10, 100}}, [2]int64{1 << 20, 4 << 20},
		"4794a2dea1e35b500021da2b341f66ccec393614fa5ea37838a06913c6cc4bf4"},
}

// kernelNoPassdownSteps are the scenario's sections on a pool with
// no_discard_passdown.
var kernelNoPassdownSteps = []discardStep{
	{"writes, blocks out of order", [][2]int64{
		{128<<20 + 64<<10 + 2<<10, 100}, {128<<20 + 2*64<<10 + 2<<10, 100}, {64 << 10, 2<<20 - 64<<10},
		{4 << 20, 64 << 10}, {4<<20 + 128<<10, 64 << 10}, {4<<20 + 64<<10, 64 << 10},
	}, [2]int64{}, "7b44e3b9750131b5ceff8faa1fe167ab96d7126adeebfbd2e8e6a508b1a085bf"},
	{"discard one block", [][2]int64{{128<<20 + 3*64<<10 + 2<<10, 100}}, [2]int64{64 << 10, 64 << 10},
		"fb26c8e3491d9e9c2455b0a936845719a9ddbebfd281c07f233c03b6d76ff91c"},
	{"discard several runs and unmapped blocks", [][2]int64{{128<<20 + 4*64<<10 + 2<<10, 100}}, [2]int64{1 << 20, 4 << 20},
		"7b1a01d6e677b16e5556d5e4b720abf3d05943b494b2d1535fb8f26b65362798"},
}

// TestDiscardMetadataBytesAreTheKernels replays those steps in one process
// and compares the metadata device with the kernel's after each: with
// passdown a discard removes each mapped run with the kernel's
// dm_thin_remove_range and holds the run's data blocks until its passdown
// is done, without it one dm_thin_remove_range covers the whole range; any
// other order of the metadata operations allocates other blocks.
func TestDiscardMetadataBytesAreTheKernels(t *testing.T) {
	t.Run("passdown", func(t *testing.T) { replayDiscardSteps(t, "", kernelDiscardSteps) })
	t.Run("no_discard_passdown", func(t *testing.T) {
		replayDiscardSteps(t, "no_discard_passdown", kernelNoPassdownSteps)
	})
}

func replayDiscardSteps(t *testing.T, features string, steps []discardStep) {
	e := newPool(t, 1024, features)
	if err := e.message("create_thin", "0"); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Create("t0", "", []dm.TargetLine{{Start: 0, Len: 256 << 11, Type: "thin", Args: []string{"/dev/mapper/pool", "0"}}}, false); err != nil {
		t.Fatal(err)
	}
	d, _ := e.reg.Lookup("t0")
	if err := d.Prepare(); err != nil {
		t.Fatal(err)
	}
	commit := func() {
		t.Helper()
		if _, err := e.reg.Lines("pool", false, true); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range steps {
		for _, w := range s.writes {
			if _, err := d.WriteAt(make([]byte, w[1]), w[0]); err != nil {
				t.Fatalf("%s: write %d+%d: %v", s.what, w[0], w[1], err)
			}
			if err := d.Flush(); err != nil {
				t.Fatal(err)
			}
			commit()
		}
		if s.discard[1] > 0 {
			if err := d.Discard(s.discard[0], s.discard[1]); err != nil {
				t.Fatalf("%s: %v", s.what, err)
			}
			commit()
		}
		meta, err := os.ReadFile(e.meta)
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(meta); hex.EncodeToString(sum[:]) != s.sha256 {
			t.Fatalf("%s: metadata sha256 %x, the kernel's %s", s.what, sum, s.sha256)
		}
	}
}
