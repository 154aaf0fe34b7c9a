package main

import (
	"fmt"
	"io"
	"os"

	"github.com/gdmsetup/gdmsetup/targets"
	"github.com/gdmsetup/gdmsetup/targets/thinpool/metadata"
)

// thinTrimUsage is thin_trim's help.
const thinTrimUsage = `Usage: gdmsetup thin trim [options] --metadata-dev {device|file} --data-dev {device|file}
Options:
  {-h|--help}
  {-V|--version}
`

// thinTrimOptions is thin_trim's getopt_long table.
var thinTrimOptions = []longOption{
	{name: "help", key: "h"}, {name: "version", key: "V"},
	{name: "metadata-dev", arg: requiredArgument}, {name: "data-dev", arg: requiredArgument},
	{name: "pool-inactive"},
}

// thinTrim is `gdmsetup thin trim --metadata-dev META --data-dev DATA`: thin_trim.
// It discards every data block the pool's metadata holds free: a hole punched in a
// data file, BLKDISCARD on a block device. It refuses metadata that thin check
// finds damaged, a data device smaller than the data space map, one file given as
// both, and files a running gdmsetup has open (see openMetaFile); then it has
// discarded nothing. It prints nothing on success, as thin_trim 1.x.
func thinTrim(args []string, stdout, stderr io.Writer) int {
	tf := newToolFlags("trim", "hV", thinTrimOptions, thinTrimUsage)
	var meta, data string
	tf.str("metadata-dev", &meta)
	tf.str("data-dev", &data)
	tf.on("pool-inactive", func(string, bool) error {
		fmt.Fprintf(stderr, "--pool-inactive no longer required since we ensure the metadata device is opened exclusively.\n")
		return nil
	})
	words, code, ok := tf.parse(args, stdout, stderr)
	switch {
	case !ok:
		return code
	case meta == "" || data == "" || len(words) != 0:
		io.WriteString(stderr, thinTrimUsage)
		return 1
	}
	if err := trimData(meta, data); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", tf.name(), err)
		return 1
	}
	return 0
}

// trimData checks everything before it discards the first run, so that a refusal
// leaves the data device as it was; its errors say whether anything was discarded.
func trimData(meta, data string) error {
	runs, err := trimRuns(meta, data)
	switch {
	case err == nil:
		return nil
	case runs == 0:
		return fmt.Errorf("%w; nothing discarded", err)
	}
	return fmt.Errorf("%w (after discarding %d runs of free blocks)", err, runs)
}

// trimRuns discards the free runs and returns how many it discarded.
func trimRuns(meta, data string) (runs int, err error) {
	mi, err := os.Stat(meta)
	if err != nil {
		return 0, err
	}
	if di, err := os.Stat(data); err != nil {
		return 0, err
	} else if os.SameFile(mi, di) {
		return 0, fmt.Errorf("%s and %s are the same file: the metadata would be discarded with the free data blocks", meta, data)
	}
	m, _, err := openMetaFile(meta, true, true)
	if err != nil {
		return 0, err
	}
	defer m.Close()
	space, err := metadata.OpenDataSpace(m)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", meta, err)
	}
	d, err := targets.OpenExclusive(data)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	blockBytes := int64(space.BlockSectors) * 512
	if want := int64(space.NrBlocks) * blockBytes; d.SizeBytes() < want {
		return 0, fmt.Errorf("%s: %d bytes, smaller than the %d data blocks of %d sectors the metadata tracks (%d bytes)",
			data, d.SizeBytes(), space.NrBlocks, space.BlockSectors, want)
	}
	err = space.FreeRuns(func(begin, end uint64) error {
		if err := d.Discard(int64(begin)*blockBytes, int64(end-begin)*blockBytes); err != nil {
			return err
		}
		runs++
		return nil
	})
	if err == nil {
		err = d.Flush()
	}
	return runs, err
}
