package spacemap

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gdmsetup/gdmsetup/pdata/btree"
	"github.com/gdmsetup/gdmsetup/pdata/transaction"
)

// ErrNoSpace is returned (wrapped) when no free block is left.
var ErrNoSpace = errors.New("no free block in space map")

// ll is the low-level state common to both space maps (the kernel's
// ll_disk): the counters, the in-core index entries (written back at
// commit: into the metadata index block, or into the disk index btree),
// and the overflow ref-count btree. It is copied by value to keep the
// previous transaction's view (see clone).
type ll struct {
	tm          *transaction.Manager
	metadata    bool // index in one index block (else in an index btree)
	nrBlocks    uint64
	nrAllocated uint64
	bitmapRoot  uint64
	refRoot     uint64
	index       []IndexEntry
	cache       *ieCache // disk: the kernel's index entry cache (nil in a clone)
	changed     bool     // metadata: index changed since commit
}

func refInfo(tm *transaction.Manager) btree.Info {
	return btree.Info{TM: tm, Levels: 1, Value: btree.ValueType{Size: 4}}
}

func indexInfo(tm *transaction.Manager) btree.Info {
	return btree.Info{TM: tm, Levels: 1, Value: btree.ValueType{Size: IndexEntrySize}}
}

// clone returns a copy whose index does not alias l's.
func (l *ll) clone() ll {
	c := *l
	c.index = append([]IndexEntry(nil), l.index...)
	c.cache = nil
	return c
}

func (l *ll) kind() string {
	if l.metadata {
		return "metadata space map"
	}
	return "data space map"
}

func (l *ll) root() Root {
	return Root{NrBlocks: l.nrBlocks, NrAllocated: l.nrAllocated, BitmapRoot: l.bitmapRoot, RefCountRoot: l.refRoot}
}

// newLL creates empty index structures and an empty ref-count tree.
func newLL(tm *transaction.Manager, metadata bool) (ll, error) {
	l := ll{tm: tm, metadata: metadata}
	if !metadata {
		l.cache = new(ieCache)
	}
	if metadata {
		blk, err := tm.NewBlock(IndexValidator)
		if err != nil {
			return l, err
		}
		l.bitmapRoot = blk.Nr()
		tm.Unlock(blk)
		l.changed = true
	} else {
		ii := indexInfo(tm)
		root, err := ii.Empty()
		if err != nil {
			return l, err
		}
		l.bitmapRoot = root
	}
	ri := refInfo(tm)
	root, err := ri.Empty()
	if err != nil {
		return l, err
	}
	l.refRoot = root
	return l, nil
}

// openLL loads the index entries of a space map root.
func openLL(tm *transaction.Manager, metadata bool, r Root) (ll, error) {
	l := ll{tm: tm, metadata: metadata, nrBlocks: r.NrBlocks, nrAllocated: r.NrAllocated,
		bitmapRoot: r.BitmapRoot, refRoot: r.RefCountRoot}
	if !metadata {
		l.cache = new(ieCache)
	}
	n := NrBitmaps(r.NrBlocks)
	if metadata {
		if n > MaxMetadataBitmaps {
			return l, fmt.Errorf("metadata space map: %d blocks need %d bitmaps, at most %d", r.NrBlocks, n, MaxMetadataBitmaps)
		}
		blk, err := tm.ReadLock(r.BitmapRoot, IndexValidator)
		if err != nil {
			return l, fmt.Errorf("metadata space map: %w", err)
		}
		idx, err := DecodeMetadataIndex(blk.Data(), int(n))
		tm.Unlock(blk)
		if err != nil {
			return l, fmt.Errorf("metadata space map index block %d: %w", r.BitmapRoot, err)
		}
		l.index = idx
		return l, nil
	}
	// The index grows with the entries the tree holds, not with nr_blocks
	// (corrupt metadata may claim any size).
	ii := indexInfo(tm)
	err := ii.Walk(r.BitmapRoot, func(keys []uint64, v []byte) error {
		switch i := keys[0]; {
		case i >= n:
			return fmt.Errorf("entry for bitmap %d beyond the %d bitmaps of nr_blocks %d", i, n, r.NrBlocks)
		case i != uint64(len(l.index)):
			return fmt.Errorf("no entry for bitmap %d", len(l.index))
		}
		l.index = append(l.index, DecodeIndexEntry(v))
		return nil
	})
	if err == nil && uint64(len(l.index)) != n {
		err = fmt.Errorf("%d bitmaps, nr_blocks %d needs %d", len(l.index), r.NrBlocks, n)
	}
	if err != nil {
		return l, fmt.Errorf("data space map index tree %d: %w", r.BitmapRoot, err)
	}
	return l, nil
}

// extend grows the map by extra blocks, allocating bitmaps as needed.
func (l *ll) extend(extra uint64) error {
	nrBlocks := l.nrBlocks + extra
	n := NrBitmaps(nrBlocks)
	if l.metadata && n > MaxMetadataBitmaps {
		return fmt.Errorf("%s: %d blocks too large (at most %d)", l.kind(), nrBlocks, uint64(MetadataMaxBlocks))
	}
	l.nrBlocks = nrBlocks
	for i := uint64(len(l.index)); i < n; i++ {
		blk, err := l.tm.NewBlock(BitmapValidator)
		if err != nil {
			return err
		}
		l.index = append(l.index, IndexEntry{Blocknr: blk.Nr(), NrFree: EntriesPerBitmap})
		l.tm.Unlock(blk)
		if err := l.saveIE(i); err != nil {
			return err
		}
	}
	return nil
}

// loadIE is ll->load_ie for index entry i: for the disk space map the
// entry takes its cache slot, writing a dirty entry it displaces into the
// index btree. The transaction manager is held.
func (l *ll) loadIE(i uint64) error {
	if l.cache == nil {
		return nil
	}
	if evicted, ok := l.cache.take(i, false); ok {
		return l.writeIE(evicted)
	}
	return nil
}

// saveIE is ll->save_ie for entry i, changed in l.index: the metadata
// space map rewrites its index block at commit; the disk space map keeps
// the entry dirty in its cache slot (see loadIE).
func (l *ll) saveIE(i uint64) error {
	if l.cache == nil {
		l.changed = true
		return nil
	}
	if evicted, ok := l.cache.take(i, true); ok {
		return l.writeIE(evicted)
	}
	return nil
}

// writeIE inserts index entry i into the disk space map's index btree.
func (l *ll) writeIE(i uint64) error {
	var buf [IndexEntrySize]byte
	l.index[i].Encode(buf[:])
	ii := indexInfo(l.tm)
	root, err := ii.Insert(l.bitmapRoot, []uint64{i}, buf[:])
	if err != nil {
		return fmt.Errorf("data space map index entry %d: %w", i, err)
	}
	l.bitmapRoot = root
	return nil
}

// lookup returns the reference count of b (the transaction manager held).
func (l *ll) lookup(b uint64) (uint32, error) {
	if b >= l.nrBlocks {
		return 0, fmt.Errorf("%s: block %d beyond %d blocks", l.kind(), b, l.nrBlocks)
	}
	if err := l.loadIE(b / EntriesPerBitmap); err != nil {
		return 0, err
	}
	data, err := l.tm.Peek(l.index[b/EntriesPerBitmap].Blocknr, BitmapValidator)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", l.kind(), err)
	}
	if v := BitmapGet(data, uint32(b%EntriesPerBitmap)); v < 3 {
		return v, nil
	}
	return l.lookupOverflow(b)
}

func (l *ll) lookupOverflow(b uint64) (uint32, error) {
	var buf [4]byte
	ri := refInfo(l.tm)
	if err := ri.Lookup(l.refRoot, []uint64{b}, buf[:]); err != nil {
		return 0, fmt.Errorf("%s: block %d overflow count (tree %d): %w", l.kind(), b, l.refRoot, err)
	}
	return binary.LittleEndian.Uint32(buf[:]), nil
}

// findFree returns the first block in [begin, end) with count 0, scanning
// bitmaps from begin and honouring nr_free / none_free_before (the
// kernel's sm_ll_find_free_block). The transaction manager is held.
func (l *ll) findFree(begin, end uint64) (uint64, error) {
	if end > l.nrBlocks {
		end = l.nrBlocks
	}
	for begin < end {
		i := begin / EntriesPerBitmap
		if err := l.loadIE(i); err != nil {
			return 0, err
		}
		ie := l.index[i]
		bitEnd := uint64(EntriesPerBitmap)
		if (i+1)*EntriesPerBitmap > end {
			bitEnd = end - i*EntriesPerBitmap
		}
		if ie.NrFree > 0 {
			start := max(uint32(begin%EntriesPerBitmap), ie.NoneFreeBefore)
			data, err := l.tm.Peek(ie.Blocknr, BitmapValidator)
			if err != nil {
				return 0, fmt.Errorf("%s: %w", l.kind(), err)
			}
			if bit, ok := BitmapFindFree(data, start, uint32(bitEnd)); ok {
				return i*EntriesPerBitmap + uint64(bit), nil
			}
		}
		begin = (i + 1) * EntriesPerBitmap
	}
	return 0, ErrNoSpace
}

// findCommonFree returns a block free both in l and in old (the previous
// transaction), searching [begin, nrBlocks).
func (l *ll) findCommonFree(old *ll, begin uint64, busy func(uint64) bool) (uint64, error) {
	for {
		b, err := l.findFree(begin, l.nrBlocks)
		if err != nil {
			return 0, err
		}
		free := true
		if b < old.nrBlocks {
			c, err := old.lookup(b)
			if err != nil {
				return 0, err
			}
			free = c == 0
		}
		if free && (busy == nil || !busy(b)) {
			return b, nil
		}
		begin = b + 1
	}
}

// mutate sets b's count to fn(old count), shadowing its bitmap and keeping
// the overflow tree and the index entry in step: counted is an inc or dec
// (sm_ll_inc, sm_ll_dec), else a count set outright (sm_ll_insert); see
// updateOverflow. It returns the change in the number of allocated blocks
// (-1, 0, 1).
func (l *ll) mutate(b uint64, fn func(old uint32) (uint32, error), counted bool) (int, error) {
	if b >= l.nrBlocks {
		return 0, fmt.Errorf("%s: block %d beyond %d blocks", l.kind(), b, l.nrBlocks)
	}
	i := b / EntriesPerBitmap
	bit := uint32(b % EntriesPerBitmap)
	if err := l.loadIE(i); err != nil {
		return 0, err
	}
	blk, _, err := l.tm.Shadow(l.index[i].Blocknr, BitmapValidator)
	if err != nil {
		return 0, fmt.Errorf("%s: block %d: %w", l.kind(), b, err)
	}
	ie := l.index[i]
	ie.Blocknr = blk.Nr()
	old := BitmapGet(blk.Data(), bit)
	if old == 3 {
		if old, err = l.lookupOverflow(b); err != nil {
			l.tm.Unlock(blk)
			return 0, err
		}
	}
	nc, err := fn(old)
	if err != nil {
		l.tm.Unlock(blk)
		return 0, fmt.Errorf("%s: block %d: %w", l.kind(), b, err)
	}
	BitmapSet(blk.Data(), bit, min(nc, 3))
	l.tm.Unlock(blk)
	l.index[i].Blocknr = ie.Blocknr

	if err := l.updateOverflow(b, old, nc, counted); err != nil {
		return 0, err
	}

	ie = l.index[i]
	delta := 0
	switch {
	case old == 0 && nc != 0:
		delta = 1
		l.nrAllocated++
		ie.NrFree--
		if ie.NoneFreeBefore == bit {
			ie.NoneFreeBefore = bit + 1
		}
	case old != 0 && nc == 0:
		delta = -1
		l.nrAllocated--
		ie.NrFree++
		ie.NoneFreeBefore = min(ie.NoneFreeBefore, bit)
	}
	l.index[i] = ie
	return delta, l.saveIE(i)
}

// updateOverflow keeps b's entry in the ref-count tree in step with its
// count going from old to nc. An inc or dec (counted) reaches an entry it
// keeps as the kernel's sm_ll_inc/sm_ll_dec do, through
// btree_get_overwrite_leaf: the path is shadowed first, then the count
// written in place or the entry removed; a count set outright uses plain
// inserts and removes, as sm_ll_insert.
func (l *ll) updateOverflow(b uint64, old, nc uint32, counted bool) error {
	if old <= 2 && nc <= 2 {
		return nil
	}
	ri := refInfo(l.tm)
	key := []uint64{b}
	var buf [4]byte
	binary.LittleEndian.PutUint32(buf[:], nc)
	var err error
	switch {
	case nc > 2 && old > 2 && counted:
		l.refRoot, err = ri.Overwrite(l.refRoot, b, buf[:])
	case nc > 2:
		l.refRoot, err = ri.Insert(l.refRoot, key, buf[:])
	default:
		if counted {
			if l.refRoot, err = ri.ShadowPath(l.refRoot, b); err != nil {
				return fmt.Errorf("%s: block %d overflow count: %w", l.kind(), b, err)
			}
		}
		l.refRoot, err = ri.Remove(l.refRoot, key)
	}
	if err != nil {
		return fmt.Errorf("%s: block %d overflow count: %w", l.kind(), b, err)
	}
	return nil
}

func incFn(old uint32) (uint32, error) {
	if old == ^uint32(0) {
		return 0, errors.New("reference count overflow")
	}
	return old + 1, nil
}

func decFn(old uint32) (uint32, error) {
	if old == 0 {
		return 0, errors.New("decrementing a free block")
	}
	return old - 1, nil
}

func (l *ll) inc(b uint64) (int, error) { return l.mutate(b, incFn, true) }
func (l *ll) dec(b uint64) (int, error) { return l.mutate(b, decFn, true) }

// commit writes the in-core index back: the metadata index block is
// shadowed and rewritten; the disk space map's dirty cached entries are
// inserted into the index btree in slot order (disk_ll_commit).
func (l *ll) commit() error {
	if l.metadata {
		if !l.changed {
			return nil
		}
		blk, _, err := l.tm.Shadow(l.bitmapRoot, IndexValidator)
		if err != nil {
			return fmt.Errorf("metadata space map index: %w", err)
		}
		// The shadow itself may have changed the index (it allocated):
		// write the index as it is now.
		EncodeMetadataIndex(blk.Data(), l.index)
		l.bitmapRoot = blk.Nr()
		l.tm.Unlock(blk)
		l.changed = false
		return nil
	}
	for _, i := range l.cache.flush() {
		if err := l.writeIE(i); err != nil {
			return err
		}
	}
	return nil
}
