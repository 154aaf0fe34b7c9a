package metadata

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/btree"
)

// SuperblockOverrides are superblock fields given on the command line (thin_dump's
// and thin_repair's --transaction-id, --data-block-size, --nr-data-blocks): they
// replace what the superblock says, and a repair needs all three when the superblock
// is unreadable. Nil means not given.
type SuperblockOverrides struct {
	TransactionID *uint64
	DataBlockSize *uint32 // sectors
	NrDataBlocks  *uint64
}

// apply replaces x's fields by the overrides given.
func (o SuperblockOverrides) apply(x *XMLSuperblock) {
	if o.TransactionID != nil {
		x.Transaction = *o.TransactionID
	}
	if o.DataBlockSize != nil {
		x.DataBlockSize = *o.DataBlockSize
	}
	if o.NrDataBlocks != nil {
		x.NrDataBlocks = *o.NrDataBlocks
	}
}

// ErrOverrideNeeded is wrapped when the superblock is unreadable and a field it held
// was not given in SuperblockOverrides.
var ErrOverrideNeeded = errors.New("the following field needs to be provided on the command line due to corruption in the superblock")

// RepairDump writes to w what thin_dump --repair (thin-provisioning-tools 0.9.0)
// prints for the pool metadata on r, nrBlocks metadata blocks long: every device and
// mapping that can still be reached. See repair. Of the options only Overrides and
// HumanReadable apply: a repair reads the live trees, all of them.
func RepairDump(r io.ReaderAt, nrBlocks uint64, o DumpOptions, w io.Writer) error {
	if o.MetadataSnap || o.Devices != nil || o.SkipMappings {
		return errors.New("a repair dumps every device of the live metadata with its mappings")
	}
	x := newDumpWriter(w, o.HumanReadable)
	if err := repair(r, nrBlocks, o.Overrides, x.visitor()); err != nil {
		return err
	}
	return x.endSuperblock()
}

// RepairRestore formats dev (nrMetaBlocks blocks) with what a repair recovers from
// the metadata on r (nrBlocks blocks), as thin_repair does: the same pool thin_dump
// --repair shows, with each device's mapped_blocks counted from the mappings kept.
// Nothing is committed unless the whole repair succeeds.
func RepairRestore(r io.ReaderAt, nrBlocks uint64, o SuperblockOverrides, dev BlockDevice, nrMetaBlocks uint64) error {
	rs := &restorer{dev: dev, nrMetaBlocks: nrMetaBlocks}
	if err := repair(r, nrBlocks, o, rs.visitor()); err != nil {
		return err
	}
	return rs.p.Commit()
}

// repair sends v what can be recovered from the metadata on r, following
// thin_dump --repair step by step so that the same damage loses the same devices and
// mappings:
//   - the superblock is read with its checksum as the only check; when that fails one
//     is made from the overrides (all three required) with time 100000;
//   - when the device-details tree or the top level of the mapping tree from the
//     superblock has any damage, better roots are searched for among all metadata
//     blocks (findRoots);
//   - the trees are then walked as thin_dump walks them (damageWalk): a damaged node
//     is skipped with everything below it, and a device whose mapping tree is found
//     but whose details are not ends the walk of its top-level leaf.
func repair(r io.ReaderAt, nrBlocks uint64, o SuperblockOverrides, v xmlVisitor) error {
	// Pool metadata never lies beyond what the metadata space map can track; a larger
	// file is not read past it (thin_dump would scan all of it for roots).
	rd := &rawMeta{r: r, nrBlocks: min(nrBlocks, maxMetadataBlocks)}
	sb, err := rd.repairSuperblock(o)
	if err != nil {
		return err
	}
	intact, err := rd.intact(sb.DeviceDetailsRoot, detailsSize)
	if err == nil && intact {
		intact, err = rd.intact(sb.DataMappingRoot, 8)
	}
	if err == nil && !intact {
		err = rd.useBestRoots(sb)
	}
	if err != nil {
		return err
	}

	details := map[uint64]*XMLDevice{}
	dw := rd.damageWalk(detailsSize, func(id uint64, val []byte) error {
		d, _ := decodeDetails(val)
		details[id] = &XMLDevice{ID: id, MappedBlocks: d.MappedBlocks, Transaction: d.TransactionID,
			CreationTime: d.CreationTime, SnapTime: d.SnapshottedTime}
		return nil
	})
	if err := dw.walk(sb.DeviceDetailsRoot); err != nil {
		return err
	}

	x := &XMLSuperblock{Time: sb.Time, Transaction: sb.TransactionID, Flags: sb.Flags, Version: sb.Version,
		DataBlockSize: sb.DataBlockSize}
	if sb.Blocknr == superblockLocation {
		x.NrDataBlocks = sb.DataSM.NrBlocks
	}
	o.apply(x)
	if err := v.superblock(x); err != nil {
		return err
	}

	top := rd.damageWalk(8, func(id uint64, val []byte) error {
		d := details[id]
		if d == nil {
			return errSkipLeaf
		}
		if err := v.beginDevice(d); err != nil {
			return err
		}
		bottom := rd.damageWalk(8, func(virtBlock uint64, val []byte) error {
			b, t := unpackBlockTime(binary.LittleEndian.Uint64(val))
			return v.mapping(XMLMapping{Origin: virtBlock, Data: b, Length: 1, Time: t})
		})
		if err := bottom.walk(binary.LittleEndian.Uint64(val)); err != nil {
			return err
		}
		return v.endDevice()
	})
	return top.walk(sb.DataMappingRoot)
}

// rawMeta reads metadata blocks straight from the device, without the pool's cache
// or its checks.
type rawMeta struct {
	r        io.ReaderAt
	nrBlocks uint64
}

// read returns block b, or nil when it lies beyond the metadata device.
func (rd *rawMeta) read(b uint64) ([]byte, error) {
	if b >= rd.nrBlocks {
		return nil, nil
	}
	buf := make([]byte, block.BlockSize)
	if _, err := rd.r.ReadAt(buf, int64(b)*block.BlockSize); err != nil {
		return nil, fmt.Errorf("metadata block %d: %w", b, err)
	}
	return buf, nil
}

// repairSuperblock returns the superblock at block 0 if its checksum is right (no
// other check, as thin_dump --repair), or one built from the overrides.
func (rd *rawMeta) repairSuperblock(o SuperblockOverrides) (*superblock, error) {
	buf, err := rd.read(superblockLocation)
	if err != nil {
		return nil, err
	}
	if buf != nil && block.VerifyChecksum(buf, superblockSalt) == nil {
		sb, _ := parseSuperblock(buf) // the space-map roots are not read
		return sb, nil
	}
	switch {
	case o.TransactionID == nil:
		return nil, fmt.Errorf("%w: transaction id", ErrOverrideNeeded)
	case o.DataBlockSize == nil:
		return nil, fmt.Errorf("%w: data block size", ErrOverrideNeeded)
	case o.NrDataBlocks == nil:
		return nil, fmt.Errorf("%w: nr data blocks", ErrOverrideNeeded)
	}
	return &superblock{Time: 100000, TransactionID: *o.TransactionID, Version: superblockVersion,
		DataBlockSize: *o.DataBlockSize}, nil
}

// useBestRoots points sb at the roots findRoots picks, if it finds any.
func (rd *rawMeta) useBestRoots(sb *superblock) error {
	roots, found, err := rd.findRoots()
	if err != nil || !found {
		return err
	}
	sb.HeldRoot = 0
	sb.Time = roots.time
	sb.DeviceDetailsRoot = roots.details
	sb.DataMappingRoot = roots.mapping
	return nil
}

// intact walks the one-level tree at root as thin_dump checks a root before using
// it, and reports whether no node was damaged.
func (rd *rawMeta) intact(root uint64, valueSize int) (bool, error) {
	w := rd.damageWalk(valueSize, func(uint64, []byte) error { return nil })
	err := w.walk(root)
	return err == nil && !w.damaged, err
}

// errSkipLeaf, returned by a damageWalk's leaf function, counts as damage of the leaf
// being visited: the rest of its entries are skipped (thin_dump's walker catches the
// exception its visitor throws and carries on with the next node).
var errSkipLeaf = errors.New("skip the rest of this leaf")

// damageWalk walks a one-level btree as thin-provisioning-tools' btree_damage_visitor
// with ignore_non_fatal (thin_dump's walk), calling leaf for each entry in key order.
// A node is damaged, and skipped with its subtree, when it cannot be read, fails its
// checksum or location, has both or neither of the leaf and internal flags, the wrong
// value size, a max_entries that does not fit the block or is not a multiple of 3,
// keys out of order, a first key below its parent's key, or (a leaf) a first key not
// above the previous leaf's last key. Reading its values also fails, as thin_dump's
// do, when it has more entries than a node of its value size can hold, and for an
// internal node when it has no entries or a child lies beyond the device. A node met
// twice is walked once.
type damageWalk struct {
	rd        *rawMeta
	valueSize int
	leaf      func(key uint64, value []byte) error
	seen      map[uint64]bool
	lastKey   uint64 // last key of the previous leaf, when haveLast
	haveLast  bool
	damaged   bool // some node was damaged
}

func (rd *rawMeta) damageWalk(valueSize int, leaf func(key uint64, value []byte) error) *damageWalk {
	return &damageWalk{rd: rd, valueSize: valueSize, leaf: leaf, seen: map[uint64]bool{}}
}

// walk walks the tree at root; it fails only when reading the device or a leaf
// function fails (with anything but errSkipLeaf).
func (w *damageWalk) walk(root uint64) error {
	return w.node(root, 0, false)
}

func (w *damageWalk) node(b uint64, parentKey uint64, hasParent bool) error {
	buf, err := w.rd.read(b)
	if err != nil {
		return err
	}
	if buf == nil || block.VerifyChecksum(buf, btree.CsumSalt) != nil || block.VerifyLocation(buf, 8, b) != nil {
		w.damaged = true
		return nil
	}
	n := btree.Node(buf)
	internal, isLeaf := n.Flags()&btree.InternalNode != 0, n.Flags()&btree.LeafNode != 0
	if internal == isLeaf {
		w.damaged = true
		return nil
	}
	if w.seen[b] {
		return nil
	}
	w.seen[b] = true
	vs := w.valueSize
	if internal {
		vs = 8
	}
	nr, max := n.NrEntries(), n.MaxEntries()
	if n.ValueSize() != vs || btree.NodeHeaderSize+(8+vs)*max > block.BlockSize || max%3 != 0 ||
		btree.NodeHeaderSize+8*nr > block.BlockSize || !keysIncrease(n) ||
		hasParent && (nr == 0 || parentKey > n.Key(0)) ||
		isLeaf && nr > 0 && w.haveLast && w.lastKey >= n.Key(0) {
		w.damaged = true
		return nil
	}
	if isLeaf && nr > 0 {
		w.lastKey, w.haveLast = n.Key(nr-1), true
	}
	// thin_dump reads values at max_entries' offset and refuses to read any when
	// nr_entries exceeds what the value size allows (max_entries may be lower).
	if nr > int(btree.CalcMaxEntries(vs)) || internal && nr == 0 {
		w.damaged = true
		return nil
	}
	value := func(i int) []byte {
		off := btree.NodeHeaderSize + 8*max + vs*i
		return buf[off : off+vs]
	}
	if internal {
		for i := 0; i < nr; i++ {
			if binary.LittleEndian.Uint64(value(i)) >= w.rd.nrBlocks {
				w.damaged = true
				return nil
			}
		}
		for i := 0; i < nr; i++ {
			if err := w.node(binary.LittleEndian.Uint64(value(i)), n.Key(i), true); err != nil {
				return err
			}
		}
		return nil
	}
	for i := 0; i < nr; i++ {
		if err := w.leaf(n.Key(i), value(i)); errors.Is(err, errSkipLeaf) {
			w.damaged = true
			return nil
		} else if err != nil {
			return err
		}
	}
	return nil
}

// keysIncrease reports whether n's keys are strictly increasing.
func keysIncrease(n btree.Node) bool {
	for i := 1; i < n.NrEntries(); i++ {
		if n.Key(i) <= n.Key(i-1) {
			return false
		}
	}
	return true
}
