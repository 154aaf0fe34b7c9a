package metadata

import (
	"encoding/binary"
	"hash/crc32"
)

// BlockSize is the size of one metadata block in bytes (4096, fixed by the kernel).
const BlockSize = 4096

// Checksum salts ("xor" constants) of the block types this package reads and writes.
const (
	saltSuperblock = 160774
	saltNode       = 121107
	saltBitmap     = 240779
	saltIndex      = 160478
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// blockChecksum returns the persistent-data checksum of a block: CRC-32C of bytes
// [4, BlockSize) without final inversion, XOR salt.
func blockChecksum(data []byte, salt uint32) uint32 {
	return crc32.Checksum(data[4:BlockSize], castagnoli) ^ 0xFFFFFFFF ^ salt
}

// sealBlock writes blocknr (offset 8) and then the checksum (offset 0) into data.
func sealBlock(data []byte, nr uint64, salt uint32) {
	binary.LittleEndian.PutUint64(data[8:], nr)
	binary.LittleEndian.PutUint32(data[0:], blockChecksum(data, salt))
}

// verifyBlock checks the checksum and blocknr of a block read from location nr.
func verifyBlock(data []byte, nr uint64, salt uint32, what string) error {
	if len(data) != BlockSize {
		return &BlockError{Block: nr, What: what, Msg: "short block"}
	}
	stored := binary.LittleEndian.Uint32(data[0:])
	if got := blockChecksum(data, salt); got != stored {
		return &BlockError{Block: nr, What: what, Msg: "bad checksum"}
	}
	if loc := binary.LittleEndian.Uint64(data[8:]); loc != nr {
		return &BlockError{Block: nr, What: what, Msg: "blocknr field says " + utoa(loc)}
	}
	return nil
}
