package delay_test

import (
	"bytes"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// TestFUAWriteTakesWriteDelay: a FUA write is a write to delay_map, which
// takes the flush class for REQ_PREFLUSH alone: with no write delay and an
// hour's flush delay it returns at once, its data on the write device,
// nothing waiting in the flush class; with an hour's write delay it waits
// in the write class until a suspend lets it go.
func TestFUAWriteTakesWriteDelay(t *testing.T) {
	g := newRig(t)
	d := g.mustCreate("d", 1024, "a 0 0 b 8 0 c 0 3600000")
	p := bytes.Repeat([]byte{0xfa}, 4096)
	dmtest.Within(t, "a FUA write with no write delay", func() error {
		_, err := d.WriteFUA(p, 8192)
		return err
	}, func() string { return "status " + g.line("d", true) })
	if got := dmtest.FileBytes(t, g.Path("b"), 8192+8*512, len(p)); !bytes.Equal(got, p) {
		t.Error("the FUA write is not on the write device at its offset")
	}

	w := g.mustCreate("w", 2048, "a 0 0 b 0 3600000 c 0 0")
	done := make(chan error, 1)
	go func() {
		_, err := w.WriteFUA(p, 0)
		done <- err
	}()
	g.waitStatus("w", "0 1 0")
	dmtest.Within(t, "suspend (it releases the delayed write)", func() error { return g.Reg.Suspend("w") }, nil)
	dmtest.Within(t, "the FUA write released by the suspend", func() error { return <-done }, nil)
	if err := g.Reg.Resume("w"); err != nil {
		t.Fatal(err)
	}
}
