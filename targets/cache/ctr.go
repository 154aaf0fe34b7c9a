package cache

import (
	"errors"
	"strings"
	"syscall"
	"time"

	"github.com/gdmsetup/gdmsetup/errno"
	"github.com/gdmsetup/gdmsetup/targets"
)

// Table limits (dm-cache-target.c).
const (
	minBlockSectors           = 32 * 1024 / targets.SectorSize
	maxBlockSectors           = 1024 * 1024 * 1024 / targets.SectorSize
	defaultMigrationThreshold = 2048
	maxDiscardBlocks          = 1 << 14
	// metadataWarnSectors is DM_CACHE_METADATA_MAX_SECTORS_WARNING (16 GiB).
	metadataWarnSectors = 16 * (1024 * 1024 * 1024 / targets.SectorSize)
	// thinMetadataMaxSectors is THIN_METADATA_MAX_SECTORS, which the
	// kernel's warning prints (255 * 16384 * 8).
	thinMetadataMaxSectors = 255 * (1 << 14) * 8
)

// New is cache_ctr: <metadata dev> <cache dev> <origin dev> <block size>
// <#features> <feature>* <policy> <#policy args> <policy arg>*, checked in
// the kernel's order (parse_cache_args, then cache_create).
func New(ctx *targets.Context, args []string) (targets.Target, error) {
	c, err := newWithClock(ctx, args, time.Now)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// newWithClock is New with now as the time the policy and the waker go by.
func newWithClock(ctx *targets.Context, args []string, now func() time.Time) (*Cache, error) {
	c := &Cache{ctx: ctx, now: now, feat: features{metadataVersion: 1, discardPassdown: true}}
	as := &targets.ArgSet{Args: args}
	var err error
	open := func(msg string) (targets.Dev, error) {
		w, ok := as.Shift()
		if !ok {
			return nil, targets.Invalid("Insufficient args")
		}
		d, err := ctx.Open(w)
		if err != nil {
			return nil, targets.Errorf(targets.OpenErrno(err), "%s", msg)
		}
		return d, nil
	}
	if c.meta, err = open("Error opening metadata device"); err != nil {
		return nil, err
	}
	if s := uint64(c.meta.SizeBytes()) / targets.SectorSize; s > metadataWarnSectors {
		ctx.Logf("cache: Metadata device %s is larger than %d sectors: excess space will not be used.",
			targets.DiskName(c.meta), thinMetadataMaxSectors)
	}
	if c.cdev, err = open("Error opening cache device"); err != nil {
		return nil, err
	}
	cacheSectors := uint64(c.cdev.SizeBytes()) / targets.SectorSize
	if c.origin, err = open("Error opening origin device"); err != nil {
		return nil, err
	}
	if ctx.Len > uint64(c.origin.SizeBytes())/targets.SectorSize {
		return nil, targets.Invalid("Device size larger than cached device")
	}
	if err := c.parseBlockSize(as, cacheSectors); err != nil {
		return nil, err
	}
	if err := c.parseFeatures(as); err != nil {
		return nil, err
	}
	if c.feat.discardPassdown && !targets.DevSupportsDiscards(c.origin) {
		// disable_passdown_if_not_supported (an origin over an error target, say),
		// logged when the table is loaded (io_hints), not when another process
		// rebuilds it.
		if !ctx.Restored {
			ctx.Logf("cache: Origin device (%s) discard unsupported: Disabling discard passdown.", targets.DiskName(c.origin))
		}
		c.feat.discardPassdown = false
	}
	policyName, ok := as.Shift()
	if !ok {
		return nil, targets.Invalid("Insufficient args")
	}
	nPolicyArgs, err := as.ReadArgGroup(0, 1024, "Invalid number of policy arguments")
	if err != nil {
		return nil, err
	}
	c.ctrArgs = args[3:]
	if err := c.create(cacheSectors, policyName, as.Args[:nPolicyArgs]); err != nil {
		return nil, err
	}
	return c, nil
}

// parseBlockSize is parse_block_size (kstrtoul: a '+' is taken).
func (c *Cache) parseBlockSize(as *targets.ArgSet, cacheSectors uint64) error {
	w, ok := as.Shift()
	if !ok {
		return targets.Invalid("Insufficient args")
	}
	n, ok := targets.ParseUint(w, 64)
	if !ok || n == 0 || n < minBlockSectors || n > maxBlockSectors || n&(minBlockSectors-1) != 0 {
		return targets.Invalid("Invalid data block size")
	}
	if n > cacheSectors {
		return targets.Invalid("Data block size is larger than the cache device")
	}
	c.blockSectors = n
	return nil
}

// parseFeatures is parse_features: at most 3 words, one io mode at most.
func (c *Cache) parseFeatures(as *targets.ArgSet) error {
	n, err := as.ReadArgGroup(0, 3, "Invalid number of cache feature arguments")
	if err != nil {
		return err
	}
	modes := 0
	for ; n > 0; n-- {
		w, _ := as.Shift()
		switch strings.ToLower(w) {
		case "writeback":
			c.feat.io = ioWriteback
			modes++
		case "writethrough":
			c.feat.io = ioWritethrough
			modes++
		case "passthrough":
			c.feat.io = ioPassthrough
			modes++
		case "metadata2":
			c.feat.metadataVersion = 2
		case "no_discard_passdown":
			c.feat.discardPassdown = false
		default:
			return targets.Invalid("Unrecognised cache feature requested")
		}
	}
	if modes > 1 {
		return targets.Invalid("Duplicate cache io_mode features requested")
	}
	return nil
}

// create is cache_create: sizes, the policy and its config values, the
// metadata opened (formatted when all zeros), the in-core bitsets; a
// restored table takes its state back instead.
func (c *Cache) create(cacheSectors uint64, policyName string, policyArgs []string) error {
	ctx := c.ctx
	c.originSectors = ctx.Len
	c.originBlocks = ctx.Len / c.blockSectors
	kind, ok := policyKinds[policyName]
	if !ok {
		ctx.Logf("cache-policy: couldn't get module %s", policyName)
		ctx.Logf("cache-policy: couldn't get module %s", policyName)
		ctx.Logf("cache-policy: unknown policy type")
		return targets.Invalid("Error creating cache's policy")
	}
	c.kind = kind
	c.st.CacheSize = cacheSectors / c.blockSectors
	now := c.now().UnixNano()
	c.pol = newSMQ(kind, uint32(c.st.CacheSize), c.originSectors, c.blockSectors, now)
	c.st.MigrationThreshold = defaultMigrationThreshold
	logf := ctx.Logf
	if ctx.Restored {
		// the kernel's constructor ran once, in the process that loaded the table
		logf = func(string, ...any) {}
	}
	if err := c.setConfigValues(policyArgs, logf); err != nil {
		return targets.Invalid("Error setting cache policy's config values")
	}
	c.discardSectors = c.blockSectors
	if c.originSectors != 0 {
		for c.originSectors/c.discardSectors > maxDiscardBlocks {
			c.discardSectors *= 2
		}
	}
	c.discardNrBlocks = (c.originSectors + c.discardSectors - 1) / c.discardSectors
	if ctx.ActivateUsers != nil {
		// the tables on this metadata device stand built in the kernel:
		// a table loaded over a live one shares its metadata object
		// (its space map's allocation cursor, its clean-shutdown state)
		if err := ctx.ActivateUsers(c.meta); err != nil {
			return targets.Errorf(syscall.EIO, "Error creating metadata object")
		}
	}
	if ctx.Restored {
		return c.restore()
	}
	md, err := sharedMetadata(c.meta, func() (*metadata, error) {
		return openMetadata(c.meta, uint32(c.blockSectors), true, c.feat.metadataVersion, ctx.Logf)
	})
	if err != nil {
		en := errno.Of(err)
		if !errors.As(err, new(syscall.Errno)) {
			en = syscall.EIO
		}
		return targets.Errorf(en, "Error creating metadata object")
	}
	if md.sb.dataBlockSectors != uint32(c.blockSectors) {
		ctx.Logf("cache metadata: data_block_size (%d) different from that in metadata (%d)", c.blockSectors, md.sb.dataBlockSectors)
		releaseMetadata(md)
		return targets.Invalid("Error creating metadata object")
	}
	c.md = md
	c.st.CleanWhenOpened = md.cleanWhenOpened
	if c.passthrough() {
		c.pol.MigrationsAllowed = false
	}
	c.st.Dirty = newBits(c.st.CacheSize)
	c.st.Discarded = newBits(c.discardNrBlocks)
	c.st.Invalid = newBits(c.st.CacheSize)
	c.st.NeedTickBio = true
	c.st.Counters = counters{ReadHit: md.sb.stats.ReadHits, ReadMiss: md.sb.stats.ReadMisses,
		WriteHit: md.sb.stats.WriteHits, WriteMiss: md.sb.stats.WriteMisses}
	return nil
}

// setConfigValues is set_config_values: key/value pairs, migration_threshold
// for the core, the rest for the policy.
func (c *Cache) setConfigValues(args []string, logf func(string, ...any)) error {
	if len(args)%2 == 1 {
		logf("cache: Odd number of policy arguments given but they should be <key> <value> pairs.")
		return syscall.EINVAL
	}
	for i := 0; i < len(args); i += 2 {
		if err := c.setConfigValue(args[i], args[i+1], logf); err != nil {
			return err
		}
	}
	return nil
}

// setConfigValue is set_config_value (kstrtoul for migration_threshold);
// logf gets the kernel's lines.
func (c *Cache) setConfigValue(key, value string, logf func(string, ...any)) error {
	var err error
	if strings.EqualFold(key, "migration_threshold") {
		if v, ok := targets.ParseUint(value, 64); ok {
			c.st.MigrationThreshold = v
		} else {
			err = syscall.EINVAL
		}
	} else {
		err = c.pol.setConfig(key, value, logf)
	}
	if err != nil {
		logf("cache: bad config value for %s: %s", key, value)
	}
	return err
}
