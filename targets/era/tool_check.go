package era

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/gdmsetup/gdmsetup/pdata/block"
)

// checkReport is era_check's nested_output: each line indented two spaces a
// level; nothing is written when quiet.
type checkReport struct {
	w     io.Writer
	level int
	clean bool
}

func (c *checkReport) line(format string, args ...any) {
	fmt.Fprintf(c.w, "%s%s\n", strings.Repeat("  ", c.level), fmt.Sprintf(format, args...))
}

// nested prints the line, then, one level deeper, the details (the tools'
// nested_output::nest).
func (c *checkReport) nested(head string, details ...string) {
	c.line("%s", head)
	c.level++
	for _, d := range details {
		c.line("%s", d)
	}
	c.level--
}

// runText is how era_check prints a lost run: "[begin, end)". 0.9.0 prints an
// unknown end (damage reaching the end of a tree) by reading an empty
// boost::optional; we print it as the run's open end.
func runText(r keyRun) string {
	if !r.HasEnd {
		return fmt.Sprintf("[%d, -)", r.Begin)
	}
	return fmt.Sprintf("[%d, %d)", r.Begin, r.End)
}

func (c *checkReport) damage(d Damage) error {
	c.clean = false
	switch d.Kind {
	case MissingWritesets:
		c.nested("missing eras from writeset tree", d.Desc, "Effected eras: "+runText(d.Lost))
	case DamagedWriteset:
		c.nested("damaged writeset", d.Desc, fmt.Sprintf("Era: %d", d.Era), "Missing bits: "+runText(d.Lost))
	case MissingEras:
		c.nested("missing eras from era array", d.Desc, "Effected eras: "+runText(d.Lost))
	case InvalidEra:
		c.nested("invalid era in era array", d.Desc, fmt.Sprintf("block: %d, era: %d", d.Blk, d.Era))
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

// looksLikeXML is check_for_xml: block 0 starts as an XML dump does.
func looksLikeXML(b []byte) bool {
	for _, p := range []string{"<superblock", "<?xml", "<!DOCTYPE"} {
		if bytes.HasPrefix(b, []byte(p)) {
			return true
		}
	}
	return false
}

// Check is era_check 0.9.0's metadata_check of the era metadata in r, sizeBytes
// long: it writes its report to report (the tool's stderr) and returns whether
// the metadata is clean. It walks the superblock (its checksum, then every
// field), the writeset tree with each archived writeset, and the era array (no
// era may be past the current one). An error is a failure to read that stops
// the check, the tools' exception, in their words.
func Check(r io.ReaderAt, sizeBytes int64, report io.Writer) (clean bool, err error) {
	c := &checkReport{w: report, clean: true}
	if sizeBytes < block.BlockSize {
		c.line("Metadata device/file too small.  Is this binary metadata?")
		return false, nil
	}
	rd := &toolReader{r: r, nrBlocks: uint64(sizeBytes) / block.BlockSize}
	c.line("examining superblock")
	c.level++
	sb, err := rd.superblock(sbLocation)
	if err != nil {
		c.nested("superblock is corrupt", err.Error())
		c.clean = false
	} else {
		for _, p := range superblockProblems(sb, rd.nrBlocks) {
			c.nested("superblock is invalid", p)
			c.clean = false
		}
	}
	c.level--
	if !c.clean {
		raw, err := rd.read(sbLocation)
		if err != nil {
			return false, err
		}
		if looksLikeXML(raw) {
			c.line("This looks like XML.  era_check only checks the binary metadata format.")
		}
		return false, nil
	}
	if err := rd.walkWritesets(sb.WritesetTreeRoot, noWritesets{}, c.damage); err != nil {
		return false, err
	}
	err = rd.walkEras(sb.EraArrayRoot, sb.NrBlocks, func(blk, era uint32) error {
		if era > sb.CurrentEra {
			return c.damage(Damage{Kind: InvalidEra, Desc: "era too great", Blk: uint64(blk), Era: era})
		}
		return nil
	}, c.damage)
	if err != nil {
		return false, err
	}
	return c.clean, nil
}

// noWritesets is a writesetVisitor that looks at nothing (the check walks
// the writesets for their damage only).
type noWritesets struct{}

func (noWritesets) begin(uint32, uint32) error { return nil }
func (noWritesets) bit(uint32, bool) error     { return nil }
func (noWritesets) end() error                 { return nil }
