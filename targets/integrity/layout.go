package integrity

import (
	"errors"
	"math/bits"
)

// Layout constants of the kernel's format.
const (
	journalBlockSectors  = 8   // JOURNAL_BLOCK_SECTORS: entry sectors at a section's start
	journalSectorData    = 504 // JOURNAL_SECTOR_DATA: a journal sector less its commit id
	journalMACPerSector  = 8   // JOURNAL_MAC_PER_SECTOR
	journalEntryRoundup  = 8   // JOURNAL_ENTRY_ROUNDUP
	metadataPaddingSects = 8   // METADATA_PADDING_SECTORS
	minLog2Interleave    = 3
	maxLog2Interleave    = 31
	maxTagSize           = 255
	maxSectorsPerBlock   = 8
)

// errTooSmall is calculate_device_limits' failure: the layout does not fit.
var errTooSmall = errors.New("the layout does not fit the device")

// geometry is where everything lies: the journal's shape, the interleaved
// areas of tags and data, the provided data sectors. Sectors are 512
// bytes; a block is sectorsPerBlock sectors, each with one tag.
type geometry struct {
	startSector    uint64 // the table's reserved sectors (ic->start)
	metaDev        bool   // tags and journal on a device of their own
	dataDevSectors uint64
	metaDevSectors uint64 // the device holding the superblock, journal and tags

	tagSize   uint32
	log2Tag   int // log2 of tagSize, -1 when not a power of 2
	log2Block uint
	log2Il    uint // log2_interleave_sectors (0 with a metadata device)
	log2Buf   uint // log2_buffer_sectors
	flags     uint32

	journalSections  uint32
	entryBytes       uint32 // journal_entry_size
	entriesPerSector uint32
	sectionEntries   uint32
	sectionSectors   uint32
	journalEntries   uint32

	initialSectors uint64 // superblock and journal
	metadataRun    uint64 // sectors of tags before each area's data
	log2MetaRun    int
	provided       uint64 // provided_data_sectors
}

func (g *geometry) blockSectors() uint64 { return 1 << g.log2Block }

// sectionSize is calculate_journal_section_size.
func (g *geometry) sectionSize() {
	g.entryBytes = roundUp32(8+8*uint32(g.blockSectors())+g.tagSize, journalEntryRoundup)
	space := uint32(journalSectorData)
	if g.flags&flagJournalMAC != 0 {
		space -= journalMACPerSector
	}
	g.entriesPerSector = space / g.entryBytes
	g.sectionEntries = g.entriesPerSector * journalBlockSectors
	g.sectionSectors = g.sectionEntries<<g.log2Block + journalBlockSectors
	g.journalEntries = g.sectionEntries * g.journalSections
}

// deviceLimits is calculate_device_limits: the journal's and the tags'
// sizes for the provided sectors, errTooSmall when they do not fit.
func (g *geometry) deviceLimits() error {
	g.sectionSize()
	initial := sbSectors + uint64(g.sectionSectors)*uint64(g.journalSections)
	if initial+metadataPaddingSects >= g.metaDevSectors || initial > 1<<32-1 {
		return errTooSmall
	}
	g.initialSectors = initial
	if !g.metaDev {
		padding := uint64(512 << metadataPaddingSects)
		if g.flags&flagFixedPadding != 0 {
			padding = metadataPaddingSects << 9
		}
		g.metadataRun = roundUp64(uint64(g.tagSize)<<(g.log2Il-g.log2Block), padding) >> 9
		g.log2MetaRun = log2Exact(g.metadataRun)
		last := g.dataSector(g.areaOffset(g.provided - 1))
		if last < g.startSector || last >= g.metaDevSectors {
			return errTooSmall
		}
		return nil
	}
	metaSize := (g.provided >> g.log2Block) * uint64(g.tagSize)
	bufBytes := uint64(1) << (g.log2Buf + 9)
	metaSize = (metaSize + bufBytes - 1) >> (g.log2Buf + 9) << g.log2Buf
	if g.initialSectors+metaSize < g.initialSectors || g.initialSectors+metaSize > g.metaDevSectors {
		return errTooSmall
	}
	g.metadataRun, g.log2MetaRun = 1, 0
	return nil
}

// providedSectors is get_provided_data_sectors: without a metadata device
// the largest count the layout fits, found bit by bit from the top.
func (g *geometry) providedSectors() {
	if g.metaDev {
		g.provided = g.dataDevSectors &^ (g.blockSectors() - 1)
		return
	}
	g.provided = 0
	for bit := bits.Len64(g.metaDevSectors) - 1; bit >= 3; bit-- {
		prev := g.provided
		g.provided |= 1 << uint(bit)
		if g.deviceLimits() != nil {
			g.provided = prev
		}
	}
}

// area is get_area_and_offset's result: the interleaved area of a data
// sector and the sector's offset in it.
type area struct{ n, offset uint64 }

func (g *geometry) areaOffset(sector uint64) area {
	if g.metaDev {
		return area{0, sector}
	}
	return area{sector >> g.log2Il, sector & (1<<g.log2Il - 1)}
}

// metaBytes is get_metadata_sector_and_offset as a byte position on the
// metadata device: where the tag of a's first block lies. The kernel
// counts an area's start in whole buffers (rounding down).
func (g *geometry) metaBytes(a area) int64 {
	ms := a.n << g.log2Il
	if g.log2MetaRun >= 0 {
		ms += a.n << uint(g.log2MetaRun)
	} else {
		ms += a.n * g.metadataRun
	}
	ms >>= g.log2Buf
	off := (a.offset >> g.log2Block) * uint64(g.tagSize)
	base := (g.startSector + g.initialSectors) << 9
	return int64(base + ms<<(g.log2Buf+9) + off)
}

// dataSector is get_data_sector: where a's sector lies on the data device.
func (g *geometry) dataSector(a area) uint64 {
	if g.metaDev {
		return a.offset
	}
	s := a.n << g.log2Il
	if g.log2MetaRun >= 0 {
		s += (a.n + 1) << uint(g.log2MetaRun)
	} else {
		s += (a.n + 1) * g.metadataRun
	}
	return s + g.initialSectors + a.offset + g.startSector
}

// journalSectorOnDisk is where journal sector s (counted from the
// journal's start) lies on the metadata device.
func (g *geometry) journalSectorOnDisk(s uint64) uint64 { return g.startSector + sbSectors + s }

func roundUp32(v, m uint32) uint32 { return (v + m - 1) / m * m }
func roundUp64(v, m uint64) uint64 { return (v + m - 1) / m * m }

// log2Exact is the log2 of a power of 2, -1 for anything else.
func log2Exact(v uint64) int {
	if v == 0 || v&(v-1) != 0 {
		return -1
	}
	return bits.TrailingZeros64(v)
}
