package crypt

import (
	"fmt"
	"sync"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// ReadAt reads the ciphertext from the device and decrypts it in p.
func (c *Crypt) ReadAt(p []byte, sector uint64) error {
	if err := c.checkAligned(p, sector); err != nil {
		return err
	}
	if c.integrity != "" {
		return c.noIntegrity(sector)
	}
	if _, err := c.dev.ReadAt(p, c.byteOffset(sector)); err != nil {
		return err
	}
	c.convert(p, p, sector, false)
	return nil
}

// WriteAt encrypts p into a buffer of its own (p is not changed) and writes that.
func (c *Crypt) WriteAt(p []byte, sector uint64) error { return c.write(p, sector, false) }

// WriteFUA is targets.FUAWriter: crypt_alloc_buffer makes the encrypted
// clone with the bio's bi_opf, so the ciphertext goes to the device as a
// FUA write.
func (c *Crypt) WriteFUA(p []byte, sector uint64) error { return c.write(p, sector, true) }

// write is WriteAt, or WriteFUA with fua.
func (c *Crypt) write(p []byte, sector uint64, fua bool) error {
	if err := c.checkAligned(p, sector); err != nil {
		return err
	}
	if c.integrity != "" {
		return c.noIntegrity(sector)
	}
	buf := getBuf(len(p))
	defer putBuf(buf)
	out := (*buf)[:len(p)]
	c.convert(out, p, sector, true)
	return targets.DevWrite(c.dev, out, c.byteOffset(sector), fua)
}

// convert encrypts (or decrypts) src into dst one encryption sector at a
// time, as crypt_convert: the sector counted from the target's start plus
// iv_offset picks the key (its low bits, with several) and numbers the IV
// (in encryption sectors with iv_large_sectors, else in 512-byte sectors).
func (c *Crypt) convert(dst, src []byte, sector uint64, encrypt bool) {
	k := c.keyed.Load()
	step := uint64(c.sectorBytes / targets.SectorSize)
	ccSector := sector + c.ivOffsetSector
	var ivBuf [maxIVBytes]byte
	iv := ivBuf[:c.ivBytes]
	for off := 0; off < len(src); off += c.sectorBytes {
		t := k.tfms[ccSector&uint64(c.tfmsCount-1)]
		if c.iv != nil {
			clear(iv)
			ivSector := ccSector
			if c.ivLargeSectors {
				ivSector /= step
			}
			c.iv.gen(c, k, iv, ivSector)
		}
		d, s := dst[off:off+c.sectorBytes], src[off:off+c.sectorBytes]
		if encrypt {
			t.encrypt(d, s, iv)
		} else {
			t.decrypt(d, s, iv)
		}
		ccSector += step
	}
}

// checkAligned refuses I/O that does not start and end on an encryption
// sector (crypt_map's DM_MAPIO_KILL: an I/O error).
func (c *Crypt) checkAligned(p []byte, sector uint64) error {
	step := uint64(c.sectorBytes / targets.SectorSize)
	if sector%step != 0 || len(p)%c.sectorBytes != 0 {
		return fmt.Errorf("crypt: I/O at sector %d of %d bytes is not aligned to the %d-byte encryption sector: %w",
			sector, len(p), c.sectorBytes, syscall.EIO)
	}
	return nil
}

// noIntegrity fails data I/O of a table with an integrity feature: its tags
// need a dm-integrity device underneath.
func (c *Crypt) noIntegrity(sector uint64) error {
	return fmt.Errorf("crypt: sector %d: integrity tags need a device with an integrity profile: %w", sector, syscall.EIO)
}

func (c *Crypt) byteOffset(sector uint64) int64 {
	return int64(c.startSector+sector) * targets.SectorSize
}

// Discard passes the discard down with allow_discards (else the core sends none: SupportsDiscards).
func (c *Crypt) Discard(sector, lenSectors uint64) error {
	return c.dev.Discard(c.byteOffset(sector), int64(lenSectors)*targets.SectorSize)
}

// SupportsDiscards is set by allow_discards (num_discard_bios), when the device takes them.
func (c *Crypt) SupportsDiscards() bool {
	return c.features.allowDiscards && targets.DevSupportsDiscards(c.dev)
}

// Flush flushes the device.
func (c *Crypt) Flush() error { return c.dev.Flush() }

// bufPool holds write buffers for the ciphertext.
var bufPool sync.Pool

func getBuf(n int) *[]byte {
	if b, ok := bufPool.Get().(*[]byte); ok && cap(*b) >= n {
		return b
	}
	b := make([]byte, n)
	return &b
}

func putBuf(b *[]byte) { bufPool.Put(b) }
