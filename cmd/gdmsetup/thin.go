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
  gdmsetup thin restore -i IN.xml -o META         write the pool described by IN.xml into META (must exist)
  gdmsetup thin check [-q] META                   walk every structure; exit 1 on damage
  gdmsetup thin repair -i META -o NEWMETA [OVERRIDES]
                                                  thin_repair: write what dump --repair recovers into NEWMETA
  gdmsetup thin delta [-m[BLOCK]] [--verbose] --snap1 ID --snap2 ID META
                                                  thin_delta's XML: how two thin devices' mappings differ
  gdmsetup thin ls [-m] [--no-headers] [-o FIELDS] META
                                                  thin_ls's table of thin devices and their data blocks
  gdmsetup thin rmap --region B..E [--region B..E ...] META
                                                  thin_rmap: the thin blocks mapping data blocks B to E-1
  gdmsetup thin metadata_size -b BLOCK -s POOL -m MAXTHINS [-u UNIT] [-n[=short|long]]
                                                  thin_metadata_size: the metadata size a pool needs
OVERRIDES replace superblock fields, and are all needed when the superblock is unreadable:
  --transaction-id N  --data-block-size SECTORS  --nr-data-blocks N
`

// thinCommands are the words `gdmsetup thin` takes, as the shell completes them.
var thinCommands = []string{"dump", "restore", "check", "repair", "delta", "ls", "rmap", "metadata_size"}

// runThin runs `gdmsetup thin ...` (args after the word thin) and returns the exit
// code: 0 success, 1 failure or damage found, 2 usage error.
func runThin(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, thinUsage)
		return 2
	}
	fs := newToolFlags(args[0])
	var err error
	switch args[0] {
	case "dump":
		return thinDump(fs, args[1:], stdout, stderr)
	case "restore":
		in := fs.String("i", "", "input XML file (- for stdin)")
		out := fs.String("o", "", "metadata file or device to write")
		words, code, ok := fs.parse(args[1:], stderr)
		if !ok {
			return code
		}
		if len(words) != 0 || *in == "" || *out == "" {
			fmt.Fprint(stderr, "gdmsetup thin restore: need -i IN.xml and -o META\n", thinUsage)
			return 2
		}
		err = thinRestore(*in, *out, stdin)
	case "check":
		quiet := fs.Bool("q", false, "no output, only the exit code")
		meta, code, ok := fs.metaPath(args[1:], stderr)
		if !ok {
			return code
		}
		return thinCheck(meta, *quiet, stdout, stderr)
	case "repair":
		return thinRepair(fs, args[1:], stderr)
	case "delta":
		return thinDelta(fs, args[1:], stdout, stderr)
	case "ls":
		return thinLs(fs, args[1:], stdout, stderr)
	case "rmap":
		return thinRmap(fs, args[1:], stdout, stderr)
	case "metadata_size":
		return thinMetadataSize(fs, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, thinUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "gdmsetup thin: unknown command %q\n%s", args[0], thinUsage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "gdmsetup thin %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// openThinMeta opens the pool metadata in file or device meta read-only; close
// releases it.
func openThinMeta(meta string) (p *metadata.Pool, close func() error, err error) {
	f, err := block.OpenFile(meta, true)
	if err != nil {
		return nil, nil, err
	}
	p, err = metadata.Open(f, metadata.Options{ReadOnly: true})
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", meta, err)
	}
	return p, f.Close, nil
}

func thinRestore(in, meta string, stdin io.Reader) error {
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
	f, nrBlocks, err := openMetaFile(meta, false)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := metadata.RestoreXML(r, name, f, nrBlocks); err != nil {
		return fmt.Errorf("%s: %w", meta, err)
	}
	return f.Close()
}

func thinCheck(meta string, quiet bool, stdout, stderr io.Writer) int {
	f, err := os.Open(meta)
	if err != nil {
		if !quiet {
			fmt.Fprintf(stderr, "gdmsetup thin check: %v\n", err)
		}
		return 1
	}
	defer f.Close()
	problems, warnings := metadata.Check(f)
	if quiet {
		if len(problems) > 0 {
			return 1
		}
		return 0
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "%s: warning: %v\n", meta, w)
	}
	for _, p := range problems {
		fmt.Fprintf(stderr, "%s: %v\n", meta, p)
	}
	if len(problems) > 0 {
		fmt.Fprintf(stdout, "%s: damaged: %d problem(s)\n", meta, len(problems))
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok\n", meta)
	return 0
}
