package spacemap

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/btree"
)

// Counts is a space map decoded from raw metadata, for checkers.
type Counts struct {
	// Counts holds the reference count of every block the map tracks.
	Counts []uint32
	// Blocks lists the metadata blocks the space map itself occupies (index
	// block or index-tree nodes, bitmaps, ref-count tree nodes), once per
	// reference, so a checker can add them to its expected metadata counts.
	Blocks []uint64
	// Allocated is the number of blocks whose count is not 0. The root's
	// nr_allocated is not checked against it, as thin_check does not:
	// thin_restore 0.9 writes a metadata nr_allocated one above its
	// bitmaps. A caller may compare the two and warn.
	Allocated uint64
}

// ReadCounts decodes the space map with root from r without the block or
// transaction managers (metadata selects the metadata flavour). Damage is
// reported with the block number. Memory follows what is on r, not the
// root's nr_blocks: the index must hold exactly the bitmaps nr_blocks
// needs, each a distinct valid bitmap block, before counts are kept for
// them.
func ReadCounts(r io.ReaderAt, root Root, metadata bool) (*Counts, error) {
	kind := "data space map"
	if metadata {
		kind = "metadata space map"
	}
	c := &Counts{}
	buf := make([]byte, block.BlockSize)
	index, err := readIndex(r, root, metadata, buf, func(b uint64) { c.Blocks = append(c.Blocks, b) })
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	bitmaps := make(map[uint64]int, len(index))
	for i, ie := range index {
		if j, dup := bitmaps[ie.Blocknr]; dup {
			return nil, fmt.Errorf("%s: bitmaps %d and %d are both block %d", kind, j, i, ie.Blocknr)
		}
		bitmaps[ie.Blocknr] = i
		if err := readValidated(r, ie.Blocknr, BitmapValidator, buf); err != nil {
			return nil, fmt.Errorf("%s: bitmap %d: %w", kind, i, err)
		}
		c.Blocks = append(c.Blocks, ie.Blocknr)
		entries := min(EntriesPerBitmap, root.NrBlocks-uint64(i)*EntriesPerBitmap)
		for e := uint32(0); e < uint32(entries); e++ {
			v := BitmapGet(buf, e)
			c.Counts = append(c.Counts, v)
			if v != 0 {
				c.Allocated++
			}
		}
	}
	overflowed := make(map[uint64]bool)
	err = btree.WalkNodes(r, root.RefCountRoot, 1, func(info btree.NodeInfo, nd btree.Node) (bool, error) {
		c.Blocks = append(c.Blocks, info.Blocknr)
		if !nd.IsLeaf() {
			return true, nil
		}
		if nd.ValueSize() != 4 {
			return false, fmt.Errorf("ref count tree node %d: value_size %d, want 4", info.Blocknr, nd.ValueSize())
		}
		for i := 0; i < nd.NrEntries(); i++ {
			b := nd.Key(i)
			cnt := binary.LittleEndian.Uint32(nd.Value(i))
			if b >= root.NrBlocks || c.Counts[b] != 3 || cnt < 3 || overflowed[b] {
				return false, fmt.Errorf("ref count tree node %d: entry for block %d (count %d) without bitmap overflow", info.Blocknr, b, cnt)
			}
			c.Counts[b] = cnt
			overflowed[b] = true
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	for b, v := range c.Counts {
		if v == 3 && !overflowed[uint64(b)] {
			return nil, fmt.Errorf("%s: block %d overflows but has no ref count tree entry", kind, b)
		}
	}
	return c, nil
}

// readIndex decodes the index of the space map with root: the index block
// (metadata) or the index tree (data), which must hold exactly the bitmaps
// nr_blocks needs. node is called with every block the index occupies; buf is
// a block-sized scratch buffer.
func readIndex(r io.ReaderAt, root Root, metadata bool, buf []byte, node func(b uint64)) ([]IndexEntry, error) {
	n := NrBitmaps(root.NrBlocks)
	if metadata {
		if err := readValidated(r, root.BitmapRoot, IndexValidator, buf); err != nil {
			return nil, err
		}
		if n > MaxMetadataBitmaps {
			return nil, fmt.Errorf("index block %d: nr_blocks %d needs %d bitmaps, at most %d fit", root.BitmapRoot, root.NrBlocks, n, MaxMetadataBitmaps)
		}
		index, err := DecodeMetadataIndex(buf, int(n))
		if err != nil {
			return nil, fmt.Errorf("index block %d: %w", root.BitmapRoot, err)
		}
		node(root.BitmapRoot)
		return index, nil
	}
	var index []IndexEntry
	err := btree.WalkNodes(r, root.BitmapRoot, 1, func(info btree.NodeInfo, nd btree.Node) (bool, error) {
		node(info.Blocknr)
		if !nd.IsLeaf() {
			return true, nil
		}
		if nd.ValueSize() != IndexEntrySize {
			return false, fmt.Errorf("index tree node %d: value_size %d, want %d", info.Blocknr, nd.ValueSize(), IndexEntrySize)
		}
		for i := 0; i < nd.NrEntries(); i++ {
			k := nd.Key(i)
			switch {
			case k >= n:
				return false, fmt.Errorf("index tree node %d: entry for bitmap %d beyond the %d bitmaps of nr_blocks %d", info.Blocknr, k, n, root.NrBlocks)
			case k != uint64(len(index)):
				return false, fmt.Errorf("index tree node %d: no index entry for bitmap %d", info.Blocknr, len(index))
			}
			index = append(index, DecodeIndexEntry(nd.Value(i)))
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if uint64(len(index)) != n {
		return nil, fmt.Errorf("index tree %d holds %d bitmaps, nr_blocks %d needs %d", root.BitmapRoot, len(index), root.NrBlocks, n)
	}
	return index, nil
}

func readValidated(r io.ReaderAt, b uint64, v block.Validator, buf []byte) error {
	if _, err := r.ReadAt(buf, int64(b)*block.BlockSize); err != nil {
		return fmt.Errorf("block %d: read: %w", b, err)
	}
	if err := v.Check(buf, b); err != nil {
		return fmt.Errorf("block %d: %s: %w", b, v.Name(), err)
	}
	return nil
}
