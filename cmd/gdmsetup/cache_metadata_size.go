package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/gdmsetup/gdmsetup/targets/cache"
)

// cacheMetadataSizeUsage is cache_metadata_size's help.
const cacheMetadataSizeUsage = `Usage: gdmsetup cache metadata_size [options]
Options:
  {-h|--help}
  {-V|--version}
  {--block-size <sectors>}
  {--device-size <sectors>}
  {--nr-blocks <natural>}
  {--max-hint-width <nr bytes>}

These all relate to the size of the fast device (eg, SSD), rather
than the whole cached device.
`

// cacheMetadataSizeOptions is cache_metadata_size's getopt_long table.
var cacheMetadataSizeOptions = []longOption{
	{name: "block-size", arg: requiredArgument}, {name: "device-size", arg: requiredArgument},
	{name: "nr-blocks", arg: requiredArgument}, {name: "max-hint-width", arg: requiredArgument},
	{name: "help", key: "h"}, {name: "version", key: "V"},
}

// optionalU64 is an option's number and whether it was given.
type optionalU64 struct {
	v   uint64
	set bool
}

// cacheMetadataSize is `gdmsetup cache metadata_size ...`: cache_metadata_size
// 0.9.0, which prints "N sectors". It returns the exit code.
func cacheMetadataSize(args []string, stdout, stderr io.Writer) int {
	tf := newCacheToolFlags("metadata_size", "hV", cacheMetadataSizeOptions, cacheMetadataSizeUsage)
	var blockSize, deviceSize, nrBlocks optionalU64
	hintWidth := uint32(4)
	castFailed := false // a refused number is reported alone, not as a bad command line
	num := func(p *optionalU64, bits32 bool) func(string, bool) error {
		return func(s string, _ bool) error {
			var ok bool
			if bits32 {
				var v uint32
				v, ok = lexicalCastUint32(s)
				p.v = uint64(v)
			} else {
				p.v, ok = lexicalCastUint64(s)
			}
			if !ok {
				castFailed = true
				return errBadLexicalCast
			}
			p.set = true
			return nil
		}
	}
	var width optionalU64
	tf.on("block-size", num(&blockSize, true))
	tf.on("device-size", num(&deviceSize, false))
	tf.on("nr-blocks", num(&nrBlocks, false))
	tf.on("max-hint-width", num(&width, true))
	// cache_metadata_size ignores words that are not options
	if _, code, ok := tf.parse(args, stdout, stderr); !ok {
		if code != 0 && !castFailed {
			fmt.Fprintln(stderr, "Invalid command line")
		}
		return code
	}
	if width.set {
		hintWidth = uint32(width.v)
	}
	n, err := cacheNrBlocks(blockSize, deviceSize, nrBlocks)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "%d sectors\n", cache.MetadataSizeSectors(n, hintWidth))
	return 0
}

// cacheNrBlocks is get_nr_blocks: the cache blocks the options give, or why
// they do not.
func cacheNrBlocks(blockSize, deviceSize, nrBlocks optionalU64) (uint64, error) {
	switch {
	case deviceSize.set && !blockSize.set:
		return 0, errors.New("If you specify --device-size you must also give --block-size.")
	case deviceSize.set && blockSize.v == 0:
		return 0, errors.New("--block-size 0: cannot divide the device size by it")
	case deviceSize.set:
		n := deviceSize.v / blockSize.v
		if nrBlocks.set && n != nrBlocks.v {
			return 0, errors.New("Contradictory arguments given, --nr-blocks doesn't match the --device-size and --block-size.")
		}
		return n, nil
	case blockSize.set:
		return 0, errors.New("If you specify --block-size you must also give --device-size.")
	case nrBlocks.set:
		return nrBlocks.v, nil
	}
	return 0, errors.New("Please specify either --device-size and --block-size, or --nr-blocks.")
}
