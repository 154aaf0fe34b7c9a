package snapshot

import (
	"fmt"
	"sync"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// transient is the N store (dm-snap-transient.c): chunks are handed out
// from the start of the COW device and the exceptions live only in memory
// (kept across gdmsetup's processes in the table's saved state). mu guards
// nextFree.
type transient struct {
	cow   targets.Dev
	chunk uint64 // sectors; 0 until set, which the constructor refuses

	mu       sync.Mutex
	nextFree uint64 // sectors
}

func (tc *transient) persistent() bool { return false }

func (tc *transient) chunkSectors() uint64 { return tc.chunk }

func (tc *transient) readMetadata(func(oldChunk, newChunk uint64)) (bool, error) {
	return false, nil
}

func (tc *transient) prepare() (uint64, error) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if devSectors(tc.cow) < tc.nextFree+tc.chunk {
		return 0, syscall.ENOSPC
	}
	c := tc.nextFree >> chunkShift(tc.chunk)
	tc.nextFree += tc.chunk
	return c, nil
}

func (tc *transient) commit(batch []exception) bool {
	for _, e := range batch {
		if !e.copied {
			return false
		}
	}
	return true
}

func (tc *transient) usage() (allocated, total, metadata uint64) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.nextFree, devSectors(tc.cow), 0
}

func (tc *transient) drop() {}

func (tc *transient) tableArgs() string { return fmt.Sprintf(" N %d", tc.chunk) }

// setNextFree restores the allocation cursor from saved state.
func (tc *transient) setNextFree(sectors uint64) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.nextFree = sectors
}
