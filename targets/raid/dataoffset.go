package raid

import "github.com/gdmsetup/gdmsetup/targets"

// offsetDev is a member's data device seen from its data offset (md's
// rdev->data_offset): the array's member sector 0 is the device's sector
// offSectors. Reshapes move the data between two offsets of a member.
type offsetDev struct {
	targets.Dev
	offSectors uint64
}

// atOffset is the member's data device dev from offSectors on (dev itself
// at 0).
func atOffset(dev targets.Dev, offSectors uint64) targets.Dev {
	if dev == nil || offSectors == 0 {
		return dev
	}
	return &offsetDev{dev, offSectors}
}

func (d *offsetDev) offBytes() int64 { return int64(d.offSectors) * sectorBytes }

func (d *offsetDev) ReadAt(p []byte, off int64) (int, error) {
	return d.Dev.ReadAt(p, off+d.offBytes())
}

func (d *offsetDev) WriteAt(p []byte, off int64) (int, error) {
	return d.Dev.WriteAt(p, off+d.offBytes())
}

func (d *offsetDev) Discard(offBytes, lenBytes int64) error {
	return d.Dev.Discard(offBytes+d.offBytes(), lenBytes)
}

// SizeBytes is what the device holds past the offset.
func (d *offsetDev) SizeBytes() int64 { return max(d.Dev.SizeBytes()-d.offBytes(), 0) }
