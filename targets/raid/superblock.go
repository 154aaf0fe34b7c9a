package raid

import (
	"encoding/binary"
	"fmt"

	"github.com/gdmsetup/gdmsetup/targets"
)

// The metadata device's layout: dm-raid's superblock (struct
// dm_raid_superblock, little-endian) in sector 0, md's bitmap superblock
// (bitmap_super_t, 256 bytes) at 4 KiB, the bitmap's bits right after it,
// one per region, bit i of byte i/8 for region i, set while the region
// may differ between the members.
const (
	dmRaidMagic        = 0x64526D44
	featureV190        = 1
	sbFlagReshape      = 1
	bitmapMagic        = 0x6d746962
	bitmapVersion      = 4 // BITMAP_MAJOR_HI
	bitmapOffsetBytes  = 4096
	bitmapSuperBytes   = 256
	sbBytes            = 512
	defaultDaemonSleep = 5 // seconds, when daemon_sleep is not given
)

// superblock is the fields of dm_raid_superblock this target uses.
type superblock struct {
	compat           uint32
	numDevices       uint32
	position         uint32
	events           uint64
	failed           [4]uint64 // failed_devices, then extended_failed_devices
	recoveryOffset   uint64
	resyncOffset     uint64
	level, layout    uint32
	stripeSectors    uint32
	flags            uint32
	reshapePosition  uint64
	newLevel         uint32
	newLayout        uint32
	newStripeSectors uint32
	deltaDisks       uint32
	arraySectors     uint64
	dataOffset       uint64
	newDataOffset    uint64
	sectors          uint64
	incompat         uint32
}

// put encodes the superblock into b (sbBytes, the rest zeroed).
func (s *superblock) put(b []byte) {
	clear(b)
	le := binary.LittleEndian
	le.PutUint32(b[0:], dmRaidMagic)
	le.PutUint32(b[4:], s.compat)
	le.PutUint32(b[8:], s.numDevices)
	le.PutUint32(b[12:], s.position)
	le.PutUint64(b[16:], s.events)
	le.PutUint64(b[24:], s.failed[0])
	le.PutUint64(b[32:], s.recoveryOffset)
	le.PutUint64(b[40:], s.resyncOffset)
	le.PutUint32(b[48:], s.level)
	le.PutUint32(b[52:], s.layout)
	le.PutUint32(b[56:], s.stripeSectors)
	le.PutUint32(b[60:], s.flags)
	le.PutUint64(b[64:], s.reshapePosition)
	le.PutUint32(b[72:], s.newLevel)
	le.PutUint32(b[76:], s.newLayout)
	le.PutUint32(b[80:], s.newStripeSectors)
	le.PutUint32(b[84:], s.deltaDisks)
	le.PutUint64(b[88:], s.arraySectors)
	le.PutUint64(b[96:], s.dataOffset)
	le.PutUint64(b[104:], s.newDataOffset)
	le.PutUint64(b[112:], s.sectors)
	for i := 1; i < 4; i++ {
		le.PutUint64(b[120+8*(i-1):], s.failed[i])
	}
	le.PutUint32(b[144:], s.incompat)
}

// parseSuperblock decodes b; ok is false without dm-raid's magic. The
// v1.9.0 fields are zero when compat lacks the feature.
func parseSuperblock(b []byte) (s superblock, ok bool) {
	le := binary.LittleEndian
	if le.Uint32(b[0:]) != dmRaidMagic {
		return s, false
	}
	s = superblock{compat: le.Uint32(b[4:]), numDevices: le.Uint32(b[8:]), position: le.Uint32(b[12:]),
		events: le.Uint64(b[16:]), recoveryOffset: le.Uint64(b[32:]), resyncOffset: le.Uint64(b[40:]),
		level: le.Uint32(b[48:]), layout: le.Uint32(b[52:]), stripeSectors: le.Uint32(b[56:])}
	s.failed[0] = le.Uint64(b[24:])
	if s.compat&featureV190 != 0 {
		s.flags, s.reshapePosition = le.Uint32(b[60:]), le.Uint64(b[64:])
		s.newLevel, s.newLayout, s.newStripeSectors, s.deltaDisks = le.Uint32(b[72:]), le.Uint32(b[76:]), le.Uint32(b[80:]), le.Uint32(b[84:])
		s.arraySectors, s.dataOffset, s.newDataOffset, s.sectors = le.Uint64(b[88:]), le.Uint64(b[96:]), le.Uint64(b[104:]), le.Uint64(b[112:])
		for i := 1; i < 4; i++ {
			s.failed[i] = le.Uint64(b[120+8*(i-1):])
		}
		s.incompat = le.Uint32(b[144:])
	}
	return s, true
}

// failedBit reports member i among the failed devices (a position past
// the 256 the format holds, as a damaged superblock may give, is not).
func (s *superblock) failedBit(i int) bool {
	return i >= 0 && i < 64*len(s.failed) && s.failed[i/64]&(1<<(i%64)) != 0
}

// bitmapSuper is the fields of bitmap_super_t this target uses.
type bitmapSuper struct {
	version                     uint32
	events, eventsCleared       uint64
	syncSectors                 uint64
	state                       uint32
	chunkBytes                  uint32
	daemonSleepSec, writeBehind uint32
}

func (s *bitmapSuper) put(b []byte) {
	clear(b[:bitmapSuperBytes])
	le := binary.LittleEndian
	le.PutUint32(b[0:], bitmapMagic)
	le.PutUint32(b[4:], s.version)
	le.PutUint64(b[24:], s.events)
	le.PutUint64(b[32:], s.eventsCleared)
	le.PutUint64(b[40:], s.syncSectors)
	le.PutUint32(b[48:], s.state)
	le.PutUint32(b[52:], s.chunkBytes)
	le.PutUint32(b[56:], s.daemonSleepSec)
	le.PutUint32(b[60:], s.writeBehind)
}

// parseBitmapSuper is md_bitmap_read_sb's checks: the magic, a version
// md reads, a chunk of at least 512 bytes and a power of 2.
func parseBitmapSuper(b []byte) (bitmapSuper, error) {
	le := binary.LittleEndian
	s := bitmapSuper{version: le.Uint32(b[4:]), events: le.Uint64(b[24:]), eventsCleared: le.Uint64(b[32:]),
		syncSectors: le.Uint64(b[40:]), state: le.Uint32(b[48:]), chunkBytes: le.Uint32(b[52:]),
		daemonSleepSec: le.Uint32(b[56:]), writeBehind: le.Uint32(b[60:])}
	switch {
	case le.Uint32(b[0:]) != bitmapMagic:
		return s, fmt.Errorf("bad magic")
	case s.version < 3 || s.version > 5:
		return s, fmt.Errorf("unrecognized superblock version %d", s.version)
	case s.chunkBytes < 512 || !targets.PowerOfTwo(uint64(s.chunkBytes)):
		return s, fmt.Errorf("bitmap chunksize %d invalid", s.chunkBytes)
	}
	return s, nil
}

// bitmapStaleBit is BITMAP_STALE in the bitmap's state: every region is
// to be resynchronised.
const bitmapStaleBit = 1 << 1
