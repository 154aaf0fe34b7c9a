package main

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
)

var enxio = syscall.ENXIO

// longOption is one long option and whether it takes a value.
type longOption struct {
	name       string
	takesValue bool
}

// longOptions are the long options gdmsetup accepts: those of dmsetup's it
// implements, in the order of dmsetup's table (glibc lists the
// possibilities of an ambiguous abbreviation in table order), then its own.
// --verbose takes no value here, where dmsetup's table gives it one (so that
// `dmsetup --verbose info` takes "info" as the value).
var longOptions = []longOption{
	{"readonly", false}, {"columns", false}, {"concise", false}, {"deferred", false},
	{"select", true}, {"exec", true}, {"force", false}, {"help", false},
	{"inactive", false}, {"length", true}, {"major", true}, {"minor", true},
	{"nameprefixes", false}, {"noflush", false}, {"noheadings", false}, {"nolockfs", false},
	{"noopencount", false}, {"notable", false}, {"noudevrules", false}, {"noudevsync", false},
	{"options", true}, {"rows", false}, {"separator", true}, {"setuuid", false},
	{"showkeys", false}, {"sort", true}, {"table", true}, {"target", true},
	{"tree", false}, {"uuid", true}, {"unquoted", false}, {"verbose", false},
	{"version", false}, {"yes", false},
	// gdmsetup's own
	{"dir", true}, {"offset", true}, {"listen", true}, {"socket", true},
	{"export", true}, {"direct", false},
}

// shortOptions maps dmsetup's single-letter options to their long names;
// each takes a value when its long form does.
var shortOptions = map[byte]string{
	'c': "columns", 'C': "columns", 'f': "force", 'h': "help", 'j': "major", 'm': "minor",
	'n': "notable", 'o': "options", 'O': "sort", 'r': "readonly", 'S': "select", 'u': "uuid",
	'v': "verbose", 'y': "yes",
}

// optionError is a command line dmsetup refuses while reading it (getopt_long's
// errors, a bad tree option): printed as is, then "Couldn't process command
// line.".
type optionError string

func (e optionError) Error() string { return string(e) }

// getoptError is getopt_long's message: glibc's words after the program's name.
func getoptError(format string, args ...any) optionError {
	return optionError("gdmsetup: " + fmt.Sprintf(format, args...))
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

// parseOptions splits args into options and positional arguments (see
// getopt). After stopAfter positional arguments (when not 0) everything is
// positional.
func parseOptions(args []string, stopAfter int) (options, []string, error) {
	opts, words, err := getopt(args, stopAfter)
	if err != nil {
		return nil, nil, err
	}
	pos := make([]string, len(words))
	for k, i := range words {
		pos[k] = args[i]
	}
	return opts, pos, nil
}

// getopt walks args as glibc's getopt_long does with longOptions and
// shortOptions, permuting: options may come anywhere; a long option may be
// abbreviated to any prefix that is not ambiguous, and takes its value as
// --name=value or from the next argument; short options bundle (-cv), and
// one taking a value takes the rest of its argument (-oname) or the next
// one; "--" makes every later argument positional, and so does reaching
// stopAfter positional arguments (when not 0). It returns the options, the
// indexes in args of the positional arguments, and the first malformed
// option's error; it goes on past that option as getopt would, so that the
// positional arguments are those getopt finds.
func getopt(args []string, stopAfter int) (options, []int, error) {
	opts := options{}
	var words []int
	var first error
	for i := 0; i < len(args); i++ {
		a := args[i]
		var err error
		switch {
		case a == "--" || (stopAfter > 0 && len(words) >= stopAfter):
			if a == "--" {
				i++
			}
			for ; i < len(args); i++ {
				words = append(words, i)
			}
		case len(a) < 2 || a[0] != '-':
			words = append(words, i)
		case a[1] == '-':
			i, err = longOpt(args, i, opts)
		default:
			i, err = shortOpts(args, i, opts)
		}
		if first == nil {
			first = err
		}
	}
	return opts, words, first
}

// longOpt reads the long option args[i] ("--name[=value]", name perhaps
// abbreviated) and its value, from args[i+1] when it needs one; it returns
// the index of the last argument it used.
func longOpt(args []string, i int, opts options) (int, error) {
	text := args[i][2:]
	name, value, hasValue := strings.Cut(text, "=")
	o, err := lookupLong(name, text)
	if err != nil {
		return i, err
	}
	switch {
	case hasValue && !o.takesValue:
		return i, getoptError("option '--%s' doesn't allow an argument", o.name)
	case !hasValue && o.takesValue:
		if i+1 >= len(args) {
			return i, getoptError("option '--%s' requires an argument", o.name)
		}
		i++
		value = args[i]
	}
	opts[o.name] = append(opts[o.name], value)
	return i, nil
}

// lookupLong finds the long option name names exactly, else the one it
// abbreviates; text is the whole argument after "--", for the errors.
func lookupLong(name, text string) (longOption, error) {
	var found []longOption
	for _, o := range longOptions {
		if o.name == name {
			return o, nil
		}
		if strings.HasPrefix(o.name, name) {
			found = append(found, o)
		}
	}
	switch len(found) {
	case 0:
		return longOption{}, getoptError("unrecognized option '--%s'", text)
	case 1:
		return found[0], nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "option '--%s' is ambiguous; possibilities:", text)
	for _, o := range found {
		fmt.Fprintf(&b, " '--%s'", o.name)
	}
	return longOption{}, getoptError("%s", b.String())
}

// shortOpts reads the bundle of short options args[i] ("-cv", "-oname")
// and the value of its last option, from args[i+1] when the bundle ends
// where that value should start; it returns the index of the last argument
// it used.
func shortOpts(args []string, i int, opts options) (int, error) {
	a := args[i]
	var first error
	for k := 1; k < len(a); k++ {
		letter := a[k : k+1]
		long, ok := shortOptions[a[k]]
		if !ok {
			if first == nil {
				first = getoptError("invalid option -- '%s'", letter)
			}
			continue
		}
		o, _ := lookupLong(long, long)
		if !o.takesValue {
			opts[long] = append(opts[long], "")
			continue
		}
		switch {
		case k+1 < len(a):
			opts[long] = append(opts[long], a[k+1:])
		case i+1 < len(args):
			i++
			opts[long] = append(opts[long], args[i])
		case first == nil:
			first = getoptError("option requires an argument -- '%s'", letter)
		}
		break
	}
	return i, first
}
