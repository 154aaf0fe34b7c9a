package metadata

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
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
// thin_rmap 0.9.0 computes it from the pool's committed-or-in-core mapping
// tree: every mapping of every device (ascending device id, then virtual
// block) whose data block lies in a region, consecutive ones of a device
// coalesced into one RmapRegion, the result sorted by DataBegin with
// libstdc++'s std::sort, so that regions with equal DataBegin (a block
// shared by snapshots) come in thin_rmap's order.
func (p *Pool) Rmap(regions []DataRegion) ([]RmapRegion, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	wanted := mergeRegions(regions)
	var out []RmapRegion
	var cur RmapRegion
	have := false
	err := p.mapping.Walk(p.sb.DataMappingRoot, func(keys []uint64, v []byte) error {
		dataBlock, _ := unpackBlockTime(binary.LittleEndian.Uint64(v))
		if !inRegions(wanted, dataBlock) {
			return nil
		}
		dev, virtBlock := uint32(keys[0]), keys[1]
		if have && cur.ThinDev == dev && cur.DataEnd == dataBlock && cur.ThinBegin+(cur.DataEnd-cur.DataBegin) == virtBlock {
			cur.DataEnd++
			return nil
		}
		if have {
			out = append(out, cur)
		}
		cur, have = RmapRegion{DataBegin: dataBlock, DataEnd: dataBlock + 1, ThinDev: dev, ThinBegin: virtBlock}, true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mapping tree: %w", err)
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
