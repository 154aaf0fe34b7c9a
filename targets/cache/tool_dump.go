package cache

import (
	"errors"
	"io"
)

// errDumpDamage is cache_dump's refusal of damaged metadata without --repair.
var errDumpDamage = errors.New("metadata contains errors (run cache_check for details).\nperhaps you wanted to run with --repair ?")

// Dump writes cache_dump's XML of m to w: the superblock's fields, each valid
// mapping with its dirty flag, then the hint of each valid mapping. As 0.9.0,
// a mapping's dirty attribute is its format 1 dirty flag: format 2 keeps dirty
// bits in a bitset of their own that 0.9.0 does not read, so every mapping of
// format 2 metadata is printed dirty="false"; discards are not printed. Damage
// stops it with cache_dump's error, after what it printed so far, unless
// repair, which prints what can be read.
func (m *ToolMetadata) Dump(w io.Writer, repair bool) error {
	e := newXMLEmitter(w)
	err := m.emit(e, repair)
	if ferr := e.x.Flush(); err == nil {
		err = ferr
	}
	return err
}

// emit is metadata_dump: m's contents, as Dump describes them, into e.
func (m *ToolMetadata) emit(e emitter, repair bool) error {
	sb := m.SB
	if err := e.beginSuperblock(sb.UUID, uint64(sb.DataBlockSectors), uint64(sb.CacheBlocks), sb.PolicyName, uint64(sb.PolicyHintSize)); err != nil {
		return err
	}
	damage := func(Damage) error {
		if repair {
			return nil
		}
		return errDumpDamage
	}
	valid := map[uint64]bool{}
	if err := e.begin("mappings"); err != nil {
		return err
	}
	err := m.walkMappings(func(cblock, oblock, flags uint64) error {
		if flags&mValid == 0 {
			return nil
		}
		valid[cblock] = true
		return e.mapping(cblock, oblock, flags&mDirty != 0)
	}, damage)
	if err != nil {
		return err
	}
	if err := e.end("mappings"); err != nil {
		return err
	}
	if err := e.begin("hints"); err != nil {
		return err
	}
	if sb.HintRoot != 0 {
		err := m.walkHints(func(cblock uint64, data []byte) error {
			if !valid[cblock] {
				return nil
			}
			return e.hint(cblock, data)
		}, damage)
		if err != nil {
			return err
		}
	}
	if err := e.end("hints"); err != nil {
		return err
	}
	return e.endSuperblock()
}
