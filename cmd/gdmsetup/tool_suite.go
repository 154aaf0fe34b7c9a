package main

import (
	"fmt"
	"io"
)

// toolCommand is one command of a tool suite (`gdmsetup thin dump`): its word
// and what runs it on the words after it.
type toolCommand struct {
	name string
	run  func(args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

// noStdin adapts a command that reads no input to toolCommand.run.
func noStdin(run func(args []string, stdout, stderr io.Writer) int) func([]string, io.Reader, io.Writer, io.Writer) int {
	return func(args []string, _ io.Reader, stdout, stderr io.Writer) int { return run(args, stdout, stderr) }
}

// toolSuite is a gdmsetup command that gathers a family of
// thin-provisioning-tools programs under one word (`gdmsetup thin`, `gdmsetup
// era`): each command takes its tool's command line after its word.
type toolSuite struct {
	word     string
	usage    string
	commands []toolCommand // in the order the shell completes them
}

// names are the words the suite takes, as the shell completes them.
func (s *toolSuite) names() []string {
	names := make([]string, len(s.commands))
	for i, c := range s.commands {
		names[i] = c.name
	}
	return names
}

// run runs `gdmsetup WORD ...` and returns the exit code: 0 success; 1 failure,
// damage found or a refused command line (as thin-provisioning-tools: none exits
// 2). args are the command line without the suite's word: gdmsetup's own options
// (--dir, as the shell passes it) may come first; they are checked and have no
// effect on the commands, whose words after the command's are its own.
func (s *toolSuite) run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts, words, err := getopt(args, 1)
	switch {
	case err != nil:
		return report(stderr, err)
	case opts.has("help") && len(words) == 0:
		fmt.Fprint(stdout, s.usage)
		return 0
	case len(words) == 0:
		fmt.Fprint(stderr, s.usage)
		return 1
	}
	// the command's words as given, "--" included: the command reads them
	args = args[words[0]:]
	for _, c := range s.commands {
		if c.name == args[0] {
			return c.run(args[1:], stdin, stdout, stderr)
		}
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, s.usage)
		return 0
	}
	fmt.Fprintf(stderr, "gdmsetup %s: unknown command %q\n%s", s.word, args[0], s.usage)
	return 1
}
