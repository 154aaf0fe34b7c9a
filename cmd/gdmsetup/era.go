package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/targets/era"
)

const eraUsage = `usage:
  gdmsetup era dump [-o OUT] [--repair] [--logical] META
                                                  era_dump's XML: archived writesets and the era array
  gdmsetup era invalidate --written-since ERA [--metadata-snapshot] [-o OUT] META
                                                  era_invalidate: the blocks written since era ERA
  gdmsetup era check [-q] [--super-block-only] META
                                                  era_check: walk every structure; exit 1 on damage
  gdmsetup era restore -i IN.xml -o META         era_restore: write the metadata IN.xml describes
Each command reads its tool's options (thin-provisioning-tools 0.9.0) as getopt_long
does (-oFILE, --opt=VALUE, --abbrev, options after META, --); -h prints its help,
-V its version. OUT "-" is stdout. Exit codes: 0 success; 1 failure, damage found or
a refused command line.
`

// eraSuite is `gdmsetup era`: thin-provisioning-tools' era_* programs.
var eraSuite = &toolSuite{word: "era", usage: eraUsage, commands: []toolCommand{
	{"dump", noStdin(eraDump)}, {"invalidate", noStdin(eraInvalidate)},
	{"check", noStdin(eraCheck)}, {"restore", noStdin(eraRestore)},
}}

// newEraToolFlags is the command line of `gdmsetup era cmd`.
func newEraToolFlags(cmd, short string, long []longOption, usage string) *toolFlags {
	return newSuiteToolFlags("era", cmd, short, long, usage)
}

// newSuiteToolFlags is the command line of `gdmsetup SUITE cmd`, read as
// newToolFlags reads a thin command's.
func newSuiteToolFlags(suite, cmd, short string, long []longOption, usage string) *toolFlags {
	tf := newToolFlags(cmd, short, long, usage)
	tf.table.prog = "gdmsetup " + suite + " " + cmd
	return tf
}

// toolFail prints err, what the era tool prints, after the command's name and the
// input it concerns, and returns the exit code 1.
func toolFail(stderr io.Writer, tf *toolFlags, input string, err error) int {
	fmt.Fprintf(stderr, "%s: %s: %v\n", tf.name(), input, err)
	return 1
}

// openEraMeta opens the era metadata in file or device meta read-only as the era
// tools open it, with an exclusive claim when exclusive is set; close releases it.
func openEraMeta(meta string, exclusive bool) (*era.ToolMetadata, func() error, error) {
	return openToolMeta(meta, exclusive, era.OpenTool)
}

// openToolMeta opens the metadata in file or device meta read-only with open
// (a suite's OpenTool), with an exclusive claim when exclusive is set; close
// releases it.
func openToolMeta[M any](meta string, exclusive bool, open func(io.ReaderAt, int64) (M, error)) (m M, close func() error, err error) {
	if err := toolStatPath(meta); err != nil {
		return m, nil, err
	}
	f, nrBlocks, err := openMetaFile(meta, true, exclusive)
	if err != nil {
		return m, nil, err
	}
	if m, err = open(f, int64(nrBlocks)*block.BlockSize); err != nil {
		f.Close()
		return m, nil, err
	}
	return m, f.Close, nil
}

// toolStatPath refuses what the tools' get_file_length refuses: a path that does
// not exist ("Couldn't stat path"), or that is neither a regular file nor a block
// device ("bad path").
func toolStatPath(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return errors.New("Couldn't stat path")
	case fi.Mode().IsRegular() || fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0:
		return nil
	}
	return errors.New("bad path")
}

// writeToolOutput runs write on out ("-": stdout); a file is created, and removed
// again when write fails.
func writeToolOutput(out string, stdout io.Writer, write func(io.Writer) error) error {
	if out == "-" {
		return write(stdout)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return errors.Join(err, os.Remove(out))
	}
	return f.Close()
}

// firstToolWord parses args and returns the first word that is not an option, the
// metadata, as the era tools take argv[optind] (later words are ignored). When
// there is none it refuses the command line with the tools' sentence.
func firstToolWord(tf *toolFlags, args []string, stdout, stderr io.Writer) (string, int, bool) {
	words, code, ok := tf.parse(args, stdout, stderr)
	switch {
	case !ok:
		return "", code, false
	case len(words) == 0:
		fmt.Fprintf(stderr, "No input file provided.\n%s", tf.usage)
		return "", 1, false
	}
	return words[0], 0, true
}
