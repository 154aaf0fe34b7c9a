package pdatatest_test

import (
	"encoding/binary"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/fixture"
	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/btree"
	"github.com/gdmsetup/gdmsetup/pdata/pdatatest"
	"github.com/gdmsetup/gdmsetup/pdata/spacemap"
)

// TestKernelThinMetadata reads metadata written by the kernel (space maps,
// mapping tree, ref counts must all agree), then changes it through our
// stack (new mappings in a snapshot-shared tree, removes, a new device),
// commits, and has thin_check accept the result.
func TestKernelThinMetadata(t *testing.T) {
	path := fixture.Unxz(t, "thin_meta")
	dev, err := block.OpenFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	sbBuf := make([]byte, block.BlockSize)
	if _, err := dev.ReadAt(sbBuf, 0); err != nil {
		t.Fatal(err)
	}
	if err := thinSBValidator.Check(sbBuf, 0); err != nil {
		t.Fatalf("kernel superblock: %v", err)
	}
	mroot, err := spacemap.DecodeRoot(sbBuf[192:])
	if err != nil {
		t.Fatal(err)
	}
	droot, err := spacemap.DecodeRoot(sbBuf[64:])
	if err != nil {
		t.Fatal(err)
	}
	mapRoot := binary.LittleEndian.Uint64(sbBuf[320:])
	detRoot := binary.LittleEndian.Uint64(sbBuf[328:])

	verifyCounts := func(mapRoot, detRoot uint64, mroot, droot spacemap.Root) {
		t.Helper()
		mc, err := spacemap.ReadCounts(dev, mroot, true)
		if err != nil {
			t.Fatal(err)
		}
		dc, err := spacemap.ReadCounts(dev, droot, false)
		if err != nil {
			t.Fatal(err)
		}
		meta := make([]uint32, mroot.NrBlocks)
		data := make([]uint32, droot.NrBlocks)
		meta[0]++
		for _, b := range append(mc.Blocks, dc.Blocks...) {
			meta[b]++
		}
		if err := pdatatest.CountTree(dev, mapRoot, 2, meta, data, func(v []byte) uint64 { return binary.LittleEndian.Uint64(v) >> 24 }); err != nil {
			t.Fatal(err)
		}
		if err := pdatatest.CountTree(dev, detRoot, 1, meta, nil, nil); err != nil {
			t.Fatal(err)
		}
		if err := pdatatest.CompareCounts("metadata", meta, mc.Counts); err != nil {
			t.Fatal(err)
		}
		if err := pdatatest.CompareCounts("data", data, dc.Counts); err != nil {
			t.Fatal(err)
		}
	}
	verifyCounts(mapRoot, detRoot, mroot, droot)

	bm, err := block.NewManager(dev, 64, false)
	if err != nil {
		t.Fatal(err)
	}
	tm, msm, err := spacemap.OpenMetadata(bm, sbBuf[192:320])
	if err != nil {
		t.Fatal(err)
	}
	dsm, err := spacemap.OpenDisk(tm, sbBuf[64:192])
	if err != nil {
		t.Fatal(err)
	}
	bt := pdatatest.DataValueType(dsm)
	bt.Inc = func(v []byte) error { return dsm.Inc(binary.LittleEndian.Uint64(v) >> 24) }
	bt.Dec = func(v []byte) error { return dsm.Dec(binary.LittleEndian.Uint64(v) >> 24) }
	mapping := btree.Info{TM: tm, Levels: 2, Value: bt}
	v := make([]byte, 8)
	// Device 1 shares leaves with device 0: writing breaks sharing.
	for vb := uint64(1600); vb < 1610; vb++ {
		db, err := dsm.NewBlock()
		if err != nil {
			t.Fatal(err)
		}
		binary.LittleEndian.PutUint64(v, db<<24|3)
		if mapRoot, err = mapping.Insert(mapRoot, []uint64{1, vb}, v); err != nil {
			t.Fatal(err)
		}
	}
	if mapRoot, err = mapping.Remove(mapRoot, []uint64{0, 16}); err != nil {
		t.Fatal(err)
	}
	if err := mapping.Lookup(mapRoot, []uint64{1, 16}, v); err != nil || binary.LittleEndian.Uint64(v)>>24 != 1 {
		t.Fatalf("device 1 block 16: %v (data %d)", err, binary.LittleEndian.Uint64(v)>>24)
	}
	details := btree.Info{TM: tm, Levels: 1, Value: btree.ValueType{Size: 24}}
	det := make([]byte, 24)
	for _, d := range []struct{ dev, mapped uint64 }{{0, 18}, {1, 20}} {
		if err := details.Lookup(detRoot, []uint64{d.dev}, det); err != nil {
			t.Fatal(err)
		}
		binary.LittleEndian.PutUint64(det, d.mapped)
		if detRoot, err = details.Insert(detRoot, []uint64{d.dev}, det); err != nil {
			t.Fatal(err)
		}
	}
	if err := dsm.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := tm.PreCommit(); err != nil {
		t.Fatal(err)
	}
	sb, err := bm.WriteLock(0, thinSBValidator)
	if err != nil {
		t.Fatal(err)
	}
	d := sb.Data()
	dsm.CopyRoot(d[64:192])
	msm.CopyRoot(d[192:320])
	binary.LittleEndian.PutUint64(d[320:], mapRoot)
	binary.LittleEndian.PutUint64(d[328:], detRoot)
	binary.LittleEndian.PutUint64(d[48:], 3) // trans_id
	if err := tm.Commit(sb); err != nil {
		t.Fatal(err)
	}
	verifyCounts(mapRoot, detRoot, msm.Root(), dsm.Root())
	runTool(t, "thin_check", path)
}
