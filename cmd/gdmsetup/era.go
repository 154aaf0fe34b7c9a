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

// newEraToolFlags is the command line of `gdmsetup era cmd`, read as newToolFlags
// reads a thin command's.
func newEraToolFlags(cmd, short string, long []longOption, usage string) *toolFlags {
	tf := newToolFlags(cmd, short, long, usage)
	tf.table.prog = "gdmsetup era " + cmd
	return tf
}

// eraFail prints err, what the era tool prints, after the command's name and the
// input it concerns, and returns the exit code 1.
func eraFail(stderr io.Writer, tf *toolFlags, input string, err error) int {
	fmt.Fprintf(stderr, "%s: %s: %v\n", tf.name(), input, err)
	return 1
}

// openEraMeta opens the era metadata in file or device meta read-only as the era
// tools open it, with an exclusive claim when exclusive is set; close releases it.
func openEraMeta(meta string, exclusive bool) (m *era.ToolMetadata, close func() error, err error) {
	if err := eraStatPath(meta); err != nil {
		return nil, nil, err
	}
	f, nrBlocks, err := openMetaFile(meta, true, exclusive)
	if err != nil {
		return nil, nil, err
	}
	if m, err = era.OpenTool(f, int64(nrBlocks)*block.BlockSize); err != nil {
		f.Close()
		return nil, nil, err
	}
	return m, f.Close, nil
}

// eraStatPath refuses what the tools' get_file_length refuses: a path that does
// not exist ("Couldn't stat path"), or that is neither a regular file nor a block
// device ("bad path").
func eraStatPath(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return errors.New("Couldn't stat path")
	case fi.Mode().IsRegular() || fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0:
		return nil
	}
	return errors.New("bad path")
}

// writeEraOutput runs write on out ("-": stdout); a file is created, and removed
// again when write fails.
func writeEraOutput(out string, stdout io.Writer, write func(io.Writer) error) error {
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

// eraFirstWord parses args and returns the first word that is not an option, the
// metadata, as the era tools take argv[optind] (later words are ignored). When
// there is none it refuses the command line with the tools' sentence.
func eraFirstWord(tf *toolFlags, args []string, stdout, stderr io.Writer) (string, int, bool) {
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
