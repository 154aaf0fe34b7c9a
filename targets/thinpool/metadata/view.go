package metadata

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gdmsetup/gdmsetup/pdata/btree"
)

// view is one set of roots to read the pool through: the live superblock with the
// in-core device details, or the held metadata snapshot's copy of the superblock
// with the details read from its tree.
type view struct {
	sb      *superblock
	details map[uint64]*deviceDetails
	// nrDataBlocks is the data space map's size; 0 for a metadata snapshot, whose
	// space-map roots the kernel zeroes.
	nrDataBlocks uint64
}

// errNoMetadataSnap is returned when a reader asks for the metadata snapshot and none is held.
var errNoMetadataSnap = errors.New("no metadata snapshot is held (superblock held_root is 0)")

// view returns the live roots, or the held metadata snapshot's when metadataSnap is set.
// The caller holds p.mu.
func (p *Pool) view(metadataSnap bool) (*view, error) {
	if !metadataSnap {
		nr, err := p.dsm.NrBlocks()
		if err != nil {
			return nil, err
		}
		return &view{sb: &p.sb, details: p.details, nrDataBlocks: nr}, nil
	}
	if p.sb.HeldRoot == 0 {
		return nil, errNoMetadataSnap
	}
	held, err := p.readHeld()
	if err != nil {
		return nil, err
	}
	details := map[uint64]*deviceDetails{}
	err = p.detailsT.Walk(held.DeviceDetailsRoot, func(keys []uint64, v []byte) error {
		d, err := decodeDetails(v)
		details[keys[0]] = d
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("metadata snapshot device details: %w", err)
	}
	return &view{sb: held, details: details, nrDataBlocks: held.DataSM.NrBlocks}, nil
}

// walkDevice calls fn for each mapping of thin device id in v, in increasing virtual
// block order; it returns false, and calls nothing, when the top-level mapping tree has
// no tree for id. The caller holds p.mu.
func (p *Pool) walkDevice(v *view, id uint64, fn func(virtBlock, dataBlock uint64, time uint32)) (bool, error) {
	var rootBytes [8]byte
	err := p.top.Lookup(v.sb.DataMappingRoot, []uint64{id}, rootBytes[:])
	if errors.Is(err, btree.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mapping tree of device %d: %w", id, err)
	}
	err = p.bottom.Walk(binary.LittleEndian.Uint64(rootBytes[:]), func(keys []uint64, val []byte) error {
		b, t := unpackBlockTime(binary.LittleEndian.Uint64(val))
		fn(keys[0], b, t)
		return nil
	})
	if err != nil {
		return true, fmt.Errorf("mapping tree of device %d: %w", id, err)
	}
	return true, nil
}
