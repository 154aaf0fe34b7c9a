package main

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gdmsetup/gdmsetup/dm"
)

// readAheadOption is --readahead as dmsetup reads it: auto or none (in any
// case), else a number as atoi reads it, at least that many sectors when
// a '+' comes first (after white space). A number below -1 is refused; -1
// is auto.
func readAheadOption(v string) (sectors uint32, minimum bool, err error) {
	switch {
	case strings.EqualFold(v, "auto"):
		return dm.ReadAheadAuto, false, nil
	case strings.EqualFold(v, "none"):
		return 0, false, nil
	}
	n := atoi(v)
	if n < -1 {
		return 0, false, optionError(fmt.Sprintf("Negative read ahead value (%d) is not understood.", n))
	}
	minimum = strings.HasPrefix(strings.TrimLeftFunc(v, func(r rune) bool { return r < utf8.RuneSelf && cSpace(byte(r)) }), "+")
	return uint32(n), minimum, nil
}

// setReadAhead sets --readahead, when given, on a device just resumed, as
// libdm does after a resume: a failure (a device with no node to set it
// through) is libdm's line, and the command goes on.
func (e *env) setReadAhead(name string) {
	if !e.opts.has("readahead") {
		return
	}
	sectors, minimum, _ := readAheadOption(e.opts.str("readahead")) // checked with the command line
	if err := e.reg.SetReadAhead(name, sectors, minimum); err != nil {
		fmt.Fprintln(e.stderr, err)
	}
}
