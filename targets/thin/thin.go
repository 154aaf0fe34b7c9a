// Package thin is the thin target: `<pool dev> <dev id> [<external origin
// dev>]`, a thinly-provisioned device mapped through its pool (dm-thin.c's
// thin side): reads of unprovisioned blocks give zeros or the external
// origin, writes provision blocks, writes to blocks shared with a snapshot
// copy them first, discards unmap whole blocks.
package thin

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
	"github.com/gdmsetup/gdmsetup/targets/thinpool"
	"github.com/gdmsetup/gdmsetup/targets/thinpool/metadata"
)

// Type is the thin target's registration (Linux 6.1: v1.22.0).
var Type = targets.Type{Name: "thin", Version: [3]int{1, 22, 0}, New: New}

// Thin is one thin table line (struct thin_c). Its fields are fixed at
// construction; mappings live in the pool's metadata (its own lock) and
// provisioning is serialised by the pool.
type Thin struct {
	pool         *thinpool.Pool
	td           *metadata.Thin
	poolDev      targets.Dev
	origin       targets.Dev // external origin, or nil
	devID        uint64
	blockSectors uint64
}

// New is thin_ctr.
func New(ctx *targets.Context, args []string) (targets.Target, error) {
	if len(args) != 2 && len(args) != 3 {
		return nil, targets.Invalid("Invalid argument count")
	}
	t := &Thin{}
	if len(args) == 3 {
		if args[0] == args[2] {
			return nil, targets.Invalid("Error setting origin device")
		}
		o, err := ctx.Open(args[2])
		if err != nil {
			return nil, targets.Errorf(targets.OpenErrno(err), "Error opening origin device")
		}
		t.origin = o
	}
	poolDev, err := ctx.Open(args[0])
	if err != nil {
		return nil, targets.Errorf(targets.OpenErrno(err), "Error opening pool device")
	}
	t.poolDev = poolDev
	id, ok := thinpool.ParseDevID(args[1])
	if !ok {
		return nil, targets.Invalid("Invalid device id")
	}
	t.devID = id
	if !strings.HasPrefix(poolDev.Name(), "253:") {
		return nil, targets.Invalid("Couldn't get pool mapped device")
	}
	p, ok := thinpool.Lookup(poolDev.Name())
	if !ok {
		return nil, targets.Invalid("Couldn't find pool object")
	}
	fail := func(err error) (targets.Target, error) {
		p.Release()
		return nil, err
	}
	if p.Mode() == thinpool.ModeFail {
		return fail(targets.Invalid("Couldn't open thin device, Pool is in fail mode"))
	}
	td, err := p.Metadata().OpenThin(id)
	if err != nil {
		return fail(targets.Errorf(syscall.ENODATA, "Couldn't open thin internal device"))
	}
	if p.Suspended() && !ctx.Restored {
		// a live table rebuilt in another process was activated before
		td.Close()
		return fail(targets.Invalid("Unable to activate thin device while pool is suspended"))
	}
	t.pool, t.td, t.blockSectors = p, td, p.BlockSectors()
	return t, nil
}

// MaxIOSectors is the data block size: no I/O crosses a block.
func (t *Thin) MaxIOSectors() uint64 { return t.blockSectors }

// Areas is the pool device's whole data blocks, as thin_iterate_devices
// reports them.
func (t *Thin) Areas() []targets.Area {
	poolSectors := uint64(t.poolDev.SizeBytes()) / targets.SectorSize
	return []targets.Area{{Dev: t.poolDev, LenSectors: poolSectors / t.blockSectors * t.blockSectors}}
}

func (t *Thin) dataOffset(dataBlock, in uint64) int64 {
	return int64(dataBlock*t.blockSectors+in) * targets.SectorSize
}

// ReadAt reads one piece inside a block: the data block it maps to, or
// zeros / the external origin when unprovisioned.
func (t *Thin) ReadAt(p []byte, sector uint64) error {
	if t.pool.Mode() == thinpool.ModeFail {
		return syscall.EIO
	}
	vblock, in := sector/t.blockSectors, sector%t.blockSectors
	m, ok, err := t.td.FindBlock(vblock)
	if err != nil {
		return syscall.EIO
	}
	if ok {
		_, err := t.pool.DataDev().ReadAt(p, t.dataOffset(m.DataBlock, in))
		return err
	}
	return t.readOrigin(p, sector)
}

// readOrigin reads the external origin at sector (zeros past its end, or
// everywhere without one).
func (t *Thin) readOrigin(p []byte, sector uint64) error {
	clear(p)
	if t.origin == nil {
		return nil
	}
	off := int64(sector) * targets.SectorSize
	size := t.origin.SizeBytes()
	if off >= size {
		return nil
	}
	n := min(int64(len(p)), size-off)
	_, err := t.origin.ReadAt(p[:n], off)
	return err
}

// WriteAt writes one piece inside a block, provisioning or unsharing it.
func (t *Thin) WriteAt(p []byte, sector uint64) error { return t.write(p, sector, false) }

// WriteFUA is targets.FUAWriter: the piece goes to the data device as a
// FUA write (thin remaps the bio, REQ_FUA kept), and the pool commits
// when this device changed in the open transaction (bio_triggers_commit:
// op_is_flush includes REQ_FUA): before the write when the block is mapped
// or the new block was filled and mapped first (issue), after it when the
// write overwrites a whole new block (complete_overwrite_bio: the bio
// completes after the commit that maps it; issue still commits first what
// the device changed before). The data device is not
// flushed otherwise.
func (t *Thin) WriteFUA(p []byte, sector uint64) error {
	if err := t.write(p, sector, true); err != nil {
		return err
	}
	if t.td.ChangedThisTransaction() {
		return t.pool.CommitChanged()
	}
	return nil
}

// write is WriteAt, the data written with FUA when fua.
func (t *Thin) write(p []byte, sector uint64, fua bool) error {
	pool := t.pool
	if pool.Mode() == thinpool.ModeFail {
		return syscall.EIO
	}
	vblock, in := sector/t.blockSectors, sector%t.blockSectors
	// fast path: an unshared mapped block is written in place; otherwise
	// look again under the pool's lock, then provision or unshare
	if _, _, done, err := t.writeMapped(p, vblock, in, fua); done {
		return err
	}
	pool.Lock()
	defer pool.Unlock()
	m, ok, done, err := t.writeMapped(p, vblock, in, fua)
	if done {
		return err
	}
	if !pool.Writable() {
		return syscall.EIO
	}
	nb, err := pool.AllocDataBlock()
	if err != nil {
		return err
	}
	fill := t.fillFor(vblock, ok)
	if fill != fillNone && in == 0 && uint64(len(p)) == t.blockSectors*targets.SectorSize {
		// the bio overwrites the new block instead of the copy or the
		// zeroing (remap_and_issue_overwrite: issued, so a FUA one
		// after the commit of what the device changed before), then
		// the block is mapped (process_prepared_mapping)
		if err := t.issue(p, nb, in, fua); err != nil {
			return err
		}
		return t.insertBlock(vblock, nb)
	}
	// otherwise the new block is filled and mapped, then the bio is issued
	// (remap_and_issue), a FUA one after the commit that maps it (issue:
	// bio_triggers_commit)
	if err := t.fillNewBlock(fill, nb, vblock, m); err != nil {
		return err
	}
	if err := t.insertBlock(vblock, nb); err != nil {
		return err
	}
	return t.issue(p, nb, in, fua)
}

// issue writes p into data block dataBlock at in sectors, with FUA when
// fua; a FUA write waits for the commit of what this device changed in the
// open transaction (issue(): bio_triggers_commit holds it on
// deferred_flush_bios).
func (t *Thin) issue(p []byte, dataBlock, in uint64, fua bool) error {
	if fua && t.td.ChangedThisTransaction() {
		if err := t.pool.CommitChanged(); err != nil {
			return err
		}
	}
	return targets.DevWrite(t.pool.DataDev(), p, t.dataOffset(dataBlock, in), fua)
}

// insertBlock maps vblock to the new data block nb, written whole or
// filled. pool's lock held.
func (t *Thin) insertBlock(vblock, nb uint64) error {
	if !t.pool.Writable() {
		// The allocation's commit ran out of metadata space: the kernel
		// fails the mapping (process_prepared_mapping_fail), the block
		// stays allocated.
		return syscall.EIO
	}
	if err := t.td.InsertBlock(vblock, nb); err != nil {
		t.pool.OperationFailed("dm_thin_insert_block", err)
		return syscall.EIO
	}
	return nil
}

// writeMapped writes p in place (issue) when vblock maps to
// an unshared data block; done is false when the block needs provisioning
// or unsharing, and then m and ok are its lookup.
func (t *Thin) writeMapped(p []byte, vblock, in uint64, fua bool) (m metadata.Mapping, ok, done bool, err error) {
	m, ok, err = t.td.FindBlock(vblock)
	if err != nil {
		return m, ok, true, syscall.EIO
	}
	if !ok || m.Shared {
		return m, ok, false, nil
	}
	return m, ok, true, t.issue(p, m.DataBlock, in, fua)
}

// blockFill is what a new data block holds before a write into part of
// it.
type blockFill int

const (
	fillNone   blockFill = iota // left as it is (skip_block_zeroing)
	fillZeros                   // zeroed
	fillShared                  // a copy of the shared block it replaces
	fillOrigin                  // a copy of the external origin's block
)

// fillFor is the fill of a new data block for vblock, which maps to a
// shared block when shared (break_sharing, schedule_external_copy,
// schedule_zero).
func (t *Thin) fillFor(vblock uint64, shared bool) blockFill {
	switch {
	case shared:
		return fillShared
	case t.origin != nil && int64(vblock*t.blockSectors)*targets.SectorSize < t.origin.SizeBytes():
		return fillOrigin
	case t.pool.Features().ZeroNewBlocks:
		return fillZeros
	}
	return fillNone
}

// fillNewBlock writes fill into the new data block nb for vblock, whose
// old mapping is old when fill is fillShared.
func (t *Thin) fillNewBlock(fill blockFill, nb, vblock uint64, old metadata.Mapping) error {
	buf := make([]byte, t.blockSectors*targets.SectorSize)
	data := t.pool.DataDev()
	switch fill {
	case fillNone:
		return nil
	case fillShared:
		if _, err := data.ReadAt(buf, t.dataOffset(old.DataBlock, 0)); err != nil {
			return err
		}
	case fillOrigin:
		if err := t.readOrigin(buf, vblock*t.blockSectors); err != nil {
			return err
		}
	}
	_, err := data.WriteAt(buf, t.dataOffset(nb, 0))
	return err
}

// SupportsDiscards is the pool's discard support when the thin device was
// built (thin_ctr).
func (t *Thin) SupportsDiscards() bool { return t.pool.Features().DiscardEnabled }

// Discard unmaps the blocks the range covers whole, as the kernel's thin
// discard does; on a pool that is not writable it does nothing and
// succeeds, as the kernel's read-only mode completes discards.
func (t *Thin) Discard(sector, lenSectors uint64) error {
	if !t.pool.Features().DiscardEnabled {
		return syscall.EOPNOTSUPP
	}
	if !t.pool.Writable() {
		return nil
	}
	first, end := t.wholeBlocks(sector, lenSectors)
	return t.unmap(first, end, false)
}

// WriteZeroes is targets.Zeroer, for NBD's WRITE_ZEROES: with mayUnmap,
// on a writable pool that takes discards and without an external origin,
// the blocks the range covers whole are unmapped as Discard does, and the
// parts of blocks at either end get zeros written where the block is
// provisioned (an unprovisioned one reads as zeros already). Anything
// else is errors.ErrUnsupported, and the core writes zeros, provisioning
// blocks, as Linux 6.1 does for every REQ_OP_WRITE_ZEROES to a thin
// device (dm-thin takes none).
func (t *Thin) WriteZeroes(sector, lenSectors uint64, mayUnmap bool) error {
	if t.pool.Mode() == thinpool.ModeFail {
		return syscall.EIO
	}
	if !t.ZeroesFast(mayUnmap) {
		return errors.ErrUnsupported
	}
	endSector := sector + lenSectors
	first, end := t.wholeBlocks(sector, lenSectors)
	headEnd := min(first*t.blockSectors, endSector)
	tailStart := max(end*t.blockSectors, headEnd)
	if err := t.zeroPart(sector, headEnd-sector); err != nil {
		return err
	}
	if err := t.zeroPart(tailStart, endSector-tailStart); err != nil {
		return err
	}
	return t.unmap(first, end, true)
}

// ZeroesFast is targets.FastZeroer: WriteZeroes unmaps (the provisioned
// parts of blocks at either end, less than two blocks, get zeros written)
// when holes are allowed, without an external origin, on a writable pool
// that takes discards.
func (t *Thin) ZeroesFast(mayUnmap bool) bool {
	pool := t.pool
	return mayUnmap && t.origin == nil && pool.Features().DiscardEnabled && pool.Writable()
}

// zeroPart zeroes lenSectors (none or more) inside one block: zeros are
// written when it is provisioned, nothing is done when it is not.
func (t *Thin) zeroPart(sector, lenSectors uint64) error {
	if lenSectors == 0 {
		return nil
	}
	_, mapped, err := t.td.FindBlock(sector / t.blockSectors)
	if err != nil {
		return syscall.EIO
	}
	if !mapped {
		return nil
	}
	return t.write(make([]byte, lenSectors*targets.SectorSize), sector, false)
}

// wholeBlocks is the virtual blocks [first, end) a sector range covers
// whole; first >= end when it covers none.
func (t *Thin) wholeBlocks(sector, lenSectors uint64) (first, end uint64) {
	return (sector + t.blockSectors - 1) / t.blockSectors, (sector + lenSectors) / t.blockSectors
}

// unmap removes the mappings of virtual blocks [first, end) under the
// pool's lock, as the kernel's thin discard does. Without passdown the
// whole range goes in one dm_thin_remove_range. With passdown each mapped
// run (contiguous virtual and data blocks, equally shared) is removed and
// its data blocks counted once more
// (process_prepared_discard_passdown_pt1), the blocks no other mapping
// holds are discarded on the data device, and only after every run the
// extra counts are dropped (pt2, when the data device's discards
// complete). A metadata error while looking for the next mapped run stops
// it quietly, as break_up_discard_bio does, unless strict: then, once the
// runs found so far are complete, it is EIO.
func (t *Thin) unmap(first, end uint64, strict bool) error {
	if first >= end {
		return nil
	}
	pool := t.pool
	pool.Lock()
	defer pool.Unlock()
	if !pool.Features().DiscardPassdown {
		if err := t.td.RemoveRange(first, end); err != nil {
			pool.OperationFailed("dm_thin_remove_range", err)
			return syscall.EIO
		}
		return nil
	}
	md := pool.Metadata()
	var runs []metadata.MappedRange
	var runErr error
	for begin := first; begin < end; {
		r, ok, err := t.td.FindMappedRange(begin, end)
		if err != nil && strict {
			runErr = err
		}
		if err != nil || !ok {
			break
		}
		if err := t.td.RemoveRange(r.VirtBegin, r.VirtEnd); err != nil {
			pool.OperationFailed("dm_thin_remove_range", err)
			return syscall.EIO
		}
		if err := md.IncDataRange(r.DataBegin, r.DataEnd()); err != nil {
			pool.OperationFailed("dm_pool_inc_data_range", err)
			return syscall.EIO
		}
		if err := t.passdown(r); err != nil && runErr == nil {
			runErr = err
		}
		runs = append(runs, r)
		begin = r.VirtEnd
	}
	for _, r := range runs {
		if err := md.DecDataRange(r.DataBegin, r.DataEnd()); err != nil {
			pool.OperationFailed("dm_pool_dec_data_range", err)
			return syscall.EIO
		}
	}
	if runErr != nil {
		return syscall.EIO
	}
	return nil
}

// passdown discards a removed run's data blocks on the data device: all of
// them, or when the run may be shared (passdown_double_checking_shared_status)
// each stretch of blocks no other mapping holds. The data device's own
// errors are ignored (passdown_endio): the blocks are unmapped all the same.
func (t *Thin) passdown(r metadata.MappedRange) error {
	data, md := t.pool.DataDev(), t.pool.Metadata()
	discard := func(b, e uint64) {
		_ = data.Discard(t.dataOffset(b, 0), int64((e-b)*t.blockSectors)*targets.SectorSize)
	}
	if !r.MaybeShared {
		discard(r.DataBegin, r.DataEnd())
		return nil
	}
	for b := r.DataBegin; b < r.DataEnd(); {
		shared, err := md.DataBlockShared(b)
		if err != nil {
			return err
		}
		if shared {
			b++
			continue
		}
		e := b + 1
		for ; e < r.DataEnd(); e++ {
			if shared, err = md.DataBlockShared(e); err != nil || shared {
				break
			}
		}
		if err != nil {
			return err
		}
		discard(b, e)
		b = e
	}
	return nil
}

// Flush is a flush through the thin device, as bio_triggers_commit decides:
// when this device changed in the current transaction the pool commits
// (data first, then the metadata that maps it); otherwise only the data
// device is flushed, and what other devices changed waits for its own
// flush or the periodic commit. A pool in fail mode fails it with EIO
// (thin_bio_map).
func (t *Thin) Flush() error {
	if t.pool.Mode() == thinpool.ModeFail {
		return syscall.EIO
	}
	if t.td.ChangedThisTransaction() {
		return t.pool.CommitChanged()
	}
	return t.pool.DataDev().Flush()
}

// Status is "<mapped sectors> <highest mapped sector>" or "... -".
func (t *Thin) Status() string {
	if t.pool.Mode() == thinpool.ModeFail {
		return "Fail"
	}
	mapped, err := t.td.MappedBlocks()
	if err != nil {
		return "Error"
	}
	highest, ok, err := t.td.HighestMapped()
	if err != nil {
		return "Error"
	}
	if !ok {
		return fmt.Sprintf("%d -", mapped*t.blockSectors)
	}
	return fmt.Sprintf("%d %d", mapped*t.blockSectors, (highest+1)*t.blockSectors-1)
}

// Table is "<pool dev> <dev id>[ <origin dev>]".
func (t *Thin) Table() string {
	if t.pool.Mode() == thinpool.ModeFail {
		return "Fail"
	}
	s := fmt.Sprintf("%s %d", t.poolDev.Name(), t.devID)
	if t.origin != nil {
		s += " " + t.origin.Name()
	}
	return s
}

// Close closes the thin device and releases the pool.
func (t *Thin) Close() error {
	t.td.Close()
	return t.pool.Release()
}

// Allocation reports provisioned blocks as data and unprovisioned ones as
// holes (they read as zeros) unless an external origin backs them.
func (t *Thin) Allocation(sector, lenSectors uint64) ([]targets.Extent, error) {
	var out []targets.Extent
	end := sector + lenSectors
	for s := sector; s < end; {
		vblock := s / t.blockSectors
		n := min((vblock+1)*t.blockSectors, end) - s
		_, mapped, err := t.td.FindBlock(vblock)
		if err != nil {
			return nil, syscall.EIO
		}
		hole := !mapped && t.origin == nil
		if k := len(out); k > 0 && out[k-1].Hole == hole {
			out[k-1].LenSectors += n
		} else {
			out = append(out, targets.Extent{LenSectors: n, Hole: hole})
		}
		s += n
	}
	return out, nil
}
