package cache

import (
	"encoding/binary"
	"fmt"

	"github.com/gdmsetup/gdmsetup/pdata/tooling"
)

// Damage is what a cache tool found wrong in the mapping or hint array (the
// tools' mapping_array_damage and hint_array_damage).
type Damage struct {
	Kind   DamageKind
	Desc   string         // the lower level's words, or the check's
	Lost   tooling.KeyRun // MissingMappings, MissingHints: the cache blocks lost
	CBlock uint64         // InvalidMapping: the cache block
	OBlock uint64         // InvalidMapping: its origin block
	Flags  uint64         // InvalidMapping: its flags
}

// DamageKind tells the kinds of Damage apart.
type DamageKind int

const (
	MissingMappings  DamageKind = iota // entries missing from the mapping array
	InvalidMapping                     // a mapping the check refuses
	MissingHints                       // entries missing from the hint array
	MissingDirtyBits                   // bits missing from format 2's dirty bitset (writeback only)
)

// runText is how the tools print a run (base::run's operator<<): "[b, e]",
// "-" for an end not known.
func runText(r tooling.KeyRun) string {
	if !r.HasEnd {
		return fmt.Sprintf("[%d, -]", r.Begin)
	}
	return fmt.Sprintf("[%d, %d]", r.Begin, r.End)
}

// walkMappings is walk_mapping_array: visit gets every entry of the mapping
// array (valid or not), damage the entries lost.
func (m *ToolMetadata) walkMappings(visit func(cblock uint64, oblock, flags uint64) error, damage func(Damage) error) error {
	return m.rd.WalkArray(m.SB.MappingRoot, m.SB.CacheBlocks, 8, func(i uint32, v []byte) error {
		oblock, flags := unpackMapping(v)
		return visit(uint64(i), oblock, flags)
	}, func(lost tooling.KeyRun, desc string) error {
		return damage(Damage{Kind: MissingMappings, Desc: desc, Lost: lost})
	})
}

// walkHints is hint_array::walk: visit gets every entry of the hint array.
func (m *ToolMetadata) walkHints(visit func(cblock uint64, data []byte) error, damage func(Damage) error) error {
	return m.rd.WalkArray(m.SB.HintRoot, m.SB.CacheBlocks, int(m.SB.PolicyHintSize), func(i uint32, v []byte) error {
		return visit(uint64(i), v)
	}, func(lost tooling.KeyRun, desc string) error {
		return damage(Damage{Kind: MissingHints, Desc: desc, Lost: lost})
	})
}

// walkDirtyBits walks format 2's dirty bitset: bit gets each cache block's
// bit, lost the runs of bits that cannot be read.
func (m *ToolMetadata) walkDirtyBits(bit func(cblock uint64, dirty bool), lost func(tooling.KeyRun)) error {
	return m.rd.WalkBitset(m.SB.DirtyRoot, m.SB.CacheBlocks, func(i uint32, set bool) error {
		bit(uint64(i), set)
		return nil
	}, func(r tooling.KeyRun, _ string) error {
		lost(r)
		return nil
	})
}

// mappingChecker is check_mapping_visitor: a valid mapping must not map an
// origin block mapped before, nor carry flags its format does not have.
type mappingChecker struct {
	allowed uint64
	seen    map[uint64]bool
	damage  func(Damage) error
}

func newMappingChecker(version uint32, damage func(Damage) error) *mappingChecker {
	allowed := uint64(mValid)
	if version == 1 {
		allowed |= mDirty
	}
	return &mappingChecker{allowed: allowed, seen: map[uint64]bool{}, damage: damage}
}

func (c *mappingChecker) visit(cblock, oblock, flags uint64) error {
	if flags&mValid == 0 {
		return nil
	}
	if c.seen[oblock] {
		if err := c.damage(Damage{Kind: InvalidMapping, Desc: "origin block already mapped", CBlock: cblock, OBlock: oblock, Flags: flags}); err != nil {
			return err
		}
	} else {
		c.seen[oblock] = true
	}
	if flags&^c.allowed != 0 {
		return c.damage(Damage{Kind: InvalidMapping, Desc: "unknown flags in mapping", CBlock: cblock, OBlock: oblock, Flags: flags})
	}
	return nil
}

// le32 is a hint's value as the target reads it.
func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
