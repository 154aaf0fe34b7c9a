package thinpool

import (
	"errors"
	"syscall"

	"github.com/gdmsetup/gdmsetup/errno"
	"github.com/gdmsetup/gdmsetup/targets"
	"github.com/gdmsetup/gdmsetup/targets/thinpool/metadata"
)

// Message is pool_message: create_thin, create_snap, delete,
// set_transaction_id, reserve_metadata_snap, release_metadata_snap. A
// message that succeeds is committed; one that fails changes nothing.
func (t *Target) Message(args []string) (string, error) {
	p := t.pool
	// commit first, so that a failed message can drop whatever it touched
	// by going back to that commit; this commit stands for the kernel's
	// periodic one, which may have switched the mode by now
	if err := p.CommitChanged(); err != nil {
		return "", syscall.EIO
	}
	if p.Mode() >= ModeOutOfMetadataSpace {
		p.logf("thin: %s: unable to service pool target messages in READ_ONLY or FAIL mode", p.devName)
		return "", syscall.EOPNOTSUPP
	}
	var err error
	switch targets.LowerASCII(args[0]) {
	case "create_thin":
		err = t.createThin(args)
	case "create_snap":
		err = t.createSnap(args)
	case "delete":
		err = t.delete(args)
	case "set_transaction_id":
		err = t.setTransactionID(args)
	case "reserve_metadata_snap":
		err = t.reserveMetadataSnap(args)
	case "release_metadata_snap":
		err = t.releaseMetadataSnap(args)
	default:
		p.logf("thin: Unrecognised thin pool target message received: %s", args[0])
		return "", syscall.EINVAL
	}
	if err != nil {
		// The kernel keeps its in-core allocation cursors and its space
		// map's threshold through a failed message: so does the abort here.
		metaCursor, dataCursor := p.md.AllocCursors()
		if aerr := p.md.Abort(); aerr != nil {
			p.operationFailed("abort", aerr)
		} else {
			p.md.SetAllocCursors(metaCursor, dataCursor)
			p.md.OnMetadataAlloc(p.metadataAllocated)
		}
		return "", err
	}
	// as the kernel: the message is done whatever the commit gives (a
	// failed one has put the pool in read-only mode)
	p.Commit()
	return "", nil
}

func (t *Target) argCount(args []string, want int) error {
	if len(args) != want {
		t.pool.logf("thin: Message received with %d arguments instead of %d.", len(args), want)
		return syscall.EINVAL
	}
	return nil
}

func (t *Target) devID(s string) (uint64, error) {
	id, ok := ParseDevID(s)
	if !ok {
		t.pool.logf("thin: Message received with invalid device id: %s", s)
		return 0, syscall.EINVAL
	}
	return id, nil
}

// metadataErrno maps a metadata error to what the kernel's returns: the
// metadata layer's own errors by kind, an I/O error's errno, else EIO.
func metadataErrno(err error) syscall.Errno {
	switch {
	case errors.Is(err, metadata.ErrExists):
		return syscall.EEXIST
	case errors.Is(err, metadata.ErrNoDevice):
		return syscall.ENODATA
	case errors.Is(err, metadata.ErrBusy), errors.Is(err, metadata.ErrSnapExists):
		return syscall.EBUSY
	case errors.Is(err, metadata.ErrNoSpace):
		return syscall.ENOSPC
	case errors.Is(err, metadata.ErrNoSnap):
		return syscall.EINVAL
	}
	return errno.Of(err)
}

func (t *Target) createThin(args []string) error {
	if err := t.argCount(args, 2); err != nil {
		return err
	}
	id, err := t.devID(args[1])
	if err != nil {
		return err
	}
	if err := t.pool.md.CreateThin(id); err != nil {
		t.pool.logf("thin: Creation of new thinly-provisioned device with id %s failed.", args[1])
		return metadataErrno(err)
	}
	return nil
}

func (t *Target) createSnap(args []string) error {
	if err := t.argCount(args, 3); err != nil {
		return err
	}
	id, err := t.devID(args[1])
	if err != nil {
		return err
	}
	origin, err := t.devID(args[2])
	if err != nil {
		return err
	}
	if err := t.pool.md.CreateSnap(id, origin); err != nil {
		t.pool.logf("thin: Creation of new snapshot %s of device %s failed.", args[1], args[2])
		return metadataErrno(err)
	}
	return nil
}

func (t *Target) delete(args []string) error {
	if err := t.argCount(args, 2); err != nil {
		return err
	}
	id, err := t.devID(args[1])
	if err != nil {
		return err
	}
	if err := t.pool.md.Delete(id); err != nil {
		t.pool.logf("thin: Deletion of thin device %s failed.", args[1])
		return metadataErrno(err)
	}
	return nil
}

func (t *Target) setTransactionID(args []string) error {
	if err := t.argCount(args, 3); err != nil {
		return err
	}
	cur, ok := targets.ParseUint(args[1], 64)
	if !ok {
		t.pool.logf("thin: set_transaction_id message: Unrecognised id %s.", args[1])
		return syscall.EINVAL
	}
	next, ok := targets.ParseUint(args[2], 64)
	if !ok {
		t.pool.logf("thin: set_transaction_id message: Unrecognised new id %s.", args[2])
		return syscall.EINVAL
	}
	if err := t.pool.md.SetTransactionID(cur, next); err != nil {
		t.pool.logf("thin metadata: mismatched transaction id")
		t.pool.logf("thin: Failed to change transaction id from %s to %s.", args[1], args[2])
		return syscall.EINVAL
	}
	return nil
}

func (t *Target) reserveMetadataSnap(args []string) error {
	if err := t.argCount(args, 1); err != nil {
		return err
	}
	if err := t.pool.md.ReserveMetadataSnap(); err != nil {
		if errors.Is(err, metadata.ErrSnapExists) {
			t.pool.logf("thin metadata: Pool metadata snapshot already exists: release this before taking another.")
		}
		t.pool.logf("thin: reserve_metadata_snap message failed.")
		return metadataErrno(err)
	}
	return nil
}

func (t *Target) releaseMetadataSnap(args []string) error {
	if err := t.argCount(args, 1); err != nil {
		return err
	}
	if err := t.pool.md.ReleaseMetadataSnap(); err != nil {
		if errors.Is(err, metadata.ErrNoSnap) {
			t.pool.logf("thin metadata: No pool metadata snapshot found: nothing to release.")
		}
		t.pool.logf("thin: release_metadata_snap message failed.")
		return metadataErrno(err)
	}
	return nil
}
