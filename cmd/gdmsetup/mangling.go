package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/gdmsetup/gdmsetup/dm"
)

// nameMangling is how device names and uuids pass between the command
// line and the kernel (libdm's dm_string_mangling_t, set by --manglename).
// The kernel takes any byte in a name, udev only those udevChar accepts:
// libdm sends the others as \xNN and decodes them in what the kernel
// returns.
type nameMangling int

const (
	// mangleNone passes names as they are, both ways.
	mangleNone nameMangling = iota
	// mangleAuto encodes the characters udev rejects, keeps a \xNN already
	// there, and refuses a name mixing both forms.
	mangleAuto
	// mangleHex encodes every character udev rejects, backslashes too.
	mangleHex
)

// manglingEnv is libdm's DM_DEFAULT_NAME_MANGLING_MODE: the mode when no
// --manglename is given.
const manglingEnv = "DM_DEFAULT_NAME_MANGLING_MODE"

// parseMangling reads a mode's name (none, auto or hex, in any case).
func parseMangling(s string) (nameMangling, bool) {
	switch strings.ToLower(s) {
	case "none":
		return mangleNone, true
	case "auto":
		return mangleAuto, true
	case "hex":
		return mangleHex, true
	}
	return mangleAuto, false
}

// manglingOf is the mode of a command line: its last --manglename, else
// $DM_DEFAULT_NAME_MANGLING_MODE when that names a mode, else auto (as
// libdm's dm_lib_init). parseOptions has refused a --manglename naming no mode.
func manglingOf(o options) nameMangling {
	if o.has("manglename") {
		m, _ := parseMangling(o.str("manglename"))
		return m
	}
	m, _ := parseMangling(os.Getenv(manglingEnv))
	return m
}

// errUnknownMangling is dmsetup's refusal of --manglename's value.
const errUnknownMangling = optionError("Unknown name mangling mode.")

// udevChar reports whether udev takes c in a device name as it is (libdm's
// whitelist): letters, digits and #+-.:=@_.
func udevChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || strings.IndexByte("#+-.:=@_", c) >= 0
}

// mangleString is libdm's mangle_string: s with every character udev
// rejects as \xNN. mode none mangles as auto (the report's mangled fields
// and the mangle command ask for the mangled form whatever the mode). In
// auto mode a \x and the two characters after it are kept; a string with
// both kept and encoded parts, or a \x without two characters after it, is
// refused. bufLen is the caller's buffer (DM_NAME_LEN, DM_UUID_LEN): the
// result and its NUL must fit. what names s in the errors ("name", "UUID").
func mangleString(s, what string, bufLen int, mode nameMangling) (string, error) {
	const (
		unknown = iota
		kept
		encoded
	)
	seen := unknown
	var b strings.Builder
	mixed := usageError(fmt.Sprintf("The %s \"%s\" contains mixed mangled and unmangled characters or it's already mangled improperly.", what, s))
	long := usageError(fmt.Sprintf("Mangled form of the %s too long for \"%s\".", what, s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case mode != mangleHex && c == '\\' && i+1 < len(s) && s[i+1] == 'x':
			if len(s)-i < 4 || seen == encoded {
				return "", mixed
			}
			if bufLen-b.Len() < 4 {
				return "", long
			}
			b.WriteString(s[i : i+4])
			i += 3
			seen = kept
		case udevChar(c):
			if bufLen-b.Len() < 1 {
				return "", long
			}
			b.WriteByte(c)
		default:
			if mode != mangleHex && seen == kept {
				return "", mixed
			}
			if bufLen-b.Len() < 4 {
				return "", long
			}
			fmt.Fprintf(&b, "\\x%02x", c)
			seen = encoded
		}
	}
	if bufLen-b.Len() < 1 {
		return "", long
	}
	return b.String(), nil
}

// unmangleString is libdm's unmangle_string: s with each \xNN decoded.
// Unless mode is none, s must hold only characters udev takes and
// backslashes: the kernel's copy of a name libdm mangled. A \x followed by
// no hex digit ends the decoding there; it keeps what came before when
// something was decoded, else s is returned whole (libdm's sscanf and its
// buffer, NUL-terminated where it stopped).
func unmangleString(s, what string, mode nameMangling) (string, error) {
	var b strings.Builder
	decoded := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if mode != mangleNone && !udevChar(c) && c != '\\' {
			return "", usageError(fmt.Sprintf("The %s \"%s\" should be mangled but it contains blacklisted characters.", what, s))
		}
		if c != '\\' || i+1 >= len(s) || s[i+1] != 'x' {
			b.WriteByte(c)
			continue
		}
		code, digits := 0, 0
		for ; digits < 2 && i+2+digits < len(s) && hexDigit(s[i+2+digits]) >= 0; digits++ {
			code = code<<4 | hexDigit(s[i+2+digits])
		}
		if digits == 0 {
			break
		}
		b.WriteByte(byte(code))
		decoded = true
		i += 3
	}
	if !decoded {
		return s, nil
	}
	return b.String(), nil
}

// hexDigit is c's value as a hex digit, -1 when it is none.
func hexDigit(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// checkMangledOnce is libdm's check_multiple_mangled_string_allowed: in
// auto mode a string holding "\x5cx" (an encoded backslash before an x)
// was mangled twice, and is refused.
func checkMangledOnce(s, what string, mode nameMangling) error {
	if mode == mangleAuto && strings.Contains(s, `\x5cx`) {
		return usageError(fmt.Sprintf("The %s \"%s\" seems to be mangled more than once. This is not allowed in auto mode.", what, s))
	}
	return nil
}

// mangledOf is libdm's dm_task_get_name_mangled and _uuid_mangled: s (a
// "name" or a "UUID" the kernel returned) mangled per mode, none mangling
// as auto; a refusal carries libdm's line after it.
func mangledOf(s, what string, mode nameMangling) (string, error) {
	maxLen, kind := dm.MaxNameLen, "device name"
	if what == "UUID" {
		maxLen, kind = dm.MaxUUIDLen, "device uuid"
	}
	m, err := mangleString(s, what, maxLen+1, mode)
	if err != nil {
		return "", usageError(fmt.Sprintf("%s\nFailed to mangle %s \"%s\".", err, kind, s))
	}
	return m, nil
}
