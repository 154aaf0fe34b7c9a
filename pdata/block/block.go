// Package block is the lowest persistent-data layer: fixed 4096-byte metadata
// blocks on a device, the crc32c checksum every block type carries, the
// Validator contract, and a cached block Manager with read/write locks
// (the kernel's dm-block-manager).
package block

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// BlockSize is the size in bytes of one metadata block.
const BlockSize = 4096

// SectorsPerBlock is the number of 512-byte sectors in one metadata block.
const SectorsPerBlock = BlockSize / 512

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum returns the kernel's dm_bm_checksum(data, len(data), salt):
// the raw crc32c register (seed ~0, no final inversion) XOR salt.
func Checksum(data []byte, salt uint32) uint32 {
	return crc32.Checksum(data, castagnoli) ^ 0xFFFFFFFF ^ salt
}

// SetChecksum stores at offset 0 of blk the checksum of blk[4:] salted with salt.
func SetChecksum(blk []byte, salt uint32) {
	binary.LittleEndian.PutUint32(blk[0:4], Checksum(blk[4:], salt))
}

// ErrChecksum is wrapped by VerifyChecksum failures.
var ErrChecksum = errors.New("checksum mismatch")

// ErrLocation is wrapped when a block's stored blocknr differs from where it was read.
var ErrLocation = errors.New("block number mismatch")

// VerifyChecksum checks that the checksum stored at offset 0 of blk matches
// blk[4:] salted with salt.
func VerifyChecksum(blk []byte, salt uint32) error {
	stored := binary.LittleEndian.Uint32(blk[0:4])
	if sum := Checksum(blk[4:], salt); sum != stored {
		return fmt.Errorf("%w: stored %#08x, computed %#08x", ErrChecksum, stored, sum)
	}
	return nil
}

// VerifyLocation checks the little-endian u64 blocknr stored at offBytes of blk against blocknr.
func VerifyLocation(blk []byte, offBytes int, blocknr uint64) error {
	if got := binary.LittleEndian.Uint64(blk[offBytes:]); got != blocknr {
		return fmt.Errorf("%w: block says it is %d", ErrLocation, got)
	}
	return nil
}

// AllZero reports whether data holds only zero bytes: a superblock that
// reads so is unformatted metadata, which the targets format.
func AllZero(data []byte) bool {
	for _, b := range data {
		if b != 0 {
			return false
		}
	}
	return true
}
