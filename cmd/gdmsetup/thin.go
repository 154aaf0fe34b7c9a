package main

import (
	"fmt"
	"io"
	"os"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/targets/thinpool/metadata"
)

const thinUsage = `usage:
  gdmsetup thin dump [-m[BLOCK]] [-r] [-o OUT] [-f xml|human_readable] [--dev-id ID]... [--skip-mappings]
                    [OVERRIDES] META              print thin_dump's XML (-m: the metadata snapshot;
                                                  -r/--repair: what can be recovered from damaged metadata)
  gdmsetup thin restore -i IN.xml -o META [OVERRIDES]
                                                  write the pool described by IN.xml into META (must exist)
  gdmsetup thin check [-q] [-m] [--super-block-only|--skip-mappings] [--ignore-non-fatal-errors]
                    [--override-mapping-root BLOCK] [--auto-repair] [--clear-needs-check-flag] META
                                                  walk every structure; exit 1 on damage
  gdmsetup thin repair -i META -o NEWMETA [OVERRIDES]
                                                  thin_repair: write what dump --repair recovers into NEWMETA
  gdmsetup thin delta [-m[BLOCK]] [--verbose] --snap1 ID --snap2 ID META
                                                  thin_delta's XML: how two thin devices' mappings differ
  gdmsetup thin ls [-m] [--no-headers] [-o FIELDS] META
                                                  thin_ls's table of thin devices and their data blocks
  gdmsetup thin rmap --region B..E [--region B..E ...] META
                                                  thin_rmap: the thin blocks mapping data blocks B to E-1
  gdmsetup thin trim --metadata-dev META --data-dev DATA
                                                  thin_trim: discard the data blocks the pool holds free
  gdmsetup thin metadata_size -b BLOCK -s POOL -m MAXTHINS [-u UNIT] [-n[short|long]]
                                                  thin_metadata_size: the metadata size a pool needs
OVERRIDES replace superblock fields, and are all needed when the superblock is unreadable:
  --transaction-id N  --data-block-size SECTORS  --nr-data-blocks N
Each command reads its tool's options as getopt_long does (-qq, -oFILE, --opt=VALUE,
--abbrev, options after META, --); -h prints its help, -V its version.
Exit codes: 0 success; 1 failure, damage found or a refused command line.
`

// thinSuite is `gdmsetup thin`: thin-provisioning-tools' thin_* programs.
var thinSuite = &toolSuite{word: "thin", usage: thinUsage, commands: []toolCommand{
	{"dump", noStdin(thinDump)}, {"restore", thinRestore}, {"check", noStdin(thinCheck)},
	{"repair", noStdin(thinRepair)}, {"delta", noStdin(thinDelta)}, {"ls", noStdin(thinLs)},
	{"rmap", noStdin(thinRmap)}, {"trim", noStdin(thinTrim)}, {"metadata_size", noStdin(thinMetadataSize)},
}}

// thinRestoreUsage is thin_restore's help.
const thinRestoreUsage = `Usage: gdmsetup thin restore [options]
Options:
  {-h|--help}
  {-i|--input} <input xml file>
  {-o|--output} <output device or file>
  {--transaction-id} <natural>
  {--data-block-size} <natural>
  {--nr-data-blocks} <natural>
  {-q|--quiet}
  {-V|--version}
`

// thinRestoreOptions is thin_restore's getopt_long table.
var thinRestoreOptions = []longOption{
	{name: "help", key: "h"}, {name: "input", arg: requiredArgument, key: "i"},
	{name: "output", arg: requiredArgument, key: "o"}, {name: "transaction-id", arg: requiredArgument},
	{name: "data-block-size", arg: requiredArgument}, {name: "nr-data-blocks", arg: requiredArgument},
	{name: "quiet", key: "q"}, {name: "version", key: "V"},
}

// thinRestore is `gdmsetup thin restore -i IN.xml -o META [OVERRIDES]`: thin_restore
// 0.9.0 (-q is accepted: gdmsetup shows no progress to quieten). It returns the exit code.
func thinRestore(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	tf := newToolFlags("restore", "hi:o:qV", thinRestoreOptions, thinRestoreUsage)
	var in, out string
	var quiet bool
	tf.str("i", &in)
	tf.str("o", &out)
	tf.flag("q", &quiet)
	overrides := superblockOverrideFlags(tf)
	words, code, ok := tf.parse(args, stdout, stderr)
	switch {
	case !ok:
		return code
	case len(words) != 0:
		return tf.refuse(stderr, fmt.Sprintf("unexpected argument %q: the input is -i's, the output -o's", words[0]))
	case in == "":
		return tf.refuse(stderr, "No input file provided.\n")
	case out == "":
		return tf.refuse(stderr, "No output file provided.\n")
	}
	if err := restoreMeta(in, out, *overrides, stdin); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", tf.name(), err)
		return 1
	}
	return 0
}

// restoreMeta writes the pool the XML in file in ("-": stdin) describes, with o's
// superblock fields, into the metadata file or device meta.
func restoreMeta(in, meta string, o metadata.SuperblockOverrides, stdin io.Reader) error {
	r := stdin
	name := "stdin"
	if in != "-" {
		f, err := os.Open(in)
		if err != nil {
			return err
		}
		defer f.Close()
		r, name = f, in
	}
	f, nrBlocks, err := openMetaFile(meta, false, true)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := metadata.RestoreXML(r, name, f, nrBlocks, o); err != nil {
		return fmt.Errorf("%s: %w", meta, err)
	}
	return f.Close()
}

// thinCheckUsage is thin_check's help.
const thinCheckUsage = `Usage: gdmsetup thin check [options] {device|file}
Options:
  {-q|--quiet}
  {-h|--help}
  {-V|--version}
  {-m|--metadata-snap}
  {--auto-repair}
  {--override-mapping-root}
  {--clear-needs-check-flag}
  {--ignore-non-fatal-errors}
  {--skip-mappings}
  {--super-block-only}
`

// thinCheckOptions is thin_check's getopt_long table.
var thinCheckOptions = []longOption{
	{name: "quiet", key: "q"}, {name: "help", key: "h"}, {name: "version", key: "V"},
	{name: "metadata-snap", key: "m"}, {name: "super-block-only"}, {name: "skip-mappings"},
	{name: "ignore-non-fatal-errors"}, {name: "clear-needs-check-flag"},
	{name: "override-mapping-root", arg: requiredArgument}, {name: "auto-repair"},
}

// thinCheck is `gdmsetup thin check [-q] [-m] [--super-block-only|--skip-mappings]
// [--ignore-non-fatal-errors] [--override-mapping-root BLOCK] [--auto-repair]
// [--clear-needs-check-flag] META`: thin_check 0.9.0's command line. It returns the
// exit code: 1 when the command line is refused, META cannot be read or is damaged
// (with --ignore-non-fatal-errors: damaged by more than leaks); as thin_check, -q
// silences the refusal of a missing META.
func thinCheck(args []string, stdout, stderr io.Writer) int {
	tf := newToolFlags("check", "qhVm", thinCheckOptions, thinCheckUsage)
	var quiet, clear, repair bool
	var opt metadata.CheckOptions
	tf.flag("q", &quiet)
	tf.flag("clear-needs-check-flag", &clear)
	tf.flag("auto-repair", &repair)
	tf.flag("m", &opt.MetadataSnap)
	tf.flag("super-block-only", &opt.SuperblockOnly)
	tf.flag("skip-mappings", &opt.SkipMappings)
	tf.flag("ignore-non-fatal-errors", &opt.IgnoreNonFatal)
	tf.on("override-mapping-root", func(s string, _ bool) error {
		b, ok := lexicalCastUint64(s)
		if !ok {
			return errBadLexicalCast
		}
		opt.OverrideMappingRoot, opt.MappingRoot = true, b
		return nil
	})
	words, code, ok := tf.parse(args, stdout, stderr)
	if !ok {
		return code
	}
	if why := fixConformance(opt, clear || repair); why != "" {
		fmt.Fprintf(stderr, "%s\n%s", why, thinCheckUsage)
		return 1
	}
	if len(words) == 0 && quiet {
		return 1
	}
	meta, code, ok := tf.metaWord(words, stderr, "No input file provided.")
	if !ok {
		return code
	}
	return checkMeta(tf.name(), meta, opt, quiet, clear, repair, stdout, stderr)
}

// fixConformance is thin_check's refusal of a fix (--auto-repair or
// --clear-needs-check-flag) with options that narrow the check; "" when there is none.
func fixConformance(opt metadata.CheckOptions, fix bool) string {
	switch {
	case !fix:
		return ""
	case opt.IgnoreNonFatal:
		return "cannot perform fix by ignoring non-fatal errors"
	case opt.MetadataSnap:
		return "cannot perform fix within metadata snap"
	case opt.OverrideMappingRoot:
		return "cannot perform fix with an overridden mapping root"
	case opt.SuperblockOnly || opt.SkipMappings:
		return "cannot perform fix without a full examination"
	}
	return ""
}

// checkMeta checks the metadata in file or device meta as opt says and returns the
// exit code, printing what it finds unless quiet; name prefixes its errors. With
// repair, leaked blocks are freed as thin_check --auto-repair frees them; with clear
// or repair, metadata that is then clean has its needs_check flag cleared. A check
// of the metadata snapshot may run under a live pool.
func checkMeta(name, meta string, opt metadata.CheckOptions, quiet, clear, repair bool, stdout, stderr io.Writer) int {
	f, _, err := openMetaFile(meta, !clear && !repair, !opt.MetadataSnap)
	if err != nil {
		if !quiet {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
		}
		return 1
	}
	defer f.Close()
	return checkMetaOn(f, name, meta, opt, quiet, clear, repair, stdout, stderr)
}

// checkMetaOn is checkMeta on the metadata open as f (named meta in what it prints):
// thin_check's work once its device is open, for a file or a device-mapper device
// (lvm activate's check of a pool's metadata LV).
func checkMetaOn(f block.Device, name, meta string, opt metadata.CheckOptions, quiet, clear, repair bool, stdout, stderr io.Writer) int {
	res := metadata.CheckWith(f, opt)
	if !quiet {
		for _, w := range res.Warnings {
			fmt.Fprintf(stderr, "%s: warning: %v\n", meta, w)
		}
		for _, p := range res.Problems {
			fmt.Fprintf(stderr, "%s: %v\n", meta, p)
		}
	}
	fixed := false
	if repair && len(res.Leaks) > 0 {
		if err := metadata.FixLeaks(f, res); err != nil {
			fmt.Fprintf(stderr, "%s: %s: %v\n", name, meta, err)
			return 1
		}
		fixed = true
		if !quiet {
			fmt.Fprintln(stderr, "fixed metadata leaks")
		}
	}
	clean := len(res.Problems) == 0 || fixed
	if (clear || repair) && clean {
		cleared, err := metadata.ClearNeedsCheck(f)
		switch {
		case err != nil:
			fmt.Fprintf(stderr, "%s: %s: clearing needs_check: %v\n", name, meta, err)
			return 1
		case cleared && !quiet:
			fmt.Fprintln(stderr, "cleared needs_check flag")
		}
	}
	code := 0
	switch {
	case fixed:
		fmt.Fprintf(quietOr(stdout, quiet), "%s: ok: %d leaked block(s) freed\n", meta, len(res.Leaks))
	case clean:
		fmt.Fprintf(quietOr(stdout, quiet), "%s: ok\n", meta)
	case opt.IgnoreNonFatal && !res.Fatal:
		fmt.Fprintf(quietOr(stdout, quiet), "%s: ok: %d non-fatal problem(s) ignored\n", meta, len(res.Problems))
	default:
		fmt.Fprintf(quietOr(stdout, quiet), "%s: damaged: %d problem(s)\n", meta, len(res.Problems))
		code = 1
	}
	return code
}

// quietOr is w, or io.Discard when quiet.
func quietOr(w io.Writer, quiet bool) io.Writer {
	if quiet {
		return io.Discard
	}
	return w
}
