package integrity

import (
	"encoding/binary"
	"errors"
	"hash"
	"syscall"
)

// discardFiller is DISCARD_FILLER: the byte a discarded block's tag is
// filled with; with allow_discards a tag of it passes any data.
const discardFiller = 0xf6

// checksum is integrity_sector_checksum: the internal hash of a block at
// a data sector (salted first with fix_hmac), cut or zero-padded to the
// tag size, appended to dst.
func (x *Integrity) checksum(dst []byte, sector uint64, block []byte) []byte {
	return x.checksumWith(x.hash.New(x.cfg.internalHash.key), dst, sector, block)
}

// checksumWith is checksum with a hash of the internal algorithm to reset
// and reuse.
func (x *Integrity) checksumWith(h hash.Hash, dst []byte, sector uint64, block []byte) []byte {
	h.Reset()
	h.Write(x.hmacSalt)
	var le [8]byte
	binary.LittleEndian.PutUint64(le[:], sector)
	h.Write(le[:])
	h.Write(block)
	n := len(dst)
	dst = h.Sum(dst)
	tag := int(x.geo.tagSize)
	if len(dst)-n > tag {
		return dst[:n+tag]
	}
	for len(dst)-n < tag {
		dst = append(dst, 0)
	}
	return dst
}

// checksums are the tags of the blocks of p from sector on.
func (x *Integrity) checksums(p []byte, sector uint64) []byte {
	bs := int(x.geo.blockSectors()) * 512
	h := x.hash.New(x.cfg.internalHash.key)
	tags := make([]byte, 0, len(p)/bs*int(x.geo.tagSize)+h.Size())
	for off := 0; off < len(p); off += bs {
		tags = x.checksumWith(h, tags, sector+uint64(off/512), p[off:off+bs])
	}
	return tags
}

// readTags reads the tags of n blocks of one area from a's block on.
func (x *Integrity) readTags(a area, n int) ([]byte, error) {
	b := make([]byte, n*int(x.geo.tagSize))
	if _, err := x.metaDev.ReadAt(b, x.geo.metaBytes(a)); err != nil {
		return nil, err
	}
	return b, nil
}

// writeTags is dm_integrity_rw_tag's TAG_WRITE for consecutive blocks
// of one area from a's block on.
func (x *Integrity) writeTags(a area, tags []byte) error {
	if x.tagsRMW {
		x.tagMu.Lock()
		defer x.tagMu.Unlock()
	}
	_, err := x.metaDev.WriteAt(tags, x.geo.metaBytes(a))
	return err
}

// firstMismatch is dm_integrity_rw_tag's TAG_CMP: the index of the first
// block whose stored tag is neither want's nor (with allow_discards) all
// filler, -1 when all match.
func (x *Integrity) firstMismatch(stored, want []byte) int {
	ts := int(x.geo.tagSize)
	for k := 0; k < len(want); k += ts {
		s, w := stored[k:k+ts], want[k:k+ts]
		if string(s) == string(w) {
			continue
		}
		if x.cfg.discards && allFiller(s) {
			continue
		}
		return k / ts
	}
	return -1
}

func allFiller(b []byte) bool {
	for _, c := range b {
		if c != discardFiller {
			return false
		}
	}
	return true
}

// errnoOf is the errno err carries (EIO when none).
func errnoOf(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return syscall.EIO
}

// errOrNil is e as an error, nil for 0.
func errOrNil(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}
