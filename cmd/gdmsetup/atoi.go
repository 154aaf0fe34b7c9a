package main

import (
	"strings"
	"unicode/utf8"
)

// strtol is glibc's strtol on LP64 for base 8 or 10: leading white space,
// a sign, then the digits of the base; a value beyond int64 saturates
// (overflow is set). rest is what follows the digits (s whole when there
// are none).
func strtol(s string, base int64) (v int64, rest string, overflow bool) {
	t := strings.TrimLeftFunc(s, func(r rune) bool { return r < utf8.RuneSelf && cSpace(byte(r)) })
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	var u uint64
	n := 0
	for ; n < len(t) && t[n] >= '0' && t[n] < byte('0'+base); n++ {
		d := uint64(t[n] - '0')
		if u > (1<<64-1-d)/uint64(base) {
			overflow = true
			continue
		}
		u = u*uint64(base) + d
	}
	if n == 0 {
		return 0, s, false
	}
	limit := uint64(1<<63 - 1)
	if neg {
		limit++
	}
	if overflow || u > limit {
		if neg {
			return -1 << 63, t[n:], true
		}
		return 1<<63 - 1, t[n:], true
	}
	if neg {
		return -int64(u), t[n:], false
	}
	return int64(u), t[n:], false
}

// atoi is glibc's atoi: strtol's value cut to an int.
func atoi(s string) int32 {
	v, _, _ := strtol(s, 10)
	return int32(v)
}
