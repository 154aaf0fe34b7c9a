package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/gdmsetup/gdmsetup/targets/thinpool/metadata"
)

// thinDeltaUsage is thin_delta's help.
const thinDeltaUsage = `Usage: gdmsetup thin delta [options] <device or file>
Options:
  {--thin1, --snap1}
  {--thin2, --snap2}
  {-m, --metadata-snap} [block#]
  {--verbose}
  {-h|--help}
  {-V|--version}
`

// thinDeltaOptions is thin_delta's getopt_long table: --thin1 and --snap1 are one
// option, and so are --thin2 and --snap2.
var thinDeltaOptions = []longOption{
	{name: "help", key: "h"}, {name: "version", key: "V"},
	{name: "thin1", arg: requiredArgument, key: "snap1"}, {name: "snap1", arg: requiredArgument},
	{name: "thin2", arg: requiredArgument, key: "snap2"}, {name: "snap2", arg: requiredArgument},
	{name: "metadata-snap", arg: optionalArgument, key: "m"}, {name: "verbose"},
}

// thinDelta runs `gdmsetup thin delta` (thin_delta): --snap1/--thin1 ID and
// --snap2/--thin2 ID name the devices, --verbose lists data blocks, -m reads the
// metadata snapshot (-mBLOCK or --metadata-snap=BLOCK: and checks it is the one held
// at BLOCK). It returns the exit code.
func thinDelta(args []string, stdout, stderr io.Writer) int {
	tf := newToolFlags("delta", "hVm::", thinDeltaOptions, thinDeltaUsage)
	var ids [2]thinID
	for i := range ids {
		tf.on("snap"+strconv.Itoa(i+1), ids[i].set)
	}
	var verbose bool
	tf.flag("verbose", &verbose)
	snap := tf.metadataSnap()
	meta, code, ok := tf.metaPath(args, stdout, stderr, "No input device provided.")
	if !ok {
		return code
	}
	for i, id := range ids {
		if !id.given {
			return tf.refuse(stderr, fmt.Sprintf("--snap%d not specified.", i+1))
		}
	}
	err := func() error {
		p, closeMeta, err := snap.open(meta)
		if err != nil {
			return err
		}
		defer closeMeta()
		opt := metadata.DeltaOptions{MetadataSnap: snap.given, Verbose: verbose}
		if err := p.Delta(stdout, ids[0].id, ids[1].id, opt); err != nil {
			return fmt.Errorf("%s: %w", meta, err)
		}
		return nil
	}()
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", tf.name(), err)
		return 1
	}
	return 0
}

// thinID is a thin device id option, remembering whether it was given.
type thinID struct {
	id    uint64
	given bool
}

func (t *thinID) set(s string, _ bool) error {
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("thin device id %q: not a number", s)
	}
	t.id, t.given = id, true
	return nil
}
