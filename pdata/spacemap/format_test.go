package spacemap

import (
	"testing"

	"github.com/gdmsetup/gdmsetup/pdata/block"
)

func TestBitmapEncoding(t *testing.T) {
	blk := make([]byte, block.BlockSize)
	BitmapSet(blk, 0, 1)
	BitmapSet(blk, 1, 2)
	BitmapSet(blk, 2, 3)
	// Entry 0 = 1 sets bit 1; entry 1 = 2 sets bit 2 (high bit of pair 1); entry 2 = 3 sets bits 4 and 5.
	if blk[16] != 0b00110110 {
		t.Fatalf("byte = %08b", blk[16])
	}
	for e, want := range []uint32{1, 2, 3, 0} {
		if got := BitmapGet(blk, uint32(e)); got != want {
			t.Errorf("entry %d = %d, want %d", e, got, want)
		}
	}
	if e, ok := BitmapFindFree(blk, 0, EntriesPerBitmap); !ok || e != 3 {
		t.Fatalf("find free = %d %v", e, ok)
	}
	for e := uint32(0); e < 64; e++ {
		BitmapSet(blk, e, 1+e%3)
	}
	if e, ok := BitmapFindFree(blk, 0, EntriesPerBitmap); !ok || e != 64 {
		t.Fatalf("find free = %d %v", e, ok)
	}
	if _, ok := BitmapFindFree(blk, 0, 64); ok {
		t.Fatal("found free in full range")
	}
}

func TestRootAndIndex(t *testing.T) {
	field := make([]byte, RootFieldSize)
	for i := range field {
		field[i] = 0xff
	}
	r := Root{NrBlocks: 100, NrAllocated: 7, BitmapRoot: 3, RefCountRoot: 4}
	r.Encode(field)
	for _, b := range field[RootSize:] {
		if b != 0 {
			t.Fatal("root padding not zeroed")
		}
	}
	got, err := DecodeRoot(field)
	if err != nil || got != r {
		t.Fatalf("DecodeRoot = %+v, %v", got, err)
	}
	blk := make([]byte, block.BlockSize)
	EncodeMetadataIndex(blk, []IndexEntry{{Blocknr: 3, NrFree: 16000, NoneFreeBefore: 9}})
	IndexValidator.Prepare(blk, 1)
	if err := IndexValidator.Check(blk, 1); err != nil {
		t.Fatal(err)
	}
	mi, err := DecodeMetadataIndex(blk, 1)
	if err != nil || mi[0].NrFree != 16000 || mi[0].NoneFreeBefore != 9 {
		t.Fatalf("%+v %v", mi, err)
	}
	if _, err := DecodeMetadataIndex(blk, 2); err == nil {
		t.Fatal("missing entry accepted")
	}
	if EntriesPerBitmap != 16320 || MetadataMaxBlocks != 4161600 {
		t.Fatal("constants")
	}
}
