package main

import "testing"

func TestDemo(t *testing.T) {
	s := newSandbox(t)
	out := s.ok("", "demo")
	if !contains(out, "demo: every byte read back as written; the snapshot kept the old version") {
		t.Fatalf("demo output:\n%s", out)
	}
}
