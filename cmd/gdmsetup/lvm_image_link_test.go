package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLvmImageLinks activates the images of lvm-oracle.sh under paths a table cannot hold (a
// blank in a directory and in a file name, a backslash, a tab): the tables name symlinks in the
// state directory's images/, scan names the images as given, every LV reads as lvm2 read it,
// and a second activation reuses the links.
func TestLvmImageLinks(t *testing.T) {
	s := newSandbox(t)
	dir := filepath.Join(s.dir, "my disks")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	var imgs []string
	for i, p := range lvmImages(s) {
		to := filepath.Join(dir, []string{"pv 1.img", `pv\2.img`, "gpt\t.img", "mbr.img"}[i])
		if err := os.Rename(p, to); err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, to)
	}
	scan := s.ok("", append([]string{"lvm", "scan"}, imgs...)...)
	for _, p := range imgs[:2] {
		if !strings.Contains(scan, "PV "+p+": ") {
			t.Errorf("scan does not name %q: %q", p, scan)
		}
	}
	activate := append([]string{"lvm", "activate", "--lv", "vg", "--lv", "other-vg"}, imgs...)
	s.ok("", activate...)
	links, err := filepath.Glob(filepath.Join(s.dir, "state", "images", "*.img"))
	if err != nil || len(links) != 4 {
		t.Fatalf("links %q, %v", links, err)
	}
	table := s.ok("", "table")
	for _, l := range links {
		target, err := os.Readlink(l)
		if err != nil || !strings.HasPrefix(target, dir+"/") {
			t.Errorf("%s -> %q, %v", l, target, err)
		}
		if !strings.Contains(table, " "+l+" ") {
			t.Errorf("no table names %s:\n%s", l, table)
		}
	}
	s.sameSHAAsLvm2("paths with blanks", slices.DeleteFunc(lvmOracle(t, "lvm")["sha256"], func(l string) bool { return strings.HasPrefix(l, "vg-snap1 ") }))
	s.ok("", "lvm", "deactivate", "vg", "other-vg")
	s.ok("", activate...)
	if again, _ := filepath.Glob(filepath.Join(s.dir, "state", "images", "*")); len(again) != 4 {
		t.Errorf("second activation: %q", again)
	}
	s.ok("", "lvm", "deactivate", "vg", "other-vg")

	r := s.run("", append([]string{"--dir", filepath.Join(dir, "state")}, activate...)...)
	if r.code == 0 || !strings.Contains(r.stderr, "has a blank or a backslash in its path too: choose another with --dir") {
		t.Errorf("state directory with a blank: exit %d, stderr %q", r.code, r.stderr)
	}
}
