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
	return p.DumpWith(w, false, SuperblockOverrides{})
}

// DumpMetadataSnap writes the held metadata snapshot as thin_dump -m does: the
// snapshot superblock's fields (its space-map roots are zero, so nr_data_blocks is 0).
func (p *Pool) DumpMetadataSnap(w io.Writer) error {
	return p.DumpWith(w, true, SuperblockOverrides{})
}

// DumpWith is Dump, or DumpMetadataSnap when metadataSnap is set, with the
// superblock's fields replaced by the overrides given.
func (p *Pool) DumpWith(w io.Writer, metadataSnap bool, o SuperblockOverrides) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, err := p.view(metadataSnap)
	if err != nil {
		return err
	}
	sb := v.sb
	x := newXMLWriter(w)
	xs := &XMLSuperblock{Time: sb.Time, Transaction: sb.TransactionID, Flags: sb.Flags, Version: sb.Version,
		DataBlockSize: sb.DataBlockSize, NrDataBlocks: v.nrDataBlocks}
	o.apply(xs)
	x.superblock(xs)
	for _, id := range slices.Sorted(maps.Keys(v.details)) {
		d := v.details[id]
		x.beginDevice(&XMLDevice{ID: id, MappedBlocks: d.MappedBlocks, Transaction: d.TransactionID,
			CreationTime: d.CreationTime, SnapTime: d.SnapshottedTime})
		if _, err := p.walkDevice(v, id, x.single); err != nil {
			return err
		}
		x.endDevice()
	}
	return x.endSuperblock()
}

// xmlWriter writes thin_dump's XML element by element; mappings given one block at a
// time are coalesced into runs of consecutive origin and data blocks with equal time.
type xmlWriter struct {
	bw  *bufio.Writer
	buf []byte
	run XMLMapping // the run being coalesced; Length 0 when none
}

func newXMLWriter(w io.Writer) *xmlWriter {
	return &xmlWriter{bw: bufio.NewWriterSize(w, 1<<20), buf: make([]byte, 0, 256)}
}

// visitor returns x as the callbacks of a document producer (parse or repair).
func (x *xmlWriter) visitor() xmlVisitor {
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

func (x *xmlWriter) superblock(s *XMLSuperblock) {
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

func (x *xmlWriter) beginDevice(d *XMLDevice) {
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
func (x *xmlWriter) single(virtBlock, dataBlock uint64, time uint32) {
	r := &x.run
	if r.Length > 0 && virtBlock == r.Origin+r.Length && dataBlock == r.Data+r.Length && time == r.Time {
		r.Length++
		return
	}
	x.flushRun()
	*r = XMLMapping{Origin: virtBlock, Data: dataBlock, Length: 1, Time: time}
}

func (x *xmlWriter) flushRun() {
	r := x.run
	b := x.buf[:0]
	switch r.Length {
	case 0:
		return
	case 1:
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

func (x *xmlWriter) endDevice() {
	x.flushRun()
	x.bw.WriteString("  </device>\n")
}

// endSuperblock closes the document and flushes it to the underlying writer.
func (x *xmlWriter) endSuperblock() error {
	x.bw.WriteString("</superblock>\n")
	return x.bw.Flush()
}

// appendAttr appends `" name="value` (closing the previous attribute's quote).
func appendAttr(b []byte, name string, v uint64) []byte {
	b = append(b, '"', ' ')
	b = append(b, name...)
	b = append(b, '=', '"')
	return strconv.AppendUint(b, v, 10)
}
