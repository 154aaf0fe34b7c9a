package table

import "strings"

// SplitArgs splits params into arguments exactly as the kernel's
// dm_split_args does before calling a target's constructor: arguments are
// separated by runs of whitespace (the kernel's isspace, which also counts
// byte 0xA0), and a backslash makes the next byte literal, whitespace and
// backslash included. A backslash as the very last byte is kept as itself.
// Empty params give no arguments (a nil slice). The kernel sees params as
// a C string, so a NUL byte ends it here too.
func SplitArgs(params string) []string {
	if nul := strings.IndexByte(params, 0); nul >= 0 {
		params = params[:nul]
	}
	var args []string
	i := 0
	for {
		for i < len(params) && isKernelSpace(params[i]) {
			i++
		}
		if i >= len(params) {
			return args
		}
		arg := make([]byte, 0, 16)
		for i < len(params) {
			c := params[i]
			if c == '\\' && i+1 < len(params) {
				arg = append(arg, params[i+1])
				i += 2
				continue
			}
			if isKernelSpace(c) {
				break
			}
			arg = append(arg, c)
			i++
		}
		args = append(args, string(arg))
	}
}

// isKernelSpace reports whether c is whitespace for the kernel's isspace
// (lib/ctype.c): the C-locale spaces plus 0xA0, Latin-1 no-break space.
func isKernelSpace(c byte) bool {
	return isCSpace(c) || c == 0xA0
}
