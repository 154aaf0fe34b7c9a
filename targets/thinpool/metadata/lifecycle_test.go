package metadata

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestNeedsCheckResizeAbort(t *testing.T) {
	f, path := newMetaFile(t, 20000)
	p, err := Format(f, 1000, 128, 100, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CreateThin(3); err != nil {
		t.Fatal(err)
	}
	th, _ := p.OpenThin(3)
	defer th.Close()
	for i := uint64(0); i < 100; i++ {
		b, err := p.AllocDataBlock()
		if err != nil {
			t.Fatal(err)
		}
		if err := th.InsertBlock(i*10, b); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.AllocDataBlock(); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("alloc on a full data device: %v", err)
	}
	if err := p.ResizeData(50); err == nil {
		t.Fatal("shrinking the data device succeeded")
	}
	if err := p.ResizeData(40000); err != nil {
		t.Fatal(err)
	}
	if err := p.ResizeMetadata(20000); err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	thinCheck(t, path)
	if free, total := p.DataBlocks(); total != 40000 || free != 39900 {
		t.Fatalf("data blocks free/total %d/%d", free, total)
	}
	if _, total := p.MetadataBlocks(); total != 20000 {
		t.Fatalf("metadata total %d", total)
	}
	if hi, ok, err := th.HighestMapped(); err != nil || !ok || hi != 990 {
		t.Fatalf("highest mapped %d %v %v", hi, ok, err)
	}
	// Abort drops uncommitted changes.
	committed := ourDump(t, p)
	if err := p.CreateThin(4); err != nil {
		t.Fatal(err)
	}
	if err := th.RemoveRange(0, 500); err != nil {
		t.Fatal(err)
	}
	if err := p.Abort(); err != nil {
		t.Fatal(err)
	}
	if got := ourDump(t, p); !bytes.Equal(got, committed) {
		t.Fatalf("after abort:\n%s\nwant:\n%s", got, committed)
	}
	// needs_check is written at once and survives reopening.
	if err := p.SetNeedsCheck(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(thinDump(t, path)), `flags="1"`) {
		t.Fatal("thin_dump does not show needs_check")
	}
	q, err := Open(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !q.NeedsCheck() {
		t.Fatal("needs_check lost on reopen")
	}
	if err := p.Delete(3); !errors.Is(err, ErrBusy) {
		t.Fatalf("delete of an open device: %v", err)
	}
}

func TestMetadataSpaceExhaustion(t *testing.T) {
	f, path := newMetaFile(t, 64)
	p, err := Format(f, 64, 128, 200000, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CreateThin(0); err != nil {
		t.Fatal(err)
	}
	th, _ := p.OpenThin(0)
	var failure error
	for i := uint64(0); i < 100000 && failure == nil; i++ {
		b, err := p.AllocDataBlock()
		if err != nil {
			failure = err
			break
		}
		if failure = th.InsertBlock(i*2, b); failure == nil && i%5000 == 0 {
			failure = p.Commit()
		}
	}
	if !errors.Is(failure, ErrNoSpace) {
		t.Fatalf("expected out of metadata space, got %v", failure)
	}
	if err := th.InsertBlock(1, 1); !errors.Is(err, ErrFailed) {
		t.Fatalf("after a failure: %v", err)
	}
	if err := p.Abort(); err != nil {
		t.Fatal(err)
	}
	thinCheck(t, path)
}
