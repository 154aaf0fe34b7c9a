package main

import (
	"strings"
	"testing"
)

// measureScript is a run of `measure` through its forms, each step with
// the stdout, stderr and exit code dmsetup 1.02.185 gives on Linux 6.1
// (testdata/fidelity/measure.scn holds the kernel's transcript); $DIR is
// the sandbox.
var measureScript = []struct {
	args           string // words; '_' within a word stands for a space
	stdout, stderr string
	code           int
	preparesOnly   bool // a step that must succeed, its output not checked
}{
	{args: "measure", stdout: "No devices found\n"},
	{args: "create lin --table 0_1024_linear_a.img_16", preparesOnly: true},
	{args: "create z --table 0_100_zero", preparesOnly: true},
	{args: "create st --table 0_64_striped_2_8_a.img_0_b.img_8", preparesOnly: true},
	{args: "create notab --notable", preparesOnly: true},
	{args: "measure lin", stdout: "0 1024 linear target_name=linear,target_version=1.4.0,device_name=$DIR/a.img,start=16;\n"},
	{args: "measure z lin", stdout: "z: 0 100 zero \nlin: 0 1024 linear target_name=linear,target_version=1.4.0,device_name=$DIR/a.img,start=16;\n"},
	{args: "measure", stdout: "lin: 0 1024 linear target_name=linear,target_version=1.4.0,device_name=$DIR/a.img,start=16;\n" +
		"notab: \n" +
		"st: 0 64 striped target_name=striped,target_version=1.6.0,stripes=2,chunk_size=8,stripe_0_device_name=$DIR/a.img,stripe_0_physical_start=0,stripe_0_status=A," +
		"stripe_1_device_name=$DIR/b.img,stripe_1_physical_start=8,stripe_1_status=A;\n" +
		"z: 0 100 zero \n"},
	{args: "measure --target zero", stdout: "z: 0 100 zero \n"},
	{args: "measure --target linear z"},
	{args: "measure nosuch", stderr: "Device does not exist.\nCommand failed.\n", code: 1},
	{args: "measure z nosuch lin", stdout: "z: 0 100 zero \n", stderr: "Device does not exist.\nCommand failed.\n", code: 1},
	{args: "measure notab", stdout: "\n"},
	{args: "reload notab --table 0_8_zero", preparesOnly: true},
	{args: "measure notab", stdout: "\n"},
	{args: "measure --inactive notab", stdout: "0 8 zero \n"},
	{args: "measure -v z", stdout: "Name:              z\nState:             ACTIVE\nRead Ahead:        256\nTables present:    LIVE\nOpen count:        0\n" +
		"Event number:      0\nMajor, minor:      253, 1\nNumber of targets: 1\n\n0 100 zero \n"},
	{args: "measure --concise z", stdout: "0 100 zero \n"},
	{args: "measure a b c d", stderr: "Device does not exist.\nCommand failed.\n", code: 1},
}

// TestMeasure runs measureScript with the command run here.
func TestMeasure(t *testing.T) {
	s := newSandbox(t)
	runMeasureScript(t, s)
}

// TestMeasureThroughServer runs measureScript through a server's control
// socket: the same bytes and exit codes.
func TestMeasureThroughServer(t *testing.T) {
	s := newSandbox(t)
	srv := s.serve()
	runMeasureScript(t, s)
	if srv.stop() != 0 {
		t.Fatalf("server:\n%s", srv.stderr)
	}
}

// runMeasureScript runs measureScript in s, on two 1 MiB files.
func runMeasureScript(t *testing.T, s *sandbox) {
	t.Helper()
	s.file("a.img", 1<<20)
	s.file("b.img", 1<<20)
	for _, step := range measureScript {
		a := args(step.args)
		for i, w := range a {
			a[i] = strings.ReplaceAll(w, "_", " ")
		}
		if step.preparesOnly {
			s.ok("", a...)
			continue
		}
		dir := func(out string) string { return strings.ReplaceAll(out, "$DIR", s.dir) }
		s.expect(a, "", dir(step.stdout), dir(step.stderr), step.code)
	}
}
