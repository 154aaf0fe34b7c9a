package dmtest

import (
	"bytes"

	"github.com/gdmsetup/gdmsetup/pdata/array"
	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/btree"
	"github.com/gdmsetup/gdmsetup/pdata/spacemap"
	"github.com/gdmsetup/gdmsetup/targets"
)

// PdataValidators are the validators of every kind of block a
// persistent-data metadata device holds, its superblock's (sb) first, then
// btree nodes, array blocks and the space map's bitmaps and index: what
// Damage.Apply reseals a block with.
func PdataValidators(sb block.Validator) []block.Validator {
	return []block.Validator{sb, btree.Validator, array.Validator, spacemap.BitmapValidator, spacemap.IndexValidator}
}

// Damage is one fuzzed change to a metadata image: Patch written at byte
// OffBytes (modulo the block size) of the Pick'th block in use (modulo
// their count; a block is in use when it is not all zeros), and, when
// Reseal, that block's checksum made right again so that the change gets
// past it to the code reading the fields.
type Damage struct {
	Pick     uint16
	OffBytes uint16
	Patch    []byte
	Reseal   bool
}

// Apply returns a copy of img, made of blocks of blockBytes, with d done to
// it, and the number of the block it changed. Resealing prepares the block
// with the first of validators its old contents passed (none passed: it is
// left as patched).
func (d Damage) Apply(img []byte, blockBytes int, validators ...block.Validator) ([]byte, uint64) {
	out := bytes.Clone(img)
	var used []uint64
	for nr := uint64(0); nr < uint64(len(img)/blockBytes); nr++ {
		if !block.AllZero(img[nr*uint64(blockBytes) : (nr+1)*uint64(blockBytes)]) {
			used = append(used, nr)
		}
	}
	if len(used) == 0 {
		return out, 0
	}
	nr := used[int(d.Pick)%len(used)]
	blk := out[nr*uint64(blockBytes) : (nr+1)*uint64(blockBytes)]
	copy(blk[int(d.OffBytes)%blockBytes:], d.Patch)
	if d.Reseal {
		old := img[nr*uint64(blockBytes) : (nr+1)*uint64(blockBytes)]
		for _, v := range validators {
			if v.Check(old, nr) == nil {
				v.Prepare(blk, nr)
				break
			}
		}
	}
	return out, nr
}

// Exercise is what a fuzz test does with a target built over damaged
// metadata: a resume (PreResume refusing ends it there), a write and a read
// of ioBytes at sector 0, a discard, a flush, each of messages (when it is
// a targets.Messenger), the status and table lines, a suspend, then
// StopBackground and Close. Errors are the damage showing and
// are not looked at: the test is for panics, and for hangs when it runs
// Exercise under Within.
func Exercise(x targets.Target, ioBytes int, messages ...[]string) {
	live := true
	if r, ok := x.(targets.Resumer); ok {
		if live = r.PreResume() == nil; live {
			r.Resume()
		}
	}
	if live {
		p := make([]byte, ioBytes)
		for i := range p {
			p[i] = byte(i*7 + 1)
		}
		x.WriteAt(p, 0)
		x.ReadAt(p, 0)
		x.Discard(0, uint64(ioBytes)/512)
		x.Flush()
		if m, ok := x.(targets.Messenger); ok {
			for _, words := range messages {
				m.Message(words)
			}
		}
		x.Status()
		x.Table()
		if s, ok := x.(targets.Suspender); ok {
			s.PostSuspend()
		}
	}
	if b, ok := x.(targets.BackgroundStopper); ok {
		b.StopBackground()
	}
	if c, ok := x.(targets.Closer); ok {
		c.Close()
	}
}
