package lvm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// ErrNoMetadata means that a metadata area holds no metadata: its first raw_locn is empty or
// flagged ignored (lvm2 keeps the metadata of that PV in other areas).
var ErrNoMetadata = errors.New("no metadata in the area")

const (
	mdaHeaderBytes  = 512                // MDA_HEADER_SIZE: the mda_header sector at the area's start
	mdaMagic        = " LVM2 x[5A%r0N*>" // FMTT_MAGIC
	mdaVersion      = 1                  // FMTT_VERSION
	mdaRawLocnAt    = 40                 // byte of the first raw_locn in the mda_header
	rawLocnIgnored  = 1                  // RAW_LOCN_IGNORED
	maxTextBytes    = math.MaxUint32     // lvm2 reads metadata text of at most 4 GiB - 1
	readChunkBytes  = 1 << 20            // readFull grows its buffer by at most this much per read
	mdaChecksumFrom = 4                  // the mda_header checksum covers all bytes after itself
)

// ReadMetadata returns the current (committed) VG metadata text of the metadata area a of the
// PV r, without the NUL bytes lvm2 writes after it. It checks the mda_header as lvm2 does
// (checksum, magic, version 1, start equal to a.OffsetBytes, size at least the header's 512
// bytes and within a), takes the first raw_locn, checks that the text lies inside the area,
// reads it (wrapping from the area's end to just after the header when it runs past the end)
// and checks its checksum. An empty or ignored raw_locn gives an error wrapping ErrNoMetadata.
func ReadMetadata(r io.ReaderAt, a DiskArea) ([]byte, error) {
	if a.OffsetBytes > math.MaxInt64-mdaHeaderBytes {
		return nil, fmt.Errorf("metadata area at byte %d: past the largest offset a file can have", a.OffsetBytes)
	}
	h, err := readFull(r, a.OffsetBytes, mdaHeaderBytes)
	if err != nil {
		return nil, fmt.Errorf("metadata area at byte %d: reading its header: %w", a.OffsetBytes, err)
	}
	if want, got := binary.LittleEndian.Uint32(h), crc(initialCRC, h[mdaChecksumFrom:]); got != want {
		return nil, fmt.Errorf("metadata area at byte %d: header checksum 0x%08x, computed 0x%08x", a.OffsetBytes, want, got)
	}
	if string(h[4:20]) != mdaMagic {
		return nil, fmt.Errorf("metadata area at byte %d: magic %q, want %q", a.OffsetBytes, h[4:20], mdaMagic)
	}
	if v := binary.LittleEndian.Uint32(h[20:]); v != mdaVersion {
		return nil, fmt.Errorf("metadata area at byte %d: version %d, want %d", a.OffsetBytes, v, mdaVersion)
	}
	if start := binary.LittleEndian.Uint64(h[24:]); start != a.OffsetBytes {
		return nil, fmt.Errorf("metadata area at byte %d: header records start byte %d", a.OffsetBytes, start)
	}
	areaBytes := binary.LittleEndian.Uint64(h[32:])
	switch {
	case areaBytes < mdaHeaderBytes:
		return nil, fmt.Errorf("metadata area at byte %d: size %d bytes, smaller than its %d-byte header", a.OffsetBytes, areaBytes, mdaHeaderBytes)
	case a.SizeBytes != 0 && areaBytes > a.SizeBytes:
		return nil, fmt.Errorf("metadata area at byte %d: size %d bytes, larger than the %d bytes of the PV label", a.OffsetBytes, areaBytes, a.SizeBytes)
	case areaBytes > math.MaxInt64-a.OffsetBytes:
		return nil, fmt.Errorf("metadata area at byte %d: size %d bytes runs past the largest offset a file can have", a.OffsetBytes, areaBytes)
	}
	rl := h[mdaRawLocnAt:]
	offBytes, lenBytes := binary.LittleEndian.Uint64(rl), binary.LittleEndian.Uint64(rl[8:])
	sum, flags := binary.LittleEndian.Uint32(rl[16:]), binary.LittleEndian.Uint32(rl[20:])
	if offBytes == 0 || flags&rawLocnIgnored != 0 {
		return nil, fmt.Errorf("metadata area at byte %d: %w", a.OffsetBytes, ErrNoMetadata)
	}
	at := a.OffsetBytes + offBytes
	switch {
	case offBytes < mdaHeaderBytes:
		return nil, fmt.Errorf("metadata text at byte %d (%d bytes): starts inside the area's %d-byte header", at, lenBytes, mdaHeaderBytes)
	case offBytes >= areaBytes || lenBytes > areaBytes-mdaHeaderBytes || lenBytes > maxTextBytes:
		return nil, fmt.Errorf("metadata text at byte %d (%d bytes): outside the %d-byte metadata area at byte %d", at, lenBytes, areaBytes, a.OffsetBytes)
	case lenBytes == 0:
		return nil, fmt.Errorf("metadata text at byte %d: empty", at)
	}
	firstBytes := min(lenBytes, areaBytes-offBytes)
	text, err := readFull(r, at, firstBytes)
	if err != nil {
		return nil, fmt.Errorf("metadata text at byte %d (%d bytes): %w", at, lenBytes, err)
	}
	if wrapBytes := lenBytes - firstBytes; wrapBytes > 0 {
		rest, err := readFull(r, a.OffsetBytes+mdaHeaderBytes, wrapBytes)
		if err != nil {
			return nil, fmt.Errorf("metadata text at byte %d (%d bytes): its %d bytes wrapped to byte %d: %w", at, lenBytes, wrapBytes, a.OffsetBytes+mdaHeaderBytes, err)
		}
		text = append(text, rest...)
	}
	if got := crc(initialCRC, text); got != sum {
		return nil, fmt.Errorf("metadata text at byte %d (%d bytes): checksum 0x%08x, computed 0x%08x", at, lenBytes, sum, got)
	}
	return bytes.TrimRight(text, "\x00"), nil
}

// readFull reads n bytes at offBytes of r, growing its buffer one chunk per read so that a
// size read from a hostile header costs no more memory than r holds (at most twice what was
// read). offBytes+n must not exceed math.MaxInt64.
func readFull(r io.ReaderAt, offBytes, n uint64) ([]byte, error) {
	var buf []byte
	for done := uint64(0); done < n; {
		chunk := min(n-done, readChunkBytes)
		buf = slices.Grow(buf, int(chunk))[:done+chunk]
		got, err := r.ReadAt(buf[done:], int64(offBytes+done))
		if uint64(got) < chunk {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("reading %d bytes at byte %d: %w", n, offBytes, err)
		}
		done += chunk
	}
	return buf, nil
}
