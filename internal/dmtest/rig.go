// Package dmtest is what the tests of the core and of the targets share: a
// device-mapper registry in a temporary state directory, reopened at will
// (each gdmsetup command is its own process), with the kernel log kept.
package dmtest

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/dm"
)

// Rig is one test's registry. Reg is open from New until the test ends
// (Reopen closes and opens it again); Klog holds every kernel log line so far.
type Rig struct {
	T     testing.TB
	Dir   string // the state directory
	Files string // a directory for the test's files (File, Path)
	Klog  bytes.Buffer
	Reg   *dm.Registry
}

// New opens a registry in a new temporary state directory, closed when t ends.
func New(t testing.TB) *Rig {
	t.Helper()
	g := &Rig{T: t, Dir: t.TempDir(), Files: t.TempDir()}
	g.Reopen()
	t.Cleanup(func() { g.Reg.Close() })
	return g
}

// Reopen closes the registry (the end of a process) and opens it again.
func (g *Rig) Reopen() {
	g.T.Helper()
	if g.Reg != nil {
		if err := g.Reg.Close(); err != nil {
			g.T.Fatal(err)
		}
	}
	reg, err := dm.Open(g.Dir, &g.Klog)
	if err != nil {
		g.T.Fatal(err)
	}
	g.Reg = reg
}

// Create makes a device whose table is one line "0 LEN TYPE ARGS..." and
// returns the error (nil or a *dm.IoctlError).
func (g *Rig) Create(name string, lenSectors uint64, typ string, args ...string) error {
	return g.Reg.Create(name, "", []dm.TargetLine{{Len: lenSectors, Type: typ, Args: args}}, false)
}

// MustCreate is Create failing the test (with the kernel log) on an error;
// it returns the device.
func (g *Rig) MustCreate(name string, lenSectors uint64, typ string, args ...string) *dm.Device {
	g.T.Helper()
	if err := g.Create(name, lenSectors, typ, args...); err != nil {
		g.T.Fatalf("create %s %s %v: %v\n%s", name, typ, args, err, g.Klog.String())
	}
	d, _ := g.Reg.Lookup(name)
	return d
}

// Line returns the status (status) or table parameters of name's one target.
func (g *Rig) Line(name string, status bool) string {
	g.T.Helper()
	lines, err := g.Reg.Lines(name, false, status)
	if err != nil || len(lines) != 1 {
		g.T.Fatalf("lines of %s: %v %v", name, lines, err)
	}
	return lines[0].Params
}

// Path is the path of the file name in Files.
func (g *Rig) Path(name string) string { return filepath.Join(g.Files, name) }

// File makes the file name in Files, of sizeBytes random bytes or sparse
// (zeros), and returns its path.
func (g *Rig) File(name string, sizeBytes int64, random bool) string {
	g.T.Helper()
	p := g.Path(name)
	if !random {
		return Sparse(g.T, p, sizeBytes)
	}
	if err := os.WriteFile(p, Random(int(sizeBytes)), 0o600); err != nil {
		g.T.Fatal(err)
	}
	return p
}

// Sparse makes (or empties) the file at path as sizeBytes of zeros that
// take no space, and returns path.
func Sparse(t testing.TB, path string, sizeBytes int64) string {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, sizeBytes); err != nil {
		t.Fatal(err)
	}
	return path
}

// Args splits a table's arguments into words, each word naming a file of
// Files replaced by its path.
func (g *Rig) Args(table string) []string { return argsIn(g.Files, table) }

// argsIn splits table into words, each word naming a file of dir replaced
// by its path.
func argsIn(dir, table string) []string {
	words := strings.Fields(table)
	for i, w := range words {
		p := filepath.Join(dir, w)
		if _, err := os.Stat(p); err == nil && !strings.HasPrefix(w, "/") {
			words[i] = p
		}
	}
	return words
}

// Device returns name ready for I/O (its live table built), failing the
// test (with the kernel log) when it cannot be.
func (g *Rig) Device(name string) *dm.Device {
	g.T.Helper()
	d, ok := g.Reg.Lookup(name)
	if !ok {
		g.T.Fatalf("no device %s", name)
	}
	if err := d.Prepare(); err != nil {
		g.T.Fatalf("prepare %s: %v\n%s", name, err, g.Klog.String())
	}
	return d
}

// Random returns n random bytes.
func Random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// Within runs fn and fails the test if it returns an error or has not
// returned in 10 s; why, when not nil, says what was seen by then.
func Within(t testing.TB, what string, fn func() error, why func() string) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(10 * time.Second):
		if why != nil {
			t.Fatalf("%s still waiting after 10 s: %s", what, why())
		}
		t.Fatalf("%s still waiting after 10 s", what)
	}
}
