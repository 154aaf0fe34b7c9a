package cache_test

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// TestToolsReadWhatWeWrite builds a writeback cache (format 1 and 2) on
// files, promotes blocks with whole-block writes and dirties them, each
// command in a process of its own: after every command the metadata must
// pass cache_check (a process killed between commands leaves it so), and
// after the suspend cache_dump must list the mappings gdmsetup made, dirty
// (format 1; 0.9.0's cache_dump does not read format 2's dirty bitset).
func TestToolsReadWhatWeWrite(t *testing.T) {
	for _, feat := range []string{"1 writeback", "2 metadata2 writeback"} {
		t.Run(strings.Fields(feat)[1], func(t *testing.T) {
			g := dmtest.New(t)
			meta, cdev, origin := files(g)
			g.MustCreate("c", originSectors, "cache", table(meta, cdev, origin, feat+" smq 2 migration_threshold 0")...)
			g.Reopen()
			cacheCheck(t, meta)
			blocks := map[int64][]byte{0: dmtest.Random(64 << 10), 5: dmtest.Random(64 << 10), 100: dmtest.Random(64 << 10)}
			for _, b := range []int64{0, 5, 100} {
				write(t, g, "c", blocks[b], b<<16)
				g.Reopen()
				cacheCheck(t, meta)
			}
			if st := g.Line("c", true); field(t, st, 3) != "3/32" || field(t, st, 9) != "3" || field(t, st, 10) != "3" {
				t.Fatalf("status %q: want 3/32 cache blocks, 3 promotions, 3 dirty", st)
			}
			if err := g.Reg.Suspend("c"); err != nil {
				t.Fatal(err)
			}
			g.Reopen()
			cacheCheck(t, meta)
			dump := dmtest.RunPeer(t, "cache_dump", meta)
			dirty := "true"
			if strings.HasPrefix(feat, "2") {
				dirty = "false"
			}
			for i, b := range []int64{0, 5, 100} {
				want := fmt.Sprintf(`<mapping cache_block="%d" origin_block="%d" dirty="%s"/>`, i, b, dirty)
				if !strings.Contains(dump, want) {
					t.Errorf("cache_dump lacks %s:\n%s", want, dump)
				}
			}
			if !strings.Contains(dump, `policy="smq" hint_width="4"`) {
				t.Errorf("cache_dump: no smq hints:\n%s", dump)
			}
			if err := g.Reg.Resume("c"); err != nil {
				t.Fatal(err)
			}
			for _, b := range []int64{0, 5, 100} {
				if !bytes.Equal(read(t, g, "c", b<<16, 64<<10), blocks[b]) {
					t.Errorf("block %d does not read back", b)
				}
			}
		})
	}
}

// TestLoadsWhatCacheRestoreWrote restores metadata from an XML with
// cache_restore (format 1 and 2): gdmsetup must load its mappings, dirty
// and clean, read mapped blocks from the cache device, and, with the
// cleaner, write the dirty ones back to the origin and nothing else.
func TestLoadsWhatCacheRestoreWrote(t *testing.T) {
	for _, version := range []string{"1", "2"} {
		t.Run("v"+version, func(t *testing.T) {
			g := dmtest.New(t)
			meta, cdev, origin := files(g)
			cacheData := dmtest.Random(2 << 20)
			if err := os.WriteFile(cdev, cacheData, 0o600); err != nil {
				t.Fatal(err)
			}
			originData, _ := os.ReadFile(origin)
			xml := `<superblock uuid="" block_size="128" nr_cache_blocks="32" policy="smq" hint_width="4">
  <mappings>
    <mapping cache_block="0" origin_block="7" dirty="true"/>
    <mapping cache_block="3" origin_block="2" dirty="false"/>
    <mapping cache_block="31" origin_block="120" dirty="true"/>
  </mappings>
</superblock>
`
			xmlPath := g.Path("in.xml")
			if err := os.WriteFile(xmlPath, []byte(xml), 0o600); err != nil {
				t.Fatal(err)
			}
			dmtest.RunPeer(t, "cache_restore", "-i", xmlPath, "-o", meta, "--metadata-version", version)
			feat := "1 writeback"
			if version == "2" {
				feat = "2 metadata2 writeback"
			}
			g.MustCreate("c", originSectors, "cache", table(meta, cdev, origin, feat+" smq 2 migration_threshold 0")...)
			st := g.Line("c", true)
			if field(t, st, 3) != "3/32" || field(t, st, 10) != "2" {
				t.Fatalf("status %q: want 3/32 cache blocks, 2 dirty", st)
			}
			for cb, ob := range map[int64]int64{0: 7, 3: 2, 31: 120} {
				if !bytes.Equal(read(t, g, "c", ob<<16, 64<<10), cacheData[cb<<16:(cb+1)<<16]) {
					t.Errorf("origin block %d does not read from cache block %d", ob, cb)
				}
			}
			if !bytes.Equal(read(t, g, "c", 1<<16, 64<<10), originData[1<<16:2<<16]) {
				t.Error("an unmapped block does not read from the origin")
			}
			if err := g.Reg.Suspend("c"); err != nil {
				t.Fatal(err)
			}
			cleaner := dm.TargetLine{Len: originSectors, Type: "cache", Args: table(meta, cdev, origin, feat+" cleaner 0")}
			if err := g.Reg.Load("c", []dm.TargetLine{cleaner}); err != nil {
				t.Fatal(err)
			}
			g.Reopen()
			if err := g.Reg.Resume("c"); err != nil {
				t.Fatal(err)
			}
			if st := g.Line("c", true); field(t, st, 10) != "0" {
				t.Errorf("status %q: the cleaner left dirty blocks", st)
			}
			cacheCheck(t, meta)
			after, _ := os.ReadFile(origin)
			for ob, want := range map[int64][]byte{7: cacheData[0 : 1<<16], 120: cacheData[31<<16 : 32<<16], 2: originData[2<<16 : 3<<16]} {
				if !bytes.Equal(after[ob<<16:(ob+1)<<16], want) {
					t.Errorf("origin block %d after the cleaner: not what was written back", ob)
				}
			}
			if m := regexp.MustCompile(`<mapping `).FindAllString(dmtest.RunPeer(t, "cache_dump", meta), -1); len(m) != 3 {
				t.Errorf("cache_dump lists %d mappings, want 3", len(m))
			}
		})
	}
}
