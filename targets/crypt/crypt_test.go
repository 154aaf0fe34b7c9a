package crypt_test

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	_ "github.com/gdmsetup/gdmsetup/targets/all"
)

const (
	key16 = "00112233445566778899aabbccddeeff"
	key32 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
)

// TestKernelLogLines runs testdata/kernel-log.sh's commands, one process
// each, and compares the kernel log with what Linux 6.1 logged for them
// (testdata/kernel-log.out): dm-crypt's own lines carry "trusted_key: ".
func TestKernelLogLines(t *testing.T) {
	want := kernelLines(t, "testdata/kernel-log.out")
	g := dmtest.New(t)
	d := g.File("d", 1<<20, false)
	steps := []func() error{
		func() error { return g.Create("w", 2048, "crypt", "aes-ecb-plain64", key16, "0", d, "0") },
		func() error { return g.Reg.Remove("w") },
		func() error { return g.Create("k", 2048, "crypt", "aes-cbc-essiv:sha256", key16, "0", d, "0") },
		func() error { _, err := g.Reg.Message("k", 0, []string{"key", "wipe"}); return err },
		func() error { _, err := g.Reg.Message("k", 0, []string{"key"}); return err },
		func() error { return g.Reg.Suspend("k") },
		func() error { _, err := g.Reg.Message("k", 0, []string{"key", "set"}); return err },
		func() error { _, err := g.Reg.Message("k", 0, []string{"bogus", "word"}); return err },
		func() error { _, err := g.Reg.Message("k", 0, []string{"key", "wipe"}); return err },
		func() error { return g.Reg.Resume("k") },
		func() error { _, err := g.Reg.Message("k", 0, []string{"key", "set", key16}); return err },
		func() error { return g.Reg.Resume("k") },
		func() error { return g.Reg.Remove("k") },
	}
	wantErr := []syscall.Errno{0, 0, 0, syscall.EINVAL, syscall.EINVAL, 0, syscall.EINVAL, syscall.EINVAL, 0, syscall.EAGAIN, 0, 0, 0}
	for i, step := range steps {
		err := step()
		if !errors.Is(err, wantErr[i]) && !(err == nil && wantErr[i] == 0) {
			t.Errorf("step %d: %v, want %v", i, err, wantErr[i])
		}
		g.Reopen()
	}
	got := strings.Split(strings.TrimSpace(g.Klog.String()), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("kernel log:\n%s\nwant (Linux 6.1):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// kernelLines returns the "kernel: " lines of an oracle transcript.
func kernelLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l, ok := strings.CutPrefix(sc.Text(), "kernel: "); ok {
			out = append(out, l)
		}
	}
	return out
}

// TestRoundTrip writes random data through each cipher, checks the device
// holds other bytes, and reads it back in a later process.
func TestRoundTrip(t *testing.T) {
	for _, table := range []string{
		"aes-xts-plain64 " + key32 + " 0",
		"aes-xts-plain64 " + key32 + key32 + " 7",
		"aes-cbc-essiv:sha256 " + key16 + " 0",
		"aes-cbc-plain " + key32 + " 0",
		"aes-cbc-plain64be " + key16 + " 0",
		"aes-cbc-benbi " + key16 + " 0",
		"aes-cbc-null " + key16 + " 0",
		"aes-cbc-eboiv " + key16 + " 0",
		"aes-ecb " + key16 + " 0",
		"aes:4-cbc-plain64 " + key32 + key32 + " 0",
		"capi:xts(aes)-plain64 " + key32 + " 0",
		"aes-xts-plain64 " + key32 + " 8 DEV 0 1 sector_size:4096",
		"aes-xts-plain64 " + key32 + " 8 DEV 0 2 sector_size:4096 iv_large_sectors",
	} {
		t.Run(strings.Fields(table)[0], func(t *testing.T) {
			g := dmtest.New(t)
			dev := g.File("d", 1<<20, false)
			args := strings.Fields(table)
			if len(args) == 3 {
				args = append(args, dev, "0")
			} else {
				args[3] = dev
			}
			g.MustCreate("c", 2048, "crypt", args...)
			data := dmtest.Random(256 << 10)
			if _, err := g.Device("c").WriteAt(data, 64<<10); err != nil {
				t.Fatal(err)
			}
			g.Reopen()
			got := make([]byte, len(data))
			if _, err := g.Device("c").ReadAt(got, 64<<10); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatal("read back differs from what was written")
			}
			raw, _ := os.ReadFile(dev)
			if bytes.Contains(raw, data[:4096]) {
				t.Fatal("the plaintext is on the device")
			}
		})
	}
}

// TestUnalignedIO: with 4096-byte encryption sectors the device's logical
// block size is 4096 (crypt_io_hints): I/O not aligned to it goes the way
// of the page cache, whole sectors read, patched and written, and reads
// back; the target itself refuses a piece that is not whole sectors (EIO).
func TestUnalignedIO(t *testing.T) {
	g := dmtest.New(t)
	dev := g.File("d", 1<<20, false)
	g.MustCreate("c", 2048, "crypt", "aes-xts-plain64", key32, "0", dev, "0", "1", "sector_size:4096")
	d := g.Device("c")
	if got := d.LogicalBlockBytes(); got != 4096 {
		t.Fatalf("logical block size %d, want 4096", got)
	}
	want := make([]byte, 3*4096)
	if _, err := d.ReadAt(want, 0); err != nil {
		t.Fatal(err)
	}
	for _, io := range []struct{ off, n int64 }{{512, 4096}, {0, 512}, {4096, 4608}} {
		p := dmtest.Random(int(io.n))
		if _, err := d.WriteAt(p, io.off); err != nil {
			t.Fatalf("write of %d at %d: %v", io.n, io.off, err)
		}
		copy(want[io.off:], p)
		got := make([]byte, len(want))
		if _, err := d.ReadAt(got, 0); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("after a write of %d at %d the device reads otherwise (%v)", io.n, io.off, err)
		}
		if _, err := d.ReadAt(make([]byte, io.n), io.off); err != nil {
			t.Errorf("read of %d at %d: %v", io.n, io.off, err)
		}
	}
}

// TestKeyAcrossProcesses: a key wiped in one process stays wiped in the
// next (the resume is refused), and a key set there is the one used.
func TestKeyAcrossProcesses(t *testing.T) {
	g := dmtest.New(t)
	dev := g.File("d", 1<<20, false)
	g.MustCreate("c", 2048, "crypt", "aes-xts-plain64", key32, "0", dev, "0")
	data := dmtest.Random(8192)
	g.Device("c").WriteAt(data, 0)
	if err := g.Reg.Suspend("c"); err != nil {
		t.Fatal(err)
	}
	g.Reopen()
	if _, err := g.Reg.Message("c", 0, []string{"key", "wipe"}); err != nil {
		t.Fatal(err)
	}
	g.Reopen()
	if got, want := g.Line("c", false), "aes-xts-plain64 "+strings.Repeat("0", 64)+" 0 "+dev+" 0"; got != want {
		t.Errorf("table after wipe %q, want %q", got, want)
	}
	if err := g.Reg.Resume("c"); !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("resume after wipe: %v, want EAGAIN", err)
	}
	g.Reopen()
	other := strings.Repeat("ab", 32)
	if _, err := g.Reg.Message("c", 0, []string{"key", "set", other}); err != nil {
		t.Fatal(err)
	}
	g.Reopen()
	if err := g.Reg.Resume("c"); err != nil {
		t.Fatal(err)
	}
	g.Reopen()
	if got := g.Line("c", false); !strings.Contains(got, other) {
		t.Errorf("table %q does not show the key set", got)
	}
	got := make([]byte, len(data))
	g.Device("c").ReadAt(got, 0)
	if bytes.Equal(got, data) {
		t.Error("another key decrypts to the same data")
	}
}

// TestXTSVectors checks the XTS mode against IEEE 1619-2007's test
// vectors 1 and 2 (XTS-AES-128, tweak = plain64 of the data unit number),
// through a table's ciphertext on the device.
func TestXTSVectors(t *testing.T) {
	for _, v := range []struct{ key, plain, cipher string }{
		{strings.Repeat("00", 32), strings.Repeat("00", 32),
			"917cf69ebd68b2ec9b9fe9a3eadda692cd43d2f59598ed858c02c2652fbf922e"},
		{strings.Repeat("11", 16) + strings.Repeat("22", 16), strings.Repeat("44", 32),
			"c454185e6a16936e39334038acef838bfb186fff7480adc4289382ecd6d394f0"},
	} {
		key, _ := hex.DecodeString(v.key)
		if len(key) != 2*aes.BlockSize {
			t.Fatal("bad vector")
		}
		g := dmtest.New(t)
		dev := g.File("d", 1<<20, false)
		unit := "0"
		if v.plain[:2] == "44" {
			unit = "219902325555" // data unit 0x3333333333
		}
		g.MustCreate("c", 1, "crypt", "aes-xts-plain64", v.key, unit, dev, "0")
		sector := make([]byte, 512)
		p, _ := hex.DecodeString(v.plain)
		copy(sector, p)
		if _, err := g.Device("c").WriteAt(sector, 0); err != nil {
			t.Fatal(err)
		}
		raw, _ := os.ReadFile(dev)
		if got := hex.EncodeToString(raw[:32]); got != v.cipher {
			t.Errorf("key %s: ciphertext %s, want %s", v.key, got, v.cipher)
		}
	}
}

// TestReadAheadStacks: a crypt device over a striped one takes its io_opt
// (2 stripes of 128 KiB), so its read-ahead is twice that, as the block
// layer stacks the limits through crypt (which leaves io_opt alone).
func TestReadAheadStacks(t *testing.T) {
	g := dmtest.New(t)
	a, b := g.File("a", 1<<20, false), g.File("b", 1<<20, false)
	g.MustCreate("s", 4096, "striped", "2", "256", a, "0", b, "0")
	d := g.MustCreate("c", 4096, "crypt", "aes-xts-plain64", key32, "0", "/dev/mapper/s", "0")
	if got := d.Info().ReadAheadSectors; got != 1024 {
		t.Errorf("read-ahead %d sectors, want 1024", got)
	}
}
