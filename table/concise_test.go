package table

import (
	"errors"
	"reflect"
	"testing"
)

func minor(m uint32) *uint32 { return &m }

func TestParseConcise(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []ConciseDevice
	}{
		{"empty list", "", []ConciseDevice{}},
		{"dmsetup help example", "dev1,,,,0 100 linear 253:1 0,100 100 error;dev2,,,ro,0 1 error", []ConciseDevice{
			{Name: "dev1", Table: []Line{{0, 100, "linear", "253:1 0", Position{1, 1}}, {100, 100, "error", "", Position{2, 1}}}},
			{Name: "dev2", Flags: "ro", Table: []Line{{0, 1, "error", "", Position{1, 1}}}},
		}},
		{"all fields", "vg-lv,LVM-abc,7,rw,0 8 zero", []ConciseDevice{
			{Name: "vg-lv", UUID: "LVM-abc", Minor: minor(7), Flags: "rw", Table: []Line{{0, 8, "zero", "", Position{1, 1}}}},
		}},
		{"whitespace after separators skipped, not before", "a , u ,\t7,  ro,  0 1 zero;\n b,,,,0 1 zero ", []ConciseDevice{
			{Name: "a ", UUID: "u ", Minor: minor(7), Flags: "ro", Table: []Line{{0, 1, "zero", "", Position{1, 1}}}},
			{Name: "b", Table: []Line{{0, 1, "zero", "", Position{1, 1}}}},
		}},
		{"leading whitespace of the first name kept", " a,,,,0 1 zero", []ConciseDevice{
			{Name: " a", Table: []Line{{0, 1, "zero", "", Position{1, 1}}}},
		}},
		{"escapes", `n\,1\;\\,u\,,,,0 1 linear a\,b\;c\\d`, []ConciseDevice{
			{Name: `n,1;\`, UUID: "u,", Table: []Line{{0, 1, "linear", `a,b;c\d`, Position{1, 1}}}},
		}},
		{"escaped whitespace is not skipped", `a,\ u,,,0 1 zero`, []ConciseDevice{
			{Name: "a", UUID: " u", Table: []Line{{0, 1, "zero", "", Position{1, 1}}}},
		}},
		{"empty table before ';' makes a device without table", "a,,,,;b,,,,0 1 zero", []ConciseDevice{
			{Name: "a"},
			{Name: "b", Table: []Line{{0, 1, "zero", "", Position{1, 1}}}},
		}},
		{"trailing ';' and whitespace", "a,,,,0 1 zero; \n", []ConciseDevice{
			{Name: "a", Table: []Line{{0, 1, "zero", "", Position{1, 1}}}},
		}},
		{"empty table lines and comments skipped but counted", "a,,,,0 1 zero,,# c,1 2 error", []ConciseDevice{
			{Name: "a", Table: []Line{{0, 1, "zero", "", Position{1, 1}}, {1, 2, "error", "", Position{4, 1}}}},
		}},
		{"trailing newline from stdin ends up in the table", "a,,,,0 1 zero\n", []ConciseDevice{
			{Name: "a", Table: []Line{{0, 1, "zero", "", Position{1, 1}}}},
		}},
		{"comma after a table line closed by ';'", "a,,,,0 1 zero,;", []ConciseDevice{
			{Name: "a", Table: []Line{{0, 1, "zero", "", Position{1, 1}}}},
		}},
		{"escaped last character closed by ';'", `a,,,,0 1 t x\,;`, []ConciseDevice{
			{Name: "a", Table: []Line{{0, 1, "t", "x,", Position{1, 1}}}},
		}},
		{"largest minor", "a,,4294967295,,", nil},
	}
	tests[len(tests)-1].text += ";"
	tests[len(tests)-1].want = []ConciseDevice{{Name: "a", Minor: minor(4294967295)}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConcise(tt.text)
			if err != nil {
				t.Fatalf("ParseConcise(%q): %v", tt.text, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseConcise(%q) =\n %+v\nwant\n %+v", tt.text, got, tt.want)
			}
		})
	}
}

func TestParseConciseErrors(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		device int
		msg    string
	}{
		{"four fields", "a,b,c,rw", 1, msgFiveFields},
		{"only a name", "a", 1, msgFiveFields},
		{"blank entry", "   ", 1, msgFiveFields},
		{"empty entry first", ";a,,,,0 1 zero", 1, msgFiveFields},
		{"empty entry between", "a,,,,0 1 zero;;b,,,,0 1 zero", 2, msgFiveFields},
		{"second device short", "a,,,,0 1 zero;b,,", 2, msgIncomplete},
		{"second device short, no comma at end", "a,,,,0 1 zero;b,,c", 2, msgFiveFields},
		{"ends with a field comma", "a,b,", 1, msgIncomplete},
		{"ends with the fifth comma", "a,,,,", 1, msgIncomplete},
		{"ends with a comma and blanks", "a,,,, \t", 1, msgIncomplete},
		{"ends with a table comma", "a,,,,0 1 zero,", 1, msgIncomplete},
		{"ends with an escaped character", `a,,,,0 1 t x\,`, 1, msgIncomplete},
		{"backslash at the end", `a,,,,0 1 t x\`, 1, msgBackslash},
		{"bad flags", "a,,,RO,0 1 zero", 1, "Invalid flags parameter 'RO' must be 'ro' or 'rw' or empty."},
		{"flags checked before the next device", "a,,,x,0 1 zero;b", 1, "Invalid flags parameter 'x' must be 'ro' or 'rw' or empty."},
		{"fields checked before flags", "a,,,x", 1, msgFiveFields},
		{"flags checked before table", "a,,,x,0", 1, "Invalid flags parameter 'x' must be 'ro' or 'rw' or empty."},
		{"minor not a number", "a,,x,,0 1 zero", 1, "Invalid minor number 'x': must be a decimal number below 2^32."},
		{"minor negative", "a,,-1,,0 1 zero", 1, "Invalid minor number '-1': must be a decimal number below 2^32."},
		{"minor with sign", "a,,+1,,0 1 zero", 1, "Invalid minor number '+1': must be a decimal number below 2^32."},
		{"minor too big", "a,,4294967296,,0 1 zero", 1, "Invalid minor number '4294967296': must be a decimal number below 2^32."},
		{"minor with trailing blank", "a,,1 ,,0 1 zero", 1, "Invalid minor number '1 ': must be a decimal number below 2^32."},
		{"NUL byte", "a,,,,0 1 zero;b\x00", 2, msgNULConcise},
		{"bad table line", "a,,,,0 1 zero,0 1", 1, "table line 2: expected a target type"},
		{"bad table in second device", "a,,,,0 1 zero;b,,,,x 1 zero", 2, "table line 1: expected a start sector"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			devs, err := ParseConcise(tt.text)
			var cerr *ConciseError
			if !errors.As(err, &cerr) {
				t.Fatalf("ParseConcise(%q) = %+v, %v; want a *ConciseError", tt.text, devs, err)
			}
			if cerr.Device != tt.device || cerr.Msg != tt.msg {
				t.Fatalf("ParseConcise(%q) error device %d %q, want device %d %q", tt.text, cerr.Device, cerr.Msg, tt.device, tt.msg)
			}
		})
	}
}

func TestConciseErrorWrapsParseError(t *testing.T) {
	_, err := ParseConcise("a,,,,0 1 zero,\t 5")
	var perr *ParseError
	if !errors.As(err, &perr) {
		t.Fatalf("error %v does not wrap a *ParseError", err)
	}
	if want := (ParseError{Position{2, 4}, msgLength}); *perr != want {
		t.Fatalf("wrapped %+v, want %+v", *perr, want)
	}
	if got, want := err.Error(), "concise device 1 (line 1, column 6): table line 2: expected a length"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func TestFormatConcise(t *testing.T) {
	tests := []struct {
		name string
		devs []ConciseDevice
		want string
	}{
		{"none", nil, ""},
		{"as dmsetup table --concise prints", []ConciseDevice{
			{Name: "dev1", Minor: minor(0), Flags: "rw", Table: []Line{{0, 100, "linear", "253:1 0", Position{}}, {100, 100, "error", "", Position{}}}},
			{Name: "dev2", UUID: "u-2", Minor: minor(1), Flags: "ro", Table: []Line{{0, 1, "error", "", Position{}}}},
		}, "dev1,,0,rw,0 100 linear 253:1 0,100 100 error ;dev2,u-2,1,ro,0 1 error "},
		{"specials escaped", []ConciseDevice{
			{Name: `a,b;c\d`, UUID: ";", Minor: minor(3), Flags: "rw", Table: []Line{{0, 1, "crypt", `x,y;z\ 0`, Position{}}}},
		}, `a\,b\;c\\d,\;,3,rw,0 1 crypt x\,y\;z\\ 0`},
		{"leading whitespace of name and uuid escaped", []ConciseDevice{
			{Name: "a", Table: []Line{{0, 1, "zero", "", Position{}}}},
			{Name: " b", UUID: "\tu", Table: []Line{{0, 1, "zero", "", Position{}}}},
		}, "a,,,,0 1 zero ;\\ b,\\\tu,,,0 1 zero "},
		{"device without table gets its fifth field and a closing ';'", []ConciseDevice{{Name: "a", Flags: "rw"}}, "a,,,rw,;"},
		{"device without table in the middle", []ConciseDevice{{Name: "a"}, {Name: "b", Table: []Line{{0, 1, "zero", "", Position{}}}}}, "a,,,,;b,,,,0 1 zero "},
		{"escaped last character closed by ';'", []ConciseDevice{{Name: "a", Table: []Line{{0, 1, "t", `x\`, Position{}}}}}, `a,,,,0 1 t x\\;`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FormatConcise(tt.devs)
			if got != tt.want {
				t.Fatalf("FormatConcise = %q, want %q", got, tt.want)
			}
			back, err := ParseConcise(got)
			if err != nil {
				t.Fatalf("ParseConcise(%q): %v", got, err)
			}
			if !sameDevices(back, tt.devs) {
				t.Fatalf("ParseConcise(%q) = %+v, want %+v", got, back, tt.devs)
			}
		})
	}
}

func TestConciseErrorPositions(t *testing.T) {
	tests := []struct {
		text string
		want Position
	}{
		{"a,,x,,0 1 zero", Position{1, 4}},
		{"a,,,ro,0 1 zero;\nb,u,1, bad,0 1 zero", Position{2, 8}},
		{"a,,,,  0 1", Position{1, 8}},
		{"a,b", Position{1, 4}},
		{"a,,,,0 1 zero;b,,c", Position{1, 19}},
	}
	for _, tt := range tests {
		_, err := ParseConcise(tt.text)
		var cerr *ConciseError
		if !errors.As(err, &cerr) {
			t.Fatalf("ParseConcise(%q): %v, want a *ConciseError", tt.text, err)
		}
		if cerr.Pos != tt.want {
			t.Errorf("ParseConcise(%q): error at %+v, want %+v (%v)", tt.text, cerr.Pos, tt.want, err)
		}
	}
}
