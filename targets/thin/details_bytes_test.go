package thin_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strconv"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
)

// TestSnapshotDetailsOrderIsTheKernels replays the first sections of the
// fidelity scenario thin-details-bytes (testdata/fidelity) in one process
// and compares the metadata device with the sha256 Linux 6.1 left after
// each (its transcript in testdata/fidelity/expected). With 130 devices the
// device-details tree has two leaves; create_snap changes the details of the
// snapshot and of its origin in one transaction, and the kernel writes them
// in the order of its in-core device list: the origin first when it was not
// open, the snapshot first when a thin table held the origin open. Writing
// them by id shadows the two leaves the other way round.
func TestSnapshotDetailsOrderIsTheKernels(t *testing.T) {
	e := newPool(t, 1024, "")
	meta := func(what, want string) {
		t.Helper()
		if _, err := e.reg.Lines("pool", false, true); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(e.meta)
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != want {
			t.Fatalf("%s: metadata sha256 %x, the kernel's %s", what, sum, want)
		}
	}
	msg := func(args ...string) {
		t.Helper()
		if err := e.message(args...); err != nil {
			t.Fatalf("message %v: %v", args, err)
		}
	}
	for id := 0; id < 130; id++ {
		msg("create_thin", strconv.Itoa(id))
	}
	meta("130 devices", "cdecc3edc5c5d7fbfc1fd82181d84797b62e9047fc26dfac53964aa5e063e020")
	msg("create_snap", "200", "1")
	meta("snapshot of an inactive device", "63a68d637b5bb0d876d1d7ef9d5a310656e4236a4f31409bf9885e922ddcb91c")
	if err := e.reg.Create("t0", "", []dm.TargetLine{{Start: 0, Len: 64 << 11, Type: "thin", Args: []string{"/dev/mapper/pool", "0"}}}, false); err != nil {
		t.Fatal(err)
	}
	d, _ := e.reg.Lookup("t0")
	if err := d.Prepare(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.WriteAt(make([]byte, blockBytes), 0); err != nil {
		t.Fatal(err)
	}
	meta("a write to the active device", "c7b544f8466feafa00fcc537c24988d8c297dedd2cf53a2fc9176ff3600bff14")
	if err := e.reg.Suspend("t0"); err != nil {
		t.Fatal(err)
	}
	msg("create_snap", "201", "0")
	if err := e.reg.Resume("t0"); err != nil {
		t.Fatal(err)
	}
	meta("snapshot of the active device", "b495d8799b6ad62898b62975724fc1e9798f6658ad22144881fcc8ef790fc0cd")
}
