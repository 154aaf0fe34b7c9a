package main

import (
	"fmt"
	"strings"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/table"
)

// cmdTable is `table [NAME...]`: each target's table line. Without a name
// every device, each line prefixed "NAME: "; --concise prints all devices on
// one line in the concise format.
func cmdTable(e *env) error {
	if e.opts.has("concise") {
		return tableConcise(e)
	}
	return printLines(e, "table", dm.StatusTable)
}

// printLines is dmsetup's _status, which serves table, status and measure:
// it prints the lines of the named devices (or all) with each target's
// string of type typ, each line prefixed "NAME: " when the command names
// other than one device (the name as given, or as listed). With -v a
// device's info comes before its first line instead of the prefixes (with
// -c, as one report of every device shown, after all lines, also when a
// later device failed), and with several devices an empty line after its
// last. A missing device
// fails as the ioctl of op (table) or "Device does not exist." (status
// and measure, which libdm's status task reports so).
func printLines(e *env, op string, typ dm.StatusType) error {
	verbose, columns := e.opts.has("verbose"), e.opts.has("columns")
	many := e.manyNames()
	var infos []dm.Info
	err := e.eachName(func(typed, kernel string) error {
		d, ok := e.reg.Lookup(kernel)
		if !ok {
			if typ != dm.StatusTable {
				return dm.ErrNoDevice
			}
			return &dm.IoctlError{Op: op, Name: kernel, Errno: enxio}
		}
		in, err := e.shownInfo(d.Info())
		if err != nil {
			return err
		}
		lines, err := e.reg.LinesOf(kernel, e.opts.has("inactive"), typ)
		if err != nil {
			return err
		}
		matched := false
		emit := func(line string) {
			switch {
			case verbose && !matched && columns:
				infos = append(infos, in)
			case verbose && !matched:
				printInfo(e, in)
			case many && !verbose:
				fmt.Fprintf(e.stdout, "%s: ", typed)
			}
			matched = true
			fmt.Fprintln(e.stdout, line)
		}
		if len(lines) == 0 && !e.opts.has("target") {
			// dmsetup prints one empty line for a device without the table
			emit("")
		}
		for _, l := range lines {
			if t := e.opts.str("target"); t != "" && l.Type != t {
				continue
			}
			params := l.Params
			if typ == dm.StatusTable {
				params = hideKey(l.Type, params, e.opts.has("showkeys"))
			}
			emit(fmt.Sprintf("%d %d %s %s", l.Start, l.Len, l.Type, params))
		}
		if many && verbose && matched {
			fmt.Fprintln(e.stdout)
		}
		return nil
	})
	if len(infos) > 0 {
		if cerr := infoColumns(e, infos); cerr != nil {
			return cerr
		}
	}
	return err
}

// tableConcise prints every device (or the named ones) as one concise
// list, names and uuids as the mode shows them.
func tableConcise(e *env) error {
	var out []table.ConciseDevice
	err := e.eachName(func(_, kernel string) error {
		d, ok := e.reg.Lookup(kernel)
		if !ok {
			return &dm.IoctlError{Op: "table", Name: kernel, Errno: enxio}
		}
		in, err := e.shownInfo(d.Info())
		if err != nil {
			return err
		}
		lines, err := e.reg.Lines(kernel, e.opts.has("inactive"), false)
		if err != nil {
			return err
		}
		minor := d.Minor()
		cd := table.ConciseDevice{Name: in.Name, UUID: in.UUID, Minor: &minor, Flags: "rw"}
		if in.ReadOnly {
			cd.Flags = "ro"
		}
		for _, l := range lines {
			cd.Table = append(cd.Table, table.Line{Start: l.Start, Length: l.Len, Type: l.Type, Params: hideKey(l.Type, l.Params, e.opts.has("showkeys"))})
		}
		out = append(out, cd)
		return nil
	})
	if len(out) > 0 {
		fmt.Fprintln(e.stdout, table.FormatConcise(out))
	}
	return err
}

// hideKey is dmsetup's key suppression in table output: without
// --showkeys, each character of a crypt line's key (its second word) is
// shown as '0', a kernel keyring reference (":SIZE:TYPE:DESC") as it is;
// in an integrity line, the key after the algorithm of the first
// internal_hash, journal_crypt and journal_mac (dmsetup's hide_key).
func hideKey(typ, params string, showKeys bool) string {
	switch {
	case showKeys:
		return params
	case typ == "crypt":
		start := strings.IndexByte(params, ' ') + 1
		if start == 0 || strings.HasPrefix(params[start:], ":") {
			return params
		}
		return zeroWord(params, start)
	case typ == "integrity":
		for _, name := range []string{"internal_hash:", "journal_crypt:", "journal_mac:"} {
			at := strings.Index(params, name)
			if at < 0 {
				continue
			}
			at += len(name)
			// the key is optional: the one after the algorithm's colon
			if sep := strings.IndexAny(params[at:], " :"); sep >= 0 && params[at+sep] == ':' {
				params = zeroWord(params, at+sep+1)
			}
		}
	}
	return params
}

// zeroWord is params with each character from start to the next space (or
// the end) shown as '0'.
func zeroWord(params string, start int) string {
	end := strings.IndexByte(params[start:], ' ')
	if end < 0 {
		end = len(params) - start
	}
	return params[:start] + strings.Repeat("0", end) + params[start+end:]
}
