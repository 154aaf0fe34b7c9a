package targets

import "testing"

// TestScanUintAndParseUint pins the two kernel number readers apart:
// kstrto* (ParseUint) takes a '+' and refuses overflow, sscanf (ScanUint)
// refuses any sign and wraps.
func TestScanUintAndParseUint(t *testing.T) {
	cases := []struct {
		in      string
		bits    int
		scan    uint64
		scanOK  bool
		parse   uint64
		parseOK bool
	}{
		{"0", 64, 0, true, 0, true},
		{"16284", 64, 16284, true, 16284, true},
		{"+5", 64, 0, false, 5, true},
		{"-1", 64, 0, false, 0, false},
		{"0x10", 64, 0, false, 0, false},
		{"1e3", 64, 0, false, 0, false},
		{"", 64, 0, false, 0, false},
		{"18446744073709551615", 64, 1<<64 - 1, true, 1<<64 - 1, true},
		{"18446744073709551617", 64, 1, true, 0, false},
		{"4294967297", 32, 1, true, 0, false},
		{"4294967295", 32, 1<<32 - 1, true, 1<<32 - 1, true},
	}
	for _, c := range cases {
		if v, ok := ScanUint(c.in, c.bits); ok != c.scanOK || ok && v != c.scan {
			t.Errorf("ScanUint(%q, %d) = %d, %v; want %d, %v", c.in, c.bits, v, ok, c.scan, c.scanOK)
		}
		if v, ok := ParseUint(c.in, c.bits); ok != c.parseOK || ok && v != c.parse {
			t.Errorf("ParseUint(%q, %d) = %d, %v; want %d, %v", c.in, c.bits, v, ok, c.parse, c.parseOK)
		}
	}
}
