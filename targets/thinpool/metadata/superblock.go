package metadata

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/spacemap"
)

// Thin superblock constants (dm-thin-metadata.c).
const (
	superblockLocation       = 0
	superblockMagic          = 27022010
	superblockVersion        = 2
	superblockSalt           = 160774
	metadataBlockSizeSectors = block.BlockSize / 512
	// NeedsCheckFlag is bit 0 of the superblock flags (THIN_METADATA_NEEDS_CHECK_FLAG).
	NeedsCheckFlag = 1
	// Byte ranges of the two space-map roots inside the superblock.
	dataSMOff, metadataSMOff = 64, 192
	smRootFieldSize          = 128
)

// superblockValidator checks the checksum and location of a thin superblock (the
// live one at block 0 or a metadata-snapshot copy).
var superblockValidator block.Validator = &block.SaltedValidator{Kind: "superblock", Salt: superblockSalt, LocationOff: 8}

// superblock is struct thin_disk_superblock (364 bytes at the start of its block).
type superblock struct {
	Flags             uint32
	Blocknr           uint64
	UUID              [16]byte
	Magic             uint64
	Version           uint32
	Time              uint32
	TransactionID     uint64
	HeldRoot          uint64
	DataSM            spacemap.Root
	MetadataSM        spacemap.Root
	DataMappingRoot   uint64
	DeviceDetailsRoot uint64
	DataBlockSize     uint32 // sectors
	MetadataBlockSize uint32 // sectors (8)
	MetadataNrBlocks  uint64
	CompatFlags       uint32
	CompatROFlags     uint32
	IncompatFlags     uint32
}

// encode writes the superblock fields into a block, zeroing the rest of it; the
// validator seals checksum and blocknr when the block is written.
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
	s.DataSM.Encode(b[dataSMOff : dataSMOff+smRootFieldSize])
	s.MetadataSM.Encode(b[metadataSMOff : metadataSMOff+smRootFieldSize])
	le.PutUint64(b[320:], s.DataMappingRoot)
	le.PutUint64(b[328:], s.DeviceDetailsRoot)
	le.PutUint32(b[336:], s.DataBlockSize)
	le.PutUint32(b[340:], s.MetadataBlockSize)
	le.PutUint64(b[344:], s.MetadataNrBlocks)
	le.PutUint32(b[352:], s.CompatFlags)
	le.PutUint32(b[356:], s.CompatROFlags)
	le.PutUint32(b[360:], s.IncompatFlags)
}

// parseSuperblock reads the fields of superblock block b (BlockSize bytes) and checks
// nothing but the space-map roots' own consistency: s is complete even when err
// says a root is inconsistent.
func parseSuperblock(b []byte) (s *superblock, err error) {
	le := binary.LittleEndian
	dataSM, dataErr := spacemap.DecodeRoot(b[dataSMOff:])
	metaSM, metaErr := spacemap.DecodeRoot(b[metadataSMOff:])
	s = &superblock{
		Flags:             le.Uint32(b[4:]),
		Blocknr:           le.Uint64(b[8:]),
		Magic:             le.Uint64(b[32:]),
		Version:           le.Uint32(b[40:]),
		Time:              le.Uint32(b[44:]),
		TransactionID:     le.Uint64(b[48:]),
		HeldRoot:          le.Uint64(b[56:]),
		DataSM:            dataSM,
		MetadataSM:        metaSM,
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
	switch {
	case dataErr != nil:
		err = fmt.Errorf("data space map root: %v", dataErr)
	case metaErr != nil:
		err = fmt.Errorf("metadata space map root: %v", metaErr)
	}
	return s, err
}

// readSuperblock reads block nr of r and decodes it as a superblock (what names
// it in a read error); raw is the block as read.
func readSuperblock(r io.ReaderAt, nr uint64, what string) (raw []byte, sb *superblock, err error) {
	raw = make([]byte, BlockSize)
	if _, err := r.ReadAt(raw, int64(nr)*BlockSize); err != nil {
		return nil, nil, &BlockError{Block: nr, What: what, Msg: "read: " + err.Error()}
	}
	sb, err = decodeSuperblock(raw, nr)
	return raw, sb, err
}

// decodeSuperblock parses a superblock read from block nr, checking its checksum,
// location, magic, version and incompatible features.
func decodeSuperblock(b []byte, nr uint64) (*superblock, error) {
	bad := func(format string, a ...any) error {
		return &BlockError{Block: nr, What: "superblock", Msg: fmt.Sprintf(format, a...)}
	}
	if len(b) < block.BlockSize {
		return nil, bad("short block (%d bytes)", len(b))
	}
	if err := superblockValidator.Check(b, nr); err != nil {
		return nil, bad("%v", err)
	}
	s, err := parseSuperblock(b)
	if err != nil {
		return nil, bad("%v", err)
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
