// Package targets defines what a device-mapper target is: the Target interface
// every table line builds, the optional interfaces a target may add (messages,
// suspend hooks, limits), the Dev interface of the devices targets map onto,
// and the registry of target types.
package targets

import "fmt"

// SectorSize is the size in bytes of a sector: the unit of tables and of target I/O.
const SectorSize = 512

// Target is one constructed table line. The core calls it with sector-aligned
// buffers, sectors counted from the target's own start (dm_target_offset), and
// never across a multiple of MaxIOSectors (when the target has one). Calls may
// come concurrently; each implementation says what protects its state.
type Target interface {
	// ReadAt fills p (a multiple of SectorSize) from the target's sector onwards.
	ReadAt(p []byte, sector uint64) error
	// WriteAt writes p (a multiple of SectorSize) at the target's sector.
	WriteAt(p []byte, sector uint64) error
	// Discard tells the target that lenSectors from sector are no longer needed.
	Discard(sector, lenSectors uint64) error
	// Flush makes every completed write durable.
	Flush() error
	// Status is the STATUSTYPE_INFO string (`dmsetup status` after the type).
	Status() string
	// Table is the STATUSTYPE_TABLE string (`dmsetup table` after the type).
	Table() string
}

// Measurer is a target whose STATUSTYPE_IMA string (`dmsetup measure`
// after the type, the key=value pairs the kernel's IMA records) is not
// empty. A target without Measurer measures as "": the kernel's error and
// zero targets have no status function at all, and most of its other
// targets emit nothing for STATUSTYPE_IMA.
type Measurer interface {
	Measure() string
}

// MeasureHead is DMEMIT_TARGET_NAME_VERSION, how every non-empty
// measurement starts: "target_name=NAME,target_version=A.B.C".
func (t *Type) MeasureHead() string {
	return fmt.Sprintf("target_name=%s,target_version=%d.%d.%d", t.Name, t.Version[0], t.Version[1], t.Version[2])
}

// MeasureFlag is a measurement's boolean: 'y' or 'n'.
func MeasureFlag(b bool) byte {
	if b {
		return 'y'
	}
	return 'n'
}

// Closer is a target holding resources (files, metadata) released by Close,
// called when its table is destroyed.
type Closer interface {
	Close() error
}

// Destroyer is a target with work to do when its table is destroyed (the
// kernel's dtr): the device is removed, a resume replaces the table, a load
// or a clear drops the inactive one, or the table fails to load after the
// target was built. Destroy runs before Close. A table released at the end
// of a process lives on in the kernel's sense: it is only closed. A type
// whose targets are Destroyers sets Type.Destroys.
type Destroyer interface {
	Destroy()
}

// Messenger is a target that takes `dmsetup message` words. A failed message
// changes nothing, unless the kernel's target keeps what it applied before
// the error (switch's set_region_mappings keeps the mappings before a bad
// argument).
type Messenger interface {
	Message(args []string) (reply string, err error)
}

// PreSuspender is a target with work to do when its device starts to
// suspend, before new I/O is held back and in-flight I/O is waited for
// (presuspend: delay lets the I/O it holds go). It runs on a live table
// this process built (one it never built has no I/O here) and has no undo:
// what it changes stays until Resumer.Resume.
type PreSuspender interface {
	PreSuspend()
}

// Suspender is a target with work to do once its device is suspended and I/O
// has drained (postsuspend: thin-pool and clone commit here).
type Suspender interface {
	PostSuspend() error
}

// Resumer is a target with work to do when its table goes live (preresume may
// refuse the resume; resume runs after it).
type Resumer interface {
	PreResume() error
	Resume()
}

// BackgroundStopper is a target with work of its own that goes on in the
// background while its table is live (a snapshot merge). At the end of a
// process the core calls StopBackground on every live table's targets
// before it saves or closes any table (other tables still take the work's
// I/O); it returns once the work is stopped at a point where the next
// process that builds the table takes it up.
type BackgroundStopper interface {
	StopBackground()
}

// MaxIOer is a target whose I/O must not cross a multiple of MaxIOSectors
// counted from the target's start (striped: chunk size; thin: block size).
type MaxIOer interface {
	MaxIOSectors() uint64
}

// Zeroer is a target that zeroes sectors without being sent zeros
// (num_write_zeroes_bios: linear passes them down). mayUnmap lets it
// deallocate them; they must read back as zeros. An error matching
// errors.ErrUnsupported means it cannot here: the core writes zeros instead,
// as it does for targets without Zeroer.
type Zeroer interface {
	WriteZeroes(sector, lenSectors uint64, mayUnmap bool) error
}

// FastZeroer is a Zeroer that says itself whether its WriteZeroes would
// zero without writing zeros below it, whatever the length (NBD's
// FAST_ZERO): thin unmaps. A Zeroer without it is fast when the devices it
// maps onto are (a file's fallocate, a stacked device's table).
type FastZeroer interface {
	Zeroer
	ZeroesFast(mayUnmap bool) bool
}

// IOHinter is a target whose io_hints set its optimal I/O size (io_opt),
// which sets the device's read-ahead as in the kernel. The core passes it
// stackedBytes, what the devices its Areas name stack to (the lcm of their
// io_opt, 0 when none has one), and takes the result as the target's. A
// target without IOHinter keeps stackedBytes.
type IOHinter interface {
	IOHints(stackedBytes int64) int64
}

// LogicalBlockSizer is a device or a target with a logical block size
// above 512 bytes. A mapped device has its table's; a target's io_hints
// raise what its devices stack to to at least this (crypt's sector_size,
// verity's data block size, writecache's block size). The core takes the
// largest, checks tables against it, and I/O not aligned to it goes the
// way of the page cache.
type LogicalBlockSizer interface {
	LogicalBlockBytes() int64
}

// BlockEmulator is a target whose io_hints set its logical block size to
// EmulatedBlockBytes whatever its devices stack to, below it or above,
// and its physical block size and alignment offset to
// UnderlyingBlockBytes (ebs: the emulated and the underlying block size).
type BlockEmulator interface {
	EmulatedBlockBytes() int64
	UnderlyingBlockBytes() int64
}

// OptimalIODev is a device with an optimal I/O size (io_opt): a mapped
// device passes its table's on to the tables above it. Files and block
// devices have none.
type OptimalIODev interface {
	OptimalIOBytes() int64
}

// Waiter is a target whose I/O may wait far longer than its devices take
// (delay: each I/O waits out its class's delay). MayWait reports whether it
// does with its present table line; the NBD server then serves no request of
// the device on a connection's reader, where one that waits would hold back
// the requests behind it.
type Waiter interface {
	MayWait() bool
}

// KeepFactorOfBlock is the io_hints rule of targets with a block size
// (thin-pool, era, clone, cache): the stacked io_opt stays when blockBytes
// divides it, else io_opt is blockBytes.
func KeepFactorOfBlock(stackedBytes, blockBytes int64) int64 {
	if stackedBytes < blockBytes || stackedBytes%blockBytes != 0 {
		return blockBytes
	}
	return stackedBytes
}

// LCMNotZero is the kernel's lcm_not_zero, how the block layer stacks
// io_opt: the least common multiple, or the other value when one is 0.
func LCMNotZero(a, b int64) int64 {
	if a == 0 {
		return b
	}
	if b == 0 {
		return a
	}
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}

// Area is a range of an underlying device that a target uses
// (iterate_devices): the core checks it lies inside the device.
type Area struct {
	Dev         Dev
	StartSector uint64
	LenSectors  uint64
}

// AreaIterator is a target that maps onto underlying devices.
type AreaIterator interface {
	Areas() []Area
}

// Committer is a stateful target a long-running process commits
// periodically (thin-pool and clone: every second, as the kernel does).
type Committer interface {
	Commit() error
}

// Extent is a run of sectors that are all allocated or all not (a hole,
// which reads as zeros).
type Extent struct {
	LenSectors uint64
	Hole       bool
}

// Allocator is a target that knows which of its sectors hold data (thin:
// the provisioned blocks). Targets without it count as allocated everywhere.
type Allocator interface {
	Allocation(sector, lenSectors uint64) ([]Extent, error)
}
