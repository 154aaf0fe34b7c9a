package main

// cmdDiscard is `discard NAME --offset BYTES --length BYTES`, the request
// blkdiscard sends.
func cmdDiscard(e *env) error {
	d, err := e.ioDevice("discard")
	if err != nil {
		return err
	}
	off, err := e.opts.bytes("offset", 0)
	if err != nil {
		return err
	}
	length, err := e.opts.bytes("length", max(d.SizeBytes()-off, 0))
	if err != nil {
		return err
	}
	if err := d.Discard(off, length); err != nil {
		return &ioError{op: "discard", name: d.Name(), offBytes: off, err: err}
	}
	return nil
}
