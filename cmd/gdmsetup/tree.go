package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/gdmsetup/gdmsetup/dm"
)

// treeNode is a device in dmsetup's dependency tree: a mapped device
// (info set) or a file under one (the kernel's disk; dev is its path).
// uses are the devices its live table uses, in the kernel's order; usedBy
// the mapped devices using it, in the order the tree linked them.
type treeNode struct {
	name, dev, blk string // blk: block device name, "" when there is none
	info           *dm.Info
	uses, usedBy   []*treeNode
}

// depTree is the whole dependency tree, built as libdm builds it: devices
// in name order, each followed depth-first by what it uses; nodes keeps
// the order they were made in.
type depTree struct {
	nodes []*treeNode
	byDev map[string]*treeNode
}

// buildDepTree builds reg's tree; show gives a device's info as the tree
// shows it (libdm's tree reads each device's name and uuid from an ioctl:
// decoded per the mangling mode).
func buildDepTree(reg *dm.Registry, show func(dm.Info) (dm.Info, error)) (*depTree, error) {
	t := &depTree{byDev: map[string]*treeNode{}}
	devs := map[uint32]*dm.Device{}
	for _, d := range reg.Devices() {
		devs[d.Minor()] = d
	}
	var add func(d *dm.Device) (*treeNode, error)
	add = func(d *dm.Device) (*treeNode, error) {
		key := devNo(d.Minor())
		if n, ok := t.byDev[key]; ok {
			return n, nil
		}
		in, err := show(d.Info())
		if err != nil {
			return nil, err
		}
		n := &treeNode{name: in.Name, dev: key, info: &in}
		if in.Disk {
			n.blk = fmt.Sprintf("dm-%d", in.Minor)
		}
		t.byDev[key] = n
		t.nodes = append(t.nodes, n)
		deps, err := reg.Deps(d.Name(), false)
		if err != nil {
			return nil, err
		}
		for _, dep := range deps {
			var c *treeNode
			if dep.Mapped {
				m, ok := devs[dep.Minor]
				if !ok {
					continue
				}
				if c, err = add(m); err != nil {
					return nil, err
				}
			} else if c = t.byDev[dep.Path]; c == nil {
				c = &treeNode{dev: dep.Path, blk: dep.Path}
				t.byDev[dep.Path] = c
				t.nodes = append(t.nodes, c)
			}
			n.uses = append(n.uses, c)
			c.usedBy = append(c.usedBy, n)
		}
		return n, nil
	}
	for _, d := range reg.Devices() {
		if _, err := add(d); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// devNo is a mapped device's MAJOR:MINOR, the key of its tree node.
func devNo(minor uint32) string { return fmt.Sprintf("%d:%d", dm.Major, minor) }

// treeSymbols are the drawing strings: empty, branch, vertical, last (two
// columns), and single and first child in compact mode (three).
type treeSymbols struct{ empty2, branch2, vert2, last2, single3, first3 string }

var (
	treeASCII = treeSymbols{"  ", "|-", "| ", "`-", "---", "-+-"}
	treeUTF   = treeSymbols{"  ", "├─", "│ ", "└─", "───", "─┬─"}
	treeVT100 = treeSymbols{"  ", "\x1b(0\x0ftq\x1b(B", "\x1b(0\x0fx\x1b(B ", "\x1b(0\x0fmq\x1b(B", "\x1b(0\x0fqqq\x1b(B", "\x1b(0\x0fqwq\x1b(B"}
)

// treeOptions are ls --tree's -o words.
type treeOptions struct {
	device, blkdevname, active, open, uuid, rw bool
	inverted, compact, truncate                bool
	sym                                        treeSymbols
}

// treeOptionWords in the order a prefix is tried (dmsetup matches each
// word as a prefix of these).
var treeOptionWords = []string{"device", "blkdevname", "nodevice", "status", "table", "active", "open", "uuid", "rw", "utf", "vt100", "ascii", "inverted", "compact", "notrunc"}

// parseTreeOptions reads -o for ls --tree; an unknown word is reported
// with the rest of the list, as dmsetup does. The drawing characters
// default to UTF-8 in a UTF-8 locale.
func parseTreeOptions(spec string) (treeOptions, error) {
	o := treeOptions{device: true, truncate: true, sym: treeASCII}
	if utf8Locale() {
		o.sym = treeUTF
	}
	if spec == "" {
		return o, nil
	}
	rest := spec
	for rest != "" {
		word, after, _ := strings.Cut(rest, ",")
		match := ""
		for _, w := range treeOptionWords {
			if strings.HasPrefix(w, word) {
				match = w
				break
			}
		}
		switch match {
		case "device":
			o.device = true
		case "blkdevname":
			o.blkdevname = true
		case "nodevice":
			o.device = false
		case "active":
			o.active = true
		case "open":
			o.open = true
		case "uuid":
			o.uuid = true
		case "rw":
			o.rw = true
		case "utf":
			o.sym = treeUTF
		case "vt100":
			o.sym = treeVT100
		case "ascii":
			o.sym = treeASCII
		case "inverted":
			o.inverted = true
		case "compact":
			o.compact = true
		case "notrunc":
			o.truncate = false
		default:
			// "status" and "table" add nothing in dmsetup 1.02.185 either,
			// but an unknown word is an error
			if match != "status" && match != "table" {
				return o, optionError(fmt.Sprintf("Tree options not recognised: %s.", rest))
			}
		}
		rest = after
	}
	return o, nil
}

// treeWriter prints the tree, cutting lines at width columns (counting a
// UTF-8 sequence as one) with "..." as dmsetup does: a line of exactly width
// columns is kept whole.
type treeWriter struct {
	buf      []byte
	x        int // column of the next character, from 1
	width    int
	truncate bool
	held     byte // the last column's character, printed only if the line ends there
	more     []bool
	widths   []int
}

func (tw *treeWriter) char(c byte) {
	if c&0xc0 != 0x80 {
		tw.x++
	}
	if !tw.truncate {
		tw.buf = append(tw.buf, c)
		return
	}
	if tw.x <= tw.width {
		tw.buf = append(tw.buf, c)
	}
	if tw.x == tw.width+1 && c&0xc0 != 0x80 {
		if tw.held != 0 || c&0x80 != 0 {
			tw.buf = append(tw.buf, "..."...)
		} else {
			tw.held = c
			tw.x--
		}
	}
}

func (tw *treeWriter) str(s string) {
	for i := 0; i < len(s); i++ {
		tw.char(s[i])
	}
}

func (tw *treeWriter) newline() {
	if tw.held != 0 && tw.x == tw.width {
		tw.buf = append(tw.buf, tw.held)
	}
	tw.held = 0
	tw.buf = append(tw.buf, '\n')
	tw.x = 1
}

func (tw *treeWriter) prefix(depth int, sym treeSymbols) {
	for d := 0; d < depth; d++ {
		for n := tw.widths[d] + 1; n > 0; n-- {
			tw.char(' ')
		}
		switch {
		case d == depth-1 && !tw.more[depth]:
			tw.str(sym.last2)
		case d == depth-1:
			tw.str(sym.branch2)
		case tw.more[d+1]:
			tw.str(sym.vert2)
		default:
			tw.str(sym.empty2)
		}
	}
}

// printTree prints the tree from its top-level devices (those nothing
// uses), or with inverted from the bottom (those using nothing).
func printTree(w io.Writer, t *depTree, o treeOptions) {
	tw := &treeWriter{x: 1, width: 80, truncate: o.truncate}
	// dmsetup cuts at the terminal's width less 3 (not with vt100's escapes)
	if cols := terminalColumns(w); cols > 3 && o.sym != treeVT100 {
		tw.width = cols - 3
	}
	attrs := o.active || o.rw || o.open || o.uuid
	compact := o.compact && !attrs
	children := func(n *treeNode) []*treeNode {
		if o.inverted {
			return n.usedBy
		}
		return n.uses
	}
	var node func(n *treeNode, depth int, last, hasChildren bool)
	node = func(n *treeNode, depth int, last, hasChildren bool) {
		if n.name == "" && !o.device && !o.blkdevname {
			return
		}
		for len(tw.more) <= depth+1 {
			tw.more = append(tw.more, false)
			tw.widths = append(tw.widths, 0)
		}
		tw.more[depth], tw.widths[depth] = !last, 0
		first := tw.x == 1
		if !compact || first {
			tw.prefix(depth, o.sym)
		}
		offset := tw.x
		if compact && !first {
			tw.str(either(tw.more[depth], o.sym.first3, o.sym.single3))
		}
		tw.str(n.name)
		if o.blkdevname && n.blk != "" {
			tw.str(" <")
			tw.str(n.blk + ">")
		}
		if o.device {
			tw.str(" (" + n.dev + ")")
		}
		if attrs && n.info != nil {
			var a []string
			if o.active {
				a = append(a, either(n.info.Suspended, "SUSPENDED", "ACTIVE"))
			}
			if o.rw {
				a = append(a, either(n.info.ReadOnly, "RO", "RW"))
			}
			if o.open {
				a = append(a, fmt.Sprint(n.info.OpenCount))
			}
			if o.uuid {
				a = append(a, n.info.UUID)
			}
			tw.str(" [" + strings.Join(a, ", ") + "]")
		}
		if compact {
			tw.widths[depth] = tw.x - offset
		}
		if !compact || !hasChildren {
			tw.newline()
		}
	}
	var walk func(list []*treeNode, depth int)
	walk = func(list []*treeNode, depth int) {
		for i, c := range list {
			kids := children(c)
			node(c, depth, i == len(list)-1, len(kids) > 0)
			if len(kids) > 0 {
				walk(kids, depth+1)
			}
		}
	}
	var top []*treeNode
	for _, n := range t.nodes {
		above := n.usedBy
		if o.inverted {
			above = n.uses
		}
		if len(above) == 0 {
			top = append(top, n)
		}
	}
	walk(top, 0)
	w.Write(tw.buf)
}

// utf8Locale reports whether the character type locale (LC_ALL, else
// LC_CTYPE, else LANG) is UTF-8.
func utf8Locale() bool {
	loc := ""
	for _, v := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if loc = os.Getenv(v); loc != "" {
			break
		}
	}
	loc = strings.ToLower(loc)
	return strings.Contains(loc, "utf-8") || strings.Contains(loc, "utf8")
}

// terminalColumns is the width of the terminal w writes to (0 if it is not one).
func terminalColumns(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}

func either(c bool, a, b string) string {
	if c {
		return a
	}
	return b
}
