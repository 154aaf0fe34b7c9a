package logwrites_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
	"github.com/gdmsetup/gdmsetup/targets/logwrites"
)

// TestConstructorErrors: log_writes_ctr's checks in its order and words;
// words after the two devices are ignored.
func TestConstructorErrors(t *testing.T) {
	g := newRig(t)
	dev, log := g.File("dev", 1<<20, false), g.File("log", 1<<20, false)
	missing := dev + ".missing"
	for _, c := range []struct {
		args  []string
		errno syscall.Errno
		line  string
	}{
		{nil, syscall.EINVAL, "Invalid argument count (-EINVAL)"},
		{[]string{dev}, syscall.EINVAL, "Invalid argument count (-EINVAL)"},
		{[]string{missing, log}, syscall.ENODEV, "Device lookup failed (-ENODEV)"},
		{[]string{dev, missing}, syscall.ENODEV, "Log device lookup failed (-ENODEV)"},
	} {
		err := g.Create("e", 2048, "log-writes", c.args...)
		var ie *dm.IoctlError
		if !errors.As(err, &ie) || ie.Errno != c.errno {
			t.Errorf("%q: %v, want %v", c.args, err, c.errno)
		}
		want := []string{"device-mapper: table: 253:0: log-writes: " + c.line, "device-mapper: ioctl: error adding target to table"}
		if got := g.takeKlog(); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%q: kernel log %q, want %q", c.args, got, want)
		}
	}
	g.MustCreate("e", 2048, "log-writes", dev, log, "extra", "words")
	if got, want := g.Line("e", false), dev+" "+log; got != want {
		t.Errorf("table %q, want %q", got, want)
	}
	g.wantStatus("e", "0 0")
}

// TestLogBytes: the log's bytes for writes, discards, flushes and marks:
// writes and discards wait for the next flush and go in completion order
// before the flush's entry; a mark goes at once and rewrites the super;
// the destructor logs what is unflushed, then its end mark.
func TestLogBytes(t *testing.T) {
	g := newRig(t)
	dev, log := g.File("dev", 1<<20, false), g.File("log", 1<<20, false)
	g.MustCreate("lw", 2048, "log-writes", dev, log)
	a, b := pattern(1, 4096), pattern(2, 1024)
	g.write("lw", a, 8192)
	g.discard("lw", 128<<10, 64<<10)
	g.wantStatus("lw", "0 0")
	if err := g.message("lw", "Mark", "first"); err != nil {
		t.Fatal(err)
	}
	g.wantStatus("lw", "1 1")
	g.flush("lw")
	g.wantStatus("lw", "4 12")
	g.write("lw", b, 512)
	long := strings.Repeat("0123456789", 50)
	if err := g.message("lw", "mark", long); err != nil {
		t.Fatal(err)
	}
	g.remove("lw")

	s, got := dmtest.ReadLog(t, log, 7)
	wantSuper(t, s, 7)
	wantEntries(t, got, []dmtest.LogEntry{
		{AtSector: 1, Flags: dmtest.LogMark, Mark: "first"},
		{AtSector: 2, Sector: 16, LenSectors: 8, Data: a},
		{AtSector: 11, Sector: 256, LenSectors: 128, Flags: dmtest.LogDiscard},
		{AtSector: 12, Flags: dmtest.LogFlush},
		{AtSector: 13, Flags: dmtest.LogMark, Mark: long[:479]},
		{AtSector: 14, Sector: 1, LenSectors: 2, Data: b},
		{AtSector: 17, Flags: dmtest.LogMark, Mark: "dm-log-writes-end"},
	})
	img, err := os.ReadFile(dev)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(img[8192:8192+4096], a) || !bytes.Equal(img[512:512+1024], b) {
		t.Error("the writes did not reach the device")
	}
}

// TestMessages: what log_writes_message refuses, with the kernel's lines.
func TestMessages(t *testing.T) {
	g := newRig(t)
	g.MustCreate("lw", 2048, "log-writes", g.File("dev", 1<<20, false), g.File("log", 1<<20, false))
	for _, c := range []struct {
		words []string
		line  string
	}{
		{[]string{"mark"}, "Invalid log-writes message arguments, expect 2 arguments, got 1"},
		{[]string{"mark", "a", "b"}, "Invalid log-writes message arguments, expect 2 arguments, got 3"},
		{[]string{"flush", "now"}, "Unrecognised log writes target message received: flush"},
	} {
		err := g.message("lw", c.words...)
		var ie *dm.IoctlError
		if !errors.As(err, &ie) || ie.Errno != syscall.EINVAL {
			t.Errorf("%q: %v, want EINVAL", c.words, err)
		}
		if got := g.takeKlog(); len(got) != 1 || got[0] != "device-mapper: log-writes: "+c.line {
			t.Errorf("%q: kernel log %q", c.words, got)
		}
	}
	g.wantStatus("lw", "0 0")
}

// TestStateAcrossProcesses: the log's counters and unflushed entries,
// data included, survive the end of the process that made them, as the
// kernel's live as long as the table.
func TestStateAcrossProcesses(t *testing.T) {
	g := newRig(t)
	dev, log := g.File("dev", 1<<20, false), g.File("log", 1<<20, false)
	g.MustCreate("lw", 2048, "log-writes", dev, log)
	a := pattern(3, 8192)
	if err := g.message("lw", "mark", "one"); err != nil {
		t.Fatal(err)
	}
	g.write("lw", a, 4096)
	g.Reopen()
	g.discard("lw", 0, 4096)
	g.Reopen()
	g.wantStatus("lw", "1 1")
	g.flush("lw")
	g.Reopen()
	g.wantStatus("lw", "4 20")
	g.remove("lw")
	s, got := dmtest.ReadLog(t, log, -1)
	wantSuper(t, s, 5)
	wantEntries(t, got, []dmtest.LogEntry{
		{AtSector: 1, Flags: dmtest.LogMark, Mark: "one"},
		{AtSector: 2, Sector: 8, LenSectors: 16, Data: a},
		{AtSector: 19, Sector: 0, LenSectors: 8, Flags: dmtest.LogDiscard},
		{AtSector: 20, Flags: dmtest.LogFlush},
		{AtSector: 21, Flags: dmtest.LogMark, Mark: "dm-log-writes-end"},
	})
}

// TestReloadStartsANewLog: a resumed new table logs from the start again,
// after the old one's destructor wrote its end mark.
func TestReloadStartsANewLog(t *testing.T) {
	g := newRig(t)
	dev, log := g.File("dev", 1<<20, false), g.File("log", 1<<20, false)
	g.MustCreate("lw", 2048, "log-writes", dev, log)
	for _, m := range []string{"a", "b"} {
		if err := g.message("lw", "mark", m); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Reg.Load("lw", []dm.TargetLine{{Len: 2048, Type: "log-writes", Args: []string{dev, log}}}); err != nil {
		t.Fatal(err)
	}
	g.Reopen()
	g.wantStatus("lw", "2 2")
	if err := g.Reg.Resume("lw"); err != nil {
		t.Fatal(err)
	}
	g.wantStatus("lw", "0 0")
	s, got := dmtest.ReadLog(t, log, 3)
	wantSuper(t, s, 3)
	wantEntries(t, got, []dmtest.LogEntry{
		{AtSector: 1, Flags: dmtest.LogMark, Mark: "a"},
		{AtSector: 2, Flags: dmtest.LogMark, Mark: "b"},
		{AtSector: 3, Flags: dmtest.LogMark, Mark: "dm-log-writes-end"},
	})
}

// TestFullLogDevice: an entry that would reach the log device's last
// sector stops the logging (its place is taken all the same, status says
// logging_disabled); I/O still goes to the device, marks are dropped, and
// nothing more is written to the log, across processes too.
func TestFullLogDevice(t *testing.T) {
	g := newRig(t)
	dev, log := g.File("dev", 1<<20, false), g.File("log", 8192, false)
	g.MustCreate("lw", 2048, "log-writes", dev, log)
	if err := g.message("lw", "mark", "m1"); err != nil {
		t.Fatal(err)
	}
	g.write("lw", pattern(4, 4096), 0)
	g.flush("lw")
	g.wantStatus("lw", "3 11")
	before, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	g.takeKlog()
	g.write("lw", pattern(5, 2048), 8192)
	g.flush("lw")
	if got := g.takeKlog(); len(got) != 1 || got[0] != "device-mapper: log-writes: Ran out of space on the logdev" {
		t.Errorf("kernel log %q", got)
	}
	g.wantStatus("lw", "3 16 logging_disabled")
	g.Reopen()
	c := pattern(6, 4096)
	g.write("lw", c, 12288)
	g.flush("lw")
	if err := g.message("lw", "mark", "after"); err != nil {
		t.Fatal(err)
	}
	g.wantStatus("lw", "3 16 logging_disabled")
	g.remove("lw")
	after, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("the log changed after the logging stopped")
	}
	img, err := os.ReadFile(dev)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(img[12288:16384], c) {
		t.Error("a write after the logging stopped did not reach the device")
	}
}

// TestFailingLogDevice: a write to the log that fails logs the kernel's
// line (blk_status_t 10 for EIO) for each of the entry's writes, stops the
// logging and counts the entry; the I/O itself succeeds.
func TestFailingLogDevice(t *testing.T) {
	g := newRig(t)
	g.MustCreate("bad", 2048, "error")
	g.MustCreate("lw", 2048, "log-writes", g.File("dev", 1<<20, false), "/dev/mapper/bad")
	g.write("lw", pattern(7, 4096), 0)
	g.flush("lw")
	line := "device-mapper: log-writes: Error writing log block, error=10"
	if got := g.takeKlog(); len(got) != 2 || got[0] != line || got[1] != line {
		t.Errorf("kernel log %q, want %q twice", got, line)
	}
	g.wantStatus("lw", "1 9 logging_disabled")
}

// TestNotFirstInTable: a log-writes line starting at sector 8 maps the
// mapped device's sector 8 onto sector 8 of its device and logs sector 8.
func TestNotFirstInTable(t *testing.T) {
	g := newRig(t)
	dev, log := g.File("dev", 1<<20, false), g.File("log", 1<<20, false)
	err := g.Reg.Create("st", "", []dm.TargetLine{
		{Len: 8, Type: "zero"},
		{Start: 8, Len: 2040, Type: "log-writes", Args: []string{dev, log}},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	a := pattern(8, 4096)
	g.write("st", a, 4096)
	g.flush("st")
	_, got := dmtest.ReadLog(t, log, 2)
	wantEntries(t, got, []dmtest.LogEntry{
		{AtSector: 1, Sector: 8, LenSectors: 8, Data: a},
		{AtSector: 10, Flags: dmtest.LogFlush},
	})
	img, err := os.ReadFile(dev)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(img[4096:8192], a) {
		t.Error("the write did not land on the device's sector 8")
	}
}

// TestConcurrentWrites: writes from many goroutines at once, with flushes
// among them, are each logged once, whole, with their data, entries
// following each other without gaps; a last flush logs all that is left.
func TestConcurrentWrites(t *testing.T) {
	g := newRig(t)
	dev, log := g.File("dev", 4<<20, false), g.File("log", 8<<20, false)
	g.MustCreate("lw", 8192, "log-writes", dev, log)
	const writers, each = 8, 32
	d := g.Device("lw")
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				n := w*each + i
				if _, err := d.WriteAt(pattern(byte(n), 4096), int64(n)*4096); err != nil {
					errs <- err
					return
				}
				if i%8 == 7 {
					if err := d.Flush(); err != nil {
						errs <- err
						return
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	g.flush("lw")
	flushes := writers*each/8 + 1
	status := g.Line("lw", true)
	var entries, last uint64
	if _, err := fmt.Sscanf(status, "%d %d", &entries, &last); err != nil || entries != uint64(writers*each+flushes) {
		t.Fatalf("status %q: want %d entries", status, writers*each+flushes)
	}
	_, got := dmtest.ReadLog(t, log, int(entries))
	seen := map[uint64]bool{}
	for i, e := range got {
		if e.Flags == dmtest.LogFlush {
			continue
		}
		n := e.Sector / 8
		if e.Flags != 0 || e.LenSectors != 8 || e.Sector%8 != 0 || seen[n] || !bytes.Equal(e.Data, pattern(byte(n), 4096)) {
			t.Fatalf("entry %d: %+v (logged before: %v)", i, e, seen[n])
		}
		seen[n] = true
	}
	if len(seen) != writers*each || got[len(got)-1].Flags != dmtest.LogFlush {
		t.Errorf("%d writes logged, want %d, ending with a flush", len(seen), writers*each)
	}
	if end := got[len(got)-1].AtSector; end != last {
		t.Errorf("last entry at %d, status says %d", end, last)
	}
}

// TestBadSavedState: a saved state that does not parse or does not hold
// together fails the rebuild naming the log device, rather than starting
// the log over it.
func TestBadSavedState(t *testing.T) {
	dir := t.TempDir()
	dev, log := dir+"/dev", dir+"/log"
	for _, p := range []string{dev, log} {
		if err := os.WriteFile(p, make([]byte, 1<<20), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	open := func(p string) (targets.Dev, error) { return targets.OpenFile(p) }
	for _, saved := range []string{
		"{",
		`{"entries":5,"next_sector":3,"end_sector":2048}`,
		`{"entries":1,"next_sector":20,"end_sector":2048,"unflushed":[{"flags":0,"sector":0,"len":8,"data":"AAAA"}]}`,
		`{"entries":1,"next_sector":20,"end_sector":2048,"unflushed":[{"flags":8,"sector":0,"len":0}]}`,
	} {
		ctx := &targets.Context{Len: 2048, Open: open, Logf: func(string, ...any) {}, Restored: true, Saved: saved}
		_, err := logwrites.New(ctx, []string{dev, log})
		var ce *targets.CtrError
		if !errors.As(err, &ce) || ce.Errno != syscall.EINVAL || !strings.Contains(ce.Msg, "saved state of the log on "+log) {
			t.Errorf("saved state %s: %v", saved, err)
		}
	}
}
