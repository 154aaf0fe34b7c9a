package metadata

import "slices"

// The device list is the kernel's in-core list of thin devices
// (pmd->thin_devices): a device joins it at the head when it is first
// opened (a thin table, create_thin, either side of create_snap), and
// leaves it when it is deleted or when a commit writes its changed details
// while no table holds it open. __write_changed_details writes changed
// details in the list's order, so the order decides which leaf of the
// device-details tree is shadowed first when one transaction changes two
// devices (create_snap: the snapshot and its origin). p.mu guards it, as
// every Pool field.

// openDevice is __open_device's list insertion: id joins at the head unless
// it is in the list already.
func (p *Pool) openDevice(id uint64) {
	if !slices.Contains(p.devList, id) {
		p.devList = slices.Insert(p.devList, 0, id)
	}
}

// dropDevice takes id out of the list.
func (p *Pool) dropDevice(id uint64) {
	if i := slices.Index(p.devList, id); i >= 0 {
		p.devList = slices.Delete(p.devList, i, i+1)
	}
}

// changedOrder is the order a commit writes changed details in: the
// list's, then devices changed without being opened (a restore) by id.
func (p *Pool) changedOrder() []uint64 {
	ids := slices.Clone(p.devList)
	var rest []uint64
	for id, d := range p.details {
		if d.changed && !slices.Contains(p.devList, id) {
			rest = append(rest, id)
		}
	}
	slices.Sort(rest)
	return append(ids, rest...)
}

// DeviceList returns the in-core device list, head first: state the kernel
// keeps while the pool exists, which a later open of the same metadata
// takes back with SetDeviceList.
func (p *Pool) DeviceList() []uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.devList)
}

// SetDeviceList restores a list DeviceList returned, before any device is
// opened; ids of devices the metadata does not hold and repeated ids are
// left out.
func (p *Pool) SetDeviceList(ids []uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.setDeviceList(ids)
}

func (p *Pool) setDeviceList(ids []uint64) {
	list := make([]uint64, 0, len(ids))
	for _, id := range ids {
		if _, ok := p.details[id]; ok && !slices.Contains(list, id) {
			list = append(list, id)
		}
	}
	p.devList = list
}
