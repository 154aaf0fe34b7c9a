package flakey

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// TestFUACorruptFlags: while down, corrupt_bio_byte ... w matches a FUA
// write's bi_opf, REQ_OP_WRITE|REQ_FUA (1|1<<17): a mask with REQ_FUA's
// bit corrupts FUA writes and not plain ones; a FUA write is dropped or
// failed as any write.
func TestFUACorruptFlags(t *testing.T) {
	setClock(t)
	const nth = 5
	for _, c := range []struct {
		features          string
		plain, fuaOutcome outcome
	}{
		{"5 corrupt_bio_byte 5 w 0 0", corrupted, corrupted},
		{"5 corrupt_bio_byte 5 w 0 1", corrupted, corrupted},
		{fmt.Sprint("5 corrupt_bio_byte 5 w 0 ", 1<<17), done, corrupted},
		{fmt.Sprint("5 corrupt_bio_byte 5 w 0 ", 1<<17|1), done, corrupted},
		{fmt.Sprint("5 corrupt_bio_byte 5 w 0 ", 1<<17|2048), done, done},
		{fmt.Sprint("5 corrupt_bio_byte 5 r 0 ", 1<<17), done, done},
		{"1 drop_writes", dropped, dropped},
		{"1 error_writes", failed, failed},
		{"", failed, failed},
	} {
		t.Run(c.features, func(t *testing.T) {
			dev := devFile(t)
			orig := pattern("dev", devBytes)
			f := build(t, dev, append([]string{"0", "0", "1"}, strings.Fields(c.features)...)...)
			for _, w := range []struct {
				name   string
				sector uint64
				want   outcome
				write  func(p []byte, sector uint64) error
			}{{"plain write", 16, c.plain, f.WriteAt}, {"FUA write", 32, c.fuaOutcome, f.WriteFUA}} {
				p := pattern(w.name, 4096)
				err := w.write(p, w.sector)
				on := dmtest.FileBytes(t, dev, int64(w.sector)*512, 4096)
				checkOutcome(t, w.name, w.want, err, func() bool { return bytes.Equal(on, p) },
					func() bool { return bytes.Equal(on, withByte(p, nth-1, 0)) })
				if (w.want == dropped || w.want == failed) && !bytes.Equal(on, orig[w.sector*512:w.sector*512+4096]) {
					t.Errorf("%s: the file changed", w.name)
				}
			}
		})
	}
}
