package main

import (
	"io"

	"github.com/gdmsetup/gdmsetup/targets/cache"
)

// cacheDumpUsage is cache_dump's help.
const cacheDumpUsage = `Usage: gdmsetup cache dump [options] {device|file}
Options:
  {-h|--help}
  {-o <xml file>}
  {-V|--version}
  {--repair}
`

// cacheDumpOptions is cache_dump's getopt_long table.
var cacheDumpOptions = []longOption{
	{name: "help", key: "h"}, {name: "output", arg: requiredArgument, key: "o"},
	{name: "version", key: "V"}, {name: "repair"},
}

// cacheDump is `gdmsetup cache dump [-o OUT] [--repair] META`: cache_dump 0.9.0.
// It returns the exit code. META is only read.
func cacheDump(args []string, stdout, stderr io.Writer) int {
	tf := newCacheToolFlags("dump", "ho:V", cacheDumpOptions, cacheDumpUsage)
	out := "-"
	var repair bool
	tf.str("o", &out)
	tf.flag("repair", &repair)
	meta, code, ok := firstToolWord(tf, args, stdout, stderr)
	if !ok {
		return code
	}
	m, closeMeta, err := openToolMeta(meta, true, cache.OpenTool)
	if err != nil {
		return toolFail(stderr, tf, meta, err)
	}
	defer closeMeta()
	if err := writeToolOutput(out, stdout, func(w io.Writer) error { return m.Dump(w, repair) }); err != nil {
		return toolFail(stderr, tf, meta, err)
	}
	return 0
}
