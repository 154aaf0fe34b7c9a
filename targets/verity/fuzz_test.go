package verity_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// FuzzVerityTable builds verity tables from fuzzed words over real files
// (a data file of random bytes, a hash file holding a pattern): a table is
// refused with a constructor error or built, never a panic; a built one
// then serves fuzzed reads (data or an error, never a panic), keeps its
// status and table across a reopen, and neither writes its files.
func FuzzVerityTable(f *testing.F) {
	root := strings.Repeat("ab", 32)
	f.Add("1", "4096", "4096", "16", "0", "sha256", root, "0011", "", int64(0), 8192)
	f.Add("0", "512", "512", "128", "1", "sha1", strings.Repeat("0", 40), "-", "2 ignore_corruption check_at_most_once", int64(512), 4096)
	f.Add("1", "1024", "4096", "64", "3", "hmac(sha256)", root, "-", "1 ignore_zero_blocks", int64(1024), 1024)
	f.Add("1", "4096", "4096", "16", "0", "md5", strings.Repeat("1", 32), "ff", "8 use_fec_from_device HASH fec_roots 2 fec_blocks 20 fec_start 0", int64(4096), 4096)
	f.Add("1", "4096", "512", "16", "18446744073709551615", "sha256", root, "-", "2 root_hash_sig_key_desc x", int64(0), 512)
	f.Fuzz(func(t *testing.T, version, dataBlock, hashBlock, blocks, hashStart, alg, digest, salt, opts string, offBytes int64, n int) {
		g := dmtest.New(t)
		data := g.File("data", 64<<10, true)
		hash := g.File("hash", 64<<10, true)
		before := [2][]byte{}
		before[0], _ = os.ReadFile(data)
		before[1], _ = os.ReadFile(hash)
		args := append([]string{version, data, hash, dataBlock, hashBlock, blocks, hashStart, alg, digest, salt}, strings.Fields(opts)...)
		for i, a := range args {
			if a == "" || strings.ContainsAny(a, " \t\n") {
				return
			}
			if a == "HASH" {
				args[i] = hash
			}
		}
		if err := createRO(g, "v", 128, args...); err == nil {
			d := g.Device("v")
			// at most one 4 KiB block: over random data every block fails
			// its hash, and with FEC each one costs a Reed-Solomon decode
			// (up to 100 ms with 24 roots), which would make one input
			// outlast the fuzzing time
			if n > 0 && n <= 4096 && offBytes >= 0 && offBytes+int64(n) <= 64<<10 {
				d.ReadAt(make([]byte, n), offBytes)
			}
			status := g.Line("v", true)
			table := g.Line("v", false)
			g.Reopen()
			if got := g.Line("v", true); got != status {
				t.Fatalf("status %q, after a reopen %q", status, got)
			}
			if got := g.Line("v", false); got != table {
				t.Fatalf("table %q, after a reopen %q", table, got)
			}
		}
		for i, p := range []string{data, hash} {
			if raw, _ := os.ReadFile(p); !bytes.Equal(raw, before[i]) {
				t.Fatalf("%s changed", p)
			}
		}
	})
}
