package metadata

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gdmsetup/gdmsetup/pdata/btree"
	"github.com/gdmsetup/gdmsetup/pdata/spacemap"
)

// maxCheckProblems bounds how many problems Check lists individually.
const maxCheckProblems = 100

// checker walks every structure of the metadata and recomputes reference counts.
type checker struct {
	r          io.ReaderAt
	opt        CheckOptions
	metaRefs   []uint32 // expected count of every metadata block
	dataRefs   []uint32 // expected count of every data block (nil: data map unreadable)
	nrData     uint64
	problems   []error
	nrProblems int
	nrFatal    int
	leaks      []*Leak
	warnings   []error
}

// report records a problem: fatal unless it is a *Leak.
func (c *checker) report(err error) {
	c.nrProblems++
	if l, ok := err.(*Leak); ok {
		c.leaks = append(c.leaks, l)
	} else {
		c.nrFatal++
	}
	if len(c.problems) < maxCheckProblems {
		c.problems = append(c.problems, err)
	}
}

// refMeta counts one reference to a metadata block and reports whether it was the first.
func (c *checker) refMeta(nr uint64) bool {
	if nr >= uint64(len(c.metaRefs)) {
		c.report(&BlockError{Block: nr, What: "metadata block", Msg: fmt.Sprintf("referenced but beyond the metadata space map (%d blocks)", len(c.metaRefs))})
		return false
	}
	c.metaRefs[nr]++
	return c.metaRefs[nr] == 1
}

// refTree walks a levels-deep tree, counting each node once per distinct parent
// (shared nodes are descended once), checking the kernel's fill rule and the leaf
// value size, and calling leaf for each last-level leaf the first time it is seen.
func (c *checker) refTree(root uint64, levels, valueSize int, label string, leaf func(info btree.NodeInfo, n btree.Node)) {
	err := btree.WalkNodes(c.r, root, levels, func(info btree.NodeInfo, n btree.Node) (bool, error) {
		if !c.refMeta(info.Blocknr) {
			return false, nil
		}
		if !c.opt.IgnoreNonFatal && info.Depth > 0 && n.NrEntries() < n.MaxEntries()/3 {
			c.report(&BlockError{Block: info.Blocknr, What: label, Msg: fmt.Sprintf("nr_entries %d < max_entries/3 (%d)", n.NrEntries(), n.MaxEntries()/3)})
		}
		if n.IsLeaf() && info.Level == levels-1 {
			if n.ValueSize() != valueSize {
				return false, &BlockError{Block: info.Blocknr, What: label, Msg: fmt.Sprintf("value_size %d, expected %d", n.ValueSize(), valueSize)}
			}
			leaf(info, n)
		}
		return true, nil
	})
	if err != nil {
		c.report(fmt.Errorf("%s: %w", label, err))
	}
}

// leafValues calls fn for every entry of a single-level tree whose leaves hold
// valueSize-byte values (shared nodes included).
func (c *checker) leafValues(root uint64, valueSize int, label string, fn func(key uint64, value []byte)) bool {
	err := btree.WalkNodes(c.r, root, 1, func(info btree.NodeInfo, n btree.Node) (bool, error) {
		if n.IsLeaf() {
			if n.ValueSize() != valueSize {
				return false, &BlockError{Block: info.Blocknr, What: label, Msg: fmt.Sprintf("value_size %d, expected %d", n.ValueSize(), valueSize)}
			}
			for i := 0; i < n.NrEntries(); i++ {
				fn(n.Key(i), n.Value(i))
			}
		}
		return true, nil
	})
	if err != nil {
		c.report(fmt.Errorf("%s: %w", label, err))
		return false
	}
	return true
}

// checkPoolTrees checks the details and mapping trees of one superblock (live or held).
func (c *checker) checkPoolTrees(sb *superblock, label string, mappedMemo map[uint64]uint64) {
	c.refTree(sb.DeviceDetailsRoot, 1, detailsSize, label+" device details tree", func(btree.NodeInfo, btree.Node) {})
	c.refTree(sb.DataMappingRoot, 2, 8, label+" mapping tree", func(info btree.NodeInfo, n btree.Node) {
		for i := 0; i < n.NrEntries(); i++ {
			b, _ := unpackBlockTime(binary.LittleEndian.Uint64(n.Value(i)))
			switch {
			case b >= c.nrData:
				c.report(&BlockError{Block: info.Blocknr, What: fmt.Sprintf("%s mapping tree of device %d", label, info.Path[0]),
					Msg: fmt.Sprintf("block %d maps to data block %d beyond the data device (%d blocks)", n.Key(i), b, c.nrData)})
			case c.dataRefs != nil:
				c.dataRefs[b]++
			}
		}
	})
	details := map[uint64]*deviceDetails{}
	if !c.leafValues(sb.DeviceDetailsRoot, detailsSize, label+" device details tree", func(k uint64, v []byte) { details[k], _ = decodeDetails(v) }) {
		return
	}
	roots := map[uint64]uint64{}
	if !c.leafValues(sb.DataMappingRoot, 8, label+" mapping tree", func(k uint64, v []byte) { roots[k] = binary.LittleEndian.Uint64(v) }) {
		return
	}
	for id, d := range details {
		root, ok := roots[id]
		if !ok {
			c.report(fmt.Errorf("%s: device %d is in the details tree but not in the mapping tree", label, id))
			continue
		}
		n, ok := mappedMemo[root]
		if !ok {
			if !c.leafValues(root, 8, fmt.Sprintf("%s mapping tree of device %d", label, id), func(uint64, []byte) { n++ }) {
				continue
			}
			mappedMemo[root] = n
		}
		if n != d.MappedBlocks {
			c.report(fmt.Errorf("%s: device %d has %d mappings, details say mapped_blocks=%d", label, id, n, d.MappedBlocks))
		}
	}
	for id := range roots {
		if _, ok := details[id]; !ok {
			c.report(fmt.Errorf("%s: device %d is in the mapping tree but not in the details tree", label, id))
		}
	}
}

// readCounts reads a space map's on-disk counts and adds the map's own blocks to the
// expected metadata counts; nil (after reporting) when it is unreadable.
func (c *checker) readCounts(root spacemap.Root, name string, metadata bool) []uint32 {
	counts, err := spacemap.ReadCounts(c.r, root, metadata)
	if err != nil {
		c.report(err)
		return nil
	}
	if counts.Allocated != root.NrAllocated {
		// thin_restore 0.9 writes a metadata nr_allocated one above its bitmaps;
		// thin_check ignores the field, so this is a warning.
		c.warnings = append(c.warnings, fmt.Errorf("%s space map: root says %d blocks allocated, bitmaps hold %d", name, root.NrAllocated, counts.Allocated))
	}
	for _, b := range counts.Blocks {
		c.refMeta(b)
	}
	return counts.Counts
}

// compare reports every block whose on-disk count differs from the expected one.
func (c *checker) compare(name string, onDisk, expected []uint32) {
	for b, want := range expected {
		got := onDisk[b]
		if got == want {
			continue
		}
		if got > want {
			c.report(&Leak{Space: name, Block: uint64(b), OnDisk: got, Expected: want})
		} else {
			c.report(fmt.Errorf("%s block %d: reference count %d in the %s space map, expected %d", name, b, got, name, want))
		}
	}
}

// CheckOptions narrow what CheckWith examines, as thin_check's options do.
type CheckOptions struct {
	// MetadataSnap checks the held metadata snapshot instead of the live trees, and
	// not the space maps (-m); no snapshot held is a problem.
	MetadataSnap bool
	// SuperblockOnly checks the (live or snapshot) superblock alone
	// (--super-block-only).
	SuperblockOnly bool
	// SkipMappings checks the device details tree and the top level of the mapping
	// tree, not the devices' mappings nor the space maps (--skip-mappings).
	SkipMappings bool
	// IgnoreNonFatal skips the btree fill rule (a node below a third full), as
	// thin_check --ignore-non-fatal-errors does; leaks stay problems, which
	// CheckResult.Fatal does not count.
	IgnoreNonFatal bool
	// OverrideMappingRoot checks the mapping tree at MappingRoot instead of the
	// superblock's (--override-mapping-root).
	OverrideMappingRoot bool
	MappingRoot         uint64
}

// full reports whether o checks everything: what fixing leaks needs.
func (o CheckOptions) full() bool {
	return o == CheckOptions{} || o == CheckOptions{IgnoreNonFatal: true}
}

// CheckResult is what CheckWith found.
type CheckResult struct {
	// Problems lists what is wrong, at most maxCheckProblems of them and then a
	// count of the rest; none means clean.
	Problems []error
	// Warnings are oddities thin_check accepts too (a space-map root's
	// nr_allocated that disagrees with its bitmaps).
	Warnings []error
	// Fatal is set when a problem is not a leak: thin_check fails on it even with
	// --ignore-non-fatal-errors.
	Fatal bool
	// Leaks is every leaked block (uncapped).
	Leaks []*Leak
	// full is set when the check examined everything (see FixLeaks).
	full bool
}

// Check reads the metadata on r and returns every problem found (none: clean): the
// superblock, every btree node (checksum, location, layout, key order and ranges,
// fill, cycles), device details against mappings, the held metadata snapshot, and
// both space maps' reference counts. Problems name the block they were found in.
// Warnings are oddities thin_check accepts too (a space-map root's nr_allocated
// that disagrees with its bitmaps).
func Check(r io.ReaderAt) (problems, warnings []error) {
	res := CheckWith(r, CheckOptions{})
	return res.Problems, res.Warnings
}

// CheckWith is Check as opt says.
func CheckWith(r io.ReaderAt, opt CheckOptions) *CheckResult {
	c := &checker{r: r, opt: opt}
	_, sb, err := readSuperblock(r, superblockLocation, "superblock")
	if err != nil {
		c.report(err)
		return c.result()
	}
	if sb.MetadataSM.NrBlocks > maxMetadataBlocks {
		c.report(&BlockError{Block: 0, What: "superblock", Msg: fmt.Sprintf("implausible metadata space map size (%d blocks)", sb.MetadataSM.NrBlocks)})
		return c.result()
	}
	c.metaRefs = make([]uint32, sb.MetadataSM.NrBlocks)
	c.refMeta(superblockLocation)
	c.nrData = sb.DataSM.NrBlocks
	label := "live"
	if opt.MetadataSnap {
		if sb.HeldRoot == 0 {
			c.report(errors.New("no metadata snapshot found (superblock held_root is 0)"))
			return c.result()
		}
		if sb = c.heldSuperblock(sb.HeldRoot); sb == nil {
			return c.result()
		}
		label = "metadata snapshot"
	}
	if opt.OverrideMappingRoot {
		sb.DataMappingRoot = opt.MappingRoot
	}
	switch {
	case opt.SuperblockOnly:
		return c.result()
	case opt.SkipMappings:
		c.refTree(sb.DeviceDetailsRoot, 1, detailsSize, label+" device details tree", func(btree.NodeInfo, btree.Node) {})
		c.refTree(sb.DataMappingRoot, 1, 8, label+" mapping tree (top level)", func(btree.NodeInfo, btree.Node) {})
		return c.result()
	case opt.MetadataSnap:
		c.checkPoolTrees(sb, label, map[uint64]uint64{})
		return c.result()
	}
	metaCounts := c.readCounts(sb.MetadataSM, "metadata", true)
	dataCounts := c.readCounts(sb.DataSM, "data", false)
	if dataCounts != nil {
		c.dataRefs = make([]uint32, len(dataCounts))
	}
	memo := map[uint64]uint64{}
	c.checkPoolTrees(sb, "live", memo)
	if sb.HeldRoot != 0 {
		if hsb := c.heldSuperblock(sb.HeldRoot); hsb != nil {
			c.checkPoolTrees(hsb, "metadata snapshot", memo)
		}
	}
	// Damaged trees leave their descendants unreferenced: comparing counts would
	// only list those as leaks.
	if c.nrProblems == 0 && metaCounts != nil && dataCounts != nil {
		c.compare("metadata", metaCounts, c.metaRefs)
		c.compare("data", dataCounts, c.dataRefs)
	}
	return c.result()
}

// heldSuperblock counts and decodes the metadata snapshot's superblock at block nr;
// nil (after reporting) when it cannot be read or decoded, or was already counted.
func (c *checker) heldSuperblock(nr uint64) *superblock {
	if !c.refMeta(nr) {
		return nil
	}
	_, hsb, err := readSuperblock(c.r, nr, "metadata snapshot superblock")
	if err != nil {
		c.report(err)
		return nil
	}
	return hsb
}

// result is what the check found, with a count of the problems not listed.
func (c *checker) result() *CheckResult {
	if c.nrProblems > len(c.problems) {
		c.problems = append(c.problems, fmt.Errorf("... and %d more problems", c.nrProblems-len(c.problems)))
	}
	return &CheckResult{Problems: c.problems, Warnings: c.warnings, Fatal: c.nrFatal > 0, Leaks: c.leaks, full: c.opt.full()}
}
