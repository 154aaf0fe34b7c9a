package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/gdmsetup/gdmsetup/targets/thinpool/metadata"
)

// thinDumpUsage is thin_dump's help.
const thinDumpUsage = `Usage: gdmsetup thin dump [options] {device|file}
Options:
  {-h|--help}
  {-f|--format} {xml|human_readable|custom}
  {-r|--repair}
  {-m|--metadata-snap} [block#]
  {-o <xml file>}
  {--dev-id} <dev-id>
  {--skip-mappings}
  {-V|--version}
`

// thinDumpOptions is thin_dump's getopt_long table.
var thinDumpOptions = []longOption{
	{name: "help", key: "h"}, {name: "metadata-snap", arg: optionalArgument, key: "m"},
	{name: "output", arg: requiredArgument, key: "o"}, {name: "format", arg: requiredArgument, key: "f"},
	{name: "repair", key: "r"}, {name: "dev-id", arg: requiredArgument}, {name: "skip-mappings"},
	{name: "transaction-id", arg: requiredArgument}, {name: "data-block-size", arg: requiredArgument},
	{name: "nr-data-blocks", arg: requiredArgument}, {name: "version", key: "V"},
}

// thinDump is `gdmsetup thin dump [options] META`: thin_dump 0.9.0. It writes the
// pool in META as thin_dump's XML, or its human_readable format, and returns the exit
// code. META is only read.
func thinDump(args []string, stdout, stderr io.Writer) int {
	tf := newToolFlags("dump", "hm::o:f:rV", thinDumpOptions, thinDumpUsage)
	var opts metadata.DumpOptions
	var out string
	var repair bool
	tf.str("o", &out)
	snap := tf.metadataSnap()
	tf.flag("r", &repair)
	tf.on("f", func(s string, _ bool) error {
		switch {
		case s == "xml":
			opts.HumanReadable = false
		case s == "human_readable":
			opts.HumanReadable = true
		case strings.HasPrefix(s, "custom="):
			return fmt.Errorf("format %q: gdmsetup loads no emitter libraries", s)
		default:
			return fmt.Errorf("unknown format '%s'", s)
		}
		return nil
	})
	tf.on("dev-id", func(s string, _ bool) error {
		id, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return fmt.Errorf("couldn't parse <dev-id> %q", s)
		}
		opts.Devices = append(opts.Devices, id)
		return nil
	})
	tf.flag("skip-mappings", &opts.SkipMappings)
	overrides := superblockOverrideFlags(tf)
	meta, code, ok := tf.metaPath(args, stdout, stderr, "No input file provided.")
	if !ok {
		return code
	}
	opts.Overrides, opts.MetadataSnap = *overrides, snap.given
	if repair && (opts.MetadataSnap || opts.Devices != nil || opts.SkipMappings) {
		return tf.refuse(stderr, "--repair dumps every device of the live metadata with its mappings: "+
			"it takes no -m, --dev-id or --skip-mappings")
	}
	if err := writeDump(meta, out, repair, snap, opts, stdout); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", tf.name(), err)
		return 1
	}
	return 0
}

// writeDump writes the dump of the metadata in meta to out (stdout when empty): the
// pool as opts say, or what a repair recovers.
func writeDump(meta, out string, repair bool, snap *metadataSnapFlag, opts metadata.DumpOptions, stdout io.Writer) error {
	var dump func(w io.Writer) error
	if repair {
		f, nrBlocks, err := openMetaFile(meta, true, true)
		if err != nil {
			return err
		}
		defer f.Close()
		dump = func(w io.Writer) error { return metadata.RepairDump(f, nrBlocks, opts, w) }
	} else {
		p, closeMeta, err := snap.open(meta)
		if err != nil {
			return err
		}
		defer closeMeta()
		dump = func(w io.Writer) error { return p.DumpWith(w, opts) }
	}
	if out == "" {
		if err := dump(stdout); err != nil {
			return fmt.Errorf("%s: %w", meta, err)
		}
		return nil
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := dump(f); err != nil {
		return errors.Join(fmt.Errorf("%s: %w", meta, err), os.Remove(out))
	}
	return f.Close()
}
