package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/fixture"
)

// TestThinLsMatchesThinLs compares `thin ls` with the real thin_ls, byte for byte,
// on random snapshot pools and the kernel's own metadata, for the default fields,
// every field, a reordered subset and without headers.
func TestThinLsMatchesThinLs(t *testing.T) {
	tool := thinTool(t, "thin_ls")
	metas := []string{fixture.Unxz(t, "thin_meta")}
	for seed := range int64(3) {
		metas = append(metas, restoreThinXML(t, randomThinXML(seed, 6)))
	}
	for _, meta := range metas {
		for _, opts := range []string{"", "-o " + strings.Join(thinLsFields, ","), "--no-headers -o SHARED,DEV,EXCLUSIVE",
			"--format MAPPED_BYTES,EXCLUSIVE_SECTORS --no-headers"} {
			args := append(strings.Fields(opts), meta)
			want, err := exec.Command(tool, args...).Output()
			if err != nil {
				t.Fatalf("thin_ls %v: %v", args, err)
			}
			if code, got, errs := thinSuite.runT(t, append([]string{"ls"}, args...)...); code != 0 || got != string(want) {
				t.Errorf("ls %v: exit %d %s\n got:\n%s\nwant:\n%s", args, code, errs, got, want)
			}
		}
	}
}

func TestThinLsRefusals(t *testing.T) {
	meta := restoreThinXML(t, thinTestXML)
	expectThinRefusals(t, "ls", meta, []thinRefusal{
		{"-o DEV,BAD META", 1, `unknown field "BAD"`},
		{"-o dev META", 1, `unknown field "dev"`},
		{"-m META", 1, "no metadata snapshot is held"},
		{"", 1, "No input file provided."},
	})
}

func TestFormatDiskUnit(t *testing.T) {
	for bytes, want := range map[uint64]string{
		0: "0", 512: "512", 8192: "8192", 8193: "8KiB", 8704: "9KiB", 65536: "64KiB", 1 << 20: "1024KiB",
		1<<20 + 1: "1024KiB", 1 << 30: "1024MiB", 3 << 30: "3072MiB", 30 << 30: "30GiB", 1536 << 20: "1536MiB", 10 << 40: "10TiB",
	} {
		if got := formatDiskUnit(bytes); got != want {
			t.Errorf("formatDiskUnit(%d) = %q, want %q", bytes, got, want)
		}
	}
}
