package main

import (
	"fmt"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/targets"
	"github.com/gdmsetup/gdmsetup/targets/thinpool/metadata"
)

// The thin commands open metadata as thin-provisioning-tools 0.9.0 do: exclusively
// (O_EXCL there, an exclusive targets.Claim here), so that none reads or writes
// the metadata of a pool a running gdmsetup has live, except the dump, delta, ls
// and check of the metadata snapshot (-m), which is stable under a live pool.

// openMetaFile opens a metadata file or device, with an exclusive claim when
// exclusive is set, and returns its size in blocks.
func openMetaFile(meta string, readOnly, exclusive bool) (*block.FileDevice, uint64, error) {
	f, err := block.OpenFile(meta, readOnly)
	if err != nil {
		return nil, 0, err
	}
	if exclusive {
		if err := targets.Claim(f.File, meta, true); err != nil {
			f.Close()
			return nil, 0, err
		}
	}
	nrBlocks, err := block.NrBlocks(f)
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, nrBlocks, nil
}

// openThinMeta opens the pool metadata in file or device meta read-only, with an
// exclusive claim when exclusive is set; close releases it.
func openThinMeta(meta string, exclusive bool) (p *metadata.Pool, close func() error, err error) {
	f, _, err := openMetaFile(meta, true, exclusive)
	if err != nil {
		return nil, nil, err
	}
	if p, err = metadata.Open(f, metadata.Options{ReadOnly: true}); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", meta, err)
	}
	return p, f.Close, nil
}
