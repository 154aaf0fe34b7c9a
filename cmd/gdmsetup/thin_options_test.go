package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// thinToolRun is what one command line gave: exit code, stdout, stderr.
type thinToolRun struct {
	code           int
	stdout, stderr string
}

// runThinToolBinary runs thin-provisioning-tools' tool with args, named by its
// bare name in argv[0] as from $PATH (glibc's messages start with argv[0]).
func runThinToolBinary(t *testing.T, tool string, args []string) thinToolRun {
	t.Helper()
	cmd := exec.Command(thinTool(t, tool), args...)
	cmd.Args[0] = tool
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	r := thinToolRun{}
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("%s %q: %v", tool, args, err)
		}
		r.code = ee.ExitCode()
	}
	r.stdout, r.stderr = out.String(), errb.String()
	return r
}

// firstLineMessage is the first line of a command's stderr without the program's
// name before it ("thin_dump: ", "gdmsetup thin dump: ", "thin_metadata_size - ").
func firstLineMessage(stderr, prog string) string {
	line, _, _ := strings.Cut(stderr, "\n")
	for _, sep := range []string{": ", " - "} {
		if rest, ok := strings.CutPrefix(line, prog+sep); ok {
			return rest
		}
	}
	return line
}

// TestThinCommandLinesAsTools runs command lines through gdmsetup's thin commands
// and through thin-provisioning-tools 0.9.0 on the same metadata: the exit codes
// must be equal; stdout too when the command succeeds (the tool's name replaced by
// ours in help texts' "Usage:" lines; -V prints our version line where the tool
// prints its version); and the first line of stderr apart from the program name
// (the usage's first line, when it is that, with our name).
func TestThinCommandLinesAsTools(t *testing.T) {
	meta := restoreThinXML(t, thinTestXML)
	xml := filepath.Join(t.TempDir(), "pool.xml")
	if err := os.WriteFile(xml, []byte(thinTestXML), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		cmd  string
		args string // META: the metadata, XML: its XML, OUT: a new 4 MiB file
		// ownOutput: stdout differs on success (thin check's report; the files
		// restore and repair write are compared elsewhere); ownMessage: the
		// refusal is not getopt's nor the tool's words (a file that cannot be read)
		ownOutput, ownMessage bool
	}{
		{cmd: "dump", args: "META"},
		{cmd: "dump", args: "-fxml META"},
		{cmd: "dump", args: "-f human_readable META"},
		{cmd: "dump", args: "--format=human_readable --dev-id=4 META"},
		{cmd: "dump", args: "--form human_readable --dev 0 META"},
		{cmd: "dump", args: "META --skip-m"},
		{cmd: "dump", args: "--s META"},
		{cmd: "dump", args: "--d 1 META"},
		{cmd: "dump", args: "--skip-mappings -- META"},
		{cmd: "dump", args: "-- --skip-mappings", ownMessage: true},
		{cmd: "dump", args: "-o"},
		{cmd: "dump", args: "META --output"},
		{cmd: "dump", args: "-Z META"},
		{cmd: "dump", args: "-rZ META"},
		{cmd: "dump", args: "--bogus=1 META"},
		{cmd: "dump", args: "--repair=1 META"},
		{cmd: "dump", args: "--skip-mappings=yes META"},
		{cmd: "dump", args: ""},
		{cmd: "dump", args: "-h"},
		{cmd: "dump", args: "--he --bogus"},
		{cmd: "dump", args: "-V"},
		{cmd: "dump", args: "--vers META"},
		{cmd: "check", args: "-q META"},
		{cmd: "check", args: "-qq META"},
		{cmd: "check", args: "--qu META"},
		{cmd: "check", args: "META -q", ownOutput: true},
		{cmd: "check", args: "-qq"},
		{cmd: "check", args: ""},
		{cmd: "check", args: "-qZ META"},
		{cmd: "check", args: "--s META"},
		{cmd: "check", args: "--override-mapping-root"},
		{cmd: "check", args: "--quiet=1 META"},
		{cmd: "check", args: "-qh"},
		{cmd: "check", args: "-V"},
		{cmd: "restore", args: "-i XML -o OUT --transaction-id abc"},
		{cmd: "restore", args: "-i XML -o OUT --data-block-size=5x"},
		{cmd: "restore", args: "--nr-data-blocks= -i XML -o OUT"},
		{cmd: "restore", args: "-i XML -o OUT --transaction-id=+7 --nr-data-blocks 4000"},
		{cmd: "restore", args: "-i XML -o OUT --nr-data-blocks 100", ownMessage: true},
		{cmd: "restore", args: "-i XML -o OUT --data-block-size 4294967424"},
		{cmd: "restore", args: "-i XML -o OUT --data-block-size 100"},
		{cmd: "dump", args: "--transaction-id 5x META"},
		{cmd: "check", args: "-q --ignore-non-fatal-errors META"},
		{cmd: "check", args: "-q --auto-repair META"},
		{cmd: "check", args: "-q --auto-repair --clear META"},
		{cmd: "check", args: "--override-mapping-root abc META"},
		{cmd: "check", args: "-q --override-mapping-root=-0 META"},
		{cmd: "check", args: "-q --override-mapping-root 18446744073709551616 META"},
		{cmd: "check", args: "-q --override-mapping-root=+-5 META"},
		{cmd: "check", args: "-q --override-mapping-root 0 META"},
		{cmd: "check", args: "--override-mapping-root 5 --auto-repair META"},
		{cmd: "check", args: "--ignore-non-fatal-errors --clear-needs-check-flag META"},
		{cmd: "check", args: "--auto -m META"},
		{cmd: "check", args: "--auto-repair --skip-mappings META"},
		{cmd: "check", args: "--super-block-only --auto-repair META"},
		{cmd: "check", args: "--override-mapping-root 5 --ignore-non-fatal-errors --auto-repair META"},
		{cmd: "restore", args: "-i XML -o OUT", ownOutput: true},
		{cmd: "restore", args: "-iXML -qoOUT", ownOutput: true},
		{cmd: "restore", args: "--in=XML --ou OUT", ownOutput: true},
		{cmd: "restore", args: "-i XML"},
		{cmd: "restore", args: "-o OUT"},
		{cmd: "restore", args: "-o OUT -i"},
		{cmd: "restore", args: "-i XML -o OUT -x"},
		{cmd: "restore", args: "-i XML -o OUT --n"},
		{cmd: "restore", args: "--help"},
		{cmd: "restore", args: "-V"},
		{cmd: "repair", args: "-i META -o OUT", ownOutput: true},
		{cmd: "repair", args: "-iMETA -oOUT", ownOutput: true},
		{cmd: "repair", args: "--in META --out=OUT", ownOutput: true},
		{cmd: "repair", args: "-i META"},
		{cmd: "repair", args: "-o OUT"},
		{cmd: "repair", args: "-i META -o"},
		{cmd: "repair", args: "--input"},
		{cmd: "repair", args: "-hi"},
		{cmd: "repair", args: "--ver"},
		{cmd: "delta", args: "--snap1 0 --snap2 4 META"},
		{cmd: "delta", args: "--thin1=0 --thin2=4 --verb META"},
		{cmd: "delta", args: "--snap1 0 META --snap2 4 --verbose"},
		{cmd: "delta", args: "--snap2 4 --snap1 0 -- META"},
		{cmd: "delta", args: "--sn 0 --snap2 4 META"},
		{cmd: "delta", args: "--t 0 --snap2 4 META"},
		{cmd: "delta", args: "--snap1 0 --snap2 4"},
		{cmd: "delta", args: "--snap1 0 META"},
		{cmd: "delta", args: "--snap2 4 META"},
		{cmd: "delta", args: "META --snap1"},
		{cmd: "delta", args: "--verbose=1 --snap1 0 --snap2 4 META"},
		{cmd: "delta", args: "-x"},
		{cmd: "delta", args: "-h"},
		{cmd: "delta", args: "-V"},
		{cmd: "ls", args: "META"},
		{cmd: "ls", args: "--no-h META"},
		{cmd: "ls", args: "-oDEV,MAPPED_BLOCKS,EXCLUSIVE_BLOCKS META"},
		{cmd: "ls", args: "META --format=DEV,SHARED_BYTES --no-headers"},
		{cmd: "ls", args: "--fo DEV, META"},
		{cmd: "ls", args: "--metadata-snap=5 META"},
		{cmd: "ls", args: "-o"},
		{cmd: "ls", args: "-Z META"},
		{cmd: "ls", args: "--"},
		{cmd: "ls", args: "-h"},
		{cmd: "ls", args: "--version"},
		{cmd: "rmap", args: "--region 0..10 META"},
		{cmd: "rmap", args: "--region=0..10 META"},
		{cmd: "rmap", args: "META --reg 1290..1310 --r 2000..2001"},
		{cmd: "rmap", args: "--region"},
		{cmd: "rmap", args: "--region 0..5"},
		{cmd: "rmap", args: "META"},
		{cmd: "rmap", args: "--=x META"},
		{cmd: "rmap", args: "-r 0..5 META"},
		{cmd: "rmap", args: "-hV"},
		{cmd: "rmap", args: "-Vh"},
		{cmd: "trim", args: "-h"},
		{cmd: "trim", args: "--vers"},
		{cmd: "trim", args: "--metadata-dev"},
		{cmd: "trim", args: "--p"},
		{cmd: "trim", args: "--metadata-dev=META -x"},
		{cmd: "trim", args: "--data-dev META"},
		{cmd: "trim", args: "--meta=META --data-dev=META --pool-inactive=1"},
		{cmd: "metadata_size", args: "-b64k -s1t -m1000"},
		{cmd: "metadata_size", args: "--block=64k --pool 1t --m 1000 -nshort"},
		{cmd: "metadata_size", args: "-b 64k -s 1t -m 1000 --numeric-only long"},
		{cmd: "metadata_size", args: "-b 64k -s 1t -m 1000 --num=long -ug"},
		{cmd: "metadata_size", args: "-b 64k -s 1t -m 1000 -n=l"},
		{cmd: "metadata_size", args: "-b 64k -s 1t -m1000 -Z"},
		{cmd: "metadata_size", args: "-b 64k -s 1t -m"},
		{cmd: "metadata_size", args: "--b 64k"},
		{cmd: "metadata_size", args: "-h"},
		{cmd: "metadata_size", args: "-V"},
	}
	for _, c := range cases {
		tool := "thin_" + c.cmd
		prog := "gdmsetup thin " + c.cmd
		words := func() []string {
			out := filepath.Join(t.TempDir(), "out")
			if err := os.WriteFile(out, make([]byte, 4<<20), 0o600); err != nil {
				t.Fatal(err)
			}
			r := strings.NewReplacer("META", meta, "XML", xml, "OUT", out)
			return strings.Fields(r.Replace(c.args))
		}
		want := runThinToolBinary(t, tool, words())
		code, stdout, stderr := thinSuite.runT(t, append([]string{c.cmd}, words()...)...)
		line := c.cmd + " " + c.args
		if code != want.code {
			t.Errorf("%s: exit %d, stderr %q; %s: exit %d, stderr %q", line, code, stderr, tool, want.code, want.stderr)
			continue
		}
		wantOut := strings.ReplaceAll(want.stdout, "Usage: "+tool, "Usage: "+prog)
		if want.stdout == thinToolsVersion+"\n" {
			wantOut = toolVersion() + "\n"
		}
		if code == 0 && !c.ownOutput && stdout != wantOut {
			t.Errorf("%s: stdout\n%s\n%s's:\n%s", line, stdout, tool, wantOut)
		}
		wantErr := strings.ReplaceAll(want.stderr, "Usage: "+tool, "Usage: "+prog)
		if got, w := firstLineMessage(stderr, prog), firstLineMessage(wantErr, tool); got != w && !c.ownMessage {
			t.Errorf("%s: stderr's first line %q; %s's %q", line, got, tool, w)
		}
	}
	t.Logf("%d command lines compared", len(cases))
}
