package table

import (
	"fmt"
	"strings"
	"testing"
)

// benchTable returns a table of n linear lines, with a comment and a blank
// line every 100 lines.
func benchTable(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i%100 == 0 {
			b.WriteString("# segment\n\n")
		}
		fmt.Fprintf(&b, "%d 2048 linear /dev/mapper/vg-pv%d %d\n", i*2048, i%7, i*4096)
	}
	return b.String()
}

func BenchmarkParse10kLines(b *testing.B) {
	text := benchTable(10000)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		lines, err := Parse(text)
		if err != nil || len(lines) != 10000 {
			b.Fatalf("Parse: %d lines, %v", len(lines), err)
		}
	}
}

func BenchmarkFormat10kLines(b *testing.B) {
	lines, err := Parse(benchTable(10000))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		Format(lines)
	}
}

func BenchmarkParseConcise1kDevices(b *testing.B) {
	devs := make([]ConciseDevice, 1000)
	for i := range devs {
		devs[i] = ConciseDevice{Name: fmt.Sprintf("vg-lv%d", i), Flags: "rw",
			Table: []Line{{Length: 2048, Type: "linear", Params: fmt.Sprintf("/dev/sd%c %d", 'a'+i%26, i*2048)}}}
	}
	text := FormatConcise(devs)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := ParseConcise(text); err != nil {
			b.Fatal(err)
		}
	}
}
