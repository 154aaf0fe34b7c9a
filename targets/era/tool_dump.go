package era

import (
	"errors"
	"io"

	"github.com/gdmsetup/gdmsetup/pdata/tooling"
)

// errDumpDamage is era_dump's refusal of damaged metadata without --repair.
var errDumpDamage = errors.New("metadata contains errors (run era_check for details).\nperhaps you wanted to run with --repair ?")

// writesetXML is a writesetVisitor printing each writeset and all its bits.
type writesetXML struct{ x *tooling.XMLWriter }

func (v writesetXML) begin(era, nrBits uint32) error {
	v.x.Open(`<writeset era="%d" nr_bits="%d">`, era, nrBits)
	return nil
}

func (v writesetXML) bit(index uint32, set bool) error {
	v.x.Line(`<bit block="%d" value="%t"/>`, index, set)
	return nil
}

func (v writesetXML) end() error {
	v.x.Close("writeset")
	return nil
}

// newestEras is a writesetVisitor collecting, for each block marked in an
// archived writeset, the era to print in its stead with --logical. As 0.9.0's
// writeset_tree_collator (a std::map insert that keeps the key's first value),
// the first writeset marking a block wins: the oldest one.
type newestEras struct {
	era  uint32
	eras map[uint32]uint32
}

func (v *newestEras) begin(era, _ uint32) error { v.era = era; return nil }
func (v *newestEras) end() error                { return nil }

func (v *newestEras) bit(index uint32, set bool) error {
	if _, ok := v.eras[index]; set && !ok {
		v.eras[index] = v.era
	}
	return nil
}

// Dump writes era_dump's XML of m to w: the superblock's fields, each archived
// writeset with every bit (not with logical), then each block's era in the era
// array (with logical: raised to the era of an archived writeset marking the
// block, see newestEras). Damage stops it with era_dump's error, after what it
// printed so far, unless repair, which prints what can be read.
func (m *ToolMetadata) Dump(w io.Writer, repair, logical bool) error {
	x := tooling.NewXMLWriter(w)
	err := m.dump(x, repair, logical)
	if ferr := x.Flush(); err == nil {
		err = ferr
	}
	return err
}

func (m *ToolMetadata) dump(x *tooling.XMLWriter, repair, logical bool) error {
	sb := m.SB
	x.Open(`<superblock uuid="" block_size="%d" nr_blocks="%d" current_era="%d">`, sb.DataBlockSectors, sb.NrBlocks, sb.CurrentEra)
	damage := func(Damage) error {
		if repair {
			return nil
		}
		return errDumpDamage
	}
	raised := &newestEras{eras: map[uint32]uint32{}}
	var ws writesetVisitor = writesetXML{x}
	if logical {
		ws = raised
	}
	if err := walkWritesets(m.rd, sb.WritesetTreeRoot, ws, damage); err != nil {
		return err
	}
	x.Open("<era_array>")
	err := walkEras(m.rd, sb.EraArrayRoot, sb.NrBlocks, func(blk, era uint32) error {
		if e, ok := raised.eras[blk]; ok && e > era {
			era = e
		}
		x.Line(`<era block="%d" era="%d"/>`, blk, era)
		return nil
	}, damage)
	if err != nil {
		return err
	}
	x.Close("era_array")
	x.Close("superblock")
	return nil
}
