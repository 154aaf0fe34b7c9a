package lvm

import (
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	root, err := ParseConfig([]byte(`# comment
vg {
	id = "a-b"	# trailing comment
	seqno = 7
	ratio = 1.5
	neg = -3
	status = ["READ", "WRITE",]
	empty = []
	name = "q\"uo\\te"
	sub { x = 1 }
}
contents = 'single'
`))
	if err != nil {
		t.Fatal(err)
	}
	vg := root.Child("vg")
	if vg == nil || vg.Line != 2 || root.Keys["contents"].Str != "single" {
		t.Fatalf("root: %+v", root)
	}
	if id, _ := vg.Str("id"); id != "a-b" {
		t.Errorf("id %q", id)
	}
	if n, _ := vg.Uint("seqno"); n != 7 {
		t.Errorf("seqno %d", n)
	}
	if v := vg.Keys["ratio"]; v.Kind != KindFloat || v.Str != "1.5" {
		t.Errorf("ratio %+v", v)
	}
	if _, err := vg.Uint("neg"); err == nil {
		t.Errorf("a negative number read as unsigned")
	}
	if st, _ := vg.Strings("status"); strings.Join(st, ",") != "READ,WRITE" {
		t.Errorf("status %q", st)
	}
	if st, err := vg.Strings("empty"); err != nil || len(st) != 0 {
		t.Errorf("empty %q %v", st, err)
	}
	if s, _ := vg.Str("name"); s != `q"uo\te` {
		t.Errorf("escapes: %q", s)
	}
	if x, _ := vg.Child("sub").Uint("x"); x != 1 {
		t.Errorf("sub.x %d", x)
	}
	if n, err := vg.UintOr("missing", 9); n != 9 || err != nil {
		t.Errorf("UintOr: %d %v", n, err)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"vg {\n", `line 2: section "vg" (line 1) is not closed`},
		{"}", "line 1: '}' closes no section"},
		{"a = \"x", "line 1: string not closed"},
		{"a = [1, [2]]", "line 1: a list inside a list"},
		{"a = [1 2]", "line 1: unexpected '2' in a list"},
		{"a = [1,", "line 1: the text ends where a value was expected"},
		{"\n\na = word", `line 3: "word" is neither a quoted string nor a number`},
		{"a = 1\na = 2", `line 2: key "a" set twice`},
		{"a 1", `line 1: unexpected '1' after "a"`},
		{"a", `"a" ends the text without '=' or '{'`},
		{"= 1", "unexpected '=' where a key or section name was expected"},
		{strings.Repeat("a {", 40), "sections nested deeper than 32"},
	} {
		_, err := ParseConfig([]byte(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.text, err, c.want)
		}
	}
}
