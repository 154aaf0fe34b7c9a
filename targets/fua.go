package targets

// FUAWriter is a target that takes a write with REQ_FUA (forced unit
// access) itself: WriteFUA writes p (a multiple of SectorSize) at the
// target's sector and returns once the write is durable. A target passes
// the flag on to the device it maps the write onto (DevWriteFUA), or does
// what its kernel counterpart does for it (log-writes logs it at once).
// A target without FUAWriter gets WriteAt then its own Flush (WriteFUA):
// what the block layer does for a FUA bio sent to a device that has a
// volatile cache and no FUA (blk_insert_flush's data then postflush).
type FUAWriter interface {
	WriteFUA(p []byte, sector uint64) error
}

// WriteFUA writes p at sector of t with FUA: t's own WriteFUA when t is a
// FUAWriter, else WriteAt then t's Flush. Only t is flushed, not the other
// targets of its table.
func WriteFUA(t Target, p []byte, sector uint64) error {
	if f, ok := t.(FUAWriter); ok {
		return f.WriteFUA(p, sector)
	}
	if err := t.WriteAt(p, sector); err != nil {
		return err
	}
	return t.Flush()
}

// NoFlushBios is a target whose kernel counterpart takes no flush bios
// (num_flush_bios 0: switch, unstriped, zero, error, verity). A table whose targets all are has
// no volatile write cache (dm_table_supports_flush), so the block layer
// clears REQ_FUA from the writes sent to its device (submit_bio_noacct):
// they reach the targets as plain writes. In a table with another target,
// a FUA write reaches them with REQ_FUA.
type NoFlushBios interface {
	NoFlushBios()
}

// DevFUAWriter is a Dev that takes a write with FUA: a mapped device sends
// it to the targets the write touches as FUA writes of their own; a file or
// block device writes it with RWF_DSYNC (O_DSYNC for one write: on a block
// device opened O_DIRECT, a REQ_FUA bio).
type DevFUAWriter interface {
	WriteFUA(p []byte, offBytes int64) error
}

// DevWriteFUA writes p at offBytes of dev with FUA: dev's own WriteFUA when
// dev is a DevFUAWriter, else WriteAt then dev's Flush.
func DevWriteFUA(dev Dev, p []byte, offBytes int64) error {
	if f, ok := dev.(DevFUAWriter); ok {
		return f.WriteFUA(p, offBytes)
	}
	if _, err := dev.WriteAt(p, offBytes); err != nil {
		return err
	}
	return dev.Flush()
}

// DevWrite writes p at offBytes of dev: with FUA (DevWriteFUA) when fua,
// else a plain WriteAt.
func DevWrite(dev Dev, p []byte, offBytes int64, fua bool) error {
	if fua {
		return DevWriteFUA(dev, p, offBytes)
	}
	_, err := dev.WriteAt(p, offBytes)
	return err
}

// FUAFlusher is a target that takes the empty flush of a REQ_PREFLUSH|
// REQ_FUA write itself: dm sends the first target of its table that takes
// flushes the bio it was given with the data cut off (__send_empty_flush
// reuses it), so that flush keeps REQ_FUA and the write's sector, which
// FlushFUA gets (for the first target, the device's sector and the
// target's are the same). A target without it gets Flush.
type FUAFlusher interface {
	FlushFUA(sector uint64) error
}

// DevFUAFlusher is a Dev that takes such an empty flush (see FUAFlusher)
// with the sector of the write it began, offBytes.
type DevFUAFlusher interface {
	FlushFUA(offBytes int64) error
}

// DevFlushFUA flushes dev as the empty flush of a REQ_PREFLUSH|REQ_FUA
// write at offBytes: dev's own FlushFUA when dev is a DevFUAFlusher, else
// its Flush.
func DevFlushFUA(dev Dev, offBytes int64) error {
	if f, ok := dev.(DevFUAFlusher); ok {
		return f.FlushFUA(offBytes)
	}
	return dev.Flush()
}

// DevWritePreflushFUA writes p at offBytes of dev as a REQ_PREFLUSH|REQ_FUA
// write (md's superblocks, dm-snapshot's metadata area): dev flushed
// (DevFlushFUA), then p written with FUA.
func DevWritePreflushFUA(dev Dev, p []byte, offBytes int64) error {
	if err := DevFlushFUA(dev, offBytes); err != nil {
		return err
	}
	return DevWriteFUA(dev, p, offBytes)
}
