package clone

import "encoding/binary"

// Layout of the settings record that gdmsetup once kept in the tail of the
// superblock, where the kernel has zeros: magic "gdmclone", flags, the
// hydration threshold and batch size. It is only read now (by a table
// restored without saved state); the next commit writes a superblock
// without it, as the kernel does.
const (
	legacyOff      = 2048
	legacyMagic    = 0x656e6f6c636d6467 // "gdmclone"
	legacyDisabled = 1 << 0
)

// decodeLegacyRecord returns the settings of an old superblock's record;
// ok is false when the superblock carries none.
func decodeLegacyRecord(sb []byte) (s settings, ok bool) {
	b := sb[legacyOff:]
	if binary.LittleEndian.Uint64(b) != legacyMagic {
		return settings{}, false
	}
	return settings{
		Disabled:  binary.LittleEndian.Uint32(b[8:])&legacyDisabled != 0,
		Threshold: binary.LittleEndian.Uint32(b[12:]),
		Batch:     binary.LittleEndian.Uint32(b[16:]),
	}, true
}
