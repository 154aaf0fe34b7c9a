package targets

// LowerASCII returns s with its ASCII letters lowered and nothing else
// changed, so that comparing it with a lower-case word is the kernel's
// strcasecmp: strings.ToLower and strings.EqualFold also fold letters beyond
// ASCII (the Kelvin sign to k, the long s to s), which the kernel does not.
func LowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
