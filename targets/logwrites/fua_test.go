package logwrites_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// yes is `yes WORD | head -c n`.
func yes(word string, n int) []byte {
	return []byte(strings.Repeat(word+"\n", n/(len(word)+1)+1)[:n])
}

// TestKernelLogs: the I/O of testdata/fua-oracle.sh through gdmsetup's
// devices gives logs byte for byte those Linux 6.1 wrote (kernel-fua.log,
// kernel-plain.log), and the statuses its transcript shows. A write with
// O_DIRECT|O_DSYNC is a FUA write then blkdev_fsync's flush: the FUA entry
// goes in at once (the unflushed write before it waits for the flush) and
// rewrites the super.
func TestKernelLogs(t *testing.T) {
	a, b := yes("fua-one", 8192), yes("plain-two", 8192)
	for _, c := range []struct {
		kernelLog string
		dsync     bool
		statuses  []string // after each write, then after the flush (plain only)
	}{
		{"kernel-fua.log", true, []string{"2 10", "2 10", "5 37"}},
		{"kernel-plain.log", false, []string{"0 0", "0 0", "0 0", "4 36"}},
	} {
		t.Run(c.kernelLog, func(t *testing.T) {
			g := newRig(t)
			dev, log := g.File("dev", 1<<20, false), g.File("log", 64<<10, false)
			g.MustCreate("lw", 2048, "log-writes", dev, log)
			d := g.Device("lw")
			for i, w := range []struct {
				p      []byte
				offset int64
				dsync  bool
			}{{a[:4096], 0, c.dsync}, {b[:4096], 8192, false}, {a, 16384, c.dsync}} {
				var err error
				if w.dsync {
					if _, err = d.WriteFUA(w.p, w.offset); err == nil {
						err = d.Flush()
					}
				} else {
					_, err = d.WriteAt(w.p, w.offset)
				}
				if err != nil {
					t.Fatalf("write %d: %v", i, err)
				}
				g.wantStatus("lw", c.statuses[i])
			}
			if !c.dsync {
				g.flush("lw")
				g.wantStatus("lw", c.statuses[3])
			}
			g.remove("lw")
			got, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("testdata", c.kernelLog))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				_, gotEntries := dmtest.ReadLog(t, log, -1)
				t.Errorf("log differs from the kernel's %s; gdmsetup's entries: %+v", c.kernelLog, gotEntries)
			}
		})
	}
}

// TestFUAEntries: a FUA write is logged at once with LOG_FUA_FLAG and the
// super rewritten to count it, ahead of the plain writes still
// unflushed; a FUA write straddling two log-writes lines is one FUA entry
// per line (each line's piece is a FUA bio of its own), each rewriting the
// super of its log.
func TestFUAEntries(t *testing.T) {
	g := newRig(t)
	dev, log := g.File("dev", 1<<20, false), g.File("log", 1<<20, false)
	g.MustCreate("lw", 2048, "log-writes", dev, log)
	d := g.Device("lw")
	plain, fua := pattern(3, 1024), pattern(4, 2048)
	g.write("lw", plain, 0)
	if _, err := d.WriteFUA(fua, 4096); err != nil {
		t.Fatal(err)
	}
	g.wantStatus("lw", "1 5")
	s, got := dmtest.ReadLog(t, log, -1)
	wantSuper(t, s, 1)
	wantEntries(t, got, []dmtest.LogEntry{{AtSector: 1, Sector: 8, LenSectors: 4, Flags: dmtest.LogFUA, Data: fua}})
	if on := dmtest.FileBytes(t, dev, 4096, len(fua)); !bytes.Equal(on, fua) {
		t.Error("the FUA write is not on the device")
	}
	g.flush("lw")
	s, got = dmtest.ReadLog(t, log, 3)
	wantSuper(t, s, 1) // a flush does not rewrite the super
	wantEntries(t, got[1:], []dmtest.LogEntry{
		{AtSector: 6, Sector: 0, LenSectors: 2, Data: plain},
		{AtSector: 9, Flags: dmtest.LogFlush},
	})

	log2, log3 := g.File("log2", 1<<20, false), g.File("log3", 1<<20, false)
	if err := g.Reg.Create("two", "", []dm.TargetLine{
		{Len: 8, Type: "log-writes", Args: []string{dev, log2}},
		{Start: 8, Len: 2040, Type: "log-writes", Args: []string{dev, log3}},
	}, false); err != nil {
		t.Fatal(err)
	}
	both := pattern(5, 4096)
	if _, err := g.Device("two").WriteFUA(both, 2048); err != nil {
		t.Fatal(err)
	}
	for _, l := range []struct {
		path string
		want dmtest.LogEntry
	}{
		{log2, dmtest.LogEntry{AtSector: 1, Sector: 4, LenSectors: 4, Flags: dmtest.LogFUA, Data: both[:2048]}},
		{log3, dmtest.LogEntry{AtSector: 1, Sector: 8, LenSectors: 4, Flags: dmtest.LogFUA, Data: both[2048:]}},
	} {
		s, got = dmtest.ReadLog(t, l.path, -1)
		wantSuper(t, s, 1)
		wantEntries(t, got, []dmtest.LogEntry{l.want})
	}
	g.remove("two")
}

// TestFUAStacked: a FUA write to a linear line over a mapped log-writes
// device reaches it as a FUA write (one FUA entry below, no flush), and
// flushes nothing else: the log-writes line beside it, which the write
// does not touch, keeps its write unflushed (the old whole-device flush
// logged it and a flush entry).
func TestFUAStacked(t *testing.T) {
	g := newRig(t)
	dev, log := g.File("dev", 1<<20, false), g.File("log", 1<<20, false)
	dev2, log2 := g.File("dev2", 1<<20, false), g.File("log2", 1<<20, false)
	g.MustCreate("lw", 2048, "log-writes", dev, log)
	if err := g.Reg.Create("top", "", []dm.TargetLine{
		{Len: 1024, Type: "linear", Args: []string{"/dev/mapper/lw", "16"}},
		{Start: 1024, Len: 1024, Type: "log-writes", Args: []string{dev2, log2}},
	}, false); err != nil {
		t.Fatal(err)
	}
	top := g.Device("top")
	beside, fua := pattern(6, 512), pattern(7, 4096)
	g.write("top", beside, 1024*512)
	if _, err := top.WriteFUA(fua, 4096); err != nil {
		t.Fatal(err)
	}
	g.wantStatus("lw", "1 9")
	s, got := dmtest.ReadLog(t, log, -1)
	wantSuper(t, s, 1)
	wantEntries(t, got, []dmtest.LogEntry{{AtSector: 1, Sector: 24, LenSectors: 8, Flags: dmtest.LogFUA, Data: fua}})
	if lines, err := g.Reg.Lines("top", false, true); err != nil || len(lines) != 2 || lines[1].Params != "0 0" {
		t.Errorf("status of top %v %v: the log-writes line beside the FUA write logged something", lines, err)
	}
	g.flush("top")
	_, got = dmtest.ReadLog(t, log2, 2)
	wantEntries(t, got, []dmtest.LogEntry{{AtSector: 1, Sector: 1024, LenSectors: 1, Data: beside}, {AtSector: 3, Flags: dmtest.LogFlush}})
}

// TestFUAWriteLoggingDisabled: once logging has stopped (the log device
// full), a FUA write still goes to the device and logs nothing.
func TestFUAWriteLoggingDisabled(t *testing.T) {
	g := newRig(t)
	dev, log := g.File("dev", 1<<20, false), g.File("log", 8<<10, false)
	g.MustCreate("lw", 2048, "log-writes", dev, log)
	big := pattern(8, 8192)
	if _, err := g.Device("lw").WriteFUA(big, 0); err != nil {
		t.Fatal(err)
	}
	g.wantStatus("lw", "0 17 logging_disabled")
	p := pattern(9, 4096)
	if _, err := g.Device("lw").WriteFUA(p, 65536); err != nil {
		t.Fatal(err)
	}
	if got := dmtest.FileBytes(t, dev, 65536, len(p)); !bytes.Equal(got, p) {
		t.Error("the FUA write with logging stopped is not on the device")
	}
	g.wantStatus("lw", "0 17 logging_disabled")
}

// TestFUAThroughTargets: a FUA write through each target over a mapped
// log-writes device reaches it as Linux 6.1's target sends it on: as a FUA
// write (one FUA entry below, no flush); clone's and thin's first write to
// a region or block hydrates or provisions it, so their commit then
// flushes the device (a flush entry), and a later FUA write there is a FUA
// write alone.
func TestFUAThroughTargets(t *testing.T) {
	for _, c := range []struct {
		name  string
		table func(g *rig) []string // the line over /dev/mapper/lw, 1024 sectors
		setup func(g *rig)
		// writes are FUA writes of lenBytes at 0, then entries are the
		// log's entries after them
		writes  []int
		entries []string
	}{
		{"linear", func(g *rig) []string { return []string{"linear", "/dev/mapper/lw", "0"} }, nil,
			[]int{4096}, []string{"fua 0+8"}},
		{"striped", func(g *rig) []string {
			return []string{"striped", "2", "8", "/dev/mapper/lw", "0", "/dev/mapper/lw", "1024"}
		}, nil, []int{8192}, []string{"fua 0+8", "fua 1024+8"}},
		{"delay", func(g *rig) []string { return []string{"delay", "/dev/mapper/lw", "0", "0"} }, nil,
			[]int{4096}, []string{"fua 0+8"}},
		{"era", func(g *rig) []string {
			return []string{"era", g.File("meta", 1<<20, false), "/dev/mapper/lw", "128"}
		}, nil, []int{4096}, []string{"fua 0+8"}},
		{"writecache", func(g *rig) []string {
			return []string{"writecache", "s", "/dev/mapper/lw", g.File("cdev", 1<<20, false), "4096", "1", "cleaner"}
		}, nil, []int{4096}, []string{"fua 0+8"}},
		{"cache", func(g *rig) []string {
			return []string{"cache", g.File("meta", 1<<20, false), g.File("cdev", 1<<20, false), "/dev/mapper/lw", "128", "0", "default", "0"}
		}, nil, []int{4096}, []string{"fua 0+8"}},
		{"clone", func(g *rig) []string {
			return []string{"clone", g.File("meta", 1<<20, false), "/dev/mapper/lw", g.File("src", 1<<20, false), "8", "1", "no_hydration"}
		}, nil, []int{4096, 4096}, []string{"fua 0+8", "flush", "fua 0+8"}},
		{"flakey", func(g *rig) []string { return []string{"flakey", "/dev/mapper/lw", "0", "3600", "0"} }, nil,
			[]int{4096}, []string{"fua 0+8"}},
		{"dust", func(g *rig) []string { return []string{"dust", "/dev/mapper/lw", "0", "4096"} }, nil,
			[]int{8192}, []string{"fua 0+8", "fua 8+8"}},
		{"ebs", func(g *rig) []string { return []string{"ebs", "/dev/mapper/lw", "0", "1", "8"} }, nil,
			[]int{4096}, []string{"fua 0+8"}},
		// through the worker and dm-bufio: plain writes (unlogged until a flush), no flush
		{"ebs/partial", func(g *rig) []string { return []string{"ebs", "/dev/mapper/lw", "0", "1", "8"} }, nil,
			[]int{512}, nil},
		{"ebs/superfluous", func(g *rig) []string { return []string{"ebs", "/dev/mapper/lw", "0", "8", "8"} }, nil,
			[]int{4096}, nil},
		{"multipath", func(g *rig) []string {
			return []string{"multipath", "2", "queue_mode", "bio", "0", "1", "1", "round-robin", "0", "1", "0", "/dev/mapper/lw"}
		}, nil, []int{4096}, []string{"fua 0+8"}},
		{"crypt", func(g *rig) []string {
			return []string{"crypt", "aes-xts-plain64", strings.Repeat("0123456789abcdef", 4), "0", "/dev/mapper/lw", "0"}
		}, nil, []int{4096}, []string{"fua 0+8"}},
		{"mirror", func(g *rig) []string {
			return []string{"mirror", "core", "2", "64", "nosync", "2", "/dev/mapper/lw", "0", g.File("leg", 1<<20, false), "0"}
		}, nil, []int{4096}, []string{"fua 0+8"}},
		// a whole chunk: the exception's data (FUA), then the commit (an
		// empty flush that keeps FUA and the area's sector, which logs the
		// new store's header and zeroed area, then the area with FUA); then
		// a write to the exception
		{"snapshot", func(g *rig) []string {
			return []string{"snapshot", g.File("origin", 1<<20, false), "/dev/mapper/lw", "P", "8"}
		}, nil, []int{4096, 4096}, []string{"fua 16+8", "flags 0 0+8", "flags 0 8+8", "flags 3 8+0", "fua 8+8", "fua 16+8"}},
		// part of a chunk: the copy, the commit, then the write (FUA)
		{"snapshot/partial", func(g *rig) []string {
			return []string{"snapshot", g.File("origin", 1<<20, false), "/dev/mapper/lw", "P", "16"}
		}, nil, []int{4096}, []string{"flags 0 0+16", "flags 0 16+16", "flags 0 32+16", "flags 3 16+0", "fua 16+16", "fua 32+8"}},
		// the same through a linear device: linear_map leaves the empty
		// flush's sector as it is
		{"snapshot/linear", func(g *rig) []string {
			return []string{"snapshot", g.File("origin", 1<<20, false), "/dev/mapper/lin", "P", "8"}
		}, func(g *rig) { g.MustCreate("lin", 2048, "linear", "/dev/mapper/lw", "0") },
			[]int{4096, 4096}, []string{"fua 16+8", "flags 0 0+8", "flags 0 8+8", "flags 3 8+0", "fua 8+8", "fua 16+8"}},
		// the snapshot's copy goes to its COW file; the write to lw with FUA
		{"snapshot-origin", func(g *rig) []string { return []string{"snapshot-origin", "/dev/mapper/lw"} }, func(g *rig) {
			g.MustCreate("snap", 2048, "snapshot", "/dev/mapper/lw", g.File("cow", 1<<20, false), "P", "8")
		}, []int{4096}, []string{"fua 0+8"}},
		// a chunk without an exception: to the origin (the COW has none)
		{"snapshot-merge", func(g *rig) []string {
			return []string{"snapshot-merge", "/dev/mapper/lw", g.Path("cow"), "P", "8"}
		}, func(g *rig) {
			g.MustCreate("snap", 2048, "snapshot", "/dev/mapper/lw", g.File("cow", 1<<20, false), "P", "8")
			g.remove("snap")
		}, []int{4096}, []string{"fua 0+8"}},
		// a write straight to the pool: pool_map remaps it, REQ_FUA kept
		{"thin-pool", func(g *rig) []string {
			return []string{"thin-pool", g.File("meta", 1<<20, false), "/dev/mapper/lw", "128", "0"}
		}, nil, []int{4096}, []string{"fua 0+8"}},
		{"thin", func(g *rig) []string { return []string{"thin", "/dev/mapper/pool", "0"} }, func(g *rig) {
			if err := g.Reg.Create("pool", "", []dm.TargetLine{{Len: 2048, Type: "thin-pool",
				Args: []string{g.File("meta", 1<<20, false), "/dev/mapper/lw", "128", "0"}}}, false); err != nil {
				g.T.Fatal(err)
			}
			if err := g.message("pool", "create_thin", "0"); err != nil {
				g.T.Fatal(err)
			}
		}, []int{65536, 4096}, []string{"fua 0+128", "flush", "fua 0+8"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := newRig(t)
			dev, log := g.File("dev", 1<<20, false), g.File("log", 1<<20, false)
			g.MustCreate("lw", 2048, "log-writes", dev, log)
			if c.setup != nil {
				c.setup(g)
			}
			table := c.table(g)
			if err := g.Reg.Create("top", "", []dm.TargetLine{{Len: 1024, Type: table[0], Args: table[1:]}}, false); err != nil {
				t.Fatalf("%v: %v\n%s", table, err, g.Klog.String())
			}
			lines, err := g.Reg.Lines("lw", false, true)
			if err != nil {
				t.Fatal(err)
			}
			var before int
			fmt.Sscan(lines[0].Params, &before) // the setup's own entries (thin-pool's commits flush its data device)
			for _, n := range c.writes {
				if _, err := g.Device("top").WriteFUA(pattern(byte(n), n), 0); err != nil {
					t.Fatalf("FUA write of %d bytes: %v", n, err)
				}
			}
			_, entries := dmtest.ReadLog(t, log, before+len(c.entries))
			var got []string
			for _, e := range entries[before:] {
				switch e.Flags {
				case dmtest.LogFUA:
					got = append(got, fmt.Sprintf("fua %d+%d", e.Sector, e.LenSectors))
				case dmtest.LogFlush:
					got = append(got, "flush")
				default:
					got = append(got, fmt.Sprintf("flags %d %d+%d", e.Flags, e.Sector, e.LenSectors))
				}
			}
			if strings.Join(got, "; ") != strings.Join(c.entries, "; ") {
				t.Errorf("log entries %q, want %q", got, c.entries)
			}
			if lines, err := g.Reg.Lines("lw", false, true); err != nil || !strings.HasPrefix(lines[0].Params, fmt.Sprint(before+len(c.entries), " ")) {
				t.Errorf("status of lw %v %v: want %d entries logged", lines, err, before+len(c.entries))
			}
		})
	}
}

// TestFUAWriteUnaligned: a FUA write not aligned to sectors (an NBD client
// may send one) reads the page-cache block it covers in part and writes it
// whole, as one FUA write: one FUA entry of the whole block.
func TestFUAWriteUnaligned(t *testing.T) {
	g := newRig(t)
	dev, log := g.File("dev", 1<<20, false), g.File("log", 1<<20, false)
	g.MustCreate("lw", 2048, "log-writes", dev, log)
	p := pattern(10, 100)
	if _, err := g.Device("lw").WriteFUA(p, 4096+10); err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 4096)
	copy(want[10:], p)
	_, got := dmtest.ReadLog(t, log, -1)
	wantEntries(t, got, []dmtest.LogEntry{{AtSector: 1, Sector: 8, LenSectors: 8, Flags: dmtest.LogFUA, Data: want}})
}

// TestFUANoFlushBios: switch and unstriped take no flush bios, so a table
// of them alone has no write cache and the block layer clears REQ_FUA: a
// FUA write through one reaches the log-writes device below as a plain
// write (unlogged until a flush, and the table's flush sends none). Beside
// a line that takes flushes (linear) the device has a write cache, and the
// FUA write reaches the log-writes device with REQ_FUA (one FUA entry).
func TestFUANoFlushBios(t *testing.T) {
	for _, c := range []struct {
		name string
		line []string // over /dev/mapper/lw, 1024 sectors
	}{
		{"switch", []string{"switch", "1", "8", "0", "/dev/mapper/lw", "0"}},
		{"unstriped", []string{"unstriped", "2", "8", "0", "/dev/mapper/lw", "0"}},
	} {
		// beside a target that takes flush bios (linear) the table has a
		// write cache; beside one that takes none (zero, error) it has not
		for _, beside := range []string{"", "linear", "zero", "error"} {
			name, want := c.name+"/alone", "0 0"
			if beside != "" {
				name = c.name + "/beside-" + beside
			}
			if beside == "linear" {
				want = "1 9"
			}
			t.Run(name, func(t *testing.T) {
				g := newRig(t)
				g.MustCreate("lw", 2048, "log-writes", g.File("dev", 1<<20, false), g.File("log", 1<<20, false))
				lines := []dm.TargetLine{{Len: 1024, Type: c.line[0], Args: c.line[1:]}}
				switch beside {
				case "linear":
					lines = append(lines, dm.TargetLine{Start: 1024, Len: 1024, Type: "linear", Args: []string{g.File("other", 1<<20, false), "0"}})
				case "zero", "error":
					lines = append(lines, dm.TargetLine{Start: 1024, Len: 1024, Type: beside})
				}
				if err := g.Reg.Create("top", "", lines, false); err != nil {
					t.Fatalf("%v: %v\n%s", lines, err, g.Klog.String())
				}
				if _, err := g.Device("top").WriteFUA(pattern(11, 4096), 0); err != nil {
					t.Fatal(err)
				}
				g.flush("top")
				g.wantStatus("lw", want)
			})
		}
	}
}
