package main

import "testing"

// TestMangleString checks mangleString against libdm's mangle_string:
// the forms dmsetup 1.02.185 sent to Linux 6.1 (testdata/fidelity/mangle.scn)
// and its refusals.
func TestMangleString(t *testing.T) {
	for _, c := range []struct {
		in   string
		mode nameMangling
		want string
		err  string
	}{
		{"vg-lv_1.x#+:=@", mangleAuto, "vg-lv_1.x#+:=@", ""},
		{"a b", mangleAuto, `a\x20b`, ""},
		{`x\x20y`, mangleAuto, `x\x20y`, ""},
		{`h\x41i`, mangleAuto, `h\x41i`, ""},
		{"c%d", mangleNone, `c\x25d`, ""},
		{"é", mangleAuto, `\xc3\xa9`, ""},
		{`x\x20y`, mangleHex, `x\x5cx20y`, ""},
		{`m\x20n o`, mangleAuto, "", `The name "m\x20n o" contains mixed mangled and unmangled characters or it's already mangled improperly.`},
		{`o p\x20`, mangleAuto, "", `The name "o p\x20" contains mixed mangled and unmangled characters or it's already mangled improperly.`},
		{`q\x2`, mangleAuto, "", `The name "q\x2" contains mixed mangled and unmangled characters or it's already mangled improperly.`},
		{`m\x20n o`, mangleHex, `m\x5cx20n\x20o`, ""},
		{"", mangleAuto, "", ""},
	} {
		got, err := mangleString(c.in, "name", 128, c.mode)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("mangle %q (mode %d): error %v, want %q", c.in, c.mode, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("mangle %q (mode %d) = %q, %v; want %q", c.in, c.mode, got, err, c.want)
		}
	}
}

// TestMangleStringLength: the mangled form and its NUL must fit libdm's
// buffer (128 bytes for a name).
func TestMangleStringLength(t *testing.T) {
	fits := make([]byte, 123)
	for i := range fits {
		fits[i] = 'a'
	}
	if got, err := mangleString(string(fits)+" ", "name", 128, mangleAuto); err != nil || len(got) != 127 {
		t.Errorf("127 mangled bytes: %d, %v", len(got), err)
	}
	long := string(fits) + "a "
	want := `Mangled form of the name too long for "` + long + `".`
	if _, err := mangleString(long, "name", 128, mangleAuto); err == nil || err.Error() != want {
		t.Errorf("128 mangled bytes: %v, want %q", err, want)
	}
}

// TestUnmangleString checks unmangleString against libdm's unmangle_string.
func TestUnmangleString(t *testing.T) {
	for _, c := range []struct {
		in   string
		mode nameMangling
		want string
		err  string
	}{
		{`a\x20b`, mangleAuto, "a b", ""},
		{`h\x41i`, mangleHex, "hAi", ""},
		{`\xc3\xa9`, mangleAuto, "é", ""},
		{`v\x5cxw`, mangleNone, `v\xw`, ""},
		{`v\xw`, mangleAuto, `v\xw`, ""},      // no hex digit: nothing decoded, kept whole
		{`a\x20b\xzz`, mangleAuto, "a b", ""}, // decoding stops at the bad encoding
		{`p\x2q`, mangleNone, "p\x02", ""},    // one digit: the next character is skipped
		{"p q", mangleNone, "p q", ""},
		{"p q", mangleAuto, "", `The name "p q" should be mangled but it contains blacklisted characters.`},
		{"p q", mangleHex, "", `The name "p q" should be mangled but it contains blacklisted characters.`},
	} {
		got, err := unmangleString(c.in, "name", c.mode)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("unmangle %q (mode %d): error %v, want %q", c.in, c.mode, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("unmangle %q (mode %d) = %q, %v; want %q", c.in, c.mode, got, err, c.want)
		}
	}
}

func TestCheckMangledOnce(t *testing.T) {
	if err := checkMangledOnce(`k\x5cx20l`, "name", mangleAuto); err == nil ||
		err.Error() != `The name "k\x5cx20l" seems to be mangled more than once. This is not allowed in auto mode.` {
		t.Errorf("auto: %v", err)
	}
	for _, m := range []nameMangling{mangleNone, mangleHex} {
		if err := checkMangledOnce(`k\x5cx20l`, "name", m); err != nil {
			t.Errorf("mode %d: %v", m, err)
		}
	}
}

func TestParseMangling(t *testing.T) {
	for in, want := range map[string]nameMangling{"none": mangleNone, "AUTO": mangleAuto, "Hex": mangleHex} {
		if m, ok := parseMangling(in); !ok || m != want {
			t.Errorf("%q: %d %v", in, m, ok)
		}
	}
	if _, ok := parseMangling("bogus"); ok {
		t.Error("bogus accepted")
	}
}

// TestManglingDefault: $DM_DEFAULT_NAME_MANGLING_MODE sets the mode when
// no --manglename is given; a value naming no mode is ignored.
func TestManglingDefault(t *testing.T) {
	t.Setenv(manglingEnv, "none")
	if m := manglingOf(options{}); m != mangleNone {
		t.Errorf("env none: %d", m)
	}
	if m := manglingOf(options{"manglename": {"none", "hex"}}); m != mangleHex {
		t.Errorf("last --manglename: %d", m)
	}
	t.Setenv(manglingEnv, "bogus")
	if m := manglingOf(options{}); m != mangleAuto {
		t.Errorf("env bogus: %d", m)
	}
}
