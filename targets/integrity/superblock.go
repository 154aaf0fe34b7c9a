package integrity

import (
	"bytes"
	"encoding/binary"
)

// The superblock (struct superblock) lies in the first sbSectors of the
// device (of the metadata device when there is one), after the table's
// reserved sectors; only its first 64 bytes are used, the rest are kept
// as read.
const (
	sbSectors = 8
	sbBytes   = sbSectors * 512
	saltSize  = 16

	offMagic          = 0
	offVersion        = 8
	offLog2Interleave = 9
	offTagSize        = 10
	offJournalSects   = 12
	offProvided       = 16
	offFlags          = 24
	offLog2Block      = 28
	offLog2BitmapBit  = 29
	offRecalcSector   = 32
	offSalt           = 48
)

// Superblock flags (SB_FLAG_*).
const (
	flagJournalMAC    = 0x1
	flagRecalculating = 0x2
	flagDirtyBitmap   = 0x4
	flagFixedPadding  = 0x8
	flagFixedHMAC     = 0x10
)

// sbMagic is SB_MAGIC with its NUL.
var sbMagic = []byte("integrt\x00")

// superblock is the in-core copy of the superblock area (ic->sb).
type superblock []byte

func (s superblock) hasMagic() bool          { return bytes.Equal(s[offMagic:offMagic+8], sbMagic) }
func (s superblock) version() uint8          { return s[offVersion] }
func (s superblock) log2Interleave() uint8   { return s[offLog2Interleave] }
func (s superblock) tagSize() uint16         { return binary.LittleEndian.Uint16(s[offTagSize:]) }
func (s superblock) journalSections() uint32 { return binary.LittleEndian.Uint32(s[offJournalSects:]) }
func (s superblock) provided() uint64        { return binary.LittleEndian.Uint64(s[offProvided:]) }
func (s superblock) flags() uint32           { return binary.LittleEndian.Uint32(s[offFlags:]) }
func (s superblock) log2Block() uint8        { return s[offLog2Block] }
func (s superblock) log2BitmapBit() uint8    { return s[offLog2BitmapBit] }
func (s superblock) recalcSector() uint64    { return binary.LittleEndian.Uint64(s[offRecalcSector:]) }
func (s superblock) salt() []byte            { return s[offSalt : offSalt+saltSize] }
func (s superblock) has(flag uint32) bool    { return s.flags()&flag != 0 }

// interleaveSectors is what the kernel prints as interleave_sectors:
// 1U << log2_interleave_sectors, a 32-bit shift whose count x86 takes
// modulo 32 (a superblock read back as zeroes gives 1).
func (s superblock) interleaveSectors() uint32 { return 1 << (s.log2Interleave() & 31) }

func (s superblock) setJournalSections(n uint32) {
	binary.LittleEndian.PutUint32(s[offJournalSects:], n)
}
func (s superblock) setProvided(n uint64)     { binary.LittleEndian.PutUint64(s[offProvided:], n) }
func (s superblock) setRecalcSector(n uint64) { binary.LittleEndian.PutUint64(s[offRecalcSector:], n) }
func (s superblock) setFlag(flag uint32, on bool) {
	f := s.flags() &^ flag
	if on {
		f |= flag
	}
	binary.LittleEndian.PutUint32(s[offFlags:], f)
}

// setVersion is sb_set_version: the lowest version that has every
// feature in use.
func (s superblock) setVersion(modeB, metaDev bool) {
	switch {
	case s.has(flagFixedHMAC):
		s[offVersion] = 5
	case s.has(flagFixedPadding):
		s[offVersion] = 4
	case modeB || s.has(flagDirtyBitmap):
		s[offVersion] = 3
	case metaDev || s.has(flagRecalculating):
		s[offVersion] = 2
	default:
		s[offVersion] = 1
	}
}
