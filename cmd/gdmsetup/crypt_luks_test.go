package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCryptLUKSInterop opens LUKS1 volumes that cryptsetup formatted
// (their volume key and payload offset from `cryptsetup luksDump
// --dump-volume-key`) with a crypt table, and checks both ways against
// qemu's own LUKS driver: what gdmsetup writes, qemu-img reads back with
// the passphrase; what qemu-io writes, gdmsetup reads.
func TestCryptLUKSInterop(t *testing.T) {
	for _, tool := range []string{"cryptsetup", "qemu-img", "qemu-io"} {
		dmtest.Peer(t, tool)
	}
	for _, c := range []struct{ cipher, keyBits string }{
		{"aes-xts-plain64", "512"},
		{"aes-xts-plain64", "256"},
		{"aes-cbc-essiv:sha256", "256"},
	} {
		t.Run(c.cipher+"-"+c.keyBits, func(t *testing.T) {
			s := newSandbox(t)
			img := s.file("luks.img", 8<<20)
			pass := filepath.Join(s.dir, "pass")
			os.WriteFile(pass, []byte("correct horse"), 0o600)
			tool(t, "cryptsetup", "luksFormat", "--type", "luks1", "-q", "--pbkdf-force-iterations", "1000",
				"--key-file", pass, "--cipher", c.cipher, "--key-size", c.keyBits, img)
			key, offset := luksKey(t, tool(t, "cryptsetup", "luksDump", "--dump-volume-key", "-q", "--key-file", pass, img))
			sectors := (8<<20)/512 - offset
			s.ok("", "create", "v", "--table", fmt.Sprintf("0 %d crypt %s %s 0 %s %d", sectors, c.cipher, key, img, offset))

			data := make([]byte, 1<<20)
			rand.Read(data)
			s.ok(string(data), "write", "v", "--offset", "65536")
			qemuOpts := "driver=luks,key-secret=s0,file.filename=" + img
			secret := "secret,id=s0,data=correct horse"
			plain := filepath.Join(s.dir, "plain.raw")
			tool(t, "qemu-img", "convert", "-O", "raw", "--object", secret, "--image-opts", qemuOpts, plain)
			got, err := os.ReadFile(plain)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[65536:65536+len(data)], data) {
				t.Fatal("qemu-img reads other data than gdmsetup wrote")
			}

			tool(t, "qemu-io", "--object", secret, "--image-opts", qemuOpts, "-c", "write -P 0xa5 2M 192k")
			out := s.ok("", "read", "v", "--offset", "2097152", "--length", "196608")
			if out != strings.Repeat("\xa5", 196608) {
				t.Fatal("gdmsetup reads other data than qemu-io wrote")
			}
		})
	}
}

// luksKey reads the volume key (hex) and the payload offset (sectors) from
// LUKS1 luksDump output.
func luksKey(t *testing.T, dump string) (string, int) {
	t.Helper()
	m := regexp.MustCompile(`(?s)Payload offset:\s*(\d+).*MK dump:\s*((?:[0-9a-f]{2}\s*)+)`).FindStringSubmatch(dump)
	if m == nil {
		t.Fatalf("no payload offset and volume key in:\n%s", dump)
	}
	var offset int
	fmt.Sscan(m[1], &offset)
	return strings.Join(strings.Fields(m[2]), ""), offset
}
