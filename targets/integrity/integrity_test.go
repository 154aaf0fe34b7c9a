package integrity

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/gdmsetup/gdmsetup/targets"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// refSHA256 is the sha256 of the 128 KiB the oracle kernel wrote through
// each of the devices in testdata (random bytes it also kept).
const refSHA256 = "3b42f7940a3ae2c97350805080b2781ae2d3855eb973baceebd587209459361d"

// TestKernelImages loads devices the kernel wrote (Linux 6.1 in the
// oracle): mode D with sha256, 4 KiB blocks and fix_padding, removed
// cleanly; mode B left with its bitmap dirty; mode J left with its writes
// committed in the journal only (not written into place: the replay
// does it). Each reads back the data written through it.
func TestKernelImages(t *testing.T) {
	for _, c := range []struct{ img, args, status string }{
		{"kernel-kd.img", "D 3 internal_hash:sha256 block_size:4096 fix_padding", "0 7664 -"},
		{"kernel-kb.img", "B 2 internal_hash:crc32c sectors_per_bit:64", "0 7752 -"},
		{"kernel-kj.img", "J 3 internal_hash:crc32c journal_sectors:2048 commit_time:600000", "0 5992 -"},
	} {
		t.Run(c.img, func(t *testing.T) {
			e := newEnv(t)
			gunzip(e, c.img)
			x := e.Create(4096, c.img+" 0 - "+c.args)
			sum := sha256.Sum256(dmtest.ReadAt(t, x, 0, 128<<10))
			if got := hex.EncodeToString(sum[:]); got != refSHA256 {
				t.Fatalf("the data reads back as sha256 %s", got)
			}
			if s := x.Status(); s != c.status {
				t.Fatalf("status %q, want %q", s, c.status)
			}
			e.Remove(x)
		})
	}
}

// TestLayout checks the sizes the kernel computed for fresh devices
// (status and table lines of the oracle).
func TestLayout(t *testing.T) {
	for _, c := range []struct {
		size                int64
		args, status, table string
	}{
		{4 << 20, "D 1 internal_hash:crc32c", "0 7752 -", "4 D 4 journal_sectors:176 interleave_sectors:32768 buffer_sectors:128 internal_hash:crc32c"},
		{4 << 20, "J 1 internal_hash:sha256", "0 6048 -", "32 J 6 journal_sectors:88 interleave_sectors:32768 buffer_sectors:128 journal_watermark:50 commit_time:10000 internal_hash:sha256"},
		{4 << 20, "D 3 internal_hash:sha256 block_size:4096 fix_padding", "0 7664 -", "32 D 6 block_size:4096 journal_sectors:264 interleave_sectors:32768 buffer_sectors:128 fix_padding internal_hash:sha256"},
		{4 << 20, "J 3 internal_hash:crc32c journal_sectors:2048 commit_time:600000", "0 5992 -", "4 J 6 journal_sectors:1936 interleave_sectors:32768 buffer_sectors:128 journal_watermark:50 commit_time:600000 internal_hash:crc32c"},
		{4 << 20, "B 2 internal_hash:crc32c sectors_per_bit:64", "0 7752 -", "4 B 6 journal_sectors:176 interleave_sectors:32768 buffer_sectors:128 sectors_per_bit:64 bitmap_flush_interval:10000 internal_hash:crc32c"},
	} {
		e := newEnv(t)
		e.Sparse("d", c.size)
		x := e.Create(2048, "d 0 - "+c.args)
		if s := x.Status(); s != c.status {
			t.Errorf("%s: status %q, want %q", c.args, s, c.status)
		}
		if tb := x.Table(); tb != e.Path("d")+" 0 "+c.table {
			t.Errorf("%s: table %q, want %q", c.args, tb, c.table)
		}
		e.Remove(x)
	}
}

// TestCorruption: a data sector changed under the device fails the read
// of its block with EILSEQ, the kernel's line and a count; other blocks
// read; rewriting the block heals it.
func TestCorruption(t *testing.T) {
	e := newEnv(t)
	d := e.Sparse("d", 4<<20)
	x := e.Create(2048, "d 0 - D 1 internal_hash:crc32c")
	data := pattern(1, 64<<10)
	dmtest.WriteAt(t, x, 0, data)
	e.Remove(x)
	f, err := os.OpenFile(d, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// the data of sector 8 (440 sectors of superblock, journal and tags before)
	if _, err := f.WriteAt([]byte{0xee}, (440+8)*512+100); err != nil {
		t.Fatal(err)
	}
	f.Close()
	x = e.Create(2048, "d 0 - D 1 internal_hash:crc32c")
	checksumFailedLimit = new(targets.RateLimit) // other tests' lines used none of its burst
	err = x.ReadAt(make([]byte, 8192), 0)
	if !errors.Is(err, syscall.EILSEQ) {
		t.Fatalf("read of the corrupted block: %v, want EILSEQ", err)
	}
	if log := e.TakeLog(); len(log) != 1 || log[0] != "device-mapper: integrity: dm-0: Checksum failed at sector 0x8" {
		t.Fatalf("log %q", log)
	}
	dmtest.MustEqual(t, "the block before", dmtest.ReadAt(t, x, 0, 4096), data[:4096])
	dmtest.MustEqual(t, "the blocks after", dmtest.ReadAt(t, x, 16, 8192), data[8192:16384])
	if s := x.Status(); s != "1 7752 -" {
		t.Fatalf("status %q", s)
	}
	dmtest.WriteAt(t, x, 8, data[4096:8192])
	dmtest.MustEqual(t, "the rewritten block", dmtest.ReadAt(t, x, 0, 64<<10), data)
	e.Remove(x)
}

// TestJournalAcrossProcesses: the same writes in mode J, in one process
// and in one process per write (the journal's uncommitted sections kept
// on the device in between, its positions in the saved state), leave the
// device byte for byte the same after the suspend, and read the same in
// between.
func TestJournalAcrossProcesses(t *testing.T) {
	const table = "d 0 - J 3 internal_hash:sha256 journal_sectors:1000 commit_time:60000"
	writes := []struct {
		sector uint64
		n      int
	}{{200, 12 << 10}, {0, 32 << 10}, {208, 4 << 10}, {400, 40 << 10}, {600, 64 << 10}, {800, 64 << 10}, {1000, 60 << 10}, {8, 4 << 10}}
	run := func(split bool) []byte {
		e := newEnv(t)
		d := e.Sparse("d", 4<<20)
		x := e.Create(4096, table)
		for k, w := range writes {
			dmtest.WriteAt(t, x, w.sector, pattern(byte(k+1), w.n))
			if split {
				x = e.Restore(x, x.ctx.Len, table)
			}
			dmtest.MustEqual(t, "a write read back", dmtest.ReadAt(t, x, w.sector, w.n), pattern(byte(k+1), w.n))
		}
		dmtest.MustEqual(t, "a rewritten block", dmtest.ReadAt(t, x, 8, 4096), pattern(8, 4096))
		e.Remove(x)
		b, err := os.ReadFile(d)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	one, many := run(false), run(true)
	dmtest.MustEqual(t, "the device after one process and after many", many, one)
}

// TestReplay: writes committed by a flush but not written into place
// (the process dies) are replayed by the next table, which may be the
// kernel's: the journal on the device is the kernel's format.
func TestReplay(t *testing.T) {
	const table = "d 0 - J 3 internal_hash:crc32c journal_sectors:2048 commit_time:600000"
	e := newEnv(t)
	d := e.Sparse("d", 4<<20)
	x := e.Create(4096, table)
	data := pattern(3, 128<<10)
	dmtest.WriteAt(t, x, 16, data)
	if err := x.Flush(); err != nil {
		t.Fatal(err)
	}
	x.Close() // a crash: nothing written into place
	if got := dmtest.FileBytes(t, d, int64(x.geo.dataSector(x.geo.areaOffset(16)))*512, 4096); string(got) == string(data[:4096]) {
		t.Fatal("the data is in place before the replay: nothing tests it")
	}
	x = e.Create(4096, table)
	dmtest.MustEqual(t, "replayed data", dmtest.ReadAt(t, x, 16, len(data)), data)
	if s := x.Status(); s != "0 5992 -" {
		t.Fatalf("status %q", s)
	}
	e.Remove(x)
}

// TestModeR: no tag checks, no writes.
func TestModeR(t *testing.T) {
	e := newEnv(t)
	e.Sparse("d", 4<<20)
	x := e.Create(2048, "d 0 - D 1 internal_hash:crc32c")
	if err := x.ReadAt(make([]byte, 4096), 0); !errors.Is(err, syscall.EILSEQ) {
		t.Fatalf("read of a block never written: %v, want EILSEQ", err)
	}
	e.Remove(x)
	x = e.Create(2048, "d 0 - R 1 internal_hash:crc32c")
	dmtest.MustEqual(t, "mode R read", dmtest.ReadAt(t, x, 0, 4096), make([]byte, 4096))
	if err := x.WriteAt(make([]byte, 4096), 0); !errors.Is(err, syscall.EIO) {
		t.Fatalf("write in mode R: %v", err)
	}
	e.Remove(x)
}

// TestModeB: a write marks its region dirty on the device before it goes
// on; a table over a bitmap left dirty recalculates the dirty regions'
// tags (data written without its tag reads back); a suspend cleans it.
func TestModeB(t *testing.T) {
	const table = "d 0 - B 2 internal_hash:crc32c sectors_per_bit:64"
	e := newEnv(t)
	d := e.Sparse("d", 4<<20)
	x := e.Create(4096, table)
	data := pattern(5, 32<<10)
	dmtest.WriteAt(t, x, 64, data)
	if x.sb.flags()&flagDirtyBitmap == 0 || dmtest.FileBytes(t, d, 8*512, 1)[0] != 0x02 {
		t.Fatalf("bitmap not marked dirty on the device: flags %#x, bits %#x", x.sb.flags(), dmtest.FileBytes(t, d, 8*512, 1)[0])
	}
	// data changed behind the tags (a crash between data and tags)
	f, _ := os.OpenFile(d, os.O_WRONLY, 0)
	f.WriteAt([]byte{1, 2, 3}, int64(x.geo.dataSector(x.geo.areaOffset(64)))*512)
	f.Close()
	x.Close()
	x = e.Create(4096, table)
	x.StopBackground() // the recalculation runs to its end
	data[0], data[1], data[2] = 1, 2, 3
	dmtest.MustEqual(t, "recalculated region", dmtest.ReadAt(t, x, 64, len(data)), data)
	if s := x.Status(); s != "0 7752 7752" {
		t.Fatalf("status %q", s)
	}
	e.Remove(x)
	if dmtest.FileBytes(t, d, 24, 1)[0]&flagDirtyBitmap != 0 {
		t.Fatal("dirty bitmap flag left after the suspend")
	}
}

// TestRecalculate: tags computed in the background from data already on
// the device; reads past the recalculation's position are not checked.
func TestRecalculate(t *testing.T) {
	e := newEnv(t)
	d := e.Sparse("d", 4<<20)
	x := e.Create(2048, "d 0 - D 1 internal_hash:crc32c")
	e.Remove(x)
	data := pattern(9, 1<<20)
	f, _ := os.OpenFile(d, os.O_WRONLY, 0)
	f.WriteAt(data, 440*512)
	f.Close()
	x = e.Create(2048, "d 0 - D 2 internal_hash:crc32c recalculate")
	x.StopBackground()
	if s := x.Status(); s != "0 7752 7752" {
		t.Fatalf("status %q", s)
	}
	if !strings.Contains(x.Table(), " recalculate ") {
		t.Fatalf("table %q", x.Table())
	}
	dmtest.MustEqual(t, "recalculated data", dmtest.ReadAt(t, x, 0, len(data)), data)
	e.Remove(x)
}

// TestRecalculateEndOnDevice: the chunk that takes the recalculation to
// its end also writes the superblock, so that a stop right after it (a
// process closing) cannot leave the device's recalc_sector behind the one
// in memory, which SaveState hands to the next process.
func TestRecalculateEndOnDevice(t *testing.T) {
	e := newEnv(t)
	d := e.Sparse("d", 4<<20)
	x := e.Create(2048, "d 0 - D 2 internal_hash:crc32c recalculate")
	x.haltBackground()
	x.mu.Lock()
	x.sb.setRecalcSector(0)
	for more := true; more && !t.Failed(); {
		more = x.recalcChunk()
		onDisk := binary.LittleEndian.Uint64(dmtest.FileBytes(t, d, offRecalcSector, 8))
		if x.sb.recalcSector() >= x.geo.provided && onDisk != x.sb.recalcSector() {
			t.Errorf("recalculation ended at sector %d, the device's superblock says %d", x.sb.recalcSector(), onDisk)
		}
	}
	x.mu.Unlock()
	e.Remove(x)
}

// TestDiscard: discarded blocks read as zeros (their tags are the filler).
func TestDiscard(t *testing.T) {
	e := newEnv(t)
	e.Sparse("d", 4<<20)
	for _, mode := range []string{"D", "J"} {
		x := e.Create(2048, "d 0 - "+mode+" 2 internal_hash:crc32c allow_discards")
		dmtest.WriteAt(t, x, 0, pattern(2, 64<<10))
		if err := x.Discard(32, 32); err != nil {
			t.Fatal(err)
		}
		got := dmtest.ReadAt(t, x, 0, 64<<10)
		dmtest.MustEqual(t, mode+": discarded blocks", got[16<<10:32<<10], make([]byte, 16<<10))
		dmtest.MustEqual(t, mode+": kept blocks", got[:16<<10], pattern(2, 16<<10))
		e.Remove(x)
	}
}

// TestMetaDevice: tags and journal on a device of their own, 4 KiB blocks.
func TestMetaDevice(t *testing.T) {
	const table = "d 0 - J 4 meta_device:m internal_hash:crc32c block_size:4096 journal_watermark:10"
	e := newEnv(t)
	e.Sparse("d", 4<<20)
	e.Sparse("m", 1<<20)
	x := e.Create(4096, table)
	if s := x.Status(); s != "0 8192 -" {
		t.Fatalf("status %q", s)
	}
	data := pattern(4, 1<<20)
	dmtest.WriteAt(t, x, 8, data)
	if err := x.WriteAt(make([]byte, 512), 1); !errors.Is(err, syscall.EIO) {
		t.Fatalf("unaligned write: %v", err)
	}
	x = e.Restore(x, x.ctx.Len, table)
	dmtest.MustEqual(t, "after a new process", dmtest.ReadAt(t, x, 8, len(data)), data)
	e.Remove(x)
	x = e.Create(4096, table)
	dmtest.MustEqual(t, "after a new table", dmtest.ReadAt(t, x, 8, len(data)), data)
	e.Remove(x)
}

// TestBadTables checks constructor errors in the kernel's words and that
// a refused table leaves the device as it was.
func TestBadTables(t *testing.T) {
	e := newEnv(t)
	d := e.Sparse("d", 4<<20)
	for _, c := range []struct{ table, msg string }{
		{"d 0 -", "Invalid argument count"},
		{"d x - D 0", "Invalid starting offset"},
		{"d 0 0 D 0", "Invalid tag size"},
		{"d 0 - d 0", "Invalid mode (expecting J, B, D, R)"},
		{"d 0 - D 0", "Unknown tag size"},
		{"d 0 - D 1 frob", "Invalid argument"},
		{"d 0 - D 2 internal_hash:crc32c", "Invalid number of feature args"},
		{"d 0 - D 1 internal_hash:nope", "Invalid internal hash"},
		{"d 0 - D 1 internal_hash:crc32c:abc", "Invalid internal_hash argument"},
		{"d 0 - D 1 internal_hash:hmac(sha256)", "Error setting internal hash key"},
		{"d 0 256 D 1 internal_hash:crc32c", "Too big tag size"},
		{"d 0 - B 0", "Unknown tag size"},
		{"d 0 4 B 0", "Bitmap mode can be only used with internal hash"},
		{"d 0 4 D 1 allow_discards", "Discard can be only used with internal hash"},
		{"d 0 - D 2 internal_hash:sha256 block_size:1000", "Invalid block_size argument"},
		{"d 0 - J 2 internal_hash:crc32c journal_crypt:xts(aes):00", "Invalid journal cipher"},
		{"d 0 - J 2 internal_hash:crc32c journal_crypt:ctr(aes):00", "Error setting encryption key"},
		{"d 0 - J 2 internal_hash:crc32c journal_crypt:cbc(aes)", "Unable to generate iv"},
	} {
		_, err := e.Build(8, c.table)
		var ce interface{ Error() string }
		if err == nil || !errors.As(err, &ce) || err.Error() != c.msg {
			t.Errorf("%s: %v, want %q", c.table, err, c.msg)
		}
	}
	if b, _ := os.ReadFile(d); strings.Count(string(b), "\x00") != len(b) {
		t.Fatal("a refused table wrote to the device")
	}
	if _, err := e.Build(1<<20, "d 0 - D 1 internal_hash:crc32c"); err == nil || err.Error() != "Not enough provided sectors for requested mapping size" {
		t.Fatalf("too long a table: %v", err)
	}
}

// TestIntegritysetupDump: integritysetup (cryptsetup's tool, the peer
// here: its format needs the kernel's dm) reads the superblocks gdmsetup
// writes.
func TestIntegritysetupDump(t *testing.T) {
	bin := dmtest.Peer(t, "integritysetup")
	for _, c := range []struct {
		args string
		want []string
	}{
		{"J 1 internal_hash:crc32c", []string{"superblock_version 1", "integrity_tag_size 4", "journal_sections 1", "provided_data_sectors 7752", "sector_size 512", "log2_interleave_sectors 15"}},
		{"D 3 internal_hash:sha256 block_size:4096 fix_padding", []string{"superblock_version 4", "integrity_tag_size 32", "provided_data_sectors 7664", "sector_size 4096", "fix_padding"}},
		{"B 2 internal_hash:crc32c sectors_per_bit:64", []string{"superblock_version 3", "log2_blocks_per_bitmap 6"}},
		{"J 2 internal_hash:sha256 recalculate", []string{"superblock_version 2", "recalculating"}},
		{"J 3 internal_hash:hmac(sha256):0011 journal_mac:hmac(sha256):2233 fix_hmac", []string{"superblock_version 5", "have_journal_mac", "fix_hmac"}},
	} {
		e := newEnv(t)
		d := e.Sparse("d", 4<<20)
		x := e.Create(2048, "d 0 - "+c.args)
		if c.args[0] != 'B' {
			e.Remove(x)
		} else {
			x.Close()
		}
		out, err := exec.Command(bin, "dump", d).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: integritysetup dump: %v\n%s", c.args, err, out)
		}
		for _, w := range c.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("%s: integritysetup dump lacks %q:\n%s", c.args, w, out)
			}
		}
	}
}

// TestJournalCrypt: an encrypted journal (stream and block ciphers) holds
// no plaintext on the device, replays with its key, and fails the replay
// with another (the commit ids do not decrypt).
func TestJournalCrypt(t *testing.T) {
	for _, alg := range []string{"ctr(aes)", "cbc(aes)", "ecb(aes)"} {
		const key = ":000102030405060708090a0b0c0d0e0f"
		table := "d 0 - J 3 internal_hash:crc32c journal_crypt:" + alg + key + " journal_sectors:2048"
		e := newEnv(t)
		d := e.Sparse("d", 4<<20)
		x := e.Create(4096, table)
		data := pattern(6, 64<<10)
		dmtest.WriteAt(t, x, 0, data)
		if err := x.Flush(); err != nil {
			t.Fatal(err)
		}
		x.Close() // a crash: the writes are in the journal only
		raw, _ := os.ReadFile(d)
		if strings.Contains(string(raw), string(data[:512])) {
			t.Fatalf("%s: plaintext on the device", alg)
		}
		x = e.Create(4096, table)
		dmtest.MustEqual(t, alg+": replayed", dmtest.ReadAt(t, x, 0, len(data)), data)
		e.Remove(x)
		x = e.Create(4096, strings.Replace(table, "0f", "0e", 1))
		if x.failed != syscall.EIO {
			t.Fatalf("%s: another key: failed %v", alg, x.failed)
		}
		e.Remove(x)
	}
}
