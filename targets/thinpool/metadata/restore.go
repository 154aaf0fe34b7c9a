package metadata

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// Restore formats dev (nrMetaBlocks blocks) and writes the pool described by x into
// it in one transaction. mapped_blocks is taken from the mappings themselves; a
// different value in the XML is an error.
func Restore(x *XMLSuperblock, dev BlockDevice, nrMetaBlocks uint64) error {
	if err := x.validate(); err != nil {
		return err
	}
	type packedDevice struct {
		keys []uint64
		vals []byte
	}
	devs := make([]packedDevice, len(x.Devices))
	for i := range x.Devices {
		keys, vals, err := x.Devices[i].packed()
		if err != nil {
			return err
		}
		devs[i] = packedDevice{keys, vals}
	}
	p, err := Format(dev, nrMetaBlocks, x.DataBlockSize, x.NrDataBlocks, Options{})
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dirty = true
	p.sb.Time, p.sb.TransactionID, p.sb.Flags = x.Time, x.Transaction, x.Flags
	bvt := p.bottomVT
	for i := range x.Devices {
		d := &x.Devices[i]
		keys, vals := devs[i].keys, devs[i].vals
		for j := 0; j < len(keys); j++ {
			if err := p.dsm.counts.inc(binary.LittleEndian.Uint64(vals[8*j:]) >> 24); err != nil {
				return fmt.Errorf("device %d: %w", d.ID, err)
			}
		}
		root, err := p.tm.build(keys, vals, bvt)
		if err != nil {
			return err
		}
		if err := p.setDeviceRoot(d.ID, root); err != nil {
			return err
		}
		p.details[d.ID] = &deviceDetails{MappedBlocks: uint64(len(keys)), TransactionID: d.Transaction,
			CreationTime: d.CreationTime, SnapshottedTime: d.SnapTime, changed: true}
		if err := p.cache.trim(); err != nil {
			return err
		}
	}
	return p.commit()
}

// validate checks what Restore needs before anything is written.
func (x *XMLSuperblock) validate() error {
	if x.DataBlockSize == 0 {
		return fmt.Errorf("superblock: data_block_size is 0")
	}
	seen := make(map[uint64]bool, len(x.Devices))
	for i := range x.Devices {
		d := &x.Devices[i]
		if seen[d.ID] {
			return fmt.Errorf("device %d appears twice", d.ID)
		}
		seen[d.ID] = true
		var n uint64
		for _, m := range d.Mappings {
			if m.Data+m.Length > x.NrDataBlocks {
				return fmt.Errorf("device %d: data blocks %d..%d beyond nr_data_blocks %d", d.ID, m.Data, m.Data+m.Length-1, x.NrDataBlocks)
			}
			if m.Data+m.Length > 1<<40 || m.Time > 0xFFFFFF {
				return fmt.Errorf("device %d: mapping of origin %d does not fit the on-disk format", d.ID, m.Origin)
			}
			n += m.Length
		}
		if n != d.MappedBlocks {
			return fmt.Errorf("device %d: mapped_blocks=%d but %d blocks are mapped", d.ID, d.MappedBlocks, n)
		}
	}
	return nil
}

// packed expands the device's mappings into sorted keys and packed block_time values.
func (d *XMLDevice) packed() ([]uint64, []byte, error) {
	var n uint64
	sorted := true
	for i, m := range d.Mappings {
		n += m.Length
		if i > 0 && m.Origin < d.Mappings[i-1].Origin+d.Mappings[i-1].Length {
			sorted = false
		}
	}
	ms := d.Mappings
	if !sorted {
		ms = slices.Clone(ms)
		slices.SortStableFunc(ms, func(a, b XMLMapping) int { return cmpU64(a.Origin, b.Origin) })
	}
	keys := make([]uint64, 0, n)
	vals := make([]byte, 0, 8*n)
	for _, m := range ms {
		for j := uint64(0); j < m.Length; j++ {
			if len(keys) > 0 && m.Origin+j <= keys[len(keys)-1] {
				return nil, nil, fmt.Errorf("device %d: origin block %d mapped twice", d.ID, m.Origin+j)
			}
			keys = append(keys, m.Origin+j)
			vals = binary.LittleEndian.AppendUint64(vals, packBlockTime(m.Data+j, m.Time))
		}
	}
	return keys, vals, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
