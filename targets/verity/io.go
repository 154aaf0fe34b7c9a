package verity

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/gdmsetup/gdmsetup/targets"
)

// The rate limits of verity's DMERR_LIMIT call sites.
var unalignedLimit, outOfRangeLimit, corruptedLimit targets.RateLimit

// ReadAt is verity_map and verity_verify_io for one read: the data
// blocks are read from the data device into p, then each is checked
// against the tree. A block of zeros' digest with ignore_zero_blocks
// reads as zeros. A block that does not match is read again and checked
// once more (verity_recheck), then handled as corrupted.
func (v *Verity) ReadAt(p []byte, sector uint64) error {
	blockSectors := uint64(1) << (v.dataBlockBits - 9)
	lenSectors := uint64(len(p)) / targets.SectorSize
	if (uint64(uint32(sector))|lenSectors)&(blockSectors-1) != 0 {
		v.ratelimited(&unalignedLimit, "verity: unaligned io")
		return fmt.Errorf("verity: read of %d sectors at sector %d is not aligned to %d-byte data blocks: %w",
			lenSectors, sector, 1<<v.dataBlockBits, syscall.EIO)
	}
	if (sector+lenSectors)>>(v.dataBlockBits-9) > v.dataBlocks {
		v.ratelimited(&outOfRangeLimit, "verity: io out of range")
		return fmt.Errorf("verity: read of %d sectors at sector %d is past data block %d: %w",
			lenSectors, sector, v.dataBlocks, syscall.EIO)
	}
	// With FEC a failed read is verified all the same (verity_end_io):
	// the blocks it did not read may be corrected.
	_, readErr := v.dataDev.ReadAt(p, int64(sector)*targets.SectorSize)
	if readErr != nil && !v.fecEnabled() {
		return readErr
	}
	blockBytes := 1 << v.dataBlockBits
	first := sector >> (v.dataBlockBits - 9)
	digests := v.digestBlocks(p, first)
	var want, got [maxDigestBytes]byte
	for i, off := 0, 0; off < len(p); i, off = i+1, off+blockBytes {
		var digest []byte
		if digests != nil {
			digest = digests[i*v.alg.Size : (i+1)*v.alg.Size]
		}
		if err := v.verifyBlock(p[off:off+blockBytes], first+uint64(i), digest, readErr, want[:0], got[:0]); err != nil {
			return asIOError(err)
		}
	}
	return nil
}

// parallelMinBlocks is the fewest data blocks a goroutine of digestBlocks takes.
const parallelMinBlocks = 16

// digestBlocks computes the digests of the data blocks in p (the first
// is block first) on as many goroutines as there are CPUs, for reads
// large enough to share; nil for the others, and for keyed digests. It
// only hashes: checking the digests, with the kernel's order of log lines
// and its stop at the first corrupted block, is left to verifyBlock. A
// block check_at_most_once verified already is left out (its digest is
// not needed).
func (v *Verity) digestBlocks(p []byte, first uint64) []byte {
	blockBytes := 1 << v.dataBlockBits
	n := len(p) / blockBytes
	workers := min(runtime.GOMAXPROCS(0), n/parallelMinBlocks)
	if workers < 2 || v.alg.Keyed {
		return nil
	}
	digests := make([]byte, n*v.alg.Size)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w * n / workers; i < (w+1)*n/workers; i++ {
				if v.validated == nil || !v.validated.has(first+uint64(i)) {
					v.digest(digests[i*v.alg.Size:i*v.alg.Size], p[i*blockBytes:(i+1)*blockBytes])
				}
			}
		})
	}
	wg.Wait()
	return digests
}

// asIOError is how a failed verification ends the read: EIO, whatever
// failed (errno_to_blk_status makes BLK_STS_IOERR of any other errno).
func asIOError(err error) error {
	if errors.Is(err, syscall.EIO) {
		return err
	}
	return fmt.Errorf("%v: %w", err, syscall.EIO)
}

// maxDigestBytes is the largest digest (sha512).
const maxDigestBytes = 64

// verifyBlock checks data, data block n as read, whose digest is digest
// when digestBlocks computed it (else nil); readErr is the read's error,
// if it failed (with FEC only); want and got are scratch space for
// digests. A block that does not match is read again (recheck), then
// corrected from the FEC parity: the corrected block replaces data, the
// status stays V and the block is not marked verified for
// check_at_most_once. When neither helps, a block of a failed read fails
// with the read's error; any other is corrupted.
func (v *Verity) verifyBlock(data []byte, n uint64, digest []byte, readErr error, want, got []byte) error {
	if v.validated != nil && readErr == nil && v.validated.has(n) {
		return nil
	}
	want, isZero, err := v.hashForBlock(n, want, false)
	if err != nil {
		return err
	}
	if isZero {
		clear(data)
		return nil
	}
	if digest != nil {
		got = digest
	} else if got, err = v.digest(got, data); err != nil {
		return err
	}
	if bytes.Equal(got, want) || v.recheck(data, n, want) {
		if v.validated != nil {
			v.validated.add(n)
		}
		return nil
	}
	if v.fecEnabled() && v.fecDecode(false, n, want, data) == nil {
		return nil
	}
	if readErr != nil {
		return readErr
	}
	if v.corrupted("data", n) {
		return fmt.Errorf("verity: %s: data block %d is corrupted: %w", v.dataDev.Name(), n, syscall.EIO)
	}
	return nil
}

// recheck is verity_recheck: data block n read again into a buffer of its
// own and checked; when it matches, it replaces data.
func (v *Verity) recheck(data []byte, n uint64, want []byte) bool {
	buf := make([]byte, len(data))
	if _, err := v.dataDev.ReadAt(buf, int64(n)<<v.dataBlockBits); err != nil {
		return false
	}
	got, err := v.digest(nil, buf)
	if err != nil || !bytes.Equal(got, want) {
		return false
	}
	copy(data, buf)
	return true
}

// hashForBlock is verity_hash_for_block: the digest data block n must
// have, appended to want, taken from its level-0 hash block when that is
// verified already, else from the root down, each hash block on the way
// verified; and whether it is the digest of zeros (ignore_zero_blocks).
// inFEC says FEC is reading the blocks of a codeword: a hash block found
// corrupted is then not corrected in turn.
func (v *Verity) hashForBlock(n uint64, want []byte, inFEC bool) ([]byte, bool, error) {
	t := v.tree
	found := false
	if t.levels > 0 {
		hb, idx := t.hashAt(n, 0)
		if block := v.cache.get(hb); block != nil {
			want, found = append(want, v.digestIn(block, idx)...), true
		}
	}
	if !found {
		want = append(want, v.rootDigest...)
		for level := t.levels - 1; level >= 0; level-- {
			hb, idx := t.hashAt(n, level)
			block, err := v.hashBlock(hb, want, inFEC)
			if err != nil {
				return nil, false, err
			}
			want = append(want[:0], v.digestIn(block, idx)...)
		}
	}
	return want, v.zeroDigest != nil && bytes.Equal(want, v.zeroDigest), nil
}

// hashBlock is verity_verify_level's read: hash block hb, verified
// against want unless cached verified. A block that does not match is
// corrected from the FEC parity when there is some (unless inFEC: see
// hashForBlock), and kept as verified; else it is handled as corrupted
// metadata, and with ignore_corruption its digests are used all the same,
// unverified.
func (v *Verity) hashBlock(hb uint64, want []byte, inFEC bool) ([]byte, error) {
	if block := v.cache.get(hb); block != nil {
		return block, nil
	}
	block := make([]byte, 1<<v.hashBlockBits)
	if _, err := v.hashDev.ReadAt(block, int64(hb)<<v.hashBlockBits); err != nil {
		return nil, fmt.Errorf("verity: hash block %d of %s: %w", hb, v.hashDev.Name(), err)
	}
	var buf [maxDigestBytes]byte
	got, err := v.digest(buf[:0], block)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(got, want) || (v.fecEnabled() && !inFEC && v.fecDecode(true, hb, want, block) == nil) {
		v.cache.put(hb, block)
		return block, nil
	}
	if v.corrupted("metadata", hb) {
		return nil, fmt.Errorf("verity: %s: metadata block %d is corrupted: %w", v.dataDev.Name(), hb, syscall.EIO)
	}
	return block, nil
}

// digestIn is the digest at index idx of a hash block: packed in version
// 0, each in a slot of a power of 2 bytes in version 1.
func (v *Verity) digestIn(block []byte, idx uint64) []byte {
	off := idx * uint64(v.alg.Size)
	if v.version >= 1 {
		off = idx << (v.hashBlockBits - v.tree.hashPerBlockBits)
	}
	return block[off : off+uint64(v.alg.Size)]
}

// ratelimited logs a line of a DMERR_LIMIT call site.
func (v *Verity) ratelimited(l *targets.RateLimit, format string, args ...any) {
	if l.Allow(time.Now()) {
		v.logf(format, args...)
	}
}

// WriteAt fails: the table is read-only, and verity_map kills writes.
func (v *Verity) WriteAt(p []byte, sector uint64) error {
	return fmt.Errorf("verity: write of %d bytes at sector %d: the device is read-only: %w", len(p), sector, syscall.EIO)
}

// Discard fails: verity takes no discards.
func (v *Verity) Discard(sector, lenSectors uint64) error {
	return fmt.Errorf("verity: discard at sector %d: %w", sector, syscall.EOPNOTSUPP)
}

// Flush has nothing to do: nothing is written.
func (v *Verity) Flush() error { return nil }

// NoFlushBios is targets.NoFlushBios: verity_ctr sets no num_flush_bios.
func (v *Verity) NoFlushBios() {}
