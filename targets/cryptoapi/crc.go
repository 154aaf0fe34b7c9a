package cryptoapi

import (
	"encoding/binary"
	"hash"
	"hash/crc32"
	"syscall"
)

// crcHash is the kernel's crc32c (seed ~0, inverted at the end) or crc32
// (seed 0, not inverted) shash: the CRC stored little-endian, where Go's
// hash/crc32 stores it big-endian. A key of 4 bytes replaces the seed.
func crcHash(driver string, tab *crc32.Table, inverted bool) *Hash {
	return &Hash{Driver: driver, Size: 4,
		newHash: func(key []byte) hash.Hash {
			seed := uint32(0)
			if inverted {
				seed = ^seed
			}
			if len(key) == 4 {
				seed = binary.LittleEndian.Uint32(key)
			}
			return &crcLE{tab: tab, seed: seed, crc: seed, inverted: inverted}
		},
		setKey: func(key []byte) syscall.Errno {
			if len(key) != 4 {
				return syscall.EINVAL
			}
			return 0
		}}
}

// crcLE is a raw CRC register (no inversion on the way in) whose digest is
// the register, inverted or not, little-endian.
type crcLE struct {
	tab       *crc32.Table
	seed, crc uint32
	inverted  bool
}

func (c *crcLE) Write(p []byte) (int, error) {
	// crc32.Update inverts on the way in and out: undo both
	c.crc = ^crc32.Update(^c.crc, c.tab, p)
	return len(p), nil
}

func (c *crcLE) Sum(b []byte) []byte {
	v := c.crc
	if c.inverted {
		v = ^v
	}
	return binary.LittleEndian.AppendUint32(b, v)
}

func (c *crcLE) Reset()         { c.crc = c.seed }
func (c *crcLE) Size() int      { return 4 }
func (c *crcLE) BlockSize() int { return 1 }
