package main

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentProcesses runs many gdmsetup processes at once on one state
// directory: the lock serialises them, so every device exists once with its
// own minor and the state file stays whole.
func TestConcurrentProcesses(t *testing.T) {
	s := newSandbox(t)
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := s.run("", "create", fmt.Sprintf("d%02d", i), "--table", "0 8 zero")
			if r.code != 0 {
				errs <- r.stderr
			}
			s.run("", "status")
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	out := s.ok("", "ls")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != n {
		t.Fatalf("%d devices after %d concurrent creates:\n%s", len(lines), n, out)
	}
	minors := map[string]bool{}
	for _, l := range lines {
		m := l[strings.Index(l, "("):]
		if minors[m] {
			t.Fatalf("minor %s given twice:\n%s", m, out)
		}
		minors[m] = true
	}
	for i := 0; i < n; i++ {
		if !minors[fmt.Sprintf("(253:%d)", i)] {
			t.Fatalf("minor %d missing:\n%s", i, out)
		}
	}
}

func truncate(path string, size int64) error { return os.Truncate(path, size) }
