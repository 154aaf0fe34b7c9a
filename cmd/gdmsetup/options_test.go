package main

import (
	"reflect"
	"strings"
	"testing"
)

// TestGetopt: every form glibc's getopt_long accepts with dmsetup's
// options, and its refusals in its words.
func TestGetopt(t *testing.T) {
	cases := []struct {
		line string
		opts options
		pos  []string
		err  string
	}{
		{line: "info -c -v lin", opts: options{"columns": {""}, "verbose": {""}}, pos: []string{"info", "lin"}},
		{line: "-cv info", opts: options{"columns": {""}, "verbose": {""}}, pos: []string{"info"}},
		{line: "-vvv", opts: options{"verbose": {"", "", ""}}},
		{line: "info -oname,open", opts: options{"options": {"name,open"}}, pos: []string{"info"}},
		{line: "info -co name,open", opts: options{"columns": {""}, "options": {"name,open"}}, pos: []string{"info"}},
		{line: "info -cO -name -o name", opts: options{"columns": {""}, "sort": {"-name"}, "options": {"name"}}, pos: []string{"info"}},
		{line: "info -c -o+suspended", opts: options{"columns": {""}, "options": {"+suspended"}}, pos: []string{"info"}},
		{line: "-o -- x", opts: options{"options": {"--"}}, pos: []string{"x"}},
		{line: "-Cco", opts: options{"columns": {"", ""}}, err: "option requires an argument -- 'o'"},
		{line: "info --noheading --sort=name --sep : x", opts: options{"noheadings": {""}, "sort": {"name"}, "separator": {":"}}, pos: []string{"info", "x"}},
		{line: "--table= create", opts: options{"table": {""}}, pos: []string{"create"}},
		{line: "--table=0 8 zero", opts: options{"table": {"0"}}, pos: []string{"8", "zero"}},
		{line: "-n -r -y -f -h", opts: options{"notable": {""}, "readonly": {""}, "yes": {""}, "force": {""}, "help": {""}}},
		{line: "-u U -j 253 -m 1 -S name=a", opts: options{"uuid": {"U"}, "major": {"253"}, "minor": {"1"}, "select": {"name=a"}}},
		{line: "rename a --setuuid b", opts: options{"setuuid": {""}}, pos: []string{"rename", "a", "b"}},
		{line: "a -- -c --bogus", pos: []string{"a", "-c", "--bogus"}},
		{line: "- -", pos: []string{"-", "-"}},
		{line: "message p 0 create_thin -c 1", opts: options{"columns": {""}}, pos: []string{"message", "p", "0", "create_thin", "1"}},
		{line: "message p 0 create_thin -1", err: "invalid option -- '1'"},
		{line: "message p 0 @stats_create - /1", pos: []string{"message", "p", "0", "@stats_create", "-", "/1"}},
		{line: "--tab x --tar y", opts: options{"table": {"x"}, "target": {"y"}}},
		{line: "info --bogus", err: "unrecognized option '--bogus'"},
		{line: "info --bogus=1", err: "unrecognized option '--bogus=1'"},
		{line: "info -Z", err: "invalid option -- 'Z'"},
		{line: "info -cZv", err: "invalid option -- 'Z'"},
		{line: "info -c -o", err: "option requires an argument -- 'o'"},
		{line: "info --sort", err: "option '--sort' requires an argument"},
		{line: "info --sor", err: "option '--sort' requires an argument"},
		{line: "info --noflush=1", err: "option '--noflush' doesn't allow an argument"},
		{line: "info --noflu=1", err: "option '--noflush' doesn't allow an argument"},
		{line: "info --no", err: "option '--no' is ambiguous; possibilities: '--nogroup' '--noflush' '--noheadings' '--nolockfs' '--noopencount' '--nosuffix' '--notable' '--notimesuffix' '--nomonitor' '--noudevrules' '--noudevsync'"},
		{line: "info --ta=x", err: "option '--ta=x' is ambiguous; possibilities: '--table' '--target'"},
		{line: "info --ver", err: "option '--ver' is ambiguous; possibilities: '--verbose' '--verifyudev' '--version'"},
		{line: "--bogus -Z", err: "unrecognized option '--bogus'"},
	}
	for _, c := range cases {
		opts, pos, err := parseOptions(strings.Fields(c.line))
		if c.err != "" {
			if err == nil || err.Error() != "gdmsetup: "+c.err {
				t.Errorf("%q: error %v, want %q", c.line, err, c.err)
			} else if _, ok := err.(optionError); !ok {
				t.Errorf("%q: error of type %T, want optionError", c.line, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.line, err)
			continue
		}
		if c.opts == nil {
			c.opts = options{}
		}
		if !reflect.DeepEqual(opts, c.opts) || !reflect.DeepEqual(pos, c.pos) && len(pos)+len(c.pos) > 0 {
			t.Errorf("%q: options %q, positional %q; want %q, %q", c.line, opts, pos, c.opts, c.pos)
		}
	}
}

// TestFirstCommand: the command word is the first positional argument as
// getopt finds it, whatever options come before it and however they are
// written; the rest keeps every other argument in order.
func TestFirstCommand(t *testing.T) {
	cases := []struct{ line, name, rest string }{
		{"ls", "ls", ""},
		{"--dir d ls -v", "ls", "--dir d -v"},
		{"--dir=d ls", "ls", "--dir=d"},
		{"-co name info x", "info", "-co name x"},
		{"-c -o name info", "info", "-c -o name"},
		{"-oname info", "info", "-oname"},
		{"--opt name info", "info", "--opt name"},
		{"--noheadings info", "info", "--noheadings"},
		{"-cO -name info", "info", "-cO -name"},
		{"--bogus info", "info", "--bogus"},
		{"-Z info", "info", "-Z"},
		{"-- -x", "-x", "--"},
		{"-o", "", "-o"},
		{"-o info", "", "-o info"},
		{"", "", ""},
	}
	for _, c := range cases {
		name, rest := firstCommand(strings.Fields(c.line))
		if name != c.name || strings.Join(rest, " ") != c.rest {
			t.Errorf("firstCommand(%q) = %q, %q; want %q, %q", c.line, name, rest, c.name, c.rest)
		}
	}
}
