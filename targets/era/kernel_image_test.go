package era

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// kernelImage writes a copy of testdata/kernel-era-NAME.img.gz (era
// metadata Linux 6.1 wrote for testdata/kernel-era.sh) into e's directory
// and returns its path.
func kernelImage(e *env, name string) string {
	e.T.Helper()
	return dmtest.Gunzip(e.T, filepath.Join("testdata", "kernel-era-"+name+".img.gz"), e.Path("kernel-"+name+".img"))
}

// TestKernelImage opens metadata the kernel wrote (with a metadata snapshot
// held, and without) as testdata/kernel-era.sh reopened its copies: the
// status right after the resume (the era rolled over, its writeset not yet
// digested) and after a write to block 300 must be the kernel's
// (testdata/kernel-era.out), the metadata must pass era_check, and
// era_invalidate must list the kernel's blocks and the new one. Each step
// runs in a process of its own, as gdmsetup's commands do.
func TestKernelImage(t *testing.T) {
	transcript, err := os.ReadFile(filepath.Join("testdata", "kernel-era.out"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name             string
		opened, written  string
		writtenSinceEra1 []string
	}{
		{"snap", "8 22/256 5 80", "8 16/256 5 80", []string{"0", "16-18", "100", "300", "512-516", "700", "1023"}},
		{"nosnap", "8 16/256 4 -", "8 10/256 4 -", []string{"0", "16-18", "100", "300", "512-516", "1023"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			section := strings.SplitAfter(string(transcript), "==================== "+c.name+": the copy reopened")
			for _, st := range []string{c.opened, c.written} {
				if len(section) != 2 || !strings.Contains(section[1], "$ dmsetup status r\n0 8192 era "+st+"\n") {
					t.Fatalf("kernel-era.out has no status %q after reopening %s", st, c.name)
				}
			}
			e := newEnv(t)
			meta, origin := kernelImage(e, c.name), e.Sparse("origin", 4<<20)
			table := fmt.Sprintf("%s %s 8", meta, origin)
			x := e.Create(8192, table)
			step := func() {
				x.waitBackground()
				x = e.Restore(x, x.lenSectors, table)
			}
			step()
			if got := x.Status(); got != c.opened {
				t.Errorf("status after opening %q, the kernel's %q", got, c.opened)
			}
			step()
			if err := x.WriteAt(pattern(1, 4096), 300*8); err != nil {
				t.Fatal(err)
			}
			step()
			if got := x.Status(); got != c.written {
				t.Errorf("status after a write %q, the kernel's %q", got, c.written)
			}
			if err := x.PostSuspend(); err != nil {
				t.Fatal(err)
			}
			if err := x.Close(); err != nil {
				t.Fatal(err)
			}
			eraCheck(t, meta)
			if got := changedSince(t, meta, 1); !slices.Equal(got, c.writtenSinceEra1) {
				t.Errorf("written since era 1: %q, the kernel's %q", got, c.writtenSinceEra1)
			}
			if got := e.TakeLog(); len(got) != 0 {
				t.Errorf("log lines %q", got)
			}
		})
	}
}
