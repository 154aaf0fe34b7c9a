package era

import (
	"encoding/binary"

	"github.com/gdmsetup/gdmsetup/pdata/tooling"
)

// Damage is what an era tool found wrong in the writeset tree or the era array
// (the tools' writeset_tree_detail and era_array_detail damage).
type Damage struct {
	Kind DamageKind
	Desc string         // the lower level's words
	Lost tooling.KeyRun // eras lost (MissingEras), bits lost (DamagedWriteset)
	Era  uint32         // DamagedWriteset: its era; InvalidEra: the era found
	Blk  uint64         // InvalidEra: the origin block
}

// DamageKind tells the kinds of Damage apart.
type DamageKind int

const (
	MissingWritesets DamageKind = iota // eras missing from the writeset tree
	DamagedWriteset                    // bits missing from an archived writeset
	MissingEras                        // entries missing from the era array
	InvalidEra                         // an era array entry past the current era
)

// writesetVisitor gets the archived writesets in era order: begin, each bit, end.
type writesetVisitor interface {
	begin(era, nrBits uint32) error
	bit(index uint32, set bool) error
	end() error
}

// walkWritesets is walk_writeset_tree: each archived writeset of the tree at
// root, with its bits; damage gets what is lost.
func walkWritesets(t *tooling.Reader, root uint64, v writesetVisitor, damage func(Damage) error) error {
	return t.WalkTree(root, writesetRefSize, func(key uint64, val []byte) error {
		ws := decodeWritesetRef(val)
		era := uint32(key)
		if err := v.begin(era, ws.nrBits); err != nil {
			return err
		}
		err := t.WalkBitset(ws.root, ws.nrBits, v.bit, func(lost tooling.KeyRun, _ string) error {
			return damage(Damage{Kind: DamagedWriteset, Desc: "missing bits", Era: era, Lost: lost})
		})
		if err != nil {
			return err
		}
		return v.end()
	}, func(d tooling.TreeDamage) error {
		lost := tooling.KeyRun{Begin: uint64(uint32(d.Lost.Begin)), End: uint64(uint32(d.Lost.End)), HasEnd: d.Lost.HasEnd}
		return damage(Damage{Kind: MissingWritesets, Desc: d.Desc, Lost: lost})
	})
}

// walkEras is walk_era_array: visit gets each origin block's era.
func walkEras(t *tooling.Reader, root uint64, nrBlocks uint32, visit func(blk, era uint32) error, damage func(Damage) error) error {
	return t.WalkArray(root, nrBlocks, 4, func(i uint32, v []byte) error {
		return visit(i, binary.LittleEndian.Uint32(v))
	}, func(lost tooling.KeyRun, desc string) error {
		return damage(Damage{Kind: MissingEras, Desc: desc, Lost: lost})
	})
}
