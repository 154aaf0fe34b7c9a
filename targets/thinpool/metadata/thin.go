package metadata

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gdmsetup/gdmsetup/pdata/btree"
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
	p.openDevice(id)
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
	var v [8]byte
	if err := p.mapping.Lookup(p.sb.DataMappingRoot, []uint64{t.id, vBlock}, v[:]); err != nil {
		if errors.Is(err, btree.ErrNotFound) {
			return Mapping{}, false, nil
		}
		return Mapping{}, false, err
	}
	b, tm := unpackBlockTime(binary.LittleEndian.Uint64(v[:]))
	return Mapping{DataBlock: b, Time: tm, Shared: d.SnapshottedTime > tm}, true, nil
}

// InsertBlock maps vBlock to dataBlock (stamped with the current time), taking over
// the caller's reference on dataBlock; a previous mapping's data block is released.
func (t *Thin) InsertBlock(vBlock, dataBlock uint64) error {
	return t.change(func(p *Pool, d *deviceDetails) error {
		return t.insert(p, d, vBlock, dataBlock)
	})
}

func (t *Thin) insert(p *Pool, d *deviceDetails, vBlock, dataBlock uint64) error {
	if dataBlock >= 1<<40 {
		return fmt.Errorf("thin device %d: data block %d does not fit in 40 bits", t.id, dataBlock)
	}
	v := p.value[:]
	binary.LittleEndian.PutUint64(v, packBlockTime(dataBlock, p.sb.Time))
	root, added, err := p.mapping.InsertNotify(p.sb.DataMappingRoot, []uint64{t.id, vBlock}, v)
	if err != nil {
		return p.fail(err)
	}
	p.sb.DataMappingRoot = root
	if added {
		d.MappedBlocks++
	}
	d.changed = true
	return nil
}

// RemoveRange unmaps every virtual block in [begin, end) as the kernel's
// dm_thin_remove_range does: the device's mapping tree is taken out of the
// top-level tree (its root counted once more so that it survives), the
// mapped runs are removed from it, and it is inserted again. The device
// counts as changed even when nothing was mapped there: the top-level leaf
// and the device's details are rewritten all the same.
func (t *Thin) RemoveRange(begin, end uint64) error {
	return t.change(func(p *Pool, d *deviceDetails) error { return t.removeRange(p, d, begin, end) })
}

func (t *Thin) removeRange(p *Pool, d *deviceDetails, begin, end uint64) error {
	root, err := p.deviceRoot(t.id)
	if err != nil {
		return p.fail(err)
	}
	if err := p.tm.Inc(root); err != nil {
		return p.fail(err)
	}
	if p.sb.DataMappingRoot, err = p.top.Remove(p.sb.DataMappingRoot, []uint64{t.id}); err != nil {
		return p.fail(err)
	}
	root, n, err := p.bottom.RemoveRange(root, []uint64{0}, begin, end)
	if err != nil {
		return p.fail(fmt.Errorf("thin device %d: remove blocks [%d, %d): %w", t.id, begin, end, err))
	}
	d.MappedBlocks -= n
	d.changed = true
	return p.insertTop(t.id, root)
}

// MappedRange is a run of mapped virtual blocks [VirtBegin, VirtEnd) whose
// data blocks follow each other from DataBegin, all shared or all not.
type MappedRange struct {
	VirtBegin, VirtEnd uint64
	DataBegin          uint64
	MaybeShared        bool // snapshotted since the first block was mapped
}

// DataEnd is one past the run's last data block.
func (r MappedRange) DataEnd() uint64 { return r.DataBegin + r.VirtEnd - r.VirtBegin }

// FindMappedRange is dm_thin_find_mapped_range: the first mapped virtual
// block in [begin, end) and the blocks after it that map to the following
// data blocks with the same sharing. found is false when nothing in the
// range is mapped.
func (t *Thin) FindMappedRange(begin, end uint64) (r MappedRange, found bool, err error) {
	p := t.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	d, err := t.details()
	if err != nil || begin >= end {
		return r, false, err
	}
	var v [8]byte
	vb, err := p.mapping.LookupNext(p.sb.DataMappingRoot, []uint64{t.id, begin}, v[:])
	switch {
	case errors.Is(err, btree.ErrNotFound):
		return r, false, nil
	case err != nil:
		return r, false, err
	case vb >= end:
		return r, false, nil
	}
	first, tm := unpackBlockTime(binary.LittleEndian.Uint64(v[:]))
	r = MappedRange{VirtBegin: vb, VirtEnd: vb + 1, DataBegin: first, MaybeShared: d.SnapshottedTime > tm}
	for ; r.VirtEnd < end; r.VirtEnd++ {
		err := p.mapping.Lookup(p.sb.DataMappingRoot, []uint64{t.id, r.VirtEnd}, v[:])
		if errors.Is(err, btree.ErrNotFound) {
			break
		}
		if err != nil {
			return r, false, err
		}
		b, tm := unpackBlockTime(binary.LittleEndian.Uint64(v[:]))
		if b != r.DataEnd() || (d.SnapshottedTime > tm) != r.MaybeShared {
			break
		}
	}
	return r, true, nil
}

// change runs fn on the device's details with the pool locked and a
// change begun (the prologue of every mapping change).
func (t *Thin) change(fn func(p *Pool, d *deviceDetails) error) error {
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
	return fn(p, d)
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
	k, err := p.mapping.FindHighestKey(p.sb.DataMappingRoot, []uint64{t.id, 0})
	switch {
	case errors.Is(err, btree.ErrNotFound):
		return 0, false, nil
	case err != nil:
		return 0, false, err
	}
	return k, true, nil
}

// DeviceInfo is the public view of a device's details.
type DeviceInfo struct {
	ID              uint64
	MappedBlocks    uint64
	TransactionID   uint64
	CreationTime    uint32
	SnapshottedTime uint32
}

// ChangedThisTransaction is dm_thin_changed_this_transaction: whether the
// device's mappings or details changed since the last commit.
func (t *Thin) ChangedThisTransaction() bool {
	t.pool.mu.Lock()
	defer t.pool.mu.Unlock()
	d, err := t.details()
	return err == nil && d.changed
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
