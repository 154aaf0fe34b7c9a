package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/gdmsetup/gdmsetup/targets/thinpool/metadata"
)

// thinDelta runs `gdmsetup thin delta` (thin_delta): --snap1/--thin1 ID and
// --snap2/--thin2 ID name the devices, --verbose lists data blocks, -m reads the
// metadata snapshot (-mBLOCK or -m=BLOCK: and checks it is the one held at BLOCK). It returns
// the exit code.
func thinDelta(fs *toolFlags, args []string, stdout, stderr io.Writer) int {
	var ids [2]thinID
	for i := range ids {
		n := strconv.Itoa(i + 1)
		fs.Var(&ids[i], "snap"+n, "thin device id `ID` of the "+[]string{"left", "right"}[i]+" side")
		fs.Var(&ids[i], "thin"+n, "same as --snap"+n)
	}
	verbose := fs.Bool("verbose", false, "list every range with its data blocks")
	snap := fs.metadataSnap()
	meta, code, ok := fs.metaPath(args, stderr)
	if !ok {
		return code
	}
	for i, id := range ids {
		if !id.set {
			fmt.Fprintf(stderr, "gdmsetup thin delta: --snap%d not specified\n%s", i+1, thinUsage)
			return 2
		}
	}
	err := func() error {
		p, closeMeta, err := snap.open(meta)
		if err != nil {
			return err
		}
		defer closeMeta()
		opt := metadata.DeltaOptions{MetadataSnap: snap.given, Verbose: *verbose}
		if err := p.Delta(stdout, ids[0].id, ids[1].id, opt); err != nil {
			return fmt.Errorf("%s: %w", meta, err)
		}
		return nil
	}()
	if err != nil {
		fmt.Fprintf(stderr, "gdmsetup thin delta: %v\n", err)
		return 1
	}
	return 0
}

// thinID is a thin device id option, remembering whether it was given.
type thinID struct {
	id  uint64
	set bool
}

func (t *thinID) String() string { return strconv.FormatUint(t.id, 10) }

func (t *thinID) Set(s string) error {
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("thin device id %q: not a number", s)
	}
	t.id, t.set = id, true
	return nil
}
