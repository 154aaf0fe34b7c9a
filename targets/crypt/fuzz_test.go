package crypt_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// FuzzCryptTable builds crypt tables from fuzzed words (the device is a
// real file): a table is refused with a constructor error or built, never
// a panic; a built one then takes fuzzed key messages while suspended, and
// refuses or changes its key; a refused table or message writes nothing.
func FuzzCryptTable(f *testing.F) {
	f.Add("aes-xts-plain64", key32, "0", "1 sector_size:4096", "key set "+key32)
	f.Add("aes:4-cbc-essiv:sha256", key32+key32, "8", "2 allow_discards iv_large_sectors", "key wipe")
	f.Add("capi:cbc(aes)-essiv:sha256", ":32:logon:x", "0", "", "key set :32:user:y")
	f.Add("cipher_null-ecb", "-", "0", "1 integrity:8:none", "key set zz")
	f.Add("aes-cbc-benbi", key16+"f", "7", "1 SECTOR_SIZE:512", "bogus")
	f.Fuzz(func(t *testing.T, cipher, key, ivOffset, features, message string) {
		g := dmtest.New(t)
		dev := g.File("d", 64<<10, false)
		args := append([]string{cipher, key, ivOffset, dev, "0"}, strings.Fields(features)...)
		for _, a := range args {
			if a == "" || strings.ContainsAny(a, " \t\n") {
				return
			}
		}
		if err := g.Create("c", 128, "crypt", args...); err != nil {
			if raw, _ := os.ReadFile(dev); !bytes.Equal(raw, make([]byte, 64<<10)) {
				t.Fatal("a refused table wrote to its device")
			}
			return
		}
		if err := g.Reg.Suspend("c"); err != nil {
			t.Fatal(err)
		}
		g.Reg.Message("c", 0, strings.Fields(message))
		g.Reopen()
		g.Reg.Resume("c")
		g.Reg.Lines("c", false, false)
	})
}
