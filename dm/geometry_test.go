package dm

import "testing"

// TestScanGeometry: the kernel's sscanf("%lu %lu %lu %lu%c") on what libdm
// sends: exactly four unsigned decimal numbers.
func TestScanGeometry(t *testing.T) {
	cases := []struct {
		text string
		g    [4]uint64
		ok   bool
	}{
		{"1 2 3 0", [4]uint64{1, 2, 3, 0}, true},
		{" 1\t2\n 3  4", [4]uint64{1, 2, 3, 4}, true},
		{"007 2 3 4", [4]uint64{7, 2, 3, 4}, true},
		{"1 2 3 18446744073709551615", [4]uint64{1, 2, 3, 1<<64 - 1}, true},
		{"18446744073709551617 2 3 4", [4]uint64{1, 2, 3, 4}, true}, // simple_strtoul wraps
		{"1\xa02 3 4", [4]uint64{1, 2, 3, 4}, true},                 // the kernel's isspace takes Latin-1 NBSP
		{"1 2 3 4 ", [4]uint64{}, false},                            // %c reads the space: five conversions
		{"1 2 3 4x", [4]uint64{}, false},
		{"1 2 3", [4]uint64{}, false},
		{"1 2 3 ", [4]uint64{}, false},
		{"", [4]uint64{}, false},
		{"-1 2 3 4", [4]uint64{}, false},
		{"+1 2 3 4", [4]uint64{}, false},
		{"0x1 2 3 4", [4]uint64{}, false},
		{"1,2 3 4", [4]uint64{}, false},
	}
	for _, c := range cases {
		g, ok := scanGeometry(c.text)
		if ok != c.ok || (ok && g != c.g) {
			t.Errorf("scanGeometry(%q) = %v, %v; want %v, %v", c.text, g, ok, c.g, c.ok)
		}
	}
}
