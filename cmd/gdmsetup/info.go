package main

import (
	"fmt"
	"syscall"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/errno"
)

// cmdInfo is `info [NAME...]`: dmsetup's long form, or with -c/--columns its
// report (fields chosen with -o, order with -O/--sort, headings off with
// --noheadings, --separator). The report holds the rows of the devices
// found, also when another failed.
func cmdInfo(e *env) error {
	var infos []dm.Info
	columns := e.opts.has("columns")
	err := e.eachName(func(_, kernel string) error {
		d, ok := e.reg.Lookup(kernel)
		if !ok {
			return dm.ErrNoDevice
		}
		in, err := e.shownInfo(d.Info())
		if err != nil {
			return err
		}
		if columns {
			infos = append(infos, in)
		} else {
			printInfo(e, in)
		}
		return nil
	})
	if columns && len(infos) > 0 {
		if cerr := infoColumns(e, infos); cerr != nil {
			return cerr
		}
	}
	return err
}

func printInfo(e *env, in dm.Info) {
	state := "ACTIVE"
	if in.Suspended {
		state = "SUSPENDED"
	}
	if in.ReadOnly {
		state += " (READ-ONLY)"
	}
	if in.Deferred {
		state += " (DEFERRED REMOVE)"
	}
	tables := "None"
	switch {
	case in.Live && in.Inactive:
		tables = "LIVE & INACTIVE"
	case in.Live:
		tables = "LIVE"
	case in.Inactive:
		tables = "INACTIVE"
	}
	w := e.stdout
	fmt.Fprintf(w, "Name:              %s\n", in.Name)
	fmt.Fprintf(w, "State:             %s\n", state)
	if in.Disk {
		fmt.Fprintf(w, "Read Ahead:        %d\n", in.ReadAheadSectors)
	} else {
		fmt.Fprintln(e.stderr, readAheadOpenFailure(in))
	}
	fmt.Fprintf(w, "Tables present:    %s\n", tables)
	fmt.Fprintf(w, "Open count:        %d\n", in.OpenCount)
	fmt.Fprintf(w, "Event number:      %d\n", in.EventNr)
	fmt.Fprintf(w, "Major, minor:      %d, %d\n", dm.Major, in.Minor)
	fmt.Fprintf(w, "Number of targets: %d\n", in.Targets)
	if in.UUID != "" {
		fmt.Fprintf(w, "UUID: %s\n", in.UUID)
	}
	fmt.Fprintln(w)
}

// attr is the Stat column: live table, inactive table, suspended, read-only.
func attr(in dm.Info) string {
	b := []byte("----")
	if in.Live {
		b[0] = 'L'
	}
	if in.Inactive {
		b[1] = 'I'
	}
	if in.Suspended {
		b[2] = 's'
	}
	if in.ReadOnly {
		b[3] = 'r'
	} else {
		b[3] = 'w'
	}
	return string(b)
}

// defaultInfoFields are the columns of `info -c` without -o.
const defaultInfoFields = "name,major,minor,attr,open,segments,events,uuid"

// infoColumns is `info -c`: dmsetup's device report.
func infoColumns(e *env, infos []dm.Info) error {
	objs, err := deviceReportObjs(e, infos)
	if err != nil {
		return err
	}
	return e.rep.output(e.stdout, e.stderr, objs)
}

// readAheadOpenFailure is libdm's line when the read-ahead of a device the
// kernel has no block device for is read: with no sysfs entry, libdm opens
// the node, which it makes at the first resume (ENOENT before) and which
// cannot be opened while the block device is missing (ENXIO).
func readAheadOpenFailure(in dm.Info) string {
	why := syscall.ENOENT
	if in.Node {
		why = syscall.ENXIO
	}
	return fmt.Sprintf("/dev/mapper/%s: open failed: %s", in.Name, errno.Text(why))
}
