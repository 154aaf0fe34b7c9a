package snapshot_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestConstructorErrors: every refusal in the kernel's order and words,
// with its errno and the kernel's other lines.
func TestConstructorErrors(t *testing.T) {
	g := newRig(t)
	g.File("cow", 256<<10, false)
	g.File("bad", 64<<10, true)
	cases := []struct{ typ, table, want string }{
		{"snapshot", "base cow P", "snapshot: requires 4 or more arguments (-EINVAL)"},
		{"snapshot", "base cow X 8", "snapshot: Couldn't create exception store (-EINVAL)"},
		{"snapshot", "base cow P 7", "snapshot: Couldn't create exception store (-EINVAL)"},
		{"snapshot", "base cow P -8", "snapshot: Couldn't create exception store (-EINVAL)"},
		{"snapshot", "base cow P 4194304", "snapshot: Couldn't create exception store (-EINVAL)"},
		{"snapshot", "base cow Pz 8", "persistent snapshot: Unsupported persistent store option: z\n" +
			"device-mapper: table: 253:0: snapshot: Couldn't create exception store (-EINVAL)"},
		{"snapshot", "base cow N 0", "snapshot: Chunk size not set (-EINVAL)"},
		{"snapshot", "base base P 8", "snapshot: COW device cannot be the same as origin device (-EINVAL)"},
		{"snapshot", "/nonexistent cow P 8", "snapshot: Cannot get origin device (-ENODEV)"},
		{"snapshot", "base /nonexistent P 8", "snapshot: Cannot get COW device (-ENODEV)"},
		{"snapshot", "base cow P 8 3 a b c", "snapshot: Invalid number of feature arguments (-EINVAL)"},
		{"snapshot", "base cow P 8 2 discard_zeroes_cow", "snapshot: Invalid number of feature arguments (-EINVAL)"},
		{"snapshot", "base cow P 8 1 foo", "snapshot: Unrecognised feature requested (-EINVAL)"},
		{"snapshot", "/nonexistent cow P 8 1 foo", "snapshot: Unrecognised feature requested (-EINVAL)"},
		{"snapshot", "base cow P 8 2 discard_passdown_origin foo", "snapshot: discard_passdown_origin feature depends on discard_zeroes_cow (-EINVAL)"},
		{"snapshot", "base bad P 8", "persistent snapshot: Invalid or corrupt snapshot\n" +
			"device-mapper: table: 253:0: snapshot: Failed to read snapshot metadata (-ENXIO)"},
		{"snapshot-origin", "", "snapshot-origin: origin: incorrect number of arguments (-EINVAL)"},
		{"snapshot-origin", "base extra", "snapshot-origin: origin: incorrect number of arguments (-EINVAL)"},
		{"snapshot-origin", "/nonexistent", "snapshot-origin: Cannot get target device (-ENODEV)"},
	}
	for _, c := range cases {
		g.Klog.Reset()
		if err := g.create("e", 2048, c.typ, c.table); err == nil {
			t.Fatalf("%s %q accepted", c.typ, c.table)
		}
		want := "device-mapper: " + c.want
		if !strings.HasPrefix(c.want, "persistent") {
			want = "device-mapper: table: 253:0: " + c.want
		}
		if !strings.Contains(g.Klog.String(), want+"\n") {
			t.Errorf("%s %q: kernel log\n%s\nwant the line\n%s", c.typ, c.table, g.Klog.String(), want)
		}
	}
	// nothing was written to the COW device by the refused tables
	if b, _ := os.ReadFile(g.Path("cow")); strings.Trim(string(b), "\x00") != "" {
		t.Fatal("a refused table wrote to the COW device")
	}
	// a length beyond the origin is refused at load, as too small
	g.Klog.Reset()
	if err := g.create("e", baseBytes/512+8, "snapshot", "base cow P 8"); err == nil ||
		!strings.Contains(g.Klog.String(), fmt.Sprintf("too small for target: start=0, len=%d, dev_size=%d", baseBytes/512+8, baseBytes/512)) {
		t.Fatalf("over-long snapshot: %v\n%s", err, g.Klog.String())
	}
}

// TestLines: table and status lines of new stores, the default chunk
// size, features, words after the feature group, a header's chunk size
// overriding the table's.
func TestLines(t *testing.T) {
	g := newRig(t)
	g.File("cow", 256<<10, false)
	g.File("cow2", 256<<10, false)
	g.mustCreate("a", 2048, "snapshot", "base cow p +0 1 DISCARD_zeroes_cow words after")
	if got, want := g.Line("a", false), g.Path("base")+" "+g.Path("cow")+" P 32 1 discard_zeroes_cow"; got != want {
		t.Fatalf("table %q, want %q", got, want)
	}
	if got := g.status("a"); got != "64/512 64" {
		t.Fatalf("status %q", got)
	}
	if err := g.Reg.Remove("a"); err != nil {
		t.Fatal(err)
	}
	g.Klog.Reset()
	g.mustCreate("a", 2048, "snapshot", "base cow PO 8")
	if !strings.Contains(g.Klog.String(), "device-mapper: persistent snapshot: chunk size 32 in device metadata overrides table chunk size of 8.\n") {
		t.Fatalf("no override line:\n%s", g.Klog.String())
	}
	if got, want := g.Line("a", false), g.Path("base")+" "+g.Path("cow")+" PO 32"; got != want {
		t.Fatalf("table %q, want %q", got, want)
	}
	g.mustCreate("n", 2048, "snapshot", "base cow2 n 16 2 discard_zeroes_cow Discard_Passdown_Origin")
	if got, want := g.Line("n", false), g.Path("base")+" "+g.Path("cow2")+" N 16 2 discard_zeroes_cow discard_passdown_origin"; got != want {
		t.Fatalf("table %q, want %q", got, want)
	}
	if got := g.status("n"); got != "0/512 0" {
		t.Fatalf("status %q", got)
	}
	g.mustCreate("o", 2048, "snapshot-origin", "base")
	if got := g.Line("o", false); got != g.Path("base") {
		t.Fatalf("origin table %q", got)
	}
	if got := g.status("o"); got != "" {
		t.Fatalf("origin status %q", got)
	}
}
