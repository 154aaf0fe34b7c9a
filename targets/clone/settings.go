package clone

import "encoding/binary"

// settings are a table's run-time hydration knobs: set by its constructor
// arguments, changed by messages. The kernel keeps them in memory for the
// table's lifetime; gdmsetup's table lives across processes, so they are
// kept in the unused tail of the metadata superblock (the kernel ignores
// and zeroes it), together with whether the table is suspended.
type settings struct {
	stored    bool // read from a superblock that had them
	disabled  bool // no_hydration / disable_hydration
	suspended bool // postsuspend ran and no resume since
	threshold uint32
	batch     uint32
}

// Layout of the settings record in the superblock tail.
const (
	stOff       = 2048
	stMagic     = 0x656e6f6c636d6467 // "gdmclone"
	stDisabled  = 1 << 0
	stSuspended = 1 << 1
)

func (s settings) encode(sb []byte) {
	b := sb[stOff:]
	binary.LittleEndian.PutUint64(b, stMagic)
	var flags uint32
	if s.disabled {
		flags |= stDisabled
	}
	if s.suspended {
		flags |= stSuspended
	}
	binary.LittleEndian.PutUint32(b[8:], flags)
	binary.LittleEndian.PutUint32(b[12:], s.threshold)
	binary.LittleEndian.PutUint32(b[16:], s.batch)
}

// decodeSettings reads the record; stored is false when the superblock has
// none (written by the kernel or formatted just now).
func decodeSettings(sb []byte) settings {
	b := sb[stOff:]
	if binary.LittleEndian.Uint64(b) != stMagic {
		return settings{}
	}
	flags := binary.LittleEndian.Uint32(b[8:])
	return settings{
		stored:    true,
		disabled:  flags&stDisabled != 0,
		suspended: flags&stSuspended != 0,
		threshold: binary.LittleEndian.Uint32(b[12:]),
		batch:     binary.LittleEndian.Uint32(b[16:]),
	}
}
