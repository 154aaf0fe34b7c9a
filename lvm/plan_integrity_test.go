package lvm

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// integrityRaid1 is a raid1 LV "r" of two images with integrity, as lvm2's lvcreate
// --raidintegrity y leaves it (each image's _rmeta at extent 10*N, _imeta after it, _iorig
// after that), its integrity segments' settings given.
func integrityRaid1(settings string) string {
	text := lvText("r", rw, "", 2, "raid1", `device_count = 2 region_size = 1024 raids = ["r_rmeta_0", "r_rimage_0", "r_rmeta_1", "r_rimage_1"]`)
	for i := 0; i < 2; i++ {
		n, pe := strconv.Itoa(i), 10*i
		text += lvText("r_rmeta_"+n, hidden, "", 1, "striped", linearAt(strconv.Itoa(pe))) +
			lvText("r_rimage_"+n, `"READ", "WRITE"`, "", 2, "integrity", `origin = "r_rimage_`+n+`_iorig" data_sectors = 16 meta_dev = "r_rimage_`+n+`_imeta" `+settings) +
			lvText("r_rimage_"+n+"_imeta", hidden, "", 4, "striped", linearAt(strconv.Itoa(pe+1))) +
			lvText("r_rimage_"+n+"_iorig", hidden, "", 2, "striped", linearAt(strconv.Itoa(pe+5)))
	}
	return text
}

const journalCRC = `mode = "J" tag_size = 4 block_size = 512 internal_hash = "crc32c"`

// TestPlanIntegrity: each image's metadata LV, origin and integrity table come before the
// next member, with lvm2's names, UUIDs (no suffix) and libdm's arguments; recalculate and
// the optional settings as the text holds them.
func TestPlanIntegrity(t *testing.T) {
	got := planConcise(t, planVG(t, integrityRaid1(journalCRC)), PlanOptions{})
	want := "my--vg-r_rmeta_0,LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVr_rmeta_0id,,rw,0 8 linear /img 2148;" +
		"my--vg-r_rimage_0_imeta,LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVr_rimage_0_imetaid,,rw,0 32 linear /img 2156;" +
		"my--vg-r_rimage_0_iorig,LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVr_rimage_0_iorigid,,rw,0 16 linear /img 2188;" +
		"my--vg-r_rimage_0,LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVr_rimage_0id,,rw,0 16 integrity /dev/mapper/my--vg-r_rimage_0_iorig 0 4 J 4 fix_padding block_size:512 internal_hash:crc32c meta_device:/dev/mapper/my--vg-r_rimage_0_imeta;" +
		"my--vg-r_rmeta_1,LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVr_rmeta_1id,,rw,0 8 linear /img 2228;" +
		"my--vg-r_rimage_1_imeta,LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVr_rimage_1_imetaid,,rw,0 32 linear /img 2236;" +
		"my--vg-r_rimage_1_iorig,LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVr_rimage_1_iorigid,,rw,0 16 linear /img 2268;" +
		"my--vg-r_rimage_1,LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVr_rimage_1id,,rw,0 16 integrity /dev/mapper/my--vg-r_rimage_1_iorig 0 4 J 4 fix_padding block_size:512 internal_hash:crc32c meta_device:/dev/mapper/my--vg-r_rimage_1_imeta;" +
		"my--vg-r,LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVrid,,rw,0 16 raid raid1 3 0 region_size 1024 2 /dev/mapper/my--vg-r_rmeta_0 /dev/mapper/my--vg-r_rimage_0 /dev/mapper/my--vg-r_rmeta_1 /dev/mapper/my--vg-r_rimage_1"
	if got != want {
		t.Errorf("raid1 with integrity:\n got %s\nwant %s", got, want)
	}

	bitmap := integrityRaid1(`mode = "B" tag_size = 4 block_size = 4096 internal_hash = "sha256" recalculate = 1 journal_sectors = 1024 buffer_sectors = 64 journal_watermark = 30 commit_time = 500 bitmap_flush_interval = 1000 sectors_per_bit = 8`)
	got = planConcise(t, planVG(t, bitmap), PlanOptions{})
	for _, want := range []string{
		"my--vg-r_rimage_1,LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVr_rimage_1id,,rw,0 16 integrity /dev/mapper/my--vg-r_rimage_1_iorig 0 4 B 11 fix_padding block_size:4096 internal_hash:sha256 meta_device:/dev/mapper/my--vg-r_rimage_1_imeta recalculate journal_sectors:1024 buffer_sectors:64 journal_watermark:30 commit_time:500 bitmap_flush_interval:1000 sectors_per_bit:8;",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("bitmap mode, settings:\n%s\nlacks %s", got, want)
		}
	}
	if _, err := planVG(t, bitmap).Plan(PlanOptions{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "LV my-vg/r_rimage_0: integrity in bitmap mode writes its superblock at every activation") {
		t.Errorf("bitmap mode, read-only: %v", err)
	}
	got = planConcise(t, planVG(t, integrityRaid1(journalCRC)), PlanOptions{ReadOnly: true})
	if want := "my--vg-r_rimage_0_imeta,LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVr_rimage_0_imetaid,,ro,"; !strings.Contains(got, want) {
		t.Errorf("journal mode, read-only:\n%s\nlacks %s", got, want)
	}
}

// TestPlanIntegrityRefusals: settings lvm2 or the kernel would not take, layers missing or
// standing on themselves are refused, naming the LV.
func TestPlanIntegrityRefusals(t *testing.T) {
	for _, c := range []struct{ settings, want string }{
		{`mode = "D" tag_size = 4 block_size = 512 internal_hash = "crc32c"`, `LV my-vg/r_rimage_0: integrity: mode "D" (J for journal or B for bitmap)`},
		{`mode = "J" tag_size = 0 block_size = 512 internal_hash = "crc32c"`, `tag_size 0 (1 to 255 bytes)`},
		{`mode = "J" tag_size = 4 block_size = 1536 internal_hash = "crc32c"`, `block_size 1536 (512, 1024, 2048 or 4096 bytes)`},
		{`mode = "J" tag_size = 4 block_size = 512 internal_hash = "hmac(sha256):00"`, `internal_hash "hmac(sha256):00" is not a hash's name`},
		{`mode = "J" tag_size = 4 block_size = 512`, `integrity: section "segment1": no internal_hash`},
		{journalCRC + ` interleave_sectors = 32768`, `interleave_sectors 32768: lvm2 2.03.16 loads it misspelt`},
	} {
		_, err := planVG(t, integrityRaid1(c.settings)).Plan(PlanOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.settings, err, c.want)
		}
	}
	for _, c := range []struct{ old, new, want string }{
		{`meta_dev = "r_rimage_0_imeta" `, ``, `LV my-vg/r_rimage_0: integrity: section "segment1": no meta_dev (lvm2 makes integrity with a metadata LV only)`},
		{`origin = "r_rimage_0_iorig"`, `origin = "r_rimage_0"`, `integrity: LV r_rimage_0 stands on itself`},
		{`meta_dev = "r_rimage_0_imeta"`, `meta_dev = "r_rimage_0"`, `integrity: LV r_rimage_0 stands on itself`},
		{`origin = "r_rimage_0_iorig"`, `origin = "nosuch"`, `integrity: no LV nosuch`},
		{`data_sectors = 16`, `data_sectors = 17`, `integrity: data_sectors 17, the LV holds 16 sectors`},
	} {
		_, err := planVG(t, strings.Replace(integrityRaid1(journalCRC), c.old, c.new, 1)).Plan(PlanOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s -> %s: %v, want %q", c.old, c.new, err, c.want)
		}
	}
}

// TestPlanIntegrityDegraded: a raid LV with integrity on a missing PV is refused in every
// mode (in degraded and partial mode with lvm2's reason), and so is every LV after it on a missing PV (lvm2 turns degraded and partial
// activation off for the rest of the command); an LV before it is activated as the mode
// says.
func TestPlanIntegrityDegraded(t *testing.T) {
	// pv1 missing: a's only stripe, r_rimage_1_imeta, z's only stripe.
	text := strings.Replace(integrityRaid1(journalCRC), `stripes = ["pv0", 11]`, `stripes = ["pv1", 0]`, 1)
	text = lvText("a", rw, "", 1, "striped", `stripe_count = 1 stripes = ["pv1", 1]`) + text +
		lvText("z", rw, "", 1, "striped", `stripe_count = 1 stripes = ["pv1", 2]`)
	vg, err := ParseVG([]byte(`my-vg { id = "VVVVVV-VVVV-VVVV-VVVV-VVVV-VVVV-VVVVVV" seqno = 3 extent_size = 8
physical_volumes { pv0 { id = "PPPPPP" device = "/dev/sdy" pe_start = 2048 pe_count = 100 } pv1 { id = "QQQQQQ" device = "/dev/sdz" pe_start = 2048 pe_count = 100 } }
logical_volumes {` + text + `} }`))
	if err != nil {
		t.Fatal(err)
	}
	vg.PVs[0].Source = &PVSource{Path: "/img"}
	for _, c := range []struct {
		mode    ActivationMode
		devices string
	}{
		{Degraded, ""},
		{Complete, ""},
		{Partial, "my--vg-a-missing_0_0 my--vg-a"},
	} {
		devs, err := vg.Plan(PlanOptions{Mode: c.mode})
		var partial *PartialError
		if !errors.As(err, &partial) || len(partial.Refused) != 3 && c.mode != Partial || len(partial.Refused) != 2 && c.mode == Partial {
			t.Fatalf("mode %d: %v", c.mode, err)
		}
		var names []string
		for _, d := range devs {
			names = append(names, d.Name)
		}
		if got := strings.Join(names, " "); got != c.devices {
			t.Errorf("mode %d: devices %q, want %q", c.mode, got, c.devices)
		}
		for _, r := range partial.Refused {
			noted := strings.Contains(r.Error(), "no degraded or partial activation for raid with integrity")
			if noted != (c.mode != Complete && strings.Contains(r.Error(), "my-vg/r: ")) {
				t.Errorf("mode %d: %v", c.mode, r)
			}
		}
		if r := partial.Refused[len(partial.Refused)-1].Error(); !strings.HasPrefix(r, "refusing activation of partial LV my-vg/z: LV my-vg/z segment1: stripe 1: PV pv1 (id QQQQQQ, last seen as /dev/sdz) is not among the images") {
			t.Errorf("mode %d: %s", c.mode, r)
		}
	}
}
