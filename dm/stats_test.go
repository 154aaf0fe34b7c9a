package dm_test

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// statsRig is a device "s" of two linear targets over real files, split at
// sector 8190 (not a page boundary), 16384 sectors in all.
func statsRig(t *testing.T) *dmtest.Rig {
	g := dmtest.New(t)
	a, b := g.File("a", 8<<20, false), g.File("b", 8<<20, false)
	if err := g.Reg.Create("s", "", []dm.TargetLine{
		{Start: 0, Len: 8190, Type: "linear", Args: []string{a, "0"}},
		{Start: 8190, Len: 8194, Type: "linear", Args: []string{b, "0"}},
	}, false); err != nil {
		t.Fatal(err)
	}
	return g
}

// msg sends a core message to "s" and returns its reply, failing on an error.
func msg(t *testing.T, g *dmtest.Rig, words string) string {
	t.Helper()
	reply, err := g.Reg.Message("s", 0, strings.Fields(words))
	if err != nil {
		t.Fatalf("%s: %v\n%s", words, err, g.Klog.String())
	}
	return reply
}

// counts returns the counts (reads merges sectors, writes merges sectors,
// in flight) of each area of region id, one "r/m/s w/m/s f" per area.
func counts(t *testing.T, g *dmtest.Rig, id int) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(msg(t, g, fmt.Sprintf("@stats_print %d", id))), "\n") {
		f := strings.Fields(line)
		out = append(out, fmt.Sprintf("%s/%s/%s %s/%s/%s %s", f[1], f[2], f[3], f[5], f[6], f[7], f[9]))
	}
	return out
}

func TestStatsRegionsAndMessages(t *testing.T) {
	g := statsRig(t)
	if got := msg(t, g, "@stats_list"); got != "" {
		t.Fatalf("list with no region: %q", got)
	}
	for i, c := range []struct{ words, reply string }{
		{"@stats_create - /4", "0"},
		{"@stats_create 0+2048 512 1 precise_timestamps prog aux", "1"},
		{"@stats_create 1000+100 1000 2 histogram:10,200 PRECISE_TIMESTAMPS", "2"},
		{"@stats_delete 1", ""},
		{"@stats_create 5+16 /3 other", "1"},
		{"@stats_create 0+1 1 0 numbered", "3"},
		{"@stats_set_aux 1 newaux", ""},
	} {
		if got := msg(t, g, c.words); got != c.reply {
			t.Errorf("%d %s: reply %q, want %q", i, c.words, got, c.reply)
		}
	}
	want := "0: 0+16384 4096 - -\n1: 5+16 6 other newaux\n2: 1000+100 1000 - - precise_timestamps histogram:10,200\n3: 0+1 1 numbered -\n"
	if got := msg(t, g, "@STATS_LIST"); got != want {
		t.Errorf("list:\n%s\nwant:\n%s", got, want)
	}
	if got := msg(t, g, "@stats_list numbered"); got != "3: 0+1 1 numbered -\n" {
		t.Errorf("list of a program: %q", got)
	}
	if got := msg(t, g, "@stats_print 1 1 5"); got != "11+6 0 0 0 0 0 0 0 0 0 0 0 0 0\n17+6 0 0 0 0 0 0 0 0 0 0 0 0 0\n" {
		t.Errorf("print of areas 1 on: %q", got)
	}
	if got := msg(t, g, "@stats_print 2"); got != "1000+1000 0 0 0 0 0 0 0 0 0 0 0 0 0 0:0:0\n" {
		t.Errorf("print with a histogram: %q", got)
	}
	if got := msg(t, g, "@stats_print 0 9 -"); got != "" {
		t.Errorf("print past the last area: %q", got)
	}
}

func TestStatsBadMessages(t *testing.T) {
	g := statsRig(t)
	msg(t, g, "@stats_create - /4")
	for _, c := range []struct {
		words string
		errno syscall.Errno
	}{
		{"@stats_create", syscall.EINVAL},
		{"@stats_create -", syscall.EINVAL},
		{"@stats_create 0+0 1", syscall.EINVAL},
		{"@stats_create 5+x 1", syscall.EINVAL},
		{"@stats_create +5+1 1", syscall.EINVAL},
		{"@stats_create - 0", syscall.EINVAL},
		{"@stats_create - /0", syscall.EINVAL},
		{"@stats_create - 8 1 bogus", syscall.EINVAL},
		{"@stats_create - 8 1 histogram:5,5", syscall.EINVAL},
		{"@stats_create - 8 1 histogram:", syscall.EINVAL},
		{"@stats_create - 8 2 histogram:1 histogram:2", syscall.EINVAL},
		{"@stats_create - 8 2 precise_timestamps", syscall.EINVAL},
		{"@stats_create 5+5 8 p a extra", syscall.EINVAL},
		{"@stats_create 0+18446744073709551615 1", syscall.EOVERFLOW},
		{"@stats_create 0+1099511627776 1", syscall.ENOMEM},
		{"@stats_delete 9", syscall.ENOENT},
		{"@stats_delete -1", syscall.EINVAL},
		{"@stats_delete", syscall.EINVAL},
		{"@stats_clear 9", syscall.ENOENT},
		{"@stats_print 9", syscall.ENOENT},
		{"@stats_print 0 1", syscall.EINVAL},
		{"@stats_print 0 x 1", syscall.EINVAL},
		{"@stats_set_aux 0", syscall.EINVAL},
		{"@stats_set_aux 9 a", syscall.ENOENT},
		{"@stats_list a b", syscall.EINVAL},
		{"@stats_frob", syscall.EINVAL},
	} {
		g.Klog.Reset()
		_, err := g.Reg.Message("s", 0, strings.Fields(c.words))
		if !errors.Is(err, c.errno) {
			t.Errorf("%s: %v, want %v", c.words, err, c.errno)
		}
		verb := strings.Fields(c.words)[0]
		wantLog := ""
		switch {
		case verb == "@stats_frob":
			wantLog = "device-mapper: ioctl: Unsupported message sent to DM core: @stats_frob\n"
		case c.errno == syscall.EINVAL:
			wantLog = "device-mapper: stats: Invalid parameters for message " + verb + "\n"
		}
		if g.Klog.String() != wantLog {
			t.Errorf("%s: kernel log %q, want %q", c.words, g.Klog.String(), wantLog)
		}
	}
	if got := msg(t, g, "@stats_list"); got != "0: 0+16384 4096 - -\n" {
		t.Errorf("failed messages changed the regions: %q", got)
	}
}

// TestStatsCountsRealIO: reads, writes, discards and write-zeroes through
// real files, counted per area; an I/O split at the target boundary is two
// I/Os, the second merged; counts outlive the process, a reload keeps
// them, clear and print_clear zero them, delete and remove end them.
func TestStatsCountsRealIO(t *testing.T) {
	g := statsRig(t)
	msg(t, g, "@stats_create - 4096")
	msg(t, g, "@stats_create 5+16 /3")
	d := g.Device("s")
	io := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err := d.ReadAt(make([]byte, 4096), 0)
	io("read 0", err)
	_, err = d.ReadAt(make([]byte, 1<<20), 1<<20)
	io("read 1M", err)
	_, err = d.WriteAt(make([]byte, 8192), 8192)
	io("write 8K", err)
	_, err = d.ReadAt(make([]byte, 4096), 4190208)
	io("read across the boundary", err)
	io("discard", d.Discard(6<<20, 64<<10))
	io("write zeroes", d.WriteZeroes(7<<20, 4096, true))
	io("flush", d.Flush())
	want := []string{"2/0/2056 1/0/16 0", "2/1/8 0/0/0 0", "0/0/0 0/0/0 0", "0/0/0 2/0/136 0"}
	if got := counts(t, g, 0); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("region 0: %q, want %q", got, want)
	}
	want1 := []string{"1/0/3 0/0/0 0", "0/0/0 1/0/1 0", "0/0/0 1/0/4 0"}
	if got := counts(t, g, 1); fmt.Sprint(got) != fmt.Sprint(want1) {
		t.Errorf("region 1: %q, want %q", got, want1)
	}

	g.Reopen()
	if got := counts(t, g, 0); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("region 0 in the next process: %q, want %q", got, want)
	}
	// the last I/O (write zeroes, 8 sectors at 14336) is remembered: a
	// write starting where it ended is a merge
	_, err = g.Device("s").WriteAt(make([]byte, 512), 14344*512)
	io("write after the write zeroes", err)
	if got := counts(t, g, 0)[3]; got != "0/0/0 3/1/137 0" {
		t.Errorf("merge across processes: %q", got)
	}

	if err := g.Reg.Load("s", []dm.TargetLine{{Len: 16384, Type: "linear", Args: []string{g.Path("b"), "0"}}}); err != nil {
		t.Fatal(err)
	}
	if err := g.Reg.Resume("s"); err != nil {
		t.Fatal(err)
	}
	if got := counts(t, g, 0)[0]; got != "2/0/2056 1/0/16 0" {
		t.Errorf("after a reload: %q", got)
	}
	msg(t, g, "@stats_print_clear 0 0 1")
	if got := counts(t, g, 0); got[0] != "0/0/0 0/0/0 0" || got[1] != "2/1/8 0/0/0 0" {
		t.Errorf("after print_clear of area 0: %q", got)
	}
	msg(t, g, "@stats_clear 0")
	if got := counts(t, g, 0); got[1] != "0/0/0 0/0/0 0" {
		t.Errorf("after clear: %q", got)
	}
	msg(t, g, "@stats_delete 0")
	msg(t, g, "@stats_delete 1")
	if got := msg(t, g, "@stats_create - /1"); got != "0" {
		t.Errorf("id after deletes: %q", got)
	}
	if err := g.Reg.Remove("s"); err != nil {
		t.Fatal(err)
	}
	statsRig(t)
}

func TestStatsNoTableAndHistogram(t *testing.T) {
	g := dmtest.New(t)
	if err := g.Reg.Create("s", "", nil, false); err != nil {
		t.Fatal(err)
	}
	if got := msg(t, g, "@stats_create - 1"); got != "0" {
		t.Fatalf("create on a device without a table: %q", got)
	}
	if got := msg(t, g, "@stats_list"); got != "0: 0+1 1 - -\n" {
		t.Errorf("region of a device without a table: %q", got)
	}
}

// FuzzStatsMessage: no message, however malformed, panics or leaves the
// regions other than a successful one would.
func FuzzStatsMessage(f *testing.F) {
	for _, s := range []string{"@stats_create - /4", "@stats_create 1+2 3 2 precise_timestamps histogram:1,2 p a",
		"@stats_print 0 - 5", "@stats_print_clear 0 1 1", "@stats_delete 0", "@stats_set_aux 0 x", "@stats_list p",
		"@stats_create 18446744073709551615+1 1", "@stats_create 0+5 /4294967296", "@stats_clear 2147483648"} {
		f.Add(s)
	}
	g := dmtest.New(f)
	a := g.File("a", 1<<20, false)
	if err := g.Reg.Create("s", "", []dm.TargetLine{{Len: 2048, Type: "linear", Args: []string{a, "0"}}}, false); err != nil {
		f.Fatal(err)
	}
	d := g.Device("s")
	f.Fuzz(func(t *testing.T, words string) {
		args := strings.Fields(words)
		if len(args) == 0 {
			return
		}
		args[0] = "@stats_" + strings.TrimPrefix(args[0], "@stats_")
		g.Reg.Message("s", 0, args)
		d.ReadAt(make([]byte, 4096), 0)
		list, err := g.Reg.Message("s", 0, []string{"@stats_list"})
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(list, "\n"); n > 4 {
			for i := range n {
				g.Reg.Message("s", 0, []string{"@stats_delete", fmt.Sprint(i)})
			}
		}
		// a region may reach far past the device (as in the kernel); one
		// of millions of areas would make every later print take seconds
		for _, l := range strings.Split(list, "\n") {
			var id, start, lenSectors, step uint64
			if n, _ := fmt.Sscanf(l, "%d: %d+%d %d", &id, &start, &lenSectors, &step); n == 4 && step > 0 && lenSectors/step > 1<<16 {
				g.Reg.Message("s", 0, []string{"@stats_delete", fmt.Sprint(id)})
			}
		}
	})
}

// BenchmarkStatsRead: 4 KiB reads through a linear device over a file
// with no region (the cost is a nil check) and with one region of 1000
// areas.
func BenchmarkStatsRead(b *testing.B) {
	for _, c := range []struct{ name, create string }{{"no-region", ""}, {"1000-areas", "@stats_create - /1000"}} {
		b.Run(c.name, func(b *testing.B) {
			g := dmtest.New(b)
			a := g.File("a", 64<<20, false)
			if err := g.Reg.Create("s", "", []dm.TargetLine{{Len: 131072, Type: "linear", Args: []string{a, "0"}}}, false); err != nil {
				b.Fatal(err)
			}
			if c.create != "" {
				if _, err := g.Reg.Message("s", 0, strings.Fields(c.create)); err != nil {
					b.Fatal(err)
				}
			}
			d := g.Device("s")
			buf := make([]byte, 4096)
			b.SetBytes(4096)
			b.ResetTimer()
			for i := range b.N {
				if _, err := d.ReadAt(buf, int64(i%16384)*4096); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStatsPrint: @stats_print of a region of 65536 one-sector areas
// with a histogram, as `dmstats report` asks for it.
func BenchmarkStatsPrint(b *testing.B) {
	g := dmtest.New(b)
	a := g.File("a", 32<<20, false)
	if err := g.Reg.Create("s", "", []dm.TargetLine{{Len: 65536, Type: "linear", Args: []string{a, "0"}}}, false); err != nil {
		b.Fatal(err)
	}
	if _, err := g.Reg.Message("s", 0, strings.Fields("@stats_create - /65536 histogram:1,10,100")); err != nil {
		b.Fatal(err)
	}
	if _, err := g.Device("s").ReadAt(make([]byte, 1<<20), 0); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		out, err := g.Reg.Message("s", 0, []string{"@stats_print", "0"})
		if err != nil || strings.Count(out, "\n") != 65536 {
			b.Fatalf("print: %d lines, %v", strings.Count(out, "\n"), err)
		}
	}
}
