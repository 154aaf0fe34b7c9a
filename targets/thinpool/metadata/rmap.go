package metadata

import (
	"cmp"
	"fmt"
	"io"
	"slices"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/btree"
)

// DataRegion is the data blocks [Begin, End): thin_rmap's --region Begin..End.
type DataRegion struct {
	Begin, End uint64
}

// RmapRegion says that thin device ThinDev maps its virtual blocks from
// ThinBegin on to the data blocks [DataBegin, DataEnd), one to one.
type RmapRegion struct {
	DataBegin, DataEnd uint64
	ThinDev            uint32 // thin_rmap keeps a device id in 32 bits
	ThinBegin          uint64
}

// Rmap returns the reverse map of the data blocks in any of regions, as
// thin_rmap 0.9.0 computes it from the committed metadata on r: the superblock
// (checked by its checksum alone) and the mapping tree, nothing else. Every mapping
// whose data block lies in a region, in tree order (ascending device id, then
// virtual block), consecutive ones of a device coalesced into one RmapRegion; the
// result sorted by DataBegin with libstdc++'s std::sort, so that regions with equal
// DataBegin (a block shared by snapshots) come in thin_rmap's order. As in
// thin_rmap, a node met again is not walked again: the mappings of a leaf a
// snapshot still shares with its origin are listed for the first device only.
// Any damage to the mapping tree is an error.
func Rmap(r io.ReaderAt, regions []DataRegion) ([]RmapRegion, error) {
	buf := make([]byte, BlockSize)
	if _, err := r.ReadAt(buf, superblockLocation*BlockSize); err != nil {
		return nil, fmt.Errorf("superblock: %w", err)
	}
	if err := block.VerifyChecksum(buf, superblockSalt); err != nil {
		return nil, &BlockError{Block: superblockLocation, What: "superblock", Msg: err.Error()}
	}
	sb, _ := parseSuperblock(buf) // only the mapping root is read
	root := sb.DataMappingRoot
	wanted := mergeRegions(regions)
	var out []RmapRegion
	var cur RmapRegion
	have := false
	seen := map[uint64]bool{}
	err := btree.WalkNodes(r, root, 2, func(info btree.NodeInfo, n btree.Node) (bool, error) {
		if seen[info.Blocknr] {
			return false, nil
		}
		seen[info.Blocknr] = true
		if !n.IsLeaf() || info.Level == 0 {
			return true, nil
		}
		if n.ValueSize() != 8 {
			return false, &BlockError{Block: info.Blocknr, What: "mapping tree", Msg: fmt.Sprintf("value_size %d, expected 8", n.ValueSize())}
		}
		dev := uint32(info.Path[0])
		for i := 0; i < n.NrEntries(); i++ {
			dataBlock, _ := unpackBlockTime(n.Value64(i))
			if !inRegions(wanted, dataBlock) {
				continue
			}
			virtBlock := n.Key(i)
			if have && cur.ThinDev == dev && cur.DataEnd == dataBlock && cur.ThinBegin+(cur.DataEnd-cur.DataBegin) == virtBlock {
				cur.DataEnd++
				continue
			}
			if have {
				out = append(out, cur)
			}
			cur, have = RmapRegion{DataBegin: dataBlock, DataEnd: dataBlock + 1, ThinDev: dev, ThinBegin: virtBlock}, true
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("damage in the mapping tree (run thin check): %w", err)
	}
	if have {
		out = append(out, cur)
	}
	stdSort(out, func(a, b *RmapRegion) bool { return a.DataBegin < b.DataBegin })
	return out, nil
}

// mergeRegions returns the union of regions as sorted, disjoint, non-adjacent
// regions (empty ones dropped).
func mergeRegions(regions []DataRegion) []DataRegion {
	var rs []DataRegion
	for _, r := range regions {
		if r.Begin < r.End {
			rs = append(rs, r)
		}
	}
	slices.SortFunc(rs, func(a, b DataRegion) int { return cmp.Compare(a.Begin, b.Begin) })
	var merged []DataRegion
	for _, r := range rs {
		if n := len(merged); n > 0 && r.Begin <= merged[n-1].End {
			merged[n-1].End = max(merged[n-1].End, r.End)
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// inRegions reports whether b lies in one of the sorted, disjoint regions.
func inRegions(regions []DataRegion, b uint64) bool {
	_, found := slices.BinarySearchFunc(regions, b, func(r DataRegion, b uint64) int {
		switch {
		case r.End <= b:
			return -1
		case r.Begin > b:
			return 1
		}
		return 0
	})
	return found
}
