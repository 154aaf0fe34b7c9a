package targets

import (
	"errors"
	"strconv"
	"syscall"
)

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

// OpenErrno returns the errno of a failed Context.Open (ENODEV when it has none).
func OpenErrno(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return syscall.ENODEV
}
