package lvm

import "hash/crc32"

// initialCRC is lvm2's INITIAL_CRC, the seed of every checksum in its on-disk format.
const initialCRC = 0xf597a6cf

// crc is lvm2's calc_crc: the CRC-32 of p (reflected polynomial 0xedb88320) continued from
// initial, without the final inversion, so crc(crc(i, a), b) == crc(i, a followed by b).
func crc(initial uint32, p []byte) uint32 {
	return ^crc32.Update(^initial, crc32.IEEETable, p)
}
