package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/lvm"
	"github.com/gdmsetup/gdmsetup/targets/cache"
	"github.com/gdmsetup/gdmsetup/targets/thinpool/metadata"
)

// poolCheckHeaderBytes is how much of a pool's metadata lvm2 reads to tell whether it was
// ever written (dev_manager.c: "short disk header (64B)"): all zeros, the check is skipped.
const poolCheckHeaderBytes = 64

// lvmPoolCheck is lvm2's check of a pool's metadata before the pool starts (2.03.16: libdm
// calls dev_manager.c's _pool_callback once the pool device's children are up and before
// the pool device is loaded). d is a planned device about to be created, its table's
// devices made: a thin-pool device of a pool that was used (a transaction_id above 0: lvm2
// registers no check on a new pool) or a cache device has the metadata device its table
// names checked by gdmsetup's thin_check or cache_check, unless the metadata's first 64
// bytes are zeros (never written: lvm2 skips it). The options are those Debian's lvm2
// 2.03.16 passes (its build's defaults, seen in the oracle): thin_check -q, so that sound
// metadata with NEEDS_CHECK set passes and keeps the flag (the pool then starts read-only,
// as the kernel's does); cache_check -q --clear-needs-check-flag, the flag cleared on the
// image (a cache never comes here under --readonly: Plan refuses caches there, as dm-cache
// writes its metadata). A check that fails returns lvm2's message with the checker's exit
// status; any other device returns nil.
func (e *env) lvmPoolCheck(d lvm.Device) error {
	if len(d.Table) != 1 {
		return nil
	}
	l := d.Table[0]
	switch {
	case l.Type == "thin-pool" && d.Transaction != nil && *d.Transaction > 0:
	case l.Type == "cache":
	default:
		return nil
	}
	first, _, _ := strings.Cut(l.Params, " ")
	metaName, ok := strings.CutPrefix(first, "/dev/mapper/")
	if !ok {
		return nil
	}
	meta, ok := e.reg.Lookup(metaName)
	if !ok {
		return fmt.Errorf("%s: metadata device %s is not active", d.Name, metaName)
	}
	if err := meta.Prepare(); err != nil {
		return fmt.Errorf("%s: %w", metaName, err)
	}
	head := make([]byte, poolCheckHeaderBytes)
	if _, err := meta.ReadAt(head, 0); err != nil {
		return fmt.Errorf("%s: reading its first %d bytes: %w", metaName, poolCheckHeaderBytes, err)
	}
	if bytes.Count(head, []byte{0}) == len(head) {
		return nil
	}
	dev := syncedDevice{meta}
	path := "/dev/mapper/" + metaName
	var status int
	if l.Type == "thin-pool" {
		status = checkMetaOn(dev, "thin_check", path, metadata.CheckOptions{}, true, false, false, io.Discard, io.Discard)
	} else {
		status = cacheCheckOn(dev, meta.SizeBytes(), "cache_check", path, cache.CheckOptions{}, true, io.Discard)
	}
	if status != 0 {
		return fmt.Errorf("Check of pool %s failed (status:%d). Manual repair required!", poolOfMetadata(metaName), status)
	}
	return nil
}

// poolOfMetadata is VG/POOL, the name lvm2 gives a pool in its messages, for the device of
// the pool's metadata: VG-POOL_tmeta, VG-POOL_cmeta, or VG-CVOL-cmeta for a cachevol.
func poolOfMetadata(metaName string) string {
	s := splitDeviceName("LVM", metaName)
	pool := s.lv
	if s.layer == "" {
		pool = strings.TrimSuffix(strings.TrimSuffix(pool, "_tmeta"), "_cmeta")
	}
	return s.vg + "/" + pool
}

// syncedDevice is a device-mapper device as the metadata checkers' block.Device: Sync
// flushes it, SizeBytes is its table's size.
type syncedDevice struct{ *dm.Device }

func (d syncedDevice) Sync() error { return d.Flush() }

func (d syncedDevice) SizeBytes() (int64, error) { return d.Device.SizeBytes(), nil }
