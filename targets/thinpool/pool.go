package thinpool

import (
	"errors"
	"sync"
	"syscall"
	"time"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/targets"
	"github.com/gdmsetup/gdmsetup/targets/thinpool/metadata"
)

// Mode is a pool's mode (enum pool_mode).
type Mode int

// The pool modes, in the kernel's order: from ModeOutOfMetadataSpace on the
// metadata may not change.
const (
	ModeWrite Mode = iota
	ModeOutOfDataSpace
	// ModeOutOfMetadataSpace is read-only, reported as such, until the
	// metadata device grows.
	ModeOutOfMetadataSpace
	ModeReadOnly
	ModeFail
)

var modeNames = [...]string{"write", "out-of-data-space", "read-only", "read-only", "fail"}

// readOnly is is_read_only_pool_mode.
func (m Mode) readOnly() bool { return m == ModeOutOfMetadataSpace || m == ModeReadOnly }

// NoSpaceTimeout is how long I/O waits for data space in queue_if_no_space
// mode before it fails with ENOSPC (the kernel's no_space_timeout).
var NoSpaceTimeout = 60 * time.Second

// Pool is the state a pool's tables share (struct pool): its metadata, data
// device, mode and active features. One exists per pool mapped device in a
// process, found by the thin targets through Lookup.
//
// mu guards mode, pf, requestedErrorIfNoSpace, lowWater*, suspended, refs
// and event; cond (on mu) wakes I/O queued for data space. provision
// serialises the slow path of writes (allocation, sharing breaks) so that no
// block is provisioned twice; md has its own lock. lwMu guards metaLow and
// lwEvent, which the metadata updates from inside its operations (its lock
// held): nothing else is locked under lwMu.
type Pool struct {
	md               *metadata.Pool
	metaDev, dataDev targets.Dev
	devName          string // the pool's mapped device, "253:N"
	blockSectors     uint64
	logf             func(string, ...any)

	mu                sync.Mutex
	cond              *sync.Cond
	mode              Mode
	pf                Features
	lowWaterBlocks    uint64
	lowWaterTriggered bool
	suspended         bool
	refs              int
	event             func()
	// requestedErrorIfNoSpace is the bound table's error_if_no_space as
	// asked for, restored when the pool goes back to write mode.
	requestedErrorIfNoSpace bool

	lwMu    sync.Mutex
	metaLow metaLowWater
	lwEvent func()

	provision sync.Mutex
}

var pools struct {
	sync.Mutex
	byDev  map[string]*Pool // by pool mapped device
	byMeta map[string]*Pool // by metadata device
}

func init() {
	pools.byDev = map[string]*Pool{}
	pools.byMeta = map[string]*Pool{}
}

// Lookup returns the pool bound to the mapped device devName ("253:N") and
// takes a reference on it; Release gives it back.
func Lookup(devName string) (*Pool, bool) {
	pools.Lock()
	defer pools.Unlock()
	p, ok := pools.byDev[devName]
	if ok {
		p.mu.Lock()
		p.refs++
		p.mu.Unlock()
	}
	return p, ok
}

// find is __pool_find: the pool of this metadata device or of this mapped
// device, or a new one opened (formatted when its superblock is all zeros).
func find(ctx *targets.Context, metaDev, dataDev targets.Dev, blockSectors, lowWaterBlocks uint64, readOnly bool) (*Pool, bool, error) {
	pools.Lock()
	defer pools.Unlock()
	if p, ok := pools.byMeta[metaDev.Name()]; ok {
		if p.devName != ctx.DevName {
			return nil, false, targets.Errorf(syscall.EBUSY, "metadata device already in use by a pool")
		}
		if p.dataDev.Name() != dataDev.Name() {
			return nil, false, targets.Errorf(syscall.EBUSY, "data device already in use by a pool")
		}
		p.ref()
		return p, false, nil
	}
	if p, ok := pools.byDev[ctx.DevName]; ok {
		if p.metaDev.Name() != metaDev.Name() || p.dataDev.Name() != dataDev.Name() {
			return nil, false, targets.Invalid("different pool cannot replace a pool")
		}
		p.ref()
		return p, false, nil
	}
	for _, p := range pools.byDev {
		if p.dataDev.Name() == dataDev.Name() {
			return nil, false, targets.Errorf(syscall.EBUSY, "data device already in use by a pool")
		}
	}
	md, err := openMetadata(ctx, metaDev, blockSectors, readOnly)
	if err != nil {
		return nil, false, err
	}
	p := &Pool{md: md, metaDev: metaDev, dataDev: dataDev, devName: ctx.DevName, blockSectors: uint64(md.DataBlockSize()), logf: ctx.Logf, refs: 1, event: ctx.Event, lwEvent: ctx.Event, suspended: ctx.Suspended}
	p.cond = sync.NewCond(&p.mu)
	p.restoreState(ctx.Saved, lowWaterBlocks, ctx.Restored)
	md.OnMetadataAlloc(p.metadataAllocated)
	md.OnMetadataNoSpace(func() {
		if noMetadataBlockLog.Allow(time.Now()) {
			p.logf("space map metadata: unable to allocate new metadata block")
		}
	})
	pools.byDev[p.devName] = p
	pools.byMeta[metaDev.Name()] = p
	return p, true, nil
}

// resumeMode picks up a pool another process left without saving its state
// (restored), or starts a new one: the kernel keeps a pool's mode and low
// water state in memory while it is active, a new process derives them from
// the metadata (needs_check: read-only; no free data block: out of data
// space; below the low water mark after some allocation: an allocation saw
// free <= low water, so the event was sent; the metadata threshold of the
// table's metadata device registered, no free count seen).
func (p *Pool) resumeMode(lowWaterBlocks uint64, restored bool) {
	free, total := p.md.DataBlocks()
	p.metaLow = metaLowWater{Registered: true, Threshold: metadataThreshold(p.metaDev)}
	p.lowWaterBlocks = lowWaterBlocks
	p.lowWaterTriggered = free < total && free < lowWaterBlocks
	switch {
	case p.md.NeedsCheck():
		// A new pool starts in write mode: its first resume refuses
		// that and switches to read-only, as the kernel logs it.
		if restored {
			p.mode = ModeReadOnly
		}
	case total > 0 && free == 0:
		p.mode = ModeOutOfDataSpace
	}
}

// openMetadata opens the pool metadata on dev, formatting an all-zero
// device (dm_pool_metadata_open). The metadata's data block size wins over
// blockSectors for a restored table.
func openMetadata(ctx *targets.Context, dev targets.Dev, blockSectors uint64, readOnly bool) (*metadata.Pool, error) {
	fail := func() error { return targets.Invalid("Error creating metadata object") }
	bdev := targets.BlockDev{Dev: dev}
	sb := make([]byte, metadata.BlockSize)
	if _, err := dev.ReadAt(sb, 0); err != nil {
		ctx.Logf("thin metadata: couldn't read superblock: %v", err)
		return nil, fail()
	}
	nrBlocks := metaDevBlocks(dev)
	if block.AllZero(sb) {
		if readOnly {
			return nil, targets.Errorf(syscall.EPERM, "Error creating metadata object")
		}
		md, err := metadata.Format(bdev, nrBlocks, uint32(blockSectors), 0, metadata.Options{})
		if err != nil {
			ctx.Logf("thin metadata: couldn't format metadata: %v", err)
			return nil, fail()
		}
		return md, nil
	}
	md, err := metadata.Open(bdev, metadata.Options{ReadOnly: readOnly})
	if err != nil {
		ctx.Logf("thin metadata: couldn't open metadata: %v", err)
		return nil, fail()
	}
	if uint64(md.DataBlockSize()) != blockSectors && !ctx.Restored {
		// A restored table may name another block size: the kernel accepted
		// it for the pool it already had and ignored the number.
		ctx.Logf("thin metadata: changing the data block size (from %d to %d) is not supported", md.DataBlockSize(), blockSectors)
		md.Close()
		return nil, fail()
	}
	return md, nil
}

// maxMetadataBlocks is THIN_METADATA_MAX_SECTORS in 4 KiB blocks.
const maxMetadataBlocks = 255 * (1 << 14)

// metaDevBlocks is the metadata device's size in 4 KiB blocks, capped at the
// kernel's maximum.
func metaDevBlocks(dev targets.Dev) uint64 {
	return min(uint64(dev.SizeBytes())/metadata.BlockSize, maxMetadataBlocks)
}
func (p *Pool) ref() {
	p.mu.Lock()
	p.refs++
	p.mu.Unlock()
}

// Release drops a reference; the last one commits what changed and closes
// the metadata. That commit stands for the kernel's periodic one and is
// made without its space checks: the pool's mode was saved already, and
// the next command's commit (a status, a message) switches it.
func (p *Pool) Release() error {
	pools.Lock()
	defer pools.Unlock()
	p.mu.Lock()
	p.refs--
	last := p.refs == 0
	p.mu.Unlock()
	if !last {
		return nil
	}
	delete(pools.byDev, p.devName)
	delete(pools.byMeta, p.metaDev.Name())
	var err error
	if p.Mode() < ModeOutOfMetadataSpace {
		err = p.commitTransaction()
	}
	if cerr := p.md.Close(); err == nil {
		err = cerr
	}
	return err
}

// Metadata is the pool's metadata.
func (p *Pool) Metadata() *metadata.Pool { return p.md }

// BlockSectors is the data block size in sectors.
func (p *Pool) BlockSectors() uint64 { return p.blockSectors }

// DataDev is the pool's data device.
func (p *Pool) DataDev() targets.Dev { return p.dataDev }

// Mode is the pool's mode now.
func (p *Pool) Mode() Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

// Features are the pool's active features.
func (p *Pool) Features() Features {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pf
}

// Suspended reports whether the pool device is suspended.
func (p *Pool) Suspended() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.suspended
}

// setMode is set_pool_mode: it logs the change and raises a table event.
// Write mode is refused while the metadata needs checking, and a failed
// pool stays failed. Back in write mode error_if_no_space is the bound
// table's again (a no-space timeout may have forced it on).
func (p *Pool) setMode(m Mode) {
	p.mu.Lock()
	old := p.mode
	if m == ModeWrite && p.md.NeedsCheck() {
		p.logf("thin: %s: unable to switch pool to write mode until repaired.", p.devName)
		if old != m {
			m = old
		} else {
			m = ModeReadOnly
		}
	}
	if old == ModeFail {
		m = old
	}
	p.mode = m
	extra := ""
	switch m {
	case ModeOutOfDataSpace:
		extra = " (queue IO)"
		if p.pf.ErrorIfNoSpace {
			extra = " (error IO)"
		}
	case ModeWrite:
		p.pf.ErrorIfNoSpace = p.requestedErrorIfNoSpace
	}
	event := p.event
	p.cond.Broadcast()
	p.mu.Unlock()
	if old != m {
		if event != nil {
			event()
		}
		p.logf("thin: %s: switching pool to %s%s mode", p.devName, modeNames[m], extra)
	}
}

// Commit makes the data durable, then commits the metadata (the data of a
// mapping is on disk before the commit that maps it). It does nothing once
// the metadata may not change (flushes still succeed then, as the kernel's
// do when no thin device changed since the last commit).
func (p *Pool) Commit() error {
	if p.Mode() >= ModeOutOfMetadataSpace {
		return nil
	}
	return p.commit()
}

// CommitChanged is the commit of the kernel's periodic worker and of a
// flush: only when the metadata changed since the last commit (then with
// the space checks of any commit).
func (p *Pool) CommitChanged() error {
	if p.Mode() >= ModeOutOfMetadataSpace || !p.md.Changed() {
		return nil
	}
	return p.commit()
}

// commit is dm-thin.c's commit(): a failed commit puts the pool in
// read-only mode (metadata_operation_failed); a successful one checks the
// metadata space (out of it: out-of-metadata-space mode) and the data space
// (some again: back to write mode from out-of-data-space). EINVAL when the
// metadata may not change.
func (p *Pool) commit() error {
	if p.Mode() >= ModeOutOfMetadataSpace {
		return syscall.EINVAL
	}
	if err := p.commitTransaction(); err != nil {
		return err
	}
	p.checkForMetadataSpace()
	p.checkForDataSpace()
	return nil
}

// commitTransaction is __commit_transaction: once the pool is in service
// (metadata.Pool.InService) the data device is flushed (the pool's
// pre-commit callback: the data of a mapping is on disk before the commit
// that maps it), then the changes are committed; a pool not in service has
// only a new pool's first superblock to write, if that. A failed commit is
// metadata_operation_failed.
func (p *Pool) commitTransaction() error {
	if p.md.InService() {
		if err := p.dataDev.Flush(); err != nil {
			return err
		}
	}
	if err := p.md.Commit(); err != nil {
		p.operationFailed("dm_pool_commit_metadata", err)
		return err
	}
	return nil
}

// checkForMetadataSpace is check_for_metadata_space: no free metadata
// block beyond the reserve switches the pool to out-of-metadata-space mode.
func (p *Pool) checkForMetadataSpace() {
	if free, _ := p.md.MetadataBlocks(); free == 0 && !p.Mode().readOnly() {
		p.logf("thin: No free metadata blocks")
		p.setMode(ModeOutOfMetadataSpace)
	}
}

// checkForDataSpace is check_for_data_space: a pool out of data space that
// has free data blocks again goes back to write mode.
func (p *Pool) checkForDataSpace() {
	if p.Mode() != ModeOutOfDataSpace {
		return
	}
	if free, _ := p.md.DataBlocks(); free > 0 {
		p.setMode(ModeWrite)
	}
}

// Lock serialises the slow path of thin I/O (provisioning, breaking
// sharing, unmapping) across the pool's thin devices.
func (p *Pool) Lock() { p.provision.Lock() }

// Unlock ends what Lock began.
func (p *Pool) Unlock() { p.provision.Unlock() }

// OperationFailed is metadata_operation_failed, for the thin devices.
func (p *Pool) OperationFailed(op string, err error) { p.operationFailed(op, err) }

// noMetadataBlockLog limits the space map's "unable to allocate new
// metadata block" lines (DMERR_LIMIT: one state for every pool).
var noMetadataBlockLog targets.RateLimit

// operationFailed is metadata_operation_failed: abort to the last commit,
// flag the metadata for checking, go read-only. The abort rebuilds the
// space maps, which drops the metadata low water threshold (until a table
// is loaded again).
func (p *Pool) operationFailed(op string, err error) {
	p.logf("thin: %s: metadata operation '%s' failed: error = -%d", p.devName, op, int(metadataErrno(err)))
	p.logf("thin: %s: aborting current metadata transaction", p.devName)
	aerr := p.md.Abort()
	p.forgetMetadataThreshold()
	if aerr != nil {
		p.logf("thin: %s: failed to abort metadata transaction", p.devName)
		p.setMode(ModeFail)
	}
	if aerr != nil || p.md.SetNeedsCheck() != nil {
		p.logf("thin: %s: failed to set 'needs_check' flag in metadata", p.devName)
		p.setMode(ModeFail)
	}
	p.setMode(ModeReadOnly)
}

// AllocDataBlock is alloc_data_block: low water mark, out-of-data-space
// mode (error at once, or wait for space up to NoSpaceTimeout), and a
// commit before an allocation would eat into the metadata reserve. That
// commit may switch the pool to out-of-metadata-space mode: the block is
// allocated all the same, and the caller finds the pool read-only when it
// comes to map it (the kernel fails the bio then, the block stays
// allocated).
func (p *Pool) AllocDataBlock() (uint64, error) {
	for {
		free, _ := p.md.DataBlocks()
		p.checkLowWater(free)
		if free == 0 {
			if err := p.commit(); err != nil {
				return 0, syscall.EIO
			}
			if free, _ = p.md.DataBlocks(); free == 0 {
				p.setMode(ModeOutOfDataSpace)
				if err := p.waitForSpace(); err != nil {
					return 0, err
				}
				continue
			}
		}
		b, err := p.md.AllocDataBlock()
		if errors.Is(err, metadata.ErrNoSpace) {
			p.setMode(ModeOutOfDataSpace)
			continue
		}
		if err != nil {
			p.operationFailed("dm_pool_alloc_data_block", err)
			return 0, syscall.EIO
		}
		if metaFree, _ := p.md.MetadataBlocks(); metaFree == 0 {
			if err := p.commit(); err != nil {
				return 0, syscall.EIO
			}
		}
		return b, nil
	}
}

// waitForSpace queues an allocation while the pool is out of data space:
// ENOSPC at once with error_if_no_space, else when NoSpaceTimeout passes
// without the pool growing (then error_if_no_space is forced on).
func (p *Pool) waitForSpace() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pf.ErrorIfNoSpace {
		return syscall.ENOSPC
	}
	deadline := time.Now().Add(NoSpaceTimeout)
	timer := time.AfterFunc(NoSpaceTimeout, func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer timer.Stop()
	for p.mode == ModeOutOfDataSpace && time.Now().Before(deadline) {
		p.cond.Wait()
	}
	if p.mode == ModeOutOfDataSpace {
		p.pf.ErrorIfNoSpace = true
		return syscall.ENOSPC
	}
	if p.mode != ModeWrite {
		return syscall.EIO
	}
	return nil
}

// checkLowWater raises one event when free data blocks reach the low water
// mark; it is re-armed at the next resume.
func (p *Pool) checkLowWater(free uint64) {
	p.mu.Lock()
	fire := free <= p.lowWaterBlocks && !p.lowWaterTriggered
	if fire {
		p.lowWaterTriggered = true
	}
	event := p.event
	p.mu.Unlock()
	if fire {
		p.lowWaterReached("data", event)
	}
}

// lowWaterReached logs that the data or metadata device reached its low
// water mark and raises the table event.
func (p *Pool) lowWaterReached(device string, event func()) {
	p.logf("thin: %s: reached low water mark for %s device: sending event.", p.devName, device)
	if event != nil {
		event()
	}
}

// Writable reports whether the pool may change metadata now.
func (p *Pool) Writable() bool {
	m := p.Mode()
	return m == ModeWrite || m == ModeOutOfDataSpace
}
