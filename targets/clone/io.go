package clone

import (
	"fmt"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// hydrated reports whether region r is hydrated (mu held).
func (c *Clone) hydrated(r uint64) bool { return c.bitmap[r/64]&(1<<(r%64)) != 0 }

// markHydrated sets region r's bit (mu held).
func (c *Clone) markHydrated(r uint64) {
	if c.hydrated(r) {
		return
	}
	c.bitmap[r/64] |= 1 << (r % 64)
	c.dirty[r/64] = struct{}{}
	c.nrHydrated++
}

// regionBytes returns the byte range [off, off+n) of regions [r, r+count),
// the last region of the target being possibly short.
func (c *Clone) regionBytes(r, count uint64) (off, n int64) {
	start := r << c.regionShift
	end := min((r+count)<<c.regionShift, c.lenSectors)
	return int64(start) * targets.SectorSize, int64(end-start) * targets.SectorSize
}

// ReadAt reads a hydrated region from the destination, any other from the
// source (I/O never crosses a region).
func (c *Clone) ReadAt(p []byte, sector uint64) error {
	c.mu.Lock()
	failed, hyd := c.failed, c.hydrated(sector>>c.regionShift)
	c.mu.Unlock()
	if failed != nil {
		return syscall.EIO
	}
	dev := c.src
	if hyd {
		dev = c.dest
	}
	_, err := dev.ReadAt(p, int64(sector)*targets.SectorSize)
	return err
}

// WriteAt writes to the destination. An unhydrated region is hydrated
// first: copied from the source with the write laid over it, or, when the
// write covers the whole region, just written. The region counts as
// hydrated once the destination has it.
func (c *Clone) WriteAt(p []byte, sector uint64) error { return c.write(p, sector, false) }

// WriteFUA is targets.FUAWriter: the write goes to the destination as a
// FUA write (an unhydrated region's copy with the write laid over it too),
// then, as bio_triggers_commit and complete_overwrite_bio hold a REQ_FUA
// bio back for a commit while the hydration bitmap has changes, the worker
// commits them (the destination flushed first). Where 6.1 writes a partly
// written region's copy, commits, then sends the write with FUA, the one
// write of the region here carries the flag.
func (c *Clone) WriteFUA(p []byte, sector uint64) error {
	if err := c.write(p, sector, true); err != nil {
		return err
	}
	return c.commit(false, true)
}

// write is WriteAt, the destination written with FUA when fua.
func (c *Clone) write(p []byte, sector uint64, fua bool) error {
	r := sector >> c.regionShift
	off := int64(sector) * targets.SectorSize
	c.mu.Lock()
	for {
		if c.failed != nil {
			c.mu.Unlock()
			return syscall.EIO
		}
		if c.hydrated(r) {
			c.mu.Unlock()
			return targets.DevWrite(c.dest, p, off, fua)
		}
		ch := c.busy[r]
		if ch == nil {
			break
		}
		c.mu.Unlock()
		<-ch
		c.mu.Lock()
	}
	c.busy[r] = make(chan struct{})
	c.inFlight++
	c.mu.Unlock()

	var err error
	overwrite := uint64(len(p))/targets.SectorSize == c.regionSectors
	if overwrite {
		err = targets.DevWrite(c.dest, p, off, fua)
	} else {
		rOff, n := c.regionBytes(r, 1)
		buf := make([]byte, n)
		if _, err = c.src.ReadAt(buf, rOff); err == nil {
			copy(buf[off-rOff:], p)
			err = targets.DevWrite(c.dest, buf, rOff, fua)
		}
		if err != nil {
			// the region copy failed (an overwrite's own error is not
			// logged)
			c.hydrationFailed()
		}
	}
	c.finish(r, 1, err == nil)
	if err != nil {
		return fmt.Errorf("clone %s: hydrating region %d: %w", c.ctx.DevName, r, err)
	}
	if !overwrite {
		// the kernel's worker issues the write that waited for the copy
		c.commitAfterCopy()
	}
	return nil
}

// finish ends the hydration of regions [r, r+count): marks them hydrated
// if ok, wakes writers waiting on them and the worker.
func (c *Clone) finish(r, count uint64, ok bool) {
	c.mu.Lock()
	for i := r; i < r+count; i++ {
		if ok {
			c.markHydrated(i)
		}
		close(c.busy[i])
		delete(c.busy, i)
	}
	c.inFlight -= uint32(count)
	c.cond.Broadcast()
	c.mu.Unlock()
}

// Discard marks every region it covers whole as hydrated (nothing to copy);
// the discard of those regions then goes to the destination unless
// no_discard_passdown, and the worker commits if due
// (process_deferred_discards). Partly covered regions are left alone.
func (c *Clone) Discard(sector, lenSectors uint64) error {
	rs := (sector + c.regionSectors - 1) >> c.regionShift
	re := (sector + lenSectors) >> c.regionShift
	if rs >= re {
		return nil
	}
	c.mu.Lock()
	if c.failed != nil {
		c.mu.Unlock()
		return syscall.EIO
	}
	changed := false
	for r := rs; r < re; r++ {
		if !c.hydrated(r) {
			c.markHydrated(r)
			changed = true
		}
	}
	c.mu.Unlock()
	var err error
	if !c.noDiscardPassdown {
		off, n := c.regionBytes(rs, re-rs)
		err = c.dest.Discard(off, n)
	}
	if changed {
		if cerr := c.commitIfDue(); err == nil {
			err = cerr
		}
	}
	return err
}

// Flush flushes the destination and commits the metadata
// (process_deferred_flush_bios: a commit by the worker).
func (c *Clone) Flush() error { return c.commit(true, true) }
