package metadata

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/internal/fixture"
	"github.com/gdmsetup/gdmsetup/pdata/block"
)

func openPath(t *testing.T, path string, ro bool) *Pool {
	t.Helper()
	f, err := block.OpenFile(path, ro)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	p, err := Open(f, Options{ReadOnly: ro})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	return p
}

func TestKernelImageDumpsLikeThinDump(t *testing.T) {
	path := fixture.Unxz(t, "thin_meta")
	want, err := os.ReadFile(filepath.Join(fixture.Oracle(t), "expected", "thin.host-thin_dump.xml"))
	if err != nil {
		t.Fatal(err)
	}
	p := openPath(t, path, true)
	if got := ourDump(t, p); !bytes.Equal(got, want) {
		t.Fatalf("dump of kernel metadata differs:\n%s\nwant:\n%s", got, want)
	}
	if errs := CheckFile(t, path); len(errs) != 0 {
		t.Fatalf("our checker on kernel metadata: %v", errs)
	}
}

func TestKernelImageWritable(t *testing.T) {
	path := fixture.Unxz(t, "thin_meta")
	p := openPath(t, path, false)
	if err := p.CreateSnap(9, 1); err != nil {
		t.Fatal(err)
	}
	th, err := p.OpenThin(0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.AllocDataBlock()
	if err != nil {
		t.Fatal(err)
	}
	if err := th.InsertBlock(5000, b); err != nil {
		t.Fatal(err)
	}
	th.Close()
	if err := p.Delete(1); err != nil {
		t.Fatal(err)
	}
	commitAndCompare(t, p, path)
}

// interopXML has several devices, range mappings, data blocks shared between devices
// and mixed times.
const interopXML = `<superblock uuid="" time="4" transaction="7" flags="0" version="2" data_block_size="128" nr_data_blocks="5000">
  <device dev_id="0" mapped_blocks="1040" transaction="0" creation_time="0" snap_time="3">
    <range_mapping origin_begin="0" data_begin="0" length="1000" time="0"/>
    <single_mapping origin_block="2000" data_block="1500" time="1"/>
    <range_mapping origin_begin="3000" data_begin="1600" length="39" time="3"/>
  </device>
  <device dev_id="1" mapped_blocks="1001" transaction="2" creation_time="1" snap_time="3">
    <range_mapping origin_begin="0" data_begin="0" length="500" time="0"/>
    <range_mapping origin_begin="500" data_begin="2500" length="500" time="2"/>
    <single_mapping origin_block="9000" data_block="1500" time="1"/>
  </device>
  <device dev_id="5" mapped_blocks="0" transaction="5" creation_time="3" snap_time="3">
  </device>
  <device dev_id="17" mapped_blocks="1000" transaction="6" creation_time="3" snap_time="4">
    <range_mapping origin_begin="0" data_begin="0" length="1000" time="0"/>
  </device>
</superblock>
`

func restoreWithThinRestore(t *testing.T, xml string) string {
	t.Helper()
	dir := t.TempDir()
	in, meta := filepath.Join(dir, "in.xml"), filepath.Join(dir, "meta")
	if err := os.WriteFile(in, []byte(xml), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(meta, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(meta, 16<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(dmtest.Peer(t, "thin_restore"), "-i", in, "-o", meta).CombinedOutput(); err != nil {
		t.Fatalf("thin_restore: %v\n%s", err, out)
	}
	return meta
}

func TestThinRestoreMetadataOpens(t *testing.T) {
	meta := restoreWithThinRestore(t, interopXML)
	p := openPath(t, meta, false)
	if got := string(ourDump(t, p)); got != interopXML {
		t.Fatalf("dump of thin_restore's metadata:\n%s\nwant:\n%s", got, interopXML)
	}
	if errs := CheckFile(t, meta); len(errs) != 0 {
		t.Fatalf("our checker on thin_restore metadata: %v", errs)
	}
	// Take a metadata snapshot, change things, and let the real tools read both.
	if err := p.ReserveMetadataSnap(); err != nil {
		t.Fatal(err)
	}
	th, _ := p.OpenThin(17)
	if err := th.RemoveRange(0, 600); err != nil {
		t.Fatal(err)
	}
	th.Close()
	if err := p.Delete(1); err != nil {
		t.Fatal(err)
	}
	commitAndCompare(t, p, meta)
	snap := thinDump(t, meta, "-m")
	if !strings.Contains(string(snap), `dev_id="1"`) || !strings.Contains(string(snap), `<range_mapping origin_begin="0" data_begin="0" length="1000" time="0"/>`) {
		t.Fatalf("thin_dump -m does not show the snapshot:\n%s", snap)
	}
	if err := p.ReleaseMetadataSnap(); err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	thinCheck(t, meta)
}

func TestOurRestoreMatchesThinRestore(t *testing.T) {
	f, path := newMetaFile(t, 4096)
	if err := RestoreXML(strings.NewReader(interopXML), "interop", f, 4096, SuperblockOverrides{}); err != nil {
		t.Fatal(err)
	}
	thinCheck(t, path)
	if got := string(thinDump(t, path)); got != interopXML {
		t.Fatalf("thin_dump of our restore:\n%s\nwant:\n%s", got, interopXML)
	}
	if errs := CheckFile(t, path); len(errs) != 0 {
		t.Fatalf("our checker: %v", errs)
	}
}

// TestRestoreRecountsMappedBlocks: like thin_restore, restore takes each device's
// mapped_blocks from its mappings, not from the XML (a dump --repair keeps the details'
// count of a device whose mappings were partly lost).
func TestRestoreRecountsMappedBlocks(t *testing.T) {
	xml := strings.Replace(interopXML, `mapped_blocks="1000" transaction="6"`, `mapped_blocks="999" transaction="6"`, 1)
	if xml == interopXML {
		t.Fatal("the XML has no device with mapped_blocks 1000")
	}
	f, path := newMetaFile(t, 4096)
	if err := RestoreXML(strings.NewReader(xml), "interop", f, 4096, SuperblockOverrides{}); err != nil {
		t.Fatal(err)
	}
	want := thinDump(t, restoreWithThinRestore(t, xml))
	if got := thinDump(t, path); !bytes.Equal(got, want) || !bytes.Equal(got, []byte(interopXML)) {
		t.Fatalf("thin_dump of our restore:\n%s\nof thin_restore's:\n%s", got, want)
	}
}

// CheckFile runs our checker on a metadata file and returns its problems.
func CheckFile(t *testing.T, path string) []error {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	problems, warnings := Check(f)
	for _, w := range warnings {
		t.Logf("checker warning: %v", w)
	}
	return problems
}

func TestDumpMetadataSnapLikeThinDump(t *testing.T) {
	meta := restoreWithThinRestore(t, interopXML)
	p := openPath(t, meta, false)
	if err := p.ReserveMetadataSnap(); err != nil {
		t.Fatal(err)
	}
	if err := p.Delete(0); err != nil {
		t.Fatal(err)
	}
	if err := p.SetTransactionID(7, 8); err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := p.DumpMetadataSnap(&b); err != nil {
		t.Fatal(err)
	}
	if want := thinDump(t, meta, "-m"); !bytes.Equal(b.Bytes(), want) {
		t.Fatalf("snapshot dump:\n%s\nthin_dump -m:\n%s", b.Bytes(), want)
	}
}

func TestRestoreErrorsCommitNothing(t *testing.T) {
	for _, tc := range []struct{ from, to, want string }{
		{`data_begin="1600" length="39"`, `data_begin="4990" length="39"`, `interop:5: device 0: data blocks 4990..5028 beyond nr_data_blocks 5000`},
		{`<single_mapping origin_block="9000"`, `<single_mapping origin_block="7"`, `device 1: origin block 7 mapped twice`},
		{`</superblock>`, ``, `missing <superblock> or </superblock>`},
		{`time="0"/>`, `time="x"/>`, `interop:3: <range_mapping time="x">`},
	} {
		xml := strings.Replace(interopXML, tc.from, tc.to, 1)
		f, _ := newMetaFile(t, 4096)
		err := RestoreXML(strings.NewReader(xml), "interop", f, 4096, SuperblockOverrides{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.to, err, tc.want)
			continue
		}
		if _, err := Open(f, Options{}); err == nil || !strings.Contains(err.Error(), "not formatted") {
			t.Errorf("%s: after a failed restore, open says %v", tc.to, err)
		}
	}
}

// largeXML builds a pool of three devices with 20k mappings each: scattered single
// mappings, 16-block runs, and device 2 sharing device 0's data blocks.
func largeXML() string {
	var b strings.Builder
	const n = 20000
	b.WriteString(`<superblock uuid="" time="3" transaction="9" flags="0" version="2" data_block_size="256" nr_data_blocks="70000">` + "\n")
	dev := func(id uint64, snapTime int, body func()) {
		fmt.Fprintf(&b, `  <device dev_id="%d" mapped_blocks="%d" transaction="%d" creation_time="%d" snap_time="%d">`+"\n", id, n, id, id, snapTime)
		body()
		b.WriteString("  </device>\n")
	}
	singles := func(time int) {
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, `    <single_mapping origin_block="%d" data_block="%d" time="%d"/>`+"\n", 3*i, (i*7919)%n, time)
		}
	}
	dev(0, 2, func() { singles(0) })
	dev(1, 3, func() {
		for i := 0; i < n/16; i++ {
			fmt.Fprintf(&b, `    <range_mapping origin_begin="%d" data_begin="%d" length="16" time="1"/>`+"\n", 17*i, n+16*i)
		}
	})
	dev(7, 3, func() { singles(2) })
	b.WriteString("</superblock>\n")
	return b.String()
}

func TestThinRestoreLargerPool(t *testing.T) {
	xml := largeXML()
	meta := restoreWithThinRestore(t, xml)
	p := openPath(t, meta, true)
	if got := string(ourDump(t, p)); got != xml {
		t.Fatal("dump of thin_restore's metadata differs from its input")
	}
	if errs := CheckFile(t, meta); len(errs) != 0 {
		t.Fatalf("our checker on thin_restore metadata: %v", errs)
	}
	f, path := newMetaFile(t, 4096)
	if err := RestoreXML(strings.NewReader(xml), "large", f, 4096, SuperblockOverrides{}); err != nil {
		t.Fatal(err)
	}
	thinCheck(t, path)
	if got := string(thinDump(t, path)); got != xml {
		t.Fatal("thin_dump of our restore differs from the input")
	}
}
