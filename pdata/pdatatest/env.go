// Package pdatatest is test support for the pdata packages and their users:
// a minimal superblock holding two space-map roots and one nested btree
// root, an environment that formats, commits and reopens it on a faultdev
// device, and a reference-count checker that recomputes every metadata and
// data block count from the trees (what thin_check does) and compares.
package pdatatest

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/btree"
	"github.com/gdmsetup/gdmsetup/pdata/faultdev"
	"github.com/gdmsetup/gdmsetup/pdata/spacemap"
	"github.com/gdmsetup/gdmsetup/pdata/transaction"
)

// Superblock layout of the test format (block 0).
const (
	sbSalt       = 0x7e57
	sbMagic      = 0x70646174 // "pdat"
	offMagic     = 16
	offMetaRoot  = 64
	offDataRoot  = 192
	offTreeRoot  = 320
	offTreeLevel = 328
)

// SuperblockValidator validates the test superblock.
var SuperblockValidator block.Validator = &block.SaltedValidator{Kind: "test superblock", Salt: sbSalt, LocationOff: 8}

// Env is a formatted test metadata device: metadata and data space maps
// and one nested btree (u64 values that are data blocks, reference-counted
// in the data space map, as thin mappings).
type Env struct {
	Dev   *faultdev.Device
	BM    *block.Manager
	TM    *transaction.Manager
	MSM   *spacemap.Metadata
	DSM   *spacemap.Disk
	Info  btree.Info
	Root  uint64
	Cache int
}

// DataValueType is the value type of data-block values counted in dsm.
func DataValueType(dsm *spacemap.Disk) btree.ValueType {
	return btree.ValueType{
		Size:  8,
		Inc:   func(v []byte) error { return dsm.Inc(binary.LittleEndian.Uint64(v)) },
		Dec:   func(v []byte) error { return dsm.Dec(binary.LittleEndian.Uint64(v)) },
		Equal: func(a, b []byte) bool { return binary.LittleEndian.Uint64(a) == binary.LittleEndian.Uint64(b) },
	}
}

// Format creates an Env on dev with nrDataBlocks data blocks and a
// levels-deep empty tree, committed. cacheBlocks bounds the block cache.
func Format(dev *faultdev.Device, nrDataBlocks uint64, levels, cacheBlocks int) (*Env, error) {
	bm, err := block.NewManager(dev, cacheBlocks, false)
	if err != nil {
		return nil, err
	}
	tm, msm, err := spacemap.CreateMetadata(bm, 0, bm.NrBlocks())
	if err != nil {
		return nil, err
	}
	dsm, err := spacemap.CreateDisk(tm, nrDataBlocks)
	if err != nil {
		return nil, err
	}
	e := &Env{Dev: dev, BM: bm, TM: tm, MSM: msm, DSM: dsm, Cache: cacheBlocks}
	e.Info = btree.Info{TM: tm, Levels: levels, Value: DataValueType(dsm)}
	if e.Root, err = e.Info.Empty(); err != nil {
		return nil, err
	}
	return e, e.commit(true)
}

// Commit commits the transaction: data sm, pre-commit, superblock, commit.
func (e *Env) Commit() error { return e.commit(false) }

func (e *Env) commit(fresh bool) error {
	if err := e.DSM.Commit(); err != nil {
		return err
	}
	if err := e.TM.PreCommit(); err != nil {
		return err
	}
	var sb *block.Block
	var err error
	if fresh {
		sb, err = e.BM.WriteLockZero(0, SuperblockValidator)
	} else {
		sb, err = e.BM.WriteLock(0, SuperblockValidator)
	}
	if err != nil {
		return err
	}
	d := sb.Data()
	binary.LittleEndian.PutUint64(d[offMagic:], sbMagic)
	e.MSM.CopyRoot(d[offMetaRoot : offMetaRoot+spacemap.RootFieldSize])
	e.DSM.CopyRoot(d[offDataRoot : offDataRoot+spacemap.RootFieldSize])
	binary.LittleEndian.PutUint64(d[offTreeRoot:], e.Root)
	binary.LittleEndian.PutUint32(d[offTreeLevel:], uint32(e.Info.Levels))
	return e.TM.Commit(sb)
}

// Open opens the Env committed on dev.
func Open(dev *faultdev.Device, cacheBlocks int) (*Env, error) {
	bm, err := block.NewManager(dev, cacheBlocks, false)
	if err != nil {
		return nil, err
	}
	sb, err := bm.ReadLock(0, SuperblockValidator)
	if err != nil {
		return nil, err
	}
	d := append([]byte(nil), sb.Data()...)
	bm.Unlock(sb)
	if binary.LittleEndian.Uint64(d[offMagic:]) != sbMagic {
		return nil, fmt.Errorf("block 0: bad test superblock magic")
	}
	tm, msm, err := spacemap.OpenMetadata(bm, d[offMetaRoot:offMetaRoot+spacemap.RootFieldSize])
	if err != nil {
		return nil, err
	}
	dsm, err := spacemap.OpenDisk(tm, d[offDataRoot:offDataRoot+spacemap.RootFieldSize])
	if err != nil {
		return nil, err
	}
	e := &Env{Dev: dev, BM: bm, TM: tm, MSM: msm, DSM: dsm, Cache: cacheBlocks}
	e.Info = btree.Info{TM: tm, Levels: int(binary.LittleEndian.Uint32(d[offTreeLevel:])), Value: DataValueType(dsm)}
	e.Root = binary.LittleEndian.Uint64(d[offTreeRoot:])
	return e, nil
}

// Check recomputes every reference count from the committed metadata on
// the device (superblock, space maps, the tree) and compares them with both
// space maps, as thin_check does. It also enforces the node fill rule.
func Check(dev *faultdev.Device) error {
	r := dev
	buf := make([]byte, block.BlockSize)
	if _, err := dev.ReadAt(buf, 0); err != nil {
		return err
	}
	if err := SuperblockValidator.Check(buf, 0); err != nil {
		return fmt.Errorf("block 0: %w", err)
	}
	mroot, err := spacemap.DecodeRoot(buf[offMetaRoot:])
	if err != nil {
		return err
	}
	droot, err := spacemap.DecodeRoot(buf[offDataRoot:])
	if err != nil {
		return err
	}
	treeRoot := binary.LittleEndian.Uint64(buf[offTreeRoot:])
	levels := int(binary.LittleEndian.Uint32(buf[offTreeLevel:]))

	mc, err := spacemap.ReadCounts(r, mroot, true)
	if err != nil {
		return err
	}
	dc, err := spacemap.ReadCounts(r, droot, false)
	if err != nil {
		return err
	}
	// What we write must keep nr_allocated exact (readers tolerate it).
	for _, c := range []struct {
		kind string
		root spacemap.Root
		got  *spacemap.Counts
	}{{"metadata", mroot, mc}, {"data", droot, dc}} {
		if c.root.NrAllocated != c.got.Allocated {
			return fmt.Errorf("%s space map: root says %d blocks allocated, bitmaps hold %d", c.kind, c.root.NrAllocated, c.got.Allocated)
		}
	}
	wantMeta := make([]uint32, mroot.NrBlocks)
	wantData := make([]uint32, droot.NrBlocks)
	wantMeta[0]++
	for _, b := range append(mc.Blocks, dc.Blocks...) {
		if b >= mroot.NrBlocks {
			return fmt.Errorf("space map block %d beyond metadata device", b)
		}
		wantMeta[b]++
	}
	err = CountTree(r, treeRoot, levels, wantMeta, wantData, func(v []byte) uint64 { return binary.LittleEndian.Uint64(v) })
	if err != nil {
		return err
	}
	if err := compareCounts("metadata", wantMeta, mc.Counts); err != nil {
		return err
	}
	return compareCounts("data", wantData, dc.Counts)
}

// CountTree walks the nested tree at root on r and adds to meta one
// reference per parent for every node (walking a shared node once), and to
// data one reference per distinct leaf for every value dataBlock maps to a
// data block (nil data skips values). It enforces the node fill rules that
// thin_check enforces.
func CountTree(r io.ReaderAt, root uint64, levels int, meta, data []uint32, dataBlock func(value []byte) uint64) error {
	seen := make(map[uint64]bool)
	return btree.WalkNodes(r, root, levels, func(info btree.NodeInfo, n btree.Node) (bool, error) {
		if info.Blocknr >= uint64(len(meta)) {
			return false, fmt.Errorf("btree node %d beyond metadata device", info.Blocknr)
		}
		meta[info.Blocknr]++
		if seen[info.Blocknr] {
			return false, nil
		}
		seen[info.Blocknr] = true
		if info.Depth > 0 && n.NrEntries() < n.MaxEntries()/3 {
			return false, fmt.Errorf("btree node %d: nr_entries %d < max_entries/3 (%d)", info.Blocknr, n.NrEntries(), n.MaxEntries()/3)
		}
		if n.MaxEntries()%3 != 0 {
			return false, fmt.Errorf("btree node %d: max_entries %d not a multiple of 3", info.Blocknr, n.MaxEntries())
		}
		if n.IsLeaf() && info.Level == levels-1 && data != nil {
			for i := 0; i < n.NrEntries(); i++ {
				db := dataBlock(n.Value(i))
				if db >= uint64(len(data)) {
					return false, fmt.Errorf("btree node %d: data block %d beyond %d", info.Blocknr, db, len(data))
				}
				data[db]++
			}
		}
		return true, nil
	})
}

// CompareCounts reports the blocks whose counts differ (kind names the map).
func CompareCounts(kind string, want, got []uint32) error {
	return compareCounts(kind, want, got)
}

func compareCounts(kind string, want, got []uint32) error {
	bad := 0
	msg := ""
	for b := range want {
		if want[b] != got[b] {
			if bad < 8 {
				msg += fmt.Sprintf(" %d: have %d want %d;", b, got[b], want[b])
			}
			bad++
		}
	}
	if bad > 0 {
		return fmt.Errorf("%s space map: %d wrong reference counts:%s", kind, bad, msg)
	}
	return nil
}
