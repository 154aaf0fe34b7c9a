package targets

import (
	"errors"
	"strconv"
	"syscall"
)

// PowerOfTwo reports whether n is a power of two (1, 2, 4, ...), as table
// arguments such as block and chunk sizes must be.
func PowerOfTwo(n uint64) bool { return n != 0 && n&(n-1) == 0 }

// ParseUint parses a decimal unsigned number the way the kernel's
// kstrtoull / sscanf("%llu%c") accept a table argument: an optional '+',
// decimal digits, nothing after them, no overflow of bits.
func ParseUint(s string, bits int) (uint64, bool) {
	if len(s) > 0 && s[0] == '+' {
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(s, 10, bits)
	return v, err == nil
}

// ScanUint parses a decimal unsigned number the way the kernel's
// sscanf("%llu%c") or sscanf("%u%c") (bits 64 or 32) reads a table
// argument: decimal digits only (no sign), nothing after them; a value too
// large wraps modulo 2^64 and is then cut to bits, as the kernel's
// simple_strntoull and the store into the narrower variable do.
func ScanUint(s string, bits int) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + uint64(s[i]-'0')
	}
	if bits < 64 {
		v &= 1<<bits - 1
	}
	return v, true
}

// OpenErrno returns the errno of a failed Context.Open (ENODEV when it has none).
func OpenErrno(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return syscall.ENODEV
}
