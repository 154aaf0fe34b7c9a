package main

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// metadataSizeCases are command lines that thin_metadata_size and gdmsetup
// read the same way: every unit letter, unit words cut short, -n's forms,
// sizes echoed with the unit chosen before them, overflowing sizes, and each
// refusal.
var metadataSizeCases = [][]string{
	{"-b", "64k", "-s", "1t", "-m", "1000"},
	{"-b", "128", "-s", "1048576", "-m", "100"},
	{"--block-size", "64k", "--pool-size=1T", "--max-thins", "12"},
	{"-b", "1m", "-s", "500g", "-m", "3", "-u", "bytes"},
	{"-b", "64k", "-s", "1t", "-m", "1000", "-u", "kilo"},
	{"-b", "64k", "-s", "1t", "-m", "1000", "-u", "kib"},
	{"-b", "64k", "-s", "1t", "-m", "1000", "-u", "se"},
	{"-b", "64k", "-s", "1t", "-m", "1000", "-u", "meg"},
	{"-b", "64k", "-s", "1t", "-m", "1000", "-u", "yo"},
	{"-b", "64k", "-s", "1t", "-m", "1000", "-u", "yotta"},
	{"-b", "64k", "-s", "1t", "-m", "1000", "-u", "e"},
	{"-b", "64k", "-s", "1t", "-m", "1000", "--unit", ""},
	{"-b", "64k", "-s", "1t", "-m", "1000", "-n"},
	{"-b", "64k", "-s", "1t", "-m", "1000", "-u", "g", "--numeric-only=short"},
	{"-b", "64k", "-s", "1t", "-m", "1000", "-u", "G", "--numeric-only=long"},
	{"-b", "64k", "-s", "1t", "-m", "1000", "-u", "m", "--numeric-only=s"},
	{"-b", "64k", "-s", "1t", "-m", "1000", "-u", "M", "--numeric-only=lo"},
	{"-b", "64k", "-s", "1t", "-m", "1000", "-n", "short"},
	{"-u", "m", "-b", "64", "-s", "1000000", "-m", "5k"},
	{"-b", "64", "-s", "1000000", "-m", "5k", "-u", "m"},
	{"-b", "64", "-s", "1000000", "-m", "3b", "-u", "k"},
	{"-b", "0", "-b", "128", "-s", "100000", "-m", "1s"},
	{"-b", "128", "-s", "256", "-m", "72", "-u", "K"},
	{"-b", "1", "-s", "9223372036854775807", "-m", "1", "-u", "b"},
	{"-b", "1", "-s", "99999999999999999999999", "-m", "1", "-u", "b"},
	{"-b", "1", "-s", "2", "-m", "2251799813685247", "-u", "b"},
	{"-b", "1", "-s", "2", "-m", "9223372036854775807b", "-u", "b"},
	{"-b", "1", "-s", "2", "-m", "9223372036854775807b", "-u", "e"},
	{"-b", "1", "-s", "2", "-m", "4503599627370495", "-u", "b"},
	{"-b", "2y", "-s", "4Y", "-m", "1"},
	{"-b", "64k", "-s", "1Z", "-m", "1", "-u", "P"},
	// getopt's glued values
	{"-b64k", "-s1t", "-m1000"},
	{"-b64k", "-s1t", "-m1000", "-ug", "-nshort"},
	{"-b64k", "-s1t", "-m1000", "-nlong", "-uM"},
	{"-b64k", "-s1t", "-m1000", "-n", "-ug"},
	{"-b", "64k", "-s", "1t", "-m", "1000", "-unit", "g"},
	// refusals
	{"-s", "1t", "-m", "1"},
	{"-b", "64k", "-m", "1"},
	{"-b", "64k", "-s", "1t"},
	{"-b", "63", "-s", "1t", "-m", "1"},
	{"-b", "64", "-s", "64", "-m", "1"},
	{"-b", "100b", "-s", "1t", "-m", "1"},
	{"-b", "64k", "-s", "1z", "-m", "1"},
	{"-b", "64k", "-s", "1t", "-m", "1", "-u", "q"},
	{"-b", "64k", "-s", "1t", "-m", "1", "-u", "bytesx"},
	{"-b", "64x", "-s", "1t", "-m", "1"},
	{"-b", "-5", "-s", "1t", "-m", "1"},
	{"-b", "64k", "-b", "64k", "-s", "1t", "-m", "1"},
	{"-b", "64k", "-s", "1t", "-m", "1", "-n", "-n"},
	{"-b", "64k", "-s", "1t", "-m", "1", "--numeric-only=x"},
	{"-b", "64k", "-s", "1t", "-m", "1", "--numeric-only="},
	{"-b", "64k", "-s", "1t", "-m", "1", "--numeric-only=longer"},
}

// unitLetterCases has one command line per output unit letter.
func unitLetterCases() [][]string {
	var cases [][]string
	for _, u := range sizeUnitLetters {
		cases = append(cases, []string{"-b", "256k", "-s", "10T", "-m", "50", "-u", string(u)})
	}
	return cases
}

func TestThinMetadataSizeAsThinMetadataSize(t *testing.T) {
	tool := thinTool(t, "thin_metadata_size")
	cases := append(unitLetterCases(), metadataSizeCases...)
	for _, args := range cases {
		cmd := exec.Command(tool, args...)
		var wantOut, wantErr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &wantOut, &wantErr
		wantCode := 0
		if err := cmd.Run(); err != nil {
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatal(err)
			}
			wantCode = ee.ExitCode()
		}
		code, out, errs := thinSuite.runT(t, append([]string{"metadata_size"}, args...)...)
		if code != wantCode || out != wantOut.String() {
			t.Errorf("%q: exit %d, stdout %q; thin_metadata_size: exit %d, stdout %q", args, code, out, wantCode, wantOut.String())
		}
		wantMsg := strings.TrimPrefix(wantErr.String(), "thin_metadata_size - ")
		if gotMsg := strings.TrimPrefix(errs, "gdmsetup thin metadata_size: "); gotMsg != wantMsg {
			t.Errorf("%q: stderr %q; thin_metadata_size's %q", args, errs, wantErr.String())
		}
	}
	t.Logf("%d command lines compared", len(cases))
}

func TestThinMetadataSizeOwnForms(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"-b", "64k", "-s", "1t", "-m", "1000", "-nl"}, 0, "1073224sectors\n"},
		{[]string{"-b", "64k", "-s", "1t", "-m", "1000", "-n", "-u", "k"}, 0, "536612\n"},
		{[]string{"-b", "64k", "-x"}, 1, ""},
		{[]string{"-b", "64k", "-s", "1t", "-m"}, 1, ""},
	} {
		code, out, errs := thinSuite.runT(t, append([]string{"metadata_size"}, c.args...)...)
		if code != c.code || out != c.out {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d, stdout %q", c.args, code, out, errs, c.code, c.out)
		}
	}
	code, out, _ := thinSuite.runT(t, "metadata_size", "--help")
	if code != 0 || !strings.Contains(out, "\t-b  --block-size BLOCKSIZE[bskKmMgGtTpPeEzZyY]  Block size of thin provisioned devices.\n") {
		t.Errorf("--help: exit %d\n%s", code, out)
	}
}
