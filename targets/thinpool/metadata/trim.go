package metadata

import (
	"errors"
	"fmt"
	"io"

	"github.com/gdmsetup/gdmsetup/pdata/spacemap"
)

// DataSpace is a pool's data device as its checked metadata describes it: what
// thin trim needs to discard the data blocks no thin device uses.
type DataSpace struct {
	// BlockSectors is the data block size in 512-byte sectors.
	BlockSectors uint32
	// NrBlocks is the number of data blocks the data space map tracks.
	NrBlocks uint64

	r    io.ReaderAt
	root spacemap.Root
}

// OpenDataSpace reads the metadata on r, which must be clean as Check sees it
// (so that every data block a mapping of a thin device or of the held metadata
// snapshot uses has a count in the data space map): damaged metadata is an
// error naming the first problem, since trimming by a wrong space map would
// discard data.
func OpenDataSpace(r io.ReaderAt) (*DataSpace, error) {
	if problems, _ := Check(r); len(problems) > 0 {
		more := ""
		if len(problems) > 1 {
			more = fmt.Sprintf(" (and %d more problems)", len(problems)-1)
		}
		return nil, fmt.Errorf("damaged metadata: %w%s", problems[0], more)
	}
	_, sb, err := readSuperblock(r, superblockLocation, "superblock")
	if err != nil {
		return nil, err
	}
	if sb.DataBlockSize == 0 {
		return nil, errors.New("superblock: data block size 0")
	}
	return &DataSpace{BlockSectors: sb.DataBlockSize, NrBlocks: sb.DataSM.NrBlocks, r: r, root: sb.DataSM}, nil
}

// FreeRuns calls fn with every run [beginBlock, endBlock) of data blocks the
// data space map holds free, in increasing order; an error from fn stops it and
// is returned.
func (d *DataSpace) FreeRuns(fn func(beginBlock, endBlock uint64) error) error {
	return spacemap.FreeRuns(d.r, d.root, false, fn)
}
