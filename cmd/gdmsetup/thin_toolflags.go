package main

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/gdmsetup/gdmsetup/targets/thinpool/metadata"
)

// thinToolsVersion is the thin-provisioning-tools release whose formats, outputs
// and command lines the thin commands reproduce.
const thinToolsVersion = "0.9.0"

// toolFlags reads the command line of a thin-provisioning-tools command as the
// tool does: getopt_long (optionTable.scan) over the tool's option table, each
// option acted on in command-line order. -h/--help prints the command's help on
// stdout and -V/--version its version line, and the command then exits 0; a
// malformed option (getopt's message, then the usage) or a value an option's
// action refuses (its error alone) stops the command with exit code 1, as the
// tools do.
type toolFlags struct {
	table   optionTable // table.prog is the command's name, e.g. "gdmsetup thin dump"
	help    string      // -h's text
	usage   string      // printed on stderr after a refused command line ("" none)
	actions map[string]func(value string, hasValue bool) error
}

// newToolFlags is the command line of `gdmsetup thin cmd`, whose tool's getopt_long
// table is short and long (keys: the letter of an option that has one, else the
// long name); usage is the tool's help, printed for -h and after a refusal.
func newToolFlags(cmd, short string, long []longOption, usage string) *toolFlags {
	return &toolFlags{
		table:   optionTable{prog: "gdmsetup thin " + cmd, short: short, long: long},
		help:    usage,
		usage:   usage,
		actions: map[string]func(string, bool) error{},
	}
}

// name is the command's name, the prefix of its messages.
func (t *toolFlags) name() string { return t.table.prog }

// on makes fn what the option recorded under key does each time it is given
// (hasValue: with a value, perhaps empty); an error from fn refuses the command line.
func (t *toolFlags) on(key string, fn func(value string, hasValue bool) error) {
	t.actions[key] = fn
}

// flag sets *p when the option recorded under key is given.
func (t *toolFlags) flag(key string, p *bool) {
	t.on(key, func(string, bool) error { *p = true; return nil })
}

// str stores in *p the value of the option recorded under key (the last one given).
func (t *toolFlags) str(key string, p *string) {
	t.on(key, func(v string, _ bool) error { *p = v; return nil })
}

// parse reads args and returns the words that are not options. When ok is false
// the command is over: it has printed the help or version on stdout, or why it
// refuses the command line on stderr, and exits with code.
func (t *toolFlags) parse(args []string, stdout, stderr io.Writer) (words []string, code int, ok bool) {
	if key := t.unhandled(); key != "" {
		fmt.Fprintf(stderr, "%s: option %q of its table has no action\n", t.name(), key)
		return nil, 1, false
	}
	found, idx := t.table.scan(args, 0)
	for _, f := range found {
		var err error
		switch {
		case f.err != "":
			fmt.Fprintf(stderr, "%s\n%s", f.err, t.usage)
			return nil, 1, false
		case f.key == "h":
			io.WriteString(stdout, t.help)
			return nil, 0, false
		case f.key == "V":
			fmt.Fprintln(stdout, toolVersion())
			return nil, 0, false
		default:
			err = t.actions[f.key](f.value, f.hasValue)
		}
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", t.name(), err)
			return nil, 1, false
		}
	}
	for _, i := range idx {
		words = append(words, args[i])
	}
	return words, 0, true
}

// unhandled is a key of the table that has no action ("" when all have one).
func (t *toolFlags) unhandled() string {
	keys := []string{}
	for i := 0; i < len(t.table.short); i++ {
		if c := t.table.short[i]; c != ':' {
			keys = append(keys, string(c))
		}
	}
	for _, o := range t.table.long {
		keys = append(keys, o.keyOf())
	}
	for _, k := range keys {
		if _, ok := t.actions[k]; !ok && k != "h" && k != "V" {
			return k
		}
	}
	return ""
}

// refuse prints why the command line is refused (the tool's sentence, or ours),
// then the usage, and returns the exit code 1.
func (t *toolFlags) refuse(stderr io.Writer, why string) int {
	fmt.Fprintf(stderr, "%s: %s\n%s", t.name(), why, t.usage)
	return 1
}

// toolVersion is the line -V prints: gdmsetup's version (its module's, "devel"
// when built from a work tree) and the thin-provisioning-tools release it matches.
func toolVersion() string {
	v := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	return fmt.Sprintf("gdmsetup %s (thin-provisioning-tools %s)", v, thinToolsVersion)
}

// metadataSnap makes -m and --metadata-snap read as thin_dump and thin_delta read
// them: alone, or with the block the snapshot is held at (-mBLOCK,
// --metadata-snap=BLOCK).
func (t *toolFlags) metadataSnap() *metadataSnapFlag {
	snap := &metadataSnapFlag{}
	t.on("m", snap.set)
	return snap
}

// metadataSnapFlag is thin-provisioning-tools' -m/--metadata-snap: given alone it
// selects the held metadata snapshot; given a block (-mBLOCK) it also requires the
// snapshot to be held at that block.
type metadataSnapFlag struct {
	given    bool
	block    uint64
	hasBlock bool
}

func (m *metadataSnapFlag) set(s string, hasBlock bool) error {
	m.given = true
	if !hasBlock {
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
	p, close, err = openThinMeta(meta, !m.given)
	if err != nil {
		return nil, nil, err
	}
	if held := p.HeldRoot(); m.hasBlock && held != 0 && held != m.block {
		close()
		return nil, nil, fmt.Errorf("%s: metadata snapshot block %d does not match the superblock's (%d)", meta, m.block, held)
	}
	return p, close, nil
}

// metaPath parses args, whose one word that is not an option is the metadata file,
// and returns that word. When ok is false the command is over and exits with code
// (see parse and metaWord).
func (t *toolFlags) metaPath(args []string, stdout, stderr io.Writer, missing string) (meta string, code int, ok bool) {
	words, code, ok := t.parse(args, stdout, stderr)
	if !ok {
		return "", code, false
	}
	return t.metaWord(words, stderr, missing)
}

// metaWord returns the one word of words, the metadata file. When there is none it
// refuses the command line with missing, the tool's sentence; when there are more,
// with ours; ok is then false and the command exits with code.
func (t *toolFlags) metaWord(words []string, stderr io.Writer, missing string) (meta string, code int, ok bool) {
	switch len(words) {
	case 0:
		return "", t.refuse(stderr, missing), false
	case 1:
		return words[0], 0, true
	}
	return "", t.refuse(stderr, fmt.Sprintf("one metadata file, not also %q", words[1])), false
}

// errBadLexicalCast is boost's message for a number lexicalCastUint64 refuses,
// which thin-provisioning-tools 0.9.0 prints as its whole refusal.
var errBadLexicalCast = errors.New("bad lexical cast: source type value could not be interpreted as target")

// lexicalCastUint64 reads s as boost::lexical_cast<uint64_t> does: an optional
// sign, then decimal digits up to 2^64-1; a minus negates modulo 2^64.
func lexicalCastUint64(s string) (uint64, bool) {
	neg := strings.HasPrefix(s, "-")
	if neg || strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}
