package raid_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	_ "github.com/gdmsetup/gdmsetup/targets/all"
)

// TestKernelFUALogs: the I/O of testdata/fua-oracle.sh (a raid1 set of two
// legs, a raid5_ls set of three members, nosync, every member's metadata
// and data device a log-writes device: a plain write, `dd
// oflag=direct,dsync`, removal) gives the data devices the logs Linux 6.1
// wrote there (testdata/kernel-fua-*.log.gz), entry by entry and byte for
// byte: the plain write, the FUA write with REQ_FUA on each leg (raid1) or
// on the row's data and parity (raid5), the flush sent to every member.
// The metadata devices' logs are compared as wantMetaLog says.
func TestKernelFUALogs(t *testing.T) {
	for _, c := range []struct {
		set     string // the oracle's set number
		members string
		table   string // "LEN TYPE PARAMS...", the devices appended
	}{
		{"1", "ab", "2048 raid raid1 4 0 nosync region_size 1024 2"},
		{"5", "abc", "4096 raid raid5_ls 4 128 nosync region_size 1024 3"},
	} {
		t.Run("raid"+c.set, func(t *testing.T) {
			g := dmtest.New(t)
			table := strings.Fields(c.table)
			var logs []string
			for _, m := range c.members {
				for _, k := range "md" {
					name := fmt.Sprintf("l%s%c%c", c.set, k, m)
					log := g.File(name, 2<<20, false)
					dev := fmt.Sprintf("w%s%c%c", c.set, k, m)
					g.MustCreate(dev, 2048, "log-writes", g.File("r"+name[1:], 1<<20, false), log)
					table = append(table, "/dev/mapper/"+dev)
					logs = append(logs, name)
				}
			}
			var lenSectors uint64
			fmt.Sscan(table[0], &lenSectors)
			g.MustCreate("r", lenSectors, table[1], table[2:]...)
			d := g.Device("r")
			if _, err := d.WriteAt(bytes.Repeat([]byte("raid-plain\n"), 373)[:4096], 4096); err != nil {
				t.Fatal(err)
			}
			if _, err := d.WriteFUA(bytes.Repeat([]byte("raid-fua\n"), 456)[:4096], 8192); err != nil {
				t.Fatal(err)
			}
			if err := d.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := g.Reg.Remove("r"); err != nil {
				t.Fatal(err)
			}
			for _, name := range logs {
				dev := "w" + name[1:]
				if err := g.Reg.Remove(dev); err != nil {
					t.Fatal(err)
				}
				kernel := dmtest.Gunzip(t, filepath.Join("testdata", "kernel-fua-"+name+".log.gz"), filepath.Join(t.TempDir(), name))
				_, want := dmtest.ReadLog(t, kernel, -1)
				_, got := dmtest.ReadLog(t, g.Path(name), -1)
				if name[2] == 'd' {
					wantDataLog(t, name, got, want)
				} else {
					wantMetaLog(t, name, got, want)
				}
			}
		})
	}
}

// wantDataLog: a data device's log is the kernel's, entry by entry (flags,
// sector, length) and the data of each write, but for the flushes gdmsetup
// sends every member as the set stops (see quiesce; md sends none): an
// empty flush right after another changes nothing, so both logs are
// compared without those.
func wantDataLog(t *testing.T, name string, got, want []dmtest.LogEntry) {
	t.Helper()
	got, want = withoutRepeatedFlushes(got), withoutRepeatedFlushes(want)
	if dmtest.LogSummary(got) != dmtest.LogSummary(want) {
		t.Fatalf("%s: entries %s, the kernel's %s", name, dmtest.LogSummary(got), dmtest.LogSummary(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].Data, want[i].Data) {
			t.Errorf("%s: entry %d (%d:%d+%d): data differs from the kernel's", name, i, want[i].Flags, want[i].Sector, want[i].LenSectors)
		}
	}
}

// wantMetaLog: every write to a metadata device is md_super_write's, as
// the kernel's are: a REQ_PREFLUSH|REQ_FUA write (an empty flush keeping
// FUA and the write's sector, then the write with FUA) of the superblock
// (sector 0) or the bitmap's page (sector 8), one sector each (md
// writes to both metadata devices at once: two flushes may come before
// their writes), the log
// ending with log-writes' mark; and the last superblock and bitmap page
// written are the kernel's, but for the bitmap's events_cleared (bytes
// 32-39 of the page: 6.1's raid1 leaves 2, the events before the set's
// first run; gdmsetup the last events). Not compared:
//   - LOG_METADATA_FLAG: md's writes carry REQ_META, which gdmsetup's
//     targets are not told of (their entries are 19 and 18, gdmsetup's 3
//     and 2);
//   - how many writes, and their events: md writes a new set's bitmap
//     stale and full (nosync then clears it at its first resume), a
//     raid5 write makes the set dirty (superblocks with events+1) and the
//     safemode timer clean again (events-1), and at the removal
//     md_bitmap_flush runs the bitmap daemon three times; the daemon's
//     own runs (every daemon_sleep, 5 s) clear bits at times of their own.
//     gdmsetup writes a new set's bitmap clear, sets and clears bits as
//     its writes and flushes go, and writes the superblocks at the
//     removal.
func wantMetaLog(t *testing.T, name string, got, want []dmtest.LogEntry) {
	t.Helper()
	last := map[uint64][2][]byte{}
	for _, c := range []struct {
		who     string
		entries []dmtest.LogEntry
	}{{"gdmsetup", got}, {"the kernel", want}} {
		n := len(c.entries)
		if n == 0 || c.entries[n-1].Flags != dmtest.LogMark {
			t.Fatalf("%s: %s's log does not end with a mark: %s", name, c.who, dmtest.LogSummary(c.entries))
		}
		pending := map[uint64]int{} // empty flushes not yet followed by their write
		for i, e := range c.entries[:n-1] {
			switch e.Flags &^ dmtest.LogMetadata {
			case dmtest.LogFlush | dmtest.LogFUA:
				if e.LenSectors != 0 {
					t.Fatalf("%s: %s's entry %d: a flush of %d sectors", name, c.who, i, e.LenSectors)
				}
				pending[e.Sector]++
				continue
			case dmtest.LogFUA:
			default:
				t.Fatalf("%s: %s's entry %d is no md_super_write's: %s", name, c.who, i, dmtest.LogSummary(c.entries))
			}
			if pending[e.Sector] == 0 || e.LenSectors != 1 || e.Sector != 0 && e.Sector != 8 {
				t.Fatalf("%s: %s's entry %d is no md_super_write's: %s", name, c.who, i, dmtest.LogSummary(c.entries))
			}
			pending[e.Sector]--
			l := last[e.Sector]
			if c.who == "gdmsetup" {
				l[0] = e.Data
			} else {
				l[1] = e.Data
			}
			last[e.Sector] = l
		}
		for sector, k := range pending {
			if k != 0 {
				t.Fatalf("%s: %s's log: a flush at sector %d without its write: %s", name, c.who, sector, dmtest.LogSummary(c.entries))
			}
		}
	}
	for sector, l := range last {
		g, k := bytes.Clone(l[0]), bytes.Clone(l[1])
		if sector == 8 {
			clear(g[32:40])
			clear(k[32:40])
		}
		if !bytes.Equal(g, k) {
			t.Errorf("%s: the last write at sector %d differs from the kernel's:\n%x\n%x", name, sector, l[0], l[1])
		}
	}
}

// withoutRepeatedFlushes drops each empty flush entry that follows another.
func withoutRepeatedFlushes(entries []dmtest.LogEntry) []dmtest.LogEntry {
	var out []dmtest.LogEntry
	for _, e := range entries {
		if n := len(out); n > 0 && e.Flags == dmtest.LogFlush && e.LenSectors == 0 &&
			out[n-1].Flags == dmtest.LogFlush && out[n-1].LenSectors == 0 {
			continue
		}
		out = append(out, e)
	}
	return out
}
