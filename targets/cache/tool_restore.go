package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/gdmsetup/gdmsetup/pdata/block"
)

// RestoreOptions are cache_restore's: the metadata format (1 or 2), whether
// the superblock is marked shut down cleanly (not with
// --omit-clean-shutdown), and --debug-override-metadata-version's version
// written over the superblock's once done (0: none).
type RestoreOptions struct {
	Version         uint32
	OmitClean       bool
	OverrideVersion uint32
}

// Restore is cache_restore 0.9.0: it writes into dev the cache metadata that
// the XML read from in (named inName in errors) describes, as cache_dump
// prints it, with the target's own metadata code (format, resize, mappings,
// dirty bits, hints, commit), so that the kernel and the tools read it. As
// 0.9.0 writes it: the uuid is not kept, the policy version is 0.0.0, every
// cache block of format 2 without a mapping is dirty, cache blocks without a
// hint get hint 0, and the discard bitset is empty (a <discard> is refused,
// as 0.9.0 refuses it). When anything fails after the first block was
// written, the superblock block is zeroed so that no reader takes the
// half-written metadata for metadata.
//
// Stricter than 0.9.0, which crashes or writes broken metadata on them: a
// document without a superblock or with two, a hint width of 0, a hint
// shorter than its width, more than 2^32-1 cache blocks, an origin block
// past 2^48-1 and a mapping outside its section are refused.
func Restore(in io.Reader, inName string, dev block.Device, opt RestoreOptions) (err error) {
	r, err := newRestorer(dev, opt.Version, !opt.OmitClean)
	if err != nil {
		return err
	}
	defer r.zeroOnFailure(dev, &err)
	if err := parseXML(in, inName, r); err != nil {
		return err
	}
	if !r.done {
		return fmt.Errorf("%s: xml missing superblock", inName)
	}
	if opt.OverrideVersion != 0 {
		return r.overrideVersion(opt.OverrideVersion)
	}
	return nil
}

// Repair is cache_repair 0.9.0: what Dump with repair reads from src written
// into dev as Restore writes it. As 0.9.0 does, the result is format 1
// whatever src's format, shut down cleanly, and the dirty flags are those
// Dump prints: format 2's dirty bits are lost (every block clean).
func Repair(src *ToolMetadata, dev block.Device) (err error) {
	r, err := newRestorer(dev, 1, true)
	if err != nil {
		return err
	}
	defer r.zeroOnFailure(dev, &err)
	if err := src.emit(r, true); err != nil {
		return err
	}
	return r.err
}

// restorer is the tools' restore_emitter over the target's metadata code:
// the XML's elements applied to md as they come; dirty bits (format 2) and
// hints gathered in core and written at the superblock's end.
type restorer struct {
	md      *metadata
	version uint32
	clean   bool
	touched bool
	err     error // the first error: kept, since a dump's walk takes errors for damage

	begun, done bool
	section     string   // the open section
	dirty       []uint64 // format 2: one bit per cache block
	hints       []uint32
}

func newRestorer(dev block.Device, version uint32, clean bool) (*restorer, error) {
	if version < minVersion || version > maxVersion {
		return nil, fmt.Errorf("metadata version %d: not 1 or 2", version)
	}
	bm, err := block.NewManager(dev, metaCacheBlocks, false)
	if err != nil {
		return nil, err
	}
	if bm.NrBlocks() < 1 {
		return nil, errors.New("Metadata is not large enough for superblock.")
	}
	return &restorer{md: &metadata{bm: bm}, version: version, clean: clean}, nil
}

// zeroOnFailure zeroes the superblock block when *err is set and something
// was written (the tools' zero_superblock).
func (r *restorer) zeroOnFailure(dev block.Device, err *error) {
	if *err != nil && r.touched {
		_, zerr := dev.WriteAt(make([]byte, block.BlockSize), sbLocation)
		*err = errors.Join(*err, zerr)
	}
}

// fail records err as the first error and returns it.
func (r *restorer) fail(err error) error {
	if r.err == nil {
		r.err = err
	}
	return err
}

func (r *restorer) beginSuperblock(_ string, blockSectors, nrCacheBlocks uint64, policy string, hintWidth uint64) error {
	switch {
	case r.begun:
		return r.fail(errors.New("<superblock>: a second superblock"))
	case hintWidth > math.MaxUint32:
		return r.fail(fmt.Errorf("invalid hint width: %d", hintWidth))
	case blockSectors > math.MaxUint32 || blockSectors == 0:
		return r.fail(fmt.Errorf("<superblock block_size=\"%d\">: not a block size", blockSectors))
	case nrCacheBlocks > math.MaxUint32:
		return r.fail(fmt.Errorf("<superblock nr_cache_blocks=\"%d\">: more than %d cache blocks", nrCacheBlocks, uint32(math.MaxUint32)))
	}
	if err := hintWidthProblem(uint32(hintWidth)); err != nil {
		return r.fail(err)
	}
	r.begun, r.touched = true, true
	md := r.md
	md.sb.version, md.sb.dataBlockSectors, md.sb.policyHintSize = r.version, uint32(blockSectors), hintSize
	if len(policy) >= policyNameSize {
		policy = policy[:policyNameSize-1]
	}
	md.sb.policyName = policy
	if err := md.format(); err != nil {
		return r.fail(fmt.Errorf("formatting: %w", err))
	}
	if err := md.resize(nrCacheBlocks, func(string, ...any) {}); err != nil {
		return r.fail(err)
	}
	r.hints = make([]uint32, nrCacheBlocks)
	if r.version >= 2 {
		r.dirty = make([]uint64, (nrCacheBlocks+63)/64)
		for i := range r.dirty {
			r.dirty[i] = math.MaxUint64
		}
	}
	return nil
}

func (r *restorer) endSuperblock() error {
	if !r.begun || r.done {
		return r.fail(errors.New("</superblock>: no superblock open"))
	}
	md := r.md
	if r.version >= 2 {
		if err := md.setDirtyBits(r.dirty); err != nil {
			return r.fail(fmt.Errorf("dirty bitset: %w", err))
		}
	}
	if err := md.writeHints(policyID{name: md.sb.policyName}, func(cb uint64) uint32 { return r.hints[cb] }); err != nil {
		return r.fail(err)
	}
	if err := md.commit(r.clean); err != nil {
		return r.fail(fmt.Errorf("commit: %w", err))
	}
	r.done = true
	return nil
}

func (r *restorer) begin(section string) error {
	if !r.begun || r.done || r.section != "" {
		return r.fail(fmt.Errorf("<%s>: not directly inside a superblock", section))
	}
	r.section = section
	return nil
}

func (r *restorer) end(section string) error {
	r.section = ""
	return nil
}

// cacheBlock refuses an element of tag outside its section or past the cache.
func (r *restorer) cacheBlock(tag, section string, cblock uint64) error {
	if r.section != section {
		return r.fail(fmt.Errorf("<%s>: outside <%s>", tag, section))
	}
	if n := uint64(r.md.sb.cacheBlocks); cblock >= n {
		return r.fail(fmt.Errorf("<%s cache_block=\"%d\">: past the %d cache blocks", tag, cblock, n))
	}
	return nil
}

func (r *restorer) mapping(cblock, oblock uint64, dirty bool) error {
	if err := r.cacheBlock("mapping", "mappings", cblock); err != nil {
		return err
	}
	if oblock >= 1<<48 {
		return r.fail(fmt.Errorf("<mapping origin_block=\"%d\">: past 2^48-1", oblock))
	}
	flags := uint64(mValid)
	if r.version == 1 && dirty {
		flags |= mDirty
	}
	if r.version >= 2 {
		bit := uint64(1) << (cblock % 64)
		if dirty {
			r.dirty[cblock/64] |= bit
		} else {
			r.dirty[cblock/64] &^= bit
		}
	}
	if err := r.md.setMapping(cblock, packMapping(oblock, flags)); err != nil {
		return r.fail(err)
	}
	return nil
}

func (r *restorer) hint(cblock uint64, data []byte) error {
	if err := r.cacheBlock("hint", "hints", cblock); err != nil {
		return err
	}
	if len(data) < hintSize {
		return r.fail(fmt.Errorf("<hint cache_block=\"%d\">: %d bytes, the hint width is %d", cblock, len(data), hintSize))
	}
	r.hints[cblock] = le32(data)
	return nil
}

func (r *restorer) discard(dbegin, dend uint64) error {
	if dbegin == dend {
		return nil
	}
	return r.fail(fmt.Errorf("bitset index out of bounds (%d >= 0)", dbegin))
}

// overrideVersion is --debug-override-metadata-version: the superblock's
// version field rewritten (the metadata's structures stay as written).
func (r *restorer) overrideVersion(v uint32) error {
	bm := r.md.bm
	b, err := bm.WriteLock(sbLocation, sbValidator)
	if err != nil {
		return err
	}
	binary.LittleEndian.PutUint32(b.Data()[sbOffVersion:], v)
	bm.Unlock(b)
	return bm.Flush()
}
