package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/chzyer/readline"
)

// historyFile keeps the interactive shell's history in the state directory.
const historyFile = "history"

// shell runs command lines one at a time through runWith, exactly as the
// CLI runs them (forwarded to a server when one runs).
type shell struct {
	prefix         []string // options every line gets (--dir)
	stdout, stderr io.Writer
	colour         bool
}

// defaultCommand is what `gdmsetup` without arguments runs: the shell on a
// terminal, else help.
func defaultCommand(stdin io.Reader) string {
	if f, ok := stdin.(*os.File); ok && isTerminal(f) {
		return "shell"
	}
	return "help"
}

// runShell is `shell`: an interactive prompt with history and completion
// when stdin is a terminal; otherwise a script read from stdin, one command
// per line, stopping at the first that fails (its exit code is the
// shell's). Commands in the shell get an empty stdin.
func runShell(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts, pos, err := parseOptions(args)
	if err == nil && len(pos) > 0 {
		err = usageError(fmt.Sprintf("shell takes no arguments (a script comes on stdin): %q", pos[0]))
	}
	if err != nil {
		return report(stderr, err)
	}
	sh := &shell{stdout: stdout, stderr: stderr, colour: colourWanted(stdout)}
	if opts.has("dir") {
		sh.prefix = []string{"--dir", opts.str("dir")}
	}
	if f, ok := stdin.(*os.File); ok && isTerminal(f) {
		return report(stderr, sh.interactive(f, stateDir(opts)))
	}
	return sh.script(stdin)
}

// exec runs one command line's words and returns its exit code.
func (sh *shell) exec(words []string) int {
	stdout, stderr := sh.stdout, sh.stderr
	if sh.colour {
		o := &lineWriter{w: sh.stdout, paint: paintState}
		e := &lineWriter{w: sh.stderr, paint: paintError}
		defer o.Flush()
		defer e.Flush()
		stdout, stderr = o, e
	}
	return runWith(nil, nil, append(append([]string{}, sh.prefix...), words...), strings.NewReader(""), stdout, stderr)
}

// isExit reports whether a line's words are the shell's own exit or quit.
func isExit(words []string) bool {
	return len(words) == 1 && (words[0] == "exit" || words[0] == "quit")
}

// script runs the lines of r; a quoted string or a trailing backslash
// continues a command on the next line.
func (sh *shell) script(r io.Reader) int {
	br := bufio.NewReader(r)
	var text string
	lineNo, start := 0, 0
	for {
		line, err := br.ReadString('\n')
		if line == "" && err != nil {
			if !errors.Is(err, io.EOF) {
				fmt.Fprintf(sh.stderr, "gdmsetup shell: reading line %d: %v\n", lineNo+1, err)
				return 1
			}
			break
		}
		lineNo++
		if text == "" {
			start = lineNo
		}
		text += line
		words, werr := splitWords(text)
		if errors.Is(werr, errIncomplete) {
			continue
		}
		text = ""
		if isExit(words) {
			return 0
		}
		if len(words) == 0 {
			continue
		}
		if code := sh.exec(words); code != 0 {
			fmt.Fprintf(sh.stderr, "gdmsetup shell: line %d failed (exit %d); stopping\n", start, code)
			return code
		}
	}
	if text != "" {
		fmt.Fprintf(sh.stderr, "gdmsetup shell: line %d: %v\n", start, errIncomplete)
		return 1
	}
	return 0
}

// interactive reads lines from the terminal in with readline until end of
// input (^D) or exit; a failed command is shown and the shell goes on.
func (sh *shell) interactive(in *os.File, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state directory %s: %w", dir, err)
	}
	hist := filepath.Join(dir, historyFile)
	if f, err := os.OpenFile(hist, os.O_CREATE|os.O_RDONLY, 0o600); err == nil {
		f.Close()
	}
	const prompt, more = "gdmsetup> ", "> "
	rl, err := readline.NewEx(&readline.Config{
		Prompt: prompt, HistoryFile: hist, AutoComplete: &completer{sh: sh},
		InterruptPrompt: "^C", EOFPrompt: "exit",
		Stdin: in, Stdout: sh.stdout, Stderr: sh.stderr,
	})
	if err != nil {
		return err
	}
	defer rl.Close()
	text := ""
	for {
		line, err := rl.Readline()
		if errors.Is(err, readline.ErrInterrupt) {
			text = ""
			rl.SetPrompt(prompt)
			continue
		}
		if err != nil {
			return nil
		}
		text += line
		words, werr := splitWords(text)
		if errors.Is(werr, errIncomplete) {
			text += "\n"
			rl.SetPrompt(more)
			continue
		}
		text = ""
		rl.SetPrompt(prompt)
		if isExit(words) {
			return nil
		}
		if len(words) > 0 {
			sh.exec(words)
		}
	}
}
