package crypt

import (
	"strings"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// keySize is get_key_size: the key's size in bytes and the string that
// crypt_set_key then takes. A hex key's size is half its length (an odd
// last digit is ignored, as hex2bin reads whole pairs); a keyring
// reference ":SIZE:TYPE:DESC" gives SIZE and leaves ":TYPE:DESC".
func keySize(s string) (int, string, bool) {
	if !strings.HasPrefix(s, ":") {
		return len(s) / 2, s, true
	}
	colon := strings.IndexByte(s[1:], ':')
	if colon < 0 {
		return 0, "", false
	}
	n, ok := targets.ScanUint(s[1:1+colon], 32)
	if !ok || int32(n) < 0 {
		return 0, "", false
	}
	return int(n), s[1+colon:], true
}

// keyringErrno is crypt_set_keyring_key for "TYPE:DESC": EINVAL for a
// malformed reference or an unknown key type; otherwise the key would be
// looked up in the kernel keyring, which a user-space device-mapper
// cannot read (logon keys are never readable from user space): ENOKEY,
// the kernel's answer for a key not there.
func keyringErrno(ref string) syscall.Errno {
	colon := strings.IndexByte(ref, ':')
	if colon <= 0 || colon == len(ref)-1 {
		return syscall.EINVAL
	}
	switch ref[:colon+1] {
	case "logon:", "user:", "encrypted:", "trusted:":
		return syscall.ENOKEY
	}
	return syscall.EINVAL
}

// hexToKey is hex2bin into key: pairs of hex digits decoded in order into
// key's bytes; at the first pair that is not hex it stops (the bytes before
// it stay written, as the kernel's) and reports false.
func hexToKey(key []byte, s string) bool {
	for i := range key {
		hi, ok1 := hexDigit(s[2*i])
		lo, ok2 := hexDigit(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		key[i] = hi<<4 | lo
	}
	return true
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
