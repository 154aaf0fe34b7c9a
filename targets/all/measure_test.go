package all_test

import (
	"os"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
	_ "github.com/gdmsetup/gdmsetup/targets/all"
)

// TestMeasureEveryType builds one table line of every registered type on
// fresh files and checks its STATUSTYPE_IMA string (`dmsetup measure`)
// against the kernel's format, written from the IMA case of each target's
// status function in Linux 6.1 (DEV stands for a file's path, where the
// kernel prints major:minor). Most of them are checked against the real
// kernel by testdata/fidelity/measure.scn too; dust and ebs only here, as
// the oracle has no modules for them (dust_status and ebs_status: `case
// STATUSTYPE_IMA: *result = '\0';`).
func TestMeasureEveryType(t *testing.T) {
	g := dmtest.New(t)
	path := func(name string, sizeBytes int64) string { return g.File(name, sizeBytes, false) }
	a, b, c := path("a", 8<<20), path("b", 8<<20), path("c", 8<<20)
	meta, big, small := path("meta", 4<<20), path("big", 64<<20), path("small", 1<<20)
	cases := []struct {
		typ      string
		lenSec   uint64
		args     string
		readOnly bool
		want     string
	}{
		{"error", 100, "", false, ""},
		{"zero", 100, "", false, ""},
		{"linear", 2048, "{a} 16", false, "target_name=linear,target_version=1.4.0,device_name={a},start=16;"},
		{"striped", 2048, "2 8 {a} 0 {b} 8", false, "target_name=striped,target_version=1.6.0,stripes=2,chunk_size=8," +
			"stripe_0_device_name={a},stripe_0_physical_start=0,stripe_0_status=A,stripe_1_device_name={b},stripe_1_physical_start=8,stripe_1_status=A;"},
		{"thin-pool", 131072, "{meta} {big} 128 16", false, ""},
		{"snapshot-origin", 2048, "{a}", false, ""},
		{"snapshot", 2048, "{a} {small} P 8", false, "target_name=snapshot,target_version=1.16.0,snap_origin_name={a},snap_cow_name={small}," +
			"snap_valid=y,snap_merge_failed=n,snapshot_overflowed=n;"},
		{"flakey", 100, "{a} 0 1 1", false, ""},
		{"delay", 100, "{a} 0 0", false, ""},
		{"unstriped", 1024, "2 128 0 {a} 0", false, ""},
		{"mirror", 2048, "core 1 1024 2 {a} 0 {b} 0 1 handle_errors", false, "target_name=mirror,target_version=1.14.0,nr_mirrors=2," +
			"mirror_device_0={a},mirror_device_0_status=A,mirror_device_1={b},mirror_device_1_status=A,handle_errors=y,keep_log=n,log_type_status=;"},
		{"raid", 8192, "raid5_ls 1 16 3 - {a} - {b} - {c}", false, "target_name=raid,target_version=1.15.1,raid_type=raid5_ls,raid_disks=3,raid_state=idle," +
			"raid_device_0_status=A,raid_device_1_status=A,raid_device_2_status=A,journal_dev_mode=writethrough;"},
		{"switch", 2048, "2 128 0 {a} 0 {b} 0", false, ""},
		{"log-writes", 1024, "{a} {small}", false, ""},
		{"crypt", 256, "aes-cbc-essiv:sha256 00112233445566778899aabbccddeeff 0 {a} 0 2 allow_discards sector_size:4096", false,
			"target_name=crypt,target_version=1.24.0,allow_discards=y,same_cpu_crypt=n,submit_from_crypt_cpus=n,no_read_workqueue=n," +
				"no_write_workqueue=n,iv_large_sectors=n,sector_size=4096,cipher_string=aes-cbc-essiv:sha256,key_size=16,key_parts=1,key_extra_size=0,key_mac_size=0;"},
		{"verity", 8, "1 {a} {small} 4096 4096 1 0 sha256 facb77fff2081a1c44d8ab5472e24880ca1d7b10b8d649817059632e435eb8bd - 1 ignore_corruption", true,
			"target_name=verity,target_version=1.9.0,hash_failed=V,verity_version=1,data_device_name={a},hash_device_name={small},verity_algorithm=sha256," +
				"root_digest=facb77fff2081a1c44d8ab5472e24880ca1d7b10b8d649817059632e435eb8bd,salt=-,ignore_zero_blocks=n,check_at_most_once=n,verity_mode=ignore_corruption;"},
		{"multipath", 2048, "0 0 1 1 service-time 0 2 2 {a} 1 0 {b} 1 5", false, "target_name=multipath,target_version=1.14.0,nr_priority_groups=1," +
			"pg_state_0=E,nr_pgpaths_0=2,path_selector_name_0=service-time," +
			"path_name_0_0={a},is_active_0_0=A,fail_count_0_0=0,path_selector_status_0_0=,path_name_0_1={b},is_active_0_1=A,fail_count_0_1=0,path_selector_status_0_1=;"},
		{"writecache", 2048, "s {a} {small} 4096 0", false, ""},
		{"integrity", 2048, "{c} 0 - D 1 internal_hash:crc32c", false, "target_name=integrity,target_version=1.10.0,dev_name={c},start=0,tag_size=4,mode=D," +
			"recalculate=n,allow_discards=n,fix_padding=n,fix_hmac=n,legacy_recalculate=n,journal_sectors=176,interleave_sectors=32768,buffer_sectors=128;"},
		{"dust", 8192, "{a} 0 512", false, ""},
		{"ebs", 8192, "{a} 0 8", false, ""},
		{"era", 131072, "{meta} {big} 128", false, ""},
		{"cache", 131072, "{meta} {c} {big} 128 2 metadata2 passthrough smq 0", false, "target_name=cache,target_version=2.3.0,metadata_mode=rw," +
			"cache_metadata_device={meta},cache_device={c},cache_origin_device={big},writethrough=n,writeback=n,passthrough=y,metadata2=y,no_discard_passdown=n;"},
		{"clone", 16384, "{meta} {b} {a} 8", false, ""},
		{"thin", 2048, "/dev/mapper/pool 0", false, ""},
		{"snapshot-merge", 2048, "{a} {small} P 8", false, "target_name=snapshot-merge,target_version=1.5.0,snap_origin_name={a},snap_cow_name={small}," +
			"snap_valid=y,snap_merge_failed=n,snapshot_overflowed=n;"},
	}
	files := strings.NewReplacer("{a}", a, "{b}", b, "{c}", c, "{meta}", meta, "{big}", big, "{small}", small)
	seen := map[string]bool{}
	for _, tc := range cases {
		seen[tc.typ] = true
		t.Run(tc.typ, func(t *testing.T) {
			for _, p := range []string{a, b, c, meta, big, small} {
				dmtest.Sparse(t, p, fileSize(t, p))
			}
			if tc.typ == "thin" {
				g.MustCreate("pool", 131072, "thin-pool", meta, big, "128", "16")
				defer g.Reg.Remove("pool")
				if _, err := g.Reg.Message("pool", 0, []string{"create_thin", "0"}); err != nil {
					t.Fatal(err)
				}
			}
			defer func() {
				if err := g.Reg.Remove("m"); err != nil {
					t.Fatal(err)
				}
			}()
			line := dm.TargetLine{Len: tc.lenSec, Type: tc.typ, Args: strings.Fields(files.Replace(tc.args))}
			if err := g.Reg.Create("m", "", []dm.TargetLine{line}, tc.readOnly); err != nil {
				t.Fatalf("create: %v\n%s", err, g.Klog.String())
			}
			got, err := g.Reg.LinesOf("m", false, dm.StatusIMA)
			if err != nil {
				t.Fatal(err)
			}
			if want := files.Replace(tc.want); len(got) != 1 || got[0].Params != want {
				t.Errorf("measure %s:\n got %+v\nwant %q", tc.typ, got, want)
			}
		})
	}
	for _, typ := range targets.All() {
		if !seen[typ.Name] {
			t.Errorf("type %s has no measurement case here", typ.Name)
		}
	}
}

// fileSize is the size of the file at path.
func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
