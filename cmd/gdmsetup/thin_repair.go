package main

import (
	"fmt"
	"io"
	"os"

	"github.com/gdmsetup/gdmsetup/targets/thinpool/metadata"
)

// thinRepairUsage is thin_repair's help.
const thinRepairUsage = `Usage: gdmsetup thin repair [options] {device|file}
Options:
  {-h|--help}
  {-i|--input} <input metadata (binary format)>
  {-o|--output} <output metadata (binary format)>
  {--transaction-id} <natural>
  {--data-block-size} <natural>
  {--nr-data-blocks} <natural>
  {-V|--version}
`

// thinRepairOptions is thin_repair's getopt_long table.
var thinRepairOptions = []longOption{
	{name: "help", key: "h"}, {name: "input", arg: requiredArgument, key: "i"},
	{name: "output", arg: requiredArgument, key: "o"}, {name: "transaction-id", arg: requiredArgument},
	{name: "data-block-size", arg: requiredArgument}, {name: "nr-data-blocks", arg: requiredArgument},
	{name: "version", key: "V"},
}

// thinRepair is `gdmsetup thin repair -i META -o NEWMETA [OVERRIDES]`: thin_repair
// 0.9.0. It writes into NEWMETA (an existing file or device, whose size is the new
// metadata size) the pool `thin dump --repair META` shows, and returns the exit code.
// META is only read; NEWMETA must be another file.
func thinRepair(args []string, stdout, stderr io.Writer) int {
	tf := newToolFlags("repair", "hi:o:V", thinRepairOptions, thinRepairUsage)
	var in, out string
	tf.str("i", &in)
	tf.str("o", &out)
	overrides := superblockOverrideFlags(tf)
	words, code, ok := tf.parse(args, stdout, stderr)
	switch {
	case !ok:
		return code
	case in == "":
		return tf.refuse(stderr, "no input file provided")
	case out == "":
		return tf.refuse(stderr, "No output file provided.")
	case len(words) != 0:
		return tf.refuse(stderr, fmt.Sprintf("unexpected argument %q: the metadata to repair is -i's", words[0]))
	}
	if err := repairInto(in, out, *overrides); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", tf.name(), err)
		return 1
	}
	return 0
}

func repairInto(in, out string, o metadata.SuperblockOverrides) error {
	src, nrBlocks, err := openMetaFile(in, true, true)
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
	dst, nrMeta, err := openMetaFile(out, false, true)
	if err != nil {
		return err
	}
	defer dst.Close()
	if err := metadata.RepairRestore(src, nrBlocks, o, dst, nrMeta); err != nil {
		return fmt.Errorf("%s -> %s: %w", in, out, err)
	}
	return dst.Close()
}

// superblockOverrideFlags makes tf read the superblock overrides of thin_dump,
// thin_repair and thin_restore, each number as the tools read it (lexicalCastUint64;
// --data-block-size keeps its low 32 bits, as their cast does), and returns where
// they are stored.
func superblockOverrideFlags(tf *toolFlags) *metadata.SuperblockOverrides {
	o := &metadata.SuperblockOverrides{}
	number := func(name, desc string, set func(uint64)) {
		tf.on(name, func(s string, _ bool) error {
			v, ok := lexicalCastUint64(s)
			if !ok {
				return fmt.Errorf("Couldn't parse %s: '%s'", desc, s)
			}
			set(v)
			return nil
		})
	}
	number("transaction-id", "transaction id", func(v uint64) { o.TransactionID = &v })
	number("data-block-size", "data block size", func(v uint64) {
		size := uint32(v)
		o.DataBlockSize = &size
	})
	number("nr-data-blocks", "nr data blocks", func(v uint64) { o.NrDataBlocks = &v })
	return o
}
