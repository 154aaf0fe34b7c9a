// Package thinpool is the thin-pool target (dm-thin.c's pool side):
// `<metadata dev> <data dev> <data block size> <low water mark> [<#features>
// <feature>...]`. It owns the pool's metadata (package metadata), takes the
// pool messages and reports the pool's status; thin devices map through it.
package thinpool

import (
	"fmt"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Type is the thin-pool target's registration (Linux 6.1: v1.22.0).
var Type = targets.Type{Name: "thin-pool", Version: [3]int{1, 22, 0}, New: New, Singleton: true, Immutable: true}

// Block size limits in sectors (DATA_DEV_BLOCK_SIZE_MIN/MAX_SECTORS).
const (
	minBlockSectors = 128
	maxBlockSectors = 2097152
)

// Target is one thin-pool table line (struct pool_c). Its fields are fixed
// at construction; the shared state is in Pool.
type Target struct {
	pool             *Pool
	metaDev, dataDev targets.Dev
	lenSectors       uint64
	lowWaterBlocks   uint64
	requested        Features
	adjusted         Features
	event            func()
	// bound is set once the pool is bound to this table (its control
	// target): resuming it again keeps the pool's mode.
	bound bool
}

// New is pool_ctr.
func New(ctx *targets.Context, args []string) (targets.Target, error) {
	if len(args) < 4 {
		return nil, invalid("Invalid argument count")
	}
	if args[0] == args[1] {
		return nil, invalid("Error setting metadata or data device")
	}
	pf := defaultFeatures()
	if err := parseFeatures(args[4:], &pf); err != nil {
		return nil, err
	}
	metaDev, err := ctx.Open(args[0])
	if err != nil {
		return nil, targets.Errorf(targets.OpenErrno(err), "Error opening metadata block device")
	}
	dataDev, err := ctx.Open(args[1])
	if err != nil {
		return nil, targets.Errorf(targets.OpenErrno(err), "Error getting data device")
	}
	bs, ok := targets.ParseUint(args[2], 64)
	if !ok || bs < minBlockSectors || bs > maxBlockSectors || bs%minBlockSectors != 0 {
		return nil, invalid("Invalid block size")
	}
	lwm, ok := targets.ParseUint(args[3], 64)
	if !ok {
		return nil, invalid("Invalid low water mark")
	}
	p, created, err := find(ctx, metaDev, dataDev, bs, lwm, pf.ReadOnly)
	if err != nil {
		return nil, err
	}
	if !created && pf.DiscardEnabled != p.Features().DiscardEnabled {
		p.Release()
		return nil, invalid("Discard support cannot be disabled once enabled")
	}
	if created {
		p.mu.Lock()
		p.pf = pf
		p.requestedErrorIfNoSpace = pf.ErrorIfNoSpace
		if pf.ReadOnly && ctx.Restored {
			// A new pool switches at its first resume (PreResume).
			p.mode = ModeReadOnly
		}
		p.mu.Unlock()
	}
	if !ctx.Restored {
		// A table rebuilt in a new process was registered when it was
		// loaded: the saved state has what it registered.
		p.registerMetadataThreshold(metadataThreshold(metaDev))
	}
	// The live table rebuilt in a new process is the one the pool is bound
	// to; its saved state says so (an inactive table never has one).
	bound := ctx.Restored && ctx.Saved != ""
	t := &Target{pool: p, metaDev: metaDev, dataDev: dataDev, lenSectors: ctx.Len, lowWaterBlocks: lwm, requested: pf, adjusted: pf, event: ctx.Event, bound: bound}
	if pf.DiscardPassdown && !targets.DevSupportsDiscards(dataDev) {
		// disable_passdown_if_not_supported, logged when the table is
		// loaded (io_hints), not when another process rebuilds it.
		if !ctx.Restored {
			ctx.Logf("thin: Data device (%s) discard unsupported: Disabling discard passdown.", targets.DiskName(dataDev))
		}
		t.adjusted.DiscardPassdown = false
	}
	return t, nil
}

// SupportsDiscards is the pool's discard support (ignore_discard: none).
func (t *Target) SupportsDiscards() bool { return t.adjusted.DiscardEnabled }

// ReadAt reads the data device: I/O to the pool device goes there.
func (t *Target) ReadAt(p []byte, sector uint64) error {
	_, err := t.dataDev.ReadAt(p, int64(sector)*targets.SectorSize)
	return err
}

// WriteAt writes the data device.
func (t *Target) WriteAt(p []byte, sector uint64) error {
	_, err := t.dataDev.WriteAt(p, int64(sector)*targets.SectorSize)
	return err
}

// WriteFUA is targets.FUAWriter: pool_map remaps a bio to the data device
// with its flags, REQ_FUA kept.
func (t *Target) WriteFUA(p []byte, sector uint64) error {
	return targets.DevWriteFUA(t.dataDev, p, int64(sector)*targets.SectorSize)
}

// Discard passes the discard to the data device.
func (t *Target) Discard(sector, lenSectors uint64) error {
	return t.dataDev.Discard(int64(sector)*targets.SectorSize, int64(lenSectors)*targets.SectorSize)
}

// Flush flushes the data device: I/O to the pool device goes there, and
// the pool's metadata is committed only through its thin devices, its
// status, messages, suspend and the periodic commit (pool_map remaps every
// bio, a flush included, to the data device).
func (t *Target) Flush() error { return t.dataDev.Flush() }

// Commit is the periodic commit: if the metadata changed.
func (t *Target) Commit() error { return t.pool.CommitChanged() }

// Table is "<meta> <data> <block size> <low water> <#features> <features> ".
func (t *Target) Table() string {
	return fmt.Sprintf("%s %s %d %d %s", t.metaDev.Name(), t.dataDev.Name(), t.pool.blockSectors, t.lowWaterBlocks, t.requested)
}

// Status is pool_status; the pool commits first unless suspended.
func (t *Target) Status() string {
	p := t.pool
	if p.Mode() == ModeFail {
		return "Fail"
	}
	if !p.Suspended() {
		p.Commit()
	}
	mode := p.Mode()
	md := p.md
	metaFree, metaTotal := md.MetadataBlocks()
	dataFree, dataTotal := md.DataBlocks()
	held := "-"
	if r := md.HeldRoot(); r != 0 {
		held = itoa(r)
	}
	pf := p.Features()
	modeWord := "rw"
	switch mode {
	case ModeOutOfDataSpace:
		modeWord = "out_of_data_space"
	case ModeReadOnly, ModeOutOfMetadataSpace:
		modeWord = "ro"
	}
	discard := "discard_passdown"
	if !pf.DiscardEnabled {
		discard = "ignore_discard"
	} else if !pf.DiscardPassdown {
		discard = "no_discard_passdown"
	}
	noSpace := "queue_if_no_space"
	if pf.ErrorIfNoSpace {
		noSpace = "error_if_no_space"
	}
	check := "-"
	if md.NeedsCheck() {
		check = "needs_check"
	}
	return fmt.Sprintf("%d %d/%d %d/%d %s %s %s %s %s %d ", md.TransactionID(), metaTotal-metaFree, metaTotal,
		dataTotal-dataFree, dataTotal, held, modeWord, discard, noSpace, check, metadataThreshold(t.metaDev))
}

// metadataThreshold is calc_metadata_threshold: min(1024, a quarter of the
// metadata device's blocks).
func metadataThreshold(metaDev targets.Dev) uint64 {
	return min(1024, metaDevBlocks(metaDev)/4)
}

// PostSuspend commits and marks the pool suspended.
func (t *Target) PostSuspend() error {
	t.pool.mu.Lock()
	t.pool.suspended = true
	t.pool.mu.Unlock()
	return t.pool.Commit()
}

// PreResume binds this table to the pool (bind_control_target) and grows
// the data and metadata space to the table's and device's sizes. A new
// table asks for write mode (read-only with read_only); the table the pool
// is bound to already keeps the pool's mode, which growing the metadata
// device takes from out-of-metadata-space back to write.
func (t *Target) PreResume() error {
	p := t.pool
	newMode := ModeWrite
	if t.adjusted.ReadOnly {
		newMode = ModeReadOnly
	}
	p.mu.Lock()
	if t.bound {
		newMode = p.mode
	}
	p.pf = t.adjusted
	p.requestedErrorIfNoSpace = t.requested.ErrorIfNoSpace
	p.lowWaterBlocks = t.lowWaterBlocks
	p.event = t.event
	p.mu.Unlock()
	p.setLowWaterEvent(t.event)
	t.bound = true
	p.setMode(newMode)
	commit := false
	dataBlocks := t.lenSectors / p.blockSectors
	_, sbData := p.md.DataBlocks()
	switch {
	case dataBlocks < sbData:
		p.logf("thin: %s: pool target (%d blocks) too small: expected %d", p.devName, dataBlocks, sbData)
		return invalid("pool target too small")
	case dataBlocks > sbData && p.md.NeedsCheck():
		p.logf("thin: %s: unable to grow the data device until repaired.", p.devName)
	case dataBlocks > sbData:
		if sbData > 0 {
			p.logf("thin: %s: growing the data device from %d to %d blocks", p.devName, sbData, dataBlocks)
		}
		if err := p.md.ResizeData(dataBlocks); err != nil {
			p.operationFailed("dm_pool_resize_data_dev", err)
			return err
		}
		commit = true
	}
	metaBlocks := metaDevBlocks(t.metaDev)
	_, sbMeta := p.md.MetadataBlocks()
	switch {
	case metaBlocks < sbMeta:
		p.logf("thin: %s: metadata device (%d blocks) too small: expected %d", p.devName, metaBlocks, sbMeta)
		return invalid("metadata device too small")
	case metaBlocks > sbMeta && p.md.NeedsCheck():
		p.logf("thin: %s: unable to grow the metadata device until repaired.", p.devName)
	case metaBlocks > sbMeta:
		p.logf("thin: %s: growing the metadata device from %d to %d blocks", p.devName, sbMeta, metaBlocks)
		if p.Mode() == ModeOutOfMetadataSpace {
			p.setMode(ModeWrite)
		}
		if err := p.md.ResizeMetadata(metaBlocks); err != nil {
			p.operationFailed("dm_pool_resize_metadata_dev", err)
			return err
		}
		commit = true
	}
	if commit {
		// as the kernel, whatever the commit gives: a failure has put the
		// pool in read-only mode, a full metadata device in
		// out-of-metadata-space mode
		p.commit()
	}
	return nil
}

// Resume re-arms the low water mark and releases queued I/O.
func (t *Target) Resume() {
	p := t.pool
	p.mu.Lock()
	p.suspended = false
	p.lowWaterTriggered = false
	p.cond.Broadcast()
	p.mu.Unlock()
}

// Close commits and drops this table's reference to the pool.
func (t *Target) Close() error { return t.pool.Release() }

// Areas is the data device range the pool uses.
func (t *Target) Areas() []targets.Area {
	return []targets.Area{{Dev: t.dataDev, StartSector: 0, LenSectors: t.lenSectors}}
}

// IOHints is pool_io_hints' io_opt: the data device's when the data block
// size divides it, else the data block size.
func (t *Target) IOHints(stackedBytes int64) int64 {
	return targets.KeepFactorOfBlock(stackedBytes, int64(t.pool.blockSectors)*targets.SectorSize)
}
