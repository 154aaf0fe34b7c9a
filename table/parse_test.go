package table

import (
	"errors"
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []Line
	}{
		{"empty text", "", []Line{}},
		{"blank and comment lines only", "\n   \n# c\n\t# indented comment\n", []Line{}},
		{"one line no newline", "0 100 zero", []Line{{0, 100, "zero", "", Position{1, 1}}}},
		{"params kept verbatim inside", "0 10 linear /dev/sda   2048", []Line{{0, 10, "linear", "/dev/sda   2048", Position{1, 1}}}},
		{"tabs and several spaces", " \t 5\t\t6   striped  2 8 a 0 b 0 \t", []Line{{5, 6, "striped", "2 8 a 0 b 0", Position{1, 4}}}},
		{"comment after params trimmed", "0 1 linear a 0   # the disk", []Line{{0, 1, "linear", "a 0", Position{1, 1}}}},
		{"comment right after type", "0 1 zero #c", []Line{{0, 1, "zero", "", Position{1, 1}}}},
		{"hash inside type is part of the type (sscanf %s)", "0 1 zero#c x", []Line{{0, 1, "zero#c", "x", Position{1, 1}}}},
		{"type may start with hash", "0 1 #x y", []Line{{0, 1, "#x", "y", Position{1, 1}}}},
		{"escaped hash still starts a comment", `0 1 t a\#b`, []Line{{0, 1, "t", `a\`, Position{1, 1}}}},
		{"crlf", "0 1 zero\r\n1 2 error\r\n", []Line{{0, 1, "zero", "", Position{1, 1}}, {1, 2, "error", "", Position{2, 1}}}},
		{"vertical tab and form feed are spaces", "\v0\f1 zero\v", []Line{{0, 1, "zero", "", Position{1, 2}}}},
		{"line numbers count skipped lines", "# h\n\n0 1 zero\n\n  1 2 error a\n", []Line{{0, 1, "zero", "", Position{3, 1}}, {1, 2, "error", "a", Position{5, 3}}}},
		{"leading zeros", "007 0010 zero", []Line{{7, 10, "zero", "", Position{1, 1}}}},
		{"largest numbers", "18446744073709551615 18446744073709551615 z", []Line{{1<<64 - 1, 1<<64 - 1, "z", "", Position{1, 1}}}},
		{"non-ascii params", "0 1 t \xa0é\xff", []Line{{0, 1, "t", "\xa0é\xff", Position{1, 1}}}},
		{"no blank needed before params", "0 1 t\tp", []Line{{0, 1, "t", "p", Position{1, 1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.text)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.text, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse(%q) =\n %+v\nwant\n %+v", tt.text, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		want ParseError
	}{
		{"only start", "0", ParseError{Position{1, 2}, msgLength}},
		{"start and length", "0 100", ParseError{Position{1, 6}, msgType}},
		{"trailing blanks do not make a type", "0 100 \t ", ParseError{Position{1, 6}, msgType}},
		{"comment where the length should be", "0 # 1 zero", ParseError{Position{1, 3}, msgLength}},
		{"non-digit start", "x 1 zero", ParseError{Position{1, 1}, msgStart}},
		{"hex start", "0x10 1 zero", ParseError{Position{1, 1}, msgStart}},
		{"negative start", "-1 1 zero", ParseError{Position{1, 1}, msgStart}},
		{"plus sign", "+1 1 zero", ParseError{Position{1, 1}, msgStart}},
		{"letters glued to length", "0 100linear a", ParseError{Position{1, 3}, msgLength}},
		{"non-digit length", "0 ten zero", ParseError{Position{1, 3}, msgLength}},
		{"start overflow", "18446744073709551616 1 zero", ParseError{Position{1, 1}, msgOutOfRange}},
		{"length overflow", "0 99999999999999999999 zero", ParseError{Position{1, 3}, msgOutOfRange}},
		{"error on a later line", "0 1 zero\n\n# c\n  5 x zero\n0 1 zero", ParseError{Position{4, 5}, msgLength}},
		{"first error wins", "0\nx", ParseError{Position{1, 2}, msgLength}},
		{"NUL byte", "0 1 zero\n0 1 z\x00ero", ParseError{Position{2, 6}, msgNUL}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines, err := Parse(tt.text)
			var perr *ParseError
			if !errors.As(err, &perr) {
				t.Fatalf("Parse(%q) = %+v, %v; want a *ParseError", tt.text, lines, err)
			}
			if *perr != tt.want {
				t.Fatalf("Parse(%q) error %+v, want %+v", tt.text, *perr, tt.want)
			}
		})
	}
}

func TestParseErrorText(t *testing.T) {
	_, err := Parse("0 1 zero\n0 1")
	if got, want := err.Error(), "line 2, column 4: expected a target type"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func TestFormat(t *testing.T) {
	lines := []Line{
		{Start: 0, Length: 2048, Type: "zero"},
		{Start: 2048, Length: 8, Type: "linear", Params: "/dev/sda 0", Pos: Position{9, 9}},
	}
	if got, want := Format(lines), "0 2048 zero\n2048 8 linear /dev/sda 0\n"; got != want {
		t.Fatalf("Format = %q, want %q", got, want)
	}
	if got := Format(nil); got != "" {
		t.Fatalf("Format(nil) = %q, want empty", got)
	}
}
