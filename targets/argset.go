package targets

// ArgSet walks a constructor's arguments as the kernel's struct dm_arg_set
// does (dm_shift_arg, dm_read_arg, dm_read_arg_group): one word at a time,
// counts read with sscanf("%u").
type ArgSet struct{ Args []string }

// Len is the number of words left.
func (a *ArgSet) Len() int { return len(a.Args) }

// Shift takes the next word; "" and false when none is left.
func (a *ArgSet) Shift() (string, bool) {
	if len(a.Args) == 0 {
		return "", false
	}
	s := a.Args[0]
	a.Args = a.Args[1:]
	return s, true
}

// ReadArg is dm_read_arg: the next word as a 32-bit number read by sscanf
// (ScanUint) in [min, max]; otherwise Invalid(msg).
func (a *ArgSet) ReadArg(min, max uint64, msg string) (uint64, error) {
	return a.read(min, max, msg, false)
}

// ReadArgGroup is dm_read_arg_group: as ReadArg, and the count must not
// exceed the words left after it (the same msg when it does).
func (a *ArgSet) ReadArgGroup(min, max uint64, msg string) (int, error) {
	n, err := a.read(min, max, msg, true)
	return int(n), err
}

func (a *ArgSet) read(min, max uint64, msg string, grouped bool) (uint64, error) {
	s, ok := a.Shift()
	var v uint64
	if ok {
		v, ok = ScanUint(s, 32)
	}
	if !ok || v < min || v > max || grouped && v > uint64(len(a.Args)) {
		return 0, Invalid(msg)
	}
	return v, nil
}
