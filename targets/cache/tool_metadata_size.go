package cache

// MetadataSizeSectors is cache_metadata_size 0.9.0's estimate of the
// metadata a cache of nrBlocks blocks needs, in 512-byte sectors: 4 MiB for
// transactions, 16 bytes a block for the mapping, and the hint width plus 8
// bytes a block for the hints (arithmetic modulo 2^64, as the tool's).
func MetadataSizeSectors(nrBlocks uint64, maxHintWidth uint32) uint64 {
	const (
		sectorBytes           = 512
		transactionSectors    = 4 * 2048
		mappingBytesPerBlock  = 16
		hintOverheadPerBlockB = 8
	)
	mappingSectors := nrBlocks * mappingBytesPerBlock / sectorBytes
	hintSectors := nrBlocks * (uint64(maxHintWidth) + hintOverheadPerBlockB) / sectorBytes
	return transactionSectors + mappingSectors + hintSectors
}
