package main

import (
	"fmt"
	"io"
)

// eraInvalidateUsage is era_invalidate's help.
const eraInvalidateUsage = `Usage: gdmsetup era invalidate [options] --written-since <era> {device|file}
Options:
  {-h|--help}
  {-o <xml file>}
  {--metadata-snapshot}
  {-V|--version}
`

// eraInvalidateOptions is era_invalidate's getopt_long table.
var eraInvalidateOptions = []longOption{
	{name: "help", key: "h"}, {name: "output", arg: requiredArgument, key: "o"},
	{name: "version", key: "V"}, {name: "metadata-snapshot"},
	{name: "written-since", arg: requiredArgument},
}

// eraInvalidate is `gdmsetup era invalidate --written-since ERA
// [--metadata-snapshot] [-o OUT] META`: era_invalidate 0.9.0. It returns the exit
// code. META is only read, with an exclusive claim unless --metadata-snapshot.
func eraInvalidate(args []string, stdout, stderr io.Writer) int {
	tf := newEraToolFlags("invalidate", "ho:V", eraInvalidateOptions, eraInvalidateUsage)
	out := "-"
	var snapshot, hasSince bool
	var since uint32
	tf.str("o", &out)
	tf.flag("metadata-snapshot", &snapshot)
	tf.on("written-since", func(s string, _ bool) error {
		v, ok := lexicalCastUint64(s)
		if !ok || v > 1<<32-1 && -v > 1<<32-1 {
			return errBadLexicalCast
		}
		since, hasSince = uint32(v), true
		return nil
	})
	meta, code, ok := firstToolWord(tf, args, stdout, stderr)
	if !ok {
		return code
	}
	if !hasSince {
		fmt.Fprintf(stderr, "Please specify --written-since\n%s", tf.usage)
		return 1
	}
	m, closeMeta, err := openEraMeta(meta, !snapshot)
	if err != nil {
		return toolFail(stderr, tf, meta, err)
	}
	defer closeMeta()
	err = writeToolOutput(out, stdout, func(w io.Writer) error { return m.WrittenSince(w, since, snapshot) })
	if err != nil {
		return toolFail(stderr, tf, meta, err)
	}
	return 0
}
