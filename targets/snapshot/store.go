package snapshot

import (
	"fmt"
	"math/bits"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// store is an exception store (struct dm_exception_store_type): where the
// snapshot's chunks go on the COW device and how the mapping survives.
// Its methods are called with the snapshot's createMu held (prepare and
// commit), or with the snapshot's mu held (usage, drop, tableArgs); each
// store guards its own fields as it says.
type store interface {
	// chunkSectors is the chunk size in sectors, a power of 2 (0 only for
	// a handover destination before its resume).
	chunkSectors() uint64
	// readMetadata loads the exceptions on the COW device, calling add for
	// each; invalid reports a store marked invalid.
	readMetadata(add func(oldChunk, newChunk uint64)) (invalid bool, err error)
	// prepare allocates the COW chunk for a new exception; an error means
	// the COW device is full.
	prepare() (newChunk uint64, err error)
	// commit records exceptions once their data is on the COW device, in
	// allocation order, as the kernel commits the exceptions pending at
	// once; it reports whether the store is still valid after the commit.
	commit(batch []exception) bool
	// usage is STATUSTYPE_INFO's numbers, in sectors.
	usage() (allocated, total, metadata uint64)
	// drop marks the store invalid for good (drop_snapshot).
	drop()
	// tableArgs is the store's part of the table line: " P 8".
	tableArgs() string
	// persistent reports a store whose exceptions live on the COW device.
	persistent() bool
}

// exception is one chunk copied to the COW device (copied is false when
// the copy failed).
type exception struct {
	oldChunk, newChunk uint64
	copied             bool
}

// maxChunkSectors is the largest chunk size the kernel takes
// (INT_MAX >> SECTOR_SHIFT).
const maxChunkSectors = (1<<31 - 1) >> 9

// checkChunkSectors is dm_exception_store_set_chunk_size's checks (the
// device block size is 512 bytes here, so any power of 2 is a multiple).
func checkChunkSectors(n uint64) error {
	if n == 0 || n&(n-1) != 0 {
		return fmt.Errorf("Chunk size is not a power of 2")
	}
	if n > maxChunkSectors {
		return fmt.Errorf("Chunk size is too high")
	}
	return nil
}

// chunkShift is log2 of a power-of-2 chunk size.
func chunkShift(chunkSectors uint64) uint {
	return uint(bits.TrailingZeros64(chunkSectors))
}

// devSectors is a device's size in sectors (get_dev_size).
func devSectors(d targets.Dev) uint64 {
	return uint64(d.SizeBytes()) / targets.SectorSize
}

// chunkOp is what chunkIO does with a chunk.
type chunkOp uint8

const (
	chunkRead chunkOp = iota
	chunkWrite
	// chunkCommit is area_io's REQ_OP_WRITE|REQ_PREFLUSH|REQ_FUA
	// (targets.DevWritePreflushFUA).
	chunkCommit
)

// chunkIO reads or writes whole chunk number chunk of the COW device from
// or into buf (len(buf) is the chunk size in bytes); a chunk reaching past
// the device's end is an I/O error, as on a disk (a file would grow).
func chunkIO(cow targets.Dev, buf []byte, chunk uint64, op chunkOp) error {
	offBytes := int64(chunk) * int64(len(buf))
	if offBytes+int64(len(buf)) > cow.SizeBytes() || offBytes < 0 {
		return fmt.Errorf("%s: chunk %d (%d bytes at %d) past the end of the COW device: %w",
			cow.Name(), chunk, len(buf), offBytes, syscall.EIO)
	}
	var err error
	switch op {
	case chunkRead:
		_, err = cow.ReadAt(buf, offBytes)
	case chunkWrite:
		_, err = cow.WriteAt(buf, offBytes)
	case chunkCommit:
		err = targets.DevWritePreflushFUA(cow, buf, offBytes)
	}
	if err != nil {
		return fmt.Errorf("COW chunk %d: %w", chunk, err)
	}
	return nil
}
