package logwrites

import (
	"errors"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// dataPieceBytes is the most data one log bio carries (BIO_MAX_VECS
// pages): an entry's data is written in pieces of it, each failing alone.
const dataPieceBytes = 256 * 4096

// logBlocks logs bs in order, as log_writes_kthread takes them off its
// list. l.mu must be held.
func (l *LogWrites) logBlocks(bs []*block) {
	for _, b := range bs {
		l.logBlock(b)
	}
}

// logBlock logs one entry: once logging has stopped it is dropped; else it
// takes the next place in the log (an entry that would reach the end of
// the log device stops the logging instead), then its sectors are written
// and, after a mark or a FUA write, the super. A failed write to the log
// stops the logging, but the entry's other writes are still made, as the
// kernel has sent them all by then. l.mu must be held.
func (l *LogWrites) logBlock(b *block) {
	if !l.enabled {
		return
	}
	sector := l.nextSector
	if b.flags&flagDiscard == 0 {
		l.nextSector += b.lenSectors
	}
	l.nextSector += entrySectors
	if l.endSector == 0 {
		l.endSector = uint64(l.logdev.SizeBytes()) / targets.SectorSize
	}
	if l.endSector != 0 && l.nextSector >= l.endSector {
		l.logf("log-writes: Ran out of space on the logdev")
		l.enabled = false
		return
	}
	l.loggedEntries++
	l.writeLog(encodeEntry(b), sector)
	if b.flags&flagMark == 0 {
		for off := 0; off < len(b.data); off += dataPieceBytes {
			piece := b.data[off:min(off+dataPieceBytes, len(b.data))]
			l.writeLog(piece, sector+entrySectors+uint64(off)/targets.SectorSize)
		}
	}
	if b.flags&(flagMark|flagFUA) != 0 {
		l.writeLog(encodeSuper(l.loggedEntries), 0)
	}
}

// writeLog writes p at sector of the log device; a failure is
// log_end_io's: the kernel's line, and logging stops. l.mu must be held.
func (l *LogWrites) writeLog(p []byte, sector uint64) {
	if _, err := l.logdev.WriteAt(p, byteOffset(sector)); err != nil {
		l.logf("log-writes: Error writing log block, error=%d", blkStatus(err))
		l.enabled = false
	}
}

// blkStatus is the blk_status_t the block layer gives for err (errno_to_blk_status).
func blkStatus(err error) int {
	codes := []struct {
		errno  syscall.Errno
		status int
	}{
		{syscall.EOPNOTSUPP, 1}, {syscall.ETIMEDOUT, 2}, {syscall.ENOSPC, 3}, {syscall.ENOLINK, 4},
		{syscall.EREMOTEIO, 5}, {syscall.EBADE, 6}, {syscall.ENODATA, 7}, {syscall.EILSEQ, 8},
		{syscall.ENOMEM, 9}, {syscall.EAGAIN, 12}, {syscall.EBUSY, 13}, {syscall.ENODEV, 17},
	}
	for _, c := range codes {
		if errors.Is(err, c.errno) {
			return c.status
		}
	}
	return 10 // BLK_STS_IOERR
}

// markBlock is a mark entry for text, cut as log_mark cuts it.
func markBlock(text string) *block {
	if len(text) > maxMarkBytes {
		text = text[:maxMarkBytes]
	}
	return &block{flags: flagMark, data: []byte(text)}
}
