package metadata

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/gdmsetup/gdmsetup/pdata/btree"
)

// Dump writes the pool's committed-or-in-core state as thin_dump's XML (the same
// bytes thin-provisioning-tools 0.9.0 prints): runs of consecutive origin and data
// blocks with equal time become range_mapping elements.
func (p *Pool) Dump(w io.Writer) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	nrData, err := p.dsm.NrBlocks()
	if err != nil {
		return err
	}
	return p.dumpFrom(w, &p.sb, p.details, nrData)
}

func (p *Pool) dumpFrom(w io.Writer, sb *superblock, details map[uint64]*deviceDetails, nrDataBlocks uint64) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	buf := make([]byte, 0, 256)
	buf = append(buf, `<superblock uuid="" time="`...)
	buf = strconv.AppendUint(buf, uint64(sb.Time), 10)
	buf = appendAttr(buf, "transaction", sb.TransactionID)
	buf = appendAttr(buf, "flags", uint64(sb.Flags))
	buf = appendAttr(buf, "version", uint64(sb.Version))
	buf = appendAttr(buf, "data_block_size", uint64(sb.DataBlockSize))
	buf = appendAttr(buf, "nr_data_blocks", nrDataBlocks)
	buf = append(buf, "\">\n"...)
	bw.Write(buf)
	ids := make([]uint64, 0, len(details))
	for id := range details {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		d := details[id]
		buf = append(buf[:0], `  <device dev_id="`...)
		buf = strconv.AppendUint(buf, id, 10)
		buf = appendAttr(buf, "mapped_blocks", d.MappedBlocks)
		buf = appendAttr(buf, "transaction", d.TransactionID)
		buf = appendAttr(buf, "creation_time", uint64(d.CreationTime))
		buf = appendAttr(buf, "snap_time", uint64(d.SnapshottedTime))
		buf = append(buf, "\">\n"...)
		bw.Write(buf)
		var rootBytes [8]byte
		err := p.top.Lookup(sb.DataMappingRoot, []uint64{id}, rootBytes[:])
		if err != nil && !errors.Is(err, btree.ErrNotFound) {
			return err
		}
		if err == nil {
			var run mappingRun
			err := p.bottom.Walk(binary.LittleEndian.Uint64(rootBytes[:]), func(keys []uint64, v []byte) error {
				k := keys[0]
				b, t := unpackBlockTime(binary.LittleEndian.Uint64(v))
				if run.length > 0 && k == run.origin+run.length && b == run.data+run.length && t == run.time {
					run.length++
					return nil
				}
				run.write(bw, &buf)
				run = mappingRun{origin: k, data: b, time: t, length: 1}
				return nil
			})
			if err != nil {
				return err
			}
			run.write(bw, &buf)
		}
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

// DumpMetadataSnap writes the held metadata snapshot as thin_dump -m does: the
// snapshot superblock's fields (its space-map roots are zero, so nr_data_blocks is 0).
func (p *Pool) DumpMetadataSnap(w io.Writer) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sb.HeldRoot == 0 {
		return fmt.Errorf("no metadata snapshot is held (superblock held_root is 0)")
	}
	held, err := p.readHeld()
	if err != nil {
		return err
	}
	details := map[uint64]*deviceDetails{}
	err = p.detailsT.Walk(held.DeviceDetailsRoot, func(keys []uint64, v []byte) error {
		d, err := decodeDetails(v)
		details[keys[0]] = d
		return err
	})
	if err != nil {
		return fmt.Errorf("metadata snapshot device details: %w", err)
	}
	return p.dumpFrom(w, held, details, held.DataSM.NrBlocks)
}
