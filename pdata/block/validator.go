package block

import "encoding/binary"

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
