package spacemap

import (
	"fmt"
	"io"

	"github.com/gdmsetup/gdmsetup/pdata/block"
)

// FreeRuns calls fn with every maximal run [begin, end) of blocks whose
// reference count is 0 in the space map with root on r, in increasing order
// (metadata selects the metadata flavour). It reads the index and then each
// bitmap once, checking each block's checksum and number; counts above 2 live
// in the ref count tree, which it does not need. An error from fn stops it and
// is returned.
func FreeRuns(r io.ReaderAt, root Root, metadata bool, fn func(begin, end uint64) error) error {
	kind := "data space map"
	if metadata {
		kind = "metadata space map"
	}
	buf := make([]byte, block.BlockSize)
	index, err := readIndex(r, root, metadata, buf, func(uint64) {})
	if err != nil {
		return fmt.Errorf("%s: %w", kind, err)
	}
	var runBegin uint64
	inRun := false
	for i, ie := range index {
		if err := readValidated(r, ie.Blocknr, BitmapValidator, buf); err != nil {
			return fmt.Errorf("%s: bitmap %d: %w", kind, i, err)
		}
		first := uint64(i) * EntriesPerBitmap
		entries := uint32(min(EntriesPerBitmap, root.NrBlocks-first))
		for e := uint32(0); e < entries; {
			next, found := bitmapFind(buf, e, entries, inRun)
			if !found {
				break
			}
			if inRun {
				if err := fn(runBegin, first+uint64(next)); err != nil {
					return err
				}
			} else {
				runBegin = first + uint64(next)
			}
			inRun = !inRun
			e = next
		}
	}
	if inRun {
		return fn(runBegin, root.NrBlocks)
	}
	return nil
}
