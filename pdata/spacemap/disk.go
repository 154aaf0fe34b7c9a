package spacemap

import (
	"fmt"

	"github.com/gdmsetup/gdmsetup/pdata/transaction"
)

// Disk is the disk (data device) space map: reference counts of data
// blocks, its bitmaps, index btree and ref-count btree stored as metadata
// through tm (the kernel's sm-disk). A block freed in this transaction is
// not reallocated before commit.
//
// Concurrency: not safe for concurrent use; the transaction's writer owns it.
type Disk struct {
	tm        *transaction.Manager
	ll        ll
	old       ll
	begin     uint64
	allocated int64 // net blocks allocated this transaction (inc, dec, new, set)
}

// CreateDisk creates an empty disk space map of nrBlocks blocks (the
// kernel's dm_sm_disk_create; thin pools start with 0 and Extend).
func CreateDisk(tm *transaction.Manager, nrBlocks uint64) (*Disk, error) {
	d := &Disk{tm: tm}
	var err error
	if d.ll, err = newLL(tm, false); err != nil {
		return nil, fmt.Errorf("create data space map: %w", err)
	}
	if err := d.ll.extend(nrBlocks); err != nil {
		return nil, fmt.Errorf("create data space map: %w", err)
	}
	if err := d.Commit(); err != nil {
		return nil, fmt.Errorf("create data space map: %w", err)
	}
	return d, nil
}

// OpenDisk opens a disk space map from its saved root (RootSize bytes or the
// whole 128-byte field), the kernel's dm_sm_disk_open.
func OpenDisk(tm *transaction.Manager, root []byte) (*Disk, error) {
	r, err := DecodeRoot(root)
	if err != nil {
		return nil, fmt.Errorf("data %w", err)
	}
	d := &Disk{tm: tm}
	if d.ll, err = openLL(tm, false, r); err != nil {
		return nil, err
	}
	d.old = d.ll.clone()
	return d, nil
}

// NrBlocks returns the number of blocks tracked as of the last commit (as
// the kernel's sm_disk_get_nr_blocks: an Extend shows after Commit).
func (d *Disk) NrBlocks() (uint64, error) { return d.old.nrBlocks, nil }

// NrFree returns the blocks free at the last commit minus those allocated
// (net) since, as the kernel's sm_disk_get_nr_free.
func (d *Disk) NrFree() (uint64, error) {
	free := int64(d.old.nrBlocks) - int64(d.old.nrAllocated) - d.allocated
	return uint64(max(free, 0)), nil
}

// NrAllocated returns the number of blocks with a non-zero count now.
func (d *Disk) NrAllocated() uint64 { return d.ll.nrAllocated }

// Count returns the reference count of b.
func (d *Disk) Count(b uint64) (uint32, error) {
	d.tm.Hold()
	defer d.tm.Release()
	return d.ll.lookup(b)
}

// CountIsMoreThanOne reports whether b is shared.
func (d *Disk) CountIsMoreThanOne(b uint64) (bool, error) {
	c, err := d.Count(b)
	return c > 1, err
}

// SetCount sets the count of b.
func (d *Disk) SetCount(b uint64, count uint32) error {
	d.tm.Hold()
	defer d.tm.Release()
	return d.account(d.ll.mutate(b, func(uint32) (uint32, error) { return count, nil }, false))
}

// Inc increments the count of b.
func (d *Disk) Inc(b uint64) error {
	d.tm.Hold()
	defer d.tm.Release()
	return d.account(d.ll.inc(b))
}

// Dec decrements the count of b.
func (d *Disk) Dec(b uint64) error {
	d.tm.Hold()
	defer d.tm.Release()
	return d.account(d.ll.dec(b))
}

// account adds a mutation's change in allocated blocks to this transaction's.
func (d *Disk) account(delta int, err error) error {
	if err == nil {
		d.allocated += int64(delta)
	}
	return err
}

// NewBlock allocates a block free in this and the previous transaction,
// searching from one past the last allocation and wrapping once, and sets
// its count to 1.
func (d *Disk) NewBlock() (uint64, error) {
	d.tm.Hold()
	defer d.tm.Release()
	b, err := d.ll.findCommonFree(&d.old, d.begin, nil)
	if err == ErrNoSpace {
		b, err = d.ll.findCommonFree(&d.old, 0, nil)
	}
	if err != nil {
		return 0, fmt.Errorf("data space map (%d blocks): %w", d.ll.nrBlocks, err)
	}
	d.begin = b + 1
	if err := d.account(d.ll.inc(b)); err != nil {
		return 0, err
	}
	return b, nil
}

// Commit writes the index entries back and starts a new generation.
func (d *Disk) Commit() error {
	if err := d.ll.commit(); err != nil {
		return err
	}
	d.old = d.ll.clone()
	d.allocated = 0
	return nil
}

// Extend grows the map by extra blocks.
func (d *Disk) Extend(extra uint64) error { return d.ll.extend(extra) }

// Root returns the root to save in the superblock (valid after Commit).
func (d *Disk) Root() Root { return d.ll.root() }

// CopyRoot encodes Root into dst (RootSize or RootFieldSize bytes).
func (d *Disk) CopyRoot(dst []byte) { d.ll.root().Encode(dst) }
