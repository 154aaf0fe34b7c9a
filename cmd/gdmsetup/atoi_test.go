package main

import "testing"

// TestStrtol: glibc's strtol and atoi on LP64, as dmsetup reads numeric
// options: white space and a sign first, digits of the base, saturation
// beyond int64, atoi cutting to an int.
func TestStrtol(t *testing.T) {
	for _, c := range []struct {
		s        string
		base     int64
		v        int64
		rest     string
		overflow bool
	}{
		{"", 10, 0, "", false},
		{"abc", 10, 0, "abc", false},
		{" \t+12x", 10, 12, "x", false},
		{"-5", 10, -5, "", false},
		{"0660", 8, 0o660, "", false},
		{"8", 8, 0, "8", false},
		{"9223372036854775807", 10, 1<<63 - 1, "", false},
		{"9223372036854775808", 10, 1<<63 - 1, "", true},
		{"-9223372036854775808", 10, -1 << 63, "", false},
		{"077777777777777777777777", 8, 1<<63 - 1, "", true},
		{"99999999999999999999999999", 10, 1<<63 - 1, "", true},
	} {
		v, rest, overflow := strtol(c.s, c.base)
		if v != c.v || rest != c.rest || overflow != c.overflow {
			t.Errorf("strtol(%q, %d) = %d, %q, %v; want %d, %q, %v", c.s, c.base, v, rest, overflow, c.v, c.rest, c.overflow)
		}
	}
	for s, want := range map[string]int32{"99999999999": 1215752191, "4294967295": -1, "-1": -1, "12x": 12, "1e9": 1} {
		if got := atoi(s); got != want {
			t.Errorf("atoi(%q) = %d, want %d", s, got, want)
		}
	}
}
