package cache

import (
	"cmp"
	"fmt"
	"io"
	"slices"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/tooling"
)

// Copy is one block cache_writeback writes back: cache block CBlock over
// origin block OBlock; Dirty is what the metadata says of it.
type Copy struct {
	CBlock, OBlock uint64
	Dirty          bool
}

// WritebackPlan is what cache_writeback 0.9.0 copies from m: after a clean
// shutdown the dirty mappings, else every valid mapping (the dirty bits are
// then not to be trusted), in cache block order. Unlike 0.9.0, which reads
// only format 1's dirty flags and so copies nothing of format 2 metadata shut
// down cleanly, format 2's dirty bitset is read; bits it loses count as dirty.
// damage gets the runs of the mapping array (MissingMappings) or of the dirty
// bitset (MissingDirtyBits) that cannot be read: their blocks are not copied,
// or, for lost dirty bits, copied.
func (m *ToolMetadata) WritebackPlan(damage func(Damage)) ([]Copy, error) {
	var dirtyBits map[uint64]bool // format 2: cache block → dirty
	if m.SB.Version >= 2 {
		dirtyBits = map[uint64]bool{}
		err := m.walkDirtyBits(func(cb uint64, dirty bool) { dirtyBits[cb] = dirty }, func(lost tooling.KeyRun) {
			damage(Damage{Kind: MissingDirtyBits, Desc: "missing dirty bits", Lost: lost})
		})
		if err != nil {
			return nil, err
		}
	}
	var copies []Copy
	onlyDirty := m.SB.CleanShutdown()
	err := m.walkMappings(func(cb, ob, flags uint64) error {
		if flags&mValid == 0 {
			return nil
		}
		dirty := flags&mDirty != 0
		if dirtyBits != nil {
			d, ok := dirtyBits[cb]
			dirty = d || !ok
		}
		if onlyDirty && !dirty {
			return nil
		}
		copies = append(copies, Copy{CBlock: cb, OBlock: ob, Dirty: dirty})
		return nil
	}, func(d Damage) error {
		damage(d)
		return nil
	})
	return copies, err
}

// CopyBlocks is cache_writeback's copier: each copy's cache block read from
// fast and written over its origin block on origin, blockBytes a block. It
// works in batches of at most bufferBytes, each sorted by origin block, and
// reads and writes runs of blocks adjacent on both devices at once. failed
// gets each copy that could not be read or written and why; the others were
// written (origin is not synced).
func CopyBlocks(copies []Copy, blockBytes int64, fast io.ReaderAt, origin io.WriterAt, bufferBytes int64, failed func(Copy, error)) {
	perBatch := max(int(bufferBytes/blockBytes), 1)
	buf := make([]byte, int64(min(perBatch, len(copies)))*blockBytes)
	for len(copies) > 0 {
		batch := slices.Clone(copies[:min(perBatch, len(copies))])
		copies = copies[len(batch):]
		slices.SortFunc(batch, func(a, b Copy) int { return cmp.Compare(a.OBlock, b.OBlock) })
		for len(batch) > 0 {
			n := 1
			for n < len(batch) && batch[n].CBlock == batch[0].CBlock+uint64(n) && batch[n].OBlock == batch[0].OBlock+uint64(n) {
				n++
			}
			run, p := batch[:n], buf[:int64(n)*blockBytes]
			batch = batch[n:]
			if _, err := fast.ReadAt(p, int64(run[0].CBlock)*blockBytes); err != nil {
				reportRun(run, fmt.Errorf("reading cache blocks %d-%d: %w", run[0].CBlock, run[n-1].CBlock, err), failed)
				continue
			}
			if _, err := origin.WriteAt(p, int64(run[0].OBlock)*blockBytes); err != nil {
				reportRun(run, fmt.Errorf("writing origin blocks %d-%d: %w", run[0].OBlock, run[n-1].OBlock, err), failed)
			}
		}
	}
}

func reportRun(run []Copy, err error, failed func(Copy, error)) {
	for _, c := range run {
		failed(c, err)
	}
}

// ClearDirty is cache_writeback's metadata update, done with the target's
// metadata code on dev (named name in errors): every cache block marked clean
// but those stillDirty holds, then a commit with the clean-shutdown flag set.
// (0.9.0 means to do this but crashes first, leaving the metadata as it was.)
// The metadata is opened as the kernel opens it, clean-shutdown flag cleared
// on disk until the commit: a crash in between leaves every block dirty to a
// reader.
func ClearDirty(dev block.Device, name string, stillDirty map[uint64]bool) error {
	sb, err := readToolSuperblock(tooling.NewReader(dev, block.BlockSize))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	md, err := openMetadata(toolDev{dev, name}, sb.DataBlockSectors, false, sb.Version, func(string, ...any) {})
	if err != nil {
		return err
	}
	dirty := make([]uint64, (uint64(md.sb.cacheBlocks)+63)/64)
	for cb := range stillDirty {
		if cb < uint64(md.sb.cacheBlocks) {
			dirty[cb/64] |= 1 << (cb % 64)
		}
	}
	if err := md.setDirtyBits(dirty); err != nil {
		return fmt.Errorf("%s: dirty bits: %w", name, err)
	}
	if err := md.commit(true); err != nil {
		return fmt.Errorf("%s: commit: %w", name, err)
	}
	return nil
}

// toolDev is a block.Device seen as the target's metadata device (its size
// 0 when it cannot be found: the block manager then refuses it).
type toolDev struct {
	block.Device
	name string
}

func (d toolDev) SizeBytes() int64 {
	n, _ := d.Device.SizeBytes()
	return n
}

func (d toolDev) Flush() error                    { return d.Sync() }
func (d toolDev) Discard(offBytes, _ int64) error { return nil }
func (d toolDev) Name() string                    { return d.name }
