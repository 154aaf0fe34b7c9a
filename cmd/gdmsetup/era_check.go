package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/targets/era"
)

// eraCheckUsage is era_check's help.
const eraCheckUsage = `Usage: gdmsetup era check [options] {device|file}
Options:
  {-q|--quiet}
  {-h|--help}
  {-V|--version}
  {--super-block-only}
`

// eraCheckOptions is era_check's getopt_long table.
var eraCheckOptions = []longOption{
	{name: "quiet", key: "q"}, {name: "super-block-only"}, {name: "help", key: "h"}, {name: "version", key: "V"},
}

// eraCheck is `gdmsetup era check [-q] [--super-block-only] META`: era_check
// 0.9.0, whose report it prints on stderr (nothing with -q). It returns the exit
// code: 1 when the command line is refused, META cannot be read or is damaged.
// As in 0.9.0, --super-block-only is accepted and changes nothing: the whole
// metadata is checked.
func eraCheck(args []string, stdout, stderr io.Writer) int {
	tf := newEraToolFlags("check", "qhV", eraCheckOptions, eraCheckUsage)
	var quiet, superblockOnly bool
	tf.flag("q", &quiet)
	tf.flag("super-block-only", &superblockOnly)
	meta, code, ok := firstToolWord(tf, args, stdout, stderr)
	if !ok {
		return code
	}
	report := quietOr(stderr, quiet)
	f, size, ok := openCheckedMeta(tf, meta, false, report)
	if !ok {
		return 1
	}
	defer f.Close()
	clean, err := era.Check(f, size, report)
	if err != nil {
		fmt.Fprintf(report, "%s: %s: %v\n", tf.name(), meta, err)
		return 1
	}
	if !clean {
		return 1
	}
	return 0
}

// openCheckedMeta opens meta for a *_check command as the tools' check does:
// a path that cannot be stat'ed or is neither a regular file nor a block
// device is refused ("PATH: No such file or directory"), then the file is
// opened with an exclusive claim (read-write when writable). size is its
// length when below one block, else its whole blocks. When ok is false, why
// was printed on report.
func openCheckedMeta(tf *toolFlags, meta string, writable bool, report io.Writer) (f *block.FileDevice, size int64, ok bool) {
	fi, err := os.Stat(meta)
	switch {
	case err != nil:
		fmt.Fprintf(report, "%s: %v\n", meta, statErrText(err))
		return nil, 0, false
	case !fi.Mode().IsRegular() && (fi.Mode()&os.ModeDevice == 0 || fi.Mode()&os.ModeCharDevice != 0):
		fmt.Fprintf(report, "%s: Not a block device or regular file\n", meta)
		return nil, 0, false
	}
	f, nrBlocks, err := openMetaFile(meta, !writable, true)
	if err != nil {
		fmt.Fprintf(report, "%s: %v\n", tf.name(), err)
		return nil, 0, false
	}
	if size, err = f.SizeBytes(); err != nil {
		fmt.Fprintf(report, "%s: %s: %v\n", tf.name(), meta, err)
		f.Close()
		return nil, 0, false
	}
	if size >= block.BlockSize {
		size = int64(nrBlocks) * block.BlockSize
	}
	return f, size, true
}

// statErrText is the C library's words for why stat failed (strerror), as the
// tools print them: "No such file or directory".
func statErrText(err error) string {
	var pe *os.PathError
	if !errors.As(err, &pe) {
		return err.Error()
	}
	s := pe.Err.Error()
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}
