package lvm

import (
	"strings"
	"testing"
)

// cacheVG is planVG with a cache LV c (origin c_corig, 2 extents at extent 0) on the cache
// pool cp_cpool (data at extent 10, metadata at extent 20) whose segment has the keys given,
// a writecache LV w (origin w_wcorig at extent 30, cachevol f_cvol at extent 40) and a cache
// LV v on the cachevol v_cvol (extent 50, its areas 4 and 12 sectors) with the keys given.
func cacheVG(t *testing.T, poolKeys, cachevolKeys string) *VG {
	linear := func(name, pe string) string {
		return lvText(name, `"READ", "WRITE"`, "", 2, "striped", `stripe_count = 1 stripes = ["pv0", `+pe+`]`)
	}
	return planVG(t, lvText("c", rw, "", 2, "cache", `cache_pool = "cp_cpool" origin = "c_corig"`)+
		lvText("cp_cpool", `"READ", "WRITE"`, "", 2, "cache-pool+METADATA_FORMAT", `data = "cp_cpool_cdata" metadata = "cp_cpool_cmeta" `+poolKeys)+
		linear("c_corig", "0")+linear("cp_cpool_cdata", "10")+linear("cp_cpool_cmeta", "20")+
		lvText("w", rw, "", 2, "writecache", `writecache = "f_cvol" origin = "w_wcorig" writecache_block_size = 512 high_watermark = 60 fua = 0 cleaner = 0 low_watermark = 10`)+
		linear("w_wcorig", "30")+linear("f_cvol", "40")+
		lvText("v", rw, "", 2, "cache+CACHE_USES_CACHEVOL", `cache_pool = "v_cvol" origin = "v_corig" metadata_start = 0 metadata_len = 4 data_start = 4 data_len = 12 `+cachevolKeys)+
		linear("v_cvol", "50")+linear("v_corig", "60"))
}

func TestPlanCache(t *testing.T) {
	vg := cacheVG(t, `metadata_format = 2 chunk_size = 128 cache_mode = "writeback" policy = "smq" policy_settings { migration_threshold = 4096 other = 3 }`,
		`metadata_format = 2 chunk_size = 64 cache_mode = "passthrough" policy = "smq" policy_settings { b = 2 a = 1 }`)
	want := "my--vg-cp_cpool_cdata," + vgID + "cp_cpool_cdataid-cdata,,rw,0 16 linear /img 2228;" +
		"my--vg-cp_cpool_cmeta," + vgID + "cp_cpool_cmetaid-cmeta,,rw,0 16 linear /img 2308;" +
		"my--vg-c_corig," + vgID + "c_corigid-real,,rw,0 16 linear /img 2148;" +
		"my--vg-c," + vgID + "cid,,rw,0 16 cache /dev/mapper/my--vg-cp_cpool_cmeta /dev/mapper/my--vg-cp_cpool_cdata /dev/mapper/my--vg-c_corig 128 2 metadata2 writeback smq 2 migration_threshold 4096;" +
		"my--vg-f_cvol," + vgID + "f_cvolid-cvol,,rw,0 16 linear /img 2468;" +
		"my--vg-w_wcorig," + vgID + "w_wcorigid-real,,rw,0 16 linear /img 2388;" +
		"my--vg-w," + vgID + "wid,,rw,0 16 writecache s /dev/mapper/my--vg-w_wcorig /dev/mapper/my--vg-f_cvol 512 5 high_watermark 60 low_watermark 10 fua;" +
		"my--vg-v_cvol," + vgID + "v_cvolid-cvol,,rw,0 16 linear /img 2548;" +
		"my--vg-v_cvol-cdata," + vgID + "v_cvolid-cdata,,rw,0 12 linear /dev/mapper/my--vg-v_cvol 4;" +
		"my--vg-v_cvol-cmeta," + vgID + "v_cvolid-cmeta,,rw,0 4 linear /dev/mapper/my--vg-v_cvol 0;" +
		"my--vg-v_corig," + vgID + "v_corigid-real,,rw,0 16 linear /img 2628;" +
		"my--vg-v," + vgID + "vid,,rw,0 16 cache /dev/mapper/my--vg-v_cvol-cmeta /dev/mapper/my--vg-v_cvol-cdata /dev/mapper/my--vg-v_corig 64 2 metadata2 passthrough mq 4 b 2 a 1"
	if got := planConcise(t, vg, PlanOptions{}); got != want {
		t.Errorf("plan:\n got %s\nwant %s", got, want)
	}
	// defaults: writethrough, mq, metadata format 1; a threshold under 8 chunks raised;
	// the cleaner policy; the cachevol's areas' own ids
	vg = cacheVG(t, `chunk_size = 512 policy_settings { migration_threshold = 100 }`,
		`metadata_format = 2 chunk_size = 64 cleaner = 1 metadata_id = "MMMM" data_id = "DDDD" policy_settings { a = 1 }`)
	devs, err := vg.Plan(PlanOptions{LVs: []string{"c", "v"}})
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for _, d := range devs {
		tables = append(tables, d.UUID+" "+d.Table[0].Params)
	}
	for _, w := range []string{
		"cid /dev/mapper/my--vg-cp_cpool_cmeta /dev/mapper/my--vg-cp_cpool_cdata /dev/mapper/my--vg-c_corig 512 1 writethrough mq 2 migration_threshold 4096",
		"DDDD-cdata /dev/mapper/my--vg-v_cvol 4",
		"MMMM-cmeta /dev/mapper/my--vg-v_cvol 0",
		"vid /dev/mapper/my--vg-v_cvol-cmeta /dev/mapper/my--vg-v_cvol-cdata /dev/mapper/my--vg-v_corig 64 2 metadata2 writethrough cleaner 0",
	} {
		if !strings.Contains(strings.Join(tables, "\n"), w) {
			t.Errorf("no device ends %q in\n%s", w, strings.Join(tables, "\n"))
		}
	}
	// a (visible) cache pool named: nothing, as lvm2 skips cache pools
	vg.LV("cp_cpool").Status = append(vg.LV("cp_cpool").Status, "VISIBLE")
	if got := planConcise(t, vg, PlanOptions{LVs: []string{"cp_cpool"}}); got != "" {
		t.Errorf("the cache pool alone planned %s", got)
	}
}

func TestPlanCacheRefusals(t *testing.T) {
	for _, c := range []struct{ pool, cachevol, lv, err string }{
		{`chunk_size = 100`, `metadata_format = 2 chunk_size = 64`, "c", "LV my-vg/c segment1: cache pool cp_cpool: chunk_size 100 sectors: a cache chunk is 64 to 2097152 sectors, a multiple of 64"},
		{`chunk_size = 32`, `metadata_format = 2 chunk_size = 64`, "c", "chunk_size 32 sectors"},
		{`chunk_size = 128 cache_mode = "writearound"`, `metadata_format = 2 chunk_size = 64`, "c", `cache_mode "writearound": writethrough, writeback or passthrough`},
		{`chunk_size = 128 metadata_format = 3`, `metadata_format = 2 chunk_size = 64`, "c", "metadata_format 3: 1 or 2"},
		{`chunk_size = 128 policy_settings { migration_threshold = "x" }`, `metadata_format = 2 chunk_size = 64`, "c", "policy setting migration_threshold is not a non-negative integer"},
		{`chunk_size = 128`, `chunk_size = 64`, "v", "metadata_format 0: a cachevol's is 2"},
	} {
		vg := cacheVG(t, c.pool, c.cachevol)
		_, err := vg.Plan(PlanOptions{LVs: []string{c.lv}})
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s %s: %v, want %q", c.pool, c.cachevol, err, c.err)
		}
	}
	vg := cacheVG(t, `chunk_size = 128`, `metadata_format = 2 chunk_size = 64`)
	for _, c := range []struct{ rename, lv, err string }{
		{"cp_cpool", "c", "LV my-vg/c segment1: no LV cp_cpool (its cache pool)"},
		{"cp_cpool_cdata", "c", "cache pool cp_cpool data: no LV cp_cpool_cdata"},
		{"c_corig", "c", "no LV c_corig (its origin)"},
		{"f_cvol", "w", "LV my-vg/w segment1: no LV f_cvol (its writecache)"},
		{"v_cvol", "v", "no LV v_cvol (its cache pool)"},
	} {
		lv := vg.LV(c.rename)
		delete(vg.lvByName, c.rename)
		if _, err := vg.Plan(PlanOptions{LVs: []string{c.lv}}); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("without %s: %v, want %q", c.rename, err, c.err)
		}
		vg.lvByName[c.rename] = lv
	}
	for _, lv := range []string{"c", "w", "v"} {
		if _, err := vg.Plan(PlanOptions{LVs: []string{lv}, ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "not under a read-only activation") {
			t.Errorf("read-only %s: %v", lv, err)
		}
	}
	vg.LV("v").Segments[0].Section.Keys["data_len"] = Value{Kind: KindInt, Int: 13}
	if _, err := vg.Plan(PlanOptions{LVs: []string{"v"}}); err == nil || !strings.Contains(err.Error(), "metadata_len 4 and data_len 13 do not fit cachevol v_cvol (16 sectors)") {
		t.Errorf("areas past the cachevol: %v", err)
	}
	vg.LV("c").Segments[0].Type = "cache+RESHAPE"
	if _, err := vg.Plan(PlanOptions{LVs: []string{"c"}}); err == nil || !strings.Contains(err.Error(), `segment type "cache+RESHAPE" is not supported`) {
		t.Errorf("unknown flag: %v", err)
	}
}
