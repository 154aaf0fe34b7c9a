package metadata

import (
	"errors"
	"fmt"

	"github.com/gdmsetup/gdmsetup/pdata/spacemap"
)

// BlockError reports damage found in one metadata block.
type BlockError struct {
	Block uint64 // metadata block number
	What  string // kind of block expected there ("superblock", "btree node", ...)
	Msg   string // what is wrong
}

func (e *BlockError) Error() string {
	return fmt.Sprintf("metadata block %d (%s): %s", e.Block, e.What, e.Msg)
}

// Errors returned by the metadata API; test with errors.Is.
var (
	ErrExists     = errors.New("thin device already exists")
	ErrNoDevice   = errors.New("thin device does not exist")
	ErrNoSpace    = spacemap.ErrNoSpace
	ErrSnapExists = errors.New("pool metadata snapshot already exists: release this before taking another")
	ErrNoSnap     = errors.New("no pool metadata snapshot found: nothing to release")
	ErrBusy       = errors.New("thin device is open")
	ErrReadOnly   = errors.New("metadata is read-only")
	ErrFailed     = errors.New("metadata failed after an I/O error: abort or reopen")
)
