package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// TestLvmPoolsBehind activates a VG whose pools' metadata is behind the VG's, as lvm2 2.03.16
// did in the kernel oracle (testdata/lvm/msg-oracle.sh): pool one transaction behind with
// three changes pending as messages (create thin3, create snap1 of thin1, delete 2), pool2
// one behind with none, pool3 two behind. lvm2 sends no messages at activation: the pools one
// behind are activated, thin3 and snap1 fail to load (the pool has no such device); pool3
// fails, and is tried again for thin31; the other LVs stay active and the command fails, as
// vgchange exits 5. ls, minors, tables, UUIDs, flags, open counts, status and every device's
// SHA-256 are lvm2's, and a second activation does the same. Sending the pool the messages
// by hand then finishes the change.
func TestLvmPoolsBehind(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s, "m1")
	oracle := lvmOracle(t, "msg")
	vgchange := []string{
		"LV tvg/pool3 not activated: tvg-pool3-tpool: transaction_id is 1 in the pool's metadata, the VG's metadata expects 3\n",
		"LV tvg/thin31 not activated: tvg-pool3-tpool: transaction_id is 1 in the pool's metadata, the VG's metadata expects 3\n",
		"LV tvg/thin3 not activated: tvg-thin3: ", "(253:10) failed: No data available\n",
		"3 LV(s) failed to activate",
	}
	s.activateFails(vgchange, imgs...)
	s.sameDevicesAsLvm2("vgchange -ay", oracle["vgchange -ay"], imgs)

	snap := oracle["lvchange -ay -K tvg/snap1"]
	s.activateFails([]string{"LV tvg/snap1 not activated: tvg-snap1: ", "(253:10) failed: No data available\n", "1 LV(s) failed to activate"},
		append([]string{"--ignoreactivationskip", "--lv", "tvg/snap1"}, imgs...)...)
	sameLines(t, "lvchange -ay -K tvg/snap1: ls", lines(s.ok("", "ls")), matching(snap, `\t\(253:\d+\)$`))
	s.sameSHAAsLvm2("vgchange -ay", oracle["sha256"])
	s.ok("", "lvm", "deactivate", "tvg")

	again := oracle["vgchange -ay again"]
	s.activateFails(vgchange, imgs...)
	sameLines(t, "again: ls", lines(s.ok("", "ls")), matching(again, `\t\(253:\d+\)$`))
	sameLines(t, "again: status", lines(s.ok("", "status")), matching(again, `^\S+: \d+ \d+ `))

	// The pending change finished by hand with the messages `lvm scan` lists, as docs/lvm.md
	// says: thin3 is new and empty, snap1 reads as thin1, thin2's blocks are free, and
	// thin_check passes the pool's metadata.
	scan := s.ok("", append([]string{"lvm", "scan"}, imgs...)...)
	const pending = "  LV tvg/pool: 32768 sectors, thin-pool, messages pending (lvm2 sends them at its next change to the pool): "
	i := strings.Index(scan, pending)
	if i < 0 {
		t.Fatalf("lvm scan lists no pending messages: %q", scan)
	}
	msgs, _, _ := strings.Cut(scan[i+len(pending):], "\n")
	if msgs != "create_thin 3, create_snap 4 1, delete 2, set_transaction_id 2 3" {
		t.Errorf("pending messages %q", msgs)
	}
	for _, m := range strings.Split(msgs, ", ") {
		s.ok("", append([]string{"message", "tvg-pool-tpool", "0"}, strings.Fields(m)...)...)
	}
	s.activateFails([]string{"LV tvg/pool3 not activated", "LV tvg/thin31 not activated", "2 LV(s) failed to activate"},
		append([]string{"--ignoreactivationskip"}, imgs...)...)
	if got, want := s.lvSHA("tvg-snap1"), s.lvSHA("tvg-thin1"); got != want {
		t.Errorf("snap1 reads %s, thin1 %s", got, want)
	}
	if got, want := s.lvSHA("tvg-thin3"), fmt.Sprintf("%x", sha256.Sum256(make([]byte, 16<<20))); got != want {
		t.Errorf("thin3 reads %s, not 16 MiB of zeros", got)
	}
	if st := s.ok("", "status", "tvg-pool-tpool"); !strings.HasPrefix(st, "0 32768 thin-pool 3 113/1024 6/256 ") {
		t.Errorf("pool after the messages: %q", st)
	}
	meta := filepath.Join(s.dir, "tmeta.img")
	if err := os.WriteFile(meta, []byte(s.ok("", "read", "tvg-pool_tmeta")), 0o600); err != nil {
		t.Fatal(err)
	}
	s.ok("", "lvm", "deactivate", "tvg")
	dmtest.RunPeer(t, "thin_check", meta)
}
