package main

import (
	"fmt"
	"time"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/errno"
)

// ioError is a failed read, write or discard: "OP NAME at OFFSET: <strerror>",
// the errno's text last as dd and blkdiscard print it.
type ioError struct {
	op, name string
	offBytes int64
	err      error
}

func (e *ioError) Error() string {
	return fmt.Sprintf("%s %s at byte %d: %s", e.op, e.name, e.offBytes, errno.Text(errno.Of(e.err)))
}

func (e *ioError) Unwrap() error { return e.err }

// ioDevice returns the named device ready for I/O. While it is suspended a
// command that owns the state directory lets go of it and waits for another
// process to resume it, as I/O on a suspended kernel device waits.
func (e *env) ioDevice(op string) (*dm.Device, error) {
	if len(e.args) != 1 {
		return nil, usageError("Please specify one device.")
	}
	name := e.args[0]
	for {
		d, ok := e.reg.Lookup(name)
		if !ok {
			return nil, &ioError{op: op, name: name, err: enxio}
		}
		if err := d.Prepare(); err != nil {
			return nil, &ioError{op: op, name: name, err: err}
		}
		if !d.Suspended() || !e.ownRegistry {
			return d, nil
		}
		if err := e.reopen(100 * time.Millisecond); err != nil {
			return nil, err
		}
	}
}
