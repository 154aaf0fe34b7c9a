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

// cmdLs is `ls`: every device as "NAME\t(253:MINOR)" (names as the mode
// shows them); --target TYPE keeps those whose live table has that type
// (printed "(253, MINOR)", as dmsetup does, after looking each device up
// again by its shown name); --tree draws each device over the devices it
// uses.
func cmdLs(e *env) error {
	if e.opts.has("tree") {
		return lsTree(e)
	}
	typ := e.opts.str("target")
	if typ != "" {
		return e.eachName(func(shown, kernel string) error {
			d, ok := e.reg.Lookup(kernel)
			if !ok {
				return dm.ErrNoDevice
			}
			lines, err := e.reg.Lines(kernel, false, false)
			if err != nil {
				return err
			}
			for _, l := range lines {
				if l.Type == typ {
					fmt.Fprintf(e.stdout, "%s\t(%d, %d)\n", shown, dm.Major, d.Minor())
					break
				}
			}
			return nil
		})
	}
	infos, err := e.list()
	if err != nil {
		return err
	}
	if len(infos) == 0 {
		fmt.Fprintln(e.stdout, "No devices found")
	}
	for _, in := range infos {
		fmt.Fprintf(e.stdout, "%s\t(%d:%d)\n", in.Name, dm.Major, in.Minor)
	}
	return nil
}

// lsTree is `ls --tree [-o OPTIONS]`: the dependency tree (see printTree).
func lsTree(e *env) error {
	infos, err := e.list()
	if err != nil {
		return err
	}
	if len(infos) == 0 {
		fmt.Fprintln(e.stdout, "No devices found")
		return nil
	}
	o, err := parseTreeOptions(e.opts.str("options"))
	if err != nil {
		return err
	}
	t, err := buildDepTree(e.reg, e.shownInfo)
	if err != nil {
		return err
	}
	printTree(e.stdout, t, o)
	return nil
}

// lsExec is `ls --exec COMMAND [--target TYPE] [-v]`: COMMAND, split at
// white space, runs once per device (with a table of TYPE when --target is
// given), in name order, with /dev/mapper/NAME as its last argument (NAME
// as the mode shows it), its output passing through; its exit status is
// not looked at, nor whether it could start, as dmsetup. With -v each
// device's `ls` line comes before.
//
// The devices are listed by plain `ls` runs (against reg, a server, or the
// state directory, which is let go of once listed: see execDevices); the
// commands run afterwards in this process's environment, so that they may
// run gdmsetup on the same devices.
func lsExec(reg *dm.Registry, opts options, stdin io.Reader, stdout, stderr io.Writer) int {
	devs, failed, code := execDevices(reg, opts, stdout, stderr)
	if code != 0 {
		return code
	}
	argv := strings.FieldsFunc(opts.str("exec"), func(r rune) bool { return r < utf8.RuneSelf && cSpace(byte(r)) })
	execFailed := false
	for _, d := range devs {
		if opts.has("verbose") {
			// dmsetup prints the device number here as `ls --target` does
			fmt.Fprintf(stdout, "%s\t(%d, %d)\n", d.shown, dm.Major, d.minor)
		}
		switch {
		case execFailed:
		case len(argv) == 0:
			execFailed = true
		case len(argv) >= maxExecArgs:
			fmt.Fprintln(stderr, "Too many args to --exec.")
			execFailed = true
		default:
			cmd := exec.Command(argv[0], append(argv[1:], "/dev/mapper/"+d.shown)...)
			cmd.Stdout, cmd.Stderr = stdout, stderr
			if f, ok := stdin.(*os.File); ok {
				// a stream that is not a file would keep Wait copying from it
				cmd.Stdin = f
			}
			_ = cmd.Run()
		}
	}
	if failed || execFailed {
		fmt.Fprintln(stderr, "Command failed.")
		return 1
	}
	return 0
}

// execDevice is a device ls --exec runs its command on: its name as the
// mode shows it and its minor.
type execDevice struct {
	shown string
	minor uint32
}

// execDevices finds the devices for ls --exec as dmsetup's _status does:
// every device listed (an `ls` in the command's mode, whose refusals end
// the command), each looked up again by its shown name mangled as if given
// (one not found is "Device does not exist.", and the command fails once
// the others ran), kept when its table has a --target TYPE target. The
// kernel's names come from `ls` runs in mode none. code is not 0 when a
// listing failed; failed is set when a device was not found.
func execDevices(reg *dm.Registry, opts options, stdout, stderr io.Writer) (devs []execDevice, failed bool, code int) {
	list := func(mode, target string, errs io.Writer) (map[string]uint32, []string, int) {
		args := []string{"--dir", stateDir(opts), "--manglename", mode, "ls"}
		if target != "" {
			args = append(args, "--target", target)
		}
		var out bytes.Buffer
		if code := runWith(reg, nil, args, strings.NewReader(""), &out, errs); code != 0 {
			return nil, nil, code
		}
		minors := map[string]uint32{}
		var names []string
		for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
			cut := strings.LastIndex(line, "\t(")
			if cut < 0 {
				continue
			}
			var major, minor uint32
			if _, err := fmt.Sscanf(strings.Replace(line[cut+2:], ", ", ":", 1), "%d:%d)", &major, &minor); err == nil {
				minors[line[:cut]] = minor
				names = append(names, line[:cut])
			}
		}
		return minors, names, 0
	}
	e := &env{stderr: stderr, mangling: manglingOf(opts)}
	mode := map[nameMangling]string{mangleNone: "none", mangleAuto: "auto", mangleHex: "hex"}[e.mangling]
	_, shown, code := list(mode, "", stderr)
	if code != 0 {
		return nil, false, code
	}
	if len(shown) == 0 {
		fmt.Fprintln(stdout, "No devices found")
		return nil, false, 0
	}
	kernel, _, code := list("none", "", stderr)
	if code != 0 {
		return nil, false, code
	}
	typed := kernel
	if opts.has("target") {
		if typed, _, code = list("none", opts.str("target"), io.Discard); code != 0 {
			return nil, false, code
		}
	}
	for _, name := range shown {
		k, err := e.kernelName(name, false)
		if _, ok := kernel[k]; err == nil && !ok {
			err = dm.ErrNoDevice
		}
		if err != nil {
			printError(stderr, err)
			failed = true
			continue
		}
		if minor, ok := typed[k]; ok {
			devs = append(devs, execDevice{shown: name, minor: minor})
		}
	}
	return devs, failed, 0
}

// maxExecArgs is dmsetup's bound on the words of --exec (ARGS_MAX), the
// device path included.
const maxExecArgs = 256

// cSpace is C's isspace in the C locale.
func cSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }
