// Package verity is the verity target (drivers/md/dm-verity-target.c,
// v1.9.0): `<version> <dev> <hash_dev> <data_block_size> <hash_block_size>
// <num_data_blocks> <hash_start_block> <algorithm> <digest> <salt>
// [<#opt_params> <opt_params>...]` maps dev read-only and checks every data
// block read against a hash tree on hash_dev (as `veritysetup format`
// writes it), whose root digest the table gives. A block that does not
// match fails with EIO (or is let through with ignore_corruption), is
// logged as the kernel logs it, and turns the status from V to C.
package verity

import (
	"encoding/hex"
	"fmt"
	"math/bits"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
	"github.com/gdmsetup/gdmsetup/targets/cryptoapi"
)

// Type is the verity target's registration (DM_TARGET_IMMUTABLE).
var Type = targets.Type{Name: "verity", Version: [3]int{1, 9, 0}, New: New, Immutable: true}

// pageBytes is PAGE_SIZE, the largest data block.
const pageBytes = 4096

// logicalBlockBytes is the logical block size of the devices under a
// table here (files, and mapped devices as this core reports them).
const logicalBlockBytes = targets.SectorSize

// mode is what a corrupted block does (enum verity_mode).
type mode int

const (
	modeEIO mode = iota
	modeLogging
	modeRestart
	modePanic
)

// Verity is one verity table line. The fields set by New do not change.
// The I/O state is safe for concurrent reads: cache has its own lock,
// validated is a set of atomic words, hashFailed and corruptedErrs are
// atomic, hashers is a sync.Pool.
type Verity struct {
	version        int
	dataDev        targets.Dev
	hashDev        targets.Dev
	dataBlockBits  uint
	hashBlockBits  uint
	dataBlocks     uint64
	hashStartBlock uint64
	algName        string
	alg            *cryptoapi.Hash
	rootDigest     []byte
	salt           []byte
	zeroDigest     []byte // ignore_zero_blocks: the digest of a block of zeros
	mode           mode
	useTasklet     bool
	fec            *fec
	sigKeyDesc     string
	tree           *tree
	lenSectors     uint64
	logf           func(format string, args ...any)
	printk         func(line string)

	hashers       sync.Pool  // of hash.Hash, for alg.new
	cache         *hashCache // verified hash blocks (dm-bufio's buffers with hash_verified)
	validated     *blockSet  // check_at_most_once: data blocks verified once; nil without it
	hashFailed    atomic.Bool
	corruptedErrs atomic.Int32
}

// New is verity_ctr: the checks in the kernel's order, each failing with
// its ti->error.
func New(ctx *targets.Context, args []string) (targets.Target, error) {
	v := &Verity{lenSectors: ctx.Len, fec: &fec{}, logf: ctx.Logf, printk: ctx.Printk}
	if v.logf == nil {
		v.logf = func(string, ...any) {}
	}
	if v.printk == nil {
		v.printk = func(string) {}
	}
	if !ctx.ReadOnly {
		return nil, targets.Invalid("Device must be readonly")
	}
	if len(args) < 10 {
		return nil, targets.Invalid("Not enough arguments")
	}
	if len(args) > 10 {
		if err := v.parseOptArgs(ctx, args[10:], true); err != nil {
			return nil, err
		}
	}
	version, ok := targets.ScanUint(args[0], 32)
	if !ok || version > 1 {
		return nil, targets.Invalid("Invalid version")
	}
	v.version = int(version)
	var err error
	if v.dataDev, err = ctx.Open(args[1]); err != nil {
		return nil, targets.Errorf(targets.OpenErrno(err), "Data device lookup failed")
	}
	if v.hashDev, err = ctx.Open(args[2]); err != nil {
		return nil, targets.Errorf(targets.OpenErrno(err), "Hash device lookup failed")
	}
	if v.dataBlockBits, ok = blockBits(args[3], pageBytes); !ok {
		return nil, targets.Invalid("Invalid data device block size")
	}
	if v.hashBlockBits, ok = blockBits(args[4], 1<<31-1); !ok {
		return nil, targets.Invalid("Invalid hash device block size")
	}
	if v.dataBlocks, ok = blockCount(args[5], v.dataBlockBits); !ok {
		return nil, targets.Invalid("Invalid data blocks")
	}
	if ctx.Len > v.dataBlocks<<(v.dataBlockBits-9) {
		return nil, targets.Invalid("Data device is too small")
	}
	if v.hashStartBlock, ok = blockCount(args[6], v.hashBlockBits); !ok {
		return nil, targets.Invalid("Invalid hash start")
	}
	v.algName = args[7]
	if v.alg, ok = cryptoapi.Lookup(v.algName); !ok {
		return nil, targets.Errorf(syscall.ENOENT, "Cannot initialize hash function")
	}
	if !ctx.Restored {
		v.logf("verity: %s using implementation \"%s\"", v.algName, v.alg.Driver)
	}
	if !v.alg.Keyed {
		v.hashers.New = func() any { return v.alg.New(nil) }
	}
	if 1<<v.hashBlockBits < 2*v.alg.Size {
		return nil, targets.Invalid("Digest size too big")
	}
	if v.rootDigest, ok = hexBytes(args[8]); !ok || len(v.rootDigest) != v.alg.Size {
		return nil, targets.Invalid("Invalid root digest")
	}
	if args[9] != "-" {
		if v.salt, ok = hexBytes(args[9]); !ok {
			return nil, targets.Invalid("Invalid salt")
		}
	}
	if len(args) > 10 {
		if err := v.parseOptArgs(ctx, args[10:], false); err != nil {
			return nil, err
		}
	}
	if v.tree, err = newTree(v.dataBlocks, v.hashStartBlock, v.hashBlockBits, v.alg.Size); err != nil {
		return nil, err
	}
	if v.hashDevBlocks() < v.tree.endBlock {
		return nil, targets.Errorf(syscall.E2BIG, "Hash device is too small")
	}
	if err := v.fecCtr(); err != nil {
		return nil, err
	}
	v.cache = newHashCache(1 << v.hashBlockBits)
	if ctx.Saved != "" {
		if err := v.restoreState(ctx.Saved); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// blockBits reads a block size (sscanf "%u"): a power of 2 from the
// devices' logical block size up to max; it returns its log2.
func blockBits(s string, max uint64) (uint, bool) {
	n, ok := targets.ScanUint(s, 32)
	if !ok || n == 0 || n&(n-1) != 0 || n < logicalBlockBytes || n > max {
		return 0, false
	}
	return uint(bits.TrailingZeros64(n)), true
}

// blockCount reads a count of blocks of 1<<blockBits bytes (sscanf
// "%llu") whose size in sectors fits 64 bits.
func blockCount(s string, blockBits uint) (uint64, bool) {
	n, ok := targets.ScanUint(s, 64)
	shift := blockBits - 9
	return n, ok && n<<shift>>shift == n
}

// hexBytes is hex2bin of a whole string: pairs of hex digits of either case.
func hexBytes(s string) ([]byte, bool) {
	if len(s)%2 != 0 {
		return nil, false
	}
	b, err := hex.DecodeString(s)
	return b, err == nil
}

// hashDevBlocks is the hash device's size in whole hash blocks
// (dm_bufio_get_device_size).
func (v *Verity) hashDevBlocks() uint64 {
	return uint64(v.hashDev.SizeBytes()) >> v.hashBlockBits
}

// Status is V, or C once a corrupted block was found.
func (v *Verity) Status() string {
	if v.hashFailed.Load() {
		return "C"
	}
	return "V"
}

// Table is verity_status' STATUSTYPE_TABLE: the arguments in canonical
// form (digests and salt in lower-case hex, "-" for no salt), then the
// optional ones in the kernel's order.
func (v *Verity) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s %s %d %d %d %d %s %x ", v.version, v.dataDev.Name(), v.hashDev.Name(),
		1<<v.dataBlockBits, 1<<v.hashBlockBits, v.dataBlocks, v.hashStartBlock, v.algName, v.rootDigest)
	if len(v.salt) == 0 {
		b.WriteByte('-')
	} else {
		fmt.Fprintf(&b, "%x", v.salt)
	}
	var opts []string
	if v.mode != modeEIO {
		opts = append(opts, modeNames[v.mode])
	}
	if v.zeroDigest != nil {
		opts = append(opts, optIgnoreZeroes)
	}
	if v.validated != nil {
		opts = append(opts, optAtMostOnce)
	}
	if v.useTasklet {
		opts = append(opts, optTasklet)
	}
	opts = append(opts, v.fec.tableArgs()...)
	if v.sigKeyDesc != "" {
		opts = append(opts, optSigKey, v.sigKeyDesc)
	}
	if len(opts) > 0 {
		fmt.Fprintf(&b, " %d %s", len(opts), strings.Join(opts, " "))
	}
	return b.String()
}

// LogicalBlockBytes is verity_io_hints' logical block size: the data
// block size.
func (v *Verity) LogicalBlockBytes() int64 { return 1 << v.dataBlockBits }

// Areas is the data device's range (verity_iterate_devices: the data
// starts at its sector 0); the hash device is checked by the constructor.
func (v *Verity) Areas() []targets.Area {
	return []targets.Area{{Dev: v.dataDev, StartSector: 0, LenSectors: v.lenSectors}}
}

// SupportsDiscards is false: verity takes no discards (no num_discard_bios).
func (v *Verity) SupportsDiscards() bool { return false }

// PostSuspend is verity_postsuspend: the hash blocks read so far are
// dropped (dm_bufio_client_reset), so the next reads verify them again.
func (v *Verity) PostSuspend() error {
	v.cache.reset()
	return nil
}
