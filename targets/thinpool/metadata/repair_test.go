package metadata

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/internal/fixture"
	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/btree"
)

// repairOverrideArgs are the overrides every differential run passes, so that a lost
// superblock is rebuilt the same way by both sides.
var repairOverrideArgs = []string{"--transaction-id", "7", "--data-block-size", "128", "--nr-data-blocks", "100000"}

func repairOverrides() SuperblockOverrides {
	tid, bs, nr := uint64(7), uint32(128), uint64(100000)
	return SuperblockOverrides{TransactionID: &tid, DataBlockSize: &bs, NrDataBlocks: &nr}
}

// repairSamples are metadata images with history: the kernel's fixture, a pool of
// ours with a metadata snapshot, and one written by thin_restore, whose trailing
// unused blocks are cut off (a repair reads only the trees, and each case writes
// the image out again).
func repairSamples(t *testing.T) map[string][]byte {
	kernel, err := os.ReadFile(fixture.Unxz(t, "thin_meta"))
	if err != nil {
		t.Fatal(err)
	}
	restored, err := os.ReadFile(restoreWithThinRestore(t, interopXML))
	if err != nil {
		t.Fatal(err)
	}
	for len(restored) > BlockSize && !slices.ContainsFunc(restored[len(restored)-BlockSize:], func(c byte) bool { return c != 0 }) {
		restored = restored[:len(restored)-BlockSize]
	}
	return map[string][]byte{"kernel": kernel, "ours": sampleImage(t), "thin_restore": restored}
}

// btreeNodes lists the blocks of img that carry a valid btree node checksum.
func btreeNodes(img []byte) []uint64 {
	var nodes []uint64
	for b := uint64(0); b < uint64(len(img))/BlockSize; b++ {
		if block.VerifyChecksum(img[b*BlockSize:(b+1)*BlockSize], btree.CsumSalt) == nil {
			nodes = append(nodes, b)
		}
	}
	return nodes
}

// nodeMutations are changes to a btree node after which its checksum is resealed,
// so that only the walk's own checks can catch them; each leaves nr_entries within
// max_entries and child pointers inside the device (thin_dump reads out of bounds
// otherwise).
var nodeMutations = []struct {
	name string
	fn   func(n btree.Node, b uint64) bool // false: does not apply
}{
	{"flags both", func(n btree.Node, _ uint64) bool { n.SetFlags(btree.InternalNode | btree.LeafNode); return true }},
	{"flags flipped", func(n btree.Node, _ uint64) bool {
		n.SetFlags(n.Flags() ^ (btree.InternalNode | btree.LeafNode))
		return true
	}},
	{"blocknr", func(n btree.Node, b uint64) bool { binary.LittleEndian.PutUint64(n[8:], b+1); return true }},
	{"value size", func(n btree.Node, _ uint64) bool { n.SetValueSize(n.ValueSize() + 8); return true }},
	{"max entries", func(n btree.Node, _ uint64) bool {
		n.SetMaxEntries(n.MaxEntries() - 1)
		return n.MaxEntries() >= n.NrEntries()
	}},
	{"no entries", func(n btree.Node, _ uint64) bool { n.SetNrEntries(0); return true }},
	{"one entry less", func(n btree.Node, _ uint64) bool { n.SetNrEntries(n.NrEntries() - 1); return n.NrEntries() >= 0 }},
	{"first key up", func(n btree.Node, _ uint64) bool {
		if n.NrEntries() < 2 {
			return false
		}
		n.SetKey(0, n.Key(1))
		return true
	}},
	{"last key down", func(n btree.Node, _ uint64) bool {
		nr := n.NrEntries()
		if nr < 1 || n.Key(nr-1) == 0 {
			return false
		}
		n.SetKey(nr-1, 0)
		return true
	}},
	{"first key huge", func(n btree.Node, _ uint64) bool {
		if n.NrEntries() < 1 {
			return false
		}
		n.SetKey(0, 1<<40)
		return true
	}},
	{"child to itself", func(n btree.Node, b uint64) bool {
		if n.IsLeaf() || n.NrEntries() < 1 {
			return false
		}
		n.SetValue64(n.NrEntries()-1, b)
		return true
	}},
	{"child to superblock", func(n btree.Node, _ uint64) bool {
		if n.IsLeaf() || n.NrEntries() < 1 {
			return false
		}
		n.SetValue64(0, 0)
		return true
	}},
	{"value changed", func(n btree.Node, _ uint64) bool {
		if !n.IsLeaf() || n.NrEntries() < 1 || n.ValueSize() != 8 {
			return false
		}
		n.SetValue64(0, n.Value64(0)^(1<<24))
		return true
	}},
}

// repairCase is one damaged image and what was done to it.
type repairCase struct {
	what string
	img  []byte
}

// repairOutcome is what one side of a differential run printed and its exit code;
// crashed is set when thin_dump died of a signal (it does when its root search finds
// more than 16 candidate pairs).
type repairOutcome struct {
	out     []byte
	code    int
	crashed bool
}

// thinDumpRepair runs thin_dump --repair on img, written to path.
func thinDumpRepair(tool, path string, img []byte) (repairOutcome, error) {
	if err := os.WriteFile(path, img, 0o600); err != nil {
		return repairOutcome{}, err
	}
	out, err := exec.Command(tool, append([]string{"--repair"}, append(repairOverrideArgs, path)...)...).Output()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return repairOutcome{out: out, code: ee.ExitCode(), crashed: ee.Sys().(syscall.WaitStatus).Signaled()}, nil
	case err != nil:
		return repairOutcome{}, err
	}
	return repairOutcome{out: out}, nil
}

// ourDumpRepair runs RepairDump on img.
func ourDumpRepair(img []byte) repairOutcome {
	var b bytes.Buffer
	if err := RepairDump(bytes.NewReader(img), uint64(len(img))/BlockSize, DumpOptions{Overrides: repairOverrides()}, &b); err != nil {
		return repairOutcome{out: b.Bytes(), code: 1}
	}
	return repairOutcome{out: b.Bytes()}
}

// damagedImages returns img intact, then with every btree node (and the superblock)
// zeroed in turn, and every node changed by each of nodeMutations with its checksum
// resealed.
func damagedImages(img []byte) []repairCase {
	cases := []repairCase{{"intact", img}}
	for _, b := range append([]uint64{0}, btreeNodes(img)...) {
		damaged := bytes.Clone(img)
		clear(damaged[b*BlockSize : (b+1)*BlockSize])
		cases = append(cases, repairCase{fmt.Sprintf("block %d zeroed", b), damaged})
		if b == 0 {
			continue
		}
		for _, m := range nodeMutations {
			damaged := bytes.Clone(img)
			n := btree.Node(damaged[b*BlockSize : (b+1)*BlockSize])
			if m.fn(n, b) {
				block.SetChecksum(n, btree.CsumSalt)
				cases = append(cases, repairCase{fmt.Sprintf("block %d %s", b, m.name), damaged})
			}
		}
	}
	return cases
}

// eachAtOnce calls fn for every case, 16 at a time: the real tools spend their
// time waiting.
func eachAtOnce(cases []repairCase, fn func(i int, c repairCase)) {
	var wg sync.WaitGroup
	slots := make(chan struct{}, 16)
	for i, c := range cases {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			fn(i, c)
		}()
	}
	wg.Wait()
}

// TestRepairDumpMatchesThinDumpRepair damages metadata in every btree node, one at a
// time, by zeroing it or by one of nodeMutations with the checksum resealed, and
// compares what RepairDump recovers with thin_dump --repair, byte for byte, and the
// exit codes.
func TestRepairDumpMatchesThinDumpRepair(t *testing.T) {
	tool := dmtest.Peer(t, "thin_dump")
	dir := t.TempDir()
	var searches atomic.Int32
	for name, img := range repairSamples(t) {
		cases := damagedImages(img)
		var crashes atomic.Int32
		eachAtOnce(cases, func(i int, c repairCase) {
			want, err := thinDumpRepair(tool, filepath.Join(dir, strconv.Itoa(i)), c.img)
			if err != nil {
				t.Error(err)
				return
			}
			got := ourDumpRepair(c.img)
			if !want.crashed && rootsSearchedAndFound(t, c.img) {
				searches.Add(1)
			}
			switch {
			case want.crashed:
				crashes.Add(1)
				if got.code != 0 || len(got.out) == 0 {
					t.Errorf("%s, %s: thin_dump --repair crashed and ours recovered nothing", name, c.what)
				}
			case !bytes.Equal(want.out, got.out) || want.code != got.code:
				t.Errorf("%s, %s: exit %d, want %d\n%s\nthin_dump --repair:\n%s", name, c.what, got.code, want.code, got.out, want.out)
			}
		})
		t.Logf("%s: %d damaged images, thin_dump --repair crashed on %d", name, len(cases), crashes.Load())
	}
	t.Logf("%d images needed a search for roots that found some", searches.Load())
	if searches.Load() == 0 {
		t.Error("no damage made the repair pick roots by searching")
	}
}

// rootsSearchedAndFound reports whether a repair of img finds the superblock's roots
// damaged and picks others by searching.
func rootsSearchedAndFound(t *testing.T, img []byte) bool {
	rd := &rawMeta{r: bytes.NewReader(img), nrBlocks: uint64(len(img)) / BlockSize}
	sb, err := rd.repairSuperblock(repairOverrides())
	if err != nil {
		t.Error(err)
		return false
	}
	d, _ := rd.intact(sb.DeviceDetailsRoot, detailsSize)
	m, _ := rd.intact(sb.DataMappingRoot, 8)
	if d && m {
		return false
	}
	_, found, _ := rd.findRoots()
	return found
}

// TestRepairRestoreMatchesThinRepair repairs every damaged image of our sample pool
// (the one whose damage also makes the root search pick stale roots) with our
// RepairRestore and with the real thin_repair, each into a fresh file: both fail, or
// both succeed, thin_check passes ours, and thin_dump prints the same for both.
func TestRepairRestoreMatchesThinRepair(t *testing.T) {
	repairTool, dumpTool := dmtest.Peer(t, "thin_repair"), dmtest.Peer(t, "thin_dump")
	checkTool := dmtest.Peer(t, "thin_check")
	dir := t.TempDir()
	const outBlocks = 1024
	cases := damagedImages(sampleImage(t))
	var repaired atomic.Int32
	eachAtOnce(cases, func(i int, c repairCase) {
		in, theirs, ours := filepath.Join(dir, fmt.Sprint(i, ".in")), filepath.Join(dir, fmt.Sprint(i, ".theirs")), filepath.Join(dir, fmt.Sprint(i, ".ours"))
		for _, f := range []string{theirs, ours} {
			if err := os.WriteFile(f, make([]byte, outBlocks*BlockSize), 0o600); err != nil {
				t.Error(err)
				return
			}
		}
		if err := os.WriteFile(in, c.img, 0o600); err != nil {
			t.Error(err)
			return
		}
		theirErr := exec.Command(repairTool, append([]string{"-i", in, "-o", theirs}, repairOverrideArgs...)...).Run()
		f, err := block.OpenFile(ours, false)
		if err != nil {
			t.Error(err)
			return
		}
		ourErr := RepairRestore(bytes.NewReader(c.img), uint64(len(c.img))/BlockSize, repairOverrides(), f, outBlocks)
		f.Close()
		if (theirErr == nil) != (ourErr == nil) {
			t.Errorf("%s: thin_repair says %v, ours %v", c.what, theirErr, ourErr)
			return
		}
		if theirErr != nil {
			return
		}
		if out, err := exec.Command(checkTool, ours).CombinedOutput(); err != nil {
			t.Errorf("%s: thin_check of our repair: %v\n%s", c.what, err, out)
		}
		want, err1 := exec.Command(dumpTool, theirs).Output()
		got, err2 := exec.Command(dumpTool, ours).Output()
		if err1 != nil || err2 != nil || !bytes.Equal(want, got) {
			t.Errorf("%s: thin_dump of our repair (%v):\n%s\nof thin_repair's (%v):\n%s", c.what, err2, got, err1, want)
			return
		}
		repaired.Add(1)
	})
	t.Logf("%d damaged images, %d repaired alike", len(cases), repaired.Load())
}

// TestRepairLostKernelSuperblock: with the superblock of the kernel's fixture lost, a
// repair needs the overrides, and given the old values it finds the live trees among
// the stale ones and prints what thin_dump printed before the loss (thin_dump
// --repair itself crashes here: its root search finds more than 16 pairs).
func TestRepairLostKernelSuperblock(t *testing.T) {
	img, err := os.ReadFile(fixture.Unxz(t, "thin_meta"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(fixture.Oracle(t), "expected", "thin.host-thin_dump.xml"))
	if err != nil {
		t.Fatal(err)
	}
	clear(img[:BlockSize])
	nrBlocks := uint64(len(img)) / BlockSize
	err = RepairDump(bytes.NewReader(img), nrBlocks, DumpOptions{}, io.Discard)
	if !errors.Is(err, ErrOverrideNeeded) || !strings.HasSuffix(err.Error(), ": transaction id") {
		t.Fatalf("repair without overrides: %v", err)
	}
	tid, bs, nr := uint64(2), uint32(128), uint64(1024)
	var got bytes.Buffer
	if err := RepairDump(bytes.NewReader(img), nrBlocks, DumpOptions{Overrides: SuperblockOverrides{TransactionID: &tid, DataBlockSize: &bs, NrDataBlocks: &nr}}, &got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("repair of the fixture without its superblock:\n%s\nthin_dump before the loss:\n%s", got.Bytes(), want)
	}
}
