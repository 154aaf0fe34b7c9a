package main

import "testing"

// refusal is what gdmsetup prints for a command line dmsetup refuses
// before running anything: dmsetup's first line, then our short usage.
func refusal(why, usage string) string {
	return why + "\nUsage: gdmsetup " + usage + "\n`gdmsetup help` lists the commands.\n"
}

// TestBadCommandLines: option errors in glibc's words followed by dmsetup's
// "Couldn't process command line.", an unknown command, a wrong number of
// arguments (dmsetup's command table), as the real dmsetup 1.02.185 prints
// them (../../testdata/fidelity cli-report: "option errors"); none of them
// touches the state.
func TestBadCommandLines(t *testing.T) {
	s := newSandbox(t)
	s.ok("", "create", "z", "--table", "0 8 zero")
	before := s.state()
	cantProcess := "\nCouldn't process command line.\n"
	s.expect(args("info --bogus"), "", "", "gdmsetup: unrecognized option '--bogus'"+cantProcess, 1)
	s.expect(args("info -Z"), "", "", "gdmsetup: invalid option -- 'Z'"+cantProcess, 1)
	s.expect(args("info -c -o"), "", "", "gdmsetup: option requires an argument -- 'o'"+cantProcess, 1)
	s.expect(args("info -c -o name --sort"), "", "", "gdmsetup: option '--sort' requires an argument"+cantProcess, 1)
	s.expect(args("info --noflush=yes z"), "", "", "gdmsetup: option '--noflush' doesn't allow an argument"+cantProcess, 1)
	s.expect(args("info --no z"), "", "", "gdmsetup: option '--no' is ambiguous; possibilities: '--nogroup' '--noflush' '--noheadings' "+
		"'--nolockfs' '--noopencount' '--nosuffix' '--notable' '--notimesuffix' '--nomonitor' '--noudevrules' '--noudevsync'"+cantProcess, 1)
	s.expect(args("stats report --re z"), "", "", "gdmsetup: option '--re' is ambiguous; possibilities: '--readonly' '--readahead' '--region' "+
		"'--regions' '--regionid' '--relative' '--retry'"+cantProcess, 1)
	s.expect(args("create x --table"), "", "", "gdmsetup: option '--table' requires an argument"+cantProcess, 1)
	// the option error comes first, as getopt runs before the command is looked up
	s.expect(args("bogus --bogus"), "", "", "gdmsetup: unrecognized option '--bogus'"+cantProcess, 1)
	s.expect(args("bogus"), "", "", refusal("Unknown command.", "[OPTION]... COMMAND [ARG]..."), 1)
	wrong := func(line string) {
		t.Helper()
		s.expect(args(line), "", "", refusal("Incorrect number of arguments.", commands[args(line)[0]].help), 1)
	}
	for _, line := range []string{"setgeometry z 1 2 3", "setgeometry z 1 2 3 0 9", "message z", "message", "rename",
		"rename a b c", "ls z", "targets x", "version x", "remove_all z", "wait z 1 2", "create a b c", "load a b c", "help x"} {
		wrong(line)
	}
	s.expect(args("create"), "", "", "Please specify device.\nCommand failed.\n", 1)
	s.expect(args("read"), "", "", "Please specify one device.\nCommand failed.\n", 1)
	s.expect(args("rename z"), "", "", "No device specified.\nCommand failed.\n", 1)
	if s.state() != before {
		t.Fatal("a refused command line changed the state")
	}
}

// TestOptionForms: the option forms dmsetup's users write (bundled short
// options, a short option's value in the same word, abbreviated long
// options, --setuuid as a flag) reach the commands.
func TestOptionForms(t *testing.T) {
	s := newSandbox(t)
	s.ok("", "create", "a", "--table", "0 8 zero")
	s.ok("", "create", "b", "--tab", "0 8 zero", "-ru", "U-B")
	s.expect(args("info -c --noheading -oname,attr,uuid"), "", "a:L--w:\nb:L--r:U-B\n", "", 0)
	s.expect(args("info -Cco name -O-name --noh"), "", "b\na\n", "", 0)
	s.expect(args("--verb -v ls --tar zero"), "", "a\t(253, 0)\nb\t(253, 1)\n", "", 0)
	s.ok("", "rename", "a", "--setuuid", "U-A")
	s.expect(args("info -c --noheadings -o uuid a"), "", "U-A\n", "", 0)
	s.expect(args("rename a --setuuid=U-X"), "", "", "gdmsetup: option '--setuuid' doesn't allow an argument\nCouldn't process command line.\n", 1)
	s.ok("", "create", "-n", "empty")
	s.expect(args("info -c --noheadings -o name,attr empty"), "", "empty:---w\n", "", 0)
	// --help and --version run those commands whatever the command word
	help := s.ok("", "help")
	s.expect(args("ls --help"), "", help, "", 0)
	s.expect(args("-h bogus x y"), "", help, "", 0)
	s.expect(args("--vers"), "", s.ok("", "version"), "", 0)
}

// TestNoOpenCount: --noopencount changes nothing (Linux 6.1 reports the
// open count anyway, as the cli-report transcript shows).
func TestNoOpenCount(t *testing.T) {
	s := newSandbox(t)
	s.ok("", "create", "lin", "--table", "0 8 zero")
	s.ok("", "create", "top", "--table", "0 8 linear /dev/mapper/lin 0")
	for _, line := range []string{"info lin", "info -c -o name,open lin", "info", "ls", "status", "table lin"} {
		s.expect(args(line+" --noopencount"), "", s.ok("", args(line)...), "", 0)
	}
	s.expect(args("info -c --noopencount --noheadings -o name,open lin"), "", "lin:1\n", "", 0)
}
