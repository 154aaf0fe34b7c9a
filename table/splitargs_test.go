package table

import (
	"reflect"
	"testing"
)

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		params string
		want   []string
	}{
		{"", nil},
		{"   \t", nil},
		{"/dev/sda 0", []string{"/dev/sda", "0"}},
		{"  a \t\n b  ", []string{"a", "b"}},
		{`a\ b c`, []string{"a b", "c"}},
		{`a\\ b`, []string{`a\`, "b"}},
		{`\#x`, []string{"#x"}},
		{`a\`, []string{`a\`}},
		{`\`, []string{`\`}},
		{"a\xa0b", []string{"a", "b"}},
		{"a\\\xa0b", []string{"a\xa0b"}},
		{"a\x00 b", []string{"a"}},
		{"é ü", []string{"é", "ü"}},
		{"/dev/disk/by-label/voilà x", []string{"/dev/disk/by-label/voil\xc3", "x"}}, // à is C3 A0
		{`""`, []string{`""`}},
	}
	for _, tt := range tests {
		if got := SplitArgs(tt.params); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitArgs(%q) = %q, want %q", tt.params, got, tt.want)
		}
	}
}
