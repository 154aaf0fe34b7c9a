package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/gdmsetup/gdmsetup/targets/thinpool/metadata"
)

// thinRepair is `gdmsetup thin repair -i META -o NEWMETA [OVERRIDES]`: thin_repair
// 0.9.0. It writes into NEWMETA (an existing file or device, whose size is the new
// metadata size) the pool `thin dump --repair META` shows, and returns the exit code.
// META is only read; NEWMETA must be another file.
func thinRepair(tf *toolFlags, args []string, stderr io.Writer) int {
	in := tf.String("i", "", "damaged metadata to read")
	tf.StringVar(in, "input", "", "same as -i")
	out := tf.String("o", "", "metadata file or device to write (must exist)")
	tf.StringVar(out, "output", "", "same as -o")
	overrides := superblockOverrideFlags(tf)
	words, code, ok := tf.parse(args, stderr)
	if !ok {
		return code
	}
	if len(words) != 0 || *in == "" || *out == "" {
		fmt.Fprint(stderr, "gdmsetup thin repair: need -i META and -o NEWMETA\n", thinUsage)
		return 2
	}
	if err := repairInto(*in, *out, *overrides); err != nil {
		fmt.Fprintf(stderr, "gdmsetup thin repair: %v\n", err)
		return 1
	}
	return 0
}

func repairInto(in, out string, o metadata.SuperblockOverrides) error {
	src, nrBlocks, err := openMetaFile(in, true)
	if err != nil {
		return err
	}
	defer src.Close()
	srcInfo, err := src.Stat()
	if err != nil {
		return err
	}
	if outInfo, err := os.Stat(out); err != nil {
		return fmt.Errorf("output %w (it must exist: its size is the new metadata size)", err)
	} else if os.SameFile(srcInfo, outInfo) {
		return fmt.Errorf("%s and %s are the same file: the repair must not overwrite what it reads", in, out)
	}
	dst, nrMeta, err := openMetaFile(out, false)
	if err != nil {
		return err
	}
	defer dst.Close()
	if err := metadata.RepairRestore(src, nrBlocks, o, dst, nrMeta); err != nil {
		return fmt.Errorf("%s -> %s: %w", in, out, err)
	}
	return dst.Close()
}

// superblockOverrideFlags registers thin_dump's and thin_repair's superblock
// overrides on tf and returns where they are stored.
func superblockOverrideFlags(tf *toolFlags) *metadata.SuperblockOverrides {
	o := &metadata.SuperblockOverrides{}
	number := func(name, usage string, max uint64, set func(uint64)) {
		tf.Func(name, usage, func(s string) error {
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil || v > max {
				return fmt.Errorf("%q is not a number from 0 to %d", s, max)
			}
			set(v)
			return nil
		})
	}
	number("transaction-id", "the pool's transaction id", math.MaxUint64, func(v uint64) { o.TransactionID = &v })
	number("data-block-size", "the data block size in sectors", math.MaxUint32, func(v uint64) {
		size := uint32(v)
		o.DataBlockSize = &size
	})
	number("nr-data-blocks", "the number of data blocks", math.MaxUint64, func(v uint64) { o.NrDataBlocks = &v })
	return o
}
