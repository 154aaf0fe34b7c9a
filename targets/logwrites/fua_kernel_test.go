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

// TestKernelLogsThroughTargets: the I/O of testdata/fua2-oracle.sh and
// fua3-oracle.sh, each `dd oflag=direct,dsync` a FUA write then a flush,
// through targets stacked on log-writes, gives the logs Linux 6.1 wrote
// there (testdata/kernel-fua*-*.log.gz), byte for byte: snapshot's commits
// included, whose REQ_PREFLUSH|REQ_FUA area write reaches log-writes as an
// empty flush that keeps REQ_FUA and the area's sector (an entry "3:S+0"),
// then the area's FUA write.
func TestKernelLogsThroughTargets(t *testing.T) {
	const key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, c := range []struct {
		log  string // testdata/kernel-LOG.log.gz
		word string // the data: `yes WORD`
		// devs are created in order over "lw" (log-writes on dev and
		// log), removed in reverse: "NAME = LINE [; LINE]", FILE:X a file
		devs   []string
		writes int // to the last device
	}{
		{"fua2-l1", "fua-two", []string{"s1 = 0 2048 snapshot FILE:orig /dev/mapper/lw P 8"}, 2},
		{"fua2-l2", "fua-two", []string{"s2 = 0 2048 snapshot FILE:orig /dev/mapper/lw P 16"}, 1},
		{"fua2-l3", "fua-two", []string{"s3 = 0 2048 snapshot /dev/mapper/lw FILE:cow P 8", "o3 = 0 2048 snapshot-origin /dev/mapper/lw"}, 1},
		{"fua2-l4", "fua-two", []string{"m4 = 0 2048 mirror core 2 64 nosync 2 /dev/mapper/lw 0 FILE:leg 0"}, 1},
		{"fua2-l5", "fua-two", []string{"i5 = 0 64 integrity /dev/mapper/lw 0 4 J 1 internal_hash:crc32c"}, 1},
		{"fua2-l6", "fua-two", []string{"i6 = 0 64 integrity /dev/mapper/lw 0 4 D 1 internal_hash:crc32c"}, 1},
		{"fua3-l1", "fua-three", []string{"t1 = 0 1024 switch 1 8 0 /dev/mapper/lw 0"}, 1},
		{"fua3-l2", "fua-three", []string{"t2 = 0 1024 switch 1 8 0 /dev/mapper/lw 0; 1024 1024 linear FILE:other 0"}, 1},
		{"fua3-l3", "fua-three", []string{"t3 = 0 1024 unstriped 2 8 0 /dev/mapper/lw 0"}, 1},
		{"fua3-l4", "fua-three", []string{"t4 = 0 1024 crypt aes-xts-plain64 " + key + " 0 /dev/mapper/lw 0"}, 1},
		{"fua3-l5", "fua-three", []string{"t5 = 0 1024 flakey /dev/mapper/lw 0 3600 0"}, 1},
		{"fua3-l6", "fua-three", []string{"t6 = 0 1024 multipath 2 queue_mode bio 0 1 1 round-robin 0 1 0 /dev/mapper/lw"}, 1},
	} {
		t.Run(c.log, func(t *testing.T) {
			g := newRig(t)
			log := g.File("log", 1<<20, false)
			g.MustCreate("lw", 2048, "log-writes", g.File("dev", 1<<20, false), log)
			var names []string
			for _, spec := range c.devs {
				name, table, _ := strings.Cut(spec, " = ")
				var lines []dm.TargetLine
				for _, line := range strings.Split(table, ";") {
					w := strings.Fields(line)
					for i, a := range w {
						if f, ok := strings.CutPrefix(a, "FILE:"); ok {
							w[i] = g.File(f, 1<<20, false)
						}
					}
					var l dm.TargetLine
					fmt.Sscan(w[0]+" "+w[1], &l.Start, &l.Len)
					l.Type, l.Args = w[2], w[3:]
					lines = append(lines, l)
				}
				if err := g.Reg.Create(name, "", lines, false); err != nil {
					t.Fatalf("%s: %v\n%s", spec, err, g.Klog.String())
				}
				names = append(names, name)
			}
			d := g.Device(names[len(names)-1])
			for i := 0; i < c.writes; i++ {
				if _, err := d.WriteFUA(yes(c.word, 4096), 0); err != nil {
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
			kernelLog := dmtest.Gunzip(t, filepath.Join("testdata", "kernel-"+c.log+".log.gz"), filepath.Join(t.TempDir(), "kernel.log"))
			_, wantEntries := dmtest.ReadLog(t, kernelLog, -1)
			_, gotEntries := dmtest.ReadLog(t, log, -1)
			got, want := dmtest.LogSummary(gotEntries), dmtest.LogSummary(wantEntries)
			if got != want {
				t.Fatalf("entries %s, the kernel's %s", got, want)
			}
			if !bytes.Equal(dmtest.FileBytes(t, log, 0, 1<<20), dmtest.FileBytes(t, kernelLog, 0, 1<<20)) {
				t.Error("the log differs from the kernel's (same entries)")
			}
		})
	}
}
