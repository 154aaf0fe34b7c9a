package table

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// Alphabets for random values: plenty of the characters that matter to the
// parsers (blanks, escapes, separators) and some that do not.
const (
	wordBytes   = "abcxyz09:/-_.,;\\#\"'é\xa0\xff"
	paramsBytes = wordBytes + "  \t\r\v\f"
	nameBytes   = paramsBytes + "\n#"
)

// randString returns a string of up to maxLen bytes drawn from alphabet
// (whole UTF-8 sequences are not kept together, on purpose).
func randString(r *rand.Rand, alphabet string, maxLen int) string {
	b := make([]byte, r.IntN(maxLen+1))
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func randSectors(r *rand.Rand) uint64 {
	switch r.IntN(3) {
	case 0:
		return r.Uint64()
	case 1:
		return r.Uint64N(1 << 20)
	default:
		return 0
	}
}

// randLine returns a line Parse could return: a type without blanks and
// params without '#', newline, or blanks at either end.
func randLine(r *rand.Rand) Line {
	typ := ""
	for typ == "" {
		typ = strings.Map(func(c rune) rune {
			if c < 0x80 && isCSpace(byte(c)) {
				return -1
			}
			return c
		}, randString(r, wordBytes, 12))
	}
	params := strings.ReplaceAll(randString(r, paramsBytes, 40), "#", "")
	params = strings.TrimFunc(params, func(c rune) bool { return c < 0x80 && isCSpace(byte(c)) })
	return Line{Start: randSectors(r), Length: randSectors(r), Type: typ, Params: params}
}

func randDevice(r *rand.Rand) ConciseDevice {
	d := ConciseDevice{
		Name:  randString(r, nameBytes, 10),
		UUID:  randString(r, nameBytes, 10),
		Flags: []string{"", "ro", "rw"}[r.IntN(3)],
	}
	if r.IntN(2) == 0 {
		m := r.Uint32()
		d.Minor = &m
	}
	for n := r.IntN(4); n > 0; n-- {
		d.Table = append(d.Table, randLine(r))
	}
	return d
}

// withoutPos returns lines with Pos cleared.
func withoutPos(lines []Line) []Line {
	if len(lines) == 0 {
		return nil
	}
	out := make([]Line, len(lines))
	for i, l := range lines {
		l.Pos = Position{}
		out[i] = l
	}
	return out
}

// sameDevices compares device lists, ignoring the Pos of table lines.
func sameDevices(a, b []ConciseDevice) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		x.Table, y.Table = withoutPos(x.Table), withoutPos(y.Table)
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

func iterations() int {
	if testing.Short() {
		return 500
	}
	return 5000
}

func TestFormatParseRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < iterations(); i++ {
		lines := make([]Line, r.IntN(6))
		for j := range lines {
			lines[j] = randLine(r)
		}
		text := Format(lines)
		got, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(Format(%+v)) = %q: %v", lines, text, err)
		}
		if !reflect.DeepEqual(withoutPos(got), withoutPos(lines)) {
			t.Fatalf("Parse(%q) =\n %+v\nwant\n %+v", text, got, lines)
		}
		for j, l := range got {
			if l.Pos != (Position{Line: j + 1, Column: 1}) {
				t.Fatalf("Parse(%q): line %d at %+v", text, j, l.Pos)
			}
		}
	}
}

func TestFormatConciseRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < iterations(); i++ {
		devs := make([]ConciseDevice, r.IntN(4))
		for j := range devs {
			devs[j] = randDevice(r)
		}
		text := FormatConcise(devs)
		got, err := ParseConcise(text)
		if err != nil {
			t.Fatalf("ParseConcise(FormatConcise(%+v)) = %q: %v", devs, text, err)
		}
		if !sameDevices(got, devs) {
			t.Fatalf("ParseConcise(%q) =\n %+v\nwant\n %+v", text, got, devs)
		}
	}
}
