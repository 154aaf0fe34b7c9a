package main

import (
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"testing"
)

// TestServeEraIncrementalBackup: an era device served over NBD, written by
// qemu-io, checkpointed and snapshotted through the control socket while the
// server holds it; `gdmsetup era invalidate --metadata-snapshot` run beside
// the server lists the blocks written since each era, as the real
// era_invalidate does on the same file.
func TestServeEraIncrementalBackup(t *testing.T) {
	dmtest.Peer(t, "qemu-io")
	dmtest.Peer(t, "era_invalidate")
	s := newSandbox(t)
	meta := s.file("meta.img", 4<<20)
	s.file("origin.img", 4<<20)
	s.ok("", "create", "e", "--table", "0 8192 era meta.img origin.img 128") // 64 KiB blocks
	srv := s.serve()
	write := func(offsets ...string) {
		t.Helper()
		args := []string{"-f", "raw"}
		for _, o := range offsets {
			args = append(args, "-c", "write -P 0x33 "+o+" 4k")
		}
		tool(t, "qemu-io", append(append(args, "-c", "flush"), srv.url("e"))...)
	}
	write("0", "320k") // blocks 0 and 5, era 1
	s.ok("", "message", "e", "0", "checkpoint")
	write("576k", "580k") // block 9, era 2
	s.ok("", "message", "e", "0", "take_metadata_snap")

	for since, want := range map[string]string{
		"1": "<blocks>\n  <block block=\"0\"/>\n  <block block=\"5\"/>\n  <block block=\"9\"/>\n</blocks>\n",
		"2": "<blocks>\n  <block block=\"9\"/>\n</blocks>\n",
		"3": "<blocks>\n</blocks>\n",
	} {
		args := []string{"--written-since", since, "--metadata-snapshot", meta}
		code, ours, errs := eraSuite.runT(t, append([]string{"invalidate"}, args...)...)
		theirs := tool(t, "era_invalidate", args...)
		if code != 0 || ours != theirs {
			t.Fatalf("era invalidate --written-since %s beside the server: exit %d\n%s%s\nera_invalidate:\n%s", since, code, ours, errs, theirs)
		}
		if ours != want {
			t.Fatalf("era invalidate --written-since %s lists\n%swant\n%s", since, ours, want)
		}
	}
	s.ok("", "message", "e", "0", "drop_metadata_snap")
	if srv.stop() != 0 {
		t.Fatal("server did not stop cleanly")
	}
	tool(t, "era_check", meta) // exit 0: no damage
}
