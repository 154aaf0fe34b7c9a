package targets

import "testing"

// TestLowerASCII: ASCII letters fold, nothing else does (strcasecmp).
func TestLowerASCII(t *testing.T) {
	for in, want := range map[string]string{
		"":                   "",
		"create_thin":        "create_thin",
		"Create_THIN":        "create_thin",
		"s\u212Aip_zeroing":  "s\u212Aip_zeroing", // the Kelvin sign stays
		"\u017Fkip":          "\u017Fkip",         // the long s stays
		"MARK \u00C9t\u00E9": "mark \u00C9t\u00E9",
	} {
		if got := LowerASCII(in); got != want {
			t.Errorf("LowerASCII(%q) = %q, want %q", in, got, want)
		}
	}
}
