package logwrites_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// TestKernelLogsThroughTargets: the I/O of testdata/fua2-oracle.sh, each
// `dd oflag=direct,dsync` a FUA write then a flush, through snapshot,
// snapshot-origin, mirror and integrity stacked on log-writes, gives the
// logs Linux 6.1 wrote there (testdata/kernel-fua2-*.log.gz), byte for
// byte. But for snapshot's commits: area_io's REQ_PREFLUSH|REQ_FUA write
// reaches log-writes as an empty flush that keeps REQ_FUA and the area's
// sector (an entry "3:S+0"), then the area's FUA write; gdmsetup's commit
// flushes the COW device as any flush does ("1:0+0"). There the entries
// are compared, that flush entry taken for the kernel's.
func TestKernelLogsThroughTargets(t *testing.T) {
	data := yes("fua-two", 8192)[:4096]
	for _, c := range []struct {
		log    string
		tables []string // created in order over "lw" (log-writes on dev and log), removed in reverse
		top    string   // the device written to
		writes int
		// commitFlush is the kernel's entry for a commit's flush (none:
		// the logs are compared byte for byte)
		commitFlush string
	}{
		{"l1", []string{"s1 snapshot FILE:orig /dev/mapper/lw P 8"}, "s1", 2, "3:8+0"},
		{"l2", []string{"s2 snapshot FILE:orig /dev/mapper/lw P 16"}, "s2", 1, "3:16+0"},
		{"l3", []string{"s3 snapshot /dev/mapper/lw FILE:cow P 8", "o3 snapshot-origin /dev/mapper/lw"}, "o3", 1, ""},
		{"l4", []string{"m4 mirror core 2 64 nosync 2 /dev/mapper/lw 0 FILE:leg 0"}, "m4", 1, ""},
		{"l5", []string{"i5 integrity /dev/mapper/lw 0 4 J 1 internal_hash:crc32c"}, "i5", 1, ""},
		{"l6", []string{"i6 integrity /dev/mapper/lw 0 4 D 1 internal_hash:crc32c"}, "i6", 1, ""},
	} {
		t.Run(c.log, func(t *testing.T) {
			g := newRig(t)
			log := g.File("log", 1<<20, false)
			g.MustCreate("lw", 2048, "log-writes", g.File("dev", 1<<20, false), log)
			var names []string
			for _, tb := range c.tables {
				w := strings.Fields(tb)
				for i, a := range w {
					if f, ok := strings.CutPrefix(a, "FILE:"); ok {
						w[i] = g.File(f, 1<<20, false)
					}
				}
				lenSectors := uint64(2048)
				if w[1] == "integrity" {
					lenSectors = 64
				}
				if err := g.Reg.Create(w[0], "", []dm.TargetLine{{Len: lenSectors, Type: w[1], Args: w[2:]}}, false); err != nil {
					t.Fatalf("%s: %v\n%s", tb, err, g.Klog.String())
				}
				names = append(names, w[0])
			}
			d := g.Device(c.top)
			for i := 0; i < c.writes; i++ {
				if _, err := d.WriteFUA(data, 0); err != nil {
					t.Fatal(err)
				}
				if err := d.Flush(); err != nil {
					t.Fatal(err)
				}
			}
			for i := len(names) - 1; i >= 0; i-- {
				g.remove(names[i])
			}
			g.remove("lw")
			kernelLog := dmtest.Gunzip(t, filepath.Join("testdata", "kernel-fua2-"+c.log+".log.gz"), filepath.Join(t.TempDir(), "kernel.log"))
			_, wantEntries := readLog(t, kernelLog, -1)
			_, gotEntries := readLog(t, log, -1)
			got, want := summary(gotEntries), summary(wantEntries)
			if c.commitFlush != "" {
				got = strings.Replace(got, "1:0+0", c.commitFlush, 1)
			}
			if got != want {
				t.Fatalf("entries %s, the kernel's %s", got, want)
			}
			if c.commitFlush == "" && !bytes.Equal(dmtest.FileBytes(t, log, 0, 1<<20), dmtest.FileBytes(t, kernelLog, 0, 1<<20)) {
				t.Error("the log differs from the kernel's (same entries)")
			}
		})
	}
}

// summary is each entry's flags, sector and length.
func summary(entries []logEntry) string {
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "%d:%d+%d ", e.flags, e.sector, e.lenSectors)
	}
	return b.String()
}
