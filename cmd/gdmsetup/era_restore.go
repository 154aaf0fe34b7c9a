package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/targets/era"
)

// eraRestoreUsage is era_restore's help.
const eraRestoreUsage = `Usage: gdmsetup era restore [options]
Options:
  {-h|--help}
  {-i|--input} <input xml file>
  {-o|--output} <output device or file>
  {-q|--quiet}
  {-V|--version}
`

// eraRestoreOptions is era_restore's getopt_long table.
var eraRestoreOptions = []longOption{
	{name: "help", key: "h"}, {name: "input", arg: requiredArgument, key: "i"},
	{name: "output", arg: requiredArgument, key: "o"}, {name: "quiet", key: "q"},
	{name: "version", key: "V"},
}

// errOutputRequirements is the tools' explanation of a refused output file.
var errOutputRequirements = errors.New("The output file should either be a block device,\n" +
	"or an existing file.  The file needs to be large\nenough to hold the metadata.")

// minOutputBytes is the smallest output file the tools accept (MIN_SIZE).
const minOutputBytes = 32 << 10

// eraRestore is `gdmsetup era restore -i IN.xml -o META`: era_restore 0.9.0 (-q
// is accepted: gdmsetup shows no progress to quieten). META must exist: a block
// device, or a file of at least 32 KiB. It returns the exit code.
func eraRestore(args []string, stdout, stderr io.Writer) int {
	tf := newEraToolFlags("restore", "hi:o:qV", eraRestoreOptions, eraRestoreUsage)
	var quiet bool
	tf.flag("q", &quiet)
	in, out, code, ok := restoreCommandLine(tf, args, stdout, stderr)
	if !ok {
		return code
	}
	if err := restoreEra(in, out); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", tf.name(), err)
		return 1
	}
	return 0
}

// outputFileProblem is check_output_file_requirements' first words on path:
// "" when it is a block device or a regular file of at least 32 KiB.
func outputFileProblem(path string) string {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return "Output file does not exist."
	case !fi.Mode().IsRegular():
		return ""
	case fi.Size() == 0:
		return "Zero size output file."
	case fi.Size() < minOutputBytes:
		return "Output file too small."
	}
	return ""
}

// restoreEra writes the era metadata the XML file in describes into the file or
// device meta.
func restoreEra(in, meta string) error {
	return restoreTool(in, meta, func(r io.Reader, dev *block.FileDevice, nrBlocks uint64) error {
		return era.Restore(r, in, dev, nrBlocks)
	})
}

// restoreCommandLine takes -i and -o on tf, parses args and checks them as
// era_restore and cache_restore do: no words besides the options, an input,
// an output that is a block device or a file of at least 32 KiB. It returns
// the paths, or the exit code once the refusal is printed.
func restoreCommandLine(tf *toolFlags, args []string, stdout, stderr io.Writer) (in, out string, code int, ok bool) {
	var hasIn, hasOut bool
	tf.on("i", func(v string, _ bool) error { in, hasIn = v, true; return nil })
	tf.on("o", func(v string, _ bool) error { out, hasOut = v, true; return nil })
	words, code, ok := tf.parse(args, stdout, stderr)
	switch {
	case !ok:
		return "", "", code, false
	case len(words) != 0:
		io.WriteString(stderr, tf.usage)
		return "", "", 1, false
	case !hasIn:
		fmt.Fprintf(stderr, "No input file provided.\n\n%s", tf.usage)
		return "", "", 1, false
	}
	if why := outputFileProblem(out); hasOut && why != "" {
		fmt.Fprintf(stderr, "%s\n\n%v\n", why, errOutputRequirements)
		return "", "", 1, false
	}
	if !hasOut {
		fmt.Fprintf(stderr, "No output file provided.\n\n%s", tf.usage)
		return "", "", 1, false
	}
	return in, out, 0, true
}

// restoreTool runs restore on the XML file in (which must exist: "Couldn't stat
// file") and the file or device meta, opened read-write with an exclusive
// claim, nrBlocks 4096-byte blocks long.
func restoreTool(in, meta string, restore func(r io.Reader, dev *block.FileDevice, nrBlocks uint64) error) error {
	if _, err := os.Stat(in); err != nil {
		return fmt.Errorf("%s: Couldn't stat file", in)
	}
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	dev, nrBlocks, err := openMetaFile(meta, false, true)
	if err != nil {
		return err
	}
	defer dev.Close()
	if err := restore(f, dev, nrBlocks); err != nil {
		return fmt.Errorf("%s: %w", meta, err)
	}
	return dev.Close()
}
