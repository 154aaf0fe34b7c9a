package metadata

import (
	"bufio"
	"io"
	"maps"
	"slices"
	"strconv"
)

// Dump writes the pool's committed-or-in-core state as thin_dump's XML (the same
// bytes thin-provisioning-tools 0.9.0 prints): runs of consecutive origin and data
// blocks with equal time become range_mapping elements.
func (p *Pool) Dump(w io.Writer) error {
	return p.DumpWith(w, DumpOptions{})
}

// DumpMetadataSnap writes the held metadata snapshot as thin_dump -m does: the
// snapshot superblock's fields (its space-map roots are zero, so nr_data_blocks is 0).
func (p *Pool) DumpMetadataSnap(w io.Writer) error {
	return p.DumpWith(w, DumpOptions{MetadataSnap: true})
}

// DumpOptions select what a dump prints, and how (thin_dump's options).
type DumpOptions struct {
	MetadataSnap  bool // the held metadata snapshot instead of the live pool (-m)
	Overrides     SuperblockOverrides
	Devices       []uint64 // only these devices (--dev-id); nil: all of them
	SkipMappings  bool     // the devices without their mappings (--skip-mappings)
	HumanReadable bool     // -f human_readable instead of XML
}

// DumpWith is Dump as the options say.
func (p *Pool) DumpWith(w io.Writer, o DumpOptions) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, err := p.view(o.MetadataSnap)
	if err != nil {
		return err
	}
	sb := v.sb
	x := newDumpWriter(w, o.HumanReadable)
	xs := &XMLSuperblock{Time: sb.Time, Transaction: sb.TransactionID, Flags: sb.Flags, Version: sb.Version,
		DataBlockSize: sb.DataBlockSize, NrDataBlocks: v.nrDataBlocks}
	o.Overrides.apply(xs)
	x.superblock(xs)
	for _, id := range slices.Sorted(maps.Keys(v.details)) {
		if o.Devices != nil && !slices.Contains(o.Devices, id) {
			continue
		}
		d := v.details[id]
		x.beginDevice(&XMLDevice{ID: id, MappedBlocks: d.MappedBlocks, Transaction: d.TransactionID,
			CreationTime: d.CreationTime, SnapTime: d.SnapshottedTime})
		if !o.SkipMappings {
			if _, err := p.walkDevice(v, id, x.single); err != nil {
				return err
			}
		}
		x.endDevice()
	}
	return x.endSuperblock()
}

// dumpWriter writes thin_dump's output element by element, as XML or as its
// human_readable format; mappings given one block at a time are coalesced into runs
// of consecutive origin and data blocks with equal time.
type dumpWriter struct {
	bw    *bufio.Writer
	buf   []byte
	human bool
	run   XMLMapping // the run being coalesced; Length 0 when none
}

func newDumpWriter(w io.Writer, humanReadable bool) *dumpWriter {
	return &dumpWriter{bw: bufio.NewWriterSize(w, 1<<20), buf: make([]byte, 0, 256), human: humanReadable}
}

// visitor returns x as the callbacks of a document producer (parse or repair).
func (x *dumpWriter) visitor() xmlVisitor {
	return xmlVisitor{
		superblock:  func(s *XMLSuperblock) error { x.superblock(s); return nil },
		beginDevice: func(d *XMLDevice) error { x.beginDevice(d); return nil },
		mapping: func(m XMLMapping) error {
			for i := uint64(0); i < m.Length; i++ {
				x.single(m.Origin+i, m.Data+i, m.Time)
			}
			return nil
		},
		endDevice: func() error { x.endDevice(); return nil },
	}
}

func (x *dumpWriter) superblock(s *XMLSuperblock) {
	if x.human {
		b := append(x.buf[:0], `begin superblock: "`...)
		b = append(b, s.UUID...)
		b = append(b, '"')
		for _, v := range []uint64{uint64(s.Time), s.Transaction, uint64(s.Flags), uint64(s.Version), uint64(s.DataBlockSize), s.NrDataBlocks} {
			b = strconv.AppendUint(append(b, ", "...), v, 10)
		}
		x.buf = append(b, '\n')
		x.bw.Write(x.buf)
		return
	}
	b := append(x.buf[:0], `<superblock uuid="`...)
	b = append(b, s.UUID...)
	b = appendAttr(b, "time", uint64(s.Time))
	b = appendAttr(b, "transaction", s.Transaction)
	b = appendAttr(b, "flags", uint64(s.Flags))
	b = appendAttr(b, "version", uint64(s.Version))
	b = appendAttr(b, "data_block_size", uint64(s.DataBlockSize))
	b = appendAttr(b, "nr_data_blocks", s.NrDataBlocks)
	x.buf = append(b, "\">\n"...)
	x.bw.Write(x.buf)
}

func (x *dumpWriter) beginDevice(d *XMLDevice) {
	if x.human {
		b := x.buf[:0]
		for _, f := range []struct {
			name string
			v    uint64
		}{{"device", d.ID}, {"mapped_blocks", d.MappedBlocks}, {"transaction", d.Transaction},
			{"creation time", uint64(d.CreationTime)}, {"snap time", uint64(d.SnapTime)}} {
			b = append(append(b, f.name...), ": "...)
			b = append(strconv.AppendUint(b, f.v, 10), '\n')
		}
		x.buf = b
		x.bw.Write(x.buf)
		return
	}
	b := append(x.buf[:0], `  <device dev_id="`...)
	b = strconv.AppendUint(b, d.ID, 10)
	b = appendAttr(b, "mapped_blocks", d.MappedBlocks)
	b = appendAttr(b, "transaction", d.Transaction)
	b = appendAttr(b, "creation_time", uint64(d.CreationTime))
	b = appendAttr(b, "snap_time", uint64(d.SnapTime))
	x.buf = append(b, "\">\n"...)
	x.bw.Write(x.buf)
}

// single adds the mapping of virtual block virtBlock to dataBlock written at time.
func (x *dumpWriter) single(virtBlock, dataBlock uint64, time uint32) {
	r := &x.run
	if r.Length > 0 && virtBlock == r.Origin+r.Length && dataBlock == r.Data+r.Length && time == r.Time {
		r.Length++
		return
	}
	x.flushRun()
	*r = XMLMapping{Origin: virtBlock, Data: dataBlock, Length: 1, Time: time}
}

func (x *dumpWriter) flushRun() {
	r := x.run
	b := x.buf[:0]
	switch {
	case r.Length == 0:
		return
	case x.human:
		b = x.humanRun(b, r)
		x.buf = b
		x.bw.Write(x.buf)
		x.run.Length = 0
		return
	case r.Length == 1:
		b = append(b, `    <single_mapping origin_block="`...)
		b = strconv.AppendUint(b, r.Origin, 10)
		b = appendAttr(b, "data_block", r.Data)
	default:
		b = append(b, `    <range_mapping origin_begin="`...)
		b = strconv.AppendUint(b, r.Origin, 10)
		b = appendAttr(b, "data_begin", r.Data)
		b = appendAttr(b, "length", r.Length)
	}
	b = appendAttr(b, "time", uint64(r.Time))
	x.buf = append(b, "\"/>\n"...)
	x.bw.Write(x.buf)
	x.run.Length = 0
}

// humanRun appends run r as thin_dump's human_readable format prints a mapping:
// "    V -> D, T" or "    (V..V') -> (D..D'), T".
func (x *dumpWriter) humanRun(b []byte, r XMLMapping) []byte {
	b = append(b, "    "...)
	if r.Length == 1 {
		b = strconv.AppendUint(b, r.Origin, 10)
		b = strconv.AppendUint(append(b, " -> "...), r.Data, 10)
	} else {
		b = strconv.AppendUint(append(b, '('), r.Origin, 10)
		b = strconv.AppendUint(append(b, ".."...), r.Origin+r.Length-1, 10)
		b = strconv.AppendUint(append(b, ") -> ("...), r.Data, 10)
		b = strconv.AppendUint(append(b, ".."...), r.Data+r.Length-1, 10)
		b = append(b, ')')
	}
	b = strconv.AppendUint(append(b, ", "...), uint64(r.Time), 10)
	return append(b, '\n')
}

func (x *dumpWriter) endDevice() {
	x.flushRun()
	if x.human {
		x.bw.WriteString("\n")
		return
	}
	x.bw.WriteString("  </device>\n")
}

// endSuperblock closes the document and flushes it to the underlying writer.
func (x *dumpWriter) endSuperblock() error {
	if x.human {
		x.bw.WriteString("end superblock\n")
	} else {
		x.bw.WriteString("</superblock>\n")
	}
	return x.bw.Flush()
}

// appendAttr appends `" name="value` (closing the previous attribute's quote).
func appendAttr(b []byte, name string, v uint64) []byte {
	b = append(b, '"', ' ')
	b = append(b, name...)
	b = append(b, '=', '"')
	return strconv.AppendUint(b, v, 10)
}
