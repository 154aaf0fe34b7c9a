package main

import (
	"bufio"
	"fmt"
	"io"
	"unicode"
)

// cmdUdevCompleteAll is `udevcomplete_all [AGE_IN_MINUTES]`: after the
// confirmation dmsetup asks for (unless --yes), it destroys libdm's cookie
// semaphores older than the age; gdmsetup has none, so it reports 0.
func cmdUdevCompleteAll(e *env) error {
	age := uint32(0)
	if len(e.args) == 1 {
		// sscanf's %u
		v, rest, _ := strtol(e.args[0], 10)
		if rest == e.args[0] {
			return usageError("Failed to read age_in_minutes parameter.")
		}
		age = uint32(v)
	}
	if !e.opts.has("yes") {
		older := ""
		if age != 0 {
			older = fmt.Sprintf("older than %d minutes ", age)
		}
		fmt.Fprintf(e.stderr, "WARNING: This operation will destroy all semaphores %swith keys that have a prefix %d (0x%x).\n", older, cookieMagic, cookieMagic)
		if yesNo(e.stdin, e.stdout, "Do you really want to continue? [y/n]: ") == 'n' {
			fmt.Fprintf(e.stdout, "Semaphores with keys prefixed by %d (0x%x) NOT destroyed.\n", cookieMagic, cookieMagic)
			return nil
		}
	}
	fmt.Fprintf(e.stdout, "0 semaphores with keys prefixed by %d (0x%x) destroyed. 0 skipped.\n", cookieMagic, cookieMagic)
	return nil
}

// yesNo asks prompt until a line holds y or n (the last of them counts;
// the prompt is shown again after a line without one) and gives 'y' or 'n';
// the end of input is 'n'. As dmsetup's _yes_no_prompt, a newline follows
// an answer that did not end its line.
func yesNo(in io.Reader, out io.Writer, prompt string) byte {
	r := bufio.NewReader(in)
	var answer, c byte
	for first := true; ; first = false {
		if first || c == '\n' {
			fmt.Fprint(out, prompt)
		}
		b, err := r.ReadByte()
		if err != nil {
			answer = 'n'
			break
		}
		c = byte(unicode.ToLower(rune(b)))
		if c == 'y' || c == 'n' {
			answer = c
		}
		if answer != 0 && c == '\n' {
			break
		}
	}
	if c != '\n' {
		fmt.Fprintln(out)
	}
	return answer
}
