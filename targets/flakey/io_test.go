package flakey

import (
	"bytes"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

// TestUpDownWindows checks the cycle: whole seconds since the constructor,
// modulo up + down, at least up means down.
func TestUpDownWindows(t *testing.T) {
	c := setClock(t)
	dev := devFile(t)
	f := build(t, dev, "0", "2", "3")
	for _, step := range []struct {
		at   time.Duration
		down bool
	}{
		{0, false}, {time.Second, false}, {2*time.Second - time.Nanosecond, false},
		{2 * time.Second, true}, {4*time.Second + 999*time.Millisecond, true},
		{5 * time.Second, false}, {6 * time.Second, false}, {7 * time.Second, true},
		{1000 * time.Second, false}, {1002 * time.Second, true},
		// a clock set back before the start counts as no time elapsed
		{-time.Hour, false},
	} {
		saved := c.t
		c.advance(step.at)
		if got := f.down(); got != step.down {
			t.Errorf("up 2 down 3, %v after the start: down %v, want %v", step.at, got, step.down)
		}
		c.t = saved
	}
	always := build(t, dev, "0", "0", "1")
	never := build(t, dev, "0", "1", "0")
	for i := 0; i < 5; i++ {
		if !always.down() || never.down() {
			t.Errorf("%d s: up 0 down 1 down=%v (want true), up 1 down 0 down=%v (want false)", i, always.down(), never.down())
		}
		c.advance(time.Second)
	}
	// the start is the constructor's time: a table built later starts later
	late := build(t, dev, "0", "1", "1")
	if late.down() {
		t.Error("a table built now is down at once; want up for its first second")
	}
	c.advance(time.Second)
	if !late.down() {
		t.Error("up 1 down 1, one second after its constructor: up, want down")
	}
}

// outcome is what an operation did to the device.
type outcome int

const (
	failed    outcome = iota // EIO, device unchanged
	dropped                  // success, device unchanged
	done                     // success, done as asked
	corrupted                // success, done with the Nth byte replaced
)

func (o outcome) String() string {
	return [...]string{"failed", "dropped", "done", "corrupted"}[o]
}

// mappedDev stands for a mapped device below flakey (a targets.Splitter)
// whose table sends each I/O down whole.
type mappedDev struct{ targets.Dev }

// LastPieceBytes is targets.Splitter: one piece.
func (mappedDev) LastPieceBytes(offBytes, _ int64) int64 { return offBytes }

// WriteZeroes zeroes as a mapped device does (its table's targets).
func (m mappedDev) WriteZeroes(offBytes, lenBytes int64, mayUnmap bool) error {
	return m.Dev.(targets.DevZeroer).WriteZeroes(offBytes, lenBytes, mayUnmap)
}

// TestFeatureEffects runs each kind of I/O on a table per feature set,
// down and up, on a real file (directly, and as if through a mapped
// device), and checks what reached the file and the caller. read is the
// outcome over a mapped device: over a disk, 6.1 corrupts no read.
func TestFeatureEffects(t *testing.T) {
	setClock(t)
	const (
		nth   = 5 // corrupt_bio_byte's byte, 1-based
		value = 0
	)
	cases := []struct {
		features               string
		read, write, flush, dz outcome // dz: discards and write zeroes
	}{
		{"", failed, failed, failed, failed},
		{"1 drop_writes", done, dropped, dropped, dropped},
		{"1 error_writes", done, failed, failed, failed},
		{"5 corrupt_bio_byte 5 r 0 0", corrupted, done, done, done},
		{"5 corrupt_bio_byte 5 w 0 0", done, corrupted, done, done},
		// the flags mask: a read's bi_opf is REQ_OP_READ (0), a write's REQ_OP_WRITE (1)
		{"5 corrupt_bio_byte 5 r 0 1", done, done, done, done},
		{"5 corrupt_bio_byte 5 w 0 1", done, corrupted, done, done},
		{"5 corrupt_bio_byte 5 w 0 2", done, done, done, done},
		{"5 corrupt_bio_byte 5 w 0 2048", done, done, done, done},
		// a byte beyond the I/O is not there to corrupt
		{"5 corrupt_bio_byte 4097 r 0 0", done, done, done, done},
		{"5 corrupt_bio_byte 4097 w 0 0", done, done, done, done},
		{"6 drop_writes corrupt_bio_byte 5 r 0 0", corrupted, dropped, dropped, dropped},
		{"6 error_writes corrupt_bio_byte 5 r 0 0", corrupted, failed, failed, failed},
	}
	for _, c := range cases {
		for _, run := range []struct {
			down, mapped bool
		}{{true, true}, {true, false}, {false, true}} {
			c := c
			up, name := "0", "down"
			if !run.down {
				up, name = "3600", "up"
				c.read, c.write, c.flush, c.dz = done, done, done, done
			}
			if run.mapped {
				name += "/mapped"
			} else if c.read == corrupted {
				c.read = done
			}
			t.Run(name+"/"+c.features, func(t *testing.T) {
				dev := devFile(t)
				orig := pattern("dev", devBytes)
				if orig[8*512+nth-1] == value || orig[16*512+nth-1] == value {
					t.Fatal("the pattern holds the corrupt value at the byte: pick another value")
				}
				f := build(t, dev, append([]string{"0", up, "1"}, strings.Fields(c.features)...)...)
				if run.mapped {
					f.dev = mappedDev{f.dev}
				}

				// read 4 KiB at sector 8
				p := make([]byte, 4096)
				err := f.ReadAt(p, 8)
				want := orig[8*512 : 8*512+4096]
				checkOutcome(t, "read", c.read, err, func() bool { return bytes.Equal(p, want) },
					func() bool { return bytes.Equal(p, withByte(want, nth-1, value)) })

				// write 4 KiB at sector 16; the caller's buffer stays as it is
				w := pattern("write", 4096)
				wCopy := bytes.Clone(w)
				err = f.WriteAt(w, 16)
				if !bytes.Equal(w, wCopy) {
					t.Error("write changed the caller's buffer")
				}
				on := dmtest.FileBytes(t, dev, 16*512, 4096)
				checkOutcome(t, "write", c.write, err, func() bool { return bytes.Equal(on, w) },
					func() bool { return bytes.Equal(on, withByte(w, nth-1, value)) })
				if c.write == failed || c.write == dropped {
					if !bytes.Equal(on, orig[16*512:16*512+4096]) {
						t.Error("write: the file changed")
					}
				}

				checkOutcome(t, "flush", c.flush, f.Flush(), func() bool { return true }, nil)

				zeros := make([]byte, 4096)
				for _, op := range []struct {
					name   string
					sector uint64
					run    func(sector uint64) error
				}{
					{"discard", 32, func(s uint64) error { return f.Discard(s, 8) }},
					{"write zeroes", 48, func(s uint64) error { return f.WriteZeroes(s, 8, true) }},
				} {
					err := op.run(op.sector)
					on := dmtest.FileBytes(t, dev, int64(op.sector)*512, 4096)
					checkOutcome(t, op.name, c.dz, err, func() bool { return bytes.Equal(on, zeros) }, nil)
					if c.dz == failed || c.dz == dropped {
						if !bytes.Equal(on, orig[op.sector*512:op.sector*512+4096]) {
							t.Errorf("%s: the file changed", op.name)
						}
					}
				}
			})
		}
	}
}

// checkOutcome checks err against want, and the data with plain (done) or
// corrupt (corrupted).
func checkOutcome(t *testing.T, op string, want outcome, err error, plain, corrupt func() bool) {
	t.Helper()
	switch want {
	case failed:
		if !errors.Is(err, syscall.EIO) {
			t.Errorf("%s: error %v, want EIO", op, err)
		}
	case dropped:
		if err != nil {
			t.Errorf("%s: %v, want it dropped without error", op, err)
		}
	case done:
		if err != nil || !plain() {
			t.Errorf("%s: error %v, data as asked %v: want done", op, err, plain())
		}
	case corrupted:
		if err != nil || !corrupt() {
			t.Errorf("%s: error %v, corrupted %v: want the byte corrupted", op, err, corrupt())
		}
	}
}

// TestStartTimeRestored checks that a table rebuilt in another process
// (Restored) keeps its constructor's time, and a new one does not.
func TestStartTimeRestored(t *testing.T) {
	c := setClock(t)
	dev := devFile(t)
	f := build(t, dev, "0", "10", "10")
	saved := f.SaveState()
	c.advance(15 * time.Second)

	ctx := dmtest.NewDirect(t).Context(devBytes / targets.SectorSize)
	ctx.Restored, ctx.Saved = true, saved
	tg, err := New(ctx, []string{dev, "0", "10", "10"})
	if err != nil {
		t.Fatal(err)
	}
	if r := tg.(*Flakey); !r.start.Equal(f.start) || !r.down() {
		t.Errorf("restored: start %v down %v, want the saved start %v and down", r.start, r.down(), f.start)
	}
	newTable := dmtest.NewDirect(t).Context(8)
	newTable.Saved = saved // a new table (create, load) has no state to take
	garbage := dmtest.NewDirect(t).Context(8)
	garbage.Restored, garbage.Saved = true, "garbage"
	for _, ctx := range []*targets.Context{newTable, garbage} {
		tg, err := New(ctx, []string{dev, "0", "10", "10"})
		if err != nil {
			t.Fatal(err)
		}
		if r := tg.(*Flakey); !r.start.Equal(c.t) || r.down() {
			t.Errorf("restored %v saved %q: start %v, want now (%v), up", ctx.Restored, ctx.Saved, r.start, c.t)
		}
	}
}
