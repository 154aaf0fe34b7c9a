package thin_test

import (
	"bytes"
	"os"
	"testing"
)

// TestFlushCommitsOnlyItsChangedDevice checks the kernel's rule for a flush
// through a thin device (bio_triggers_commit): it commits the pool only
// when that device changed in the current transaction. A flush through
// another device leaves the metadata device as it was; the changed
// device's own flush commits.
func TestFlushCommitsOnlyItsChangedDevice(t *testing.T) {
	e := newPool(t, 1024, "")
	for _, id := range []string{"0", "1"} {
		if err := e.message("create_thin", id); err != nil {
			t.Fatal(err)
		}
	}
	t0, t1 := e.activate(0), e.activate(1)
	if _, err := e.reg.Lines("pool", false, true); err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(e.meta)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := t1.WriteAt(make([]byte, blockBytes), 0); err != nil {
		t.Fatal(err)
	}
	if err := t0.Flush(); err != nil {
		t.Fatal(err)
	}
	if now, _ := os.ReadFile(e.meta); !bytes.Equal(now, committed) {
		t.Fatal("a flush through an unchanged thin device committed another device's mapping")
	}
	if err := t1.Flush(); err != nil {
		t.Fatal(err)
	}
	if now, _ := os.ReadFile(e.meta); bytes.Equal(now, committed) {
		t.Fatal("a flush through the changed thin device did not commit")
	}
}
