package thin_test

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// TestOutOfMetadataSpace fills a 1 MiB metadata device (a 216 GiB sparse
// data file's space map takes most of it) with single-block writes until
// the pool goes out of metadata space, then grows the metadata device. The
// real thin_check passes on what is on disk in both modes (the block whose
// mapping failed stays allocated, as in the kernel), every acknowledged
// write reads back, and after growing thin_dump maps exactly what was
// written.
func TestOutOfMetadataSpace(t *testing.T) {
	thinCheck := dmtest.Peer(t, "thin_check")
	thinDump := dmtest.Peer(t, "thin_dump")
	dir := t.TempDir()
	meta, data := filepath.Join(dir, "meta.img"), filepath.Join(dir, "data.img")
	dmtest.Sparse(t, meta, 4<<20)
	const dataBytes = 216 << 30
	dmtest.Sparse(t, data, dataBytes)
	var klog bytes.Buffer
	open := func() *dm.Registry {
		reg, err := dm.Open(filepath.Join(dir, "state"), &klog)
		if err != nil {
			t.Fatal(err)
		}
		return reg
	}
	reg := open()
	defer func() { reg.Close() }()
	mlin := func(sectors int) []dm.TargetLine {
		return []dm.TargetLine{{Start: 0, Len: uint64(sectors), Type: "linear", Args: []string{meta, "0"}}}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(reg.Create("mlin", "", mlin(2048), false))
	poolLine := []dm.TargetLine{{Start: 0, Len: dataBytes / 512, Type: "thin-pool",
		Args: []string{"/dev/mapper/mlin", data, strconv.Itoa(blockSectors), "0", "1", "error_if_no_space"}}}
	must(reg.Create("pool", "", poolLine, false))
	_, err := reg.Message("pool", 0, []string{"create_thin", "0"})
	must(err)
	const vblocks = 1024
	must(reg.Create("thin0", "", []dm.TargetLine{{Start: 0, Len: vblocks * blockSectors, Type: "thin", Args: []string{"/dev/mapper/pool", "0"}}}, false))
	status := func() string {
		t.Helper()
		lines, err := reg.Lines("pool", false, true)
		must(err)
		return lines[0].Params
	}
	thin := func() *dm.Device {
		d, _ := reg.Lookup("thin0")
		must(d.Prepare())
		return d
	}
	block := func(vb int) []byte {
		return bytes.Repeat([]byte{byte(vb), byte(vb >> 8), 0x5a}, blockBytes/3+1)[:blockBytes]
	}
	m := model{0: {}}
	failed := -1
	for vb := 0; vb < vblocks; vb++ {
		if _, err := thin().WriteAt(block(vb), int64(vb)*blockBytes); err != nil {
			if !errors.Is(err, syscall.EIO) {
				t.Fatalf("write of block %d: %v, want EIO", vb, err)
			}
			failed = vb
			break
		}
		m[0][uint64(vb)] = block(vb)
	}
	if failed < 0 {
		t.Fatalf("%d single-block writes did not fill the metadata: %s", vblocks, status())
	}
	if st := status(); !strings.Contains(st, " ro ") || !strings.Contains(klog.String(), "No free metadata blocks") {
		t.Fatalf("after block %d failed: status %q, kernel log:\n%s", failed, st, klog.String())
	}
	if _, err := thin().WriteAt(block(failed+1), int64(failed+1)*blockBytes); !errors.Is(err, syscall.EIO) {
		t.Fatalf("write of a new block out of metadata space: %v, want EIO", err)
	}
	m[0][0] = block(failed + 2)
	if _, err := thin().WriteAt(m[0][0], 0); err != nil {
		t.Fatalf("overwrite of a provisioned block out of metadata space: %v", err)
	}
	if _, err := reg.Message("pool", 0, []string{"create_thin", "1"}); !errors.Is(err, syscall.EOPNOTSUPP) {
		t.Fatalf("create_thin out of metadata space: %v, want EOPNOTSUPP", err)
	}
	readBack(t, thin(), m[0], uint64(failed)+2)

	// as a command ends: the state is saved, the metadata on disk checked
	must(reg.Close())
	if out, err := exec.Command(thinCheck, meta).CombinedOutput(); err != nil {
		t.Fatalf("thin_check out of metadata space: %v\n%s", err, out)
	}
	reg = open()
	if st := status(); !strings.Contains(st, " ro ") {
		t.Fatalf("reopened: status %q, want ro", st)
	}

	must(reg.Load("mlin", mlin(4096)))
	must(reg.Suspend("mlin"))
	must(reg.Resume("mlin"))
	must(reg.Suspend("thin0"))
	must(reg.Suspend("pool"))
	must(reg.Resume("pool"))
	must(reg.Resume("thin0"))
	if st := status(); !strings.Contains(st, "/512 ") || !strings.Contains(st, " rw ") {
		t.Fatalf("after growing the metadata device: status %q, want 512 blocks, rw", st)
	}
	for vb := failed; vb < failed+200; vb++ {
		if _, err := thin().WriteAt(block(vb), int64(vb)*blockBytes); err != nil {
			t.Fatalf("write of block %d after growing: %v", vb, err)
		}
		m[0][uint64(vb)] = block(vb)
	}
	must(thin().Flush())
	readBack(t, thin(), m[0], uint64(failed)+201)
	checkMetadata(t, thinCheck, thinDump, meta, m)
}

// readBack checks that thin0 reads every block of the model, zeros for the
// others up to limit.
func readBack(t *testing.T, d *dm.Device, blocks map[uint64][]byte, limit uint64) {
	t.Helper()
	buf := make([]byte, blockBytes)
	zero := make([]byte, blockBytes)
	for vb := uint64(0); vb < limit; vb++ {
		if _, err := d.ReadAt(buf, int64(vb)*blockBytes); err != nil {
			t.Fatalf("read block %d: %v", vb, err)
		}
		want, ok := blocks[vb]
		if !ok {
			want = zero
		}
		if !bytes.Equal(buf, want) {
			t.Fatalf("block %d differs from what was written (written: %v)", vb, ok)
		}
	}
}
