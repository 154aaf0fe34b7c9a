package dust

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// FuzzDustTable builds dust from any words after a real device, and sends
// any message to the targets it builds: an error or a target, never a
// panic; a target's lines name the device.
func FuzzDustTable(f *testing.F) {
	for _, s := range []string{"0 512", "0 +4096", "8 1073741824", "x 512", "0 4294967808", "0 0", "0 512 x",
		"18446744073709551615 512"} {
		f.Add(s, "addbadblock 3 2")
	}
	f.Add("0 4096", "listbadblocks")
	f.Add("0 4096", "queryblock 18446744073709551615")
	f.Add("0 4096", "addbadblock 99999999999999999999999 4294967296")
	f.Fuzz(func(t *testing.T, table, msg string) {
		dev := dmtest.Sparse(t, filepath.Join(t.TempDir(), "dev.img"), 1<<16)
		log := dmtest.NewDirect(t)
		tg, err := New(log.Context(128), append([]string{dev}, strings.Fields(table)...))
		if err != nil {
			return
		}
		d := tg.(*Dust)
		if !strings.HasPrefix(d.Table(), dev+" ") || !strings.HasPrefix(d.Status(), dev+" ") {
			t.Fatalf("lines %q / %q do not name the device", d.Table(), d.Status())
		}
		if words := strings.Fields(msg); len(words) > 0 {
			d.Message(words)
		}
		d.ReadAt(make([]byte, 512), 0)
		d.WriteAt(make([]byte, 512), 127)
		d.Flush()
	})
}
