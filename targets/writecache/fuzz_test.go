package writecache

import (
	"os"
	"strings"
	"testing"
)

// FuzzWritecacheTable builds writecache tables from fuzzed words over a
// zeroed and a formatted cache device: no panic, and a refused table
// leaves the cache device as it was. ORIGIN and CACHE in the words stand
// for the files.
func FuzzWritecacheTable(f *testing.F) {
	for _, s := range []string{
		"s ORIGIN CACHE 4096 0",
		"p ORIGIN CACHE 4096 0",
		"s ORIGIN CACHE 512 4 high_watermark 0 low_watermark 0",
		"s ORIGIN CACHE 4096 2 start_sector 2047",
		"S ORIGIN CACHE 4294971392 2 high_watermark 4294967346",
		"s ORIGIN CACHE 4096 18 start_sector 8 high_watermark 40 low_watermark 30 writeback_jobs 8 autocommit_blocks 20 autocommit_time 100 max_age 1000 cleaner metadata_only",
		"s ORIGIN CACHE 4096 3 pause_writeback 60000 fua",
		"s ORIGIN CACHE 1024 1 cleaner",
		"s CACHE ORIGIN 4096 0",
		"s ORIGIN",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, table string, formatted bool) {
		e := newEnv(t)
		origin, cache := e.Sparse("origin", 1<<20), e.Sparse("cache", 64<<10)
		if formatted {
			w := e.Create(2048, "s "+origin+" "+cache+" 4096 0")
			if err := w.WriteAt(pattern(1, 4096), 8); err != nil {
				t.Fatal(err)
			}
			e.Remove(w)
		}
		before, err := os.ReadFile(cache)
		if err != nil {
			t.Fatal(err)
		}
		words := strings.Fields(strings.NewReplacer("ORIGIN", origin, "CACHE", cache).Replace(table))
		w, err := e.Build(2048, strings.Join(words, " "))
		if err != nil {
			after, _ := os.ReadFile(cache)
			if string(after) != string(before) {
				t.Fatalf("%q refused (%v) but the cache device changed", table, err)
			}
			return
		}
		w.Resume()
		buf := pattern(2, 8192)
		// the data reads back unless the devices overlap
		sane := len(words) > 2 && words[1] == origin && words[2] == cache
		if err := w.WriteAt(buf, 0); err == nil && sane {
			got := make([]byte, len(buf))
			if err := w.ReadAt(got, 0); err != nil || string(got) != string(buf) {
				t.Fatalf("%q: a write does not read back (%v)", table, err)
			}
		}
		w.Status()
		w.Table()
		e.Remove(w)
	})
}
