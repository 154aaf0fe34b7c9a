package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/gob"
	"errors"
	"syscall"

	"github.com/gdmsetup/gdmsetup/errno"
	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/targets"
)

// SaveState is targets.StateSaver: the table's in-core state (the policy's
// queues and hotspots, the dirty and discard bits, the counters, the
// lifecycle flags, where the metadata space map allocates next) for the
// process that rebuilds the table, followed by its SHA-256: the policy's
// lists are indexes into its entries, which a damaged state would send
// anywhere. The core calls it after StopBackground committed what this
// process changed.
func (c *Cache) SaveState() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.st
	s.Policy = c.pol
	s.MetaAllocCursor = c.md.sm.AllocCursor()
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&s); err != nil {
		return ""
	}
	sum := sha256.Sum256(buf.Bytes())
	buf.Write(sum[:])
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// restore rebuilds a table that was loaded in an earlier process: its
// metadata is opened as it stands committed (without the first open's
// superblock update, which the kernel made once) and the in-core state
// taken back from Context.Saved. Without saved state (or with one that
// does not fit the table) the table starts as one freshly constructed
// over that metadata.
func (c *Cache) restore() error {
	ctx := c.ctx
	md, err := sharedMetadata(c.meta, func() (*metadata, error) { return reopenMetadata(c.meta, uint32(c.blockSectors), ctx.Logf) })
	if err != nil {
		en := errno.Of(err)
		if !errors.As(err, new(syscall.Errno)) {
			en = syscall.EIO
		}
		return targets.Errorf(en, "Error creating metadata object")
	}
	c.md = md
	fresh := state{CacheSize: c.st.CacheSize, MigrationThreshold: c.st.MigrationThreshold,
		Dirty: newBits(c.st.CacheSize), Discarded: newBits(c.discardNrBlocks), Invalid: newBits(c.st.CacheSize),
		NeedTickBio: true, CleanWhenOpened: md.cleanWhenOpened}
	var s state
	lost := !c.decodeState(ctx.Saved, &s)
	if lost {
		s = fresh
		s.Counters = counters{ReadHit: md.sb.stats.ReadHits, ReadMiss: md.sb.stats.ReadMisses,
			WriteHit: md.sb.stats.WriteHits, WriteMiss: md.sb.stats.WriteMisses}
	} else {
		c.pol = s.Policy
		md.sm.SetAllocCursor(s.MetaAllocCursor)
	}
	s.Policy = nil
	c.st = s
	c.st.Suspended = ctx.Suspended
	md.cleanWhenOpened = c.st.CleanWhenOpened
	md.readOnly = c.st.Mode != modeWrite
	if c.passthrough() {
		c.pol.MigrationsAllowed = false
	}
	if lost && !ctx.Inactive {
		// a live table without its state: its mappings are taken from
		// the metadata as a resume would (dirty unless it was shut down
		// cleanly), so that no cached block is read from the origin
		if err := c.PreResume(); err != nil {
			return targets.Errorf(errno.Of(err), "Error loading cache mappings")
		}
		c.st.BackgroundAllowed = !ctx.Suspended
	}
	return nil
}

// decodeState reads SaveState's string into s; false when there is none,
// its checksum fails or it does not fit this table's sizes.
func (c *Cache) decodeState(saved string, s *state) bool {
	if saved == "" {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(saved)
	if err != nil || len(raw) < sha256.Size {
		return false
	}
	raw, sum := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	if sha256.Sum256(raw) != [sha256.Size]byte(sum) || gob.NewDecoder(bytes.NewReader(raw)).Decode(s) != nil || s.Policy == nil {
		return false
	}
	p := s.Policy
	return uint64(len(s.Dirty)) == (s.CacheSize+63)/64 && uint64(len(s.Discarded)) == (c.discardNrBlocks+63)/64 &&
		uint64(len(s.Invalid)) == uint64(len(s.Dirty)) && p.CacheSize == uint32(s.CacheSize) &&
		len(p.ES.E) == int(4*nrCacheLevels+p.NrHotspotBlocks+p.CacheSize) && p.Table != nil && p.HotspotTable != nil &&
		p.BG.Pending != nil
}

// reopenMetadata opens metadata a table of an earlier process opened (and
// formatted if need be): the superblock is checked and read, nothing written.
func reopenMetadata(dev targets.Dev, blockSectors uint32, logf func(string, ...any)) (*metadata, error) {
	md := &metadata{dev: dev}
	bm, raw, err := targets.OpenMetadataBlocks(dev, metaCacheBlocks, func() {})
	if err != nil {
		return nil, err
	}
	md.bm = bm
	if block.AllZero(raw) {
		return nil, targets.ErrUnformattedMetadata
	}
	if err := md.open(raw, blockSectors, logf); err != nil {
		return nil, err
	}
	md.readFields(raw)
	return md, nil
}
