package metadata

import (
	"encoding/binary"
	"fmt"
	"io"
	"sort"

	"github.com/gdmsetup/gdmsetup/pdata/btree"
	"github.com/gdmsetup/gdmsetup/pdata/transaction"
)

// RestoreXML formats dev (nrMetaBlocks blocks) and writes the pool described by
// thin_dump XML read from r (name is used in errors), one device at a time, committing
// once at the end: on any error nothing is committed (the superblock is not written).
// As thin_restore does, each device's mapped_blocks is the number of its mappings,
// whatever the XML says; a data block beyond nr_data_blocks or a virtual block mapped
// twice is an error. o replaces superblock fields of the XML, as thin_restore's
// --transaction-id, --data-block-size and --nr-data-blocks do.
func RestoreXML(r io.Reader, name string, dev BlockDevice, nrMetaBlocks uint64, o SuperblockOverrides) error {
	rs := &restorer{dev: dev, nrMetaBlocks: nrMetaBlocks, overrides: o}
	if err := parseXML(r, name, rs.visitor()); err != nil {
		return err
	}
	return rs.p.Commit()
}

// restorer builds a freshly formatted pool from the elements of a thin_dump document.
type restorer struct {
	dev          BlockDevice
	nrMetaBlocks uint64
	overrides    SuperblockOverrides // replace the XML's superblock fields
	p            *Pool               // formatted at the superblock element
	d            *XMLDevice
	nrData       uint64
	dev0         restoreDevice
	seen         map[uint64]bool
}

func (rs *restorer) visitor() xmlVisitor {
	return xmlVisitor{superblock: rs.superblock, beginDevice: rs.beginDevice, mapping: rs.mapping, endDevice: rs.endDevice}
}

func (rs *restorer) superblock(x *XMLSuperblock) error {
	rs.overrides.apply(x)
	p, err := newFormatted(rs.dev, rs.nrMetaBlocks, x.DataBlockSize, x.NrDataBlocks, Options{})
	if err != nil {
		return err
	}
	p.sb.Time, p.sb.TransactionID, p.sb.Flags = x.Time, x.Transaction, x.Flags
	rs.p, rs.nrData, rs.seen = p, x.NrDataBlocks, map[uint64]bool{}
	return nil
}

func (rs *restorer) beginDevice(x *XMLDevice) error {
	if rs.seen[x.ID] {
		return fmt.Errorf("device %d appears twice", x.ID)
	}
	rs.seen[x.ID], rs.d = true, x
	rs.dev0.reset()
	return nil
}

func (rs *restorer) mapping(m XMLMapping) error {
	d := rs.d
	if m.Data+m.Length > rs.nrData {
		return fmt.Errorf("device %d: data blocks %d..%d beyond nr_data_blocks %d", d.ID, m.Data, m.Data+m.Length-1, rs.nrData)
	}
	if m.Time > 0xFFFFFF {
		return fmt.Errorf("device %d: time %d does not fit in 24 bits", d.ID, m.Time)
	}
	for j := uint64(0); j < m.Length; j++ {
		rs.dev0.add(m.Origin+j, packBlockTime(m.Data+j, m.Time))
		if err := rs.p.dsm.Inc(m.Data + j); err != nil {
			return err
		}
	}
	return nil
}

func (rs *restorer) endDevice() error {
	d, p := rs.d, rs.p
	if err := rs.dev0.finish(d.ID); err != nil {
		return err
	}
	root, err := buildTree(p.tm, rs.dev0.keys, rs.dev0.vals, 8)
	if err != nil {
		return err
	}
	if err := p.insertTop(d.ID, root); err != nil {
		return err
	}
	p.details[d.ID] = &deviceDetails{MappedBlocks: uint64(len(rs.dev0.keys)), TransactionID: d.Transaction,
		CreationTime: d.CreationTime, SnapshottedTime: d.SnapTime, changed: true}
	return nil
}

// restoreDevice collects one device's mappings as sorted keys and packed values.
type restoreDevice struct {
	keys     []uint64
	vals     []byte
	unsorted bool
}

func (r *restoreDevice) reset() {
	r.keys, r.vals, r.unsorted = r.keys[:0], r.vals[:0], false
}

func (r *restoreDevice) add(key, value uint64) {
	if len(r.keys) > 0 && key <= r.keys[len(r.keys)-1] {
		r.unsorted = true
	}
	r.keys = append(r.keys, key)
	r.vals = binary.LittleEndian.AppendUint64(r.vals, value)
}

func (r *restoreDevice) Len() int           { return len(r.keys) }
func (r *restoreDevice) Less(i, j int) bool { return r.keys[i] < r.keys[j] }
func (r *restoreDevice) Swap(i, j int) {
	r.keys[i], r.keys[j] = r.keys[j], r.keys[i]
	vi, vj := r.vals[8*i:8*i+8], r.vals[8*j:8*j+8]
	var tmp [8]byte
	copy(tmp[:], vi)
	copy(vi, vj)
	copy(vj, tmp[:])
}

// finish sorts the mappings if the XML listed them out of order and rejects duplicates.
func (r *restoreDevice) finish(id uint64) error {
	if !r.unsorted {
		return nil
	}
	sort.Stable(r)
	for i := 1; i < len(r.keys); i++ {
		if r.keys[i] == r.keys[i-1] {
			return fmt.Errorf("device %d: origin block %d mapped twice", id, r.keys[i])
		}
	}
	return nil
}

// buildTree writes a btree holding keys (strictly increasing) and values (valueSize
// bytes each, back to back) bottom-up, every level's nodes filled evenly (so none is
// below max_entries/3), and returns its root. No references are added for the values.
func buildTree(tm *transaction.Manager, keys []uint64, values []byte, valueSize int) (uint64, error) {
	flags, size := uint32(btree.LeafNode), valueSize
	for {
		maxEntries := int(btree.CalcMaxEntries(size))
		nNodes := max(1, (len(keys)+maxEntries-1)/maxEntries)
		upKeys := make([]uint64, 0, nNodes)
		upValues := make([]byte, 0, 8*nNodes)
		start := 0
		for i := 0; i < nNodes; i++ {
			count := len(keys) / nNodes
			if i < len(keys)%nNodes {
				count++
			}
			blk, err := tm.NewBlock(btree.Validator)
			if err != nil {
				return 0, err
			}
			n := btree.Node(blk.Data())
			n.Init(flags, size)
			n.SetNrEntries(count)
			for j := 0; j < count; j++ {
				n.SetKey(j, keys[start+j])
				copy(n.Value(j), values[(start+j)*size:])
			}
			if count > 0 {
				upKeys = append(upKeys, keys[start])
			}
			upValues = binary.LittleEndian.AppendUint64(upValues, blk.Nr())
			tm.Unlock(blk)
			start += count
		}
		if nNodes == 1 {
			return binary.LittleEndian.Uint64(upValues), nil
		}
		keys, values, flags, size = upKeys, upValues, btree.InternalNode, 8
	}
}
