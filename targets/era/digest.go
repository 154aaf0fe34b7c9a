package era

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gdmsetup/gdmsetup/pdata/bitset"
	"github.com/gdmsetup/gdmsetup/pdata/btree"
)

// digestStep is where the digest coroutine stands (struct digest's step).
type digestStep int

const (
	stepNone       digestStep = iota // not digesting
	stepLookup                       // find the oldest archived writeset
	stepTranscribe                   // copy its marked blocks' era into the era array
	stepRemove                       // drop it from the writeset tree
)

// insertsPerStep bounds the blocks one transcribe step looks at
// (INSERTS_PER_STEP), so that a digest never holds the worker long.
const insertsPerStep = 100

// digest is struct digest: the incremental folding of archived writesets,
// oldest first, into the era array. The worker runs one step per round.
type digest struct {
	step       digestStep
	era        uint32
	nrBits     uint32
	currentBit uint32
	writeset   writesetRef
	info       *bitset.Bitset // a bitset cache of its own (d->info)
}

// start is metadata_digest_start: nothing if a digest runs already.
func (d *digest) start() {
	if d.step != stepNone {
		return
	}
	*d = digest{step: stepLookup}
}

// run runs the current step (digest.step(md, d)).
func (d *digest) run(md *metadata) error {
	switch d.step {
	case stepLookup:
		return d.lookup(md)
	case stepTranscribe:
		return d.transcribe(md)
	case stepRemove:
		return d.remove(md)
	}
	return nil
}

// lookup is metadata_digest_lookup_writeset: the oldest archived
// writeset, or the digest's end when the tree is empty (the kernel's
// lowest-key search finds no key without failing, and the lookup of what
// it found then fails quietly).
func (d *digest) lookup(md *metadata) error {
	key, err := md.tree.FindLowestKey(md.treeRoot, []uint64{0})
	if errors.Is(err, btree.ErrNotFound) {
		d.step = stepNone
		return nil
	}
	if err != nil {
		return fmt.Errorf("writeset tree: lowest era: %w", err)
	}
	d.era = uint32(key)
	var v [writesetRefSize]byte
	if err := md.tree.Lookup(md.treeRoot, []uint64{key}, v[:]); errors.Is(err, btree.ErrNotFound) {
		d.step = stepNone
		return nil
	} else if err != nil {
		return fmt.Errorf("writeset tree: era %d: %w", key, err)
	}
	d.writeset = decodeWritesetRef(v[:])
	d.info = bitset.New(md.tm)
	d.nrBits = min(d.writeset.nrBits, md.nrBlocks)
	d.currentBit = 0
	d.step = stepTranscribe
	return nil
}

// transcribe is metadata_digest_transcribe_writeset: up to insertsPerStep
// blocks; each marked one gets the writeset's era in the era array.
func (d *digest) transcribe(md *metadata) error {
	e := min(d.currentBit+insertsPerStep, d.nrBits)
	var value [4]byte
	binary.LittleEndian.PutUint32(value[:], d.era)
	b := d.currentBit
	for ; b < e; b++ {
		if d.info == nil {
			d.info = bitset.New(md.tm)
		}
		marked, _, err := d.info.TestBit(d.writeset.root, uint64(b))
		if err != nil {
			return fmt.Errorf("writeset of era %d, block %d: %w", d.era, b, err)
		}
		if !marked {
			continue
		}
		if md.eraRoot, err = md.eras.Set(md.eraRoot, uint64(b), value[:]); err != nil {
			return fmt.Errorf("era array, block %d: %w", b, err)
		}
	}
	if b == d.nrBits {
		d.step = stepRemove
	} else {
		d.currentBit = b
	}
	return nil
}

// remove is metadata_digest_remove_writeset.
func (d *digest) remove(md *metadata) error {
	root, err := md.tree.Remove(md.treeRoot, []uint64{uint64(d.era)})
	if err != nil {
		return fmt.Errorf("writeset tree: removing era %d: %w", d.era, err)
	}
	md.treeRoot = root
	d.step = stepLookup
	return nil
}
