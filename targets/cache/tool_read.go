package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/tooling"
)

// The cache tools (cache_check, cache_dump, cache_repair, cache_restore,
// cache_writeback of thin-provisioning-tools 0.9.0) read metadata without a
// live target and without a space map: each block straight from the file,
// checked by its validator (pdata/tooling). The tool_*.go files reproduce
// them; their errors are the tools' sentences, as the tools print them.

// Superblock offsets the target does not read.
const (
	sbOffBlocknr     = 8
	sbOffUUID        = 16
	incompatVarHints = 1 << 0 // VARIABLE_HINT_SIZE_BIT
	toolVersionEnd   = 3      // versions 1 and 2 are valid
)

// ToolSuperblock is the cache superblock as the cache tools decode it
// (superblock_traits::unpack). UUID and PolicyName are what the tools print
// for them: the bytes up to the first zero, read on through the fields that
// follow in the tools' in-core struct when the field has none.
type ToolSuperblock struct {
	Flags            uint32
	Blocknr          uint64
	UUID             string
	Magic            uint64
	Version          uint32
	PolicyName       string
	PolicyNameFull   bool // all 16 bytes of the name are set: no terminating zero
	PolicyVersion    [3]uint32
	PolicyHintSize   uint32 // 4 unless the variable hint size feature is set
	MappingRoot      uint64
	HintRoot         uint64
	DiscardRoot      uint64
	DiscardBlockSize uint64
	DiscardNrBlocks  uint64
	DataBlockSectors uint32
	MetaBlockSectors uint32
	CacheBlocks      uint32
	CompatFlags      uint32
	CompatROFlags    uint32
	IncompatFlags    uint32
	DirtyRoot        uint64 // version 2 and later
}

// CleanShutdown reports the superblock's clean-shutdown flag.
func (sb ToolSuperblock) CleanShutdown() bool { return sb.Flags&flagCleanShutdown != 0 }

// NeedsCheck reports the superblock's needs-check flag.
func (sb ToolSuperblock) NeedsCheck() bool { return sb.Flags&flagNeedsCheck != 0 }

// cString is the bytes of b up to its first zero.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

func decodeToolSuperblock(d []byte) ToolSuperblock {
	le32 := func(off int) uint32 { return binary.LittleEndian.Uint32(d[off:]) }
	le64 := func(off int) uint64 { return binary.LittleEndian.Uint64(d[off:]) }
	sb := ToolSuperblock{
		Flags: le32(sbOffFlags), Blocknr: le64(sbOffBlocknr), Magic: le64(sbOffMagic), Version: le32(sbOffVersion),
		MappingRoot: le64(sbOffMappingRoot), HintRoot: le64(sbOffHintRoot), DiscardRoot: le64(sbOffDiscardRoot),
		DiscardBlockSize: le64(sbOffDiscardBlockSize), DiscardNrBlocks: le64(sbOffDiscardNrBlocks),
		DataBlockSectors: le32(sbOffDataBlockSize), MetaBlockSectors: le32(sbOffMetaBlockSize),
		CacheBlocks: le32(sbOffCacheBlocks), CompatFlags: le32(sbOffCompatFlags),
		CompatROFlags: le32(sbOffCompatROFlags), IncompatFlags: le32(sbOffIncompatFlags),
		PolicyHintSize: hintSize,
	}
	for i := range sb.PolicyVersion {
		sb.PolicyVersion[i] = le32(sbOffPolicyVersion + 4*i)
	}
	if sb.IncompatFlags&incompatVarHints != 0 {
		sb.PolicyHintSize = le32(sbOffPolicyHintSize)
	}
	if sb.Version >= 2 {
		sb.DirtyRoot = le64(sbOffDirtyRoot)
	}
	// The tools' struct superblock holds uuid[16], magic, version,
	// policy_name[16], policy_version[3]: a field without a zero is
	// printed on into the next ones.
	var core []byte
	core = append(core, d[sbOffUUID:sbOffUUID+16]...)
	core = binary.LittleEndian.AppendUint64(core, sb.Magic)
	core = binary.LittleEndian.AppendUint32(core, sb.Version)
	name := len(core)
	core = append(core, d[sbOffPolicyName:sbOffPolicyName+policyNameSize]...)
	for _, v := range sb.PolicyVersion {
		core = binary.LittleEndian.AppendUint32(core, v)
	}
	core = binary.LittleEndian.AppendUint32(core, sb.PolicyHintSize)
	sb.UUID, sb.PolicyName = cString(core), cString(core[name:])
	sb.PolicyNameFull = len(cString(d[sbOffPolicyName:sbOffPolicyName+policyNameSize])) == policyNameSize
	return sb
}

// superblockProblems is check_superblock's findings on a superblock that
// could be read, in its words and order.
func (sb ToolSuperblock) problems(nrMetaBlocks uint64) []string {
	var p []string
	if f := sb.Flags &^ (flagCleanShutdown | flagNeedsCheck); f != 0 {
		p = append(p, fmt.Sprintf("invalid flags: %d", f))
	}
	if sb.Blocknr >= nrMetaBlocks {
		p = append(p, fmt.Sprintf("blocknr out of bounds: %d >= %d", sb.Blocknr, nrMetaBlocks))
	}
	if sb.Magic != sbMagic {
		p = append(p, fmt.Sprintf("magic is incorrect: %d", sb.Magic))
	}
	if sb.Version >= toolVersionEnd || sb.Version < minVersion {
		p = append(p, fmt.Sprintf("version incorrect: %d", sb.Version))
	}
	if sb.PolicyNameFull {
		p = append(p, "policy name is not null terminated")
	}
	if sb.PolicyHintSize%4 != 0 || sb.PolicyHintSize > 128 {
		p = append(p, fmt.Sprintf("policy hint size invalid: %d", sb.PolicyHintSize))
	}
	if sb.MetaBlockSectors != block.SectorsPerBlock {
		p = append(p, fmt.Sprintf("metadata block size incorrect: %d", sb.MetaBlockSectors))
	}
	if sb.CompatFlags != 0 {
		p = append(p, fmt.Sprintf("compat_flags invalid (can only be 0): %d", sb.CompatFlags))
	}
	if sb.CompatROFlags != 0 {
		p = append(p, fmt.Sprintf("compat_ro_flags invalid (can only be 0): %d", sb.CompatROFlags))
	}
	if sb.IncompatFlags&^incompatVarHints != 0 {
		p = append(p, fmt.Sprintf("incompat_flags invalid (can only be 0): %d", sb.IncompatFlags))
	}
	return p
}

// readToolSuperblock is read_superblock: block 0, its checksum only checked.
func readToolSuperblock(rd *tooling.Reader) (ToolSuperblock, error) {
	d, err := rd.Superblock(sbLocation, sbCsumXor)
	if err != nil {
		return ToolSuperblock{}, err
	}
	return decodeToolSuperblock(d), nil
}

// hintWidthProblem is hint_array's refusal of a hint width: any but 4 (the
// only width 0.9.0 was built for), in check_width's words when that refuses it.
func hintWidthProblem(width uint32) error {
	switch {
	case width%4 != 0 || width == 0 || width > 128:
		return fmt.Errorf("invalid hint width: %d", width)
	case width != hintSize:
		return errors.New("invalid hint width")
	}
	return nil
}

// ToolMetadata is cache metadata opened read-only as the cache tools open it
// (metadata(bm)): the superblock read (its checksum only checked), the hint
// width checked when there is a hint array.
type ToolMetadata struct {
	rd *tooling.Reader
	SB ToolSuperblock
}

// OpenTool opens the cache metadata of r, sizeBytes long.
func OpenTool(r io.ReaderAt, sizeBytes int64) (*ToolMetadata, error) {
	rd := tooling.NewReader(r, sizeBytes)
	if rd.NrBlocks == 0 {
		return nil, tooling.ErrMetadataTooSmall
	}
	sb, err := readToolSuperblock(rd)
	if err != nil {
		return nil, err
	}
	if sb.HintRoot != 0 {
		if err := hintWidthProblem(sb.PolicyHintSize); err != nil {
			return nil, err
		}
	}
	return &ToolMetadata{rd: rd, SB: sb}, nil
}
