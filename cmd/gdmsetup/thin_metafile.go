package main

import "github.com/gdmsetup/gdmsetup/pdata/block"

// openMetaFile opens a metadata file or device and returns its size in blocks.
func openMetaFile(meta string, readOnly bool) (*block.FileDevice, uint64, error) {
	f, err := block.OpenFile(meta, readOnly)
	if err != nil {
		return nil, 0, err
	}
	nrBlocks, err := block.NrBlocks(f)
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, nrBlocks, nil
}
