package main

import (
	"fmt"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"path/filepath"
	"strings"
	"testing"
)

// eraKernelMeta returns a copy of ../../targets/era/testdata/kernel-era-NAME.img.gz:
// era metadata Linux 6.1 wrote (kernel-era.sh there), "snap" with a metadata
// snapshot held, "nosnap" without.
func eraKernelMeta(t *testing.T, name string) string {
	t.Helper()
	return dmtest.Gunzip(t, filepath.Join("..", "..", "targets", "era", "testdata", "kernel-era-"+name+".img.gz"), filepath.Join(t.TempDir(), name+".img"))
}

// TestEraToolsOnKernelMetadata compares gdmsetup's era commands with era_*
// 0.9.0 on metadata the kernel wrote (with and without a held metadata
// snapshot), then on the same metadata after gdmsetup's era target reopened
// it and recorded a write (era_check must find it clean): exit codes, stdout
// (XML byte for byte) and stderr.
func TestEraToolsOnKernelMetadata(t *testing.T) {
	cases := []string{"dump META", "dump --logical META", "dump --repair META", "check META", "check -q META",
		"check --super-block-only META"}
	for _, era := range []string{"0", "1", "2", "3", "4", "5", "6", "4294967295"} {
		cases = append(cases, "invalidate --written-since "+era+" META",
			"invalidate --written-since "+era+" --metadata-snapshot META")
	}
	for _, name := range []string{"snap", "nosnap"} {
		meta := eraKernelMeta(t, name)
		compare := func() {
			for _, c := range cases {
				words := strings.Fields(strings.ReplaceAll(c, "META", meta))
				compareEraTool(t, words[0], words[1:])
			}
		}
		compare()
		s := newSandbox(t)
		s.file("origin.img", 4<<20)
		s.ok("", "create", "e", "--table", "0 8192 era "+meta+" origin.img 8")
		s.ok(strings.Repeat("x", 4096), "write", "e", "--offset", fmt.Sprint(300*4096))
		s.ok("", "remove", "e")
		if r := runThinToolBinary(t, "era_check", []string{meta}); r.code != 0 {
			t.Fatalf("era_check after gdmsetup's target reopened %s: %+v", name, r)
		}
		compare()
	}
}
