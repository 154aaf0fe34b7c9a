package main

import (
	"fmt"
	"slices"
	"strconv"
	"syscall"

	"github.com/gdmsetup/gdmsetup/errno"
)

var enxio = syscall.ENXIO

// dmsetupOptions is getopt_long's table for gdmsetup's global options: dmsetup's
// optstring, and the long options of dmsetup's it implements in the order of
// dmsetup's table, then its own. Options about udev and device nodes, which
// gdmsetup has none of, are taken and change nothing: --checks, --gid,
// --mode, --uid, --nomonitor, --noudevrules, --noudevsync, --verifyudev,
// --addnodeonresume, --addnodeoncreate; --udevcookie is checked (see
// udev_cookie.go). --unbuffered changes nothing either: dmsetup's reports
// come out the same with it.
// --verbose takes no value here, where dmsetup's table gives it one (so that
// `dmsetup --verbose info` takes "info" as the value). Uses are recorded under the
// long names.
var dmsetupOptions = optionTable{
	prog:       "gdmsetup",
	short:      "cCfG:hj:m:M:no:O:rS:u:U:vy",
	long:       longOptions,
	letterKeys: shortOptions,
}

// longOptions are dmsetupOptions' long options.
var longOptions = []longOption{
	{name: "readonly"}, {name: "alias", arg: requiredArgument}, {name: "alldevices"}, {name: "allprograms"}, {name: "allregions"},
	{name: "area"}, {name: "areas", arg: requiredArgument}, {name: "areasize", arg: requiredArgument}, {name: "bounds", arg: requiredArgument},
	{name: "checks"}, {name: "clear"}, {name: "columns"}, {name: "concise"}, {name: "count", arg: requiredArgument}, {name: "deferred"},
	{name: "select", arg: requiredArgument}, {name: "exec", arg: requiredArgument}, {name: "filemap"}, {name: "follow", arg: requiredArgument},
	{name: "force"}, {name: "foreground"}, {name: "gid", arg: requiredArgument}, {name: "group"}, {name: "groupid", arg: requiredArgument},
	{name: "help"}, {name: "histogram"}, {name: "inactive"}, {name: "interval", arg: requiredArgument},
	{name: "length", arg: requiredArgument}, {name: "manglename", arg: requiredArgument}, {name: "major", arg: requiredArgument}, {name: "minor", arg: requiredArgument},
	{name: "mode", arg: requiredArgument}, {name: "nameprefixes"}, {name: "nogroup"}, {name: "noflush"}, {name: "noheadings"}, {name: "nolockfs"},
	{name: "noopencount"}, {name: "nosuffix"}, {name: "notable"}, {name: "notimesuffix"}, {name: "udevcookie", arg: requiredArgument}, {name: "nomonitor"}, {name: "noudevrules"}, {name: "noudevsync"},
	{name: "options", arg: requiredArgument}, {name: "precise"}, {name: "programid", arg: requiredArgument}, {name: "raw"},
	{name: "readahead", arg: requiredArgument}, {name: "region"}, {name: "regions", arg: requiredArgument}, {name: "regionid", arg: requiredArgument},
	{name: "relative"}, {name: "retry"}, {name: "rows"}, {name: "segments"}, {name: "separator", arg: requiredArgument}, {name: "setuuid"},
	{name: "showkeys"}, {name: "sort", arg: requiredArgument}, {name: "start", arg: requiredArgument}, {name: "table", arg: requiredArgument}, {name: "target", arg: requiredArgument},
	{name: "tree"}, {name: "uid", arg: requiredArgument}, {name: "units", arg: requiredArgument}, {name: "uuid", arg: requiredArgument}, {name: "unbuffered"}, {name: "unquoted"}, {name: "userdata", arg: requiredArgument}, {name: "verbose"},
	{name: "verifyudev"}, {name: "version"}, {name: "yes"}, {name: "addnodeonresume"}, {name: "addnodeoncreate"},
	// gdmsetup's own
	{name: "dir", arg: requiredArgument}, {name: "offset", arg: requiredArgument}, {name: "oflag", arg: requiredArgument}, {name: "bs", arg: requiredArgument}, {name: "listen", arg: requiredArgument},
	{name: "socket", arg: requiredArgument}, {name: "export", arg: requiredArgument}, {name: "direct"},
	{name: "tls", arg: requiredArgument}, {name: "tls-certificates", arg: requiredArgument}, {name: "tls-verify-peer"}, {name: "tls-psk", arg: requiredArgument},
	{name: "lv", arg: requiredArgument}, {name: "ignoreactivationskip"}, {name: "activationmode", arg: requiredArgument},
}

// shortOptions maps dmsetup's single-letter options to their long names.
var shortOptions = map[byte]string{
	'c': "columns", 'C': "columns", 'f': "force", 'G': "gid", 'h': "help", 'j': "major", 'm': "minor",
	'M': "mode", 'n': "notable", 'o': "options", 'O': "sort", 'r': "readonly", 'S': "select", 'u': "uuid",
	'U': "uid", 'v': "verbose", 'y': "yes",
}

// options holds parsed options: each long name with its values in order
// (flags have one empty value per use).
type options map[string][]string

func (o options) has(name string) bool { return len(o[name]) > 0 }

// args is a command line that gives the options o holds, less those named
// in drop: each use as --NAME or --NAME=VALUE, in longOptions' order.
func (o options) args(drop ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range longOptions {
		key := l.keyOf()
		if seen[key] || slices.Contains(drop, key) {
			continue
		}
		seen[key] = true
		for _, v := range o[key] {
			if l.arg == noArgument {
				out = append(out, "--"+l.name)
			} else {
				out = append(out, "--"+l.name+"="+v)
			}
		}
	}
	return out
}

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
// getopt): as dmsetup's getopt_long permutes, an option may come anywhere, even
// among a message's words.
func parseOptions(args []string) (options, []string, error) {
	opts, words, err := getopt(args, 0)
	if err != nil {
		return nil, nil, err
	}
	pos := make([]string, len(words))
	for k, i := range words {
		pos[k] = args[i]
	}
	return opts, pos, nil
}

// checkOptionValue refuses a value dmsetup refuses while it reads its
// command line: an unknown --manglename, a --mode not a non-zero octal
// number, a --readahead below -1, an --interval below 1, a --count below 0.
func checkOptionValue(key, value string) error {
	switch key {
	case "manglename":
		if _, ok := parseMangling(value); !ok {
			return errUnknownMangling
		}
	case "mode":
		v, rest, overflow := strtol(value, 8)
		switch {
		case overflow:
			return optionError(fmt.Sprintf("Invalid argument for --mode: %s. %s", value, errno.Text(syscall.ERANGE)))
		case rest != "" || int32(v) == 0:
			return optionError(fmt.Sprintf("Invalid argument for --mode: %s. ", value))
		}
	case "readahead":
		if _, _, err := readAheadOption(value); err != nil {
			return err
		}
	case "interval":
		if atoi(value) <= 0 {
			return optionError("Interval must be a positive integer.")
		}
	case "count":
		if atoi(value) < 0 {
			return optionError("Count must be zero or greater.")
		}
	}
	return nil
}

// getopt reads args with dmsetupOptions (see optionTable.scan). It returns the
// options, the indexes in args of the positional arguments, and the first
// malformed option's error; the positional arguments are those getopt finds
// going on past it.
func getopt(args []string, stopAfter int) (options, []int, error) {
	found, words := dmsetupOptions.scan(args, stopAfter)
	opts := options{}
	var first error
	for _, f := range found {
		switch {
		case f.err != "" && first == nil:
			first = f.err
		case f.err == "":
			if err := checkOptionValue(f.key, f.value); err != nil && first == nil {
				first = err
			}
			opts[f.key] = append(opts[f.key], f.value)
		}
	}
	return opts, words, first
}
