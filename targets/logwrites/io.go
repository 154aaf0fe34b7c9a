package logwrites

import "github.com/gdmsetup/gdmsetup/targets"

// What log_writes_map and normal_end_io do with each kind of I/O: reads go
// to dev untouched; a write or discard is taken as a block when sent (a
// write's data copied then) and joins unflushed when it has completed,
// whether dev failed it or not; a FUA write is logged as soon as it has
// completed, ahead of the unflushed ones, which stay unflushed; a flush
// takes the blocks unflushed when it is sent and, once dev has flushed,
// logs them and then itself. While logging is disabled, I/O only goes to
// dev.

func byteOffset(sector uint64) int64 { return int64(sector) * targets.SectorSize }

// devSector is where the target's sector lies on dev, and the sector its
// entry records: the mapped device's sector (see beginSector).
func (l *LogWrites) devSector(sector uint64) uint64 { return l.beginSector + sector }

// ReadAt reads from dev.
func (l *LogWrites) ReadAt(p []byte, sector uint64) error {
	_, err := l.dev.ReadAt(p, byteOffset(l.devSector(sector)))
	return err
}

// WriteAt writes p to dev and, once done, keeps a copy as an unflushed entry.
func (l *LogWrites) WriteAt(p []byte, sector uint64) error {
	return l.write(p, sector, false)
}

// WriteFUA is targets.FUAWriter: p goes to dev as a FUA write and, once
// done, is logged at once with LOG_FUA_FLAG, the super after it
// (normal_end_io puts a FUA write straight on the logging list: it is on
// disk when it completes). The writes unflushed before it stay unflushed.
func (l *LogWrites) WriteFUA(p []byte, sector uint64) error {
	return l.write(p, sector, true)
}

// write is WriteAt, or WriteFUA with fua.
func (l *LogWrites) write(p []byte, sector uint64, fua bool) error {
	logging := l.logging()
	var b *block
	if logging {
		b = &block{sector: l.devSector(sector), lenSectors: uint64(len(p)) / logSectorBytes, data: append([]byte(nil), p...)}
	}
	if b != nil && fua {
		b.flags = flagFUA
	}
	err := targets.DevWrite(l.dev, p, byteOffset(l.devSector(sector)), fua)
	switch {
	case b == nil:
	case fua:
		l.mu.Lock()
		l.logBlock(b)
		l.mu.Unlock()
	default:
		l.completed(b)
	}
	return err
}

// Discard passes the discard to dev when dev takes discards, and keeps it
// as an unflushed entry (no data).
func (l *LogWrites) Discard(sector, lenSectors uint64) error {
	logging := l.logging()
	var err error
	if l.devDiscards {
		err = l.dev.Discard(byteOffset(l.devSector(sector)), byteOffset(lenSectors))
	}
	if logging {
		l.completed(&block{flags: flagDiscard, sector: l.devSector(sector), lenSectors: lenSectors})
	}
	return err
}

// Flush flushes dev, then logs the entries that were unflushed when it
// began and a flush entry.
func (l *LogWrites) Flush() error { return l.flush(nil) }

// FlushFUA is targets.FUAFlusher: Flush, the flush entry keeping REQ_FUA
// and the write's sector (flags 3, no data), as log_writes_map takes such
// a bio; dev gets it the same way.
func (l *LogWrites) FlushFUA(sector uint64) error { return l.flush(&sector) }

// flush is Flush, or FlushFUA at *fuaSector.
func (l *LogWrites) flush(fuaSector *uint64) error {
	l.mu.Lock()
	logging := l.enabled
	taken := l.unflushed
	l.unflushed = nil
	l.mu.Unlock()
	entry := &block{flags: flagFlush}
	var err error
	if fuaSector != nil {
		entry.flags, entry.sector = flagFlush|flagFUA, l.devSector(*fuaSector)
		err = targets.DevFlushFUA(l.dev, byteOffset(entry.sector))
	} else {
		err = l.dev.Flush()
	}
	if logging {
		l.mu.Lock()
		l.logBlocks(append(taken, entry))
		l.mu.Unlock()
	}
	return err
}

// logging reports whether I/O sent now is to be logged.
func (l *LogWrites) logging() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.enabled
}

// completed adds a completed write or discard to the unflushed ones (none
// are kept once logging has stopped: they would never be logged).
func (l *LogWrites) completed(b *block) {
	l.mu.Lock()
	if l.enabled {
		l.unflushed = append(l.unflushed, b)
	}
	l.mu.Unlock()
}
