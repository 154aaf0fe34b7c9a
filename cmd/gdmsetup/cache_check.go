package main

import (
	"fmt"
	"io"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/targets/cache"
)

// cacheCheckUsage is cache_check's help.
const cacheCheckUsage = `Usage: gdmsetup cache check [options] {device|file}
Options:
  {-q|--quiet}
  {-h|--help}
  {-V|--version}
  {--clear-needs-check-flag}
  {--super-block-only}
  {--skip-mappings}
  {--skip-hints}
  {--skip-discards}
`

// cacheCheckOptions is cache_check's getopt_long table.
var cacheCheckOptions = []longOption{
	{name: "quiet", key: "q"}, {name: "super-block-only"}, {name: "skip-mappings"},
	{name: "skip-hints"}, {name: "skip-discards"}, {name: "clear-needs-check-flag"},
	{name: "help", key: "h"}, {name: "version", key: "V"},
}

// cacheCheck is `gdmsetup cache check [options] META`: cache_check 0.9.0, whose
// report it prints on stderr (nothing with -q). It returns the exit code: 1 when
// the command line is refused, META cannot be read or is damaged. With
// --clear-needs-check-flag, clean metadata whose superblock asks for a check has
// that flag cleared.
func cacheCheck(args []string, stdout, stderr io.Writer) int {
	tf := newCacheToolFlags("check", "qhV", cacheCheckOptions, cacheCheckUsage)
	var quiet, clearNeedsCheck bool
	var opt cache.CheckOptions
	tf.flag("q", &quiet)
	tf.on("super-block-only", func(string, bool) error { opt.SkipMappings, opt.SkipHints = true, true; return nil })
	tf.flag("skip-mappings", &opt.SkipMappings)
	tf.flag("skip-hints", &opt.SkipHints)
	tf.flag("skip-discards", &opt.SkipDiscards)
	tf.flag("clear-needs-check-flag", &clearNeedsCheck)
	meta, code, ok := firstToolWord(tf, args, stdout, stderr)
	if !ok {
		return code
	}
	report := quietOr(stderr, quiet)
	f, size, ok := openCheckedMeta(tf, meta, clearNeedsCheck, report)
	if !ok {
		return 1
	}
	defer f.Close()
	return cacheCheckOn(f, size, tf.name(), meta, opt, clearNeedsCheck, report)
}

// cacheCheckOn is cache_check's work on the metadata open as f, sizeBytes long (named
// meta in what it reports, with name before it), for a file or a device-mapper device
// (lvm activate's check of a cache pool's metadata): the exit code, 0 when the
// metadata is clean (its needs-check flag then cleared, and f synced, with clear).
func cacheCheckOn(f block.Device, sizeBytes int64, name, meta string, opt cache.CheckOptions, clear bool, report io.Writer) int {
	res, err := cache.Check(f, sizeBytes, opt, report)
	if err != nil {
		fmt.Fprintf(report, "%s: %s: %v\n", name, meta, err)
		return 1
	}
	if !res.Clean {
		return 1
	}
	if clear && res.NeedsCheck {
		if err := cache.ClearNeedsCheck(f); err != nil {
			fmt.Fprintf(report, "%s: %s: %v\n", name, meta, err)
			return 1
		}
		if err := f.Sync(); err != nil {
			fmt.Fprintf(report, "%s: %s: %v\n", name, meta, err)
			return 1
		}
	}
	return 0
}
