package metadata

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/btree"
)

// nodeKind is what a btree node found by scanning the metadata seems to belong to.
type nodeKind int

const (
	topLevelNode    nodeKind = iota // the mapping tree's top level (device -> subtree root), or unknown values
	bottomLevelNode                 // a device's mapping tree (virtual block -> data block and time)
	detailsNode                     // the device-details tree
)

// nodeSummary is what the root search learns about one block (thin_dump's node_info).
// The counters are 32 bits wide and wrap, as thin_dump's are.
type nodeSummary struct {
	valid           bool
	kind            nodeKind
	values          uint32 // entries in the subtree's leaves
	keyLow, keyHigh uint64 // first and last key of a leaf (0 for internal nodes)
	age             uint32 // highest time met: mapping times, details' creation and snapshot times
	nrMappings      uint32 // mappings in the subtree, or the details' mapped_blocks summed
}

// rootSearch classifies every metadata block as thin_dump --repair's gatherer does.
type rootSearch struct {
	rd         *rawMeta
	examined   []bool
	referenced []bool
	summaries  map[uint64]nodeSummary // the valid ones
}

// foundRoots are the roots a search picked and the time to give the superblock.
type foundRoots struct {
	details, mapping uint64
	time             uint32
}

// findRoots looks for the pool's trees among all metadata blocks, as thin_dump
// --repair does when the superblock's roots are damaged: every block that passes
// the btree checksum is summarised (with its subtree); those no other valid node
// points to become candidate roots, device-details and mapping top levels; a pair
// whose device count and mapping count agree, and whose trees both walk without
// damage, is picked.
func (rd *rawMeta) findRoots() (foundRoots, bool, error) {
	s := &rootSearch{rd: rd, examined: make([]bool, rd.nrBlocks), referenced: make([]bool, rd.nrBlocks),
		summaries: map[uint64]nodeSummary{}}
	for b := uint64(0); b < rd.nrBlocks; b++ {
		if _, err := s.summary(b); err != nil {
			return foundRoots{}, false, err
		}
	}
	var detailRoots, mappingRoots []uint64
	for b := uint64(0); b < rd.nrBlocks; b++ {
		if s.referenced[b] {
			continue
		}
		switch info, ok := s.summaries[b]; {
		case ok && info.kind == topLevelNode:
			mappingRoots = append(mappingRoots, b)
		case ok && info.kind == detailsNode:
			detailRoots = append(detailRoots, b)
		}
	}
	type pair struct{ details, mapping uint64 }
	var pairs []pair
	for _, d := range detailRoots {
		for _, m := range mappingRoots {
			di, mi := s.summaries[d], s.summaries[m]
			if di.values == mi.values && di.nrMappings == mi.nrMappings {
				pairs = append(pairs, pair{d, m})
			}
		}
	}
	// thin_dump sorts the pairs by the time counts of their device-details side,
	// which are always empty, so its comparator says "less" for every two pairs
	// and libstdc++'s insertion sort (up to 16 pairs) reverses them. Beyond 16 its
	// introsort with that comparator runs past the array and thin_dump crashes
	// (kernel metadata with a lost superblock easily has more pairs); the pairs
	// are tried in reverse order all the same.
	slices.Reverse(pairs)
	intact := map[uint64]bool{}
	check := func(root uint64, valueSize int) (bool, error) {
		ok, seen := intact[root]
		if !seen {
			var err error
			if ok, err = rd.intact(root, valueSize); err != nil {
				return false, err
			}
			intact[root] = ok
		}
		return ok, nil
	}
	for _, p := range pairs {
		dOK, err := check(p.details, detailsSize)
		if err != nil {
			return foundRoots{}, false, err
		}
		mOK, err := check(p.mapping, 8)
		if err != nil {
			return foundRoots{}, false, err
		}
		if dOK && mOK {
			t := max(s.summaries[p.details].age, s.summaries[p.mapping].age)
			return foundRoots{details: p.details, mapping: p.mapping, time: t}, true, nil
		}
	}
	return foundRoots{}, false, nil
}

// summary returns block b's summary, computing it (and its subtree's) on first use;
// a block met again while its own summary is being computed (a cycle) is invalid.
func (s *rootSearch) summary(b uint64) (nodeSummary, error) {
	if b >= s.rd.nrBlocks {
		return nodeSummary{}, nil
	}
	if s.examined[b] {
		return s.summaries[b], nil
	}
	s.examined[b] = true
	info, err := s.summarise(b)
	if err == nil && info.valid {
		s.summaries[b] = info
	}
	return info, err
}

func (s *rootSearch) summarise(b uint64) (nodeSummary, error) {
	buf, err := s.rd.read(b)
	if err != nil || block.VerifyChecksum(buf, btree.CsumSalt) != nil {
		return nodeSummary{}, err
	}
	n := btree.Node(buf)
	nr := n.NrEntries()
	// readable says whether the values can be read as valueSize bytes each. thin_dump
	// reads them at max_entries' offset whatever the header's value size, but first
	// refuses, ending the whole repair, a node whose value size is not the one it
	// expects or whose entries are more than that size allows.
	readable := func(valueSize int) (bool, error) {
		switch {
		case nr == 0:
			return true, nil
		case n.ValueSize() != valueSize:
			return false, fmt.Errorf("metadata block %d: value size mismatch: expected %d, but got %d", b, valueSize, n.ValueSize())
		case nr > int(btree.CalcMaxEntries(valueSize)):
			return false, fmt.Errorf("metadata block %d: bad nr of elements: max per block = %d, actual = %d", b, btree.CalcMaxEntries(valueSize), nr)
		}
		return btree.NodeHeaderSize+8*n.MaxEntries()+valueSize*nr <= block.BlockSize, nil
	}
	value := func(i, size int) []byte {
		off := btree.NodeHeaderSize + 8*n.MaxEntries() + size*i
		return buf[off : off+size]
	}
	info := nodeSummary{valid: true, values: uint32(nr)}
	if n.Flags()&btree.InternalNode != 0 {
		if ok, err := readable(8); !ok {
			return nodeSummary{}, err
		}
		children := make([]uint64, nr)
		for i := range children {
			children[i] = binary.LittleEndian.Uint64(value(i, 8))
		}
		return s.summariseInternal(children)
	}
	switch n.ValueSize() {
	case detailsSize:
		if ok, err := readable(detailsSize); !ok {
			return nodeSummary{}, err
		}
		info.kind = detailsNode
		info.setKeys(n)
		for i := 0; i < nr; i++ {
			d, _ := decodeDetails(value(i, detailsSize))
			info.age = max(info.age, d.CreationTime, d.SnapshottedTime)
			info.nrMappings += uint32(d.MappedBlocks)
		}
	case 8:
		if ok, err := readable(8); !ok {
			return nodeSummary{}, err
		}
		info.setKeys(n)
		topLevel := true
		for i := 0; i < nr; i++ {
			topLevel = topLevel && binary.LittleEndian.Uint64(value(i, 8)) < s.rd.nrBlocks
		}
		if !topLevel {
			info.kind = bottomLevelNode
			for i := 0; i < nr; i++ {
				_, t := unpackBlockTime(binary.LittleEndian.Uint64(value(i, 8)))
				info.age = max(info.age, t)
			}
			info.nrMappings = uint32(nr)
			break
		}
		info.kind = topLevelNode
		for i := 0; i < nr; i++ {
			child, err := s.summary(binary.LittleEndian.Uint64(value(i, 8)))
			if err != nil || !child.valid || child.kind != bottomLevelNode {
				return nodeSummary{}, err
			}
			info.age = max(info.age, child.age)
			info.nrMappings += child.nrMappings
		}
		for i := 0; i < nr; i++ {
			s.referenced[binary.LittleEndian.Uint64(value(i, 8))] = true
		}
	}
	return info, nil
}

// setKeys records a leaf's first and last key.
func (info *nodeSummary) setKeys(n btree.Node) {
	if nr := n.NrEntries(); nr > 0 {
		info.keyLow, info.keyHigh = n.Key(0), n.Key(nr-1)
	}
}

// summariseInternal summarises an internal node from its children: all of one kind,
// each child's first key above the previous child's last key (a check skipped while
// that last key is 0, and internal children have 0 for both).
func (s *rootSearch) summariseInternal(children []uint64) (nodeSummary, error) {
	info := nodeSummary{valid: true}
	var keyLow uint64
	var values uint32
	for i, c := range children {
		child, err := s.summary(c)
		if err != nil || !child.valid {
			return nodeSummary{}, err
		}
		if i == 0 {
			info.kind = child.kind
		} else if info.kind != child.kind {
			return nodeSummary{}, nil
		}
		if keyLow != 0 && child.keyLow <= keyLow {
			return nodeSummary{}, nil
		}
		keyLow = child.keyHigh
		values += child.values
		info.age = max(info.age, child.age)
		info.nrMappings += child.nrMappings
	}
	info.values = values
	for _, c := range children {
		s.referenced[c] = true
	}
	return info, nil
}
