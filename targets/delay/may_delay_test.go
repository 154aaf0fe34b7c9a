package delay_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
	"github.com/gdmsetup/gdmsetup/targets/delay"
)

// TestNoDelayFromPresuspendToResume: presuspend stops the delaying and
// nothing but resume restarts it (the kernel has no presuspend_undo for
// delay: after a suspend that failed, I/O goes at once until a resume).
func TestNoDelayFromPresuspendToResume(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a")
	if err := os.WriteFile(p, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	var files []*targets.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	ctx := &targets.Context{Len: 8, Open: func(path string) (targets.Dev, error) {
		f, err := targets.OpenFile(path)
		if err == nil {
			files = append(files, f)
		}
		return f, err
	}}
	tg, err := delay.New(ctx, []string{p, "0", "3600000"})
	if err != nil {
		t.Fatal(err)
	}
	d := tg.(*delay.Delay)
	d.PreSuspend()
	dmtest.Within(t, "a read after presuspend (an hour's delay)", func() error { return d.ReadAt(make([]byte, 512), 0) }, nil)
	dmtest.Within(t, "a flush after presuspend (an hour's delay)", d.Flush, nil)
	d.Resume()
	read := make(chan error, 1)
	go func() { read <- d.ReadAt(make([]byte, 512), 0) }()
	for deadline := time.Now().Add(10 * time.Second); d.Status() != "1 0 0"; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("status %q after resume and a read, want 1 0 0", d.Status())
		}
	}
	d.PreSuspend()
	dmtest.Within(t, "the read delayed after resume", func() error { return <-read }, nil)
}
