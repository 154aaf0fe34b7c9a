package metadata

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
)

// DefaultCacheBlocks is the default size of the metadata block cache (16 MiB).
const DefaultCacheBlocks = 4096

// Pool is the metadata of one thin pool (dm-thin-metadata's job): devices, their
// mappings, the data and metadata space maps, transaction id, metadata snapshot.
//
// Concurrency: mu protects every field below and the metadata device; each exported
// method of Pool and Thin takes it for its whole duration, so a Pool may be shared
// between goroutines.
type Pool struct {
	mu       sync.Mutex
	dev      BlockDevice
	cache    *blockCache
	tm       *txManager
	msm, dsm *spaceMapDisk
	sb       superblock // in-core superblock: roots and fields of the next commit
	details  map[uint64]*deviceDetails
	topFresh map[uint64]struct{} // devices whose top-level path is unshared in this transaction
	open     map[uint64]int      // open Thin handles per device
	failed   error               // set when a write failed mid-operation: only Abort/Close work
	dirty    bool                // anything changed since the last commit
	cacheMax int
	readOnly bool
	bottomVT *valueType // value type of device mapping trees (data block references)
	topVT    *valueType // value type of the top level (device mapping-tree roots)
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

var detailsVT = &valueType{size: detailsSize}

func (d *deviceDetails) encode() []byte {
	b := make([]byte, detailsSize)
	binary.LittleEndian.PutUint64(b[0:], d.MappedBlocks)
	binary.LittleEndian.PutUint64(b[8:], d.TransactionID)
	binary.LittleEndian.PutUint32(b[16:], d.CreationTime)
	binary.LittleEndian.PutUint32(b[20:], d.SnapshottedTime)
	return b
}

func decodeDetails(b []byte) *deviceDetails {
	return &deviceDetails{
		MappedBlocks:    binary.LittleEndian.Uint64(b[0:]),
		TransactionID:   binary.LittleEndian.Uint64(b[8:]),
		CreationTime:    binary.LittleEndian.Uint32(b[16:]),
		SnapshottedTime: binary.LittleEndian.Uint32(b[20:]),
	}
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

// Format writes fresh, empty pool metadata to dev (nrMetaBlocks 4 KiB blocks, data
// blocks of dataBlockSizeSectors, nrDataBlocks of them) and returns it open.
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

// newFormatted builds an empty pool in memory; nothing is on disk until Commit.
func newFormatted(dev BlockDevice, nrMetaBlocks uint64, dataBlockSizeSectors uint32, nrDataBlocks uint64, opt Options) (*Pool, error) {
	const maxMetaBlocks = maxMetadataBitmaps * (entriesPerBitmap - 64)
	nrMetaBlocks = min(nrMetaBlocks, maxMetaBlocks)
	if nrMetaBlocks < 16 {
		return nil, fmt.Errorf("metadata device too small: %d blocks", nrMetaBlocks)
	}
	if dataBlockSizeSectors == 0 {
		return nil, fmt.Errorf("data block size must not be zero")
	}
	p := newPool(dev, nrMetaBlocks, opt)
	msm := newRefCounts("metadata", nrMetaBlocks)
	msm.set(superblockLocation, 1)
	p.tm.msm = msm
	p.msm = &spaceMapDisk{counts: msm}
	p.dsm = &spaceMapDisk{counts: newRefCounts("data", nrDataBlocks)}
	p.sb = superblock{
		Magic: superblockMagic, Version: superblockVersion,
		DataBlockSize: dataBlockSizeSectors, MetadataBlockSize: metadataBlockSizeSectors,
		MetadataNrBlocks: nrMetaBlocks,
	}
	var err error
	if p.sb.DataMappingRoot, err = p.tm.emptyTree(p.topVT); err != nil {
		return nil, err
	}
	if p.sb.DeviceDetailsRoot, err = p.tm.emptyTree(detailsVT); err != nil {
		return nil, err
	}
	p.dirty = true
	return p, nil
}

func newPool(dev BlockDevice, nrMetaBlocks uint64, opt Options) *Pool {
	if opt.CacheBlocks == 0 {
		opt.CacheBlocks = DefaultCacheBlocks
	}
	cache := newBlockCache(dev, nrMetaBlocks, opt.CacheBlocks)
	cache.readOnly = opt.ReadOnly
	p := &Pool{
		dev: dev, cache: cache, tm: newTxManager(cache, nil),
		details: make(map[uint64]*deviceDetails), topFresh: make(map[uint64]struct{}),
		open: make(map[uint64]int), cacheMax: opt.CacheBlocks, readOnly: opt.ReadOnly,
	}
	p.bottomVT = newBottomVT(p)
	p.topVT = newTopVT(p)
	return p
}

// Open reads existing pool metadata (written by this package, thin_restore or the kernel).
func Open(dev BlockDevice, opt Options) (*Pool, error) {
	sbData := make([]byte, BlockSize)
	if _, err := dev.ReadAt(sbData, 0); err != nil {
		return nil, fmt.Errorf("read superblock: %w", err)
	}
	if bytes.Count(sbData, []byte{0}) == BlockSize {
		return nil, &BlockError{Block: 0, What: "superblock", Msg: "all zeroes: metadata not formatted"}
	}
	sb, err := decodeSuperblock(sbData, superblockLocation)
	if err != nil {
		return nil, err
	}
	if sb.CompatROFlags != 0 && !opt.ReadOnly {
		return nil, &BlockError{Block: 0, What: "superblock", Msg: fmt.Sprintf("unsupported read-only features 0x%x: open read-only", sb.CompatROFlags)}
	}
	p := newPool(dev, sb.MetadataSM.NrBlocks, opt)
	p.sb = *sb
	if p.msm, err = loadSpaceMap(p.tm, "metadata", sb.MetadataSM, true); err != nil {
		return nil, err
	}
	p.tm.msm = p.msm.counts
	if p.dsm, err = loadSpaceMap(p.tm, "data", sb.DataSM, false); err != nil {
		return nil, err
	}
	err = p.tm.walk(sb.DeviceDetailsRoot, detailsVT, func(id uint64, v []byte) error {
		p.details[id] = decodeDetails(v)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("device details tree: %w", err)
	}
	return p, nil
}

// newBottomVT returns the value type of a device's mapping tree: block_time values holding a
// reference on a data block.
func newBottomVT(p *Pool) *valueType {
	return &valueType{
		size: 8,
		inc: func(v []byte) error {
			b, _ := unpackBlockTime(binary.LittleEndian.Uint64(v))
			return p.dsm.counts.inc(b)
		},
		dec: func(v []byte) error {
			b, _ := unpackBlockTime(binary.LittleEndian.Uint64(v))
			_, err := p.dsm.counts.dec(b)
			return err
		},
		equal: func(a, b []byte) bool {
			return binary.LittleEndian.Uint64(a)>>24 == binary.LittleEndian.Uint64(b)>>24
		},
	}
}

// newTopVT returns the value type of the top level of the mapping tree: the root of a
// device's mapping tree.
func newTopVT(p *Pool) *valueType {
	bvt := p.bottomVT
	return &valueType{
		size: 8,
		inc:  func(v []byte) error { return p.msm.counts.inc(binary.LittleEndian.Uint64(v)) },
		dec:  func(v []byte) error { return p.tm.del(binary.LittleEndian.Uint64(v), bvt) },
	}
}

// begin starts a change: it refuses when read-only or failed and trims the cache.
func (p *Pool) begin() error {
	if p.failed != nil {
		return fmt.Errorf("%w: %v", ErrFailed, p.failed)
	}
	if p.readOnly {
		return ErrReadOnly
	}
	if err := p.cache.trim(); err != nil {
		return p.fail(err)
	}
	p.dirty = true
	return nil
}

// fail records an error that left the in-core state inconsistent.
func (p *Pool) fail(err error) error {
	if err != nil && p.failed == nil {
		p.failed = err
	}
	return err
}

// Commit makes every change since the last commit durable (write all new blocks,
// flush, then write and flush the superblock). A no-op when nothing changed.
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
	if p.readOnly {
		return ErrReadOnly
	}
	return p.fail(p.writeTransaction())
}

func (p *Pool) writeTransaction() error {
	var err error
	for id, d := range p.details {
		if !d.changed {
			continue
		}
		if p.sb.DeviceDetailsRoot, _, err = p.tm.insert(p.sb.DeviceDetailsRoot, id, d.encode(), detailsVT, false); err != nil {
			return err
		}
		d.changed = false
	}
	if err := p.dsm.saveData(p.tm); err != nil {
		return err
	}
	if err := p.msm.saveMetadata(p.tm); err != nil {
		return err
	}
	p.sb.DataSM, p.sb.MetadataSM = p.dsm.root(), p.msm.root()
	p.sb.Blocknr = superblockLocation
	p.sb.encode(p.cache.zero(superblockLocation, saltSuperblock).data)
	if err := p.cache.flush(); err != nil {
		return err
	}
	p.cache.forget(superblockLocation)
	p.tm.endTransaction()
	p.msm.counts.endTransaction()
	p.dsm.counts.endTransaction()
	clear(p.topFresh)
	p.dirty = false
	return nil
}

// Abort drops every change since the last commit by re-reading the metadata.
func (p *Pool) Abort() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	q, err := Open(p.dev, Options{CacheBlocks: p.cacheMax, ReadOnly: p.readOnly})
	if err != nil {
		return err
	}
	p.cache, p.tm, p.msm, p.dsm, p.sb, p.details = q.cache, q.tm, q.msm, q.dsm, q.sb, q.details
	p.topFresh, p.failed, p.dirty = q.topFresh, nil, false
	return nil
}

// Close commits pending changes (unless read-only or failed) and releases the pool.
// The BlockDevice stays open: it belongs to the caller.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.readOnly || p.failed != nil {
		return p.failed
	}
	return p.commit()
}

// deviceRoot returns the root of device id's mapping tree.
func (p *Pool) deviceRoot(id uint64) (uint64, error) {
	v, found, err := p.tm.lookup(p.sb.DataMappingRoot, id, p.topVT)
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, fmt.Errorf("thin device %d: %w", id, ErrNoDevice)
	}
	return binary.LittleEndian.Uint64(v), nil
}

// setDeviceRoot stores device id's (new) mapping-tree root in the top level; the
// reference moves with it, so the old value is not released.
func (p *Pool) setDeviceRoot(id, root uint64) error {
	var v [8]byte
	binary.LittleEndian.PutUint64(v[:], root)
	newTop, _, err := p.tm.insert(p.sb.DataMappingRoot, id, v[:], p.topVT, false)
	if err != nil {
		return err
	}
	p.sb.DataMappingRoot = newTop
	p.topFresh[id] = struct{}{}
	return nil
}

// changeDevice runs fn on device id's mapping-tree root after making the top-level
// path to it unshared (so shared roots get their extra reference first), then stores
// the root fn returns.
func (p *Pool) changeDevice(id uint64, fn func(root uint64) (uint64, error)) error {
	root, err := p.deviceRoot(id)
	if err != nil {
		return err
	}
	if _, ok := p.topFresh[id]; !ok {
		if err := p.setDeviceRoot(id, root); err != nil {
			return p.fail(err)
		}
	}
	newRoot, err := fn(root)
	if err != nil {
		return p.fail(err)
	}
	if newRoot != root {
		return p.fail(p.setDeviceRoot(id, newRoot))
	}
	return nil
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
	root, err := p.tm.emptyTree(p.bottomVT)
	if err != nil {
		return p.fail(err)
	}
	if err := p.setDeviceRoot(id, root); err != nil {
		return p.fail(err)
	}
	p.details[id] = &deviceDetails{TransactionID: p.sb.TransactionID, CreationTime: p.sb.Time, SnapshottedTime: p.sb.Time, changed: true}
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
	if err := p.msm.counts.inc(root); err != nil {
		return p.fail(err)
	}
	if err := p.setDeviceRoot(id, root); err != nil {
		return p.fail(err)
	}
	p.sb.Time++
	od.SnapshottedTime, od.changed = p.sb.Time, true
	p.details[id] = &deviceDetails{MappedBlocks: od.MappedBlocks, TransactionID: p.sb.TransactionID,
		CreationTime: p.sb.Time, SnapshottedTime: p.sb.Time, changed: true}
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
	var err error
	if p.sb.DataMappingRoot, _, err = p.tm.remove(p.sb.DataMappingRoot, id, p.topVT); err != nil {
		return p.fail(err)
	}
	if p.sb.DeviceDetailsRoot, _, err = p.tm.remove(p.sb.DeviceDetailsRoot, id, detailsVT); err != nil {
		return p.fail(err)
	}
	delete(p.details, id)
	delete(p.topFresh, id)
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

// SetNeedsCheck sets the needs_check flag and writes it to the on-disk superblock at
// once (outside any transaction), like dm_pool_metadata_set_needs_check.
func (p *Pool) SetNeedsCheck() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.readOnly {
		return ErrReadOnly
	}
	p.sb.Flags |= NeedsCheckFlag
	data := make([]byte, BlockSize)
	if _, err := p.dev.ReadAt(data, 0); err != nil {
		return fmt.Errorf("read superblock: %w", err)
	}
	binary.LittleEndian.PutUint32(data[4:], p.sb.Flags)
	sealBlock(data, superblockLocation, saltSuperblock)
	if _, err := p.dev.WriteAt(data, 0); err != nil {
		return fmt.Errorf("write superblock: %w", err)
	}
	return p.dev.Sync()
}

// AllocDataBlock allocates a free data block (count 1); the caller hands it to
// InsertBlock, which takes over the reference.
func (p *Pool) AllocDataBlock() (uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.begin(); err != nil {
		return 0, err
	}
	return p.dsm.counts.alloc()
}

// DataBlocks returns the free and total number of data blocks.
func (p *Pool) DataBlocks() (free, total uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dsm.counts.nrFree(), p.dsm.counts.nrBlocks
}

// MetadataBlocks returns the free (less the kernel's reserve of min(4096, total/10))
// and total number of metadata blocks.
func (p *Pool) MetadataBlocks() (free, total uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	total = p.msm.counts.nrBlocks
	reserve := min(4096, total/10)
	free = p.msm.counts.nrFree()
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
	if nrBlocks < p.dsm.counts.nrBlocks {
		return fmt.Errorf("pool target (%d blocks) too small: expected %d", nrBlocks, p.dsm.counts.nrBlocks)
	}
	p.dsm.counts.resize(nrBlocks)
	p.dsm.indexDirty = true
	return nil
}

// ResizeMetadata grows the metadata space map to nrBlocks; shrinking is refused.
func (p *Pool) ResizeMetadata(nrBlocks uint64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.begin(); err != nil {
		return err
	}
	if nrBlocks < p.msm.counts.nrBlocks {
		return fmt.Errorf("metadata device (%d blocks) too small: expected %d", nrBlocks, p.msm.counts.nrBlocks)
	}
	if nrBitmaps(nrBlocks) > maxMetadataBitmaps {
		return fmt.Errorf("metadata device of %d blocks exceeds the maximum", nrBlocks)
	}
	p.msm.counts.resize(nrBlocks)
	p.cache.nrBlocks = nrBlocks
	return nil
}

// ReserveMetadataSnap commits, then takes a metadata snapshot: a copy of the superblock
// that co-owns the current mapping and details trees. Its block is HeldRoot.
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
	nr, b, err := p.tm.newBlock(saltSuperblock)
	if err != nil {
		return p.fail(err)
	}
	cp := p.sb
	cp.Blocknr, cp.DataSM, cp.MetadataSM = nr, smRoot{}, smRoot{}
	cp.encode(b.data)
	sealBlock(b.data, nr, saltSuperblock)
	if err := p.msm.counts.inc(p.sb.DataMappingRoot); err != nil {
		return p.fail(err)
	}
	if err := p.msm.counts.inc(p.sb.DeviceDetailsRoot); err != nil {
		return p.fail(err)
	}
	p.sb.HeldRoot = nr
	clear(p.topFresh)
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
	b, err := p.cache.read(held, saltSuperblock, "metadata snapshot superblock")
	if err != nil {
		return err
	}
	snap, err := decodeSuperblock(b.data, held)
	if err != nil {
		return err
	}
	if err := p.tm.del(snap.DataMappingRoot, p.topVT); err != nil {
		return p.fail(err)
	}
	if err := p.tm.del(snap.DeviceDetailsRoot, detailsVT); err != nil {
		return p.fail(err)
	}
	if err := p.tm.dec(held); err != nil {
		return p.fail(err)
	}
	p.sb.HeldRoot = 0
	return nil
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
	ids := make([]uint64, 0, len(p.details))
	for id := range p.details {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
