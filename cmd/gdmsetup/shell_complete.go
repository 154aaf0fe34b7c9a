package main

import (
	"bytes"
	"sort"
	"strings"

	"github.com/gdmsetup/gdmsetup/targets"
)

// messageVerbs are the messages thin-pool and clone targets take.
var messageVerbs = []string{
	"create_thin", "create_snap", "delete", "set_transaction_id", "reserve_metadata_snap", "release_metadata_snap",
	"enable_hydration", "disable_hydration", "hydration_threshold", "hydration_batch_size",
}

// deviceArgs are the commands whose positional arguments name existing
// devices (message and rename only the first).
var deviceArgs = map[string]bool{
	"load": true, "reload": true, "resume": true, "suspend": true, "remove": true, "clear": true,
	"wipe_table": true, "table": true, "status": true, "measure": true, "info": true, "deps": true, "wait": true,
	"read": true, "write": true, "discard": true, "message": true, "rename": true,
}

// completer completes the word before the cursor: command names first,
// then device names, target types after --target, message verbs, option
// names after a dash.
type completer struct{ sh *shell }

// Do implements readline.AutoCompleter: the suffixes that complete the
// current word, and the current word's length.
func (c *completer) Do(line []rune, pos int) ([][]rune, int) {
	before := string(line[:pos])
	words := strings.Fields(before)
	cur := ""
	if len(words) > 0 && !strings.HasSuffix(before, " ") && !strings.HasSuffix(before, "\t") {
		cur, words = words[len(words)-1], words[:len(words)-1]
	}
	var out [][]rune
	for _, cand := range c.candidates(words, cur) {
		if strings.HasPrefix(cand, cur) {
			out = append(out, []rune(cand[len(cur):]+" "))
		}
	}
	return out, len([]rune(cur))
}

// candidates lists every word that may come after words, cur being the
// start of the word being typed.
func (c *completer) candidates(words []string, cur string) []string {
	if strings.HasPrefix(cur, "-") {
		return optionNames()
	}
	if len(words) > 0 && (words[len(words)-1] == "--target") {
		return targetTypes()
	}
	cmd, pos := "", 0
	if _, ws, _ := getopt(words, 0); len(ws) > 0 {
		cmd, pos = words[ws[0]], len(ws)-1
	}
	switch {
	case cmd == "":
		return commandNames()
	case cmd == "thin" && pos == 0:
		return thinSuite.names()
	case cmd == "era" && pos == 0:
		return eraSuite.names()
	case cmd == "cache" && pos == 0:
		return cacheSuite.names()
	case cmd == "message" && pos == 2:
		return messageVerbs
	case cmd == "message" || cmd == "rename":
		if pos == 0 {
			return c.devices()
		}
	case deviceArgs[cmd]:
		return c.devices()
	}
	return nil
}

func commandNames() []string {
	names := []string{"exit", "quit"}
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func optionNames() []string {
	var names []string
	for _, o := range longOptions {
		names = append(names, "--"+o.name)
	}
	sort.Strings(names)
	return names
}

func targetTypes() []string {
	var names []string
	for _, t := range targets.All() {
		names = append(names, t.Name)
	}
	sort.Strings(names)
	return names
}

// devices lists the device names `ls` shows (through the server when one
// runs).
func (c *completer) devices() []string {
	var out, errb bytes.Buffer
	if runWith(nil, nil, append(append([]string{}, c.sh.prefix...), "ls"), strings.NewReader(""), &out, &errb) != 0 {
		return nil
	}
	var names []string
	for _, l := range strings.Split(out.String(), "\n") {
		if name, _, ok := strings.Cut(l, "\t"); ok {
			names = append(names, name)
		}
	}
	return names
}
