package flakey

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

// TestConstructorErrors checks every ti->error of flakey_ctr and
// parse_features, word for word, with its errno.
func TestConstructorErrors(t *testing.T) {
	dev := devFile(t)
	missing := filepath.Join(t.TempDir(), "missing.img")
	cases := []struct {
		table string // after the device; "@missing" names a missing device instead
		msg   string
		errno syscall.Errno
	}{
		{"", "Invalid argument count", syscall.EINVAL},
		{"0 1", "Invalid argument count", syscall.EINVAL},
		{"x 1 1", "Invalid device sector", syscall.EINVAL},
		{"+1 1 1", "Invalid device sector", syscall.EINVAL},
		{"-1 1 1", "Invalid device sector", syscall.EINVAL},
		{"0x10 1 1", "Invalid device sector", syscall.EINVAL},
		{"0 x 1", "Invalid up interval", syscall.EINVAL},
		{"0 +1 1", "Invalid up interval", syscall.EINVAL},
		// the down interval is read with the up interval's message
		{"0 1 x", "Invalid up interval", syscall.EINVAL},
		{"0 1 -1", "Invalid up interval", syscall.EINVAL},
		{"0 0 0", "Total (up + down) interval is zero", syscall.EINVAL},
		{"0 1 4294967295", "Total (up + down) interval is zero", syscall.EINVAL},
		{"0 2 4294967295", "Interval overflow", syscall.EINVAL},
		{"0 4294967295 4294967295", "Interval overflow", syscall.EINVAL},
		{"0 1 1 x", "Invalid number of feature args", syscall.EINVAL},
		{"0 1 1 7 drop_writes a b c d e f", "Invalid number of feature args", syscall.EINVAL},
		{"0 1 1 2 drop_writes", "Invalid number of feature args", syscall.EINVAL},
		{"0 1 1 1 frob", "Unrecognised flakey feature requested", syscall.EINVAL},
		{"0 1 1 1 error_reads", "Unrecognised flakey feature requested", syscall.EINVAL},
		{"0 1 1 2 drop_writes drop_writes", "Feature drop_writes duplicated", syscall.EINVAL},
		{"0 1 1 2 error_writes ERROR_WRITES", "Feature error_writes duplicated", syscall.EINVAL},
		{"0 1 1 2 error_writes drop_writes", "Feature drop_writes conflicts with feature error_writes", syscall.EINVAL},
		{"0 1 1 2 drop_writes error_writes", "Feature error_writes conflicts with feature drop_writes", syscall.EINVAL},
		{"0 1 1 3 drop_writes error_writes drop_writes", "Feature error_writes conflicts with feature drop_writes", syscall.EINVAL},
		{"0 1 1 1 corrupt_bio_byte", "Feature corrupt_bio_byte requires parameters", syscall.EINVAL},
		{"0 1 1 1 corrupt_bio_byte 1 r 0 0", "Feature corrupt_bio_byte requires parameters", syscall.EINVAL},
		{"0 1 1 5 corrupt_bio_byte 0 r 0 0", "Invalid corrupt bio byte", syscall.EINVAL},
		{"0 1 1 5 corrupt_bio_byte 4294967296 r 0 0", "Invalid corrupt bio byte", syscall.EINVAL},
		{"0 1 1 5 corrupt_bio_byte x r 0 0", "Invalid corrupt bio byte", syscall.EINVAL},
		{"0 1 1 5 corrupt_bio_byte 1 x 0 0", "Invalid corrupt bio direction (r or w)", syscall.EINVAL},
		{"0 1 1 5 corrupt_bio_byte 1 rw 0 0", "Invalid corrupt bio direction (r or w)", syscall.EINVAL},
		{"0 1 1 5 corrupt_bio_byte 1 r 256 0", "Invalid corrupt value to write into bio byte (0-255)", syscall.EINVAL},
		{"0 1 1 5 corrupt_bio_byte 1 r -1 0", "Invalid corrupt value to write into bio byte (0-255)", syscall.EINVAL},
		{"0 1 1 5 corrupt_bio_byte 1 r 0 x", "Invalid corrupt bio flags mask", syscall.EINVAL},
		// a short group: the parameters are read past its end ...
		{"0 1 1 2 corrupt_bio_byte 1", "Invalid corrupt bio direction (r or w)", syscall.EINVAL},
		{"0 1 1 3 corrupt_bio_byte 1 r", "Invalid corrupt value to write into bio byte (0-255)", syscall.EINVAL},
		// ... and the count wraps: the loop reads on until the words run out
		{"0 1 1 2 corrupt_bio_byte 1 r 0 0", "Insufficient feature arguments", syscall.EINVAL},
		{"0 1 1 2 corrupt_bio_byte 1 r 0 0 drop_writes", "Insufficient feature arguments", syscall.EINVAL},
		{"0 1 1 3 corrupt_bio_byte 1 r 0 0 frob", "Unrecognised flakey feature requested", syscall.EINVAL},
		{"0 1 1 6 corrupt_bio_byte 1 w 0 0 drop_writes", "drop_writes is incompatible with corrupt_bio_byte with the WRITE flag set", syscall.EINVAL},
		{"0 1 1 6 Drop_Writes corrupt_bio_byte 1 W 0 0", "drop_writes is incompatible with corrupt_bio_byte with the WRITE flag set", syscall.EINVAL},
		{"0 1 1 6 error_writes corrupt_bio_byte 1 w 0 0", "error_writes is incompatible with corrupt_bio_byte with the WRITE flag set", syscall.EINVAL},
		// the long s folds to 's' in Unicode, not in strcasecmp
		{"0 1 1 1 drop_write\u017f", "Unrecognised flakey feature requested", syscall.EINVAL},
		// the device is opened last
		{"@missing 0 1 1", "Device lookup failed", syscall.ENODEV},
		{"@missing 0 1 1 1 frob", "Unrecognised flakey feature requested", syscall.EINVAL},
		{"@missing x 1 1", "Invalid device sector", syscall.EINVAL},
	}
	for _, c := range cases {
		args := strings.Fields(c.table)
		if len(args) > 0 && args[0] == "@missing" {
			args[0] = missing
		} else {
			args = append([]string{dev}, args...)
		}
		_, err := New(dmtest.NewDirect(t).Context(100), args)
		var ce *targets.CtrError
		if !errors.As(err, &ce) {
			t.Errorf("flakey %q: error %v, want a CtrError %q", c.table, err, c.msg)
			continue
		}
		if ce.Msg != c.msg || ce.Errno != c.errno {
			t.Errorf("flakey %q: %q (%v), want %q (%v)", c.table, ce.Msg, ce.Errno, c.msg, c.errno)
		}
	}
}

// TestTableLines checks flakey_status's STATUSTYPE_TABLE (every item
// followed by a space) and the empty STATUSTYPE_INFO.
func TestTableLines(t *testing.T) {
	dev := devFile(t)
	cases := []struct{ table, want string }{
		{"0 1 1", "0 1 1 0 "},
		{"0 1 1 0", "0 1 1 0 "},
		{"8 3600 0 1 DROP_WRITES", "8 3600 0 1 drop_writes "},
		{"0 0 1 1 Error_Writes", "0 0 1 1 error_writes "},
		{"0 0 1 5 corrupt_bio_byte 32 R 255 4294967295", "0 0 1 5 corrupt_bio_byte 32 r 255 4294967295 "},
		{"0 0 1 5 CORRUPT_BIO_BYTE 1 w 7 1", "0 0 1 5 corrupt_bio_byte 1 w 7 1 "},
		{"0 0 1 6 drop_writes corrupt_bio_byte 1 r 0 1", "0 0 1 6 drop_writes corrupt_bio_byte 1 r 0 1 "},
		{"0 0 1 6 corrupt_bio_byte 1 r 0 1 error_writes", "0 0 1 6 error_writes corrupt_bio_byte 1 r 0 1 "},
		// numbers read by sscanf wrap at 32 (intervals) or 64 bits (offset)
		{"0 4294967296 1", "0 0 1 0 "},
		{"18446744073709551617 1 1", "1 1 1 0 "},
		// words after the feature group are ignored
		{"0 1 1 1 drop_writes extra words", "0 1 1 1 drop_writes "},
		{"0 1 1 0 drop_writes", "0 1 1 0 "},
	}
	for _, c := range cases {
		f := build(t, dev, strings.Fields(c.table)...)
		if got, want := f.Table(), dev+" "+c.want; got != want {
			t.Errorf("flakey %q: table %q, want %q", c.table, got, want)
		}
		if got := f.Status(); got != "" {
			t.Errorf("flakey %q: status %q, want empty", c.table, got)
		}
	}
}
