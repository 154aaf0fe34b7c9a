package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

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
	var snap metadataSnapFlag
	fs.Var(optionalFlag(snap.set), "m", "read the metadata snapshot (-m=BLOCK: the one held at BLOCK)")
	fs.Var(optionalFlag(snap.set), "metadata-snap", "same as -m")
	meta, code, ok := fs.metaPath(attachedSnapBlock(args), stderr)
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
		p, closeMeta, err := openThinMeta(meta)
		if err != nil {
			return err
		}
		defer closeMeta()
		if err := snap.check(p); err != nil {
			return fmt.Errorf("%s: %w", meta, err)
		}
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

// attachedSnapBlock rewrites getopt's -mBLOCK (a block number attached to -m) as
// -m=BLOCK, the form package flag reads.
func attachedSnapBlock(args []string) []string {
	out := slices.Clone(args)
	for i, a := range out {
		if len(a) > 2 && strings.HasPrefix(a, "-m") && strings.Trim(a[2:], "0123456789") == "" {
			out[i] = "-m=" + a[2:]
		}
	}
	return out
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

// metadataSnapFlag is thin-provisioning-tools' -m/--metadata-snap: given alone it
// selects the held metadata snapshot; given a block (-m=BLOCK) it also requires the
// snapshot to be held at that block.
type metadataSnapFlag struct {
	given    bool
	block    uint64
	hasBlock bool
}

func (m *metadataSnapFlag) set(s string) error {
	m.given = true
	if s == "true" {
		return nil
	}
	b, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("metadata snapshot block %q: not a number", s)
	}
	m.block, m.hasBlock = b, true
	return nil
}

// check refuses a -m=BLOCK that is not the block p's superblock holds.
func (m *metadataSnapFlag) check(p *metadata.Pool) error {
	if held := p.HeldRoot(); m.hasBlock && held != 0 && held != m.block {
		return fmt.Errorf("metadata snapshot block %d does not match the superblock's (%d)", m.block, held)
	}
	return nil
}
