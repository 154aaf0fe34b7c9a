package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/gdmsetup/gdmsetup/dm"
	_ "github.com/gdmsetup/gdmsetup/targets/all"
)

// env is one command's invocation: its streams, options and arguments, and
// the registry it runs against (opened by the command, or the server's).
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	opts           options
	args           []string // positional arguments after the command word
	// typed are the positional arguments as given, before takeNames made
	// the device names among args the kernel's.
	typed    []string
	mangling nameMangling // how names pass to and from the kernel
	reg      *dm.Registry
	// ownRegistry is set when this command opened reg itself (not a server's
	// registry): it may then close and reopen it to let other processes in.
	ownRegistry bool
	// rep is the report setUp laid out for a command that shows columns
	// (nil for others).
	rep *fieldReport
	// yield, when set, waits as pause does while letting others use reg
	// (the server's control lock); nil: the command holds reg throughout.
	yield func(time.Duration) error
}

// reopen lets go of the state directory for a moment and takes it again, so
// that other gdmsetup processes can run (used while waiting).
func (e *env) reopen(pause time.Duration) error {
	if err := e.reg.Close(); err != nil {
		return err
	}
	time.Sleep(pause)
	r, err := dm.Open(stateDir(e.opts), e.stderr)
	if err != nil {
		return err
	}
	e.reg = r
	return nil
}

// pause waits d and lets others at the registry meanwhile: a command
// holding the state directory lets it go, so that other gdmsetup processes
// run; one run by the server lets go of its control lock.
func (e *env) pause(d time.Duration) error {
	d = max(d, 0)
	switch {
	case e.ownRegistry:
		return e.reopen(d)
	case e.yield != nil:
		return e.yield(d)
	}
	time.Sleep(d)
	return nil
}

// usageError is a mistake in the command line: printed as is, then
// "Command failed.".
type usageError string

func (e usageError) Error() string { return string(e) }

// command is one gdmsetup verb. Those with needsRegistry run with the state
// directory open and locked.
type command struct {
	run           func(e *env) error
	needsRegistry bool
	// raw commands parse their own arguments (the words after the command)
	// and return the exit code themselves.
	raw func(args []string, stdin io.Reader, stdout, stderr io.Writer) int
	// names is which positional arguments name existing devices: runWith
	// turns them into the kernel's names (see env.takeNames); create
	// takes its new name itself.
	names nameArgs
	// args bounds the number of positional arguments as dmsetup's command
	// table does; nil: the command checks them itself.
	args *argRange
	help string
}

// argRange is a command's least and greatest number of positional
// arguments (max -1: no limit).
type argRange struct{ min, max int }

func (r *argRange) allows(n int) bool {
	return r == nil || (n >= r.min && (r.max < 0 || n <= r.max))
}

var commands map[string]command

func init() {
	anyCount := &argRange{0, -1}
	noArgs := &argRange{0, 0}
	commands = map[string]command{
		"create":            {run: cmdCreate, needsRegistry: true, args: &argRange{0, 2}, help: "create NAME [--table TABLE | TABLE_FILE | --concise LIST] [--uuid UUID] [--readonly] [--notable] [--readahead [+]SECTORS|auto|none]"},
		"load":              {run: cmdLoad, names: firstName, needsRegistry: true, args: &argRange{0, 2}, help: "load [--readonly] NAME [--table TABLE | TABLE_FILE]"},
		"reload":            {run: cmdLoad, names: firstName, needsRegistry: true, args: &argRange{0, 2}, help: "reload [--readonly] NAME [--table TABLE | TABLE_FILE]"},
		"resume":            {run: cmdResume, names: everyName, needsRegistry: true, args: anyCount, help: "resume [--noflush] [--readahead [+]SECTORS|auto|none] NAME..."},
		"suspend":           {run: cmdSuspend, names: everyName, needsRegistry: true, args: anyCount, help: "suspend [--noflush] NAME..."},
		"remove":            {run: cmdRemove, names: everyName, needsRegistry: true, args: anyCount, help: "remove NAME..."},
		"remove_all":        {run: cmdRemoveAll, needsRegistry: true, args: noArgs, help: "remove_all"},
		"rename":            {run: cmdRename, names: firstName, needsRegistry: true, args: &argRange{1, 2}, help: "rename OLD NEW | rename NAME --setuuid UUID"},
		"clear":             {run: cmdClear, names: everyName, needsRegistry: true, args: anyCount, help: "clear NAME"},
		"wipe_table":        {run: cmdWipeTable, names: everyName, needsRegistry: true, args: anyCount, help: "wipe_table NAME"},
		"stats":             {run: cmdStats, needsRegistry: true, args: &argRange{1, -1}, help: "stats create|delete|clear|print|list|report|group|ungroup [OPTIONS] [NAME...]   (I/O statistics regions: docs/stats.md)"},
		"message":           {run: cmdMessage, names: firstName, needsRegistry: true, args: &argRange{2, -1}, help: "message NAME SECTOR MESSAGE..."},
		"mangle":            {run: cmdMangle, needsRegistry: true, names: everyName, args: anyCount, help: "mangle [NAME...] [--manglename auto|hex|none]   (rename devices to the form of the mode)"},
		"ls":                {run: cmdLs, needsRegistry: true, args: noArgs, help: "ls [--target TYPE] [--tree] [--exec COMMAND]"},
		"table":             {run: cmdTable, names: everyName, needsRegistry: true, args: anyCount, help: "table [NAME] [--inactive] [--target TYPE] [--concise]"},
		"measure":           {run: cmdMeasure, names: everyName, needsRegistry: true, args: anyCount, help: "measure [NAME...] [--inactive] [--target TYPE]   (what the kernel's IMA records of each target)"},
		"status":            {run: cmdStatus, names: everyName, needsRegistry: true, args: anyCount, help: "status [NAME] [--inactive] [--target TYPE] [--noflush]"},
		"info":              {run: cmdInfo, names: everyName, needsRegistry: true, args: anyCount, help: "info [NAME] [-c|-C|--columns [-o FIELDS] [--noheadings]]"},
		"deps":              {run: cmdDeps, names: everyName, needsRegistry: true, args: anyCount, help: "deps [NAME]"},
		"splitname":         {run: cmdSplitname, args: &argRange{1, 2}, help: "splitname NAME [SUBSYSTEM]                     (LVM name components as a report)"},
		"mknodes":           {run: cmdMknodes, names: everyName, needsRegistry: true, args: anyCount, help: "mknodes [NAME...]                              (no nodes in /dev: records them)"},
		"setgeometry":       {run: cmdSetGeometry, names: firstName, needsRegistry: true, args: &argRange{5, 5}, help: "setgeometry NAME CYL HEAD SECT START"},
		"wait":              {run: cmdWait, names: firstName, args: &argRange{0, 2}, help: "wait NAME [EVENT_NR]"},
		"targets":           {run: cmdTargets, args: noArgs, help: "targets"},
		"target-version":    {run: cmdTargetVersion, args: &argRange{1, -1}, help: "target-version TYPE..."},
		"version":           {run: cmdVersion, args: noArgs, help: "version"},
		"udevcookies":       {run: cmdUdevCookies, args: noArgs, help: "udevcookies                                    (none: gdmsetup has no udev)"},
		"udevcreatecookie":  {run: cmdUdevCreateCookie, args: noArgs, help: "udevcreatecookie                               (makes none: no udev)"},
		"udevreleasecookie": {run: cmdUdevReleaseCookie, args: &argRange{0, 1}, help: "udevreleasecookie [COOKIE]"},
		"udevflags":         {run: cmdUdevFlags, args: &argRange{1, 1}, help: "udevflags COOKIE                               (the udev rule flags a cookie carries)"},
		"udevcomplete":      {run: cmdUdevComplete, args: &argRange{1, 1}, help: "udevcomplete COOKIE"},
		"udevcomplete_all":  {run: cmdUdevCompleteAll, args: &argRange{0, 1}, help: "udevcomplete_all [AGE_IN_MINUTES] [-y|--yes]"},
		"read":              {run: cmdRead, names: firstName, needsRegistry: true, help: "read NAME [--offset BYTES] [--length BYTES]   (device bytes to stdout)"},
		"write":             {run: cmdWrite, names: firstName, needsRegistry: true, help: "write NAME [--offset BYTES] [--oflag direct,dsync] [--bs BYTES]   (stdin into the device; --oflag as dd's oflag=)"},
		"discard":           {run: cmdDiscard, names: firstName, needsRegistry: true, help: "discard NAME --offset BYTES --length BYTES"},
		"lvm":               {run: cmdLvm, needsRegistry: true, args: &argRange{1, -1}, help: lvmUsage + "   (LVM2 volume groups on images: docs/lvm.md)"},
		"demo":              {run: cmdDemo, help: "demo                                           (assemble devices on temporary files and read them back)"},
		"thin":              {raw: thinSuite.run, help: "thin COMMAND ...                               (thin_dump, thin_repair, ...: gdmsetup thin help)"},
		"cache":             {raw: cacheSuite.run, help: "cache COMMAND ...                              (cache_dump, cache_writeback, ...: gdmsetup cache help)"},
		"era":               {raw: eraSuite.run, help: "era COMMAND ...                                (era_dump, era_invalidate, ...: gdmsetup era help)"},
		"help":              {run: cmdHelp, args: noArgs, help: "help"},
		"shell":             {raw: runShell, help: "shell                                          (interactive; or a script on stdin, stopping at the first failure)"},
		"serve":             {run: cmdServe, help: "serve [--listen ADDR] [--socket PATH] [--export NAME]... [--readonly] [--direct] [--tls=off|on|require] [--tls-certificates DIR] [--tls-verify-peer]   (NBD export and control socket)"},
	}
}

// run executes one gdmsetup command line and returns its exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runWith(nil, nil, args, stdin, stdout, stderr)
}

// runWith runs a command line against reg when it is not nil (the server's
// registry), else against the state directory the options name. As
// dmsetup, it refuses a malformed option, an unknown command or a wrong
// number of arguments before running anything; --help and --version run
// those commands whatever the command word.
func runWith(reg *dm.Registry, yield func(time.Duration) error, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	name, rest := firstCommand(args)
	c, known := commands[name]
	if c.raw != nil {
		return c.raw(rest, stdin, stdout, stderr)
	}
	opts, pos, err := parseOptions(rest)
	if err != nil {
		return report(stderr, err)
	}
	checkCookieOption(opts, stderr)
	switch {
	case opts.has("help"):
		name, c = "help", commands["help"]
	case opts.has("version"):
		name, c = "version", commands["version"]
	case name == "":
		name = defaultCommand(stdin)
		if c = commands[name]; c.raw != nil {
			return c.raw(rest, stdin, stdout, stderr)
		}
	case !known:
		return refuse(stderr, "Unknown command.", "[OPTION]... COMMAND [ARG]...")
	case !c.args.allows(len(pos)):
		return refuse(stderr, "Incorrect number of arguments.", c.help)
	}
	if execCommands[name] && opts.has("exec") {
		return runExec(reg, name, opts, pos, stdin, stdout, stderr)
	}
	if reg == nil && c.forwarded(name) {
		if code, ok := forward(stateDir(opts), args, stdin, stdout, stderr); ok {
			return code
		}
	}
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, opts: opts, args: pos, typed: append([]string(nil), pos...), reg: reg, yield: yield, mangling: manglingOf(opts)}
	if name == "mangle" {
		// as dmsetup: the mangle command takes and sees names as the kernel holds them
		e.mangling = mangleNone
	}
	if !opts.has("help") && !opts.has("version") {
		// as dmsetup: --help and --version run their command without set-up
		if err := e.setUp(name); err != nil {
			return report(stderr, err)
		}
	}
	if c.needsRegistry && e.reg == nil {
		r, err := dm.Open(stateDir(opts), stderr)
		if err != nil {
			fmt.Fprintf(stderr, "gdmsetup: %v\n", err)
			return 1
		}
		e.reg, e.ownRegistry = r, true
		err = e.runNamed(c)
		if cerr := e.reg.Close(); cerr != nil && err == nil {
			err = cerr
		}
		return report(stderr, err)
	}
	return report(stderr, e.runNamed(c))
}

// runNamed runs c once takeNames has made its device names the kernel's;
// a name refused after others lets c run on those before it, then fails.
func (e *env) runNamed(c command) error {
	nameErr := e.takeNames(c.names)
	if nameErr != nil && len(e.args) == 0 {
		return nameErr
	}
	if err := c.run(e); err != nil {
		return err
	}
	return nameErr
}

// refuse prints dmsetup's first line for a command line it will not run,
// then a short usage of gdmsetup (usage: what follows "gdmsetup "), and
// gives the exit code 1.
func refuse(stderr io.Writer, why, usage string) int {
	fmt.Fprintln(stderr, why)
	fmt.Fprintf(stderr, "Usage: gdmsetup %s\n", usage)
	fmt.Fprintln(stderr, "`gdmsetup help` lists the commands.")
	return 1
}

// firstCommand finds the command word: the first argument getopt takes as
// positional ("" when there is none), and the arguments without it.
func firstCommand(args []string) (string, []string) {
	_, words, _ := getopt(args, 1)
	if len(words) == 0 {
		return "", args
	}
	i := words[0]
	return args[i], append(append([]string{}, args[:i]...), args[i+1:]...)
}

// report prints a command's error the way dmsetup does and gives the exit code.
func report(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	var oe optionError
	var se setupError
	switch {
	case errors.As(err, &oe):
		fmt.Fprintln(stderr, err)
		fmt.Fprintln(stderr, "Couldn't process command line.")
		return 1
	case errors.As(err, &se):
		fmt.Fprintln(stderr, err)
		return 1
	}
	printError(stderr, err)
	fmt.Fprintln(stderr, "Command failed.")
	return 1
}

// errFailed is a failure whose causes the command printed already: only
// "Command failed." follows.
var errFailed = errors.New("command failed")

// printError prints err as dmsetup prints the cause of a failure: libdm's
// and the kernel's messages as they are, gdmsetup's own prefixed.
func printError(stderr io.Writer, err error) {
	var ue usageError
	var ie *dm.IoctlError
	switch {
	case errors.Is(err, errFailed):
	case errors.As(err, &ue), errors.As(err, &ie), errors.Is(err, dm.ErrNoDevice):
		fmt.Fprintln(stderr, err)
	default:
		fmt.Fprintf(stderr, "gdmsetup: %v\n", err)
	}
}

// stateDir is --dir, else $GDMSETUP_DIR, else $XDG_STATE_HOME/gdmsetup,
// else ~/.local/state/gdmsetup.
func stateDir(o options) string {
	if d := o.str("dir"); d != "" {
		return d
	}
	if d := os.Getenv("GDMSETUP_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "gdmsetup")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "/"
	}
	return filepath.Join(home, ".local", "state", "gdmsetup")
}

// device returns the device named by the first argument, or dmsetup's
// error for a missing one (op names the ioctl in the message).
func (e *env) device(op string) (*dm.Device, error) {
	if len(e.args) == 0 {
		return nil, usageError("Please specify device.")
	}
	d, ok := e.reg.Lookup(e.args[0])
	if !ok {
		if op == "" {
			return nil, dm.ErrNoDevice
		}
		return nil, &dm.IoctlError{Op: op, Name: e.args[0], Errno: enxio}
	}
	return d, nil
}

func cmdHelp(e *env) error {
	fmt.Fprintln(e.stdout, "Usage: gdmsetup [--dir DIR] COMMAND [ARGS]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(e.stdout, "  %s\n", commands[n].help)
	}
	return nil
}
