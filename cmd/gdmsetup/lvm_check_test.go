package main

import (
	"crypto/sha256"
	enc "encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// poolCheckMetaSectors reads where testdata/lvm/poolcheck-oracle.sh found the metadata LVs:
// the thin pool's on k1 and the cache pool's on k2, in sectors.
func poolCheckMetaSectors(t *testing.T, oracle map[string][]string) (tmeta, cmeta int64) {
	re := regexp.MustCompile(`^tmeta at sector (\d+) of k1, cmeta at sector (\d+) of k2$`)
	for _, l := range oracle["sha256 (sound)"] {
		if m := re.FindStringSubmatch(l); m != nil {
			tmeta, _ = strconv.ParseInt(m[1], 10, 64)
			cmeta, _ = strconv.ParseInt(m[2], 10, 64)
			return tmeta, cmeta
		}
	}
	t.Fatal("poolcheck-oracle.out does not say where the metadata LVs are")
	return 0, 0
}

// superblockAsOracle is what poolcheck-oracle.sh prints of the 4 KiB metadata superblock at
// sector of image img: od's csum and flags words, then its SHA-256.
func superblockAsOracle(t *testing.T, img string, sector int64) []string {
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 4096)
	if _, err := f.ReadAt(b, sector*512); err != nil {
		t.Fatal(err)
	}
	return []string{
		fmt.Sprintf(" %08x %08x", enc.LittleEndian.Uint32(b), enc.LittleEndian.Uint32(b[4:])),
		fmt.Sprintf("%x", sha256.Sum256(b)),
	}
}

// metaCopy writes the lenSectors sectors at sector of image img to a file of the sandbox,
// for the real checkers.
func (s *sandbox) metaCopy(name, img string, sector, lenSectors int64) string {
	b, err := os.ReadFile(img)
	if err != nil {
		s.t.Fatal(err)
	}
	p := filepath.Join(s.dir, name)
	if err := os.WriteFile(p, b[sector*512:(sector+lenSectors)*512], 0o600); err != nil {
		s.t.Fatal(err)
	}
	return p
}

// TestLvmPoolCheck activates the VG of testdata/lvm/poolcheck-oracle.sh (a thin pool with
// thin1 and thin2, lin, lv cached through a cache pool) from each copy lvm2 activated in the
// kernel oracle: sound; the thin pool's superblock checksum damaged (k1a) or a node of its
// mapping tree (k1b), where lvm2's thin_check fails the pool ("Check of pool kvg/pool failed
// (status:1). Manual repair required!") and with it thin1 and thin2, the other LVs active
// and the command failing; NEEDS_CHECK set in the thin pool's sound superblock (k1c), which
// passes lvm2's thin_check -q and stays set, the pool running read-only with needs_check;
// NEEDS_CHECK set in the cache pool's (k2c), which lvm2's cache_check
// --clear-needs-check-flag clears; the cache pool's superblock checksum damaged (k2d),
// failing lv alone. Messages, ls, minors, tables, UUIDs, flags, open counts, status, every
// device's SHA-256 and the superblocks' bytes after activation and after deactivation are
// lvm2's (the cache pool's after deactivation but for the kernel's count of read misses).
func TestLvmPoolCheck(t *testing.T) {
	oracle := lvmOracle(t, "poolcheck")
	tmeta, cmeta := poolCheckMetaSectors(t, oracle)
	failed := func(pool string, lvs ...string) []string {
		var want []string
		for _, lv := range lvs {
			want = append(want, "LV kvg/"+lv+" not activated: Check of pool kvg/"+pool+" failed (status:1). Manual repair required!\n")
		}
		return append(want, fmt.Sprintf("%d LV(s) failed to activate", len(lvs)))
	}
	var soundCmeta string // the SHA-256 of the cache pool's superblock once the sound copy is deactivated
	for _, c := range []struct {
		copy   string // the damaged copy, of k1 or k2 as its name says; "" for none
		failed []string
		sb     string // "k1" or "k2": compare that disk's pool superblock with the oracle's
	}{
		{"", nil, ""},
		{"k1a", failed("pool", "pool", "thin1", "thin2"), "k1"},
		{"k1b", failed("pool", "pool", "thin1", "thin2"), "k1"},
		{"k1c", nil, "k1"},
		{"k2c", nil, "k2"},
		{"k2d", failed("cpool_cpool", "lv"), ""},
	} {
		name := c.copy
		if name == "" {
			name = "sound"
		}
		t.Run(name, func(t *testing.T) {
			s := newSandbox(t)
			disks := []string{"k1", "k2"}
			if c.copy != "" {
				disks[c.copy[1]-'1'] = c.copy
			}
			imgs := lvmImages(s, disks...)
			if c.failed != nil {
				s.activateFails(c.failed, imgs...)
			} else {
				s.ok("", append([]string{"lvm", "activate"}, imgs...)...)
			}
			s.sameDevicesAsLvm2(name, oracle["vgchange -ay ("+name+")"], imgs)
			s.sameSHAAsLvm2(name, oracle["sha256 ("+name+")"])
			sb := func(when string) {
				t.Helper()
				switch c.sb {
				case "k1":
					sameLines(t, "superblock "+when, superblockAsOracle(t, imgs[0], tmeta), oracle["superblock ("+name+", "+when+")"][:2])
				case "k2":
					sameLines(t, "cmeta superblock "+when, superblockAsOracle(t, imgs[1], cmeta), oracle["superblock ("+name+" cmeta, "+when+")"][:2])
				}
			}
			sb("after vgchange -ay")
			s.ok("", "lvm", "deactivate", "kvg")
			if c.sb == "k2" {
				// The kernel's cache counts more read misses than gdmsetup's for the same
				// reads of lv (98 and 64), and keeps them in the superblock at deactivation:
				// compare the flags (clean shutdown, needs-check cleared) with the oracle's,
				// and the superblock with the sound copy's, as lvm2's two were the same.
				got := superblockAsOracle(t, imgs[1], cmeta)
				want := oracle["superblock (k2c cmeta, after vgchange -an)"]
				if strings.Fields(got[0])[1] != strings.Fields(want[0])[1] {
					t.Errorf("cmeta flags after vgchange -an: %s, lvm2's %s", got[0], want[0])
				}
				sameLines(t, "lvm2's k2c and sound cmeta superblocks", want[:2], oracle["superblock (sound cmeta, after vgchange -an)"][:2])
				if got[1] != soundCmeta {
					t.Errorf("k2c's cmeta superblock after vgchange -an is not the sound copy's")
				}
			} else {
				sb("after vgchange -an")
			}
			if c.copy == "" {
				soundCmeta = superblockAsOracle(t, imgs[1], cmeta)[1]
			}
			if c.copy == "k1c" {
				dmtest.RunPeer(t, "thin_check", s.metaCopy("tmeta", imgs[0], tmeta, 4096))
			}
			if c.copy == "k2c" {
				dmtest.RunPeer(t, "cache_check", s.metaCopy("cmeta", imgs[1], cmeta, 10240))
			}
		})
	}
}

// TestLvmPoolCheckReadOnly: under --readonly the check writes nothing. The thin pool whose
// sound metadata has NEEDS_CHECK set (k1c) passes it and runs read-only with needs_check
// (lvm2 itself refuses vgchange --readonly, and never clears a thin pool's flag); a damaged
// pool (k1a) fails as it does read-write. The images do not change.
func TestLvmPoolCheckReadOnly(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s, "k1c", "k2", "k1a")
	unchanged := imagesUnchanged(t, imgs)
	s.ok("", append([]string{"lvm", "activate", "--readonly", "--lv", "kvg/thin1", "--lv", "kvg/lin"}, imgs[:2]...)...)
	if st := s.ok("", "status", "kvg-pool-tpool"); !strings.Contains(st, " - ro discard_passdown queue_if_no_space needs_check ") {
		t.Errorf("pool with NEEDS_CHECK under --readonly: status %q", st)
	}
	oracle := lvmOracle(t, "poolcheck")
	s.sameSHAAsLvm2("k1c --readonly", matching(oracle["sha256 (k1c)"], `^kvg-(thin1|lin) `))
	s.ok("", "lvm", "deactivate", "kvg")
	s.activateFails([]string{"LV kvg/thin1 not activated: Check of pool kvg/pool failed (status:1). Manual repair required!\n", "1 LV(s) failed to activate"},
		"--readonly", "--lv", "kvg/thin1", "--lv", "kvg/lin", imgs[2], imgs[1])
	if out := s.ok("", "ls"); !strings.HasPrefix(out, "kvg-lin\t") || strings.Count(out, "\n") != 1 {
		t.Errorf("after the failed check under --readonly: %q", out)
	}
	s.ok("", "lvm", "deactivate", "kvg")
	unchanged()
}

// TestLvmPoolCheckSkipsBlankHeader: metadata whose first 64 bytes are zeros is not checked
// (lvm2 reads them first and skips the check of a metadata area never written); the thin
// pool target then judges it itself, and refuses this one (the rest of its superblock is
// there, its checksum not), failing the pool's LVs with its own reason.
func TestLvmPoolCheckSkipsBlankHeader(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s, "k1", "k2")
	tmeta, _ := poolCheckMetaSectors(t, lvmOracle(t, "poolcheck"))
	f, err := os.OpenFile(imgs[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, 64), tmeta*512); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r := s.run("", append([]string{"lvm", "activate"}, imgs...)...)
	if r.code == 0 || strings.Contains(r.stderr, "Check of pool") || !strings.Contains(r.stderr, "LV kvg/thin1 not activated: kvg-pool-tpool: ") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}
