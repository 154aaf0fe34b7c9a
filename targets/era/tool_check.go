package era

import (
	"fmt"
	"io"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/tooling"
)

// checkReport is era_check's nested_output with its damage reporter.
type checkReport struct{ *tooling.Report }

// runText is how era_check prints a lost run: "[begin, end)". 0.9.0 prints an
// unknown end (damage reaching the end of a tree) by reading an empty
// boost::optional; we print it as the run's open end.
func runText(r tooling.KeyRun) string {
	if !r.HasEnd {
		return fmt.Sprintf("[%d, -)", r.Begin)
	}
	return fmt.Sprintf("[%d, %d)", r.Begin, r.End)
}

func (c checkReport) damage(d Damage) error {
	c.Clean = false
	switch d.Kind {
	case MissingWritesets:
		c.Nested("missing eras from writeset tree", d.Desc, "Effected eras: "+runText(d.Lost))
	case DamagedWriteset:
		c.Nested("damaged writeset", d.Desc, fmt.Sprintf("Era: %d", d.Era), "Missing bits: "+runText(d.Lost))
	case MissingEras:
		c.Nested("missing eras from era array", d.Desc, "Effected eras: "+runText(d.Lost))
	case InvalidEra:
		c.Nested("invalid era in era array", d.Desc, fmt.Sprintf("block: %d, era: %d", d.Blk, d.Era))
	}
	return nil
}

// superblockProblems is check_superblock's findings on a superblock that
// could be read, in its words and order.
func superblockProblems(sb Superblock, nrMetaBlocks uint64) []string {
	var p []string
	if sb.Blocknr >= nrMetaBlocks {
		p = append(p, fmt.Sprintf("blocknr out of bounds: %d >= %d", sb.Blocknr, nrMetaBlocks))
	}
	if sb.Magic != sbMagic {
		p = append(p, fmt.Sprintf("magic is incorrect: %d", sb.Magic))
	}
	if sb.Version >= sbVersion+1 || sb.Version < sbVersion {
		p = append(p, fmt.Sprintf("version incorrect: %d", sb.Version))
	}
	if sb.MetaBlockSectors != block.SectorsPerBlock {
		p = append(p, fmt.Sprintf("metadata block size incorrect: %d", sb.MetaBlockSectors))
	}
	if sb.WritesetTreeRoot == sbLocation {
		p = append(p, "writeset tree root points back to the superblock")
	}
	if sb.EraArrayRoot == sbLocation {
		p = append(p, "era array root points back to the superblock")
	}
	if sb.WritesetTreeRoot == sb.EraArrayRoot {
		p = append(p, fmt.Sprintf("writeset tree root and era array both point to the same block: %d", sb.EraArrayRoot))
	}
	return p
}

// Check is era_check 0.9.0's metadata_check of the era metadata in r, sizeBytes
// long: it writes its report to report (the tool's stderr) and returns whether
// the metadata is clean. It walks the superblock (its checksum, then every
// field), the writeset tree with each archived writeset, and the era array (no
// era may be past the current one). An error is a failure to read that stops
// the check, the tools' exception, in their words.
func Check(r io.ReaderAt, sizeBytes int64, report io.Writer) (clean bool, err error) {
	c := checkReport{tooling.NewReport(report)}
	if sizeBytes < block.BlockSize {
		c.Line("Metadata device/file too small.  Is this binary metadata?")
		return false, nil
	}
	rd := tooling.NewReader(r, sizeBytes)
	var sb Superblock
	ok, err := c.CheckSuperblock(rd, "era_check", func() ([]string, error) {
		var err error
		if sb, err = superblockAt(rd, sbLocation); err != nil {
			return nil, err
		}
		return superblockProblems(sb, rd.NrBlocks), nil
	})
	if !ok {
		return false, err
	}
	if err := walkWritesets(rd, sb.WritesetTreeRoot, noWritesets{}, c.damage); err != nil {
		return false, err
	}
	err = walkEras(rd, sb.EraArrayRoot, sb.NrBlocks, func(blk, era uint32) error {
		if era > sb.CurrentEra {
			return c.damage(Damage{Kind: InvalidEra, Desc: "era too great", Blk: uint64(blk), Era: era})
		}
		return nil
	}, c.damage)
	if err != nil {
		return false, err
	}
	return c.Clean, nil
}

// noWritesets is a writesetVisitor that looks at nothing (the check walks
// the writesets for their damage only).
type noWritesets struct{}

func (noWritesets) begin(uint32, uint32) error { return nil }
func (noWritesets) bit(uint32, bool) error     { return nil }
func (noWritesets) end() error                 { return nil }
