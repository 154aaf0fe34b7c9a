package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/gdmsetup/gdmsetup/targets/thinpool/metadata"
)

// toolFlags reads the command line of a thin-provisioning-tools command with
// Go's flag package, flags allowed before, between and after the other words
// (getopt_long permutes them so) until "--".
//
// A value the tool itself refuses (a bad --region, an invalid unit) is
// recorded by refuse: parse then prints that error alone, with the tool's
// words, and the command exits 1 as the tool does. A malformed command line
// (an unknown flag, a missing value) prints flag's message and the thin
// usage, and exits 2 as the other thin commands do.
type toolFlags struct {
	*flag.FlagSet
	refused error // the first value refused by the tool's own checks
}

func newToolFlags(cmd string) *toolFlags {
	fs := flag.NewFlagSet("gdmsetup thin "+cmd, flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), thinUsage) }
	return &toolFlags{FlagSet: fs}
}

// refuse records err as the tool's refusal of a flag's value and returns it.
func (t *toolFlags) refuse(err error) error {
	if t.refused == nil {
		t.refused = err
	}
	return err
}

// parse parses args and returns the words that are not flags. When ok is
// false it has printed why to stderr and the command exits with code.
func (t *toolFlags) parse(args []string, stderr io.Writer) (words []string, code int, ok bool) {
	var msgs bytes.Buffer
	t.SetOutput(&msgs)
	args = t.glued(args)
	for {
		if err := t.Parse(args); err != nil {
			if t.refused != nil {
				fmt.Fprintf(stderr, "%s: %v\n", t.Name(), t.refused)
				return nil, 1, false
			}
			stderr.Write(msgs.Bytes())
			return nil, 2, false
		}
		rest := t.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(words, rest...), 0, true
		}
		if len(rest) == 0 {
			return words, 0, true
		}
		words = append(words, rest[0])
		args = rest[1:]
	}
}

// glued rewrites getopt's one-letter options with their value attached (-b64k,
// -oFILE, and -mBLOCK for a flag whose value is optional) as -b=64k, the form package
// flag reads. A word that is the value of the flag before it is left alone, as are
// clusters of boolean flags and everything after "--".
func (t *toolFlags) glued(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) < 2 || a[0] != '-' || a[1] == '-' {
			out = append(out, a)
			continue
		}
		f := t.Lookup(a[1:2])
		if f == nil {
			out = append(out, a)
			continue
		}
		_, optional := f.Value.(optionalFlag)
		isBool := false
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() && !optional {
			isBool = true
		}
		switch {
		case len(a) == 2:
			out = append(out, a)
			if !isBool && !optional && i+1 < len(args) {
				i++
				out = append(out, args[i])
			}
		case a[2] == '=' || isBool:
			out = append(out, a)
		default:
			out = append(out, a[:2]+"="+a[2:])
		}
	}
	return out
}

// metadataSnap registers -m and --metadata-snap as thin_dump and thin_delta read
// them: alone, or with the block the snapshot is held at (-mBLOCK, -m=BLOCK).
func (t *toolFlags) metadataSnap() *metadataSnapFlag {
	snap := &metadataSnapFlag{}
	t.Var(optionalFlag(snap.set), "m", "read the metadata snapshot (-mBLOCK: the one held at BLOCK)")
	t.Var(optionalFlag(snap.set), "metadata-snap", "same as -m")
	return snap
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

// open opens the pool metadata in meta read-only as openThinMeta does, refusing a
// -mBLOCK that is not the block its superblock holds the snapshot at.
func (m *metadataSnapFlag) open(meta string) (p *metadata.Pool, close func() error, err error) {
	p, close, err = openThinMeta(meta)
	if err != nil {
		return nil, nil, err
	}
	if held := p.HeldRoot(); m.hasBlock && held != 0 && held != m.block {
		close()
		return nil, nil, fmt.Errorf("%s: metadata snapshot block %d does not match the superblock's (%d)", meta, m.block, held)
	}
	return p, close, nil
}

// metaPath parses args, whose one word that is not a flag is the metadata file,
// and returns that word. When ok is false it has printed why to stderr and the
// command exits with code.
func (t *toolFlags) metaPath(args []string, stderr io.Writer) (meta string, code int, ok bool) {
	words, code, ok := t.parse(args, stderr)
	if ok && len(words) != 1 {
		fmt.Fprintf(stderr, "%s: need exactly one metadata file\n%s", t.Name(), thinUsage)
		return "", 2, false
	}
	if !ok {
		return "", code, false
	}
	return words[0], 0, true
}

// optionalFlag is a flag whose value is optional, given as -x=VALUE: set gets
// VALUE, or "true" for a bare -x.
type optionalFlag func(value string) error

func (f optionalFlag) String() string     { return "" }
func (f optionalFlag) Set(s string) error { return f(s) }
func (f optionalFlag) IsBoolFlag() bool   { return true }
