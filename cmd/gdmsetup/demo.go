package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// cmdDemo is `demo`: it assembles devices on sparse files in a temporary
// directory (a linear device over two files, a striped one, a device stacked
// on them), writes through them, reads the bytes back and shows each
// command as a user would type it. --dir is ignored; the demo keeps its own.
func cmdDemo(e *env) error {
	work, err := os.MkdirTemp("", "gdmsetup-demo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	for _, name := range []string{"a.img", "b.img"} {
		if err := os.WriteFile(filepath.Join(work, name), nil, 0o644); err != nil {
			return err
		}
		if err := os.Truncate(filepath.Join(work, name), 64<<20); err != nil {
			return err
		}
	}
	a, b := filepath.Join(work, "a.img"), filepath.Join(work, "b.img")
	payload := bytes.Repeat([]byte("gdmsetup demo block\n"), 3000)
	steps := []struct {
		stdin string
		args  []string
	}{
		{"", []string{"create", "joined", "--table", fmt.Sprintf("0 65536 linear %s 0\n65536 65536 linear %s 0", a, b)}},
		{"", []string{"create", "st", "--table", fmt.Sprintf("0 131072 striped 2 128 %s 65536 %s 65536", a, b)}},
		{"", []string{"create", "top", "--table", "0 2048 linear /dev/mapper/joined 65000"}},
		{"", []string{"ls"}},
		{"", []string{"table"}},
		{"", []string{"status"}},
		{"", []string{"deps", "top"}},
		{string(payload), []string{"write", "top", "--offset", "4096"}},
		{string(payload), []string{"write", "st", "--offset", "1000"}},
		{"", []string{"info", "-c"}},
		{"", []string{"remove_all"}},
	}
	state := filepath.Join(work, "state")
	for _, s := range steps {
		fmt.Fprintf(e.stdout, "$ gdmsetup %s\n", quoteArgs(s.args))
		if code := run(append([]string{"--dir", state}, s.args...), strings.NewReader(s.stdin), e.stdout, e.stderr); code != 0 {
			return fmt.Errorf("demo step %q failed", strings.Join(s.args, " "))
		}
		if s.args[0] == "write" {
			if err := demoReadBack(e, state, s.args[1], s.args[3], payload); err != nil {
				return err
			}
		}
	}
	fmt.Fprintln(e.stdout, "demo: every byte written through the devices read back identical")
	return nil
}

// demoReadBack reads what a demo step wrote and checks it.
func demoReadBack(e *env, state, name, offset string, payload []byte) error {
	var out bytes.Buffer
	args := []string{"--dir", state, "read", name, "--offset", offset, "--length", fmt.Sprint(len(payload))}
	if code := run(args, strings.NewReader(""), &out, e.stderr); code != 0 {
		return fmt.Errorf("demo read back of %s failed", name)
	}
	if !bytes.Equal(out.Bytes(), payload) {
		return fmt.Errorf("demo: %s read back differs from what was written", name)
	}
	fmt.Fprintf(e.stdout, "$ gdmsetup read %s --offset %s --length %d | sha256sum\n%x  -\n", name, offset, len(payload), sha256.Sum256(out.Bytes()))
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
