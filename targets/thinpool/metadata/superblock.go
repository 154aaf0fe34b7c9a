package metadata

import (
	"encoding/binary"
	"fmt"
)

// Thin superblock constants (dm-thin-metadata.c).
const (
	superblockLocation       = 0
	superblockMagic          = 27022010
	superblockVersion        = 2
	metadataBlockSizeSectors = BlockSize / 512
	// NeedsCheckFlag is bit 0 of the superblock flags (THIN_METADATA_NEEDS_CHECK_FLAG).
	NeedsCheckFlag = 1
	smRootSize     = 128
)

// smRoot is struct disk_sm_root: the root of one space map.
type smRoot struct {
	NrBlocks     uint64
	NrAllocated  uint64
	BitmapRoot   uint64 // metadata sm: index block; data sm: index btree root
	RefCountRoot uint64 // overflow ref-count btree root
}

func (r smRoot) put(b []byte) {
	clear(b[:smRootSize])
	binary.LittleEndian.PutUint64(b[0:], r.NrBlocks)
	binary.LittleEndian.PutUint64(b[8:], r.NrAllocated)
	binary.LittleEndian.PutUint64(b[16:], r.BitmapRoot)
	binary.LittleEndian.PutUint64(b[24:], r.RefCountRoot)
}

func getSMRoot(b []byte) smRoot {
	return smRoot{
		NrBlocks:     binary.LittleEndian.Uint64(b[0:]),
		NrAllocated:  binary.LittleEndian.Uint64(b[8:]),
		BitmapRoot:   binary.LittleEndian.Uint64(b[16:]),
		RefCountRoot: binary.LittleEndian.Uint64(b[24:]),
	}
}

// superblock is struct thin_disk_superblock (364 bytes at the start of block 0).
type superblock struct {
	Flags             uint32
	Blocknr           uint64
	UUID              [16]byte
	Magic             uint64
	Version           uint32
	Time              uint32
	TransactionID     uint64
	HeldRoot          uint64
	DataSM            smRoot
	MetadataSM        smRoot
	DataMappingRoot   uint64
	DeviceDetailsRoot uint64
	DataBlockSize     uint32 // sectors
	MetadataBlockSize uint32 // sectors (8)
	MetadataNrBlocks  uint64
	CompatFlags       uint32
	CompatROFlags     uint32
	IncompatFlags     uint32
}

// encode writes the superblock fields into a block (the rest of the block is zeroed;
// checksum and blocknr are sealed at write time).
func (s *superblock) encode(b []byte) {
	clear(b)
	le := binary.LittleEndian
	le.PutUint32(b[4:], s.Flags)
	le.PutUint64(b[8:], s.Blocknr)
	copy(b[16:32], s.UUID[:])
	le.PutUint64(b[32:], s.Magic)
	le.PutUint32(b[40:], s.Version)
	le.PutUint32(b[44:], s.Time)
	le.PutUint64(b[48:], s.TransactionID)
	le.PutUint64(b[56:], s.HeldRoot)
	s.DataSM.put(b[64:])
	s.MetadataSM.put(b[192:])
	le.PutUint64(b[320:], s.DataMappingRoot)
	le.PutUint64(b[328:], s.DeviceDetailsRoot)
	le.PutUint32(b[336:], s.DataBlockSize)
	le.PutUint32(b[340:], s.MetadataBlockSize)
	le.PutUint64(b[344:], s.MetadataNrBlocks)
	le.PutUint32(b[352:], s.CompatFlags)
	le.PutUint32(b[356:], s.CompatROFlags)
	le.PutUint32(b[360:], s.IncompatFlags)
}

// decodeSuperblock parses a superblock block read from location nr, checking its
// checksum, blocknr, magic and feature flags.
func decodeSuperblock(b []byte, nr uint64) (*superblock, error) {
	if err := verifyBlock(b, nr, saltSuperblock, "superblock"); err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	s := &superblock{
		Flags:             le.Uint32(b[4:]),
		Blocknr:           le.Uint64(b[8:]),
		Magic:             le.Uint64(b[32:]),
		Version:           le.Uint32(b[40:]),
		Time:              le.Uint32(b[44:]),
		TransactionID:     le.Uint64(b[48:]),
		HeldRoot:          le.Uint64(b[56:]),
		DataSM:            getSMRoot(b[64:]),
		MetadataSM:        getSMRoot(b[192:]),
		DataMappingRoot:   le.Uint64(b[320:]),
		DeviceDetailsRoot: le.Uint64(b[328:]),
		DataBlockSize:     le.Uint32(b[336:]),
		MetadataBlockSize: le.Uint32(b[340:]),
		MetadataNrBlocks:  le.Uint64(b[344:]),
		CompatFlags:       le.Uint32(b[352:]),
		CompatROFlags:     le.Uint32(b[356:]),
		IncompatFlags:     le.Uint32(b[360:]),
	}
	copy(s.UUID[:], b[16:32])
	bad := func(format string, a ...any) error {
		return &BlockError{Block: nr, What: "superblock", Msg: fmt.Sprintf(format, a...)}
	}
	switch {
	case s.Magic != superblockMagic:
		return nil, bad("bad magic %d (want %d)", s.Magic, superblockMagic)
	case s.IncompatFlags != 0:
		return nil, bad("unsupported incompatible features 0x%x", s.IncompatFlags)
	case s.Version < 1 || s.Version > superblockVersion:
		return nil, bad("unsupported version %d", s.Version)
	}
	return s, nil
}
