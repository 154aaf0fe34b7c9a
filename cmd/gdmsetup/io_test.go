package main

import (
	"bytes"
	"math/rand"
	"os"
	"strings"
	"testing"
)

func TestReadWriteThroughStripedAndStacked(t *testing.T) {
	s := newSandbox(t)
	a := s.file("a.img", 8<<20)
	b := s.file("b.img", 8<<20)
	s.ok("", "create", "st", "--table", "0 8192 striped 2 128 a.img 0 b.img 8")
	s.ok("", "create", "top", "--table", "0 4096 linear /dev/mapper/st 1000")
	data := make([]byte, 300000)
	rand.New(rand.NewSource(1)).Read(data)
	// unaligned offset and length: the page-cache path
	s.ok(string(data), "write", "top", "--offset", "12345")
	got := s.ok("", "read", "top", "--offset", "12345", "--length", "300000")
	if got != string(data) {
		t.Fatal("read back through top differs from what was written")
	}
	// every byte lands where the kernel puts it: top byte x = st byte x+1000*512,
	// st chunk c (64 KiB) = stripe c%2, row c/2
	fa, _ := os.ReadFile(a)
	fb, _ := os.ReadFile(b)
	for i := range data {
		stOff := int64(12345+i) + 1000*512
		chunk := stOff / (128 * 512)
		in := stOff % (128 * 512)
		row := chunk / 2
		var want byte
		if chunk%2 == 0 {
			want = fa[row*128*512+in]
		} else {
			want = fb[8*512+row*128*512+in]
		}
		if want != data[i] {
			t.Fatalf("byte %d of the write is not where the kernel puts it", i)
		}
	}
	s.expect(args("read top --offset 2097152 --length 1"), "", "", "", 0)
	s.expect([]string{"write", "top", "--offset", "2097152"}, "x", "", "gdmsetup: write top at byte 2097152: No space left on device\nCommand failed.\n", 1)
}

func TestErrorZeroAndDiscard(t *testing.T) {
	s := newSandbox(t)
	a := s.file("a.img", 1<<20)
	s.ok("", "create", "err", "--table", "0 1000 error")
	s.ok("", "create", "z", "--table", "0 1000 zero")
	s.ok("", "create", "lin", "--table", "0 2048 linear a.img 0")
	s.expect(args("read err --length 512"), "", "", "gdmsetup: read err at byte 0: Input/output error\nCommand failed.\n", 1)
	s.expect(args("write err"), "abc", "", "gdmsetup: write err at byte 0: Input/output error\nCommand failed.\n", 1)
	s.ok("hello", "write", "z")
	if got := s.ok("", "read", "z", "--length", "4096"); got != strings.Repeat("\x00", 4096) {
		t.Fatal("zero target did not read zeros")
	}
	s.expect(args("discard z --offset 0 --length 4096"), "", "", "gdmsetup: discard z at byte 0: Operation not supported\nCommand failed.\n", 1)
	s.ok(strings.Repeat("x", 8192), "write", "lin")
	s.ok("", "discard", "lin", "--offset", "0", "--length", "4096")
	f, _ := os.ReadFile(a)
	if !bytes.Equal(f[:4096], make([]byte, 4096)) || f[4096] != 'x' {
		t.Fatal("discard through linear did not punch exactly the range")
	}
	s.expect(args("discard lin --offset 1 --length 512"), "", "", "gdmsetup: discard lin at byte 1: Invalid argument\nCommand failed.\n", 1)
	s.expect(args("read nosuch"), "", "", "gdmsetup: read nosuch at byte 0: No such device or address\nCommand failed.\n", 1)
}
