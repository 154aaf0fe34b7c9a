package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
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
