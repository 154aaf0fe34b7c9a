package cache

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/tooling"
)

// CheckOptions are cache_check's --skip-* options (--super-block-only sets
// both SkipMappings and SkipHints).
type CheckOptions struct {
	SkipMappings, SkipHints, SkipDiscards bool
}

// CheckResult is what Check found: Clean when nothing was damaged,
// NeedsCheck the superblock's needs-check flag (when it could be read).
type CheckResult struct {
	Clean, NeedsCheck bool
}

// checkReport is cache_check's nested_output with its damage reporters.
type checkReport struct{ *tooling.Report }

func (c checkReport) damage(d Damage) error {
	c.Clean = false
	switch d.Kind {
	case MissingMappings, MissingHints:
		c.Nested(fmt.Sprintf("missing mappings %s:", runText(d.Lost)), d.Desc)
	case InvalidMapping:
		c.Nested("invalid mapping:", fmt.Sprintf("%s [cblock = %d, oblock = %d, flags = %d]", d.Desc, d.CBlock, d.OBlock, d.Flags))
	}
	return nil
}

// Check is cache_check 0.9.0's metadata_check of the cache metadata in r,
// sizeBytes long: it writes its report to report (the tool's stderr). It
// checks the superblock (its checksum, then every field), walks the mapping
// array (no origin block mapped twice, no unknown flags) and the hint array;
// the discard bitset and format 2's dirty bitset are only located, as 0.9.0
// does. An error is a failure that stops the check, the tools' exception, in
// their words (a hint width the tools cannot read).
func Check(r io.ReaderAt, sizeBytes int64, opt CheckOptions, report io.Writer) (CheckResult, error) {
	c := checkReport{tooling.NewReport(report)}
	if sizeBytes < block.BlockSize {
		c.Line("Metadata device/file too small.  Is this binary metadata?")
		return CheckResult{}, nil
	}
	rd := tooling.NewReader(r, sizeBytes)
	var sb ToolSuperblock
	ok, err := c.CheckSuperblock(rd, "cache_check", func() ([]string, error) {
		var err error
		if sb, err = readToolSuperblock(rd); err != nil {
			return nil, err
		}
		return sb.problems(rd.NrBlocks), nil
	})
	if !ok {
		return CheckResult{}, err
	}
	m := &ToolMetadata{rd: rd, SB: sb}
	if !opt.SkipMappings {
		c.Line("examining mapping array")
		c.Level++
		mc := newMappingChecker(sb.Version, c.damage)
		if err := m.walkMappings(mc.visit, c.damage); err != nil {
			return CheckResult{}, err
		}
		c.Level--
	}
	if !opt.SkipHints {
		if sb.HintRoot == 0 {
			c.Line("no hint array present")
		} else {
			c.Line("examining hint array")
			c.Level++
			if err := hintWidthProblem(sb.PolicyHintSize); err != nil {
				return CheckResult{}, err
			}
			if err := m.walkHints(func(uint64, []byte) error { return nil }, c.damage); err != nil {
				return CheckResult{}, err
			}
			c.Level--
		}
	}
	if !opt.SkipDiscards {
		if sb.DiscardRoot == 0 {
			c.Line("no discard bitset present")
		} else {
			c.Line("examining discard bitset")
		}
	}
	return CheckResult{Clean: c.Clean, NeedsCheck: sb.NeedsCheck()}, nil
}

// sbEndTool is where the tools' superblock_disk ends (after dirty_root).
const sbEndTool = sbOffDirtyRoot + 8

// ClearNeedsCheck is cache_check's clear_needs_check on the metadata in rw:
// the superblock read, then written again as the tools write one
// (write_superblock: a zeroed block holding the struct's fields) without the
// needs-check flag. As the tools' pack does, flags they do not know are
// dropped, a hint size of 4 is written as 0 with the variable-hint-size
// feature cleared, and version 1 keeps no dirty root.
func ClearNeedsCheck(rw interface {
	io.ReaderAt
	io.WriterAt
}) error {
	raw, err := tooling.NewReader(rw, block.BlockSize).Superblock(sbLocation, sbCsumXor)
	if err != nil {
		return err
	}
	sb := decodeToolSuperblock(raw)
	out := make([]byte, block.BlockSize)
	end := sbEndTool
	if sb.Version < 2 {
		end = sbOffDirtyRoot
	}
	copy(out[:end], raw[:end])
	put32 := func(off int, v uint32) { binary.LittleEndian.PutUint32(out[off:], v) }
	put32(sbOffFlags, sb.Flags&flagCleanShutdown)
	incompat := sb.IncompatFlags &^ incompatVarHints
	if sb.PolicyHintSize != hintSize {
		incompat |= incompatVarHints
		put32(sbOffPolicyHintSize, sb.PolicyHintSize)
	} else {
		put32(sbOffPolicyHintSize, 0)
	}
	put32(sbOffIncompatFlags, incompat)
	put32(0, block.Checksum(out[4:], sbCsumXor))
	if _, err := rw.WriteAt(out, sbLocation); err != nil {
		return fmt.Errorf("writing the superblock: %w", err)
	}
	return nil
}
