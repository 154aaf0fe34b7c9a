package metadata

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
)

// DeltaOptions selects what Delta reads and prints.
type DeltaOptions struct {
	// MetadataSnap reads the held metadata snapshot instead of the live metadata.
	MetadataSnap bool
	// Verbose lists every range with its data blocks, grouped by kind, as
	// thin_delta --verbose; otherwise adjacent ranges of one kind are merged.
	Verbose bool
}

// Delta writes thin_delta's XML (the bytes thin-provisioning-tools 0.9.0 prints)
// comparing the mappings of thin devices left and right: the virtual blocks mapped by
// only one of them, mapped by both to the same data block, or to different ones.
// Blocks mapped by neither are not listed. A device without a mapping tree is an
// error naming it as thin_delta does ("snap1" is left, "snap2" right).
func (p *Pool) Delta(w io.Writer, left, right uint64, opt DeltaOptions) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, err := p.view(opt.MetadataSnap)
	if err != nil {
		return err
	}
	var runs [2][]XMLMapping
	for i, id := range []uint64{left, right} {
		found := false
		if runs[i], found, err = p.deviceRuns(v, id); err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("unable to find mapping tree for snap%d (%d)", i+1, id)
		}
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	b := make([]byte, 0, 256)
	b = append(b, `<superblock uuid="" time="`...)
	b = strconv.AppendUint(b, uint64(v.sb.Time), 10)
	b = appendAttr(b, "transaction", v.sb.TransactionID)
	b = appendAttr(b, "data_block_size", uint64(v.sb.DataBlockSize))
	b = appendAttr(b, "nr_data_blocks", v.nrDataBlocks)
	if v.sb.HeldRoot != 0 {
		b = appendAttr(b, "metadata_snap", v.sb.HeldRoot)
	}
	b = append(b, "\">\n  <diff left=\""...)
	b = strconv.AppendUint(b, left, 10)
	b = appendAttr(b, "right", right)
	b = append(b, "\">\n"...)
	bw.Write(b)
	e := deltaEmitter{w: bw, verbose: opt.Verbose, buf: b}
	diffRuns(runs[0], runs[1], &e)
	e.finish()
	bw.WriteString("  </diff>\n</superblock>\n")
	return bw.Flush()
}

// deviceRuns returns device id's mappings as runs of consecutive virtual and data
// blocks (whatever their times), and false when id has no mapping tree. The caller
// holds p.mu.
func (p *Pool) deviceRuns(v *view, id uint64) ([]XMLMapping, bool, error) {
	var runs []XMLMapping
	found, err := p.walkDevice(v, id, func(k, b uint64, _ uint32) {
		if n := len(runs); n > 0 && k == runs[n-1].Origin+runs[n-1].Length && b == runs[n-1].Data+runs[n-1].Length {
			runs[n-1].Length++
			return
		}
		runs = append(runs, XMLMapping{Origin: k, Data: b, Length: 1})
	})
	return runs, found, err
}

// deltaKind is how a range of virtual blocks compares between the two devices.
type deltaKind int

const (
	leftOnly deltaKind = iota
	rightOnly
	different
	same
)

var deltaTags = [...]string{leftOnly: "left_only", rightOnly: "right_only", different: "different", same: "same"}

// diffRuns walks the runs of both devices in virtual block order and passes each
// range where the comparison does not change within a run of either to e.
func diffRuns(left, right []XMLMapping, e *deltaEmitter) {
	var l, r XMLMapping
	for {
		if l.Length == 0 && len(left) > 0 {
			l, left = left[0], left[1:]
		}
		if r.Length == 0 && len(right) > 0 {
			r, right = right[0], right[1:]
		}
		switch {
		case l.Length == 0 && r.Length == 0:
			return
		case r.Length == 0 || l.Length > 0 && l.Origin < r.Origin:
			n := l.blocksBefore(r)
			e.add(leftOnly, l.Origin, l.Data, 0, n)
			l.consume(n)
			continue
		case l.Length == 0 || r.Origin < l.Origin:
			n := r.blocksBefore(l)
			e.add(rightOnly, r.Origin, r.Data, 0, n)
			r.consume(n)
			continue
		}
		n := min(l.Length, r.Length)
		if l.Data != r.Data {
			e.add(different, l.Origin, l.Data, r.Data, n)
		} else {
			e.add(same, l.Origin, l.Data, 0, n)
		}
		l.consume(n)
		r.consume(n)
	}
}

// blocksBefore is how many of r's blocks come before other starts (all of them when
// other is empty); r starts first.
func (r *XMLMapping) blocksBefore(other XMLMapping) uint64 {
	if other.Length == 0 {
		return r.Length
	}
	return min(r.Length, other.Origin-r.Origin)
}

// consume drops the first n blocks of the run.
func (r *XMLMapping) consume(n uint64) {
	r.Origin += n
	r.Data += n
	r.Length -= n
}

// deltaEmitter prints the ranges diffRuns finds: merged with the previous range of
// the same kind when they touch, or, when verbose, each as a <range> inside an element
// per kind that is opened when the kind changes.
type deltaEmitter struct {
	w       *bufio.Writer
	verbose bool
	buf     []byte
	open    bool      // a range is pending (merged form) or an element is open (verbose)
	kind    deltaKind // of the pending range or the open element
	begin   uint64    // the pending range's first virtual block (merged form)
	end     uint64    // one past its last
}

func (e *deltaEmitter) add(k deltaKind, virtBlock, dataBlock, rightData, n uint64) {
	if !e.verbose {
		if e.open && e.kind == k && virtBlock == e.end {
			e.end += n
			return
		}
		e.finish()
		e.open, e.kind, e.begin, e.end = true, k, virtBlock, virtBlock+n
		return
	}
	if !e.open || e.kind != k {
		e.finish()
		e.open, e.kind = true, k
		e.w.WriteString("    <" + deltaTags[k] + ">\n")
	}
	b := append(e.buf[:0], `      <range begin="`...)
	b = strconv.AppendUint(b, virtBlock, 10)
	if k == different {
		b = appendAttr(b, "left_data_begin", dataBlock)
		b = appendAttr(b, "right_data_begin", rightData)
	} else {
		b = appendAttr(b, "data_begin", dataBlock)
	}
	b = appendAttr(b, "length", n)
	e.buf = append(b, "\"/>\n"...)
	e.w.Write(e.buf)
}

// finish prints the pending range (merged form) or closes the open element (verbose).
func (e *deltaEmitter) finish() {
	if !e.open {
		return
	}
	e.open = false
	if e.verbose {
		e.w.WriteString("    </" + deltaTags[e.kind] + ">\n")
		return
	}
	b := append(e.buf[:0], "    <"...)
	b = append(b, deltaTags[e.kind]...)
	b = append(b, ` begin="`...)
	b = strconv.AppendUint(b, e.begin, 10)
	b = appendAttr(b, "length", e.end-e.begin)
	e.buf = append(b, "\"/>\n"...)
	e.w.Write(e.buf)
}
