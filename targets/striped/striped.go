// Package striped is the striped target: `<#stripes> <chunk> (<dev> <offset>)...`
// spreads chunks round-robin over the stripes (drivers/md/dm-stripe.c).
package striped

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Type is the striped target's registration.
var Type = targets.Type{Name: "striped", Version: [3]int{1, 6, 0}, New: New}

// maxErrorEvents is how many I/O errors on one stripe raise a table event.
const maxErrorEvents = 15

type stripe struct {
	dev         targets.Dev
	startSector uint64
	errors      atomic.Int32
}

// Striped maps chunks onto its stripes; the per-stripe error counts are
// atomics, everything else is fixed at construction.
type Striped struct {
	stripes      []*stripe
	chunkSectors uint64
	widthSectors uint64 // length on each stripe
	event        func()
}

// New is striped's constructor, with the kernel's checks in the kernel's order.
func New(ctx *targets.Context, args []string) (targets.Target, error) {
	if len(args) < 2 {
		return nil, targets.Invalid("Not enough arguments")
	}
	n, ok := targets.ParseUint(args[0], 32)
	if !ok || n == 0 {
		return nil, targets.Invalid("Invalid stripe count")
	}
	chunk, ok := targets.ParseUint(args[1], 32)
	if !ok || chunk == 0 {
		return nil, targets.Invalid("Invalid chunk_size")
	}
	if ctx.Len%n != 0 {
		return nil, targets.Invalid("Target length not divisible by number of stripes")
	}
	width := ctx.Len / n
	if width%chunk != 0 {
		return nil, targets.Invalid("Target length not divisible by chunk size")
	}
	if uint64(len(args)) != 2+2*n {
		return nil, targets.Invalid("Not enough destinations specified")
	}
	s := &Striped{chunkSectors: chunk, widthSectors: width, event: ctx.Event}
	for i := uint64(0); i < n; i++ {
		devArg, offArg := args[2+2*i], args[3+2*i]
		start, ok := targets.ScanUint(offArg, 64)
		if !ok {
			return nil, targets.Invalid("Couldn't parse stripe destination")
		}
		dev, err := ctx.Open(devArg)
		if err != nil {
			return nil, targets.Errorf(targets.OpenErrno(err), "Couldn't parse stripe destination")
		}
		s.stripes = append(s.stripes, &stripe{dev: dev, startSector: start})
	}
	s.restoreState(ctx.Saved)
	return s, nil
}

// locate maps a target sector to its stripe and the sector on that device.
func (s *Striped) locate(sector uint64) (*stripe, uint64) {
	chunk := sector / s.chunkSectors
	in := sector % s.chunkSectors
	st := s.stripes[chunk%uint64(len(s.stripes))]
	row := chunk / uint64(len(s.stripes))
	return st, st.startSector + row*s.chunkSectors + in
}

func (s *Striped) failed(st *stripe, err error) error {
	if err != nil && st.errors.Add(1) < maxErrorEvents && s.event != nil {
		s.event()
	}
	return err
}

// ReadAt reads one piece, which the core keeps inside a chunk.
func (s *Striped) ReadAt(p []byte, sector uint64) error {
	st, devSector := s.locate(sector)
	_, err := st.dev.ReadAt(p, int64(devSector)*targets.SectorSize)
	return s.failed(st, err)
}

// WriteAt writes one piece, which the core keeps inside a chunk.
func (s *Striped) WriteAt(p []byte, sector uint64) error {
	st, devSector := s.locate(sector)
	_, err := st.dev.WriteAt(p, int64(devSector)*targets.SectorSize)
	return s.failed(st, err)
}

// WriteFUA is targets.FUAWriter: the write goes to its stripe as a FUA
// write (stripe_map remaps the bio, REQ_FUA kept); the other stripes are
// not flushed.
func (s *Striped) WriteFUA(p []byte, sector uint64) error {
	st, devSector := s.locate(sector)
	return s.failed(st, targets.DevWriteFUA(st.dev, p, int64(devSector)*targets.SectorSize))
}

// Discard discards each chunk piece of the range on its stripe.
func (s *Striped) Discard(sector, lenSectors uint64) error {
	for lenSectors > 0 {
		n := min(s.chunkSectors-sector%s.chunkSectors, lenSectors)
		st, devSector := s.locate(sector)
		if err := st.dev.Discard(int64(devSector)*targets.SectorSize, int64(n)*targets.SectorSize); err != nil {
			return err
		}
		sector += n
		lenSectors -= n
	}
	return nil
}

// Flush flushes every stripe.
func (s *Striped) Flush() error {
	for _, st := range s.stripes {
		if err := st.dev.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// Status is "<n> <dev>... 1 <A|D per stripe>".
func (s *Striped) Status() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d ", len(s.stripes))
	for _, st := range s.stripes {
		b.WriteString(st.dev.Name())
		b.WriteByte(' ')
	}
	b.WriteString("1 ")
	for _, st := range s.stripes {
		b.WriteByte(st.health())
	}
	return b.String()
}

// Table is "<n> <chunk> <dev> <offset>...".
func (s *Striped) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %d", len(s.stripes), s.chunkSectors)
	for _, st := range s.stripes {
		fmt.Fprintf(&b, " %s %d", st.dev.Name(), st.startSector)
	}
	return b.String()
}

// MaxIOSectors is the chunk size: no I/O crosses a chunk.
func (s *Striped) MaxIOSectors() uint64 { return s.chunkSectors }

// IOHints sets io_opt to a full stripe, chunk × stripes (stripe_io_hints).
func (s *Striped) IOHints(int64) int64 {
	return int64(s.chunkSectors) * int64(len(s.stripes)) * targets.SectorSize
}

// Areas is the range each stripe uses.
func (s *Striped) Areas() []targets.Area {
	out := make([]targets.Area, len(s.stripes))
	for i, st := range s.stripes {
		out[i] = targets.Area{Dev: st.dev, StartSector: st.startSector, LenSectors: s.widthSectors}
	}
	return out
}
