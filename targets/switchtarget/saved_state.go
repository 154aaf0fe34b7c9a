package switchtarget

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
)

// savedPrefix starts a saved region table: its format's name and version.
const savedPrefix = "regions-v1:"

// SaveState is targets.StateSaver: the region table, which the kernel keeps
// as long as the table is live (messages change it, a suspend and resume
// keep it; a new table starts round robin again). A table no message has
// changed saves nothing; the next process builds its round robin again.
// Otherwise the slots, little-endian, deflated, in base64.
func (s *Switch) SaveState() string {
	messageMu.Lock()
	defer messageMu.Unlock()
	if !s.regions.changed {
		return ""
	}
	var b bytes.Buffer
	b.WriteString(savedPrefix)
	enc := base64.NewEncoder(base64.StdEncoding, &b)
	zw, _ := flate.NewWriter(enc, flate.BestSpeed) // a valid level: no error
	var word [8]byte
	for i := range s.regions.slots {
		binary.LittleEndian.PutUint64(word[:], s.regions.slots[i].Load())
		zw.Write(word[:]) // into memory: cannot fail
	}
	zw.Close()
	enc.Close()
	return b.String()
}

// restore takes back the region table SaveState gave, after checking it
// is one: as many slots as this table has, every region's entry a path
// this table has.
func (rt *regionTable) restore(saved string, nrPaths uint32) error {
	enc, ok := bytes.CutPrefix([]byte(saved), []byte(savedPrefix))
	if !ok {
		return fmt.Errorf("not a saved region table (no %q)", savedPrefix)
	}
	wantBytes := int64(len(rt.slots)) * 8
	zr := flate.NewReader(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(enc)))
	raw, err := io.ReadAll(io.LimitReader(zr, wantBytes+1))
	if err != nil {
		return fmt.Errorf("saved region table: %w", err)
	}
	if int64(len(raw)) != wantBytes {
		return fmt.Errorf("saved region table holds %d bytes, want %d (%d slots)", len(raw), wantBytes, len(rt.slots))
	}
	for i := range rt.slots {
		rt.slots[i].Store(binary.LittleEndian.Uint64(raw[8*i:]))
	}
	if uint64(1)<<rt.entryBits > uint64(nrPaths) { // an entry can name no path
		for r := uint64(0); r < rt.nrRegions; r++ {
			if p := rt.get(r); p >= nrPaths {
				return fmt.Errorf("saved region table maps region %d to path %d of %d", r, p, nrPaths)
			}
		}
	}
	rt.changed = true
	return nil
}
