package metadata

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// On-disk space-map persistence (dm-space-map-common.c): bitmap blocks, the metadata
// index block or the data index btree, and the overflow ref-count btree.

const (
	indexEntrySize      = 16  // struct disk_index_entry
	maxMetadataBitmaps  = 255 // entries in the metadata index block
	metadataIndexOffset = 16
)

var (
	overflowVT = &valueType{size: 4}
	indexVT    = &valueType{size: indexEntrySize}
)

// spaceMapDisk tracks where one space map lives on disk between commits.
type spaceMapDisk struct {
	counts       *refCounts
	indexRoot    uint64 // metadata sm: index block; data sm: index btree root
	overflowRoot uint64
	indexDirty   bool
}

func putIndexEntry(b []byte, blocknr uint64, nrFree, noneFreeBefore uint32) {
	binary.LittleEndian.PutUint64(b[0:], blocknr)
	binary.LittleEndian.PutUint32(b[8:], nrFree)
	binary.LittleEndian.PutUint32(b[12:], noneFreeBefore)
}

// loadBitmap reads bitmap i of r from metadata block loc.
func loadBitmap(t *txManager, r *refCounts, i int, loc uint64) error {
	b, err := t.cache.read(loc, saltBitmap, r.name+" space map bitmap")
	if err != nil {
		return err
	}
	words := r.words[i*wordsPerBitmap : (i+1)*wordsPerBitmap]
	for j := range words {
		words[j] = binary.LittleEndian.Uint64(b.data[16+8*j:])
	}
	t.cache.forget(loc)
	r.bitmapLoc[i], r.bitmapDirty[i] = loc, false
	return nil
}

// loadSpaceMap reads a space map from its root. metadata selects the index format.
func loadSpaceMap(t *txManager, name string, root smRoot, metadata bool) (*spaceMapDisk, error) {
	if root.NrBlocks > 1<<40 {
		return nil, fmt.Errorf("%s space map: implausible nr_blocks %d", name, root.NrBlocks)
	}
	nb := nrBitmaps(root.NrBlocks)
	var locs []uint64
	if metadata {
		if nb > maxMetadataBitmaps {
			return nil, fmt.Errorf("metadata space map: %d blocks need more than %d bitmaps", root.NrBlocks, maxMetadataBitmaps)
		}
		b, err := t.cache.read(root.BitmapRoot, saltIndex, "metadata space map index")
		if err != nil {
			return nil, err
		}
		locs = make([]uint64, nb)
		for i := range locs {
			locs[i] = binary.LittleEndian.Uint64(b.data[metadataIndexOffset+indexEntrySize*i:])
		}
		t.cache.forget(root.BitmapRoot)
	} else {
		// Collect the index first: nr_blocks is only believed once the bitmaps exist.
		err := t.walk(root.BitmapRoot, indexVT, func(k uint64, v []byte) error {
			if k != uint64(len(locs)) || len(locs) >= nb {
				return &BlockError{Block: root.BitmapRoot, What: "data space map index", Msg: fmt.Sprintf("unexpected bitmap index %d (nr_blocks %d)", k, root.NrBlocks)}
			}
			locs = append(locs, binary.LittleEndian.Uint64(v))
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(locs) != nb {
			return nil, &BlockError{Block: root.BitmapRoot, What: "data space map index", Msg: fmt.Sprintf("%d bitmaps for %d blocks, want %d", len(locs), root.NrBlocks, nb)}
		}
	}
	r := newRefCounts(name, root.NrBlocks)
	for i, loc := range locs {
		if err := loadBitmap(t, r, i, loc); err != nil {
			return nil, err
		}
	}
	var allocated uint64
	for b := uint64(0); b < r.nrBlocks; b++ {
		if b%32 == 0 && r.words[b/32] == 0 {
			b += 31
			continue
		}
		raw := (r.words[b/32] >> (2 * (b % 32))) & 3
		if raw != 0 {
			allocated++
		}
		if raw == 3 {
			r.overflow[b] = 0
		}
	}
	err := t.walk(root.RefCountRoot, overflowVT, func(k uint64, v []byte) error {
		c := binary.LittleEndian.Uint32(v)
		if _, ok := r.overflow[k]; !ok || c < 3 {
			return fmt.Errorf("%s space map: ref-count tree holds %d for block %d whose bitmap entry is not 3", name, c, k)
		}
		r.overflow[k] = c
		return nil
	})
	if err != nil {
		return nil, err
	}
	for b, c := range r.overflow {
		if c < 3 {
			return nil, fmt.Errorf("%s space map: block %d has bitmap entry 3 but no ref-count tree entry", name, b)
		}
	}
	r.nrAllocated = allocated
	return &spaceMapDisk{counts: r, indexRoot: root.BitmapRoot, overflowRoot: root.RefCountRoot}, nil
}

// saveOverflow rebuilds the overflow ref-count tree when it changed.
func (d *spaceMapDisk) saveOverflow(t *txManager) error {
	r := d.counts
	if !r.overflowDirty && d.overflowRoot != 0 {
		return nil
	}
	if d.overflowRoot != 0 {
		if err := t.del(d.overflowRoot, overflowVT); err != nil {
			return err
		}
	}
	keys := make([]uint64, 0, len(r.overflow))
	for k := range r.overflow {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	vals := make([]byte, 0, 4*len(keys))
	for _, k := range keys {
		vals = binary.LittleEndian.AppendUint32(vals, r.overflow[k])
	}
	root, err := t.build(keys, vals, overflowVT)
	if err != nil {
		return err
	}
	d.overflowRoot, r.overflowDirty = root, false
	return nil
}

// relocateBitmaps gives every dirty bitmap a block allocated in this transaction.
// It reports whether it allocated anything (which may dirty more bitmaps of msm).
func (d *spaceMapDisk) relocateBitmaps(t *txManager) (bool, error) {
	r := d.counts
	moved := false
	for i, dirty := range r.bitmapDirty {
		if !dirty {
			continue
		}
		if _, fresh := t.fresh[r.bitmapLoc[i]]; fresh && r.bitmapLoc[i] != 0 {
			continue
		}
		nr, _, err := t.newBlock(saltBitmap)
		if err != nil {
			return false, err
		}
		if old := r.bitmapLoc[i]; old != 0 {
			if err := t.dec(old); err != nil {
				return false, err
			}
		}
		r.bitmapLoc[i] = nr
		d.indexDirty, moved = true, true
	}
	return moved, nil
}

// writeBitmaps fills the (already relocated) dirty bitmap blocks.
func (d *spaceMapDisk) writeBitmaps(t *txManager) {
	r := d.counts
	for i, dirty := range r.bitmapDirty {
		if !dirty {
			continue
		}
		b := t.cache.zero(r.bitmapLoc[i], saltBitmap)
		for j, w := range r.words[i*wordsPerBitmap : (i+1)*wordsPerBitmap] {
			binary.LittleEndian.PutUint64(b.data[16+8*j:], w)
		}
		r.bitmapDirty[i] = false
		d.indexDirty = true
	}
}

// indexEntries returns the packed index entries of all bitmaps.
func (d *spaceMapDisk) indexEntries() []byte {
	r := d.counts
	out := make([]byte, indexEntrySize*len(r.bitmapLoc))
	for i, loc := range r.bitmapLoc {
		nrFree, nfb := r.bitmapStats(i)
		putIndexEntry(out[indexEntrySize*i:], loc, nrFree, nfb)
	}
	return out
}

func (d *spaceMapDisk) root() smRoot {
	return smRoot{NrBlocks: d.counts.nrBlocks, NrAllocated: d.counts.nrAllocated, BitmapRoot: d.indexRoot, RefCountRoot: d.overflowRoot}
}

// saveData writes the data space map (its blocks live in metadata space).
func (d *spaceMapDisk) saveData(t *txManager) error {
	if err := d.saveOverflow(t); err != nil {
		return err
	}
	if _, err := d.relocateBitmaps(t); err != nil {
		return err
	}
	d.writeBitmaps(t)
	if !d.indexDirty && d.indexRoot != 0 {
		return nil
	}
	if d.indexRoot != 0 {
		if err := t.del(d.indexRoot, indexVT); err != nil {
			return err
		}
	}
	keys := make([]uint64, len(d.counts.bitmapLoc))
	for i := range keys {
		keys[i] = uint64(i)
	}
	root, err := t.build(keys, d.indexEntries(), indexVT)
	if err != nil {
		return err
	}
	d.indexRoot, d.indexDirty = root, false
	return nil
}

// saveMetadata writes the metadata space map, which counts its own blocks: allocations
// made while saving change bitmaps, so relocation repeats until nothing moves.
func (d *spaceMapDisk) saveMetadata(t *txManager) error {
	if err := d.saveOverflow(t); err != nil {
		return err
	}
	if len(d.counts.bitmapLoc) > maxMetadataBitmaps {
		return fmt.Errorf("metadata space map: too many bitmaps (%d)", len(d.counts.bitmapLoc))
	}
	indexNr, _, err := t.newBlock(saltIndex)
	if err != nil {
		return err
	}
	if d.indexRoot != 0 {
		if err := t.dec(d.indexRoot); err != nil {
			return err
		}
	}
	d.indexRoot = indexNr
	for {
		moved, err := d.relocateBitmaps(t)
		if err != nil {
			return err
		}
		if !moved {
			break
		}
	}
	d.writeBitmaps(t)
	b := t.cache.zero(indexNr, saltIndex)
	copy(b.data[metadataIndexOffset:], d.indexEntries())
	d.indexDirty = false
	return nil
}
