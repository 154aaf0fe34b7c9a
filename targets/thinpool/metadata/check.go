package metadata

import (
	"encoding/binary"
	"fmt"
	"io"
)

// maxCheckProblems bounds how many problems Check lists individually.
const maxCheckProblems = 100

// checker walks every structure of the metadata and recomputes the reference counts.
type checker struct {
	dev        BlockDevice
	nrMeta     uint64
	nrData     uint64
	metaRefs   []uint32 // expected count of every metadata block
	dataRefs   []uint32 // expected count of every data block
	onPath     map[uint64]bool
	leafCount  map[uint64]uint64 // memo: mappings below a bottom-tree node
	problems   []error
	nrProblems int
}

func (c *checker) report(err error) {
	c.nrProblems++
	if len(c.problems) < maxCheckProblems {
		c.problems = append(c.problems, err)
	}
}

func (c *checker) bad(nr uint64, what, format string, a ...any) {
	c.report(&BlockError{Block: nr, What: what, Msg: fmt.Sprintf(format, a...)})
}

// readBlock reads and verifies one block; damage is reported and nil returned.
func (c *checker) readBlock(nr uint64, salt uint32, what string) []byte {
	if nr >= c.nrMeta {
		c.bad(nr, what, "beyond the end of the metadata (%d blocks)", c.nrMeta)
		return nil
	}
	data := make([]byte, BlockSize)
	if _, err := c.dev.ReadAt(data, int64(nr)*BlockSize); err != nil {
		c.bad(nr, what, "read: %v", err)
		return nil
	}
	if err := verifyBlock(data, nr, salt, what); err != nil {
		c.report(err)
		return nil
	}
	return data
}

// refMeta counts one reference to a metadata block and reports whether it was the first.
func (c *checker) refMeta(nr uint64) bool {
	if nr >= c.nrMeta {
		return true
	}
	c.metaRefs[nr]++
	return c.metaRefs[nr] == 1
}

// treeWalk walks a btree below nr, checking every node once; leaf(key, value) is
// called for every entry of every leaf the first time the leaf is seen. It returns
// the number of entries below nr (for shared nodes too, via the memo when memo is set).
func (c *checker) treeWalk(nr uint64, valueSize int, what string, lo, hi uint64, isRoot bool,
	memo map[uint64]uint64, leaf func(key uint64, value []byte)) uint64 {
	if c.onPath[nr] {
		c.bad(nr, what, "cycle: node is its own ancestor")
		return 0
	}
	if !c.refMeta(nr) {
		return memo[nr]
	}
	data := c.readBlock(nr, saltNode, what)
	if data == nil {
		return 0
	}
	n := node(data)
	if err := checkNode(n, nr, valueSize); err != nil {
		c.report(err)
		return 0
	}
	if !isRoot && n.nr() < n.max()/3 {
		c.bad(nr, what, "nr_entries %d < max_entries/3 (%d)", n.nr(), n.max()/3)
	}
	if n.nr() > 0 && (n.key(0) < lo || n.key(n.nr()-1) >= hi) {
		c.bad(nr, what, "keys %d..%d outside the parent's range [%d, %d)", n.key(0), n.key(n.nr()-1), lo, hi)
	}
	var total uint64
	if n.isLeaf() {
		for i := 0; i < n.nr(); i++ {
			leaf(n.key(i), n.value(i))
		}
		total = uint64(n.nr())
	} else {
		c.onPath[nr] = true
		for i := 0; i < n.nr(); i++ {
			end := hi
			if i+1 < n.nr() {
				end = n.key(i + 1)
			}
			total += c.treeWalk(n.valueU64(i), valueSize, what, n.key(i), end, false, memo, leaf)
		}
		delete(c.onPath, nr)
	}
	if memo != nil {
		memo[nr] = total
	}
	return total
}

// checkPoolTrees walks the details and mapping trees of one superblock (live or held).
func (c *checker) checkPoolTrees(sb *superblock, label string) {
	details := map[uint64]*deviceDetails{}
	c.treeWalk(sb.DeviceDetailsRoot, detailsSize, label+" device details tree", 0, ^uint64(0), true, nil,
		func(k uint64, v []byte) { details[k] = decodeDetails(v) })
	mapped := map[uint64]uint64{}
	c.treeWalk(sb.DataMappingRoot, 8, label+" mapping tree (top level)", 0, ^uint64(0), true, nil,
		func(dev uint64, v []byte) {
			root := binary.LittleEndian.Uint64(v)
			mapped[dev] = c.treeWalk(root, 8, fmt.Sprintf("%s mapping tree of device %d", label, dev), 0, ^uint64(0), true, c.leafCount,
				func(vb uint64, v []byte) {
					b, _ := unpackBlockTime(binary.LittleEndian.Uint64(v))
					if b >= c.nrData {
						c.report(fmt.Errorf("%s device %d: block %d maps to data block %d beyond the data device (%d blocks)", label, dev, vb, b, c.nrData))
						return
					}
					if b < uint64(len(c.dataRefs)) {
						c.dataRefs[b]++
					}
				})
		})
	for id, d := range details {
		n, ok := mapped[id]
		switch {
		case !ok:
			c.report(fmt.Errorf("%s: device %d is in the details tree but not in the mapping tree", label, id))
		case n != d.MappedBlocks:
			c.report(fmt.Errorf("%s: device %d has %d mappings, details say mapped_blocks=%d", label, id, n, d.MappedBlocks))
		}
	}
	for id := range mapped {
		if _, ok := details[id]; !ok {
			c.report(fmt.Errorf("%s: device %d is in the mapping tree but not in the details tree", label, id))
		}
	}
}

// loadCounts reads one space map's on-disk counts and adds its own blocks to the
// expected metadata counts. It returns nil (after reporting) when the map is unreadable.
func (c *checker) loadCounts(root smRoot, name string, metadata bool) *refCounts {
	cache := newBlockCache(c.dev, c.nrMeta, 1<<20)
	cache.readOnly = true
	t := newTxManager(cache, nil)
	d, err := loadSpaceMap(t, name, root, metadata)
	if err != nil {
		c.report(fmt.Errorf("%s space map: %w", name, err))
		return nil
	}
	if metadata {
		c.refMeta(root.BitmapRoot)
	} else {
		c.treeWalk(root.BitmapRoot, indexEntrySize, "data space map index", 0, ^uint64(0), true, nil, func(uint64, []byte) {})
	}
	for _, loc := range d.counts.bitmapLoc {
		c.refMeta(loc)
	}
	c.treeWalk(root.RefCountRoot, 4, name+" space map ref-count tree", 0, ^uint64(0), true, nil, func(uint64, []byte) {})
	return d.counts
}

// compare reports every block whose on-disk count differs from the expected one.
func (c *checker) compare(name string, onDisk *refCounts, expected []uint32) {
	for b, want := range expected {
		if got := onDisk.get(uint64(b)); got != want {
			what := "data block"
			if name == "metadata" {
				what = "metadata block"
			}
			if got == 1 && want == 0 {
				c.report(fmt.Errorf("%s %d: leaked (count 1, unreferenced)", what, b))
			} else {
				c.report(fmt.Errorf("%s %d: reference count %d in the %s space map, expected %d", what, b, got, name, want))
			}
		}
	}
}

// Check reads the metadata on dev and returns every problem found (nil: clean):
// superblock, btree nodes (checksum, location, layout, ordering, key ranges, fill),
// cycles, device details against mappings, the held metadata snapshot, and both
// space maps' reference counts. Each problem names its block where it has one.
func Check(dev BlockDevice) []error {
	c := &checker{dev: dev, onPath: map[uint64]bool{}, leafCount: map[uint64]uint64{}}
	sbData := make([]byte, BlockSize)
	if _, err := dev.ReadAt(sbData, 0); err != nil && err != io.EOF {
		return []error{fmt.Errorf("read superblock: %w", err)}
	}
	sb, err := decodeSuperblock(sbData, superblockLocation)
	if err != nil {
		return []error{err}
	}
	c.nrMeta, c.nrData = sb.MetadataSM.NrBlocks, sb.DataSM.NrBlocks
	if c.nrMeta > maxMetadataBitmaps*entriesPerBitmap {
		return []error{&BlockError{Block: 0, What: "superblock", Msg: fmt.Sprintf("implausible metadata space map size (%d blocks)", c.nrMeta)}}
	}
	c.metaRefs = make([]uint32, c.nrMeta)
	c.refMeta(superblockLocation)
	metaCounts := c.loadCounts(sb.MetadataSM, "metadata", true)
	dataCounts := c.loadCounts(sb.DataSM, "data", false)
	if dataCounts != nil || c.nrData <= 1<<24 {
		c.dataRefs = make([]uint32, c.nrData)
	}
	c.checkPoolTrees(sb, "live")
	if sb.HeldRoot != 0 {
		c.refMeta(sb.HeldRoot)
		if data := c.readBlock(sb.HeldRoot, saltSuperblock, "metadata snapshot superblock"); data != nil {
			if held, err := decodeSuperblock(data, sb.HeldRoot); err != nil {
				c.report(err)
			} else {
				c.checkPoolTrees(held, "metadata snapshot")
			}
		}
	}
	if metaCounts != nil {
		c.compare("metadata", metaCounts, c.metaRefs)
	}
	if dataCounts != nil {
		c.compare("data", dataCounts, c.dataRefs)
	}
	if c.nrProblems > len(c.problems) {
		c.problems = append(c.problems, fmt.Errorf("... and %d more problems", c.nrProblems-len(c.problems)))
	}
	return c.problems
}
