package metadata

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/pdata/btree"
	"github.com/gdmsetup/gdmsetup/pdata/spacemap"
)

// TestOpenDataSpaceRefusesWrongCounts: a data space map that calls a mapped block
// free (its bitmap resealed, so only the counts show it) would make a trim discard
// that block's data; OpenDataSpace refuses it, naming the block.
func TestOpenDataSpaceRefusesWrongCounts(t *testing.T) {
	img := sampleImage(t)
	if _, err := OpenDataSpace(bytes.NewReader(img)); err != nil {
		t.Fatalf("intact metadata: %v", err)
	}
	sb, err := parseSuperblock(img[:BlockSize])
	if err != nil {
		t.Fatal(err)
	}
	var bitmap0 uint64
	err = btree.WalkNodes(bytes.NewReader(img), sb.DataSM.BitmapRoot, 1, func(_ btree.NodeInfo, nd btree.Node) (bool, error) {
		if nd.IsLeaf() && nd.NrEntries() > 0 && nd.Key(0) == 0 {
			bitmap0 = spacemap.DecodeIndexEntry(nd.Value(0)).Blocknr
		}
		return true, nil
	})
	if err != nil || bitmap0 == 0 {
		t.Fatalf("no index entry for bitmap 0: %v", err)
	}
	blk := img[bitmap0*BlockSize : (bitmap0+1)*BlockSize]
	if spacemap.BitmapGet(blk, 0) == 0 {
		t.Fatal("data block 0 is free in the sample pool; it maps it first")
	}
	old := append([]byte(nil), blk...)
	spacemap.BitmapSet(blk, 0, 0)
	reseal(blk, bitmap0, old)
	var free []uint64
	if err := spacemap.FreeRuns(bytes.NewReader(img), sb.DataSM, false, func(b, e uint64) error {
		free = append(free, b)
		return nil
	}); err != nil || len(free) == 0 || free[0] != 0 {
		t.Fatalf("the damaged bitmap does not hold block 0 free (runs from %v, %v): the test damages nothing", free, err)
	}
	_, err = OpenDataSpace(bytes.NewReader(img))
	if err == nil || !strings.Contains(err.Error(), "damaged metadata: ") || !strings.Contains(err.Error(), "data block 0") {
		t.Fatalf("OpenDataSpace on a space map freeing mapped block 0: %v", err)
	}
}
