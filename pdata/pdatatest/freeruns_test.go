package pdatatest_test

import (
	"math/rand"
	"slices"
	"testing"

	"github.com/gdmsetup/gdmsetup/pdata/faultdev"
	"github.com/gdmsetup/gdmsetup/pdata/pdatatest"
	"github.com/gdmsetup/gdmsetup/pdata/spacemap"
)

// TestFreeRuns compares spacemap.FreeRuns with the runs of zero counts that
// ReadCounts decodes, on data space maps of three and a half bitmaps whose
// counts (0 to 5, so some overflow) are set at random, in long runs and in
// single blocks, across bitmap and word boundaries; and on the metadata space
// map of the same device.
func TestFreeRuns(t *testing.T) {
	nrData := uint64(3*spacemap.EntriesPerBitmap + spacemap.EntriesPerBitmap/2)
	for seed := int64(1); seed <= 6; seed++ {
		dev := faultdev.New(4096 * 4096)
		e, err := pdatatest.Format(dev, nrData, 1, 256)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewSource(seed))
		for range 40 + rng.Intn(200) {
			begin := uint64(rng.Int63n(int64(nrData)))
			n := uint64(1 + rng.Intn(3))
			if rng.Intn(3) == 0 {
				n = uint64(rng.Intn(3 * spacemap.EntriesPerBitmap / 2))
			}
			count := uint32(rng.Intn(6))
			if seed == 1 {
				count = 1 // the first seed leaves most blocks free
			}
			for b := begin; b < min(begin+n, nrData); b++ {
				if err := e.DSM.SetCount(b, count); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := e.Commit(); err != nil {
			t.Fatal(err)
		}
		for _, metadata := range []bool{false, true} {
			root := e.DSM.Root()
			if metadata {
				root = e.MSM.Root()
			}
			counts, err := spacemap.ReadCounts(dev, root, metadata)
			if err != nil {
				t.Fatal(err)
			}
			var want, got [][2]uint64
			for b, c := range counts.Counts {
				switch {
				case c != 0:
				case len(want) > 0 && want[len(want)-1][1] == uint64(b):
					want[len(want)-1][1]++
				default:
					want = append(want, [2]uint64{uint64(b), uint64(b) + 1})
				}
			}
			err = spacemap.FreeRuns(dev, root, metadata, func(begin, end uint64) error {
				got = append(got, [2]uint64{begin, end})
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("seed %d, metadata %v: FreeRuns gave %d runs, want %d\n got %v\nwant %v", seed, metadata, len(got), len(want), head(got), head(want))
			}
		}
	}
}

func head(runs [][2]uint64) [][2]uint64 { return runs[:min(len(runs), 8)] }
