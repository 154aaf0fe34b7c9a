package mirror

import (
	"encoding/binary"
	"fmt"
	"syscall"
)

// The disk log's layout on its device (dm-log.c): a 16-byte header at byte
// 0 (log_header_disk: magic, version, region count, little-endian), the
// clean bits from sector 2 on (LOG_OFFSET), one bit per region, bit i in
// byte i/8 at 1<<(i%8), the bitset a whole number of 64-bit words. The log
// reads and writes header and bitset together, whole sectors; the bytes
// between them are read and written back unchanged.
const (
	logMagic       = 0x4D695272 // "MiRr"
	logVersion     = 2
	logOffsetBytes = 2 * 512
)

// logHeader is log_header_core.
type logHeader struct {
	magic, version uint32
	nrRegions      uint64
}

func (h logHeader) put(b []byte) {
	binary.LittleEndian.PutUint32(b[0:], h.magic)
	binary.LittleEndian.PutUint32(b[4:], h.version)
	binary.LittleEndian.PutUint64(b[8:], h.nrRegions)
}

// readHeader is read_header: the whole image is read from the device (the
// clean bits with it). A log told sync or nosync, or one without the
// magic, is a new log of no regions; version 1 (the little-endian layout
// of version 2) is taken as 2; any other version is refused.
func (l *dirtyLog) readHeader(logf func(string, ...any)) (logHeader, error) {
	if _, err := l.dev.ReadAt(l.buf, 0); err != nil {
		return logHeader{}, fmt.Errorf("reading the dirty log header on %s: %w", l.dev.Name(), err)
	}
	h := logHeader{
		magic:     binary.LittleEndian.Uint32(l.buf[0:]),
		version:   binary.LittleEndian.Uint32(l.buf[4:]),
		nrRegions: binary.LittleEndian.Uint64(l.buf[8:]),
	}
	if l.sync != defaultSync || h.magic != logMagic {
		h = logHeader{magic: logMagic, version: logVersion}
	}
	if h.version == 1 {
		h.version = logVersion
	}
	if h.version != logVersion {
		logf(logPrefix + "incompatible disk log version")
		return h, fmt.Errorf("dirty log on %s: version %d: %w", l.dev.Name(), h.version, syscall.EINVAL)
	}
	return h, nil
}

// writeBuf writes header and bitset (rw_header, REQ_OP_WRITE).
func (l *dirtyLog) writeBuf() error {
	if _, err := l.dev.WriteAt(l.buf, 0); err != nil {
		return fmt.Errorf("writing the dirty log on %s: %w", l.dev.Name(), err)
	}
	return nil
}
