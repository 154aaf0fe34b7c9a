package era

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/pdata/block"
)

// restoreSeed is a small document as era_dump prints it.
const restoreSeed = `<superblock uuid="" block_size="8" nr_blocks="70" current_era="3">
  <writeset era="1" nr_bits="70">
    <bit block="0" value="true"/>
    <bit block="69" value="true"/>
    <bit block="5" value="false"/>
  </writeset>
  <writeset era="2" nr_bits="70">
    <bit block="64" value="true"/>
  </writeset>
  <era_array>
    <era block="0" era="1"/>
    <era block="69" era="2"/>
  </era_array>
</superblock>
`

// restoreInto restores doc into a fresh 64-block metadata file and returns
// Restore's error and the file's bytes.
func restoreInto(t testing.TB, doc string) ([]byte, error) {
	path := filepath.Join(t.TempDir(), "meta.img")
	if err := os.WriteFile(path, bytes.Repeat([]byte{0xa5}, 64*block.BlockSize), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := block.OpenFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	rerr := Restore(strings.NewReader(doc), "in.xml", f, 64)
	f.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw, rerr
}

// TestRestoreDumpsBack: a restored document dumps back byte for byte and
// checks clean; refused documents leave a zeroed superblock and say why.
func TestRestoreDumpsBack(t *testing.T) {
	raw, err := restoreInto(t, restoreSeed)
	if err != nil {
		t.Fatal(err)
	}
	m, err := OpenTool(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := m.Dump(&out, false, false); err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(restoreSeed, "    <bit block=\"5\" value=\"false\"/>\n", "", 1)
	// era_dump prints every bit and every era: compare the ones set
	var got strings.Builder
	for _, line := range strings.SplitAfter(out.String(), "\n") {
		if !strings.Contains(line, `value="false"`) && !strings.Contains(line, `era="0"/>`) {
			got.WriteString(line)
		}
	}
	if got.String() != want {
		t.Fatalf("dump of restored metadata:\n%s\nwant\n%s", got.String(), want)
	}
	if clean, err := Check(bytes.NewReader(raw), int64(len(raw)), io.Discard); !clean || err != nil {
		t.Fatalf("check: %v %v", clean, err)
	}
	for doc, why := range map[string]string{
		`<superblock uuid="" block_size="8" nr_blocks="70" current_era="3"><bit block="1" value="true"/></superblock>`:                    "outside a writeset",
		`<superblock uuid="" block_size="8" nr_blocks="70" current_era="3"><writeset era="1" nr_bits="4"><bit block="4" value="true"/>`:   "past the writeset's 4 bits",
		`<superblock uuid="" block_size="8" nr_blocks="70" current_era="3"><era_array><era block="70" era="1"/></era_array></superblock>`: "past the 70 origin blocks",
		`<superblock uuid="" block_size="x" nr_blocks="70" current_era="3"/>`:                                                             `block_size="x"`,
		`<superblock uuid="" block_size="8" nr_blocks="70"/>`:                                                                             "could not find attribute: current_era",
		`<writeset era="1" nr_bits="4"/>`: "missing superblock",
		`<superblock uuid="" block_size="8" nr_blocks="70" current_era="3"><frob/></superblock>`: "unknown tag type",
		`<superblock uuid="" block_size="8" nr_blocks="70" current_era="3">`:                     "unexpected EOF",
		``: "xml missing superblock",
	} {
		raw, err := restoreInto(t, doc)
		if err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("%s: error %v, want %q", doc, err, why)
		}
		if !bytes.Equal(raw[:block.BlockSize], make([]byte, block.BlockSize)) {
			t.Errorf("%s: superblock not zeroed after a refusal", doc)
		}
	}
}

// FuzzEraRestore restores arbitrary XML: it is refused with the superblock
// zeroed, or restored into metadata that era_check's walk finds clean and that
// dumps without error; never a panic.
func FuzzEraRestore(f *testing.F) {
	f.Add(restoreSeed)
	f.Add(`<superblock uuid="" block_size="8" nr_blocks="0" current_era="0"></superblock>`)
	f.Add(`<superblock uuid="" block_size="8" nr_blocks="100000" current_era="1"><writeset era="4294967295" nr_bits="100000"></writeset></superblock>`)
	f.Fuzz(func(t *testing.T, doc string) {
		raw, err := restoreInto(t, doc)
		if err != nil {
			if !bytes.Equal(raw[:block.BlockSize], make([]byte, block.BlockSize)) {
				t.Fatalf("refused (%v) with the superblock left", err)
			}
			return
		}
		m, err := OpenTool(bytes.NewReader(raw), int64(len(raw)))
		if err != nil {
			t.Fatalf("restored metadata does not open: %v", err)
		}
		if err := m.Dump(io.Discard, false, false); err != nil && m.SB.NrBlocks != 0 {
			t.Fatalf("restored metadata does not dump: %v", err)
		}
		var report bytes.Buffer
		if clean, err := Check(bytes.NewReader(raw), int64(len(raw)), &report); err != nil || !clean && m.SB.NrBlocks != 0 {
			t.Fatalf("restored metadata checks %v %v:\n%s", clean, err, report.String())
		}
	})
}
