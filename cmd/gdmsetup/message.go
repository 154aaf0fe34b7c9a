package main

import (
	"fmt"
	"strings"

	"github.com/gdmsetup/gdmsetup/targets"
)

// cmdMessage is `message NAME SECTOR WORDS...`: the words, joined by single
// spaces, go to the target holding SECTOR; its reply is printed (the
// command table makes sure of NAME and SECTOR).
func cmdMessage(e *env) error {
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
