package table

import (
	"errors"
	"reflect"
	"testing"
)

// tableSeeds are the seed corpus of FuzzParse: every rule and error case.
var tableSeeds = []string{
	"",
	"0 100 zero",
	"0 2048 linear /dev/sda 0\n2048 2048 striped 2 128 /dev/a 0 /dev/b 0\n",
	"# comment\n\n  \t0 1 error # trailing\r\n",
	"0 1 zero#c x",
	"0 1 #x y",
	`0 1 crypt aes-xts-plain64 :64:logon:k 0 /dev/a\ b 0`,
	"0",
	"0 1",
	"x 1 zero",
	"0 100linear a",
	"18446744073709551615 18446744073709551616 z",
	"0 1 z\x00",
	"\v\f0\v1\vz\va\v",
}

// conciseSeeds are the seed corpus of FuzzParseConcise.
var conciseSeeds = []string{
	"",
	"dev1,,,,0 100 linear 253:1 0,100 100 error;dev2,,,ro,0 1 error",
	"vg-lv,LVM-abc,7,rw,0 8 zero",
	`n\,1\;\\,u\,,,,0 1 linear a\,b\;c\\d`,
	"a,,,,;b,,,,0 1 zero; \n",
	"a,b,c,rw",
	"a,,,,0 1 zero,",
	`a,,,,0 1 t x\,`,
	`a,,,,0 1 t x\`,
	"a,,,RO,0 1 zero",
	"a,,4294967296,,0 1 zero",
	"a,,,,0 1 zero,0 1",
	";;",
	"a\x00,,,,",
}

func FuzzParse(f *testing.F) {
	for _, s := range tableSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		lines, err := Parse(text)
		if err != nil {
			var perr *ParseError
			if !errors.As(err, &perr) {
				t.Fatalf("Parse(%q): error %v is not a *ParseError", text, err)
			}
			if perr.Pos.Line < 1 || perr.Pos.Column < 1 {
				t.Fatalf("Parse(%q): error without a position: %+v", text, *perr)
			}
			return
		}
		again, err := Parse(Format(lines))
		if err != nil {
			t.Fatalf("Parse(Format(Parse(%q))): %v", text, err)
		}
		if !reflect.DeepEqual(withoutPos(again), withoutPos(lines)) {
			t.Fatalf("Parse(%q) = %+v, after Format and Parse %+v", text, lines, again)
		}
	})
}

func FuzzParseConcise(f *testing.F) {
	for _, s := range conciseSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		devs, err := ParseConcise(text)
		if err != nil {
			var cerr *ConciseError
			if !errors.As(err, &cerr) {
				t.Fatalf("ParseConcise(%q): error %v is not a *ConciseError", text, err)
			}
			if cerr.Device < 1 || cerr.Pos.Line < 1 || cerr.Pos.Column < 1 || cerr.Msg == "" {
				t.Fatalf("ParseConcise(%q): incomplete error %+v", text, *cerr)
			}
			return
		}
		formatted := FormatConcise(devs)
		again, err := ParseConcise(formatted)
		if err != nil {
			t.Fatalf("ParseConcise(FormatConcise(ParseConcise(%q))) of %q: %v", text, formatted, err)
		}
		if !sameDevices(again, devs) {
			t.Fatalf("ParseConcise(%q) = %+v, after FormatConcise (%q) and ParseConcise %+v", text, devs, formatted, again)
		}
	})
}
