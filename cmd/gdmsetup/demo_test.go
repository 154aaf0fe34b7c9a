package main

import "testing"

func TestDemo(t *testing.T) {
	s := newSandbox(t)
	out := s.ok("", "demo")
	if !contains(out, "demo: every byte written through the devices read back identical") {
		t.Fatalf("demo output:\n%s", out)
	}
}
