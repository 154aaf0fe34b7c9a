package block

import (
	"encoding/binary"
	"fmt"
	"syscall"
)

// Validator checks a block's contents after it is read from the device and
// prepares it before it is written (the kernel's dm_block_validator).
//
// Check must not modify data; it returns an error describing what is wrong
// (the caller adds the block number). Prepare stores blocknr and then the
// checksum into data, in that order.
type Validator interface {
	Name() string
	Check(data []byte, blocknr uint64) error
	Prepare(data []byte, blocknr uint64)
}

// SaltedValidator is the common validator shape: a checksum at offset 0
// salted with Salt, and the block's own location as a u64 at LocationOff.
type SaltedValidator struct {
	Kind        string
	Salt        uint32
	LocationOff int
}

// Name returns the block kind.
func (v *SaltedValidator) Name() string { return v.Kind }

// Check verifies the stored location and then the checksum.
func (v *SaltedValidator) Check(data []byte, blocknr uint64) error {
	if err := VerifyLocation(data, v.LocationOff, blocknr); err != nil {
		return err
	}
	return VerifyChecksum(data, v.Salt)
}

// Prepare stores blocknr at LocationOff and then the checksum.
func (v *SaltedValidator) Prepare(data []byte, blocknr uint64) {
	binary.LittleEndian.PutUint64(data[v.LocationOff:], blocknr)
	SetChecksum(data, v.Salt)
}

// SuperblockValidator is the sb_validator of metadata whose superblock
// starts as dm-era's and dm-cache's do: the checksum at 0 (salted with
// CsumXor), the block's location at 8, the magic at 32 and the version at
// 40. Check runs sb_check's tests in the kernel's order and words; a
// failure is a *SuperblockError. Kind names the metadata in the version
// line ("Era", "Cache").
type SuperblockValidator struct {
	Kind                   string
	Magic                  uint64
	CsumXor                uint32
	MinVersion, MaxVersion uint32
}

// The superblock fields SuperblockValidator reads, by byte offset.
const (
	sbOffLocation = 8
	sbOffMagic    = 32
	sbOffVersion  = 40
)

// SuperblockError is a superblock check failure: Msg is the kernel's DMERR
// line (after the target's prefix), Errno what the check returns.
type SuperblockError struct {
	Msg   string
	Errno syscall.Errno
}

func (e *SuperblockError) Error() string { return e.Msg }
func (e *SuperblockError) Unwrap() error { return e.Errno }

// Name is "superblock".
func (v *SuperblockValidator) Name() string { return "superblock" }

// Check is sb_check: location (ENOTBLK), magic, checksum (EILSEQ), version
// (EINVAL).
func (v *SuperblockValidator) Check(d []byte, blocknr uint64) error {
	if got := binary.LittleEndian.Uint64(d[sbOffLocation:]); got != blocknr {
		return &SuperblockError{fmt.Sprintf("sb_check failed: blocknr %d: wanted %d", got, blocknr), syscall.ENOTBLK}
	}
	if m := binary.LittleEndian.Uint64(d[sbOffMagic:]); m != v.Magic {
		return &SuperblockError{fmt.Sprintf("sb_check failed: magic %d: wanted %d", m, v.Magic), syscall.EILSEQ}
	}
	stored := binary.LittleEndian.Uint32(d[0:])
	if sum := Checksum(d[4:], v.CsumXor); sum != stored {
		return &SuperblockError{fmt.Sprintf("sb_check failed: csum %d: wanted %d", sum, stored), syscall.EILSEQ}
	}
	if ver := binary.LittleEndian.Uint32(d[sbOffVersion:]); ver < v.MinVersion || ver > v.MaxVersion {
		return &SuperblockError{fmt.Sprintf("%s metadata version %d found, but only versions between %d and %d supported.", v.Kind, ver, v.MinVersion, v.MaxVersion), syscall.EINVAL}
	}
	return nil
}

// Prepare stores blocknr and then the checksum.
func (v *SuperblockValidator) Prepare(d []byte, blocknr uint64) {
	binary.LittleEndian.PutUint64(d[sbOffLocation:], blocknr)
	SetChecksum(d, v.CsumXor)
}
