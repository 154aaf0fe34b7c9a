package main

import (
	"fmt"
	"strings"

	"github.com/gdmsetup/gdmsetup/targets"
)

// cmdMessage is `message NAME SECTOR WORDS...`: the words, joined by single
// spaces, go to the target holding SECTOR; its reply is printed.
func cmdMessage(e *env) error {
	if len(e.args) < 2 {
		return usageError("Please specify device, sector and message.")
	}
	sector, ok := targets.ParseUint(e.args[1], 64)
	if !ok {
		return usageError("Invalid sector.")
	}
	words := strings.Fields(strings.Join(e.args[2:], " "))
	if len(e.args) == 2 || len(words) == 0 {
		fmt.Fprintln(e.stderr, "No message supplied.")
	}
	reply, err := e.reg.Message(e.args[0], sector, words)
	if err != nil {
		return err
	}
	if reply != "" {
		fmt.Fprint(e.stdout, reply)
		if !strings.HasSuffix(reply, "\n") {
			fmt.Fprintln(e.stdout)
		}
	}
	return nil
}
