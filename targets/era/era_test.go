package era

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/gdmsetup/gdmsetup/targets"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

func TestCtrErrors(t *testing.T) {
	e := newEnv(t)
	meta, data := e.Sparse("meta", 4<<20), e.Sparse("data", 64<<20)
	missing := e.Dir + "/missing"
	e.Create(1024, fmt.Sprintf("%s %s 128", meta, data)).Close()
	junk := e.Sparse("junk", 1<<20)
	if err := os.WriteFile(junk, pattern(1, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		table, msg string
		errno      syscall.Errno
		log        []string
	}{
		{meta + " " + data, "Invalid argument count", syscall.EINVAL, nil},
		{meta + " " + data + " 8 x", "Invalid argument count", syscall.EINVAL, nil},
		{missing + " " + data + " 8", "Error opening metadata device", syscall.EINVAL, nil},
		{meta + " " + missing + " 8", "Error opening data device", syscall.EINVAL, nil},
		{meta + " " + data + " x8", "Error parsing block size", syscall.EINVAL, nil},
		{meta + " " + data + " +8", "Error parsing block size", syscall.EINVAL, nil},
		{meta + " " + data + " 0", "Invalid block size", syscall.EINVAL, nil},
		{meta + " " + data + " 12", "Invalid block size", syscall.EINVAL, nil},
		{meta + " " + data + " 256", "Error reading metadata", syscall.EINVAL,
			[]string{"device-mapper: era: changing the data block size (from 128 to 256) is not supported"}},
		{junk + " " + data + " 8", "Error reading metadata", syscall.ENOTBLK, nil},
	} {
		e.TakeLog()
		_, err := e.Build(1024, tc.table)
		var ce *targets.CtrError
		if !errors.As(err, &ce) || ce.Msg != tc.msg || ce.Errno != tc.errno {
			t.Errorf("%q: got %v, want %q (%v)", tc.table, err, tc.msg, tc.errno)
		}
		if got := e.TakeLog(); tc.log != nil && !slices.Equal(got, tc.log) {
			t.Errorf("%q: log %q, want %q", tc.table, got, tc.log)
		}
	}
	e.TakeLog()
	if _, err := e.Build(1024, junk+" "+data+" 8"); err == nil {
		t.Fatal("junk superblock accepted")
	}
	if got := e.TakeLog(); len(got) != 3 || !strings.HasPrefix(got[0], "device-mapper: era: sb_check failed: blocknr ") ||
		got[1] != "device-mapper: block manager: superblock validator check failed for block 0" ||
		got[2] != "device-mapper: era: couldn't read_lock superblock" {
		t.Errorf("junk superblock log %q", got)
	}
}

func TestStatusTableMessages(t *testing.T) {
	e := newEnv(t)
	meta, data := e.Sparse("meta", 4<<20), e.Sparse("data", 64<<20)
	table := fmt.Sprintf("%s %s 128", meta, data)
	x := e.Create(131072, table)
	defer x.Close()
	if got, want := x.Table(), table; got != want {
		t.Errorf("table %q, want %q", got, want)
	}
	if got := x.Status(); got != "8 10/1024 1 -" {
		t.Errorf("fresh status %q", got)
	}
	eraCheck(t, meta)
	for _, msg := range [][]string{{"checkpoint", "x"}, {}, {"frobnicate"}, {"drop_metadata_snap"}} {
		e.TakeLog()
		if _, err := x.Message(msg); !errors.Is(err, syscall.EINVAL) {
			t.Errorf("message %q: %v, want EINVAL", msg, err)
		}
		if got := e.TakeLog(); len(got) != 1 {
			t.Errorf("message %q logged %q", msg, got)
		}
	}
	if _, err := x.Message([]string{"CheckPoint"}); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Message([]string{"take_metadata_snap"}); err != nil {
		t.Fatal(err)
	}
	st := x.Status()
	if !strings.HasPrefix(st, "8 ") || !strings.Contains(st, " 3 ") || strings.HasSuffix(st, " -") {
		t.Errorf("status with a held snapshot %q", st)
	}
	e.TakeLog()
	if _, err := x.Message([]string{"take_metadata_snap"}); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("second snapshot: %v", err)
	}
	if got := e.TakeLog(); !slices.Equal(got, []string{"device-mapper: era: metadata_take_snap: metadata snapshot already exists"}) {
		t.Errorf("second snapshot log %q", got)
	}
	if _, err := x.Message([]string{"drop_metadata_snap"}); err != nil {
		t.Fatal(err)
	}
	if st := x.Status(); !strings.HasSuffix(st, " 3 -") {
		t.Errorf("status after drop %q", st)
	}
	eraCheck(t, meta)
}

// TestWritesCheckpointsSnapshot follows writes through eras and asks the
// real era tools what changed since each.
func TestWritesCheckpointsSnapshot(t *testing.T) {
	e := newEnv(t)
	meta, data := e.Sparse("meta", 4<<20), e.Sparse("data", 64<<20)
	x := e.Create(131072, fmt.Sprintf("%s %s 128", meta, data)) // 1024 blocks of 64 KiB
	defer x.Close()
	write := func(block, k int) {
		t.Helper()
		if err := x.WriteAt(pattern(k, 4096), uint64(block*128+8)); err != nil {
			t.Fatal(err)
		}
	}
	raw, _ := os.ReadFile(meta)
	write(3, 1)
	after, _ := os.ReadFile(meta)
	if bytes.Equal(raw, after) {
		t.Fatal("a first write to a block did not commit the metadata")
	}
	write(3, 2) // marked: no commit
	again, _ := os.ReadFile(meta)
	if !bytes.Equal(after, again) {
		t.Error("a write to a marked block changed the metadata")
	}
	got := make([]byte, 4096)
	if _, err := x.origin.ReadAt(got, 3*65536+4096); err != nil || !bytes.Equal(got, pattern(2, 4096)) {
		t.Fatalf("origin holds the wrong data: %v", err)
	}
	write(700, 3)
	x.Message([]string{"checkpoint"}) // era 2
	write(5, 4)
	write(700, 5)
	x.Message([]string{"checkpoint"}) // era 3
	write(1000, 6)
	if _, err := x.Message([]string{"take_metadata_snap"}); err != nil { // era 4
		t.Fatal(err)
	}
	x.waitBackground()
	eraCheck(t, meta)
	for _, c := range []struct {
		era  uint32
		want []string
	}{{1, []string{"3", "5", "700", "1000"}}, {2, []string{"5", "700", "1000"}}, {3, []string{"1000"}}, {4, nil}} {
		if got := changedSince(t, meta, c.era); !slices.Equal(got, c.want) {
			t.Errorf("written since era %d: %q, want %q", c.era, got, c.want)
		}
	}
	dump := dmtest.RunPeer(t, "era_dump", meta)
	if !strings.Contains(dump, `current_era="4"`) || !strings.Contains(dump, `<era block="3" era="1"/>`) {
		t.Errorf("era_dump:\n%s", dump)
	}
	if _, err := x.Message([]string{"drop_metadata_snap"}); err != nil {
		t.Fatal(err)
	}
	x.Status()
	eraCheck(t, meta)
	if err := x.PostSuspend(); err != nil {
		t.Fatal(err)
	}
	eraCheck(t, meta)
}

// TestRebuiltEachCommand runs the same commands in one process and with
// the table rebuilt between every two (as gdmsetup's CLI does): the
// metadata's bytes must come out the same.
func TestRebuiltEachCommand(t *testing.T) {
	run := func(rebuild bool) []byte {
		e := newEnv(t)
		meta, data := e.Sparse("meta", 4<<20), e.Sparse("data", 64<<20)
		table := fmt.Sprintf("%s %s 24", meta, data)
		x := e.Create(20000, table)
		steps := []func(){
			func() { x.WriteAt(pattern(1, 4096), 0) },
			func() { x.WriteAt(pattern(2, 4096), 48*200) },
			func() { x.Message([]string{"checkpoint"}) },
			func() { x.Status() },
			func() { x.WriteAt(pattern(3, 4096), 48*300) },
			func() { x.Message([]string{"take_metadata_snap"}) },
			func() { x.Status() },
			func() { x.Message([]string{"drop_metadata_snap"}) },
			func() { x.PostSuspend() },
			func() { x.PreResume(); x.Resume() },
			func() { x.Status() },
		}
		for _, s := range steps {
			s()
			x.waitBackground() // the kernel's worker is done before the next command
			if rebuild {
				x = e.Restore(x, x.lenSectors, table)
			}
		}
		x.Close()
		eraCheck(t, meta)
		b, _ := os.ReadFile(meta)
		return b
	}
	one, many := run(false), run(true)
	if !bytes.Equal(one, many) {
		for i := 0; i < len(one); i += 4096 {
			if !bytes.Equal(one[i:i+4096], many[i:i+4096]) {
				t.Errorf("metadata block %d differs", i/4096)
			}
		}
	}
}

// TestConcurrentWrites writes many blocks at once: every completed write
// is recorded, and the metadata passes era_check.
func TestConcurrentWrites(t *testing.T) {
	e := newEnv(t)
	meta, data := e.Sparse("meta", 4<<20), e.Sparse("data", 16<<20)
	x := e.Create(32768, fmt.Sprintf("%s %s 8", meta, data)) // 4096 blocks of 4 KiB
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < 400; i += 8 {
				if err := x.WriteAt(pattern(i, 4096), uint64(i*3%4096)*8); err != nil {
					t.Error(err)
				}
				x.ReadAt(make([]byte, 4096), uint64(i)*8)
			}
		}(g)
	}
	wg.Wait()
	// a crash: the table is dropped without suspend or close; a new table
	// (the kernel's reactivation) archives what the old one recorded.
	y := e.Create(32768, fmt.Sprintf("%s %s 8", meta, data))
	defer y.Close()
	if _, err := y.Message([]string{"take_metadata_snap"}); err != nil {
		t.Fatal(err)
	}
	eraCheck(t, meta)
	var want []int
	for i := 0; i < 400; i++ {
		want = append(want, i*3%4096)
	}
	slices.Sort(want)
	got := changedSince(t, meta, 1)
	var n int
	for _, g := range got {
		var a, b int
		if _, err := fmt.Sscanf(g, "%d-%d", &a, &b); err == nil {
			n += b - a
		} else {
			n++
		}
	}
	if n != len(want) {
		t.Errorf("%d blocks written since era 1, want %d (%q)", n, len(want), got)
	}
}
