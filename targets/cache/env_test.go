package cache_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	_ "github.com/gdmsetup/gdmsetup/targets/all"
)

// cacheCheck runs cache_check on a metadata file, which must pass.
func cacheCheck(t testing.TB, meta string) { t.Helper(); dmtest.RunPeer(t, "cache_check", meta) }

// files makes the rig's metadata (4 MiB), cache (2 MiB: 32 blocks of 64
// KiB) and origin (8 MiB, random) files.
func files(g *dmtest.Rig) (meta, cdev, origin string) {
	return g.File("meta", 4<<20, false), g.File("cdev", 2<<20, false), g.File("origin", 8<<20, true)
}

const originSectors = 8 << 20 / 512

// table is a cache table's arguments over files with 64 KiB blocks.
func table(meta, cdev, origin, rest string) []string {
	return append([]string{meta, cdev, origin, "128"}, strings.Fields(rest)...)
}

// write writes p through the device at offBytes.
func write(t testing.TB, g *dmtest.Rig, name string, p []byte, offBytes int64) {
	t.Helper()
	if _, err := g.Device(name).WriteAt(p, offBytes); err != nil {
		t.Fatalf("write %s at %d: %v\n%s", name, offBytes, err, g.Klog.String())
	}
}

// read reads n bytes through the device at offBytes.
func read(t testing.TB, g *dmtest.Rig, name string, offBytes int64, n int) []byte {
	t.Helper()
	p := make([]byte, n)
	if _, err := g.Device(name).ReadAt(p, offBytes); err != nil {
		t.Fatalf("read %s at %d: %v\n%s", name, offBytes, err, g.Klog.String())
	}
	return p
}

// field returns the status line's word i (0 is the metadata block size).
func field(t testing.TB, status string, i int) string {
	t.Helper()
	w := strings.Fields(status)
	if i >= len(w) {
		t.Fatalf("status %q has no word %d", status, i)
	}
	return w[i]
}

// gunzip writes testdata/NAME.gz, uncompressed, to path.
func gunzip(t testing.TB, name, path string) {
	t.Helper()
	dmtest.Gunzip(t, filepath.Join("testdata", name+".gz"), path)
}
