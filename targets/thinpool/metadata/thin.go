package metadata

import (
	"encoding/binary"
	"fmt"
)

// Thin is an open thin device of a Pool. Its methods take the pool's lock.
type Thin struct {
	pool   *Pool
	id     uint64
	closed bool
}

// Mapping is the result of a lookup.
type Mapping struct {
	DataBlock uint64
	Time      uint32 // pool time when the mapping was inserted
	Shared    bool   // the device was snapshotted after the mapping was made
}

// OpenThin opens device id; Delete refuses while it is open.
func (p *Pool) OpenThin(id uint64) (*Thin, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.details[id]; !ok {
		return nil, fmt.Errorf("thin device %d: %w", id, ErrNoDevice)
	}
	p.open[id]++
	return &Thin{pool: p, id: id}, nil
}

// Close releases the handle.
func (t *Thin) Close() {
	t.pool.mu.Lock()
	defer t.pool.mu.Unlock()
	if !t.closed {
		t.closed = true
		t.pool.open[t.id]--
	}
}

// ID returns the device id.
func (t *Thin) ID() uint64 { return t.id }

func (t *Thin) details() (*deviceDetails, error) {
	d, ok := t.pool.details[t.id]
	if !ok {
		return nil, fmt.Errorf("thin device %d: %w", t.id, ErrNoDevice)
	}
	return d, nil
}

// FindBlock looks up virtual block vBlock.
func (t *Thin) FindBlock(vBlock uint64) (Mapping, bool, error) {
	p := t.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	d, err := t.details()
	if err != nil {
		return Mapping{}, false, err
	}
	root, err := p.deviceRoot(t.id)
	if err != nil {
		return Mapping{}, false, err
	}
	v, found, err := p.tm.lookup(root, vBlock, p.bottomVT)
	if err != nil || !found {
		return Mapping{}, false, err
	}
	b, tm := unpackBlockTime(binary.LittleEndian.Uint64(v))
	return Mapping{DataBlock: b, Time: tm, Shared: d.SnapshottedTime > tm}, true, nil
}

// InsertBlock maps vBlock to dataBlock (stamped with the current time), taking over
// the caller's reference on dataBlock; a previous mapping's data block is released.
func (t *Thin) InsertBlock(vBlock, dataBlock uint64) error {
	p := t.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.begin(); err != nil {
		return err
	}
	d, err := t.details()
	if err != nil {
		return err
	}
	if dataBlock >= p.dsm.counts.nrBlocks || dataBlock >= 1<<40 {
		return fmt.Errorf("thin device %d: data block %d beyond the data device (%d blocks)", t.id, dataBlock, p.dsm.counts.nrBlocks)
	}
	var v [8]byte
	binary.LittleEndian.PutUint64(v[:], packBlockTime(dataBlock, p.sb.Time))
	return p.changeDevice(t.id, func(root uint64) (uint64, error) {
		newRoot, added, err := p.tm.insert(root, vBlock, v[:], p.bottomVT, true)
		if added {
			d.MappedBlocks++
		}
		d.changed = true
		return newRoot, err
	})
}

// RemoveBlock unmaps vBlock (no error when it was not mapped).
func (t *Thin) RemoveBlock(vBlock uint64) error {
	return t.RemoveRange(vBlock, vBlock+1)
}

// RemoveRange unmaps every virtual block in [begin, end).
func (t *Thin) RemoveRange(begin, end uint64) error {
	p := t.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.begin(); err != nil {
		return err
	}
	d, err := t.details()
	if err != nil {
		return err
	}
	root, err := p.deviceRoot(t.id)
	if err != nil {
		return err
	}
	var keys []uint64
	err = p.tm.walkRange(root, begin, end, p.bottomVT, func(k uint64) { keys = append(keys, k) })
	if err != nil || len(keys) == 0 {
		return err
	}
	return p.changeDevice(t.id, func(root uint64) (uint64, error) {
		for _, k := range keys {
			var removed bool
			var err error
			if root, removed, err = p.tm.remove(root, k, p.bottomVT); err != nil {
				return 0, err
			}
			if removed {
				d.MappedBlocks--
				d.changed = true
			}
		}
		return root, nil
	})
}

// MappedBlocks returns the number of mapped blocks.
func (t *Thin) MappedBlocks() (uint64, error) {
	t.pool.mu.Lock()
	defer t.pool.mu.Unlock()
	d, err := t.details()
	if err != nil {
		return 0, err
	}
	return d.MappedBlocks, nil
}

// HighestMapped returns the highest mapped virtual block (found false when none).
func (t *Thin) HighestMapped() (uint64, bool, error) {
	p := t.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	root, err := p.deviceRoot(t.id)
	if err != nil {
		return 0, false, err
	}
	return p.tm.highestKey(root, p.bottomVT)
}

// DeviceInfo is the public view of a device's details.
type DeviceInfo struct {
	ID              uint64
	MappedBlocks    uint64
	TransactionID   uint64
	CreationTime    uint32
	SnapshottedTime uint32
}

// Info returns the device's details.
func (t *Thin) Info() (DeviceInfo, error) {
	t.pool.mu.Lock()
	defer t.pool.mu.Unlock()
	d, err := t.details()
	if err != nil {
		return DeviceInfo{}, err
	}
	return DeviceInfo{ID: t.id, MappedBlocks: d.MappedBlocks, TransactionID: d.TransactionID,
		CreationTime: d.CreationTime, SnapshottedTime: d.SnapshottedTime}, nil
}
