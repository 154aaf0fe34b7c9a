package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestOptionTableScan: what glibc's getopt_long does with a table that has
// optional values, aliases of one option and letters recorded under their own
// keys (dmsetup's forms are TestGetopt's).
func TestOptionTableScan(t *testing.T) {
	table := optionTable{prog: "prog", short: "hm::o:q", long: []longOption{
		{name: "help", key: "h"}, {name: "metadata-snap", arg: optionalArgument, key: "m"},
		{name: "output", arg: requiredArgument, key: "o"}, {name: "colour", arg: requiredArgument, key: "color"},
		{name: "color", arg: requiredArgument}, {name: "colander"}, {name: "quiet", key: "q"},
	}}
	// show writes found options as key=value (key alone without a value), errors
	// as !message, and the positional words as [word].
	show := func(args []string) string {
		found, words := table.scan(args, 0)
		var b []string
		for _, f := range found {
			switch {
			case f.err != "":
				b = append(b, "!"+strings.TrimPrefix(string(f.err), "prog: "))
			case f.hasValue:
				b = append(b, f.key+"="+f.value)
			default:
				b = append(b, f.key)
			}
		}
		for _, i := range words {
			b = append(b, fmt.Sprintf("[%s]", args[i]))
		}
		return strings.Join(b, " ")
	}
	for _, c := range []struct{ line, want string }{
		{"-m5 x", "m=5 [x]"},
		{"-m 5", "m [5]"},
		{"-qm5", "q m=5"},
		{"-mq", "m=q"},
		{"-qm", "q m"},
		{"--metadata-snap=5 x", "m=5 [x]"},
		{"--metadata-snap 5", "m [5]"},
		{"--meta= x", "m= [x]"},
		{"-qqo out -h", "q q o=out h"},
		{"-oq", "o=q"},
		{"-q -o", "q !option requires an argument -- 'o'"},
		{"x -- -q --help", "[x] [-q] [--help]"},
		{"--colou red", "color=red"},
		{"--colo red", "color=red"},
		{"--col=red", "!option '--col=red' is ambiguous; possibilities: '--colour' '--colander'"},
		{"--color red", "color=red"},
		{"--colan=1", "!option '--colander' doesn't allow an argument"},
		{"--he --q", "h q"},
		{"--output", "!option '--output' requires an argument"},
		{"--bogus=1 x", "!unrecognized option '--bogus=1' [x]"},
		{"-:", "!invalid option -- ':'"},
		{"-qZh", "q !invalid option -- 'Z' h"},
		{"- -", "[-] [-]"},
	} {
		if got := show(strings.Fields(c.line)); got != c.want {
			t.Errorf("%q: %s; want %s", c.line, got, c.want)
		}
	}
}
