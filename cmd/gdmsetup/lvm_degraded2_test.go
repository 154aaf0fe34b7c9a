package main

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// degradedOracle is a degraded-activation oracle's scenario (testdata/lvm/NAME-oracle.sh):
// its VG, its disks in the guest's order (vda, vdb, ...) and its transcript's blocks.
type degradedOracle struct {
	vg     string
	disks  []string
	blocks map[string][]string
}

// degraded2 is testdata/lvm/degraded2-oracle.sh's scenario.
func degraded2(t *testing.T) *degradedOracle {
	return &degradedOracle{vg: "gvg", disks: []string{"g1", "g2", "g3", "g4", "g5"}, blocks: lvmOracle(t, "degraded2")}
}

// lvm2Refused matches lvm2's refusal of a partial LV.
var lvm2Refused = regexp.MustCompile(`Refusing activation of partial LV (\S+/\S+)\.`)

// degradedActivate runs `lvm activate` of the images but those hidden (disk names of o) with
// args before them and checks it against o's block what: the exit status (0 or not), every
// LV lvm2 refused refused and no other, as many raid loads failing with EIO and with EINVAL
// as lvm2's, the devices (names, minors, tables, UUIDs, flags, open counts, status).
func (s *sandbox) degradedActivate(o *degradedOracle, what string, imgs []string, hidden string, args ...string) {
	t := s.t
	t.Helper()
	block, ok := o.blocks[what]
	if !ok {
		t.Fatalf("no block %q in the oracle's transcript", what)
	}
	for i, g := range o.disks {
		if !slices.Contains(strings.Fields(hidden), g) {
			args = append(args, imgs[i])
		}
	}
	r := s.run("", append([]string{"lvm", "activate"}, args...)...)
	exit := matching(block, `^exit \d+$`)
	if len(exit) != 1 {
		t.Fatalf("%s: no exit status in the oracle's block", what)
	}
	if (r.code == 0) != (exit[0] == "exit 0") {
		t.Errorf("%s: exit %d, lvm2's %s; stderr %q", what, r.code, exit[0], r.stderr)
	}
	if hidden != "" && !strings.Contains(r.stderr, "warning: VG "+o.vg+" is missing PV ") {
		t.Errorf("%s: no missing PV warning: %q", what, r.stderr)
	}
	var refused []string
	for _, l := range block {
		if m := lvm2Refused.FindStringSubmatch(l); m != nil {
			refused = append(refused, m[1])
			if !strings.Contains(r.stderr, "refusing activation of partial LV "+m[1]+": ") {
				t.Errorf("%s: %s not refused: %q", what, m[1], r.stderr)
			}
		}
	}
	if n := strings.Count(r.stderr, "refusing activation of partial LV "); n != len(refused) {
		t.Errorf("%s: %d LVs refused, lvm2 refused %v: %q", what, n, refused, r.stderr)
	}
	// a set the kernel does not start (md_run's refusal): its LV fails, the others go on
	for _, errno := range []string{"Input/output error", "Invalid argument"} {
		failed := ") failed: " + errno
		if got, want := strings.Count(r.stderr, failed), len(matching(block, `reload ioctl on .*`+regexp.QuoteMeta(failed))); got != want {
			t.Errorf("%s: %d loads failed with %q, lvm2's %d: %q", what, got, errno, want, r.stderr)
		}
	}
	if slices.Contains(block, "No devices found") {
		if out := s.ok("", "ls"); out != "No devices found\n" {
			t.Errorf("%s: lvm2 activated nothing, gdmsetup made %q", what, out)
		}
		return
	}
	s.sameDevicesAsLvm2(what, block, imgs)
}

// degradedSHA checks each LV of o's block what (none when lvm2 activated none): lvm2's
// SHA-256, or a read that fails where lvm2's failed ("unreadable").
func (s *sandbox) degradedSHA(o *degradedOracle, what string) {
	s.t.Helper()
	block := o.blocks[what]
	s.sameSHAAsLvm2(what, block)
	for _, l := range matching(block, `^\S+ unreadable$`) {
		name, _, _ := strings.Cut(l, " ")
		if r := s.run("", "read", name); r.code == 0 || !strings.Contains(r.stderr, "Input/output error") {
			s.t.Errorf("%s %s: read exit %d, stderr %q; lvm2's read failed", what, name, r.code, r.stderr)
		}
	}
}

// degradedDeactivate deactivates o's VG if anything is active.
func (s *sandbox) degradedDeactivate(o *degradedOracle) {
	if out := s.ok("", "ls"); out != "No devices found\n" {
		s.ok("", "lvm", "deactivate", o.vg)
	}
}

// degradedModes activates o's VG with each set of PVs hidden (disk names separated by
// blanks) in each activation mode, one after the other on the same images, each a subtest
// compared with the oracle's blocks, and deactivates it after each.
func (s *sandbox) degradedModes(o *degradedOracle, imgs []string, hiddenSets ...string) {
	for _, hidden := range hiddenSets {
		for _, mode := range []string{"degraded", "complete", "partial"} {
			s.t.Run(strings.ReplaceAll(hidden, " ", "+")+" missing/"+mode, func(t *testing.T) {
				s := &sandbox{t: t, dir: s.dir, env: s.env}
				s.degradedActivate(o, fmt.Sprintf("vgchange -ay --activationmode %s (%s missing)", mode, hidden), imgs, hidden, "--activationmode", mode)
				s.degradedSHA(o, fmt.Sprintf("sha256 (%s, %s missing)", mode, hidden))
				s.degradedDeactivate(o)
			})
		}
	}
}

// degradedPattern is what the scenario NAME-oracle.sh writes into lv at byte 65536: `yes
// "gdmsetup NAME LV" | head -c 131072`.
func degradedPattern(name, lv string) string {
	l := "gdmsetup " + name + " " + lv + "\n"
	return strings.Repeat(l, 131072/len(l)+1)[:131072]
}

// TestLvmDegraded2 replays testdata/lvm/degraded2-oracle.sh on its images: VG gvg on g1..g5
// (r6 a raid6 over the five, r10 a raid10 over g1..g4, r0 a raid0 over g2 and g3, r4 a raid4
// over g1..g3) activated with g2, g2+g3, g1+g2 and g1+g2+g3 missing in each activation mode,
// one after the other on the same images as lvm2 did (each activation leaves the members'
// superblocks as the kernel left them: with g1+g2 missing, r6's member on g3, which the
// activations without g3 recorded as failed, comes back to be recovered and the set, three
// members of five down, does not start); then with g2 missing r6, r10 and r4 are written,
// deactivated and activated with g2 back (its members recovered). Each activation's exit
// status, refusals, names, minors, tables, UUIDs, flags, open counts, status and LVs' bytes
// (or a failing read, raid0 with a member on an error device) are lvm2's in the 6.1 kernel.
func TestLvmDegraded2(t *testing.T) {
	s := newSandbox(t)
	o := degraded2(t)
	imgs := lvmImages(s, o.disks...)
	s.degradedModes(o, imgs, "g2", "g2 g3", "g1 g2", "g1 g2 g3")

	s.degradedActivate(o, "writeback: vgchange -ay (g2 missing)", imgs, "g2")
	for _, lv := range []string{"r6", "r10", "r4"} {
		s.ok(degradedPattern("degraded2", lv), "write", "gvg-"+lv, "--offset", strconv.Itoa(65536))
	}
	sameLines(t, "status (written, g2 missing)", lines(s.ok("", "status")), o.blocks["writeback: status (written, g2 missing)"])
	s.degradedSHA(o, "sha256 (written, g2 missing)")
	s.degradedDeactivate(o)

	s.degradedActivate(o, "put back: vgchange -ay (all PVs)", imgs, "")
	s.degradedSHA(o, "put back: sha256")
	// g2's raid10 image, recovered, holds its pair's bytes, the writes made without it included
	if a, b := s.lvSHA("gvg-r10_rimage_0"), s.lvSHA("gvg-r10_rimage_1"); a != b {
		t.Errorf("r10's images 0 and 1 differ after the recovery of 1")
	}
	s.degradedDeactivate(o)
}
