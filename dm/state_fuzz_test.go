package dm_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// fuzzDirMark stands in the fuzzed state files for the directory of the
// devices' files, which each input gets a copy of.
const fuzzDirMark = "@DIR@"

// fuzzStateFiles are the files the seed's tables use, and their sizes.
var fuzzStateFiles = map[string]int64{"data": 1 << 20, "meta": 1 << 20, "cdev": 1 << 20, "emeta": 1 << 20, "wcache": 256 << 10, "cow": 1 << 20, "log": 1 << 20}

// fuzzStateSeed is the state file of a registry holding a device of each
// type whose tables save state between processes (dust with bad blocks,
// switch with its region mappings, cache, era, writecache, a snapshot,
// log-writes with a mark), live and suspended, with one inactive table,
// its files' directory replaced by fuzzDirMark; and the files' contents
// it left.
func fuzzStateSeed(t testing.TB) (doc string, files map[string][]byte) {
	g := dmtest.New(t)
	for name, size := range fuzzStateFiles {
		g.File(name, size, false)
	}
	p := func(name string) string { return g.Path(name) }
	for _, c := range []struct {
		name, typ  string
		lenSectors uint64
		args       []string
		message    []string
	}{
		{"lin", "linear", 1024, []string{p("data"), "0"}, nil},
		{"du", "dust", 1024, []string{p("data"), "0", "512"}, []string{"addbadblock", "3"}},
		{"sw", "switch", 1024, []string{"2", "128", "0", p("data"), "0", p("data"), "1024"}, []string{"set_region_mappings", "1:1", "3:0"}},
		{"ca", "cache", 2048, []string{p("meta"), p("cdev"), p("data"), "128", "1", "writeback", "smq", "0"}, nil},
		{"er", "era", 2048, []string{p("emeta"), p("data"), "8"}, []string{"checkpoint"}},
		{"wc", "writecache", 2048, []string{"s", p("data"), p("wcache"), "4096", "0"}, nil},
		{"sn", "snapshot", 2048, []string{p("data"), p("cow"), "P", "8"}, nil},
		{"lw", "log-writes", 2048, []string{p("data"), p("log")}, []string{"mark", "m1"}},
	} {
		g.MustCreate(c.name, c.lenSectors, c.typ, c.args...)
		d := g.Device(c.name)
		d.WriteAt(bytes.Repeat([]byte{7}, 8192), 4096)
		if c.message != nil {
			if _, err := g.Reg.Message(c.name, 0, c.message); err != nil {
				t.Fatalf("message %v to %s: %v", c.message, c.name, err)
			}
		}
	}
	if err := g.Reg.Suspend("du"); err != nil {
		t.Fatal(err)
	}
	if err := g.Reg.Load("lin", []dm.TargetLine{{Len: 512, Type: "error"}}); err != nil {
		t.Fatal(err)
	}
	g.Reopen()
	raw, err := os.ReadFile(filepath.Join(g.Dir, "devices.json"))
	if err != nil {
		t.Fatal(err)
	}
	files = map[string][]byte{}
	for name := range fuzzStateFiles {
		if files[name], err = os.ReadFile(p(name)); err != nil {
			t.Fatal(err)
		}
	}
	return strings.ReplaceAll(string(raw), g.Files, fuzzDirMark), files
}

// FuzzRegistryState opens a registry whose state file is fuzzed (the
// devices, their tables and the state their targets saved) over a fresh
// copy of the files the seed's devices left, then builds every device, reads them (when
// none is suspended), takes their status and closes it: no panic, no hang, and a state file the
// registry refuses is named in its error.
func FuzzRegistryState(f *testing.F) {
	seed, contents := fuzzStateSeed(f)
	f.Add(seed)
	f.Add(strings.ReplaceAll(seed, `"suspended": true,`, ""))
	f.Add(strings.ReplaceAll(seed, `"saved":"`, `"saved":"x`))
	f.Add(`{"devices":[{"name":"a","minor":0,"live":{"targets":[{"start":0,"len":8,"type":"zero","args":[]}]}},{"name":"a","minor":0}]}`)
	f.Add(`{"devices":[{"name":"b","minor":3,"live":{"targets":[{"start":5,"len":18446744073709551615,"type":"linear","args":["@DIR@/data","0"]}]}}]}`)
	f.Add(`{"devices":[`)
	f.Fuzz(func(t *testing.T, doc string) {
		files := t.TempDir()
		for name, b := range contents {
			if err := os.WriteFile(filepath.Join(files, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "devices.json"), []byte(strings.ReplaceAll(doc, fuzzDirMark, files)), 0o600); err != nil {
			t.Fatal(err)
		}
		dmtest.Within(t, "a registry over a fuzzed state file", func() error {
			reg, err := dm.Open(dir, io.Discard)
			if err != nil {
				if !strings.Contains(err.Error(), filepath.Join(dir, "devices.json")) {
					t.Errorf("the refusal does not name the state file: %v", err)
				}
				return nil
			}
			// I/O through a suspended device waits for its resume, and
			// so does I/O through a table over it
			suspended := false
			for _, d := range reg.Devices() {
				suspended = suspended || d.Suspended()
			}
			buf := make([]byte, 4096)
			for _, d := range reg.Devices() {
				if d.Prepare() == nil && !suspended && !d.MayWait() {
					d.ReadAt(buf, 0)
				}
				reg.Lines(d.Name(), false, true)
				reg.Lines(d.Name(), true, false)
			}
			reg.Close()
			return nil
		}, nil)
	})
}
