package main

import (
	"fmt"
	"io"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/targets/cache"
)

// cacheRepairUsage is cache_repair's help.
const cacheRepairUsage = `Usage: gdmsetup cache repair [options] {device|file}
Options:
  {-h|--help}
  {-i|--input} <input metadata (binary format)>
  {-o|--output} <output metadata (binary format)>
  {-V|--version}
`

// cacheRepairOptions is cache_repair's getopt_long table.
var cacheRepairOptions = []longOption{
	{name: "help", key: "h"}, {name: "input", arg: requiredArgument, key: "i"},
	{name: "output", arg: requiredArgument, key: "o"}, {name: "version", key: "V"},
}

// cacheRepair is `gdmsetup cache repair -i META -o NEWMETA`: cache_repair 0.9.0,
// what `cache dump --repair` reads from META written into NEWMETA (an existing
// file of at least 32 KiB, or a block device) as format 1 metadata. When it
// fails, NEWMETA's superblock is zeroed, as cache_repair does. It returns the
// exit code.
func cacheRepair(args []string, stdout, stderr io.Writer) int {
	tf := newCacheToolFlags("repair", "hi:o:V", cacheRepairOptions, cacheRepairUsage)
	var in, out string
	var hasIn, hasOut bool
	tf.on("i", func(v string, _ bool) error { in, hasIn = v, true; return nil })
	tf.on("o", func(v string, _ bool) error { out, hasOut = v, true; return nil })
	if _, code, ok := tf.parse(args, stdout, stderr); !ok {
		return code
	}
	switch {
	case !hasIn:
		fmt.Fprintf(stderr, "no input file provided\n%s", tf.usage)
		return 1
	case hasOut && outputFileProblem(out) != "":
		fmt.Fprintf(stderr, "%s\n\n%v\n", outputFileProblem(out), errOutputRequirements)
		return 1
	case !hasOut:
		fmt.Fprintf(stderr, "No output file provided.\n%s", tf.usage)
		return 1
	}
	dev, _, err := openMetaFile(out, false, true)
	if err != nil {
		return toolFail(stderr, tf, out, err)
	}
	defer dev.Close()
	if err := repairCache(in, dev); err != nil {
		return toolFail(stderr, tf, in, err)
	}
	if err := dev.Close(); err != nil {
		return toolFail(stderr, tf, out, err)
	}
	return 0
}

// repairCache is cache_repair's repair into dev: when the input cannot be
// opened, dev's superblock is zeroed all the same (the tool has touched it).
func repairCache(in string, dev *block.FileDevice) error {
	src, closeSrc, err := openToolMeta(in, true, cache.OpenTool)
	if err != nil {
		if _, zerr := dev.WriteAt(make([]byte, block.BlockSize), 0); zerr != nil {
			return fmt.Errorf("%w (zeroing the output's superblock: %v)", err, zerr)
		}
		return err
	}
	defer closeSrc()
	return cache.Repair(src, dev)
}
