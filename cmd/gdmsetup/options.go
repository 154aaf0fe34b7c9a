package main

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
)

var enxio = syscall.ENXIO

// optionSpecs lists every option gdmsetup accepts (dmsetup's, plus --dir,
// --offset and --length) and whether it takes a value. Short forms map to
// long ones through optionAliases.
var optionSpecs = map[string]bool{
	"table": true, "uuid": true, "readonly": false, "notable": false, "inactive": false,
	"concise": false, "columns": false, "options": true, "noheadings": false, "noflush": false,
	"nolockfs": false, "target": true, "tree": false, "dir": true, "offset": true, "length": true,
	"force": false, "setuuid": true, "verbose": false, "yes": false, "major": true, "minor": true,
	"noudevsync": false, "noudevrules": false, "showkeys": false, "help": false, "separator": true,
	"listen": true, "socket": true, "export": true, "quiet": false, "direct": false, "sort": true,
	"rows": false, "nameprefixes": false, "unquoted": false, "select": true, "deferred": false,
	"noopencount": false, "exec": true,
	// short forms
	"u": true, "r": false, "c": false, "C": false, "o": true, "f": false, "v": false, "y": false,
	"j": true, "m": true, "h": false, "q": false, "O": true, "S": true,
}

var optionAliases = map[string]string{
	"u": "uuid", "r": "readonly", "c": "columns", "C": "columns", "o": "options", "f": "force",
	"v": "verbose", "y": "yes", "j": "major", "m": "minor", "h": "help", "q": "quiet", "O": "sort",
	"S": "select",
}

// options holds parsed options: each long name with its values in order
// (flags have one empty value per use).
type options map[string][]string

func (o options) has(name string) bool { return len(o[name]) > 0 }

// str is the last value given for name ("" if none).
func (o options) str(name string) string {
	v := o[name]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// bytes parses a byte count option: a decimal with an optional unit
// (s = 512, K, M, G, T binary); def when absent.
func (o options) bytes(name string, def int64) (int64, error) {
	s := o.str(name)
	if !o.has(name) {
		return def, nil
	}
	n, err := parseSize(s)
	if err != nil {
		return 0, usageError(fmt.Sprintf("--%s %q: %v", name, s, err))
	}
	return n, nil
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	num := s
	if len(s) > 0 {
		switch s[len(s)-1] {
		case 's':
			mult = 512
		case 'K', 'k':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult != 1 {
			num = s[:len(s)-1]
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("not a byte count (a number with an optional unit s, K, M, G or T)")
	}
	if n > (1<<63-1)/mult {
		return 0, fmt.Errorf("too large")
	}
	return n * mult, nil
}

// parseOptions splits args into options and positional arguments, as
// getopt_long with permutation does: options may come anywhere, "--" ends
// them; `--name=value` and `--name value` both work. After stopAfter
// positional arguments (when not 0) everything is positional.
func parseOptions(args []string, stopAfter int) (options, []string, error) {
	opts := options{}
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if stopAfter > 0 && len(pos) >= stopAfter {
			pos = append(pos, args[i:]...)
			break
		}
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		key, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		takesValue, ok := optionSpecs[key]
		if !ok {
			return nil, nil, usageError(fmt.Sprintf("gdmsetup: unrecognized option '%s'", a))
		}
		if long, isShort := optionAliases[key]; isShort {
			key = long
		}
		switch {
		case takesValue && !hasVal:
			if i+1 >= len(args) {
				return nil, nil, usageError(fmt.Sprintf("gdmsetup: option '%s' requires an argument", a))
			}
			i++
			val = args[i]
		case !takesValue && hasVal:
			return nil, nil, usageError(fmt.Sprintf("gdmsetup: option '%s' doesn't allow an argument", a))
		}
		opts[key] = append(opts[key], val)
	}
	return opts, pos, nil
}
