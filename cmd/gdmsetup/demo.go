package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// cmdDemo is `demo`: on sparse files in a temporary directory it builds a
// thin pool, a thin volume and a snapshot of it, writes through them, reads
// the bytes back (the snapshot keeps the old ones), and shows a linear
// device over two files; each command as a user would type it.
func cmdDemo(e *env) error {
	work, err := os.MkdirTemp("", "gdmsetup-demo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	files := map[string]int64{"meta.img": 4 << 20, "data.img": 64 << 20, "a.img": 8 << 20, "b.img": 8 << 20}
	for name, size := range files {
		if err := os.WriteFile(filepath.Join(work, name), nil, 0o644); err != nil {
			return err
		}
		if err := os.Truncate(filepath.Join(work, name), size); err != nil {
			return err
		}
	}
	p := func(name string) string { return filepath.Join(work, name) }
	v1 := bytes.Repeat([]byte("version one of the volume\n"), 2600)
	v2 := bytes.Repeat([]byte("VERSION TWO, after the snapshot\n"), 2100)
	steps := []struct {
		stdin  string
		args   []string
		expect []byte // what a read step must return
	}{
		{"", []string{"create", "pool", "--table", fmt.Sprintf("0 131072 thin-pool %s %s 128 16", p("meta.img"), p("data.img"))}, nil},
		{"", []string{"message", "pool", "0", "create_thin", "0"}, nil},
		{"", []string{"create", "vol", "--table", "0 2097152 thin /dev/mapper/pool 0"}, nil},
		{string(v1), []string{"write", "vol", "--offset", "1048576"}, nil},
		{"", []string{"suspend", "vol"}, nil},
		{"", []string{"message", "pool", "0", "create_snap", "1", "0"}, nil},
		{"", []string{"resume", "vol"}, nil},
		{"", []string{"create", "snap", "--table", "0 2097152 thin /dev/mapper/pool 1"}, nil},
		{string(v2), []string{"write", "vol", "--offset", "1048576"}, nil},
		{"", []string{"read", "vol", "--offset", "1048576", "--length", fmt.Sprint(len(v2))}, v2},
		{"", []string{"read", "snap", "--offset", "1048576", "--length", fmt.Sprint(len(v1))}, v1},
		{"", []string{"status"}, nil},
		{"", []string{"create", "joined", "--table", fmt.Sprintf("0 16384 linear %s 0\n16384 16384 linear %s 0", p("a.img"), p("b.img"))}, nil},
		{string(v1), []string{"write", "joined", "--offset", "8000000"}, nil},
		{"", []string{"read", "joined", "--offset", "8000000", "--length", fmt.Sprint(len(v1))}, v1},
		{"", []string{"ls", "--tree"}, nil},
		{"", []string{"remove_all"}, nil},
	}
	state := filepath.Join(work, "state")
	for _, s := range steps {
		fmt.Fprintf(e.stdout, "$ gdmsetup %s\n", quoteArgs(s.args))
		out := e.stdout
		var buf bytes.Buffer
		if s.expect != nil {
			out = &buf
		}
		if code := run(append([]string{"--dir", state}, s.args...), strings.NewReader(s.stdin), out, e.stderr); code != 0 {
			return fmt.Errorf("demo step %q failed", strings.Join(s.args, " "))
		}
		if s.expect != nil {
			if !bytes.Equal(buf.Bytes(), s.expect) {
				return fmt.Errorf("demo: %s read back differs from what was written", s.args[1])
			}
			fmt.Fprintf(e.stdout, "(%d bytes, sha256 %x: as written)\n", buf.Len(), sha256.Sum256(buf.Bytes()))
		}
	}
	fmt.Fprintln(e.stdout, "demo: every byte read back as written; the snapshot kept the old version")
	return nil
}

func quoteArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " \n\t") {
			a = "'" + a + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}
