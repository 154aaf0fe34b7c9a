package lvm

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gdmsetup/gdmsetup/table"
)

// Cache chunk (dm-cache block) sizes lvm2 loads: DM_CACHE_MIN_DATA_BLOCK_SIZE and
// DM_CACHE_MAX_DATA_BLOCK_SIZE, in multiples of the minimum.
const (
	minCacheChunkSectors = 64
	maxCacheChunkSectors = 2097152
)

// defaultMigrationThreshold is the migration_threshold (sectors) libdm leaves out of a cache
// table: the kernel's default.
const defaultMigrationThreshold = 2048

// cachePolicySettings are the policy settings lvm2 passes to each policy it knows (cache.c's
// _accepted, by policy name regardless of case); it drops the others with a warning. Settings
// of other policies pass as they are.
var cachePolicySettings = map[string][]string{
	"mq": {"migration_threshold", "sequential_threshold", "random_threshold",
		"read_promote_adjustment", "write_promote_adjustment", "discard_promote_adjustment"},
	"smq": {"migration_threshold"},
}

// cacheSegType is the type, cache or cache-pool, of a segment of either type as lvm2 writes
// it, with the flags it may add (cache+CACHE_USES_CACHEVOL, cache-pool+METADATA_FORMAT); ""
// for other types and flags.
func cacheSegType(segType string) string {
	base, flags, _ := strings.Cut(segType, "+")
	if base != "cache" && base != "cache-pool" {
		return ""
	}
	for _, f := range strings.Split(flags, "+") {
		if f != "" && f != "METADATA_FORMAT" && (base != "cache" || f != "CACHE_USES_CACHEVOL") {
			return ""
		}
	}
	return base
}

// cacheSettings are what a cache table takes from a cache segment and its cache pool (or,
// for a cachevol, from the cache segment alone).
type cacheSettings struct {
	chunkSectors uint64
	mode         string // writethrough, writeback or passthrough
	metadata2    bool
	policy       string
	args         []string // the policy's arguments, key value pairs as libdm orders them
}

// cache plans the devices a cache segment of lv stands on and returns its cache line, as
// lvm2 2.03 loads it. Through a cache pool: the pool's data LV (UUID suffix -cdata), its
// metadata LV (-cmeta), then the origin (-real). Through a cachevol: the cachevol (-cvol),
// then VG-CVOL-cdata and VG-CVOL-cmeta, linear maps of its data and metadata areas, then the
// origin. The table is libdm's: metadata, data and origin devices, the chunk size, the
// features (metadata2 and the mode), the policy (cleaner when the segment says so) and its
// settings, migration_threshold first and only when it is not the kernel's default, raised
// to 8 chunks as libdm raises it.
func (p *planner) cache(lv *LV, seg *Segment, startSectors, lenSectors uint64) (table.Line, error) {
	s := seg.Section
	if len(lv.Segments) != 1 {
		return table.Line{}, fmt.Errorf("%d segments, a cache LV has one", len(lv.Segments))
	}
	if p.o.ReadOnly {
		return table.Line{}, fmt.Errorf("dm-cache writes its metadata when it starts and stops, which writes the images: not under a read-only activation")
	}
	poolName, err := s.Str("cache_pool")
	if err != nil {
		return table.Line{}, err
	}
	pool := p.vg.LV(poolName)
	if pool == nil {
		return table.Line{}, fmt.Errorf("no LV %s (its cache pool)", poolName)
	}
	originName, err := s.Str("origin")
	if err != nil {
		return table.Line{}, err
	}
	if p.vg.LV(originName) == nil {
		return table.Line{}, fmt.Errorf("no LV %s (its origin)", originName)
	}
	_, cachevol := s.Keys["metadata_start"]
	var set cacheSettings
	var meta, data string
	if cachevol {
		set, err = cacheSettingsOf(s, true)
		if err == nil {
			meta, data, err = p.cachevolAreas(lv, pool, s)
		}
	} else {
		meta, data, set, err = p.cachePool(pool)
	}
	if err != nil {
		return table.Line{}, err
	}
	origin, err := p.layer(originName, "real")
	if err != nil {
		return table.Line{}, fmt.Errorf("origin: %w", err)
	}
	if cleaner, err := s.UintOr("cleaner", 0); err != nil {
		return table.Line{}, err
	} else if cleaner != 0 {
		set.mode, set.policy = "writethrough", "cleaner"
		if set.args, err = cachePolicyArgs("", nil, set.chunkSectors); err != nil {
			return table.Line{}, err
		}
	}
	args := []string{"/dev/mapper/" + meta, "/dev/mapper/" + data, "/dev/mapper/" + origin, strconv.FormatUint(set.chunkSectors, 10)}
	if set.metadata2 {
		args = append(args, "2", "metadata2", set.mode)
	} else {
		args = append(args, "1", set.mode)
	}
	args = append(args, set.policy, strconv.Itoa(len(set.args)))
	return line(startSectors, lenSectors, "cache", append(args, set.args...)...), nil
}

// cachePool plans a cache pool's data and metadata LVs and returns their devices' names and
// the settings its segment holds.
func (p *planner) cachePool(pool *LV) (meta, data string, set cacheSettings, err error) {
	seg := pool.Segments[0]
	if cacheSegType(seg.Type) != "cache-pool" || len(pool.Segments) != 1 {
		return "", "", set, fmt.Errorf("cache pool %s is not a cache-pool LV of one segment", pool.Name)
	}
	s := seg.Section
	if set, err = cacheSettingsOf(s, false); err != nil {
		return "", "", set, fmt.Errorf("cache pool %s: %w", pool.Name, err)
	}
	var names [2]string
	for i, key := range []string{"data", "metadata"} {
		if names[i], err = s.Str(key); err != nil {
			return "", "", set, fmt.Errorf("cache pool %s: %w", pool.Name, err)
		}
	}
	if data, err = p.layer(names[0], "cdata"); err != nil {
		return "", "", set, fmt.Errorf("cache pool %s data: %w", pool.Name, err)
	}
	if meta, err = p.layer(names[1], "cmeta"); err != nil {
		return "", "", set, fmt.Errorf("cache pool %s metadata: %w", pool.Name, err)
	}
	return meta, data, set, nil
}

// cachevolAreas plans a cachevol (UUID suffix -cvol) and the linear maps of its data and
// metadata areas lvm2 layers on it, VG-CVOL-cdata and VG-CVOL-cmeta, with the UUIDs of the
// segment's metadata_id and data_id (the cachevol's id when it has none); lvm2 maps the
// metadata from the cachevol's sector 0 and the data after metadata_len sectors. It returns
// the metadata's and the data's map names.
func (p *planner) cachevolAreas(lv, cvol *LV, s *Section) (meta, data string, err error) {
	if cacheSegType(cvol.Segments[0].Type) == "cache-pool" {
		return "", "", fmt.Errorf("cache pool %s given metadata and data areas (a cachevol's)", cvol.Name)
	}
	var lens [2]uint64
	for i, key := range []string{"metadata_len", "data_len"} {
		if lens[i], err = s.Uint(key); err != nil {
			return "", "", err
		}
	}
	if size := p.lenSectors(cvol); lens[0] == 0 || lens[1] == 0 || lens[0] > size || lens[1] > size-lens[0] {
		return "", "", fmt.Errorf("metadata_len %d and data_len %d do not fit cachevol %s (%d sectors)", lens[0], lens[1], cvol.Name, p.lenSectors(cvol))
	}
	dev, err := p.layer(cvol.Name, "cvol")
	if err != nil {
		return "", "", fmt.Errorf("cachevol: %w", err)
	}
	var names [2]string
	for _, area := range []struct {
		i          int
		key, layer string
		offSectors uint64
	}{{1, "data_id", "cdata", lens[0]}, {0, "metadata_id", "cmeta", 0}} {
		id := cvol.ID
		if _, ok := s.Keys[area.key]; ok {
			if id, err = s.Str(area.key); err != nil {
				return "", "", err
			}
		}
		names[area.i] = DMName(p.vg.Name, cvol.Name, area.layer)
		p.add(names[area.i], "LVM-"+plainID(p.vg.ID)+plainID(id)+"-"+area.layer, !lv.Writable(), []table.Line{
			line(0, lens[area.i], "linear", "/dev/mapper/"+dev, strconv.FormatUint(area.offSectors, 10))})
	}
	return names[0], names[1], nil
}

// cacheSettingsOf reads the chunk size, mode, metadata format, policy and policy settings of
// a cache pool's segment or (cachevol) of the cache segment, as lvm2 fills them in: a mode
// missing is writethrough, a policy missing mq, a metadata format missing 1 (a cachevol's
// must be 2).
func cacheSettingsOf(s *Section, cachevol bool) (cacheSettings, error) {
	var set cacheSettings
	var err error
	if set.chunkSectors, err = s.Uint("chunk_size"); err != nil {
		return set, err
	}
	if c := set.chunkSectors; c < minCacheChunkSectors || c > maxCacheChunkSectors || c%minCacheChunkSectors != 0 {
		return set, fmt.Errorf("chunk_size %d sectors: a cache chunk is %d to %d sectors, a multiple of %d", c, minCacheChunkSectors, maxCacheChunkSectors, minCacheChunkSectors)
	}
	set.mode = "writethrough"
	if _, ok := s.Keys["cache_mode"]; ok {
		if set.mode, err = s.Str("cache_mode"); err != nil {
			return set, err
		}
		if !slices.Contains([]string{"writethrough", "writeback", "passthrough"}, set.mode) {
			return set, fmt.Errorf("cache_mode %q: writethrough, writeback or passthrough", set.mode)
		}
	}
	format := uint64(1)
	if cachevol {
		format = 0
	}
	if format, err = s.UintOr("metadata_format", format); err != nil {
		return set, err
	}
	switch {
	case cachevol && format != 2:
		return set, fmt.Errorf("metadata_format %d: a cachevol's is 2", format)
	case format != 1 && format != 2:
		return set, fmt.Errorf("metadata_format %d: 1 or 2", format)
	}
	set.metadata2 = format == 2
	set.policy = "mq"
	if _, ok := s.Keys["policy"]; ok {
		if set.policy, err = s.Str("policy"); err != nil {
			return set, err
		}
		if set.policy == "" || strings.ContainsAny(set.policy, " \t\n") {
			return set, fmt.Errorf("policy %q is not a policy name", set.policy)
		}
	}
	filter := set.policy
	if cachevol {
		// lvm2 2.03.16 takes the policy's name from the cachevol's own (striped) segment,
		// which has none: mq, its settings passed unchecked
		set.policy, filter = "mq", ""
	}
	set.args, err = cachePolicyArgs(filter, s.Child("policy_settings"), set.chunkSectors)
	return set, err
}

// cachePolicyArgs are the policy arguments libdm loads for policy_settings: each setting with
// its integer value in the text's order (those that lvm2 knows policy filter for take only
// the settings it lists, cachePolicySettings), and migration_threshold before them, raised
// to 8 chunks when lower, left out when it is the kernel's default.
func cachePolicyArgs(filter string, settings *Section, chunkSectors uint64) ([]string, error) {
	threshold := uint64(defaultMigrationThreshold)
	var args []string
	if settings != nil {
		known, checked := cachePolicySettings[strings.ToLower(filter)]
		for _, key := range settings.Order {
			v := settings.Keys[key]
			if v.Kind != KindInt || v.Int < 0 {
				return nil, fmt.Errorf("policy setting %s is not a non-negative integer", key)
			}
			switch {
			case checked && !slices.Contains(known, key):
				// lvm2 drops it, warning that the policy does not take it
			case key == "migration_threshold":
				threshold = uint64(v.Int)
			case !isPolicyKey(key):
				return nil, fmt.Errorf("policy setting %q is not a word", key)
			default:
				args = append(args, key, strconv.FormatInt(v.Int, 10))
			}
		}
	}
	threshold = max(threshold, 8*chunkSectors)
	if threshold != defaultMigrationThreshold {
		args = append([]string{"migration_threshold", strconv.FormatUint(threshold, 10)}, args...)
	}
	return args, nil
}

// isPolicyKey reports whether key can go in a table as one word.
func isPolicyKey(key string) bool {
	return key != "" && !strings.ContainsAny(key, " \t\n")
}

// writecacheSettings are the writecache segment's settings libdm loads, in its order, with
// the number of table words each takes (a flag one, a value two).
var writecacheSettings = []struct {
	key   string
	words int
}{
	{"high_watermark", 2}, {"low_watermark", 2}, {"writeback_jobs", 2}, {"autocommit_blocks", 2},
	{"autocommit_time", 2}, {"fua", 1}, {"nofua", 1}, {"cleaner", 1}, {"max_age", 2},
}

// writecache plans the devices a writecache segment of lv stands on, its cachevol (UUID
// suffix -cvol) then its origin (-real), and returns its writecache line as lvm2 2.03 loads
// it: s (the images are no persistent memory), the origin, the cachevol, the block size
// (4096 when the text has 0) and the settings the segment holds, in libdm's order (fua and
// nofua as flags whatever their value, cleaner when not 0), then the one free key and value
// (writecache_setting_key and _val).
func (p *planner) writecache(lv *LV, seg *Segment, startSectors, lenSectors uint64) (table.Line, error) {
	s := seg.Section
	if len(lv.Segments) != 1 {
		return table.Line{}, fmt.Errorf("%d segments, a writecache LV has one", len(lv.Segments))
	}
	if p.o.ReadOnly {
		return table.Line{}, fmt.Errorf("dm-writecache writes its cache when it starts and stops, which writes the images: not under a read-only activation")
	}
	var names [2]string
	var err error
	for i, key := range []string{"writecache", "origin"} {
		if names[i], err = s.Str(key); err != nil {
			return table.Line{}, err
		}
		if p.vg.LV(names[i]) == nil {
			return table.Line{}, fmt.Errorf("no LV %s (its %s)", names[i], key)
		}
	}
	block, err := s.Uint("writecache_block_size")
	if err != nil {
		return table.Line{}, err
	}
	if block == 0 {
		block = 4096
	}
	var opts []string
	for _, w := range writecacheSettings {
		if _, ok := s.Keys[w.key]; !ok {
			continue
		}
		v, err := s.Uint(w.key)
		if err != nil {
			return table.Line{}, err
		}
		switch {
		case w.words == 2:
			opts = append(opts, w.key, strconv.FormatUint(v, 10))
		case w.key != "cleaner" || v != 0:
			opts = append(opts, w.key)
		}
	}
	if _, ok := s.Keys["writecache_setting_key"]; ok {
		var kv [2]string
		for i, key := range []string{"writecache_setting_key", "writecache_setting_val"} {
			if kv[i], err = s.Str(key); err != nil {
				return table.Line{}, err
			}
			if !isPolicyKey(kv[i]) {
				return table.Line{}, fmt.Errorf("%s %q is not a word", key, kv[i])
			}
		}
		opts = append(opts, kv[0], kv[1])
	}
	cvol, err := p.layer(names[0], "cvol")
	if err != nil {
		return table.Line{}, fmt.Errorf("cachevol: %w", err)
	}
	origin, err := p.layer(names[1], "real")
	if err != nil {
		return table.Line{}, fmt.Errorf("origin: %w", err)
	}
	args := []string{"s", "/dev/mapper/" + origin, "/dev/mapper/" + cvol, strconv.FormatUint(block, 10), strconv.Itoa(len(opts))}
	return line(startSectors, lenSectors, "writecache", append(args, opts...)...), nil
}

// CacheDescription says how lv is cached, as `lvm scan` lists it: "cache on cache pool POOL
// (MODE, chunk N sectors)", "cache on cachevol CVOL (MODE, chunk N sectors)", "writecache on
// cachevol CVOL (block N bytes)", for a thin pool whose data LV is cached "data LV DATA: " and
// that; "" for other LVs and for segments activation would refuse.
func (vg *VG) CacheDescription(lv *LV) string {
	seg := lv.Segments[0]
	s := seg.Section
	switch {
	case seg.Type == "thin-pool":
		if data := vg.LV(s.Keys["pool"].Str); data != nil && data != lv {
			if d := vg.CacheDescription(data); d != "" {
				return "data LV " + data.Name + ": " + d
			}
		}
	case seg.Type == "writecache":
		block, err := s.Uint("writecache_block_size")
		if err != nil {
			return ""
		}
		if block == 0 {
			block = 4096
		}
		return fmt.Sprintf("writecache on cachevol %s (block %d bytes)", s.Keys["writecache"].Str, block)
	case cacheSegType(seg.Type) == "cache":
		name := s.Keys["cache_pool"].Str
		pool := vg.LV(name)
		if pool == nil {
			return ""
		}
		if _, cachevol := s.Keys["metadata_start"]; cachevol {
			if set, err := cacheSettingsOf(s, true); err == nil {
				return fmt.Sprintf("cache on cachevol %s (%s, chunk %d sectors)", name, set.mode, set.chunkSectors)
			}
		} else if set, err := cacheSettingsOf(pool.Segments[0].Section, false); err == nil {
			return fmt.Sprintf("cache on cache pool %s (%s, chunk %d sectors)", name, set.mode, set.chunkSectors)
		}
	}
	return ""
}
