package era

import (
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/spacemap"
	"github.com/gdmsetup/gdmsetup/pdata/tooling"
)

// Restore is era_restore 0.9.0: it writes into dev (nrMetaBlocks 4096-byte
// blocks) the era metadata that the XML read from in (named inName in errors)
// describes, as era_dump prints it: the superblock's block size, origin blocks
// and current era, each archived writeset with its bits, each block's era. The
// metadata has no current writeset and no metadata snapshot; the uuid is not
// kept (the tools never write one). The superblock is written last, once the
// whole document is read; when anything fails after the first block was
// written, the superblock block is zeroed, as era_restore does, so that no
// reader takes the half-written metadata for metadata.
//
// Stricter than 0.9.0, which crashes or writes broken metadata on them: a bit
// outside a writeset, a bit or era past its writeset's or array's size, a
// second superblock, a document without a superblock, and numbers that are
// not plain decimal are refused.
func Restore(in io.Reader, inName string, dev block.Device, nrMetaBlocks uint64) (err error) {
	bm, err := block.NewManager(dev, metaCacheBlocks, false)
	if err != nil {
		return err
	}
	if bm.NrBlocks() < 1 {
		return errors.New("Metadata is not large enough for superblock.")
	}
	r := &restorer{md: &metadata{current: writesetRef{root: invalidRoot}}}
	r.md.bm = bm
	defer func() {
		if err != nil && r.touched {
			_, zerr := dev.WriteAt(make([]byte, block.BlockSize), sbLocation)
			err = errors.Join(err, zerr)
		}
	}()
	r.touched = true
	md := r.md
	if md.tm, md.sm, err = spacemap.CreateMetadata(bm, sbLocation, nrMetaBlocks); err != nil {
		return fmt.Errorf("space map: %w", err)
	}
	md.setupInfos()
	if md.treeRoot, err = md.tree.Empty(); err != nil {
		return fmt.Errorf("writeset tree: %w", err)
	}
	if md.eraRoot, err = md.eras.Empty(); err != nil {
		return fmt.Errorf("era array: %w", err)
	}
	if err := tooling.DecodeXML(in, inName, r.start, r.end); err != nil {
		return err
	}
	if !r.done {
		return fmt.Errorf("%s: xml missing superblock", inName)
	}
	return r.commit()
}

// restorer is the tools' restore_emitter: the XML's elements applied to md as
// they are read. in* say which element is open.
type restorer struct {
	md                       *metadata
	touched                  bool
	inSuperblock, inEraArray bool
	inWriteset, done         bool
	era                      uint32 // the open writeset's era
	ws                       writesetRef
}

func (r *restorer) start(t xml.StartElement) error {
	if t.Name.Space != "" {
		return fmt.Errorf("<%s:%s>: unknown tag type", t.Name.Space, t.Name.Local)
	}
	a := tooling.Attrs{E: t}
	md := r.md
	switch t.Name.Local {
	case "superblock":
		if r.inSuperblock || r.done {
			return errors.New("<superblock>: a second superblock")
		}
		blockSize, err1 := a.Uint("block_size", 32)
		nrBlocks, err2 := a.Uint("nr_blocks", 64)
		currentEra, err3 := a.Uint("current_era", 32)
		if _, ok := a.Get("uuid"); !ok {
			return errors.New(`<superblock>: no attribute "uuid"`)
		}
		if err := errors.Join(err1, err2, err3); err != nil {
			return err
		}
		if nrBlocks >= maxOriginBlocks {
			return fmt.Errorf("<superblock>: nr_blocks %d: more than %d origin blocks", nrBlocks, maxOriginBlocks-1)
		}
		if err := md.resize(nrBlocks); err != nil {
			return fmt.Errorf("<superblock>: %w", err)
		}
		md.blockSectors, md.currentEra = uint32(blockSize), uint32(currentEra)
		r.inSuperblock = true
	case "writeset":
		if !r.inSuperblock {
			return errors.New("<writeset>: missing superblock")
		}
		if r.inWriteset || r.inEraArray {
			return errors.New("<writeset>: attempt to begin writeset when already in one")
		}
		era, err1 := a.Uint("era", 32)
		nrBits, err2 := a.Uint("nr_bits", 32)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		root, err := md.bits.Empty()
		if err == nil {
			root, err = md.bits.Resize(root, 0, nrBits, false)
		}
		if err != nil {
			return fmt.Errorf("<writeset era=%q>: %w", strconv.FormatUint(era, 10), err)
		}
		r.era, r.ws, r.inWriteset = uint32(era), writesetRef{nrBits: uint32(nrBits), root: root}, true
	case "bit":
		return r.bit(a)
	case "era_array":
		if !r.inSuperblock {
			return errors.New("<era_array>: missing superblock")
		}
		if r.inWriteset || r.inEraArray {
			return errors.New("<era_array>: inside a writeset or era array")
		}
		r.inEraArray = true
	case "era":
		if !r.inEraArray {
			return errors.New("<era>: missing era array")
		}
		blk, err1 := a.Uint("block", 64)
		era, err2 := a.Uint("era", 32)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		if blk >= uint64(md.nrBlocks) {
			return fmt.Errorf("<era block=\"%d\">: past the %d origin blocks", blk, md.nrBlocks)
		}
		var v [4]byte
		binary.LittleEndian.PutUint32(v[:], uint32(era))
		root, err := md.eras.Set(md.eraRoot, blk, v[:])
		if err != nil {
			return fmt.Errorf("<era block=\"%d\">: %w", blk, err)
		}
		md.eraRoot = root
	default:
		return fmt.Errorf("<%s>: unknown tag type", t.Name.Local)
	}
	return nil
}

// bit is a <bit block= value=/> of the open writeset.
func (r *restorer) bit(a tooling.Attrs) error {
	if !r.inWriteset {
		return errors.New("<bit>: outside a writeset")
	}
	index, err := a.Uint("block", 32)
	if err != nil {
		return err
	}
	v, _ := a.Get("value")
	if v != "true" && v != "false" {
		return errors.New("<bit>: invalid boolean")
	}
	if index >= uint64(r.ws.nrBits) {
		return fmt.Errorf("<bit block=\"%d\">: past the writeset's %d bits", index, r.ws.nrBits)
	}
	if v == "true" {
		r.ws.root, err = r.md.bits.SetBit(r.ws.root, index)
	} else {
		r.ws.root, err = r.md.bits.ClearBit(r.ws.root, index)
	}
	if err != nil {
		return fmt.Errorf("<bit block=\"%d\">: %w", index, err)
	}
	return nil
}

func (r *restorer) end(t xml.EndElement) error {
	md := r.md
	switch t.Name.Local {
	case "superblock":
		if !r.inSuperblock {
			return errors.New("xml missing superblock")
		}
		r.inSuperblock, r.done = false, true
	case "writeset":
		root, err := md.bits.Flush(r.ws.root)
		if err != nil {
			return fmt.Errorf("</writeset>: %w", err)
		}
		r.ws.root = root
		var v [writesetRefSize]byte
		r.ws.encode(v[:])
		if md.treeRoot, err = md.tree.Insert(md.treeRoot, []uint64{uint64(r.era)}, v[:]); err != nil {
			return fmt.Errorf("</writeset>: era %d: %w", r.era, err)
		}
		r.inWriteset = false
	case "era_array":
		r.inEraArray = false
	}
	return nil
}

// commit writes everything, the space map committed, then the superblock
// (metadata_commit's order, the superblock last).
func (r *restorer) commit() error {
	md := r.md
	if err := md.tm.PreCommit(); err != nil {
		return fmt.Errorf("committing the space map: %w", err)
	}
	sb, err := md.bm.WriteLockZero(sbLocation, sbValidator)
	if err != nil {
		return fmt.Errorf("superblock: %w", err)
	}
	md.prepareSuperblock(sb.Data())
	return md.tm.Commit(sb)
}
