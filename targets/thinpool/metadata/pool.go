package metadata

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/btree"
	"github.com/gdmsetup/gdmsetup/pdata/spacemap"
	"github.com/gdmsetup/gdmsetup/pdata/transaction"
)

// BlockSize is the size of one metadata block in bytes.
const BlockSize = block.BlockSize

// DefaultCacheBlocks is the default number of metadata blocks kept in memory (16 MiB).
const DefaultCacheBlocks = block.DefaultCacheBlocks

// maxMetadataBlocks is the largest metadata device the metadata space map can track
// (255 index entries of 16320 blocks, less the kernel's margin).
const maxMetadataBlocks = 255 * (16320 - 64)

// BlockDevice is the storage the metadata lives on: a file or a block device. Writes
// are durable once Sync returns nil. A device with a SizeBytes method (returning
// int64, or int64 and error) reports its own size; otherwise Format's nrMetaBlocks,
// the superblock, or ResizeMetadata's argument give it.
type BlockDevice interface {
	io.ReaderAt
	io.WriterAt
	Sync() error
}

// sizedDevice adapts a BlockDevice to pdata's block.Device.
type sizedDevice struct {
	BlockDevice
	sizeBytes int64 // used when the device cannot tell its size
}

func (d *sizedDevice) SizeBytes() (int64, error) {
	switch s := d.BlockDevice.(type) {
	case block.Device:
		return s.SizeBytes()
	case interface{ SizeBytes() int64 }:
		return s.SizeBytes(), nil
	}
	return d.sizeBytes, nil
}

// Pool is the metadata of one thin pool (dm-thin-metadata's job) on pdata: devices,
// their mappings, the data and metadata space maps, transaction id, metadata snapshot.
//
// Concurrency: mu protects every field below and all use of the pdata managers;
// each exported method of Pool and Thin holds it for its whole duration, so a Pool
// may be shared between goroutines.
type Pool struct {
	mu        sync.Mutex
	dev       *sizedDevice
	bm        *block.Manager
	tm        *transaction.Manager
	msm       *spacemap.Metadata
	dsm       *spacemap.Disk
	sb        superblock // in-core superblock: fields and roots of the next commit
	details   map[uint64]*deviceDetails
	open      map[uint64]int // open Thin handles per device
	devList   []uint64       // the kernel's in-core device list (see device_list.go)
	failed    error          // an error left the in-core state unusable: only Abort/Close work
	dirty     bool           // anything changed since the last commit
	inService bool           // anything changed since Open or Format (InService)
	opt       Options
	noSpace   func()     // see OnMetadataNoSpace; kept across Abort
	mapping   btree.Info // two levels: device id, virtual block -> block_time
	bottom    btree.Info // one device's mapping tree
	top       btree.Info // top level alone: device id -> mapping-tree root
	detailsT  btree.Info // device id -> disk_device_details
	value     [8]byte    // scratch for an inserted value (a local would escape through the btree callbacks)
}

// deviceDetails is struct disk_device_details plus in-core state.
type deviceDetails struct {
	MappedBlocks    uint64
	TransactionID   uint64
	CreationTime    uint32
	SnapshottedTime uint32
	changed         bool
}

const detailsSize = 24

func (d *deviceDetails) encode() []byte {
	b := make([]byte, detailsSize)
	binary.LittleEndian.PutUint64(b[0:], d.MappedBlocks)
	binary.LittleEndian.PutUint64(b[8:], d.TransactionID)
	binary.LittleEndian.PutUint32(b[16:], d.CreationTime)
	binary.LittleEndian.PutUint32(b[20:], d.SnapshottedTime)
	return b
}

func decodeDetails(b []byte) (*deviceDetails, error) {
	if len(b) != detailsSize {
		return nil, fmt.Errorf("device details value of %d bytes, want %d: corrupt metadata", len(b), detailsSize)
	}
	return &deviceDetails{
		MappedBlocks:    binary.LittleEndian.Uint64(b[0:]),
		TransactionID:   binary.LittleEndian.Uint64(b[8:]),
		CreationTime:    binary.LittleEndian.Uint32(b[16:]),
		SnapshottedTime: binary.LittleEndian.Uint32(b[20:]),
	}, nil
}

// packBlockTime packs a mapping value: data block in the high 40 bits, time in the low 24.
func packBlockTime(dataBlock uint64, time uint32) uint64 {
	return dataBlock<<24 | uint64(time&0xFFFFFF)
}

func unpackBlockTime(v uint64) (dataBlock uint64, time uint32) { return v >> 24, uint32(v & 0xFFFFFF) }

// Options tunes Open and Format.
type Options struct {
	CacheBlocks int  // metadata blocks kept in memory (default DefaultCacheBlocks)
	ReadOnly    bool // refuse every change
}

// Format writes fresh, empty pool metadata to dev (nrMetaBlocks 4 KiB blocks, at
// most the device size; data blocks of dataBlockSizeSectors, nrDataBlocks of them)
// and returns it open.
func Format(dev BlockDevice, nrMetaBlocks uint64, dataBlockSizeSectors uint32, nrDataBlocks uint64, opt Options) (*Pool, error) {
	p, err := newFormatted(dev, nrMetaBlocks, dataBlockSizeSectors, nrDataBlocks, opt)
	if err != nil {
		return nil, err
	}
	if err := p.Commit(); err != nil {
		return nil, err
	}
	return p, nil
}

// newFormatted builds an empty pool; nothing is durable until Commit.
func newFormatted(dev BlockDevice, nrMetaBlocks uint64, dataBlockSizeSectors uint32, nrDataBlocks uint64, opt Options) (*Pool, error) {
	if dataBlockSizeSectors == 0 {
		return nil, fmt.Errorf("data block size must not be zero")
	}
	p, err := newPool(&sizedDevice{BlockDevice: dev, sizeBytes: int64(min(nrMetaBlocks, maxMetadataBlocks)) * BlockSize}, opt)
	if err != nil {
		return nil, err
	}
	nrMetaBlocks = min(nrMetaBlocks, maxMetadataBlocks, p.bm.NrBlocks())
	if nrMetaBlocks < 16 {
		return nil, fmt.Errorf("metadata device too small: %d blocks", nrMetaBlocks)
	}
	if p.tm, p.msm, err = spacemap.CreateMetadata(p.bm, superblockLocation, nrMetaBlocks); err != nil {
		return nil, err
	}
	if p.dsm, err = spacemap.CreateDisk(p.tm, 0); err != nil {
		return nil, err
	}
	if err := p.dsm.Extend(nrDataBlocks); err != nil {
		return nil, err
	}
	p.setupTrees()
	p.sb = superblock{
		Magic: superblockMagic, Version: superblockVersion,
		DataBlockSize: dataBlockSizeSectors, MetadataBlockSize: metadataBlockSizeSectors,
		MetadataNrBlocks: nrMetaBlocks,
	}
	if p.sb.DataMappingRoot, err = p.top.Empty(); err != nil {
		return nil, err
	}
	if p.sb.DeviceDetailsRoot, err = p.detailsT.Empty(); err != nil {
		return nil, err
	}
	p.dirty = true
	return p, nil
}

func newPool(dev *sizedDevice, opt Options) (*Pool, error) {
	if opt.CacheBlocks == 0 {
		opt.CacheBlocks = DefaultCacheBlocks
	}
	bm, err := block.NewManager(dev, opt.CacheBlocks, opt.ReadOnly)
	if err != nil {
		return nil, err
	}
	return &Pool{dev: dev, bm: bm, details: make(map[uint64]*deviceDetails), open: make(map[uint64]int), opt: opt}, nil
}

// u64Value applies fn to an 8-byte little-endian value (pdata hands callbacks
// only values of the tree's size: a leaf of another size is an error naming it).
func u64Value(fn func(uint64) error) func([]byte) error {
	return func(v []byte) error { return fn(binary.LittleEndian.Uint64(v)) }
}

// sameU64 compares two 8-byte values after shift.
func sameU64(shift uint) func(a, b []byte) bool {
	return func(a, b []byte) bool {
		return binary.LittleEndian.Uint64(a)>>shift == binary.LittleEndian.Uint64(b)>>shift
	}
}

// setupTrees describes the pool's btrees once the transaction manager exists.
func (p *Pool) setupTrees() {
	blockTime := btree.ValueType{
		Size:  8,
		Inc:   u64Value(func(v uint64) error { return p.dsm.Inc(v >> 24) }),
		Dec:   u64Value(func(v uint64) error { return p.dsm.Dec(v >> 24) }),
		Equal: sameU64(24),
	}
	p.mapping = btree.Info{TM: p.tm, Levels: 2, Value: blockTime}
	p.bottom = btree.Info{TM: p.tm, Levels: 1, Value: blockTime}
	p.top = btree.Info{TM: p.tm, Levels: 1, Value: btree.ValueType{
		Size:  8,
		Inc:   u64Value(p.tm.Inc),
		Dec:   u64Value(p.bottom.Del),
		Equal: sameU64(0),
	}}
	p.detailsT = btree.Info{TM: p.tm, Levels: 1, Value: btree.ValueType{Size: detailsSize}}
}

// Open reads existing pool metadata (written by this package, thin_restore or the kernel).
func Open(dev BlockDevice, opt Options) (*Pool, error) {
	raw, sb, err := readSuperblock(dev, superblockLocation, "superblock")
	if raw != nil && block.AllZero(raw) {
		return nil, &BlockError{Block: 0, What: "superblock", Msg: "all zeroes: metadata not formatted"}
	}
	if err != nil {
		return nil, err
	}
	p, err := newPool(&sizedDevice{BlockDevice: dev, sizeBytes: int64(min(sb.MetadataSM.NrBlocks, maxMetadataBlocks)) * BlockSize}, opt)
	if err != nil {
		return nil, err
	}
	if sb.CompatROFlags != 0 && !opt.ReadOnly {
		return nil, &BlockError{Block: 0, What: "superblock", Msg: fmt.Sprintf("unsupported read-only features 0x%x: open read-only", sb.CompatROFlags)}
	}
	p.sb = *sb
	if p.tm, p.msm, err = spacemap.OpenMetadata(p.bm, raw[metadataSMOff:metadataSMOff+smRootFieldSize]); err != nil {
		return nil, fmt.Errorf("metadata space map: %w", err)
	}
	if p.dsm, err = spacemap.OpenDisk(p.tm, raw[dataSMOff:dataSMOff+smRootFieldSize]); err != nil {
		return nil, fmt.Errorf("data space map: %w", err)
	}
	p.setupTrees()
	err = p.detailsT.Walk(sb.DeviceDetailsRoot, func(keys []uint64, v []byte) error {
		d, err := decodeDetails(v)
		p.details[keys[0]] = d
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("device details tree: %w", err)
	}
	return p, nil
}

// begin starts a change: it refuses when read-only or failed.
func (p *Pool) begin() error {
	if p.failed != nil {
		return fmt.Errorf("%w: %v", ErrFailed, p.failed)
	}
	if p.opt.ReadOnly {
		return ErrReadOnly
	}
	p.dirty, p.inService = true, true
	return nil
}

// fail records an error that left the in-core state inconsistent (an I/O error or
// running out of metadata space in the middle of a change).
func (p *Pool) fail(err error) error {
	if err != nil && p.failed == nil {
		p.failed = err
	}
	return err
}

// Commit makes every change since the last commit durable (new blocks written and
// flushed, then the superblock written and flushed). A no-op when nothing changed.
func (p *Pool) Commit() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.commit()
}

func (p *Pool) commit() error {
	if p.failed != nil {
		return fmt.Errorf("%w: %v", ErrFailed, p.failed)
	}
	if !p.dirty {
		return nil
	}
	if p.opt.ReadOnly {
		return ErrReadOnly
	}
	return p.fail(p.writeTransaction())
}

// writeTransaction follows the kernel's __commit_transaction order.
func (p *Pool) writeTransaction() error {
	var err error
	for _, id := range p.changedOrder() {
		d := p.details[id]
		if !d.changed {
			continue
		}
		if p.sb.DeviceDetailsRoot, err = p.detailsT.Insert(p.sb.DeviceDetailsRoot, []uint64{id}, d.encode()); err != nil {
			return err
		}
		d.changed = false
		if p.open[id] == 0 {
			p.dropDevice(id)
		}
	}
	if err := p.dsm.Commit(); err != nil {
		return err
	}
	if err := p.tm.PreCommit(); err != nil {
		return err
	}
	p.sb.DataSM, p.sb.MetadataSM = p.dsm.Root(), p.msm.Root()
	p.sb.Blocknr = superblockLocation
	sbBlock, err := p.bm.WriteLockZero(superblockLocation, superblockValidator)
	if err != nil {
		return err
	}
	p.sb.encode(sbBlock.Data())
	if err := p.tm.Commit(sbBlock); err != nil {
		return err
	}
	p.dirty = false
	return nil
}

func (p *Pool) sortedIDs() []uint64 {
	ids := make([]uint64, 0, len(p.details))
	for id := range p.details {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Abort drops every change since the last commit by re-reading the metadata.
func (p *Pool) Abort() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tm != nil {
		p.tm.Abort()
	}
	q, err := Open(p.dev.BlockDevice, p.opt)
	if err != nil {
		return err
	}
	q.open = p.open
	p.bm, p.tm, p.msm, p.dsm, p.sb, p.details = q.bm, q.tm, q.msm, q.dsm, q.sb, q.details
	p.msm.OnNoSpace(p.noSpace)
	p.failed, p.dirty, p.inService = nil, false, true
	// the list outlives an abort, less the devices it took away
	p.setDeviceList(p.devList)
	p.setupTrees()
	return nil
}

// Close commits pending changes (unless read-only or failed). The device stays
// open: it belongs to the caller.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.opt.ReadOnly || p.failed != nil {
		return p.failed
	}
	return p.commit()
}

// deviceRoot returns the root of device id's mapping tree.
func (p *Pool) deviceRoot(id uint64) (uint64, error) {
	v := make([]byte, 8)
	if err := p.top.Lookup(p.sb.DataMappingRoot, []uint64{id}, v); err != nil {
		if errors.Is(err, btree.ErrNotFound) {
			return 0, fmt.Errorf("thin device %d: %w", id, ErrNoDevice)
		}
		return 0, err
	}
	return binary.LittleEndian.Uint64(v), nil
}

// CreateThin creates an empty thin device.
func (p *Pool) CreateThin(id uint64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.begin(); err != nil {
		return err
	}
	if _, ok := p.details[id]; ok {
		return fmt.Errorf("thin device %d: %w", id, ErrExists)
	}
	root, err := p.bottom.Empty()
	if err != nil {
		return p.fail(err)
	}
	if err := p.insertTop(id, root); err != nil {
		return err
	}
	p.details[id] = &deviceDetails{TransactionID: p.sb.TransactionID, CreationTime: p.sb.Time, SnapshottedTime: p.sb.Time, changed: true}
	p.openDevice(id)
	return nil
}

// insertTop stores a (referenced) mapping-tree root for a new device id.
func (p *Pool) insertTop(id, root uint64) error {
	v := binary.LittleEndian.AppendUint64(nil, root)
	newTop, err := p.top.Insert(p.sb.DataMappingRoot, []uint64{id}, v)
	if err != nil {
		return p.fail(err)
	}
	p.sb.DataMappingRoot = newTop
	return nil
}

// CreateSnap creates device id as a snapshot of origin: both share origin's mapping
// tree, and the pool time advances.
func (p *Pool) CreateSnap(id, origin uint64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.begin(); err != nil {
		return err
	}
	if _, ok := p.details[id]; ok {
		return fmt.Errorf("thin device %d: %w", id, ErrExists)
	}
	od, ok := p.details[origin]
	if !ok {
		return fmt.Errorf("origin thin device %d: %w", origin, ErrNoDevice)
	}
	root, err := p.deviceRoot(origin)
	if err != nil {
		return err
	}
	if err := p.tm.Inc(root); err != nil {
		return p.fail(err)
	}
	if err := p.insertTop(id, root); err != nil {
		return err
	}
	p.sb.Time++
	od.SnapshottedTime, od.changed = p.sb.Time, true
	p.details[id] = &deviceDetails{MappedBlocks: od.MappedBlocks, TransactionID: p.sb.TransactionID,
		CreationTime: p.sb.Time, SnapshottedTime: p.sb.Time, changed: true}
	// __create_snap opens the snapshot, then its origin
	p.openDevice(id)
	p.openDevice(origin)
	return nil
}

// Delete removes a thin device and releases its mappings.
func (p *Pool) Delete(id uint64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.begin(); err != nil {
		return err
	}
	if _, ok := p.details[id]; !ok {
		return fmt.Errorf("thin device %d: %w", id, ErrNoDevice)
	}
	if p.open[id] > 0 {
		return fmt.Errorf("thin device %d: %w", id, ErrBusy)
	}
	// details first, then the mapping tree, as __delete_device: the order
	// decides which blocks the shadowed leaves take
	var err error
	if p.sb.DeviceDetailsRoot, err = p.detailsT.Remove(p.sb.DeviceDetailsRoot, []uint64{id}); err != nil && !errors.Is(err, btree.ErrNotFound) {
		return p.fail(err)
	}
	if p.sb.DataMappingRoot, err = p.top.Remove(p.sb.DataMappingRoot, []uint64{id}); err != nil {
		return p.fail(err)
	}
	delete(p.details, id)
	p.dropDevice(id)
	return nil
}

// TransactionID returns the userspace transaction id of the in-core transaction.
func (p *Pool) TransactionID() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sb.TransactionID
}

// SetTransactionID changes the transaction id from current to next; it fails when
// current is not the present id (the pool's set_transaction_id message).
func (p *Pool) SetTransactionID(current, next uint64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.begin(); err != nil {
		return err
	}
	if p.sb.TransactionID != current {
		return fmt.Errorf("mismatched transaction id: %d, expected %d", current, p.sb.TransactionID)
	}
	p.sb.TransactionID = next
	return nil
}

// Time returns the pool's current snapshot time.
func (p *Pool) Time() uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sb.Time
}

// DataBlockSize returns the data block size in sectors.
func (p *Pool) DataBlockSize() uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sb.DataBlockSize
}

// NeedsCheck reports the superblock's needs_check flag.
func (p *Pool) NeedsCheck() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sb.Flags&NeedsCheckFlag != 0
}

// SetNeedsCheck sets the needs_check flag and writes it into the on-disk superblock
// at once (the other fields stay as last committed), like
// dm_pool_metadata_set_needs_check.
func (p *Pool) SetNeedsCheck() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.opt.ReadOnly {
		return ErrReadOnly
	}
	p.sb.Flags |= NeedsCheckFlag
	raw := make([]byte, BlockSize)
	if _, err := p.dev.ReadAt(raw, 0); err != nil {
		return fmt.Errorf("read superblock: %w", err)
	}
	return writeSuperblockFlags(p.dev, raw, p.sb.Flags)
}

// writeSuperblockFlags writes superblock raw (as read from dev) back with flags,
// resealed, and syncs dev.
func writeSuperblockFlags(dev block.Device, raw []byte, flags uint32) error {
	binary.LittleEndian.PutUint32(raw[4:], flags)
	superblockValidator.Prepare(raw, superblockLocation)
	if _, err := dev.WriteAt(raw, superblockLocation*BlockSize); err != nil {
		return fmt.Errorf("write superblock: %w", err)
	}
	return dev.Sync()
}

// ClearNeedsCheck clears the needs_check flag in the superblock of the metadata on
// dev, as thin_check --clear-needs-check-flag does once its check found nothing:
// the caller must have checked the metadata (Check) and own it (no pool open on
// it). It reports whether the flag was set.
func ClearNeedsCheck(dev block.Device) (bool, error) {
	raw, sb, err := readSuperblock(dev, superblockLocation, "superblock")
	if err != nil {
		return false, err
	}
	if sb.Flags&NeedsCheckFlag == 0 {
		return false, nil
	}
	return true, writeSuperblockFlags(dev, raw, sb.Flags&^NeedsCheckFlag)
}

// AllocDataBlock allocates a free data block (count 1); InsertBlock takes over
// that reference.
func (p *Pool) AllocDataBlock() (uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.begin(); err != nil {
		return 0, err
	}
	b, err := p.dsm.NewBlock()
	if err != nil {
		return 0, fmt.Errorf("data device: %w", err)
	}
	return b, nil
}

// DataBlocks returns the free and total number of data blocks (as the kernel: the
// total is the size as of the last commit; a ResizeData shows after Commit).
func (p *Pool) DataBlocks() (free, total uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	free, _ = p.dsm.NrFree() // pdata's counters never fail
	total, _ = p.dsm.NrBlocks()
	return free, total
}

// MetadataBlocks returns the free (less the kernel's reserve of min(4096, total/10))
// and total number of metadata blocks.
func (p *Pool) MetadataBlocks() (free, total uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	free, _ = p.msm.NrFree() // pdata's counters never fail
	total, _ = p.msm.NrBlocks()
	reserve := min(4096, total/10)
	if free < reserve {
		return 0, total
	}
	return free - reserve, total
}

// ResizeData grows the data space map to nrBlocks; shrinking is refused.
func (p *Pool) ResizeData(nrBlocks uint64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.begin(); err != nil {
		return err
	}
	cur, err := p.dsm.NrBlocks()
	if err != nil {
		return err
	}
	if nrBlocks < cur {
		return fmt.Errorf("pool target (%d blocks) too small: expected %d", nrBlocks, cur)
	}
	return p.fail(p.dsm.Extend(nrBlocks - cur))
}

// ResizeMetadata grows the metadata space map to nrBlocks after the device grew;
// shrinking is refused.
func (p *Pool) ResizeMetadata(nrBlocks uint64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.begin(); err != nil {
		return err
	}
	cur, err := p.msm.NrBlocks()
	if err != nil {
		return err
	}
	p.dev.sizeBytes = int64(nrBlocks) * BlockSize
	devBlocks, err := p.bm.Resize()
	if err != nil {
		return err
	}
	switch {
	case nrBlocks < cur:
		return fmt.Errorf("metadata device (%d blocks) too small: expected %d", nrBlocks, cur)
	case nrBlocks > devBlocks || nrBlocks > maxMetadataBlocks:
		return fmt.Errorf("metadata device of %d blocks cannot hold %d blocks (maximum %d)", devBlocks, nrBlocks, maxMetadataBlocks)
	}
	return p.fail(p.msm.Extend(nrBlocks - cur))
}

// ReserveMetadataSnap commits, then takes a metadata snapshot: a copy of the
// superblock that co-owns the current mapping and details trees. Its block is HeldRoot.
func (p *Pool) ReserveMetadataSnap() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sb.HeldRoot != 0 {
		return ErrSnapExists
	}
	if err := p.begin(); err != nil {
		return err
	}
	if err := p.commit(); err != nil {
		return err
	}
	p.dirty = true
	// The kernel's order, which decides the blocks allocated: take a second
	// reference on the superblock, then shadow it (a new block for the copy,
	// the reference dropped again).
	if err := p.tm.Inc(superblockLocation); err != nil {
		return p.fail(err)
	}
	copyBlock, _, err := p.tm.Shadow(superblockLocation, superblockValidator)
	if err != nil {
		return p.fail(err)
	}
	cp := p.sb
	cp.Blocknr, cp.DataSM, cp.MetadataSM = copyBlock.Nr(), spacemap.Root{}, spacemap.Root{}
	cp.encode(copyBlock.Data())
	superblockValidator.Prepare(copyBlock.Data(), copyBlock.Nr())
	p.tm.Unlock(copyBlock)
	if err := p.tm.Inc(p.sb.DataMappingRoot); err != nil {
		return p.fail(err)
	}
	if err := p.tm.Inc(p.sb.DeviceDetailsRoot); err != nil {
		return p.fail(err)
	}
	p.sb.HeldRoot = cp.Blocknr
	return nil
}

// ReleaseMetadataSnap drops the metadata snapshot and the references it holds.
func (p *Pool) ReleaseMetadataSnap() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.begin(); err != nil {
		return err
	}
	held := p.sb.HeldRoot
	if held == 0 {
		return ErrNoSnap
	}
	snap, err := p.readHeld()
	if err != nil {
		return err
	}
	if err := p.mapping.Del(snap.DataMappingRoot); err != nil {
		return p.fail(err)
	}
	if err := p.detailsT.Del(snap.DeviceDetailsRoot); err != nil {
		return p.fail(err)
	}
	if err := p.tm.Dec(held); err != nil {
		return p.fail(err)
	}
	p.sb.HeldRoot = 0
	return nil
}

// readHeld reads the metadata-snapshot superblock.
func (p *Pool) readHeld() (*superblock, error) {
	var snap *superblock
	err := p.tm.View(p.sb.HeldRoot, superblockValidator, func(data []byte) error {
		var err error
		snap, err = decodeSuperblock(data, p.sb.HeldRoot)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("metadata snapshot superblock: %w", err)
	}
	return snap, nil
}

// HeldRoot returns the block of the metadata snapshot, 0 if none.
func (p *Pool) HeldRoot() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sb.HeldRoot
}

// Devices returns the ids of all thin devices in increasing order.
func (p *Pool) Devices() []uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sortedIDs()
}
