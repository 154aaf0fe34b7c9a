package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"unicode/utf8"

	"github.com/gdmsetup/gdmsetup/dm"
)

// execCommands are the commands that take --exec: dmsetup's _status serves
// them all.
var execCommands = map[string]bool{"ls": true, "table": true, "status": true, "measure": true}

// runExec is `ls|table|status|measure --exec COMMAND [NAME...]`, dmsetup's
// _status with _exec_command: COMMAND, split at white space, runs once per
// matched device (one with a --target TYPE target when --target is given,
// any other device otherwise), with /dev/mapper/NAME as its last argument
// (NAME as given, or as the mode shows it when listed), its output passing
// through; its exit status is not looked at, nor whether it could start.
// Without -v the command's own output is left out; with -v each device's
// `ls` line, or its info and lines (the info as a report after them with
// -c), comes out as without --exec. An empty COMMAND or one of too many
// words fails the device it was to run for: the named devices stop there,
// listed ones go on without running it.
//
// As dmsetup's stdio, the command's own output is held in a buffer of
// stdioBufferBytes when stdout is not a terminal, so what COMMAND prints
// comes first there.
//
// The devices are found, and each one's output made, by plain runs of the
// command without --exec (against reg, a server, or the state directory,
// which each run lets go of: see execDevices); COMMAND runs between them in
// this process's environment, so that it may run gdmsetup on the same
// devices.
func runExec(reg *dm.Registry, name string, opts options, pos []string, stdin io.Reader, stdout, stderr io.Writer) int {
	out := stdout
	if !isTerminal(stdout) {
		b := bufio.NewWriterSize(stdout, stdioBufferBytes)
		defer b.Flush()
		out = b
	}
	devs := make([]execDevice, len(pos))
	for i, n := range pos {
		devs[i].shown = n
	}
	listed, failed := len(pos) == 0, false
	if listed {
		var code int
		if devs, failed, code = execDevices(reg, opts, out, stderr); code != 0 {
			return code
		}
	}
	verbose, columns := opts.has("verbose"), opts.has("columns") && name != "ls"
	argv := strings.FieldsFunc(opts.str("exec"), func(r rune) bool { return r < utf8.RuneSelf && cSpace(byte(r)) })
	execFailed := false
	var reported []string
	for _, d := range devs {
		dev := d.shown
		if name == "ls" {
			if verbose {
				// dmsetup prints the device number here as `ls --target` does
				fmt.Fprintf(out, "%s\t(%d, %d)\n", dev, dm.Major, d.minor)
			}
		} else {
			lines, ok := execLines(reg, name, opts, dev, stderr)
			if !ok {
				failed = true
				if listed {
					continue
				}
				break
			}
			if len(lines) == 0 {
				continue
			}
			if verbose {
				out.Write(lines)
				if listed || len(devs) > 1 {
					fmt.Fprintln(out)
				}
				if columns {
					reported = append(reported, dev)
				}
			}
		}
		switch {
		case execFailed:
		case len(argv) == 0:
			execFailed = true
		case len(argv) >= maxExecArgs:
			fmt.Fprintln(stderr, "Too many args to --exec.")
			execFailed = true
		default:
			// as dmsetup's _exec_command, which makes the node first
			runWith(reg, nil, append(opts.args("exec"), "mknodes", dev), strings.NewReader(""), io.Discard, io.Discard)
			cmd := exec.Command(argv[0], append(argv[1:], "/dev/mapper/"+dev)...)
			cmd.Stdout, cmd.Stderr = stdout, stderr
			if f, ok := stdin.(*os.File); ok {
				// a stream that is not a file would keep Wait copying from it
				cmd.Stdin = f
			}
			_ = cmd.Run()
		}
		if execFailed && !listed {
			break
		}
	}
	if len(reported) > 0 {
		args := append(opts.args("exec", "verbose"), "info")
		if code := runWith(reg, nil, append(args, reported...), strings.NewReader(""), out, stderr); code != 0 {
			failed = true
		}
	}
	if failed || execFailed {
		fmt.Fprintln(stderr, "Command failed.")
		return 1
	}
	return 0
}

// execLines is the output of `name [OPTIONS] dev` without --exec: with
// -c, the lines alone (their info comes in runExec's report). It is empty
// when the device is not matched. ok is false when the command failed; its
// error lines are printed, but not "Command failed.", which runExec prints
// once.
func execLines(reg *dm.Registry, name string, opts options, dev string, stderr io.Writer) (lines []byte, ok bool) {
	drop := []string{"exec"}
	if opts.has("columns") {
		drop = append(drop, "columns", "verbose")
	}
	var out, errs bytes.Buffer
	code := runWith(reg, nil, append(opts.args(drop...), name, dev), strings.NewReader(""), &out, &errs)
	msg := errs.String()
	if code != 0 {
		msg = strings.TrimSuffix(msg, "Command failed.\n")
	}
	io.WriteString(stderr, msg)
	return out.Bytes(), code == 0
}

// stdioBufferBytes is the buffer glibc's stdio gives a stdout that is not a
// terminal (a pipe's or a file's st_blksize here).
const stdioBufferBytes = 4096

// execDevice is a device --exec runs its command on: its name as given, or,
// listed when no name is given, as the mode shows it, with its minor.
type execDevice struct {
	shown string
	minor uint32
}

// execDevices finds the devices for --exec without names as dmsetup's
// _process_all and _status do:
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
