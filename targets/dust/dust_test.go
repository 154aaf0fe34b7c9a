package dust

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

// devBytes is the size of the test device file: 256 blocks of 4 KiB.
const devBytes = 1 << 20

// build constructs a dust target of lenSectors over path from the words
// after the device, with d's log.
func build(t *testing.T, d *dmtest.Direct, lenSectors uint64, path string, args ...string) (*Dust, error) {
	t.Helper()
	tg, err := New(d.Context(lenSectors), append([]string{path}, args...))
	if err != nil {
		return nil, err
	}
	return tg.(*Dust), nil
}

// TestConstructorErrors checks every ti->error of dust_ctr, word for word
// and in its order, with its errno.
func TestConstructorErrors(t *testing.T) {
	dev := dmtest.Sparse(t, filepath.Join(t.TempDir(), "dev.img"), devBytes)
	missing := filepath.Join(t.TempDir(), "missing.img")
	cases := []struct {
		lenSectors uint64
		args       string // "@missing" names a missing device
		msg        string
	}{
		{100, "@dev 0", "Invalid argument count"},
		{100, "@dev 0 512 x", "Invalid argument count"},
		{100, "@dev 0 x", "Invalid block size parameter"},
		{100, "@dev 0 0", "Invalid block size parameter"},
		{100, "@dev 0 -512", "Invalid block size parameter"},
		{100, "@dev 0 4294967808", "Invalid block size parameter"},
		{100, "@dev 0 256", "Block size must be at least 512"},
		{100, "@dev 0 1000", "Block size must be a power of 2"},
		{100, "@dev 0 65536", "Block size is too large"},
		{4194304, "@dev 0 2147483648", "Block size is too large"},
		// the block size is checked before the offset, the device last
		{100, "@dev x 256", "Block size must be at least 512"},
		{100, "@dev x 512", "Invalid device offset sector"},
		{100, "@dev +0 512", "Invalid device offset sector"},
		{100, "@dev -1 512", "Invalid device offset sector"},
		{100, "@missing x 512", "Invalid device offset sector"},
		{100, "@missing 0 512", "Device lookup failed"},
	}
	for _, c := range cases {
		args := strings.Fields(strings.NewReplacer("@dev", dev, "@missing", missing).Replace(c.args))
		_, err := New(dmtest.NewDirect(t).Context(c.lenSectors), args)
		var ce *targets.CtrError
		if !errors.As(err, &ce) || ce.Msg != c.msg || ce.Errno != syscall.EINVAL {
			t.Errorf("dust %s (len %d): %v, want %q (EINVAL)", c.args, c.lenSectors, err, c.msg)
		}
	}
	// kstrtouint takes a '+'; the largest block is 1 GiB, and no more than the line
	for _, args := range []string{"0 +4096", "7 1073741824"} {
		if _, err := build(t, dmtest.NewDirect(t), 4194304, dev, strings.Fields(args)...); err != nil {
			t.Errorf("dust %s: %v", args, err)
		}
	}
}

// message sends words to d and returns the reply, the error and the log lines.
func message(t *testing.T, log *dmtest.Direct, d *Dust, words string) (string, error, []string) {
	t.Helper()
	reply, err := d.Message(strings.Fields(words))
	return reply, err, log.TakeLog()
}

// TestMessages checks every message's reply, log line and error, in the
// kernel's words (seen in testdata/fidelity/dust.scn).
func TestMessages(t *testing.T) {
	dev := dmtest.Sparse(t, filepath.Join(t.TempDir(), "dev.img"), devBytes)
	log := dmtest.NewDirect(t)
	d, err := build(t, log, devBytes/targets.SectorSize, dev, "0", "4096")
	if err != nil {
		t.Fatal(err)
	}
	const p = "device-mapper: dust: "
	for _, c := range []struct {
		words, reply string
		fails        bool
		log          string // "" for none
	}{
		{"countbadblocks", "countbadblocks: 0 badblock(s) found", false, ""},
		{"listbadblocks", "No blocks in badblocklist", false, ""},
		{"clearbadblocks", "dust_clear_badblocks: no badblocks found", false, ""},
		{"addbadblock 3", "", false, p + "dust_add_block: badblock added at block 3 with write fail count 0"},
		{"AddBadBlock 5 2", "", false, p + "dust_add_block: badblock added at block 5 with write fail count 2"},
		// blocks up to the device's size in blocks, inclusive
		{"addbadblock 256", "", false, p + "dust_add_block: badblock added at block 256 with write fail count 0"},
		{"addbadblock 257", "", true, p + "selected block value out of range"},
		{"addbadblock 3", "", true, p + "dust_add_block: block 3 already in badblocklist"},
		{"addbadblock x", "", true, ""},
		{"addbadblock +7", "", true, ""},
		{"addbadblock 7 256", "", true, p + "selected write fail count out of range"},
		{"addbadblock 7 x", "", true, ""},
		// the count is checked before the block
		{"addbadblock 2000 256", "", true, p + "selected write fail count out of range"},
		// %u wraps at 32 bits: 4294967296 is 0
		{"addbadblock 9 4294967296", "", false, p + "dust_add_block: badblock added at block 9 with write fail count 0"},
		{"addbadblock", "", true, p + "addbadblock requires an additional argument"},
		{"QueryBlock", "", true, p + "QueryBlock requires an additional argument"},
		{"queryblock 3", "dust_query_block: block 3 found in badblocklist", false, ""},
		{"QUERYBLOCK 4", "dust_query_block: block 4 not found in badblocklist", false, ""},
		{"countbadblocks", "countbadblocks: 4 badblock(s) found", false, ""},
		{"listbadblocks", "3\n5\n9\n256\n", false, ""},
		{"removebadblock 4", "", true, p + "dust_remove_block: block 4 not found in badblocklist"},
		{"removebadblock 256", "", false, p + "dust_remove_block: badblock removed at block 256"},
		{"queryblock 1 2", "", true, p + "unrecognized message 'queryblock' received"},
		{"frob", "", true, p + "unrecognized message 'frob' received"},
		{"frob 1", "", true, p + "unrecognized message 'frob' received"},
		{"frob x", "", true, ""},
		{"addbadblock 1 2 3", "", true, p + "invalid number of arguments '4'"},
		{"quiet", "", false, ""},
		{"addbadblock 3", "", true, ""},
		{"removebadblock 11", "", true, ""},
		{"addbadblock 11", "", false, ""},
		{"removebadblock 11", "", false, ""},
		{"Quiet", "", false, ""},
		{"enable", "", false, p + "enabling read failures on bad sectors"},
		{"DISABLE", "", false, p + "disabling read failures on bad sectors"},
		{"clearbadblocks", "dust_clear_badblocks: badblocks cleared", false, ""},
		{"countbadblocks", "countbadblocks: 0 badblock(s) found", false, ""},
	} {
		reply, err, lines := message(t, log, d, c.words)
		if reply != c.reply || (err != nil) != c.fails || c.fails && !errors.Is(err, syscall.EINVAL) {
			t.Errorf("%q: reply %q, error %v; want %q, fails %v (EINVAL)", c.words, reply, err, c.reply, c.fails)
		}
		want := []string{c.log}
		if c.log == "" {
			want = nil
		}
		if strings.Join(lines, "\n") != strings.Join(want, "\n") {
			t.Errorf("%q: logged %q, want %q", c.words, lines, want)
		}
	}
}

// TestStatusAndTable checks both lines through each mode.
func TestStatusAndTable(t *testing.T) {
	g := dmtest.New(t)
	dev := g.File("a.img", devBytes, false)
	g.MustCreate("d", 64, "dust", dev, "16", "+512")
	if got, want := g.Line("d", false), dev+" 16 512"; got != want {
		t.Errorf("table %q, want %q", got, want)
	}
	for _, c := range []struct{ msg, status string }{
		{"", "bypass verbose"}, {"enable", "fail_read_on_bad_block verbose"},
		{"quiet", "fail_read_on_bad_block quiet"}, {"disable", "bypass quiet"},
	} {
		if c.msg != "" {
			if _, err := g.Reg.Message("d", 0, []string{c.msg}); err != nil {
				t.Fatal(err)
			}
		}
		if got := g.Line("d", true); got != dev+" "+c.status {
			t.Errorf("after %q: status %q, want %q", c.msg, got, dev+" "+c.status)
		}
	}
}

// rig is a registry with a dust device "d" of devBytes over a file of
// random bytes, with its block size and offset, and failures enabled.
func rig(t *testing.T, offset, blockBytes string) (*dmtest.Rig, string, *dm.Device) {
	t.Helper()
	g := dmtest.New(t)
	path := g.File("a.img", devBytes+64*targets.SectorSize, true)
	g.MustCreate("d", devBytes/targets.SectorSize, "dust", path, offset, blockBytes)
	send(t, g, "enable")
	return g, path, g.Device("d")
}

// send sends a message to "d", failing the test on an error.
func send(t *testing.T, g *dmtest.Rig, words ...string) string {
	t.Helper()
	reply, err := g.Reg.Message("d", 0, words)
	if err != nil {
		t.Fatalf("message %v: %v\n%s", words, err, g.Klog.String())
	}
	return reply
}

// TestBadBlocks: reads of a bad block fail while enabled; writes fail
// while its count lasts, then go down and clear it (the kernel's log line
// divides the block by the block size in sectors once more).
func TestBadBlocks(t *testing.T) {
	g, path, d := rig(t, "0", "4096")
	send(t, g, "addbadblock", "3")
	send(t, g, "addbadblock", "5", "2")
	buf := make([]byte, 4096)
	if _, err := d.ReadAt(buf, 3*4096); !errors.Is(err, syscall.EIO) {
		t.Errorf("read of bad block 3: %v, want EIO", err)
	}
	if _, err := d.ReadAt(make([]byte, 16384), 0); !errors.Is(err, syscall.EIO) {
		t.Errorf("read of blocks 0-3: %v, want EIO", err)
	}
	if _, err := d.ReadAt(buf, 4*4096); err != nil {
		t.Errorf("read of good block 4: %v", err)
	}
	send(t, g, "disable")
	if _, err := d.ReadAt(buf, 3*4096); err != nil {
		t.Errorf("read of bad block 3, disabled: %v", err)
	}
	send(t, g, "enable")
	w := dmtest.Random(4096)
	before := dmtest.FileBytes(t, path, 5*4096, 4096)
	for i := 0; i < 2; i++ {
		if _, err := d.WriteAt(w, 5*4096); !errors.Is(err, syscall.EIO) {
			t.Errorf("write %d of block 5 (count 2): %v, want EIO", i, err)
		}
	}
	if !bytes.Equal(dmtest.FileBytes(t, path, 5*4096, 4096), before) {
		t.Error("a failed write reached the device")
	}
	g.Klog.Reset()
	if _, err := d.WriteAt(w, 5*4096); err != nil {
		t.Errorf("third write of block 5: %v", err)
	}
	if got := g.Klog.String(); got != "device-mapper: dust: block 0 removed from badblocklist by write\n" {
		t.Errorf("log %q", got)
	}
	if !bytes.Equal(dmtest.FileBytes(t, path, 5*4096, 4096), w) {
		t.Error("the third write did not reach the device")
	}
	if got := send(t, g, "listbadblocks"); got != "3\n" {
		t.Errorf("list %q, want 3 only", got)
	}
}

// TestPiecesAndOffset: each block-sized piece of an I/O, counted from the
// target's start, is looked up by its first sector's block of the device
// (offset included); a killed piece does not stop the others.
func TestPiecesAndOffset(t *testing.T) {
	g, path, d := rig(t, "4", "4096")
	// piece k starts at device sector 4+8k: block k, though it covers k+1 too
	send(t, g, "addbadblock", "1")
	if _, err := d.ReadAt(make([]byte, 4096), 0); err != nil {
		t.Errorf("piece 0 (block 0, half in bad block 1): %v", err)
	}
	if _, err := d.ReadAt(make([]byte, 4096), 4096); !errors.Is(err, syscall.EIO) {
		t.Errorf("piece 1 (block 1): %v, want EIO", err)
	}
	// a 512-byte read at sector 4 starts in device block 1
	if _, err := d.ReadAt(make([]byte, 512), 2048); !errors.Is(err, syscall.EIO) {
		t.Errorf("a sector of piece 0 in block 1: %v, want EIO", err)
	}
	send(t, g, "addbadblock", "8")
	send(t, g, "addbadblock", "10", "1")
	w := dmtest.Random(4 * 4096)
	old := dmtest.FileBytes(t, path, 4*512+8*4096, len(w))
	if _, err := d.WriteAt(w, 8*4096); !errors.Is(err, syscall.EIO) {
		t.Errorf("write of pieces 8-11 with 10 failing: %v, want EIO", err)
	}
	got := dmtest.FileBytes(t, path, 4*512+8*4096, len(w))
	for k, piece := range []int{8, 9, 10, 11} {
		want := w[k*4096 : (k+1)*4096]
		if piece == 10 {
			want = old[k*4096 : (k+1)*4096]
		}
		if !bytes.Equal(got[k*4096:(k+1)*4096], want) {
			t.Errorf("piece %d: wrong data on the device", piece)
		}
	}
	if got := send(t, g, "listbadblocks"); got != "1\n10\n" {
		t.Errorf("list %q, want 1 and 10 (count now 0)", got)
	}
}

// TestFlushAndDiscard: an empty flush is mapped at offset - begin (block 0
// here); a discard at its first sector.
func TestFlushAndDiscard(t *testing.T) {
	g, path, d := rig(t, "0", "4096")
	send(t, g, "addbadblock", "0", "1")
	if err := d.Flush(); !errors.Is(err, syscall.EIO) {
		t.Errorf("flush with block 0 failing: %v, want EIO", err)
	}
	if err := d.Flush(); err != nil {
		t.Errorf("second flush: %v", err)
	}
	if got := send(t, g, "queryblock", "0"); !strings.Contains(got, "not found") {
		t.Errorf("block 0 after a flush went down: %q", got)
	}
	send(t, g, "addbadblock", "16", "1")
	if err := d.Discard(16*4096, 8192); !errors.Is(err, syscall.EIO) {
		t.Errorf("discard at bad block 16: %v, want EIO", err)
	}
	if err := d.Discard(16*4096, 8192); err != nil {
		t.Errorf("second discard: %v", err)
	}
	if !bytes.Equal(dmtest.FileBytes(t, path, 16*4096, 8192), make([]byte, 8192)) {
		t.Error("the discarded range does not read back as zeros")
	}
}

// TestStateAcrossProcesses: the list, enabled and quiet live as long as
// the table (a later process sees them; suspend and resume keep them); a
// reload starts a new table with none.
func TestStateAcrossProcesses(t *testing.T) {
	g, path, _ := rig(t, "0", "4096")
	send(t, g, "addbadblock", "7", "3")
	send(t, g, "addbadblock", "2")
	send(t, g, "quiet")
	g.Reopen()
	if got := g.Line("d", true); got != path+" fail_read_on_bad_block quiet" {
		t.Errorf("status in a new process %q", got)
	}
	if got := send(t, g, "listbadblocks"); got != "2\n7\n" {
		t.Errorf("list in a new process %q", got)
	}
	if _, err := g.Device("d").ReadAt(make([]byte, 4096), 2*4096); !errors.Is(err, syscall.EIO) {
		t.Errorf("read of bad block 2 in a new process: %v, want EIO", err)
	}
	if err := g.Reg.Suspend("d"); err != nil {
		t.Fatal(err)
	}
	g.Reopen()
	if err := g.Reg.Resume("d"); err != nil {
		t.Fatal(err)
	}
	g.Reopen()
	// write counts carry over: block 7 fails 3 times across processes
	for i := 0; i < 3; i++ {
		if _, err := g.Device("d").WriteAt(make([]byte, 4096), 7*4096); !errors.Is(err, syscall.EIO) {
			t.Errorf("write %d of block 7: %v, want EIO", i, err)
		}
		g.Reopen()
	}
	if _, err := g.Device("d").WriteAt(make([]byte, 4096), 7*4096); err != nil {
		t.Errorf("fourth write of block 7: %v", err)
	}
	g.Reopen()
	if err := g.Reg.Load("d", []dm.TargetLine{{Len: devBytes / targets.SectorSize, Type: "dust", Args: []string{path, "0", "4096"}}}); err != nil {
		t.Fatal(err)
	}
	if got := send(t, g, "listbadblocks"); got != "2\n" {
		t.Errorf("list with a table loaded, before the resume %q", got)
	}
	if err := g.Reg.Resume("d"); err != nil {
		t.Fatal(err)
	}
	g.Reopen()
	if got := send(t, g, "listbadblocks"); got != "No blocks in badblocklist" {
		t.Errorf("list of the new table %q", got)
	}
	if got := g.Line("d", true); got != path+" bypass verbose" {
		t.Errorf("status of the new table %q", got)
	}
}

// TestSavedState: a state comes back as it was saved; one that is not
// dust's is refused, naming the device.
func TestSavedState(t *testing.T) {
	dev := dmtest.Sparse(t, filepath.Join(t.TempDir(), "dev.img"), devBytes)
	log := dmtest.NewDirect(t)
	d, err := build(t, log, 2048, dev, "0", "512")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"addbadblock 9 255", "addbadblock 2048", "enable", "quiet"} {
		if _, err := d.Message(strings.Fields(w)); err != nil {
			t.Fatal(err)
		}
	}
	saved := d.SaveState()
	if saved != "dust-v1 enabled quiet 9:255 2048:0" {
		t.Errorf("saved %q", saved)
	}
	ctx := log.Context(2048)
	ctx.Restored, ctx.Saved = true, saved
	back, err := New(ctx, []string{dev, "0", "512"})
	if err != nil {
		t.Fatal(err)
	}
	if got := back.(*Dust).SaveState(); got != saved {
		t.Errorf("restored state saves %q, want %q", got, saved)
	}
	for _, bad := range []string{"garbage", "dust-v1 enabled", "dust-v1 on quiet", "dust-v1 enabled loud",
		"dust-v1 enabled quiet 9", "dust-v1 enabled quiet 9:256", "dust-v1 enabled quiet x:1"} {
		ctx := log.Context(2048)
		ctx.Restored, ctx.Saved = true, bad
		if _, err := New(ctx, []string{dev, "0", "512"}); err == nil || !strings.Contains(err.Error(), "saved state of 253:0") {
			t.Errorf("state %q: %v, want a refusal naming the device", bad, err)
		}
	}
}
