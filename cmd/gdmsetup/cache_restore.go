package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/targets/cache"
)

// cacheRestoreUsage is cache_restore's help.
const cacheRestoreUsage = `Usage: gdmsetup cache restore [options]
Options:
  {-h|--help}
  {-i|--input} <input xml file>
  {-o|--output} <output device or file>
  {-q|--quiet}
  {--metadata-version} <1 or 2>
  {-V|--version}

  {--debug-override-metadata-version} <integer>
  {--omit-clean-shutdown}
`

// cacheRestoreOptions is cache_restore's getopt_long table.
var cacheRestoreOptions = []longOption{
	{name: "debug-override-metadata-version", arg: requiredArgument}, {name: "omit-clean-shutdown"},
	{name: "metadata-version", arg: requiredArgument}, {name: "help", key: "h"},
	{name: "input", arg: requiredArgument, key: "i"}, {name: "output", arg: requiredArgument, key: "o"},
	{name: "quiet", key: "q"}, {name: "version", key: "V"},
}

// errBadMetadataVersion is cache_restore's refusal of a --metadata-version
// other than 1 or 2.
var errBadMetadataVersion = errors.New("Bad metadata version")

// cacheRestore is `gdmsetup cache restore -i IN.xml -o META`: cache_restore 0.9.0
// (-q is accepted: gdmsetup shows no progress to quieten). META must exist: a
// block device, or a file of at least 32 KiB. It returns the exit code.
func cacheRestore(args []string, stdout, stderr io.Writer) int {
	tf := newCacheToolFlags("restore", "hi:o:qV", cacheRestoreOptions, cacheRestoreUsage)
	var quiet bool
	opt := cache.RestoreOptions{Version: 1}
	tf.flag("q", &quiet)
	tf.on("omit-clean-shutdown", func(string, bool) error { opt.OmitClean = true; return nil })
	tf.on("debug-override-metadata-version", func(v string, _ bool) error {
		n, ok := lexicalCastUint32(v)
		if !ok {
			return errBadLexicalCast
		}
		opt.OverrideVersion = n
		return nil
	})
	tf.on("metadata-version", func(v string, _ bool) error {
		n, ok := lexicalCastUint32(v)
		if !ok {
			return errBadLexicalCast
		}
		if n < 1 || n > 2 {
			return errBadMetadataVersion
		}
		opt.Version = n
		return nil
	})
	in, out, code, ok := restoreCommandLine(tf, args, stdout, stderr)
	if !ok {
		return code
	}
	err := restoreTool(in, out, func(r io.Reader, dev *block.FileDevice, _ uint64) error {
		return cache.Restore(r, in, dev, opt)
	})
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", tf.name(), err)
		return 1
	}
	return 0
}

// lexicalCastUint32 reads s as boost::lexical_cast<uint32_t> does: an optional
// sign, then decimal digits up to 2^32-1; a minus negates modulo 2^32.
func lexicalCastUint32(s string) (uint32, bool) {
	mag := s
	if len(mag) > 0 && (mag[0] == '-' || mag[0] == '+') {
		mag = mag[1:]
	}
	v, ok := lexicalCastUint64(mag)
	if !ok || v > 1<<32-1 || len(mag) > 0 && (mag[0] == '-' || mag[0] == '+') {
		return 0, false
	}
	if s[0] == '-' {
		return uint32(-v), true
	}
	return uint32(v), true
}
