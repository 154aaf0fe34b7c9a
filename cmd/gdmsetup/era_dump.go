package main

import "io"

// eraDumpUsage is era_dump's help.
const eraDumpUsage = `Usage: gdmsetup era dump [options] {device|file}
Options:
  {-h|--help}
  {-o <xml file>}
  {-V|--version}
  {--repair}
  {--logical}
`

// eraDumpOptions is era_dump's getopt_long table.
var eraDumpOptions = []longOption{
	{name: "help", key: "h"}, {name: "output", arg: requiredArgument, key: "o"},
	{name: "version", key: "V"}, {name: "repair"}, {name: "logical"},
}

// eraDump is `gdmsetup era dump [-o OUT] [--repair] [--logical] META`: era_dump
// 0.9.0. It returns the exit code. META is only read.
func eraDump(args []string, stdout, stderr io.Writer) int {
	tf := newEraToolFlags("dump", "ho:V", eraDumpOptions, eraDumpUsage)
	out := "-"
	var repair, logical bool
	tf.str("o", &out)
	tf.flag("repair", &repair)
	tf.flag("logical", &logical)
	meta, code, ok := firstToolWord(tf, args, stdout, stderr)
	if !ok {
		return code
	}
	m, closeMeta, err := openEraMeta(meta, true)
	if err != nil {
		return toolFail(stderr, tf, meta, err)
	}
	defer closeMeta()
	err = writeToolOutput(out, stdout, func(w io.Writer) error { return m.Dump(w, repair, logical) })
	if err != nil {
		return toolFail(stderr, tf, meta, err)
	}
	return 0
}
