package dm

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// acquire passes the I/O gate: it waits while d is suspended, then counts
// the caller in flight on the live table. I/O held by a suspend when the
// registry closes (its process lets other processes in, or ends) fails with
// targets.ErrReleased: the resume would come from another process.
func (d *Device) acquire() (*Table, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.suspended && !d.closing {
		d.cond.Wait()
	}
	if d.suspended {
		return nil, fmt.Errorf("device %s: %w", d.st.Name, targets.ErrReleased)
	}
	if d.live == nil {
		return nil, syscall.ENXIO
	}
	d.inflight++
	return d.live, nil
}

func (d *Device) release() {
	d.mu.Lock()
	d.inflight--
	if d.inflight == 0 {
		d.cond.Broadcast()
	}
	d.mu.Unlock()
}

// run passes the I/O gate and runs op on the live table. An op a target
// sends back (targets.ErrRequeue) leaves the in-flight count, waits until
// the noflush suspend that made the target do so has stopped I/O, and runs
// again, whole, once the gate lets it through: after the resume, on the
// table live then. Sent back with no noflush suspend under way, it fails
// with EIO, as dm_io_complete fails a requeued bio.
func (d *Device) run(op func(t *Table) error) error {
	for {
		t, err := d.acquire()
		if err != nil {
			return err
		}
		err = op(t)
		d.release()
		if !errors.Is(err, targets.ErrRequeue) {
			return err
		}
		d.mu.Lock()
		for d.noflush && !d.closing {
			d.cond.Wait()
		}
		held := d.suspended
		d.mu.Unlock()
		if !held {
			return fmt.Errorf("device %s: I/O sent back with no noflush suspend under way: %w", d.st.Name, syscall.EIO)
		}
	}
}

// noflushSuspending is targets.Context.NoflushSuspending.
func (d *Device) noflushSuspending() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.noflush
}

// MayWait reports whether I/O to d may wait far longer than its devices
// take: a target of its live table is a targets.Waiter that does, or maps
// onto a device that may (a mapped device over a delay target).
func (d *Device) MayWait() bool {
	d.mu.Lock()
	t := d.live
	d.mu.Unlock()
	if t == nil {
		return false
	}
	for _, w := range t.waiters {
		if w.MayWait() {
			return true
		}
	}
	return false
}

// Prepare builds the live table (and every device under it) so that I/O can
// start; I/O itself never builds tables.
func (d *Device) Prepare() error {
	_, err := d.liveTable()
	return err
}

// SizeBytes is the live table's size in bytes.
func (d *Device) SizeBytes() int64 {
	return int64(d.LenSectors()) * targets.SectorSize
}

// LogicalBlockBytes is the live table's logical block size (512 without
// one): discards and write-zeroes must be aligned to it.
func (d *Device) LogicalBlockBytes() int64 {
	t := d.current()
	if t == nil {
		return targets.SectorSize
	}
	return t.logicalBlockBytes
}

// ReadAt reads len(p) bytes at off. Reads not aligned to the logical block
// size (512 bytes unless a target raises it) read the covering page-cache
// blocks and keep the part asked for, as a buffered read does.
func (d *Device) ReadAt(p []byte, off int64) (int, error) {
	err := d.run(func(t *Table) error {
		if err := t.checkRange(off, int64(len(p))); err != nil {
			return err
		}
		if t.aligned(off, int64(len(p))) {
			return t.rw(p, uint64(off)/targets.SectorSize, xferRead)
		}
		start, buf := t.cover(off, int64(len(p)))
		if err := t.rw(buf, uint64(start)/targets.SectorSize, xferRead); err != nil {
			return err
		}
		copy(p, buf[off-start:])
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteAt writes p at off. Writes aligned to the logical block size go
// straight through, as O_DIRECT ones do; others go the way of the page
// cache: the blocks they cover in part are read, patched and written with
// the rest.
func (d *Device) WriteAt(p []byte, off int64) (int, error) {
	return d.write(p, off, targets.SectorSize, xferWrite)
}

// WriteFUA is WriteAt with REQ_FUA, as an O_DIRECT write with O_DSYNC
// sends it (or a client's NBD write with the FUA flag): each target the
// write touches is sent its piece as a FUA write (targets.WriteFUA: its own
// WriteFUA, else WriteAt then its Flush), and the write returns once every
// piece is durable. The other targets of the table are not flushed. A
// table of targets.NoFlushBios targets only has no write cache: the write
// is a plain one, as the block layer clears REQ_FUA for such a device.
func (d *Device) WriteFUA(p []byte, off int64) (int, error) {
	return d.write(p, off, targets.SectorSize, xferWriteFUA)
}

// WriteBuffered writes p at off as a buffered write to a block device does:
// whole page-cache blocks (see cover) go straight through, a partly written
// one is read, patched and written whole.
func (d *Device) WriteBuffered(p []byte, off int64) (int, error) {
	return d.write(p, off, 0, xferWrite)
}

// write writes p at off (op: xferWrite or xferWriteFUA) directly when both
// are multiples of granuleBytes (0: the page-cache block size; never less
// than the logical block size), and by read-modify-write of the covering
// page-cache blocks otherwise.
func (d *Device) write(p []byte, off, granuleBytes int64, op xfer) (int, error) {
	err := d.run(func(t *Table) error {
		if t.readOnly {
			return syscall.EPERM
		}
		if err := t.checkRange(off, int64(len(p))); err != nil {
			return err
		}
		granule := max(granuleBytes, t.logicalBlockBytes)
		if granuleBytes == 0 {
			granule = t.pageBlockBytes()
		}
		if off%granule == 0 && int64(len(p))%granule == 0 {
			return t.rw(p, uint64(off)/targets.SectorSize, op)
		}
		start, buf := t.cover(off, int64(len(p)))
		if err := t.readPartialBlocks(buf, start, off, int64(len(p))); err != nil {
			return err
		}
		copy(buf[off-start:], p)
		return t.rw(buf, uint64(start)/targets.SectorSize, op)
	})
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// Discard discards a byte range, each target its part; a table with a
// target that does not take discards refuses it (EOPNOTSUPP), as the block
// layer does for a device without a discard limit.
func (d *Device) Discard(off, length int64) error {
	return d.rangeOp(true, off, length, func(t *Table, sector, n uint64) error {
		defer t.startCount(true, sector, n, false).finish()
		return t.split(sector, n, false, func(e *entry, rel, n, _ uint64) error { return e.target.Discard(rel, n) })
	})
}

// WriteZeroes zeroes a byte range: each target that can zero without being
// sent zeros does (linear over a file: fallocate), zeros are written to the
// others. mayUnmap lets targets deallocate the range
// (REQ_OP_WRITE_ZEROES without REQ_NOUNMAP); it reads back as zeros either way.
func (d *Device) WriteZeroes(off, length int64, mayUnmap bool) error {
	return d.writeZeroes(off, length, mayUnmap, false)
}

// writeZeroes is WriteZeroes, and with fast WriteZeroesFast: the range is
// first checked to zero fast throughout, and a Zeroer's refusal is the
// call's instead of a reason to write zeros.
func (d *Device) writeZeroes(off, length int64, mayUnmap, fast bool) error {
	return d.rangeOp(false, off, length, func(t *Table, sector, n uint64) error {
		if fast {
			if err := t.zeroesFast(sector, n, mayUnmap); err != nil {
				return fmt.Errorf("device %s: fast zero %d+%d: %w", d.st.Name, off, length, err)
			}
		}
		defer t.startCount(true, sector, n, false).finish()
		return t.split(sector, n, false, func(e *entry, rel, n, _ uint64) error {
			if z, ok := e.target.(targets.Zeroer); ok {
				if err := z.WriteZeroes(rel, n, mayUnmap); fast || !errors.Is(err, errors.ErrUnsupported) {
					return err
				}
			}
			return t.writeZeros(e.start+rel, n)
		})
	})
}

// rangeOp runs a discard or a write zeroes (a data-changing operation
// without a payload) on a byte range of the live table, then fn with the
// range in sectors. The checks are the block layer's, in the order its
// ioctls make them (blk_ioctl_discard then __blkdev_issue_discard;
// blk_ioctl_zeroout then blkdev_issue_zeroout): a discard needs a table
// that takes discards (EOPNOTSUPP); the range must be sector-aligned and
// inside the device (EINVAL); a read-only device refuses a discard (EPERM)
// before the logical block alignment (EINVAL) is checked and a write
// zeroes after it; a discard of nothing is EINVAL.
func (d *Device) rangeOp(discard bool, off, length int64, fn func(t *Table, sector, n uint64) error) error {
	op := "write zeroes"
	if discard {
		op = "discard"
	}
	return d.run(func(t *Table) error {
		switch size := int64(t.lenSectors) * targets.SectorSize; {
		case discard && !t.discards:
			return fmt.Errorf("%s %d+%d: a target of the table does not take discards: %w", op, off, length, syscall.EOPNOTSUPP)
		case off%targets.SectorSize != 0 || length%targets.SectorSize != 0:
			return fmt.Errorf("%s %d+%d: not sector-aligned: %w", op, off, length, syscall.EINVAL)
		case off < 0 || length < 0 || off+length > size || !discard && length == 0:
			return fmt.Errorf("%s %d+%d: not inside the device (%d bytes): %w", op, off, length, size, syscall.EINVAL)
		case discard && t.readOnly:
			return syscall.EPERM
		case !t.aligned(off, length):
			return fmt.Errorf("%s %d+%d: not aligned to the %d-byte logical block size: %w", op, off, length, t.logicalBlockBytes, syscall.EINVAL)
		case length == 0:
			return fmt.Errorf("%s %d+0: nothing to discard: %w", op, off, syscall.EINVAL)
		case t.readOnly:
			return syscall.EPERM
		}
		return fn(t, uint64(off)/targets.SectorSize, uint64(length)/targets.SectorSize)
	})
}

// zeroChunkBytes bounds the buffer of zeros writeZeros writes from.
const zeroChunkBytes = 1 << 20

// writeZeros writes zeros over lenSectors from sector, a chunk at a time.
func (t *Table) writeZeros(sector, lenSectors uint64) error {
	zeros := make([]byte, min(lenSectors*targets.SectorSize, zeroChunkBytes))
	for lenSectors > 0 {
		k := min(lenSectors, uint64(len(zeros))/targets.SectorSize)
		if err := t.transfer(zeros[:k*targets.SectorSize], sector, xferWrite); err != nil {
			return err
		}
		sector, lenSectors = sector+k, lenSectors-k
	}
	return nil
}

// Flush flushes every target of the live table.
func (d *Device) Flush() error {
	return d.run(func(t *Table) error { return t.flush(nil) })
}

// FlushFUA is targets.DevFUAFlusher: the empty flush of a
// REQ_PREFLUSH|REQ_FUA write at off, sent to every target as Flush does,
// but that the first target taking flushes gets it with the write's sector
// (targets.FUAFlusher) when it takes it so. A table with no write cache
// takes no flush (the block layer drops it).
func (d *Device) FlushFUA(off int64) error {
	return d.run(func(t *Table) error {
		if !t.writeCache {
			return nil
		}
		sector := uint64(off) / targets.SectorSize
		return t.flush(&sector)
	})
}

// flush flushes every target; with fuaSector, the first that takes flush
// bios gets FlushFUA(*fuaSector) if it is a targets.FUAFlusher.
func (t *Table) flush(fuaSector *uint64) error {
	for _, e := range t.entries {
		var err error
		if f, ok := e.target.(targets.FUAFlusher); ok && fuaSector != nil {
			err = f.FlushFUA(*fuaSector)
		} else {
			err = e.target.Flush()
		}
		if err != nil {
			return err
		}
		if _, none := e.target.(targets.NoFlushBios); !none {
			fuaSector = nil
		}
	}
	return nil
}

func aligned(off, length int64) bool {
	return off%targets.SectorSize == 0 && length%targets.SectorSize == 0
}

// aligned reports whether off and length are multiples of the table's
// logical block size.
func (t *Table) aligned(off, length int64) bool {
	return off%t.logicalBlockBytes == 0 && length%t.logicalBlockBytes == 0
}

// checkRange fails I/O outside the device, as the block layer does.
func (t *Table) checkRange(off, length int64) error {
	size := int64(t.lenSectors) * targets.SectorSize
	if off < 0 || length < 0 || off+length > size {
		return fmt.Errorf("%d bytes at %d: beyond the end of the device (%d bytes): %w", length, off, size, syscall.EIO)
	}
	return nil
}

// pageBlockBytes is the page cache's buffer size for the device
// (set_init_blocksize): from the logical block size, the largest power of
// two up to 4096 dividing its size.
func (t *Table) pageBlockBytes() int64 {
	size := int64(t.lenSectors) * targets.SectorSize
	bs := t.logicalBlockBytes
	for bs < 4096 && size%(bs*2) == 0 {
		bs *= 2
	}
	return bs
}

// cover returns the page-cache-block-aligned range around [off, off+length)
// and a buffer for it.
func (t *Table) cover(off, length int64) (int64, []byte) {
	size := int64(t.lenSectors) * targets.SectorSize
	bs := t.pageBlockBytes()
	start := off / bs * bs
	end := min((off+length+bs-1)/bs*bs, size)
	return start, make([]byte, end-start)
}

// readPartialBlocks reads into buf, cover's range from start for a write of
// length bytes at off, the page-cache blocks the write covers only in
// part: the first and the last, as the page cache reads them before a
// buffered write; the blocks it covers whole are not read.
func (t *Table) readPartialBlocks(buf []byte, start, off, length int64) error {
	bs := t.pageBlockBytes()
	n := int64(len(buf))
	if off%bs != 0 {
		if err := t.rw(buf[:bs], uint64(start)/targets.SectorSize, xferRead); err != nil {
			return err
		}
	}
	if (off+length)%bs != 0 && (n > bs || off%bs == 0) {
		if err := t.rw(buf[n-bs:], uint64(start+n-bs)/targets.SectorSize, xferRead); err != nil {
			return err
		}
	}
	return nil
}

// xfer is what rw does with its buffer.
type xfer uint8

const (
	xferRead xfer = iota
	xferWrite
	// xferWriteFUA is a write with REQ_FUA: each piece goes to its target
	// as a FUA write (targets.WriteFUA).
	xferWriteFUA
)

// rw reads or writes p at sector, split at target boundaries and at each
// target's max_io_len, and counts it in the device's statistics. A FUA
// write is counted as the write it is, its time until it is durable
// included (dm_io_acct counts a bio with REQ_FUA as any write; an empty
// flush, with no sectors, dm_stats_account_io does not count).
func (t *Table) rw(p []byte, sector uint64, op xfer) error {
	c := t.startCount(op != xferRead, sector, uint64(len(p))/targets.SectorSize, true)
	err := t.transfer(p, sector, op)
	c.finish()
	return err
}

// transfer is rw without the statistics.
func (t *Table) transfer(p []byte, sector uint64, op xfer) error {
	return t.split(sector, uint64(len(p))/targets.SectorSize, true, func(e *entry, rel, n, done uint64) error {
		piece := p[done*targets.SectorSize : (done+n)*targets.SectorSize]
		switch op {
		case xferWrite:
			return e.target.WriteAt(piece, rel)
		case xferWriteFUA:
			if !t.writeCache {
				return e.target.WriteAt(piece, rel)
			}
			return targets.WriteFUA(e.target, piece, rel)
		}
		return e.target.ReadAt(piece, rel)
	})
}

// split calls fn for each piece of [sector, sector+n): the entry, the
// sector within the target, the piece's length and how many sectors came
// before it. maxIO keeps pieces inside each target's max_io_len.
func (t *Table) split(sector, n uint64, maxIO bool, fn func(e *entry, rel, n, done uint64) error) error {
	var done uint64
	for done < n {
		e := &t.entries[t.find(sector)]
		rel := sector - e.start
		k := min(n-done, e.len-rel)
		if maxIO && e.maxIOSectors > 0 {
			k = min(k, e.maxIOSectors-rel%e.maxIOSectors)
		}
		if err := fn(e, rel, k, done); err != nil {
			return err
		}
		sector += k
		done += k
	}
	return nil
}

// Allocation maps a sector-aligned byte range to extents of data and holes
// (holes read as zeros): each target's own answer where it has one, data
// elsewhere. Neighbouring extents of the same kind are merged.
func (d *Device) Allocation(off, length int64) ([]targets.Extent, error) {
	if !aligned(off, length) {
		return nil, fmt.Errorf("allocation %d+%d: not aligned to %d-byte sectors: %w", off, length, targets.SectorSize, syscall.EINVAL)
	}
	t, err := d.acquire()
	if err != nil {
		return nil, err
	}
	defer d.release()
	if err := t.checkRange(off, length); err != nil {
		return nil, err
	}
	var out []targets.Extent
	add := func(x targets.Extent) {
		if k := len(out); k > 0 && out[k-1].Hole == x.Hole {
			out[k-1].LenSectors += x.LenSectors
		} else {
			out = append(out, x)
		}
	}
	err = t.split(uint64(off)/targets.SectorSize, uint64(length)/targets.SectorSize, false, func(e *entry, rel, n, _ uint64) error {
		a, ok := e.target.(targets.Allocator)
		if !ok {
			add(targets.Extent{LenSectors: n})
			return nil
		}
		xs, err := a.Allocation(rel, n)
		for _, x := range xs {
			add(x)
		}
		return err
	})
	return out, err
}
