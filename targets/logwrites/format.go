package logwrites

import (
	"encoding/binary"

	"github.com/gdmsetup/gdmsetup/targets"
)

// The log's on-disk format (struct log_write_super and struct
// log_write_entry of dm-log-writes.c), all little-endian, in units of the
// log's sector size:
//
//	sector 0        super: magic u64, version u64, nr_entries u64, sectorsize u32, zeros
//	sector 1...     per entry: one sector holding sector u64, nr_sectors u64, flags u64,
//	                data_len u64 (then a mark's text), zeros; then nr_sectors sectors of
//	                the data written (none for flushes, discards and marks)
//
// Entries follow each other in the order they were logged; nr_entries in
// the super counts those logged up to the last mark or FUA write, after
// each of which the super is rewritten.
const (
	// logSectorBytes is lc->sectorsize, the device's logical block size:
	// 512 for every device gdmsetup maps onto.
	logSectorBytes = targets.SectorSize
	// entrySectors is an entry's header in sectors (dev_to_bio_sectors(1)).
	entrySectors = logSectorBytes / targets.SectorSize

	// flags of an entry: LOG_FLUSH_FLAG, LOG_FUA_FLAG, LOG_DISCARD_FLAG,
	// LOG_MARK_FLAG. LOG_METADATA_FLAG (1 << 4) is never set: gdmsetup's
	// targets are not told of REQ_META.
	flagFlush   = 1 << 0
	flagFUA     = 1 << 1
	flagDiscard = 1 << 2
	flagMark    = 1 << 3

	logVersion = 1
	logMagic   = 0x6a736677736872

	entryHeaderBytes = 32
	// maxMarkBytes is the longest mark kept: the rest of the entry's
	// sector, less the NUL kstrndup keeps room for.
	maxMarkBytes = logSectorBytes - entryHeaderBytes - 1
)

// encodeEntry returns the sector that heads b in the log: its header and,
// for a mark, the mark's text and its length (data_len is 0 for the
// others: a write's data follows in sectors of its own).
func encodeEntry(b *block) []byte {
	s := make([]byte, logSectorBytes)
	binary.LittleEndian.PutUint64(s[0:], b.sector)
	binary.LittleEndian.PutUint64(s[8:], b.lenSectors)
	binary.LittleEndian.PutUint64(s[16:], b.flags)
	if b.flags&flagMark != 0 {
		binary.LittleEndian.PutUint64(s[24:], uint64(len(b.data)))
		copy(s[entryHeaderBytes:], b.data)
	}
	return s
}

// encodeSuper returns sector 0 of a log holding entries entries.
func encodeSuper(entries uint64) []byte {
	s := make([]byte, logSectorBytes)
	binary.LittleEndian.PutUint64(s[0:], logMagic)
	binary.LittleEndian.PutUint64(s[8:], logVersion)
	binary.LittleEndian.PutUint64(s[16:], entries)
	binary.LittleEndian.PutUint32(s[24:], logSectorBytes)
	return s
}
