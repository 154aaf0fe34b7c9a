package cryptoapi

import (
	"encoding/hex"
	"syscall"
	"testing"

	"golang.org/x/sys/cpu"
)

// refCRC is a bit-at-a-time reflected CRC register: what the kernel's
// crc32_le and __crc32c_le compute, without inversions.
func refCRC(poly, crc uint32, p []byte) uint32 {
	for _, b := range p {
		crc ^= uint32(b)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ poly
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

func digest(t *testing.T, name string, key, data []byte) string {
	t.Helper()
	h, ok := Lookup(name)
	if !ok {
		t.Fatalf("Lookup(%q) failed", name)
	}
	w := h.New(key)
	w.Write(data)
	sum := w.Sum(nil)
	if len(sum) != h.Size {
		t.Fatalf("%s: %d-byte digest, Size %d", name, len(sum), h.Size)
	}
	return hex.EncodeToString(sum)
}

func le(v uint32) string {
	return hex.EncodeToString([]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)})
}

// TestDigests: the kernel's crc32c (seed ~0, inverted) and crc32 (seed 0)
// little-endian, their seeds as keys, hmac and the stdlib digests by name.
func TestDigests(t *testing.T) {
	data := []byte("123456789")
	const castagnoli, ieee = 0x82f63b78, 0xedb88320
	if got, want := digest(t, "crc32c", nil, data), le(0xe3069283); got != want {
		t.Errorf("crc32c: %s, want %s (the check value, little-endian)", got, want)
	}
	if got, want := digest(t, "crc32c", nil, data), le(^refCRC(castagnoli, ^uint32(0), data)); got != want {
		t.Errorf("crc32c: %s, want %s", got, want)
	}
	if got, want := digest(t, "crc32", nil, data), le(refCRC(ieee, 0, data)); got != want {
		t.Errorf("crc32: %s, want %s", got, want)
	}
	seed := []byte{0x78, 0x56, 0x34, 0x12}
	if got, want := digest(t, "crc32-generic", seed, data), le(refCRC(ieee, 0x12345678, data)); got != want {
		t.Errorf("crc32 seeded: %s, want %s", got, want)
	}
	key := []byte{0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b}
	if got, want := digest(t, "hmac(sha256)", key, []byte("Hi There")), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"; got != want {
		t.Errorf("hmac(sha256), RFC 4231 case 1: %s, want %s", got, want)
	}
	if got, want := digest(t, "sha256-generic", nil, []byte("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("sha256: %s, want %s", got, want)
	}
}

// TestLookup: names as the crypto API resolves them, keys as setkey
// checks them, and the drivers the kernel picks.
func TestLookup(t *testing.T) {
	for _, name := range []string{"SHA256", "sha256-intel", "hmac(hmac(sha256))", "hmac(crc32c)", "hmac(sha256", "whirlpool", ""} {
		if _, ok := Lookup(name); ok {
			t.Errorf("Lookup(%q) succeeded", name)
		}
	}
	for name, want := range map[string]string{"sha256": "sha256-generic", "sha1-generic": "sha1-generic", "hmac(sha512)": "hmac(sha512-generic)", "crc32": "crc32-generic"} {
		if h, ok := Lookup(name); !ok || h.Driver != want {
			t.Errorf("Lookup(%q): driver %v, want %q", name, h, want)
		}
	}
	wantCRC := "crc32c-generic"
	if cpu.X86.HasSSE42 {
		wantCRC = "crc32c-intel"
	}
	if h, ok := Lookup("crc32c"); !ok || h.Driver != wantCRC {
		t.Errorf("crc32c: driver %v, want %s", h, wantCRC)
	}
	if _, ok := Lookup("crc32c-intel"); ok != cpu.X86.HasSSE42 {
		t.Errorf("Lookup(crc32c-intel) = %v on a CPU with SSE4.2 %v", ok, cpu.X86.HasSSE42)
	}
	for _, c := range []struct {
		name string
		key  []byte
		want syscall.Errno
	}{
		{"sha256", []byte{1}, syscall.ENOSYS},
		{"crc32c", []byte{1, 2, 3}, syscall.EINVAL},
		{"crc32c", []byte{1, 2, 3, 4}, 0},
		{"hmac(sha1)", []byte{1}, 0},
	} {
		h, _ := Lookup(c.name)
		if got := h.SetKey(c.key); got != c.want {
			t.Errorf("%s.SetKey(%x) = %v, want %v", c.name, c.key, got, c.want)
		}
	}
	if h, _ := Lookup("hmac(md5)"); !h.Keyed {
		t.Errorf("hmac(md5) is not keyed")
	}
}
