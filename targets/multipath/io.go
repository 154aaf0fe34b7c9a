package multipath

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// ReadAt reads through a path chosen for the read.
func (m *Multipath) ReadAt(p []byte, sector uint64) error {
	return m.do("read", sector, uint64(len(p)), func(dev targets.Dev) error {
		_, err := dev.ReadAt(p, int64(sector)*targets.SectorSize)
		return err
	})
}

// WriteAt writes through a path chosen for the write.
func (m *Multipath) WriteAt(p []byte, sector uint64) error { return m.write(p, sector, false) }

// WriteFUA is targets.FUAWriter: __multipath_map_bio remaps the REQ_FUA
// bio to the path chosen for it, flags kept, so the write is a FUA write
// on that path (and on the next one chosen when a path error fails it).
func (m *Multipath) WriteFUA(p []byte, sector uint64) error { return m.write(p, sector, true) }

// write is WriteAt, or WriteFUA with fua.
func (m *Multipath) write(p []byte, sector uint64, fua bool) error {
	return m.do("write", sector, uint64(len(p)), func(dev targets.Dev) error {
		return targets.DevWrite(dev, p, int64(sector)*targets.SectorSize, fua)
	})
}

// Discard goes to one path, chosen as for a write of its length
// (num_discard_bios 1).
func (m *Multipath) Discard(sector, lenSectors uint64) error {
	return m.do("discard", sector, lenSectors*targets.SectorSize, func(dev targets.Dev) error {
		return dev.Discard(int64(sector)*targets.SectorSize, int64(lenSectors)*targets.SectorSize)
	})
}

// Flush is an empty flush (num_flush_bios 1): one path is chosen for it,
// as for an I/O of no bytes, and flushed.
func (m *Multipath) Flush() error {
	return m.do("flush", 0, 0, func(dev targets.Dev) error { return dev.Flush() })
}

// do is multipath_map_bio and multipath_end_io_bio for one I/O of nrBytes:
// a path is chosen (the I/O waits while none is usable and
// queue_if_no_path is set; it fails with EIO when none is and it is not),
// the I/O is done on it, and a path error fails the path and sends the
// I/O through the mapping again. Other errors (no space, not supported,
// medium) are the I/O's own and end it.
func (m *Multipath) do(op string, sector, nrBytes uint64, io func(dev targets.Dev) error) error {
	m.mu.Lock()
	defer m.unlock()
	for {
		p, err := m.mapIO(nrBytes)
		if err != nil {
			return fmt.Errorf("multipath %s: %s of %d bytes at sector %d: %w", m.ctx.DevName, op, nrBytes, sector, err)
		}
		m.mu.Unlock()
		ioErr := io(p.dev)
		m.mu.Lock()
		p.pg.sel.endIO(p, nrBytes)
		if ioErr == nil {
			return nil
		}
		if !isPathError(ioErr) {
			return fmt.Errorf("multipath %s: %s of %d bytes at sector %d on %s: %w", m.ctx.DevName, op, nrBytes, sector, p.dev.Name(), ioErr)
		}
		m.failPath(p)
		if m.nrValidPaths == 0 && !m.queueIfNoPath && m.ctx.NoflushSuspending() {
			return targets.ErrRequeue
		}
		if m.nrValidPaths == 0 && !m.queueIfNoPath {
			return fmt.Errorf("multipath %s: %s of %d bytes at sector %d failed on %s, the last usable path (%v): %w",
				m.ctx.DevName, op, nrBytes, sector, p.dev.Name(), ioErr, syscall.EIO)
		}
	}
}

// mapIO is __map_bio: the path for an I/O of nrBytes, its selector told
// the I/O starts. Without a usable path, while the device is being
// suspended with noflush, the I/O goes back to the core
// (targets.ErrRequeue); otherwise it is queued while queue_if_no_path is
// set (it maps again when a path is reinstated or queueing is turned off),
// else it fails with EIO. Queued I/O of a table released by this process
// ends with targets.ErrReleased. mu held.
func (m *Multipath) mapIO(nrBytes uint64) (*pgpath, error) {
	for {
		if m.released {
			return nil, targets.ErrReleased
		}
		p := m.currentPgpath
		if p == nil || !m.queueIO {
			p = m.choosePgpath(nrBytes)
		}
		if p != nil {
			p.pg.sel.startIO(p, nrBytes)
			return p, nil
		}
		if m.ctx.NoflushSuspending() {
			return nil, targets.ErrRequeue
		}
		if !m.queueIfNoPath {
			return nil, fmt.Errorf("no usable path: %w", syscall.EIO)
		}
		for kick := m.kick; kick == m.kick && !m.released; {
			m.cond.Wait()
		}
	}
}

// choosePgpath is choose_pgpath: with no usable path, none; else a path
// of the group a switch_group asked for, else of the current group, else
// of the first group with one, groups not disabled before disabled ones.
// mu held.
func (m *Multipath) choosePgpath(nrBytes uint64) *pgpath {
	if m.nrValidPaths == 0 {
		m.queueIO = false
		m.currentPgpath, m.currentPg = nil, nil
		return nil
	}
	if pg := m.nextPg; pg != nil {
		m.nextPg = nil
		if p := m.choosePathInPg(pg, nrBytes); p != nil {
			return p
		}
	}
	if pg := m.currentPg; pg != nil {
		if p := m.choosePathInPg(pg, nrBytes); p != nil {
			return p
		}
	}
	for _, bypassed := range []bool{false, true} {
		for _, pg := range m.pgs {
			if pg.bypassed != bypassed {
				continue
			}
			if p := m.choosePathInPg(pg, nrBytes); p != nil {
				return p
			}
		}
	}
	m.currentPgpath, m.currentPg = nil, nil
	return nil
}

// choosePathInPg is choose_path_in_pg: pg's selector's path; a group that
// is not the current one becomes it (__switch_pg: without a hardware
// handler, I/O is no longer queued). mu held.
func (m *Multipath) choosePathInPg(pg *priorityGroup, nrBytes uint64) *pgpath {
	p := pg.sel.selectPath(nrBytes)
	if p == nil {
		return nil
	}
	if m.currentPg != pg {
		m.currentPgpath = p
		m.currentPg = pg
		m.queueIO = false
	}
	return p
}

// isPathError is blk_path_error: an error a path may be the cause of.
// The device's own answers (no space, not supported, a target or medium
// error, a protection error) are not; nor is I/O a closing process
// released unserved.
func isPathError(err error) bool {
	if errors.Is(err, targets.ErrReleased) {
		return false
	}
	var e syscall.Errno
	if !errors.As(err, &e) {
		return true
	}
	switch e {
	case syscall.EOPNOTSUPP, syscall.ENOSPC, syscall.EREMOTEIO, syscall.ENODATA, syscall.EILSEQ:
		return false
	}
	return true
}
