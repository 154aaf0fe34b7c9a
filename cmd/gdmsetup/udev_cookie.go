package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// gdmsetup has no udev: its devices have no nodes for udev to make, so it
// behaves as dmsetup does where udev is not running. No cookie (no SysV
// semaphore) is ever made, so none is listed, waited for or destroyed; the
// commands still check their arguments and decode flags as dmsetup does.

// Cookie layout (libdm's DM_UDEV_FLAGS_SHIFT, DM_COOKIE_MAGIC): the high 16
// bits carry udev rule flags, the low 16 the semaphore's number; libdm's
// semaphores are keyed with the magic in the high bits.
const (
	udevFlagsShift = 16
	cookieMagic    = 0x0d4d
)

// errCookieValue is libdm's refusal of a cookie that is not a number from 1
// to 2^32-1.
const errCookieValue = usageError("Incorrect cookie value.")

// parseCookie reads a cookie value as dmsetup's _get_cookie_value does
// (strtoul with base 0: decimal, 0x hex or 0 octal; a leading sign or space
// is taken as strtoul takes it).
func parseCookie(s string) (uint32, error) {
	t := strings.TrimLeftFunc(s, func(r rune) bool { return r < utf8.RuneSelf && cSpace(byte(r)) })
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg, t = t[0] == '-', t[1:]
	}
	v, err := strconv.ParseUint(t, 0, 64)
	if err != nil || strings.Contains(t, "_") || strings.HasPrefix(strings.ToLower(t), "0b") || strings.HasPrefix(strings.ToLower(t), "0o") {
		return 0, errCookieValue
	}
	if neg {
		// strtoul negates in unsigned long: any nonzero value is then above 2^32-1
		v = -v
	}
	if v == 0 || v > 1<<32-1 {
		return 0, errCookieValue
	}
	return uint32(v), nil
}

// checkCookieOption reports a bad --udevcookie value when the options are
// read, as dmsetup does; the command then runs as if none was given.
func checkCookieOption(opts options, stderr io.Writer) {
	if opts.has("udevcookie") {
		if _, err := parseCookie(opts.str("udevcookie")); err != nil {
			fmt.Fprintln(stderr, err)
		}
	}
}
