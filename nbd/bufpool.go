package nbd

import (
	"math/bits"
	"sync"
	"unsafe"
)

// alignBytes is the alignment of every pooled data area, enough for O_DIRECT on any device.
const alignBytes = 4096

// ioBuf is a pooled buffer: data() starts alignBytes-aligned and at least maxReplyHeaderBytes
// into mem, so a reply header can be written just before the data and sent with one write.
type ioBuf struct {
	mem     []byte
	dataOff int
	class   int
}

// data returns the first n bytes of the aligned data area.
func (b *ioBuf) data(n int) []byte { return b.mem[b.dataOff : b.dataOff+n] }

// withHeader returns hdrBytes of header room followed by n bytes of data, as one slice.
func (b *ioBuf) withHeader(hdrBytes, n int) []byte {
	return b.mem[b.dataOff-hdrBytes : b.dataOff+n]
}

// minClass is the smallest pooled size (4 KiB); maxClass covers 64 MiB.
const (
	minClass = 12
	maxClass = 26
)

// bufPool hands out ioBufs by power-of-two size class so that steady traffic allocates nothing.
// Each class has its own sync.Pool, which does its own locking.
type bufPool struct {
	classes [maxClass + 1]sync.Pool
}

// get returns a buffer with room for n data bytes (n <= 1<<maxClass).
func (p *bufPool) get(n int) *ioBuf {
	class := bits.Len(uint(n - 1))
	if n <= 1 || class < minClass {
		class = minClass
	}
	if b, ok := p.classes[class].Get().(*ioBuf); ok {
		return b
	}
	mem := make([]byte, 1<<class+maxReplyHeaderBytes+alignBytes)
	addr := uintptrOf(mem) + maxReplyHeaderBytes
	off := maxReplyHeaderBytes + int((alignBytes-addr%alignBytes)%alignBytes)
	return &ioBuf{mem: mem, dataOff: off, class: class}
}

// put returns b to its class.
func (p *bufPool) put(b *ioBuf) { p.classes[b.class].Put(b) }

// uintptrOf is the address of p's first byte, for alignment checks.
func uintptrOf(p []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(p))) }
