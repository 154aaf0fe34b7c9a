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
	return p.dump(w, false)
}

// DumpMetadataSnap writes the held metadata snapshot as thin_dump -m does: the
// snapshot superblock's fields (its space-map roots are zero, so nr_data_blocks is 0).
func (p *Pool) DumpMetadataSnap(w io.Writer) error {
	return p.dump(w, true)
}

func (p *Pool) dump(w io.Writer, metadataSnap bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, err := p.view(metadataSnap)
	if err != nil {
		return err
	}
	sb := v.sb
	bw := bufio.NewWriterSize(w, 1<<20)
	buf := make([]byte, 0, 256)
	buf = append(buf, `<superblock uuid="" time="`...)
	buf = strconv.AppendUint(buf, uint64(sb.Time), 10)
	buf = appendAttr(buf, "transaction", sb.TransactionID)
	buf = appendAttr(buf, "flags", uint64(sb.Flags))
	buf = appendAttr(buf, "version", uint64(sb.Version))
	buf = appendAttr(buf, "data_block_size", uint64(sb.DataBlockSize))
	buf = appendAttr(buf, "nr_data_blocks", v.nrDataBlocks)
	buf = append(buf, "\">\n"...)
	bw.Write(buf)
	for _, id := range slices.Sorted(maps.Keys(v.details)) {
		d := v.details[id]
		buf = append(buf[:0], `  <device dev_id="`...)
		buf = strconv.AppendUint(buf, id, 10)
		buf = appendAttr(buf, "mapped_blocks", d.MappedBlocks)
		buf = appendAttr(buf, "transaction", d.TransactionID)
		buf = appendAttr(buf, "creation_time", uint64(d.CreationTime))
		buf = appendAttr(buf, "snap_time", uint64(d.SnapshottedTime))
		buf = append(buf, "\">\n"...)
		bw.Write(buf)
		var run mappingRun
		_, err := p.walkDevice(v, id, func(k, b uint64, t uint32) {
			if run.length > 0 && k == run.origin+run.length && b == run.data+run.length && t == run.time {
				run.length++
				return
			}
			run.write(bw, &buf)
			run = mappingRun{origin: k, data: b, time: t, length: 1}
		})
		if err != nil {
			return err
		}
		run.write(bw, &buf)
		bw.WriteString("  </device>\n")
	}
	bw.WriteString("</superblock>\n")
	return bw.Flush()
}

// mappingRun is a run of consecutive mappings being coalesced for output.
type mappingRun struct {
	origin, data, length uint64
	time                 uint32
}

func (r *mappingRun) write(bw *bufio.Writer, buf *[]byte) {
	b := (*buf)[:0]
	switch r.length {
	case 0:
		return
	case 1:
		b = append(b, `    <single_mapping origin_block="`...)
		b = strconv.AppendUint(b, r.origin, 10)
		b = appendAttr(b, "data_block", r.data)
	default:
		b = append(b, `    <range_mapping origin_begin="`...)
		b = strconv.AppendUint(b, r.origin, 10)
		b = appendAttr(b, "data_begin", r.data)
		b = appendAttr(b, "length", r.length)
	}
	b = appendAttr(b, "time", uint64(r.time))
	b = append(b, "\"/>\n"...)
	bw.Write(b)
	*buf = b
}

// appendAttr appends `" name="value` (closing the previous attribute's quote).
func appendAttr(b []byte, name string, v uint64) []byte {
	b = append(b, '"', ' ')
	b = append(b, name...)
	b = append(b, '=', '"')
	return strconv.AppendUint(b, v, 10)
}
