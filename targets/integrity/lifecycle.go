package integrity

import (
	"time"

	"github.com/gdmsetup/gdmsetup/targets"
)

// writeSuperblock is sync_rw_sb for a write: the version set from the
// features in use, the superblock MAC with fix_hmac, written with FUA.
func (x *Integrity) writeSuperblock() error {
	x.sb.setVersion(x.cfg.mode == 'B', x.geo.metaDev)
	if x.jmac != nil && x.sb.has(flagFixedHMAC) {
		x.signSuperblock()
	}
	return targets.DevWriteFUA(x.metaDev, x.sb, int64(x.geo.startSector)*512)
}

// sbMACBytes is where sb_mac puts the superblock's MAC: the end of its
// first sector.
func (x *Integrity) sbMACBytes() (body, mac []byte) {
	n := x.jmac.Size
	return x.sb[:512-n], x.sb[512-n : 512]
}

func (x *Integrity) signSuperblock() {
	body, mac := x.sbMACBytes()
	h := x.jmac.New(x.cfg.journalMAC.key)
	h.Write(body)
	copy(mac, h.Sum(nil))
}

func (x *Integrity) sbMACOK() bool {
	body, mac := x.sbMACBytes()
	h := x.jmac.New(x.cfg.journalMAC.key)
	h.Write(body)
	return string(h.Sum(nil)) == string(mac)
}

// rereadSuperblock is sync_rw_sb for a read (resume reads it again).
// The device's copy replaces the constructor's even when it is no
// superblock: mode R on a device without one goes on with zeroes.
func (x *Integrity) rereadSuperblock() {
	if _, err := x.metaDev.ReadAt(x.sb, int64(x.geo.startSector)*512); err != nil {
		x.ioError("reading superblock", errnoOf(err))
	}
	x.adoptInterleave()
}

// adoptInterleave makes the data and tag positions follow the in-core
// superblock's log2_interleave_sectors, as get_area_and_offset,
// get_data_sector and get_metadata_sector_and_offset read it on every
// I/O. The constructor's sizes (metadata_run, the journal, the provided
// sectors, max_io_len) stay. A metadata device has no interleave. The
// caller holds mu, with no I/O in flight (a resume, a restore).
func (x *Integrity) adoptInterleave() {
	if !x.geo.metaDev {
		x.geo.log2Il = uint(x.sb.log2Interleave())
	}
}

// scheduleAutocommit arms the commit_time timer unless it is armed.
func (x *Integrity) scheduleAutocommit() {
	if x.autocommit != nil || x.suspended {
		return
	}
	x.autocommit = time.AfterFunc(time.Duration(x.cfg.commitMs)*time.Millisecond, func() {
		x.mu.Lock()
		defer x.mu.Unlock()
		if x.autocommit == nil {
			return
		}
		x.autocommit = nil
		if x.failed == 0 {
			x.commit()
		}
	})
}

// stopAutocommit disarms the commit_time timer.
func (x *Integrity) stopAutocommit() {
	if x.autocommit != nil {
		x.autocommit.Stop()
		x.autocommit = nil
	}
}

// PostSuspend is dm_integrity_postsuspend: recalculation stopped, the
// journal committed and written into place and emptied (mode J, when it
// was written to), the bitmap flushed and emptied (mode B).
func (x *Integrity) PostSuspend() error {
	x.stopBackground()
	x.mu.Lock()
	defer x.mu.Unlock()
	x.suspended = true
	if x.bitmap != nil {
		x.bitmap.stopFlush()
	}
	if x.j == nil {
		x.journalUptodate = true
		return nil
	}
	x.commit()
	switch x.cfg.mode {
	case 'J':
		j := x.j
		j.drainWriter()
		x.flushBuffers(true)
		if j.wroteToJournal {
			j.initSections(j.freeSection, x.geo.journalSections-j.freeSection, j.commitSeq)
			if j.freeSection != 0 {
				j.initSections(0, j.freeSection, nextSeq(j.commitSeq))
			}
		}
	case 'B':
		x.flushBuffers(true)
		x.j.initSections(0, x.geo.journalSections, 0)
		x.sb.setFlag(flagDirtyBitmap, false)
		if err := x.writeSuperblock(); err != nil {
			x.ioError("writing superblock", errnoOf(err))
		}
	}
	x.journalUptodate = true
	return nil
}

// PreResume has nothing to refuse.
func (x *Integrity) PreResume() error { return nil }

// Resume is dm_integrity_resume: the superblock read again, a grown
// device's size recorded, the journal replayed (or mode B's bitmap taken
// up), recalculation started when the superblock asks for it.
func (x *Integrity) Resume() {
	x.mu.Lock()
	x.suspended = false
	x.resume()
	x.mu.Unlock()
	x.startBackground()
}

func (x *Integrity) resume() {
	g := &x.geo
	oldProvided := x.sb.provided()
	if x.j != nil {
		x.j.wroteToJournal = false
	}
	recalc := x.sb.has(flagRecalculating)
	x.rereadSuperblock()
	if recalc && !x.sb.has(flagRecalculating) {
		x.sb.setFlag(flagRecalculating, true)
		x.syncSuperblock()
	}
	if g.provided != oldProvided {
		if g.provided > oldProvided && x.bitmap != nil && x.sb.has(flagDirtyBitmap) &&
			uint(x.sb.log2BitmapBit()) == x.bitmap.log2BlocksPerBit {
			x.bitmap.readDisk()
			x.bitmap.disk.set(oldProvided, g.provided-oldProvided)
			x.bitmap.writeDisk()
		}
		x.sb.setProvided(g.provided)
		x.syncSuperblock()
	}
	switch {
	case x.sb.has(flagDirtyBitmap):
		x.resumeDirtyBitmap()
	case x.j != nil:
		if !x.journalUptodate {
			x.j.replay()
		}
		if x.cfg.resetRecalc {
			x.sb.setFlag(flagRecalculating, true)
			x.sb.setRecalcSector(0)
		}
		if x.bitmap != nil {
			x.bitmap.start()
		}
	}
	if x.sb.has(flagRecalculating) && x.sb.recalcSector() > g.provided {
		x.sb.setRecalcSector(g.provided)
		x.recalcWriteSuper()
	}
}

// resumeDirtyBitmap is the resume of a device whose bitmap was left
// dirty (mode B did not suspend): its dirty regions are recalculated.
func (x *Integrity) resumeDirtyBitmap() {
	b := x.bitmap
	if b == nil {
		if x.j == nil {
			return
		}
		tmp := newBitmaps(x, x.log2BPB)
		tmp.readDisk()
		if uint(x.sb.log2BitmapBit()) != x.log2BPB || !tmp.disk.allClear(0, x.geo.provided) || x.cfg.resetRecalc {
			x.sb.setFlag(flagRecalculating, true)
			x.sb.setRecalcSector(0)
		}
		x.j.initSections(0, x.geo.journalSections, 0)
		x.j.replay()
		x.sb.setFlag(flagDirtyBitmap, false)
		x.syncSuperblock()
		return
	}
	b.readDisk()
	if uint(x.sb.log2BitmapBit()) == b.log2BlocksPerBit && !x.cfg.resetRecalc {
		b.recalc.copyFrom(b.disk)
		b.mayWrite.copyFrom(b.disk)
		if !b.disk.allClear(0, x.geo.provided) {
			x.sb.setFlag(flagRecalculating, true)
			x.sb.setRecalcSector(0)
		}
	} else {
		x.sb[offLog2BitmapBit] = uint8(b.log2BlocksPerBit)
		b.recalc.set(0, x.geo.provided)
		b.mayWrite.set(0, x.geo.provided)
		b.disk.set(0, x.geo.provided)
		b.writeDisk()
		x.sb.setFlag(flagRecalculating, true)
		x.sb.setRecalcSector(0)
	}
	x.syncSuperblock()
}

// syncSuperblock writes the superblock, an error failing the target.
func (x *Integrity) syncSuperblock() {
	if err := x.writeSuperblock(); err != nil {
		x.ioError("writing superblock", errnoOf(err))
	}
}

// recalcWriteSuper is recalc_write_super.
func (x *Integrity) recalcWriteSuper() {
	x.flushBuffers(false)
	if x.failed != 0 {
		return
	}
	x.syncSuperblock()
}

// StopBackground ends the process's background work and leaves on disk
// what the next process needs to take the live table up: recalculation
// is run to its end (the kernel's would go on), the bitmap is flushed, a
// running journal commit and writer end, and the journal's uncommitted
// sections are written with the ids their commit will give them, the
// positions kept by SaveState.
func (x *Integrity) StopBackground() {
	x.haltBackground()
	x.mu.Lock()
	defer x.mu.Unlock()
	x.stopAutocommit()
	if x.bitmap != nil {
		x.bitmap.stopFlush()
	}
	if x.j != nil {
		x.j.waitIdle()
	}
	if x.suspended || x.failed != 0 {
		return
	}
	x.finishRecalc()
	if x.cfg.mode == 'J' {
		x.j.persistUncommitted()
	}
	if x.cfg.mode == 'B' {
		x.flushBuffers(true)
	}
}

// Close stops the background work (a running journal commit and writer
// end first);
// the kernel's destructor writes nothing.
func (x *Integrity) Close() error {
	x.stopBackground()
	x.mu.Lock()
	x.stopAutocommit()
	if x.j != nil {
		x.j.waitIdle()
	}
	if x.bitmap != nil {
		x.bitmap.stopFlush()
	}
	x.mu.Unlock()
	return nil
}
