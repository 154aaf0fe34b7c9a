package metadata

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// XMLSuperblock is the <superblock> element of thin_dump's XML.
type XMLSuperblock struct {
	UUID          string
	Time          uint32
	Transaction   uint64
	Flags         uint32
	Version       uint32
	DataBlockSize uint32 // sectors
	NrDataBlocks  uint64
	Devices       []XMLDevice
}

// XMLDevice is one <device> element with its mappings, in the file's order.
type XMLDevice struct {
	ID           uint64
	MappedBlocks uint64
	Transaction  uint64
	CreationTime uint32
	SnapTime     uint32
	Mappings     []XMLMapping
}

// XMLMapping is a run of Length consecutive virtual (Origin) and data blocks written
// at Time: a single_mapping (Length 1) or range_mapping element.
type XMLMapping struct {
	Origin, Data, Length uint64
	Time                 uint32
}

// xmlTag is one parsed tag: name, attributes, and whether it closes (</x>) or is empty (<x/>).
type xmlTag struct {
	name        string
	attrs       map[string]string
	closing     bool
	selfClosing bool
	line        int
}

// xmlScanner reads tags one at a time, tracking line numbers for errors.
type xmlScanner struct {
	r    *bufio.Reader
	line int
	name string // input name for errors
}

func (s *xmlScanner) errorf(format string, a ...any) error {
	return fmt.Errorf("%s:%d: %s", s.name, s.line, fmt.Sprintf(format, a...))
}

// next returns the next tag, or io.EOF.
func (s *xmlScanner) next() (*xmlTag, error) {
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			return nil, err
		}
		switch {
		case c == '\n':
			s.line++
		case c == '<':
			raw, err := s.r.ReadSlice('>')
			if err != nil {
				return nil, s.errorf("unterminated tag")
			}
			s.line += bytes.Count(raw, []byte{'\n'})
			return s.parseTag(raw[:len(raw)-1])
		case c == ' ' || c == '\t' || c == '\r':
		default:
			return nil, s.errorf("unexpected text %q outside a tag", c)
		}
	}
}

func (s *xmlScanner) parseTag(raw []byte) (*xmlTag, error) {
	t := &xmlTag{line: s.line}
	if len(raw) > 0 && (raw[0] == '?' || raw[0] == '!') {
		return t, nil // declaration or comment: ignored
	}
	if len(raw) > 0 && raw[0] == '/' {
		t.closing, raw = true, raw[1:]
	}
	if len(raw) > 0 && raw[len(raw)-1] == '/' {
		t.selfClosing, raw = true, raw[:len(raw)-1]
	}
	i := bytes.IndexAny(raw, " \t\r\n")
	if i < 0 {
		i = len(raw)
	}
	t.name, raw = string(raw[:i]), raw[i:]
	if t.name == "" {
		return nil, s.errorf("tag without a name")
	}
	t.attrs = make(map[string]string, 6)
	for {
		raw = bytes.TrimLeft(raw, " \t\r\n")
		if len(raw) == 0 {
			return t, nil
		}
		eq := bytes.IndexByte(raw, '=')
		if eq < 0 || eq+1 >= len(raw) || (raw[eq+1] != '"' && raw[eq+1] != '\'') {
			return nil, s.errorf("<%s>: malformed attribute %q", t.name, raw)
		}
		q := raw[eq+1]
		end := bytes.IndexByte(raw[eq+2:], q)
		if end < 0 {
			return nil, s.errorf("<%s>: unterminated attribute value", t.name)
		}
		t.attrs[string(bytes.TrimSpace(raw[:eq]))] = string(raw[eq+2 : eq+2+end])
		raw = raw[eq+2+end+1:]
	}
}

// uintAttr parses a required unsigned attribute of at most bits bits.
func (s *xmlScanner) uintAttr(t *xmlTag, name string, bits int) (uint64, error) {
	v, ok := t.attrs[name]
	if !ok {
		return 0, fmt.Errorf("%s:%d: <%s> lacks attribute %s", s.name, t.line, t.name, name)
	}
	n, err := strconv.ParseUint(v, 10, bits)
	if err != nil {
		return 0, fmt.Errorf("%s:%d: <%s %s=%q>: %v", s.name, t.line, t.name, name, v, err)
	}
	return n, nil
}

// xmlVisitor receives the elements of thin_dump XML in document order.
type xmlVisitor struct {
	superblock  func(*XMLSuperblock) error
	beginDevice func(*XMLDevice) error
	mapping     func(XMLMapping) error
	endDevice   func() error
}

// ParseXML reads thin_dump XML into memory (name is used in error messages).
func ParseXML(r io.Reader, name string) (*XMLSuperblock, error) {
	var sb *XMLSuperblock
	var dev *XMLDevice
	err := parseXML(r, name, xmlVisitor{
		superblock: func(x *XMLSuperblock) error { sb = x; return nil },
		beginDevice: func(d *XMLDevice) error {
			sb.Devices = append(sb.Devices, *d)
			dev = &sb.Devices[len(sb.Devices)-1]
			return nil
		},
		mapping:   func(m XMLMapping) error { dev.Mappings = append(dev.Mappings, m); return nil },
		endDevice: func() error { return nil },
	})
	if err != nil {
		return nil, err
	}
	return sb, nil
}

// parseXML streams thin_dump XML to v; errors carry name and line.
func parseXML(r io.Reader, name string, v xmlVisitor) error {
	s := &xmlScanner{r: bufio.NewReaderSize(r, 1<<20), line: 1, name: name}
	inSuperblock, inDevice, started, done := false, false, false, false
	at := func(err error) error {
		if err != nil {
			return s.errorf("%v", err)
		}
		return nil
	}
	for {
		t, err := s.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if t.name == "" {
			continue
		}
		if done {
			return s.errorf("<%s> after </superblock>", t.name)
		}
		var u [6]uint64
		get := func(names ...string) error {
			for i, n := range names {
				bits := 64
				if n == "time" || n == "creation_time" || n == "snap_time" || n == "flags" || n == "version" || n == "data_block_size" {
					bits = 32
				}
				if u[i], err = s.uintAttr(t, n, bits); err != nil {
					return err
				}
			}
			return nil
		}
		switch {
		case t.name == "superblock" && !t.closing:
			if started {
				return s.errorf("second <superblock>")
			}
			if err := get("time", "transaction", "flags", "version", "data_block_size", "nr_data_blocks"); err != nil {
				return err
			}
			started, inSuperblock = true, !t.selfClosing
			done = t.selfClosing
			if err := at(v.superblock(&XMLSuperblock{UUID: t.attrs["uuid"], Time: uint32(u[0]), Transaction: u[1], Flags: uint32(u[2]),
				Version: uint32(u[3]), DataBlockSize: uint32(u[4]), NrDataBlocks: u[5]})); err != nil {
				return err
			}
		case t.name == "superblock":
			if !inSuperblock || inDevice {
				return s.errorf("unexpected </superblock>")
			}
			done = true
		case t.name == "device" && !t.closing:
			if !inSuperblock || inDevice {
				return s.errorf("<device> outside <superblock> or nested")
			}
			if err := get("dev_id", "mapped_blocks", "transaction", "creation_time", "snap_time"); err != nil {
				return err
			}
			if err := at(v.beginDevice(&XMLDevice{ID: u[0], MappedBlocks: u[1], Transaction: u[2], CreationTime: uint32(u[3]), SnapTime: uint32(u[4])})); err != nil {
				return err
			}
			inDevice = true
			if t.selfClosing {
				inDevice = false
				if err := at(v.endDevice()); err != nil {
					return err
				}
			}
		case t.name == "device":
			if !inDevice {
				return s.errorf("unexpected </device>")
			}
			inDevice = false
			if err := at(v.endDevice()); err != nil {
				return err
			}
		case t.name == "single_mapping" || t.name == "range_mapping":
			if !inDevice {
				return s.errorf("<%s> outside <device>", t.name)
			}
			var m XMLMapping
			if t.name == "single_mapping" {
				if err := get("origin_block", "data_block", "time"); err != nil {
					return err
				}
				m = XMLMapping{Origin: u[0], Data: u[1], Length: 1, Time: uint32(u[2])}
			} else {
				if err := get("origin_begin", "data_begin", "length", "time"); err != nil {
					return err
				}
				m = XMLMapping{Origin: u[0], Data: u[1], Length: u[2], Time: uint32(u[3])}
				if m.Length == 0 || m.Origin+m.Length < m.Origin || m.Data+m.Length < m.Data {
					return s.errorf("<range_mapping>: bad length %d", m.Length)
				}
			}
			if err := at(v.mapping(m)); err != nil {
				return err
			}
		default:
			return s.errorf("unsupported element <%s>", t.name)
		}
	}
	if !started || !done {
		return s.errorf("missing <superblock> or </superblock>")
	}
	return nil
}
