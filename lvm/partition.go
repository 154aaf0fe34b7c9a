package lvm

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
)

// Partition is one entry of a partition table, numbered as Linux numbers it: MBR primaries 1-4,
// logical partitions from 5 in the order of their chain, GPT entries from 1 (entry index + 1).
type Partition struct {
	Number                   int
	StartSectors, LenSectors uint64
}

const (
	maxPartitions     = 256 // DISK_MAX_PARTS: Linux numbers partitions below this
	mbrEntriesAt      = 0x1be
	mbrEntryBytes     = 16
	mbrTypeGPT        = 0xee
	ebrLinksNoData    = 100     // parse_extended gives up after this many links without a data partition
	gptHeaderMinBytes = 92      // sizeof(gpt_header)
	gptEntryBytes     = 128     // sizeof(gpt_entry), the only entry size Linux accepts
	gptEntriesMaxSize = 4 << 20 // KMALLOC_MAX_SIZE: Linux rejects a larger entry array
	gptSignature      = "EFI PART"
)

// Partitions reads the partition table of r, a disk of sizeBytes, as Linux does with 512-byte
// logical sectors: under a protective MBR (an entry of type 0xee starting at LBA 1) the GPT,
// primary header at LBA 1 or, if that header or its entries are bad, the backup at the last LBA;
// otherwise the MBR with the logical partitions of its extended partitions (the extended
// containers themselves are not listed). No table (no 0x55aa signature, a boot indicator other
// than 0 and 0x80, a 0xee entry not at LBA 1, no entries) gives nil, nil. Partitions starting
// past the disk's end are skipped, those running past it are cut at the end (as Linux's
// blk_add_partition does), empty GPT entries and GPT entries past the last LBA are skipped.
// Bad GPT headers on both sides give an error naming both. The list is ordered by Number.
func Partitions(r io.ReaderAt, sizeBytes int64) ([]Partition, error) {
	t := &partTable{r: r, diskSectors: uint64(max(sizeBytes, 0)) / sectorBytes}
	if t.diskSectors == 0 {
		return nil, nil
	}
	mbr, err := t.sector(0)
	if err != nil {
		return nil, fmt.Errorf("MBR: %w", err)
	}
	if mbr[510] != 0x55 || mbr[511] != 0xaa {
		return nil, nil
	}
	var entries [4]mbrEntry
	gpt := false
	for i := range entries {
		e := parseMBREntry(mbr, i)
		entries[i] = e
		if e.typ == mbrTypeGPT && e.startSectors == 1 {
			gpt = true
		}
	}
	if gpt {
		if err := t.readGPT(); err != nil {
			return nil, err
		}
		return t.parts, nil
	}
	for _, e := range entries {
		if e.boot != 0 && e.boot != 0x80 || e.typ == mbrTypeGPT {
			return nil, nil
		}
	}
	t.next = 5
	for i, e := range entries {
		switch {
		case e.lenSectors == 0:
		case e.extended():
			if err := t.readExtended(e.startSectors, e.lenSectors); err != nil {
				return nil, err
			}
		default:
			t.add(i+1, e.startSectors, e.lenSectors)
		}
	}
	slices.SortFunc(t.parts, func(a, b Partition) int { return cmp.Compare(a.Number, b.Number) })
	return t.parts, nil
}

// partTable is the state of one Partitions call.
type partTable struct {
	r           io.ReaderAt
	diskSectors uint64
	parts       []Partition
	next        int // the number of the next logical partition
}

// sector reads sector n of the disk.
func (t *partTable) sector(n uint64) ([]byte, error) {
	return t.sectors(n, 1)
}

// sectors reads count sectors from sector n of the disk, all of which must lie inside it.
func (t *partTable) sectors(n, count uint64) ([]byte, error) {
	if n >= t.diskSectors || count > t.diskSectors-n {
		return nil, fmt.Errorf("%d sectors at sector %d: past the disk's end (%d sectors)", count, n, t.diskSectors)
	}
	b, err := readFull(t.r, n*sectorBytes, count*sectorBytes)
	if err != nil {
		return nil, fmt.Errorf("sector %d: %w", n, err)
	}
	return b, nil
}

// add records partition number of lenSectors from startSectors, as Linux adds one: skipped if
// empty or starting past the disk's end, cut at the disk's end.
func (t *partTable) add(number int, startSectors, lenSectors uint64) {
	if lenSectors == 0 || startSectors >= t.diskSectors {
		return
	}
	lenSectors = min(lenSectors, t.diskSectors-startSectors)
	t.parts = append(t.parts, Partition{Number: number, StartSectors: startSectors, LenSectors: lenSectors})
}

// mbrEntry is one 16-byte partition entry of an MBR or EBR.
type mbrEntry struct {
	boot, typ                byte
	startSectors, lenSectors uint64 // startSectors relative to what the table says
}

// parseMBREntry reads entry i (0-3) of the partition table in sector, an MBR or EBR.
func parseMBREntry(sector []byte, i int) mbrEntry {
	p := sector[mbrEntriesAt+i*mbrEntryBytes:]
	return mbrEntry{
		boot:         p[0],
		typ:          p[4],
		startSectors: uint64(binary.LittleEndian.Uint32(p[8:])),
		lenSectors:   uint64(binary.LittleEndian.Uint32(p[12:])),
	}
}

// extended says whether e is an extended partition (DOS 0x05, Windows 0x0f, Linux 0x85).
func (e mbrEntry) extended() bool { return e.typ == 0x05 || e.typ == 0x0f || e.typ == 0x85 }

// readExtended adds the logical partitions of the extended partition at firstSectors, following
// its chain of EBRs as Linux's parse_extended does. The chain ends at an EBR without signature,
// without a link, past the disk's end, at an EBR already visited, after 100 links without a
// data partition, or when partition numbers run out.
func (t *partTable) readExtended(firstSectors, firstLenSectors uint64) error {
	thisSectors, thisLenSectors := firstSectors, firstLenSectors
	visited := map[uint64]bool{}
	for linksNoData := 1; linksNoData <= ebrLinksNoData && t.next < maxPartitions; linksNoData++ {
		if visited[thisSectors] || thisSectors >= t.diskSectors {
			return nil
		}
		visited[thisSectors] = true
		ebr, err := t.sector(thisSectors)
		if err != nil {
			return fmt.Errorf("extended partition's EBR at sector %d: %w", thisSectors, err)
		}
		if ebr[510] != 0x55 || ebr[511] != 0xaa {
			return nil
		}
		var link *mbrEntry
		for i := range 4 {
			e := parseMBREntry(ebr, i)
			if e.lenSectors == 0 {
				continue
			}
			if e.extended() {
				if link == nil {
					link = &e
				}
				continue
			}
			// The 3rd and 4th entries often hold garbage: Linux takes them only inside the
			// EBR's own span and the extended partition.
			startSectors := thisSectors + e.startSectors
			if i >= 2 && (e.startSectors+e.lenSectors > thisLenSectors || startSectors < firstSectors || startSectors+e.lenSectors > firstSectors+firstLenSectors) {
				continue
			}
			t.add(t.next, startSectors, e.lenSectors)
			linksNoData = 0
			if t.next++; t.next == maxPartitions {
				return nil
			}
		}
		if link == nil {
			return nil
		}
		thisSectors, thisLenSectors = firstSectors+link.startSectors, link.lenSectors
	}
	return nil
}

// readGPT adds the partitions of the GPT: the primary's if it and its entries are good, else
// the backup's at the last LBA.
func (t *partTable) readGPT() error {
	lastLBA := t.diskSectors - 1
	entries, err := t.gptEntries(1, lastLBA)
	if err != nil {
		var errBackup error
		if entries, errBackup = t.gptEntries(lastLBA, lastLBA); errBackup != nil {
			return fmt.Errorf("%w; backup %w", err, errBackup)
		}
	}
	for i := 0; i*gptEntryBytes < len(entries) && i < maxPartitions-1; i++ {
		e := entries[i*gptEntryBytes : (i+1)*gptEntryBytes]
		firstLBA, endLBA := binary.LittleEndian.Uint64(e[32:]), binary.LittleEndian.Uint64(e[40:])
		if bytes.Equal(e[:16], make([]byte, 16)) || firstLBA > lastLBA || endLBA > lastLBA || endLBA < firstLBA {
			continue
		}
		t.add(i+1, firstLBA, endLBA-firstLBA+1)
	}
	return nil
}

// gptEntries checks the GPT header at lba and its entry array as Linux's is_gpt_valid does and
// returns the array.
func (t *partTable) gptEntries(lba, lastLBA uint64) ([]byte, error) {
	h, err := t.sector(lba)
	if err != nil {
		return nil, fmt.Errorf("GPT header at LBA %d: %w", lba, err)
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("GPT header at LBA %d: %s", lba, fmt.Sprintf(format, a...))
	}
	if string(h[:8]) != gptSignature {
		return nil, bad("signature %q, want %q", h[:8], gptSignature)
	}
	headerBytes := binary.LittleEndian.Uint32(h[12:])
	if headerBytes < gptHeaderMinBytes || headerBytes > sectorBytes {
		return nil, bad("header size %d bytes, want %d-%d", headerBytes, gptHeaderMinBytes, sectorBytes)
	}
	want := binary.LittleEndian.Uint32(h[16:])
	hc := bytes.Clone(h[:headerBytes])
	binary.LittleEndian.PutUint32(hc[16:], 0)
	if got := crc32.ChecksumIEEE(hc); got != want {
		return nil, bad("CRC 0x%08x, computed 0x%08x", want, got)
	}
	if my := binary.LittleEndian.Uint64(h[24:]); my != lba {
		return nil, bad("records its own LBA as %d", my)
	}
	firstUsable, lastUsable := binary.LittleEndian.Uint64(h[40:]), binary.LittleEndian.Uint64(h[48:])
	if firstUsable > lastLBA || lastUsable > lastLBA || lastUsable < firstUsable {
		return nil, bad("usable LBAs %d-%d outside the disk's 0-%d", firstUsable, lastUsable, lastLBA)
	}
	entriesLBA, entryCount := binary.LittleEndian.Uint64(h[72:]), binary.LittleEndian.Uint32(h[80:])
	if size := binary.LittleEndian.Uint32(h[84:]); size != gptEntryBytes {
		return nil, bad("partition entry size %d bytes, want %d", size, gptEntryBytes)
	}
	arrayBytes := uint64(entryCount) * gptEntryBytes
	if arrayBytes == 0 || arrayBytes > gptEntriesMaxSize {
		return nil, bad("%d partition entries, want 1-%d", entryCount, gptEntriesMaxSize/gptEntryBytes)
	}
	array, err := t.sectors(entriesLBA, (arrayBytes+sectorBytes-1)/sectorBytes)
	if err != nil {
		return nil, fmt.Errorf("GPT header at LBA %d: partition entries: %w", lba, err)
	}
	array = array[:arrayBytes]
	if want, got := binary.LittleEndian.Uint32(h[88:]), crc32.ChecksumIEEE(array); got != want {
		return nil, bad("partition entries' CRC 0x%08x, computed 0x%08x", want, got)
	}
	return array, nil
}
