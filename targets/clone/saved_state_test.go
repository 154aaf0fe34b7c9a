package clone

import (
	"bytes"
	"encoding/binary"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/pdata/block"
)

// metaBytes returns the metadata file's contents.
func metaBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLegacyRecordOpensAndIsCleared: a superblock carrying the settings
// record an earlier gdmsetup kept at byte 2048 still opens; a table
// restored without saved state takes its settings, a new table its own
// arguments; the record stays until the next commit (nothing changed, so
// nothing is written, as in the kernel), which leaves the tail zero.
func TestLegacyRecordOpensAndIsCleared(t *testing.T) {
	e := newEnv(t)
	meta := e.Sparse("meta", 1<<20)
	dest := e.Sparse("dest", 1<<20)
	src := e.source("src", 1<<20)
	table := meta + " " + dest + " " + src + " 8"
	// no_hydration: only the write hydrates, its region (a background hydration could reach
	// region 1 before Close on an idle machine)
	c := e.mustBuild(2048, table+" 1 no_hydration")
	if err := c.WriteAt(writeData(1, 512), 0); err != nil {
		t.Fatal(err)
	}
	c.Close()

	img := metaBytes(t, meta)
	sb := img[:block.BlockSize]
	if !block.AllZero(sb[legacyOff:]) {
		t.Fatal("a fresh commit wrote to the superblock's tail")
	}
	rec := sb[legacyOff:]
	binary.LittleEndian.PutUint64(rec, legacyMagic)
	binary.LittleEndian.PutUint32(rec[8:], legacyDisabled|2) // 2: the old suspended flag
	binary.LittleEndian.PutUint32(rec[12:], 7)
	binary.LittleEndian.PutUint32(rec[16:], 3)
	sbValidator.Prepare(sb, 0)
	if err := os.WriteFile(meta, img, 0o600); err != nil {
		t.Fatal(err)
	}

	// no_hydration: a hydration in the background would commit, and the
	// commit would clear the record before the restored table below reads it
	fresh := e.mustBuild(2048, table+" 1 no_hydration")
	if got, want := fresh.Status(), "8 6/256 8 1/256 0 1 no_hydration 4 hydration_threshold 1 hydration_batch_size 1 rw"; got != want {
		t.Fatalf("new table over an old record: status %q, want %q", got, want)
	}
	fresh.Close()

	ctx := e.Context(2048)
	ctx.Restored = true
	tg, err := New(ctx, strings.Fields(table))
	if err != nil {
		t.Fatalf("restoring over an old record: %v", err)
	}
	c = tg.(*Clone)
	if got, want := c.Status(), "8 6/256 8 1/256 0 1 no_hydration 4 hydration_threshold 7 hydration_batch_size 3 rw"; got != want {
		t.Fatalf("restored without saved state: status %q, want %q", got, want)
	}
	if !bytes.Equal(metaBytes(t, meta), img) {
		t.Fatal("a status with nothing changed wrote the metadata")
	}
	if err := c.WriteAt(writeData(2, 512), 8); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	after := metaBytes(t, meta)
	if !block.AllZero(after[legacyOff:block.BlockSize]) {
		t.Fatal("the commit kept the old record in the superblock's tail")
	}
	if got := c.Status(); !strings.Contains(got, " 2/256 0 1 no_hydration 4 hydration_threshold 7 hydration_batch_size 3 ") {
		t.Fatalf("after the commit: status %q", got)
	}
	c = e.Restore(c, 2048, table)
	if got := c.Status(); !strings.Contains(got, " 2/256 0 1 no_hydration 4 hydration_threshold 7 hydration_batch_size 3 ") {
		t.Fatalf("restored with saved state: status %q", got)
	}
	c.Close()
}

// TestRestoredTableWritesWhatOneTableWrites: a table rebuilt in a later
// process from its saved state (space map cursor, settings) commits the
// same metadata bytes as one table living through the same writes, as the
// kernel's does.
func TestRestoredTableWritesWhatOneTableWrites(t *testing.T) {
	run := func(restore bool) []byte {
		e := newEnv(t)
		meta := e.Sparse("meta", 1<<20)
		dest := e.Sparse("dest", 1<<20)
		src := e.source("src", 1<<20)
		table := meta + " " + dest + " " + src + " 8 1 no_hydration"
		c := e.mustBuild(2048, table)
		for k, sector := range []uint64{0, 800, 8, 1600, 16} {
			if err := c.WriteAt(writeData(k, 512), sector); err != nil {
				t.Fatal(err)
			}
			if err := c.Flush(); err != nil {
				t.Fatal(err)
			}
			if restore {
				c = e.Restore(c, 2048, table)
			}
		}
		c.Close()
		return metaBytes(t, meta)
	}
	if !bytes.Equal(run(false), run(true)) {
		t.Fatal("metadata differs when the table is restored between commits")
	}
}

// TestWorkerCommitsWhenDue: after a copy that a write waited for, the
// worker commits at once if its last commit is more than a second old
// (need_commit_due_to_time), and not otherwise; a flush commits and starts
// the period again. Two writes to new regions thus make two transactions
// or one, which shows in the metadata bytes.
func TestWorkerCommitsWhenDue(t *testing.T) {
	run := func(age time.Duration, flushBetween bool) []byte {
		e := newEnv(t)
		meta := e.Sparse("meta", 1<<20)
		dest := e.Sparse("dest", 1<<20)
		src := e.source("src", 1<<20)
		c := e.mustBuild(2048, meta+" "+dest+" "+src+" 8 1 no_hydration")
		c.mu.Lock()
		c.lastCommit = time.Now().Add(-age)
		c.mu.Unlock()
		for _, sector := range []uint64{8, 16} {
			if err := c.WriteAt(writeData(int(sector), 512), sector); err != nil {
				t.Fatal(err)
			}
			if flushBetween {
				if err := c.Flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
		c.Close()
		return metaBytes(t, meta)
	}
	one, two := run(0, false), run(0, true)
	if bytes.Equal(one, two) {
		t.Fatal("one and two transactions give the same bytes: the test shows nothing")
	}
	if !bytes.Equal(run(2*time.Second, false), two) {
		t.Fatal("a copy more than a second after the last worker commit did not commit at once")
	}
	if !bytes.Equal(run(500*time.Millisecond, false), one) {
		t.Fatal("a copy less than a second after the last worker commit committed at once")
	}
}
