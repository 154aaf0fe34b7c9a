package lvm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// readImage returns the contents of the image at path.
func readImage(t *testing.T, path string) []byte {
	t.Helper()
	img, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// partitionsOf runs Partitions on img.
func partitionsOf(img []byte) ([]Partition, error) {
	return Partitions(bytes.NewReader(img), int64(len(img)))
}

func TestPartitionsFixtures(t *testing.T) {
	for _, tc := range []struct {
		name, pvUUID string
		want         []Partition
	}{
		{"mbr", "tVLuwO-ZFeD-54ye-Wkhc-JDXB-IVTF-Jmh051", []Partition{{1, 2048, 16384}, {2, 18432, 79872}}},
		{"gpt", "nvqbB9-QBks-Jab1-RV8N-oG14-zNfe-StD77G", []Partition{{1, 2048, 16384}, {2, 18432, 79839}}},
	} {
		f, err := os.Open(fixture(t, tc.name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		parts, err := Partitions(f, fi.Size())
		if err != nil || !reflect.DeepEqual(parts, tc.want) {
			t.Fatalf("%s: %v, %v; want %v", tc.name, parts, err, tc.want)
		}
		p2 := io.NewSectionReader(f, int64(parts[1].StartSectors)*sectorBytes, int64(parts[1].LenSectors)*sectorBytes)
		l, err := ReadLabel(p2)
		if err != nil {
			t.Fatalf("%s partition 2: %v", tc.name, err)
		}
		if want := strings.ReplaceAll(tc.pvUUID, "-", ""); l.UUID != want || l.DevSizeBytes != parts[1].LenSectors*sectorBytes {
			t.Errorf("%s partition 2: PV %s of %d bytes, want %s of %d", tc.name, l.UUID, l.DevSizeBytes, want, parts[1].LenSectors*sectorBytes)
		}
		text, err := ReadMetadata(p2, l.MetadataAreas[0])
		if err != nil {
			t.Fatalf("%s partition 2: %v", tc.name, err)
		}
		if !bytes.HasPrefix(text, []byte("other-vg {\n")) || !bytes.Contains(text, []byte("\nseqno = 5\n")) {
			t.Errorf("%s partition 2: metadata text %.40q..., want other-vg at seqno 5", tc.name, text)
		}
	}
	parts, err := Partitions(bytes.NewReader(readImage(t, fixture(t, "pv1"))), 64<<20)
	if parts != nil || err != nil {
		t.Errorf("pv1 (a whole-disk PV): %v, %v; want no table", parts, err)
	}
}

// setGPTHeaderCRC recomputes the CRC of the GPT header at lba of img.
func setGPTHeaderCRC(img []byte, lba int) {
	h := img[lba*sectorBytes : lba*sectorBytes+gptHeaderMinBytes]
	binary.LittleEndian.PutUint32(h[16:], 0)
	binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h))
}

func TestPartitionsGPTBackup(t *testing.T) {
	good := readImage(t, fixture(t, "gpt"))
	lastLBA := len(good)/sectorBytes - 1
	want := []Partition{{1, 2048, 16384}, {2, 18432, 79839}}
	for _, tc := range []struct {
		what    string
		corrupt func(img []byte)
	}{
		{"primary header", func(img []byte) { img[sectorBytes+16] ^= 1 }},
		{"primary entries", func(img []byte) { img[2*sectorBytes+40] ^= 1 }},
		{"primary zeroed", func(img []byte) { clear(img[sectorBytes : 34*sectorBytes]) }},
		{"backup zeroed", func(img []byte) { clear(img[(lastLBA-32)*sectorBytes:]) }},
	} {
		img := bytes.Clone(good)
		tc.corrupt(img)
		if parts, err := partitionsOf(img); err != nil || !reflect.DeepEqual(parts, want) {
			t.Errorf("%s: %v, %v; want %v", tc.what, parts, err, want)
		}
	}
	img := bytes.Clone(good)
	img[sectorBytes+16] ^= 1
	img[lastLBA*sectorBytes+16] ^= 1
	_, err := partitionsOf(img)
	if err == nil || !strings.Contains(err.Error(), "GPT header at LBA 1: CRC 0x") || !strings.Contains(err.Error(), fmt.Sprintf("backup GPT header at LBA %d: CRC 0x", lastLBA)) {
		t.Errorf("both headers corrupt: %v", err)
	}
}

// TestPartitionsGPTCorrupt corrupts each checked field of the primary GPT header (with the
// backup gone) and checks that the error names it.
func TestPartitionsGPTCorrupt(t *testing.T) {
	good := readImage(t, fixture(t, "gpt"))
	lastLBA := len(good)/sectorBytes - 1
	clear(good[lastLBA*sectorBytes:])
	const h = sectorBytes
	set32 := func(img []byte, off int, v uint32) {
		binary.LittleEndian.PutUint32(img[h+off:], v)
		setGPTHeaderCRC(img, 1)
	}
	set64 := func(img []byte, off int, v uint64) {
		binary.LittleEndian.PutUint64(img[h+off:], v)
		setGPTHeaderCRC(img, 1)
	}
	for _, tc := range []struct {
		field   string
		corrupt func(img []byte)
		want    string
	}{
		{"signature", func(img []byte) { img[h] = 'e' }, `GPT header at LBA 1: signature "eFI PART"`},
		{"header_size small", func(img []byte) { set32(img, 12, 91) }, "GPT header at LBA 1: header size 91 bytes, want 92-512"},
		{"header_size large", func(img []byte) { set32(img, 12, 513) }, "GPT header at LBA 1: header size 513 bytes"},
		{"header_crc32", func(img []byte) { img[h+16] ^= 1 }, "GPT header at LBA 1: CRC 0xb2acc4f2, computed 0xb2acc4f3"},
		{"my_lba", func(img []byte) { set64(img, 24, 2) }, "GPT header at LBA 1: records its own LBA as 2"},
		{"first_usable_lba", func(img []byte) { set64(img, 40, 98304) }, "GPT header at LBA 1: usable LBAs 98304-98270 outside the disk's 0-98303"},
		{"last_usable_lba", func(img []byte) { set64(img, 48, 33) }, "GPT header at LBA 1: usable LBAs 34-33"},
		{"partition_entry_lba", func(img []byte) { set64(img, 72, 98300) }, "GPT header at LBA 1: partition entries: 32 sectors at sector 98300: past the disk's end"},
		{"num_partition_entries 0", func(img []byte) { set32(img, 80, 0) }, "GPT header at LBA 1: 0 partition entries, want 1-32768"},
		{"num_partition_entries huge", func(img []byte) { set32(img, 80, 1<<31) }, "GPT header at LBA 1: 2147483648 partition entries"},
		{"sizeof_partition_entry", func(img []byte) { set32(img, 84, 256) }, "GPT header at LBA 1: partition entry size 256 bytes, want 128"},
		{"partition_entry_array_crc32", func(img []byte) { set32(img, 88, 1) }, "GPT header at LBA 1: partition entries' CRC 0x00000001, computed"},
		{"entry", func(img []byte) { img[2*sectorBytes+32] ^= 1 }, "GPT header at LBA 1: partition entries' CRC"},
	} {
		t.Run(tc.field, func(t *testing.T) {
			img := bytes.Clone(good)
			tc.corrupt(img)
			_, err := partitionsOf(img)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), fmt.Sprintf("backup GPT header at LBA %d: signature", lastLBA)) {
				t.Fatalf("error %v, want one containing %q and naming the backup", err, tc.want)
			}
		})
	}
}

// mbrImage returns a disk of diskSectors whose MBR holds entries (boot, type, start, size).
func mbrImage(diskSectors int, entries ...[4]uint32) []byte {
	img := make([]byte, diskSectors*sectorBytes)
	setEntries(img, 0, entries...)
	return img
}

// setEntries writes a partition table with entries (boot, type, start, size) and the 0x55aa
// signature in sector s of img.
func setEntries(img []byte, s int, entries ...[4]uint32) {
	b := img[s*sectorBytes : (s+1)*sectorBytes]
	for i, e := range entries {
		p := b[mbrEntriesAt+i*mbrEntryBytes:]
		p[0], p[4] = byte(e[0]), byte(e[1])
		binary.LittleEndian.PutUint32(p[8:], e[2])
		binary.LittleEndian.PutUint32(p[12:], e[3])
	}
	b[510], b[511] = 0x55, 0xaa
}

func TestPartitionsMBR(t *testing.T) {
	for _, tc := range []struct {
		what string
		img  []byte
		want []Partition
	}{
		{"no signature", make([]byte, 4096), nil},
		{"all entries empty", mbrImage(8), nil},
		{"boot indicator 0x01", mbrImage(100, [4]uint32{0x80, 0x83, 1, 10}, [4]uint32{0x01, 0x83, 20, 10}), nil},
		{"0xee not at LBA 1", mbrImage(100, [4]uint32{0, 0xee, 2, 97}), nil},
		{"past the end", mbrImage(100, [4]uint32{0, 0x83, 1, 10}, [4]uint32{0, 0x83, 100, 10}, [4]uint32{0, 0x83, 0xffffffff, 0xffffffff}, [4]uint32{0x80, 0x8e, 90, 20}),
			[]Partition{{1, 1, 10}, {4, 90, 10}}},
		{"empty slots keep numbers", mbrImage(100, [4]uint32{}, [4]uint32{}, [4]uint32{0, 0x83, 50, 10}), []Partition{{3, 50, 10}}},
		{"logical chain with a loop", func() []byte {
			img := mbrImage(2000, [4]uint32{0, 0x83, 1, 99}, [4]uint32{0, 0x05, 100, 1000})
			setEntries(img, 100, [4]uint32{0, 0x83, 10, 50}, [4]uint32{0, 0x05, 200, 300})
			setEntries(img, 300, [4]uint32{0, 0x8e, 10, 40}, [4]uint32{0, 0x0f, 0, 300}) // links back to the first EBR
			return img
		}(), []Partition{{1, 1, 99}, {5, 110, 50}, {6, 310, 40}}},
		{"garbage 3rd/4th EBR entries", func() []byte {
			img := mbrImage(2000, [4]uint32{0, 0x85, 100, 1000})
			setEntries(img, 100, [4]uint32{0, 0x83, 10, 50}, [4]uint32{}, [4]uint32{0, 0x83, 1, 5000}, [4]uint32{0, 0x83, 60, 20})
			return img
		}(), []Partition{{5, 110, 50}, {6, 160, 20}}},
		{"small GPT", smallGPT(), []Partition{{1, 3, 1}}},
		{"EBR past the end", mbrImage(200, [4]uint32{0, 0x05, 100, 1000}), nil},
		{"chain of empty links", func() []byte {
			img := mbrImage(400, [4]uint32{0, 0x05, 1, 399})
			for s := 1; s < 399; s++ {
				setEntries(img, s, [4]uint32{0, 0x05, uint32(s), 1})
			}
			return img
		}(), nil},
	} {
		parts, err := partitionsOf(tc.img)
		if err != nil || !reflect.DeepEqual(parts, tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.what, parts, err, tc.want)
		}
	}
}

// TestPartitionsMatchPartx writes tables with sfdisk and sgdisk (logical partitions, many GPT
// entries, gaps) and compares Partitions with what partx (libblkid) reads, extended containers
// aside.
func TestPartitionsMatchPartx(t *testing.T) {
	for _, tool := range []string{"sfdisk", "sgdisk", "partx"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s missing", tool)
			}
			t.Skipf("%s missing", tool)
		}
	}
	dir := t.TempDir()
	for i, tc := range []struct {
		tool, script string
	}{
		{"sfdisk", "label: dos\nstart=2048, size=8192, type=83\nstart=10240, size=100000, type=5\nstart=12288, size=4096, type=8e\nstart=18432, size=8192, type=83\nstart=28672, size=2048, type=82\nstart=120000, type=83\n"},
		{"sfdisk", "label: dos\nstart=4096, size=40000, type=85\nstart=2048, size=2048, type=c\nstart=6144, size=1024\nsize=2048\ntype=8e\n"},
		{"sfdisk", "label: gpt\nstart=2048, size=4096\nstart=8192, size=2048\nstart=20000, size=10000, type=E6D6D379-F507-44C2-A23C-238F2A3DF928\n"},
		{"sgdisk", "-n 1:2048:+1M -n 3:4096:+2M -n 5:10240:+512K -n 128:20480:0 -t 5:8e00"},
	} {
		img := filepath.Join(dir, fmt.Sprintf("d%d.img", i))
		if err := os.WriteFile(img, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(img, 64<<20); err != nil {
			t.Fatal(err)
		}
		var cmd *exec.Cmd
		if tc.tool == "sfdisk" {
			cmd = exec.Command("sfdisk", "-q", img)
			cmd.Stdin = strings.NewReader(tc.script)
		} else {
			cmd = exec.Command("sgdisk", append(strings.Fields(tc.script), img)...)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", tc.tool, err, out)
		}
		out, err := exec.Command("partx", "-g", "-r", "-o", "NR,START,SECTORS,TYPE", img).Output()
		if err != nil {
			t.Fatalf("partx %s: %v", img, err)
		}
		var want []Partition
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Fields(line)
			if f[3] == "0x5" || f[3] == "0xf" || f[3] == "0x85" {
				continue
			}
			n, _ := strconv.Atoi(f[0])
			start, _ := strconv.ParseUint(f[1], 10, 64)
			size, _ := strconv.ParseUint(f[2], 10, 64)
			want = append(want, Partition{n, start, size})
		}
		got, err := partitionsOf(readImage(t, img))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("table %d (%s): %v, %v; partx reads %v", i, tc.tool, got, err, want)
		}
	}
}
