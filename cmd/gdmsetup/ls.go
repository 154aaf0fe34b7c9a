package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"unicode/utf8"

	"github.com/gdmsetup/gdmsetup/dm"
)

// cmdLs is `ls`: every device as "NAME\t(253:MINOR)"; --target TYPE keeps
// those whose live table has that type (printed "(253, MINOR)", as dmsetup
// does); --tree draws each device over the devices it uses.
func cmdLs(e *env) error {
	devs := e.reg.Devices()
	if len(devs) == 0 {
		fmt.Fprintln(e.stdout, "No devices found")
		return nil
	}
	if e.opts.has("tree") {
		return lsTree(e)
	}
	typ := e.opts.str("target")
	for _, d := range devs {
		if typ == "" {
			fmt.Fprintf(e.stdout, "%s\t(%d:%d)\n", d.Name(), dm.Major, d.Minor())
			continue
		}
		lines, err := e.reg.Lines(d.Name(), false, false)
		if err != nil {
			return err
		}
		for _, l := range lines {
			if l.Type == typ {
				fmt.Fprintf(e.stdout, "%s\t(%d, %d)\n", d.Name(), dm.Major, d.Minor())
				break
			}
		}
	}
	return nil
}

// lsTree is `ls --tree [-o OPTIONS]`: the dependency tree (see printTree).
func lsTree(e *env) error {
	o, err := parseTreeOptions(e.opts.str("options"))
	if err != nil {
		return err
	}
	t, err := buildDepTree(e.reg)
	if err != nil {
		return err
	}
	printTree(e.stdout, t, o)
	return nil
}

// lsExec is `ls --exec COMMAND [--target TYPE] [-v]`: COMMAND, split at
// white space, runs once per device (with a table of TYPE when --target is
// given), in name order, with /dev/mapper/NAME as its last argument, its
// output passing through; its exit status is not looked at, nor whether it
// could start, as dmsetup. With -v each device's `ls` line comes before.
//
// The devices are listed by a plain `ls` (against reg, a server, or the
// state directory, which is let go of once listed); the commands run
// afterwards in this process's environment, so that they may run gdmsetup
// on the same devices.
func lsExec(reg *dm.Registry, opts options, stdin io.Reader, stdout, stderr io.Writer) int {
	list := []string{"--dir", stateDir(opts), "ls"}
	if opts.has("target") {
		list = append(list, "--target", opts.str("target"))
	}
	var out bytes.Buffer
	if code := runWith(reg, list, strings.NewReader(""), &out, stderr); code != 0 {
		return code
	}
	if out.String() == "No devices found\n" {
		fmt.Fprint(stdout, out.String())
		return 0
	}
	argv := strings.FieldsFunc(opts.str("exec"), func(r rune) bool { return r < utf8.RuneSelf && cSpace(byte(r)) })
	failed := false
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		cut := strings.LastIndex(line, "\t(")
		if cut < 0 {
			continue
		}
		name := line[:cut]
		if opts.has("verbose") {
			// dmsetup prints the device number here as `ls --target` does
			fmt.Fprintf(stdout, "%s\t(%s\n", name, strings.Replace(line[cut+2:], ":", ", ", 1))
		}
		switch {
		case failed:
		case len(argv) == 0:
			failed = true
		case len(argv) >= maxExecArgs:
			fmt.Fprintln(stderr, "Too many args to --exec.")
			failed = true
		default:
			cmd := exec.Command(argv[0], append(argv[1:], "/dev/mapper/"+name)...)
			cmd.Stdout, cmd.Stderr = stdout, stderr
			if f, ok := stdin.(*os.File); ok {
				// a stream that is not a file would keep Wait copying from it
				cmd.Stdin = f
			}
			_ = cmd.Run()
		}
	}
	if failed {
		fmt.Fprintln(stderr, "Command failed.")
		return 1
	}
	return 0
}

// maxExecArgs is dmsetup's bound on the words of --exec (ARGS_MAX), the
// device path included.
const maxExecArgs = 256

// cSpace is C's isspace in the C locale.
func cSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }
