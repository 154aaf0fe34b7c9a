package era

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/gdmsetup/gdmsetup/pdata/array"
	"github.com/gdmsetup/gdmsetup/pdata/btree"
	"github.com/gdmsetup/gdmsetup/pdata/tooling"
)

// errInvalidateDamage is era_invalidate's refusal of a damaged writeset tree.
var errInvalidateDamage = errors.New("metadata contains errors (run era_check for details).")

// errNoSnapshot is era_invalidate --metadata-snapshot's refusal when no metadata
// snapshot is held.
var errNoSnapshot = errors.New("no metadata snapshot taken.")

// WrittenSince writes era_invalidate's XML of the origin blocks written in era
// since or later to w: those whose era in the era array is at least since, and
// those marked in an archived writeset of such an era; runs of consecutive
// blocks as ranges. The current era's writeset (not archived yet) is not read:
// take a metadata snapshot first, which archives it. With snapshot, a metadata
// snapshot must be held, but, as in era_invalidate 0.9.0, the live superblock's
// trees are read all the same (thin-provisioning-tools' metadata constructor
// for a snapshot ignores its location). Nothing is written when the metadata
// cannot be read.
func (m *ToolMetadata) WrittenSince(w io.Writer, since uint32, snapshot bool) error {
	if snapshot && m.SB.MetadataSnap == 0 {
		return errNoSnapshot
	}
	written := map[uint32]bool{}
	eras := eraGetter{rd: m.rd, root: m.SB.EraArrayRoot}
	for b := uint32(0); b < m.SB.NrBlocks; b++ {
		era, err := eras.get(b)
		if err != nil {
			return err
		}
		if era >= since {
			written[b] = true
		}
	}
	v := &markedSince{since: since, blocks: written}
	err := walkWritesets(m.rd, m.SB.WritesetTreeRoot, v, func(Damage) error { return errInvalidateDamage })
	if err != nil {
		return err
	}
	blocks := make([]uint32, 0, len(written))
	for b := range written {
		blocks = append(blocks, b)
	}
	slices.Sort(blocks)
	bw := bufio.NewWriter(w)
	bw.WriteString("<blocks>\n")
	for i := 0; i < len(blocks); {
		j := i + 1
		for j < len(blocks) && blocks[j] == blocks[j-1]+1 {
			j++
		}
		if j-i == 1 {
			fmt.Fprintf(bw, "  <block block=\"%d\"/>\n", blocks[i])
		} else {
			fmt.Fprintf(bw, "  <range begin=\"%d\" end = \"%d\"/>\n", blocks[i], blocks[j-1]+1)
		}
		i = j
	}
	bw.WriteString("</blocks>\n")
	return bw.Flush()
}

// markedSince is a writesetVisitor adding to blocks the blocks marked in
// writesets of era since or later.
type markedSince struct {
	since, era uint32
	blocks     map[uint32]bool
}

func (v *markedSince) begin(era, _ uint32) error { v.era = era; return nil }
func (v *markedSince) end() error                { return nil }

func (v *markedSince) bit(index uint32, set bool) error {
	if set && v.era >= v.since {
		v.blocks[index] = true
	}
	return nil
}

// eraGetter is era_array::get as the tools run it, one lookup per entry: the
// array block found through the tree, then its entry; the last array block read
// is kept.
type eraGetter struct {
	rd      *tooling.Reader
	root    uint64
	cached  array.Block
	cachedI uint64
}

var erasPerBlock = uint32(array.CalcMaxEntries(4))

func (g *eraGetter) get(blk uint32) (uint32, error) {
	i := uint64(blk / erasPerBlock)
	if g.cached == nil || g.cachedI != i {
		b, err := g.lookup(i)
		if err != nil {
			return 0, err
		}
		if g.cached, err = g.rd.ArrayBlock(b); err != nil {
			return 0, err
		}
		g.cachedI = i
	}
	v, err := tooling.ArrayElement(g.cached, blk%erasPerBlock, 4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(v), nil
}

// lookup finds the block of array block i in the array's tree.
func (g *eraGetter) lookup(i uint64) (uint64, error) {
	b := g.root
	for depth := 0; depth < 64; depth++ {
		n, err := g.rd.Node(b)
		if err != nil {
			return 0, err
		}
		nr := n.NrEntries()
		if nr > n.MaxEntries() || btree.NodeHeaderSize+(8+n.ValueSize())*n.MaxEntries() > len(n) || n.ValueSize() != 8 {
			break
		}
		k := -1
		for j := 0; j < nr && n.Key(j) <= i; j++ {
			k = j
		}
		if k < 0 {
			break
		}
		if n.IsLeaf() {
			if n.Key(k) != i {
				break
			}
			return n.Value64(k), nil
		}
		b = n.Value64(k)
	}
	return 0, fmt.Errorf("lookup of array block %d failed", i)
}
