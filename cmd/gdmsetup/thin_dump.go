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

// thinDump is `gdmsetup thin dump [options] META`: thin_dump 0.9.0. It writes the
// pool in META as thin_dump's XML, or its human_readable format, and returns the exit
// code. META is only read.
func thinDump(tf *toolFlags, args []string, stdout, stderr io.Writer) int {
	var opts metadata.DumpOptions
	out := tf.String("o", "", "write to this file instead of stdout")
	tf.StringVar(out, "output", "", "same as -o")
	snap := tf.metadataSnap()
	repair := tf.Bool("repair", false, "dump what can be recovered from damaged metadata")
	tf.BoolVar(repair, "r", false, "same as --repair")
	format := func(s string) error {
		switch {
		case s == "xml":
			opts.HumanReadable = false
		case s == "human_readable":
			opts.HumanReadable = true
		case strings.HasPrefix(s, "custom="):
			return tf.refuse(fmt.Errorf("format %q: gdmsetup loads no emitter libraries", s))
		default:
			return tf.refuse(fmt.Errorf("unknown format '%s'", s))
		}
		return nil
	}
	tf.Func("f", "output format: xml or human_readable", format)
	tf.Func("format", "same as -f", format)
	tf.Func("dev-id", "dump only this device (repeatable)", func(s string) error {
		id, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return tf.refuse(fmt.Errorf("couldn't parse <dev-id> %q", s))
		}
		opts.Devices = append(opts.Devices, id)
		return nil
	})
	tf.BoolVar(&opts.SkipMappings, "skip-mappings", false, "the devices without their mappings")
	overrides := superblockOverrideFlags(tf)
	meta, code, ok := tf.metaPath(args, stderr)
	if !ok {
		return code
	}
	opts.Overrides, opts.MetadataSnap = *overrides, snap.given
	if *repair && (opts.MetadataSnap || opts.Devices != nil || opts.SkipMappings) {
		fmt.Fprint(stderr, "gdmsetup thin dump: --repair dumps every device of the live metadata with its mappings: "+
			"it takes no -m, --dev-id or --skip-mappings\n")
		return 2
	}
	if err := writeDump(meta, *out, *repair, snap, opts, stdout); err != nil {
		fmt.Fprintf(stderr, "gdmsetup thin dump: %v\n", err)
		return 1
	}
	return 0
}

// writeDump writes the dump of the metadata in meta to out (stdout when empty): the
// pool as opts say, or what a repair recovers.
func writeDump(meta, out string, repair bool, snap *metadataSnapFlag, opts metadata.DumpOptions, stdout io.Writer) error {
	var dump func(w io.Writer) error
	if repair {
		f, nrBlocks, err := openMetaFile(meta, true)
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
