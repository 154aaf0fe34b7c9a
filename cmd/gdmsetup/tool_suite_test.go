package main

import (
	"bytes"
	"strings"
	"testing"
)

// runT runs `gdmsetup WORD args...` with no input and returns the exit code,
// stdout and stderr.
func (s *toolSuite) runT(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := s.run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}
