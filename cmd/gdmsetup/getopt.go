package main

import (
	"fmt"
	"strings"
)

// argKind is whether an option takes a value: getopt_long's no_argument,
// required_argument and optional_argument.
type argKind int

const (
	noArgument       argKind = iota
	requiredArgument         // -xVALUE, -x VALUE, --name=VALUE, --name VALUE
	optionalArgument         // only attached: -xVALUE, --name=VALUE
)

// longOption is one long option of an optionTable: its name, whether it takes a
// value, and the key its uses are recorded under ("" for its name). Options with
// the same key and argKind are one option to getopt (glibc's same flag and val):
// a prefix of several of them is not ambiguous.
type longOption struct {
	name string
	arg  argKind
	key  string
}

// keyOf is the key o's uses are recorded under.
func (o longOption) keyOf() string {
	if o.key == "" {
		return o.name
	}
	return o.key
}

// optionTable is what a program gives glibc's getopt_long: prog names the program
// in getopt's messages; short is the optstring ("hm::o:": a letter, then ':' when it
// takes a value, '::' when its value is optional); long are the long options in the
// program's table order (glibc lists the possibilities of an ambiguous abbreviation
// in that order); letterKeys gives the key a letter's uses are recorded under (a
// letter not there is its own key).
type optionTable struct {
	prog       string
	short      string
	long       []longOption
	letterKeys map[byte]string
}

// foundOption is one option getopt read: the key it is recorded under and its value
// (hasValue: one was given, perhaps empty); or, for a malformed option, err, getopt's
// message.
type foundOption struct {
	key      string
	value    string
	hasValue bool
	err      optionError
}

// optionError is a command line refused while reading it: getopt_long's messages,
// and dmsetup's refusal of a bad tree option.
type optionError string

func (e optionError) Error() string { return string(e) }

// errorf is getopt_long's message: the program's name, then glibc's words.
func (t *optionTable) errorf(format string, args ...any) foundOption {
	return foundOption{err: optionError(t.prog + ": " + fmt.Sprintf(format, args...))}
}

// scan walks args as glibc's getopt_long does with t, permuting: options may come
// anywhere; a long option may be abbreviated to any prefix that names one option,
// and takes its value as --name=value, or, when required, from the next argument;
// short options bundle (-qv), and one taking a value takes the rest of its argument
// (-oname) or, when required, the next one; "--" makes every later argument
// positional, and so does reaching stopAfter positional arguments (when not 0). It
// returns every option in command-line order, malformed ones with their error
// (scan goes on past them as getopt does when called again), and the indexes in
// args of the positional arguments.
func (t *optionTable) scan(args []string, stopAfter int) (found []foundOption, words []int) {
	for i := 0; i < len(args); i++ {
		a := args[i]
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
			var f foundOption
			f, i = t.longOpt(args, i)
			found = append(found, f)
		default:
			found, i = t.shortOpts(args, i, found)
		}
	}
	return found, words
}

// longOpt reads the long option args[i] ("--name[=value]", name perhaps
// abbreviated) and its value, from args[i+1] when it requires one and has none
// attached; it returns the index of the last argument it used.
func (t *optionTable) longOpt(args []string, i int) (foundOption, int) {
	text := args[i][2:]
	name, value, attached := strings.Cut(text, "=")
	o, bad := t.lookupLong(name, text)
	if bad.err != "" {
		return bad, i
	}
	switch {
	case attached && o.arg == noArgument:
		return t.errorf("option '--%s' doesn't allow an argument", o.name), i
	case !attached && o.arg == requiredArgument:
		if i+1 >= len(args) {
			return t.errorf("option '--%s' requires an argument", o.name), i
		}
		i++
		value, attached = args[i], true
	}
	return foundOption{key: o.keyOf(), value: value, hasValue: attached}, i
}

// lookupLong finds the long option name names exactly, else the one it
// abbreviates; text is the whole argument after "--", for the errors. As glibc's,
// the possibilities of an ambiguous prefix are the first option it abbreviates
// and every later one that is another option.
func (t *optionTable) lookupLong(name, text string) (longOption, foundOption) {
	var found []longOption
	for _, o := range t.long {
		if o.name == name {
			return o, foundOption{}
		}
		if strings.HasPrefix(o.name, name) && (len(found) == 0 || o.arg != found[0].arg || o.keyOf() != found[0].keyOf()) {
			found = append(found, o)
		}
	}
	switch len(found) {
	case 0:
		return longOption{}, t.errorf("unrecognized option '--%s'", text)
	case 1:
		return found[0], foundOption{}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "option '--%s' is ambiguous; possibilities:", text)
	for _, o := range found {
		fmt.Fprintf(&b, " '--%s'", o.name)
	}
	return longOption{}, t.errorf("%s", b.String())
}

// shortArg is whether letter c is a short option of t and what value it takes.
func (t *optionTable) shortArg(c byte) (argKind, bool) {
	i := strings.IndexByte(t.short, c)
	if i < 0 || c == ':' || c == ';' {
		return noArgument, false
	}
	switch rest := t.short[i+1:]; {
	case strings.HasPrefix(rest, "::"):
		return optionalArgument, true
	case strings.HasPrefix(rest, ":"):
		return requiredArgument, true
	}
	return noArgument, true
}

// shortOpts appends to found the bundle of short options args[i] ("-qv",
// "-oname") and the value of the option in it taking one, from args[i+1] when the
// bundle ends where a required value should start; it returns the index of the
// last argument it used.
func (t *optionTable) shortOpts(args []string, i int, found []foundOption) ([]foundOption, int) {
	a := args[i]
	for k := 1; k < len(a); k++ {
		c := a[k]
		arg, ok := t.shortArg(c)
		if !ok {
			found = append(found, t.errorf("invalid option -- '%s'", a[k:k+1]))
			continue
		}
		key, ok := t.letterKeys[c]
		if !ok {
			key = string(c)
		}
		switch {
		case arg == noArgument:
			found = append(found, foundOption{key: key})
			continue
		case k+1 < len(a):
			found = append(found, foundOption{key: key, value: a[k+1:], hasValue: true})
		case arg == optionalArgument:
			found = append(found, foundOption{key: key})
		case i+1 < len(args):
			i++
			found = append(found, foundOption{key: key, value: args[i], hasValue: true})
		default:
			found = append(found, t.errorf("option requires an argument -- '%s'", a[k:k+1]))
		}
		break
	}
	return found, i
}
