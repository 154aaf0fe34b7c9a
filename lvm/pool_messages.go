package lvm

import (
	"fmt"
	"strconv"
)

// maxThinDeviceID is the largest thin device id (24 bits), as libdm and the kernel take it.
const maxThinDeviceID = 1<<24 - 1

// PendingMessages returns the messages that thin pool LV pool's segment holds pending, as
// libdm would send them: lvm2 commits a change to the pool's thin volumes to the VG first,
// with the pool's transaction_id raised by one and a subsection per change (`create = "LV"`,
// `delete = ID`), then sends them to the pool; a crash in between leaves them, for lvm2's next
// change to the pool. They are `create_thin ID` (`create_snap ID ORIGIN_ID` for a thin
// snapshot) and `delete ID` in the text's order, then `set_transaction_id T-1 T` (lvm2's
// thin.c and libdm's _thin_pool_node_send_messages). None is nil. A message naming no thin
// volume of the pool, or an id out of range, is an error naming it.
func (vg *VG) PendingMessages(pool *LV) ([]string, error) {
	s := pool.Segments[0].Section
	if pool.Segments[0].Type != "thin-pool" {
		return nil, fmt.Errorf("LV %s/%s is not a thin pool", vg.Name, pool.Name)
	}
	var out []string
	for _, m := range s.Children {
		msg, err := vg.pendingMessage(pool, m)
		if err != nil {
			return nil, fmt.Errorf("thin pool %s/%s %s: %w", vg.Name, pool.Name, m.Name, err)
		}
		out = append(out, msg)
	}
	if out == nil {
		return nil, nil
	}
	transaction, err := s.Uint("transaction_id")
	if err != nil {
		return nil, fmt.Errorf("thin pool %s/%s: %w", vg.Name, pool.Name, err)
	}
	if transaction == 0 {
		return nil, fmt.Errorf("thin pool %s/%s: %d pending messages at transaction_id 0", vg.Name, pool.Name, len(out))
	}
	return append(out, fmt.Sprintf("set_transaction_id %d %d", transaction-1, transaction)), nil
}

// pendingMessage reads one pending message m of pool.
func (vg *VG) pendingMessage(pool *LV, m *Section) (string, error) {
	_, create := m.Keys["create"]
	_, del := m.Keys["delete"]
	switch {
	case create == del:
		return "", fmt.Errorf("a message holds one of create or delete")
	case del:
		id, err := m.Uint("delete")
		if err != nil {
			return "", err
		}
		if id > maxThinDeviceID {
			return "", fmt.Errorf("delete %d: a thin device id is below 2^24", id)
		}
		return "delete " + strconv.FormatUint(id, 10), nil
	}
	name, err := m.Str("create")
	if err != nil {
		return "", err
	}
	seg, id, err := vg.thinOf(pool, name)
	if err != nil {
		return "", err
	}
	if _, ok := seg.Keys["origin"]; !ok {
		return "create_thin " + strconv.FormatUint(id, 10), nil
	}
	originName, err := seg.Str("origin")
	if err != nil {
		return "", fmt.Errorf("LV %s: %w", name, err)
	}
	_, originID, err := vg.thinOf(pool, originName)
	if err != nil {
		return "", fmt.Errorf("LV %s's origin: %w", name, err)
	}
	if originID == id {
		return "", fmt.Errorf("LV %s and its origin %s have the same device_id %d", name, originName, id)
	}
	return fmt.Sprintf("create_snap %d %d", id, originID), nil
}

// thinOf returns the segment and device id of the thin volume called name in pool.
func (vg *VG) thinOf(pool *LV, name string) (*Section, uint64, error) {
	lv := vg.LV(name)
	if lv == nil {
		return nil, 0, fmt.Errorf("no LV %s", name)
	}
	if len(lv.Segments) != 1 || lv.Segments[0].Type != "thin" {
		return nil, 0, fmt.Errorf("LV %s is not a thin volume", name)
	}
	s := lv.Segments[0].Section
	if in, err := s.Str("thin_pool"); err != nil || in != pool.Name {
		return nil, 0, fmt.Errorf("LV %s is not a thin volume of pool %s", name, pool.Name)
	}
	id, err := s.Uint("device_id")
	if err != nil {
		return nil, 0, fmt.Errorf("LV %s: %w", name, err)
	}
	if id > maxThinDeviceID {
		return nil, 0, fmt.Errorf("LV %s: device_id %d is not below 2^24", name, id)
	}
	return s, id, nil
}
