package metadata

import (
	"fmt"
	"maps"
	"slices"
)

// DeviceUsage is one thin device's share of the pool as thin_ls reports it.
type DeviceUsage struct {
	ID uint64
	// MappedBlocks is the device details' count of mapped data blocks.
	MappedBlocks uint64
	// ExclusiveBlocks counts the device's data blocks that no other device in the
	// details tree maps (computed only when asked for).
	ExclusiveBlocks uint64
	TransactionID   uint64
	CreationTime    uint32
	SnapshottedTime uint32
}

// Usage returns every thin device of the details tree in increasing id order, read
// from the live metadata or the held metadata snapshot. With exclusive it walks every
// device's mappings to count ExclusiveBlocks; a device in the details tree without a
// mapping tree is then an error.
func (p *Pool) Usage(metadataSnap, exclusive bool) ([]DeviceUsage, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, err := p.view(metadataSnap)
	if err != nil {
		return nil, err
	}
	ids := slices.Sorted(maps.Keys(v.details))
	out := make([]DeviceUsage, len(ids))
	for i, id := range ids {
		d := v.details[id]
		out[i] = DeviceUsage{ID: id, MappedBlocks: d.MappedBlocks, TransactionID: d.TransactionID,
			CreationTime: d.CreationTime, SnapshottedTime: d.SnapshottedTime}
	}
	if !exclusive {
		return out, nil
	}
	nrData, err := p.dsm.NrBlocks() // the live size: a metadata snapshot's view has none
	if err != nil {
		return nil, err
	}
	refs := newRefSet(nrData)
	for _, id := range ids {
		found, err := p.walkDevice(v, id, func(_, dataBlock uint64, _ uint32) { refs.add(dataBlock) })
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("thin device %d is in the details tree but has no mapping tree", id)
		}
	}
	for i, id := range ids {
		if _, err := p.walkDevice(v, id, func(_, dataBlock uint64, _ uint32) {
			if refs.once(dataBlock) {
				out[i].ExclusiveBlocks++
			}
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// refSet records, per data block, whether it was mapped once or more than once: in
// bitmaps for the blocks of the data device (up to maxDenseDataBlocks), grown to the
// highest block added, as thin_ls grows its own; in a map for blocks beyond (only
// damaged metadata maps those, or a damaged superblock gives the data device a size
// no bitmap should take).
type refSet struct {
	limit        uint64          // the bitmaps may cover the blocks below limit
	seen, shared []uint64        // bitmaps indexed by data block
	beyond       map[uint64]bool // data block -> shared
}

// maxDenseDataBlocks bounds refSet's bitmaps (2 × 512 MiB).
const maxDenseDataBlocks = 1 << 32

func newRefSet(nrDataBlocks uint64) *refSet {
	return &refSet{limit: min(nrDataBlocks, maxDenseDataBlocks), beyond: map[uint64]bool{}}
}

func (s *refSet) add(dataBlock uint64) {
	if dataBlock >= s.limit {
		_, seen := s.beyond[dataBlock]
		s.beyond[dataBlock] = seen
		return
	}
	w, bit := dataBlock/64, uint64(1)<<(dataBlock%64)
	if w >= uint64(len(s.seen)) {
		words := min(max(w+1, 2*uint64(len(s.seen))), (s.limit+63)/64)
		s.seen = append(s.seen, make([]uint64, words-uint64(len(s.seen)))...)
		s.shared = append(s.shared, make([]uint64, words-uint64(len(s.shared)))...)
	}
	if s.seen[w]&bit != 0 {
		s.shared[w] |= bit
	}
	s.seen[w] |= bit
}

// once reports whether dataBlock was added exactly once.
func (s *refSet) once(dataBlock uint64) bool {
	if dataBlock >= s.limit {
		shared, seen := s.beyond[dataBlock]
		return seen && !shared
	}
	w, bit := dataBlock/64, uint64(1)<<(dataBlock%64)
	return w < uint64(len(s.seen)) && s.seen[w]&bit != 0 && s.shared[w]&bit == 0
}
