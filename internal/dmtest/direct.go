package dmtest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Direct is what a test gives a target's constructor that it calls itself,
// without a registry: Context opens files (each closed when the test ends)
// and keeps the kernel log lines it is sent. mu guards log.
type Direct struct {
	t   testing.TB
	mu  sync.Mutex
	log []string
}

// NewDirect starts a Direct for t.
func NewDirect(t testing.TB) *Direct { return &Direct{t: t} }

// Context is a context for a line of lenSectors on device 253:0, whose
// table events go nowhere; the test sets any other field (Inactive,
// Restored, Event...) on it.
func (d *Direct) Context(lenSectors uint64) *targets.Context {
	return &targets.Context{
		Len: lenSectors, DevName: "253:0",
		Open: func(path string) (targets.Dev, error) {
			f, err := targets.OpenFile(path)
			if err != nil {
				return nil, err
			}
			d.t.Cleanup(func() { f.Close() })
			return f, nil
		},
		Logf:              func(format string, args ...any) { d.printk(fmt.Sprintf("device-mapper: "+format, args...)) },
		Printk:            d.printk,
		NoflushSuspending: func() bool { return false },
		Event:             func() {},
	}
}

func (d *Direct) printk(line string) {
	d.mu.Lock()
	d.log = append(d.log, line)
	d.mu.Unlock()
}

// TakeLog returns the kernel log lines since the last call.
func (d *Direct) TakeLog() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	l := d.log
	d.log = nil
	return l
}
