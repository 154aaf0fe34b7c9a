package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// lvmCacheImages are the disks testdata/lvm/cache-oracle.sh ran on, in the guest's order.
var lvmCacheImages = []string{"c1", "c2"}

// withoutStatus is an oracle block without its status lines (those after info's header):
// for activations that start where an earlier one of the transcript left the caches.
func withoutStatus(block []string) []string {
	header := slices.IndexFunc(block, func(l string) bool { return strings.HasPrefix(l, "Name ") })
	out := slices.Clone(block[:header+1])
	for _, l := range block[header+1:] {
		if !regexp.MustCompile(`^\S+: \d+ \d+ `).MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

// cachesClean waits (a bounded time) until no cache device has dirty blocks: an idle cache
// writes them back within a second or so, and the kernel's had by the time lvm2's
// activation of the whole VG was over and the oracle read the status.
func (s *sandbox) cachesClean() {
	s.t.Helper()
	var dirty []string
	for try := 0; try < 100; try++ {
		dirty = nil
		for _, l := range lines(s.ok("", "status")) {
			if f := strings.Fields(l); len(f) > 14 && f[3] == "cache" && f[14] != "0" {
				dirty = append(dirty, l)
			}
		}
		if len(dirty) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("caches still dirty:\n%s", strings.Join(dirty, "\n"))
}

// TestLvmCacheActivateIsLvm2s activates the VG of cache and writecache LVs lvm2 made in the
// kernel oracle (cache pools in writethrough, writeback and passthrough mode, a cachevol, a
// writecache, a thin pool with a cached data LV; the caches holding dirty blocks) and compares
// names, minors, tables, UUIDs, flags, open counts, status (dirty blocks included) and every
// device's bytes with lvm2's activation in the kernel; then each LV alone.
func TestLvmCacheActivateIsLvm2s(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s, lvmCacheImages...)
	oracle := lvmOracle(t, "cache")
	s.ok("", append([]string{"lvm", "activate"}, imgs...)...)
	s.cachesClean()
	s.sameDevicesAsLvm2("vgchange -ay", oracle["vgchange -ay"], imgs)
	s.sameSHAAsLvm2("vgchange -ay", oracle["sha256"])
	s.ok("", "lvm", "deactivate", "vg")
	for _, lv := range []string{"lv2", "lv4", "lv5", "thin1", "lv1"} {
		what := "lvchange -ay vg/" + lv
		s.ok("", append([]string{"lvm", "activate", "--lv", "vg/" + lv}, imgs...)...)
		s.sameDevicesAsLvm2(what, withoutStatus(oracle[what]), imgs)
		s.ok("", "lvm", "deactivate", "vg")
	}
	if out := s.ok("", "ls"); out != "No devices found\n" {
		t.Errorf("after deactivate: %q", out)
	}
}

// cacheMetadataFile writes the bytes of the planned (inactive) linear device name, a cache's
// metadata LV, from the images into a file and returns its path.
func (s *sandbox) cacheMetadataFile(name string, imgs []string) string {
	t := s.t
	t.Helper()
	plan := s.ok("", append([]string{"lvm", "activate", "--concise"}, imgs...)...)
	for _, dev := range strings.Split(strings.TrimSpace(plan), ";") {
		f := strings.Split(dev, ",")
		if f[0] != name {
			continue
		}
		var start, lenSectors, offSectors uint64
		var target, path string
		if _, err := fmt.Sscan(f[4], &start, &lenSectors, &target, &path, &offSectors); err != nil || target != "linear" {
			t.Fatalf("%s: table %q", name, f[4])
		}
		img, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(s.dir, name+".meta")
		if err := os.WriteFile(out, img[offSectors*512:(offSectors+lenSectors)*512], 0o600); err != nil {
			t.Fatal(err)
		}
		return out
	}
	t.Fatalf("no device %s in the plan %q", name, plan)
	return ""
}

// TestLvmCacheWriteBack writes into every cache and writecache LV and the thin volume on the
// cached pool data, deactivates, activates again and reads the bytes back; the real
// cache_check passes every cache's metadata after the deactivation, and thin_check the pool's.
func TestLvmCacheWriteBack(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s, lvmCacheImages...)
	activate := append([]string{"lvm", "activate"}, imgs...)
	s.ok("", activate...)
	data := string(dmtest.Random(320 << 10))
	writes := []struct {
		name string
		off  int
	}{{"vg-lv1", 1 << 20}, {"vg-lv2", 3<<20 + 4096}, {"vg-lv3", 64 << 10}, {"vg-lv4", 5 << 20}, {"vg-lv5", 2<<20 + 512}, {"vg-thin1", 6 << 20}}
	for _, w := range writes {
		s.ok(data, "write", w.name, "--offset", strconv.Itoa(w.off))
	}
	s.lvmDeactivate("vg")
	for _, meta := range []string{"vg-cpool1_cpool_cmeta", "vg-cpool2_cpool_cmeta", "vg-cpool3_cpool_cmeta", "vg-cpool6_cpool_cmeta"} {
		dmtest.RunPeer(t, "cache_check", s.cacheMetadataFile(meta, imgs))
	}
	dmtest.RunPeer(t, "thin_check", s.cacheMetadataFile("vg-pool_tmeta", imgs))
	s.ok("", activate...)
	for _, w := range writes {
		if got := s.ok("", "read", w.name, "--offset", strconv.Itoa(w.off), "--length", strconv.Itoa(len(data))); got != data {
			t.Errorf("%s: the bytes written do not read back", w.name)
		}
	}
	s.ok("", "lvm", "deactivate", "vg")
}

// TestLvmCacheReadOnly: dm-cache and dm-writecache write their metadata and caches as they
// start and stop, so a read-only activation refuses them, and the images keep their bytes.
func TestLvmCacheReadOnly(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s, lvmCacheImages...)
	unchanged := imagesUnchanged(t, imgs)
	s.lvmRefused("LV vg/lv1 segment1: dm-cache writes its metadata when it starts and stops, which writes the images: not under a read-only activation",
		append([]string{"activate", "--readonly"}, imgs...)...)
	s.lvmRefused("LV vg/lv5 segment1: dm-writecache writes its cache when it starts and stops",
		append([]string{"activate", "--readonly", "--lv", "vg/lv5"}, imgs...)...)
	s.lvmRefused("LV vg/pool_tdata segment1: dm-cache writes its metadata",
		append([]string{"activate", "--readonly", "--lv", "vg/thin1"}, imgs...)...)
	unchanged()
}

// TestLvmCacheRefusals: a cache LV whose pool is missing, a cache mode or chunk size lvm2 does
// not make, in the images' metadata, are refused with the reason and leave nothing behind.
func TestLvmCacheRefusals(t *testing.T) {
	for _, c := range []struct{ old, new, want string }{
		{`cache_pool = "cpool2_cpool"`, `cache_pool = "cpool2_cpoox"`, "LV vg/lv2 segment1: no LV cpool2_cpoox (its cache pool)"},
		{`cache_mode = "writethrough"`, `cache_mode = "writethrouge"`, `LV vg/lv1 segment1: cache pool cpool1_cpool: cache_mode "writethrouge": writethrough, writeback or passthrough`},
		{`chunk_size = 256`, `chunk_size = 250`, "LV vg/lv2 segment1: cache pool cpool2_cpool: chunk_size 250 sectors: a cache chunk is 64 to 2097152 sectors, a multiple of 64"},
		{`writecache = "fast5_cvol"`, `writecache = "fast5_cvox"`, "LV vg/lv5 segment1: no LV fast5_cvox (its writecache)"},
	} {
		s := newSandbox(t)
		imgs := lvmImages(s, lvmCacheImages...)
		for _, p := range imgs {
			editMetadataText(t, p, c.old, c.new)
		}
		s.lvmRefused(c.want, append([]string{"activate"}, imgs...)...)
	}
}

// TestLvmCacheScan: scan says how each LV is cached.
func TestLvmCacheScan(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s, lvmCacheImages...)
	out := s.ok("", append([]string{"lvm", "scan"}, imgs...)...)
	for _, want := range []string{
		"  LV vg/lv1: 16384 sectors, cache on cache pool cpool1_cpool (writethrough, chunk 128 sectors)\n",
		"  LV vg/lv2: 16384 sectors, cache on cache pool cpool2_cpool (writeback, chunk 256 sectors)\n",
		"  LV vg/lv3: 8192 sectors, cache on cache pool cpool3_cpool (passthrough, chunk 128 sectors)\n",
		"  LV vg/lv4: 16384 sectors, cache on cachevol fast4_cvol (writeback, chunk 128 sectors)\n",
		"  LV vg/lv5: 16384 sectors, writecache on cachevol fast5_cvol (block 4096 bytes)\n",
		"  LV vg/pool: 16384 sectors, thin-pool, data LV pool_tdata: cache on cache pool cpool6_cpool (writeback, chunk 128 sectors)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scan output lacks %q:\n%s", want, out)
		}
	}
}
